"""The package's front door: the few functions users call, end to end."""

from __future__ import annotations

import subprocess
import sys

import inspector


def test_load_analyze_fold_verify_render_from_the_top_level():
    model = inspector.load("sample:leaf_conv")
    analyses = inspector.compare_modes(model)
    assert inspector.analyze(model).folded_count == analyses["optimal"].folded_count == 1
    result = inspector.fold(model)
    assert inspector.verify(model, result.model).passed
    dot = inspector.to_dot(model.graph, analyses["optimal"], analyses["adjacent"])
    assert "status-optimal_only" in dot
    report = inspector.build_report(model, analyses)
    assert report["modes"]["optimal"]["folded"] == 1


def test_core_imports_no_framework_or_ui():
    code = (
        "import sys, inspector, inspector.analysis.condition, inspector.folding.driver, "
        "inspector.render, inspector.report, inspector.verification.numpy_exec\n"
        "bad = [m for m in ('torch', 'onnx', 'onnxruntime', 'streamlit') if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == ""
