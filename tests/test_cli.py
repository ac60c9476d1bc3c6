"""The bnfold command line: commands, JSON schema, outputs and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from inspector.cli import main
from sample_models import list_samples, onnx_path


class Untraceable(nn.Module):
    """Data-dependent Python control flow defeats both export and symbolic_trace."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        if x.sum() > 0:
            return self.conv(x)
        return x.numpy()


def make_untraceable() -> nn.Module:
    return Untraceable()


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_samples_lists_every_bundled_name(capsys):
    code, out, _ = run_cli(capsys, "samples")
    assert code == 0
    assert out.split() == [s.name for s in list_samples()]


def test_analyze_json_to_stdout_is_pure_json_with_stable_keys(capsys):
    code, out, err = run_cli(capsys, "analyze", "sample:leaf_conv", "--json", "-")
    assert code == 0
    report = json.loads(out)
    assert {"model", "bn_total", "modes", "layers", "verification", "timings"} <= set(report)
    assert report["modes"]["adjacent"] == {**report["modes"]["adjacent"], "folded": 0, "remaining": 1}
    assert report["modes"]["optimal"]["folded"] == 1
    layer = report["layers"][0]
    assert {"name", "status", "adjacent", "direction", "roots", "leaves", "reason_code", "reason"} <= set(layer)
    assert layer["status"] == "folded" and layer["reason_code"] is None
    assert layer["roots"] == ["conv"] and layer["adjacent"] is False
    assert {"analyze_s", "fold_s"} <= set(report["timings"])
    assert "loading" in err


def test_analyze_adjacent_mode_reports_adjacent_layers(capsys):
    code, out, _ = run_cli(capsys, "analyze", "sample:leaf_conv", "--mode", "adjacent", "--json", "-")
    layer = json.loads(out)["layers"][0]
    assert code == 0 and layer["status"] == "not_foldable" and layer["reason_code"] == "not_adjacent"


def test_analyze_writes_json_file_and_prints_summary(capsys, tmp_path):
    target = tmp_path / "r.json"
    code, out, _ = run_cli(capsys, "analyze", str(onnx_path("maxpool_negative")), "--json", str(target))
    assert code == 0 and "[negative_scale: negative scale at max-pool]" in out  # the app's words
    assert json.loads(target.read_text())["layers"][0]["reason_code"] == "negative_scale"


def test_fold_onnx_input_to_onnx_runs_with_fewer_bns(capsys, tmp_path):
    out_path = tmp_path / "folded.onnx"
    code, out, _ = run_cli(capsys, "fold", str(onnx_path("add_two_roots")), "-o", str(out_path), "--json", "-")
    report = json.loads(out)
    assert code == 0 and report["verification"]["passed"]
    model = onnx.load(str(out_path))
    onnx.checker.check_model(model)
    assert not [n for n in model.graph.node if n.op_type == "BatchNormalization"]
    feed = {model.graph.input[0].name: np.random.default_rng(0).standard_normal((1, 4, 8, 8), dtype=np.float32)}
    assert ort.InferenceSession(str(out_path)).run(None, feed)[0].shape[0] == 1


def test_fold_torch_input_to_pt2_loads_back(capsys, tmp_path):
    out_path = tmp_path / "folded.pt2"
    code, out, _ = run_cli(capsys, "fold", "sample:conv_bn_relu", "-o", str(out_path), "--json", "-")
    assert code == 0 and json.loads(out)["verification"]["max_rel_error"] <= 1e-5
    program = torch.export.load(str(out_path))
    targets = {str(n.target) for n in program.graph.nodes}
    assert not any("batch_norm" in t for t in targets)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["analyze", "missing.onnx"], "file not found"),
        (["analyze", "sample:no_such_sample"], "no_such_sample"),
        (["analyze", "timm:no_such_model_xyz"], "no_such_model_xyz"),
        (["analyze", "tests.test_cli:make_untraceable", "--input-shape", "1,3,4,4"], "cannot capture"),
        (["fold", "sample:conv_bn_relu", "-o", "out.txt"], ".onnx or .pt2"),
    ],
)
def test_bad_input_gives_one_line_error_and_nonzero_exit(capsys, argv, fragment):
    code, _, err = run_cli(capsys, *argv)
    assert code != 0
    lines = [line for line in err.splitlines() if line.startswith("bnfold: error:")]
    assert len(lines) == 1 and fragment in lines[0]
    assert "Traceback" not in err


def test_pt2_output_needs_a_pytorch_input(capsys, tmp_path):
    code, _, err = run_cli(capsys, "fold", str(onnx_path("conv_bn_relu")), "-o", str(tmp_path / "x.pt2"))
    assert code != 0 and "PyTorch input" in err


def test_python_dash_m_entry_point_reports_errors_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "inspector", "analyze", str(tmp_path / "nope.onnx")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("bnfold: error: file not found")
    assert "Traceback" not in proc.stderr


def test_svg_writes_annotated_graph_with_tooltips(capsys, tmp_path):
    import xml.etree.ElementTree as ET

    out_path = tmp_path / "graph.svg"
    code, _, _ = run_cli(capsys, "svg", "sample:maxpool_negative", "-o", str(out_path))
    assert code == 0
    root = ET.fromstring(out_path.read_text())
    ns = {"s": "http://www.w3.org/2000/svg"}
    bn = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if (g.get("class") or "").startswith("node bn status-not_foldable")]
    assert len(bn) == 1
    assert "negative scale" in bn[0].find("s:title", ns).text


def test_svg_focus_keeps_only_the_neighbourhood(capsys, tmp_path):
    full, focused = tmp_path / "full.svg", tmp_path / "focus.svg"
    run_cli(capsys, "svg", "sample:resnet", "-o", str(full))
    code, _, _ = run_cli(capsys, "svg", "sample:resnet", "-o", str(focused), "--focus", "layer1.0.bn1", "--hops", "1")
    assert code == 0
    assert focused.read_text().count('class="node') < full.read_text().count('class="node')


def test_fold_json_timings_give_the_real_analysis_time(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "fold", str(onnx_path("leaf_conv")), "-o", str(tmp_path / "f.onnx"),
                           "--json", "-")
    report = json.loads(out)
    assert code == 0 and not report["rolled_back"]
    assert report["timings"]["analyze_s"] == report["modes"]["optimal"]["analyze_s"] > 0


def test_fold_summary_says_what_onnxruntime_makes_of_both_models(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "fold", str(onnx_path("conv_bn_relu")), "-o", str(tmp_path / "f.onnx"))
    assert code == 0
    line = next(x for x in out.splitlines() if "optimised graph" in x)
    assert line.startswith("onnxruntime (extended) optimised graph:") and "every fusion kept" in line


def test_analyze_starts_with_a_summary_that_agrees_with_the_json(capsys, tmp_path):
    target = tmp_path / "r.json"
    code, out, err = run_cli(capsys, "analyze", "sample:repvgg", "--json", str(target))
    report = json.loads(target.read_text())
    lines = out.splitlines()
    assert code == 0
    total, nodes, unit = report["bn_total"], report["nodes"], report["node_unit"]
    assert unit == "graph nodes"  # a PyTorch sample: torch graph operations, not an ONNX file's
    assert lines[0] == f"sample:repvgg: {total} BN, {nodes} {unit}"
    assert f"{nodes} {unit}" in err  # the load line counts nodes the same way
    # per status, counted here from the JSON layers
    both = sum(x["status"] == "folded" and x["adjacent"] for x in report["layers"])
    kept = sum(x["status"] == "not_foldable" for x in report["layers"])
    assert lines[1] == f"  mode optimal (against adjacent): {both} folded by both, {kept} not foldable"
    assert kept > 0 and both + kept == total
    reasons = {x["reason_code"] for x in report["layers"] if x["status"] == "not_foldable"}
    assert all(f"[{code}]" in lines[2] for code in reasons)
    # what each mode removes, and the hint that reparam removes them all
    m = report["modes"]
    assert m["reparam"]["folded"] + m["reparam"]["merged"] == total
    assert f"reparam {total} of {total} ({m['reparam']['folded']} folded + {m['reparam']['merged']} merged)" in lines[3]
    assert f"optimal {m['optimal']['folded']} of {total}" in lines[3]
    assert lines[4].startswith(f"  hint: --mode reparam removes all {total} BN ({kept} more than optimal)")
    # then the per-BN lines, one per BN
    assert lines[5] == "per BN (mode optimal):"
    assert len([x for x in lines[6:] if x.startswith("  ")]) == total


def test_analyze_in_the_mode_that_removes_most_gives_no_hint(capsys):
    code, out, _ = run_cli(capsys, "analyze", "sample:repvgg", "--mode", "reparam")
    assert code == 0 and "hint:" not in out and "mode reparam: " in out


def test_a_pytorch_fold_labels_graph_nodes_and_counts_its_onnx_export_like_the_json(capsys, tmp_path):
    out_path, target = tmp_path / "f.onnx", tmp_path / "r.json"
    code, out, _ = run_cli(capsys, "fold", "sample:conv_bn_relu", "-o", str(out_path), "--json", str(target))
    report = json.loads(target.read_text())
    assert code == 0 and report["node_unit"] == "graph nodes"
    m = report["modes"]["optimal"]
    assert f"graph nodes {m['nodes_before']} → {m['nodes_after']}" in out
    before, after = report["runtime"]["file_nodes"]
    assert after == len(onnx.load(str(out_path)).graph.node)  # the saved file's nodes
    assert f"of the ONNX export ({before} → {after} file nodes)" in out


def test_an_onnx_fold_counts_the_file_nodes(capsys, tmp_path):
    out_path, target = tmp_path / "f.onnx", tmp_path / "r.json"
    code, out, _ = run_cli(capsys, "fold", str(onnx_path("conv_bn_relu")), "-o", str(out_path), "--json", str(target))
    report = json.loads(target.read_text())
    assert code == 0 and report["node_unit"] == "nodes"
    assert report["modes"]["optimal"]["nodes_after"] == len(onnx.load(str(out_path)).graph.node)
    assert "file_nodes" not in report["runtime"]
