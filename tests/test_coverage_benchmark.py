"""The coverage benchmark (``benchmarks/coverage.py``) runs and its table says what
happened: a CI-sized run on the tabular model, and the table cells on crafted rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.coverage_models import QUICK, cases
from benchmarks.coverage_table import END, START, markdown, rows_table, totals, update_readme

ROOT = Path(__file__).resolve().parents[1]


def passed(folded: int, merged: int = 0) -> dict:
    return {"folded": folded, "merged": merged, "status": "passed", "max_rel_error": 2e-7,
            "folded_verified": folded, "merged_verified": merged, "fold_s": 1.0}


def test_every_family_of_the_issue_has_a_model_and_quick_picks_known_ones():
    families = {c.family for c in cases()}
    assert {"ultralytics", "transformers", "segmentation-models-pytorch", "torchvision detection",
            "torchvision segmentation", "torchvision video", "torchvision optical flow",
            "torchvision quantizable", "pytorchcv", "1-D / tabular"} <= families
    assert set(QUICK) <= {c.spec for c in cases()}


def test_a_verified_row_shows_counts_marks_and_the_worst_error():
    row = {"family": "f", "spec": "benchmarks.coverage_models:tabular_mlp", "route": "onnx", "bns": 3,
           "load_s": 1.0, "analyze_s": 0.5,
           "modes": {"adjacent": passed(2), "optimal": passed(3), "reparam": passed(3, 1)}}
    line = rows_table([row]).splitlines()[-1]
    assert line == "| f | `tabular_mlp` | onnx | 3 | 2 | 3 | 3 + 1 | ✓✓✓ 2.0e-07 | 4 |  |"


def test_a_refused_mode_and_a_load_refusal_are_spelled_out():
    refused = {**passed(5), "status": "refused", "refusal": "the folded model differs"}
    rows = [{"family": "f", "spec": "ultralytics:yolov8n", "route": "onnx", "bns": 5,
             "modes": {"adjacent": passed(5), "optimal": refused, "reparam": refused}},
            {"family": "f", "spec": "torchvision:ssdlite", "route": "callable", "stage": "load",
             "refusal": "cannot capture x. To fix this, fold its backbone"}]
    lines = rows_table(rows).splitlines()
    assert lines[-2].endswith("| ✓✗✗ 2.0e-07 | 3 | optimal: the folded model differs; "
                              "reparam: the folded model differs |")
    assert lines[-1].endswith("| – | cannot capture x. To fix this, fold its backbone |")
    assert totals(rows).startswith("2 models, 2 (model, route) runs, 0 BNs (PyTorch route): 0 runs "
                                   "load, analyse, fold and verify in all three modes; 2 are refused")


def test_the_readme_table_is_replaced_between_its_markers():
    readme = f"intro\n{START}\nold table\n{END}\nrest\n"
    assert update_readme(readme, "new table\n") == f"intro\n{START}\nnew table\n{END}\nrest\n"
    assert START in (ROOT / "README.md").read_text() and END in (ROOT / "README.md").read_text()


@pytest.mark.slow
def test_a_run_on_the_tabular_model_verifies_every_route_and_mode(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "benchmarks.coverage", "--models",
                          "benchmarks.coverage_models:tabular_mlp", "--out", str(tmp_path)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads((tmp_path / "coverage.json").read_text())
    assert [r["route"] for r in data["rows"]] == ["callable", "onnx", "pt2"]
    for row in data["rows"]:
        assert row["bns"] == 3
        assert {m: (s["status"], s["folded_verified"]) for m, s in row["modes"].items()} == {
            "adjacent": ("passed", 3), "optimal": ("passed", 3), "reparam": ("passed", 3)}
    assert "| 1-D / tabular | `tabular_mlp` | pt2 | 3 | 3 | 3 | 3 + 0 | ✓✓✓" in markdown(data)


def test_a_partial_rerun_replaces_its_rows_and_keeps_the_others():
    from benchmarks.coverage import merge

    old = {"command": "c1", "started": "t1", "seconds": 60, "environment": {}, "rows": [
        {"family": "f", "spec": "benchmarks.coverage_models:tabular_mlp", "route": r, "bns": 1}
        for r in ("callable", "onnx")] + [
        {"family": "f", "spec": "ultralytics:yolov8n", "route": "callable", "bns": 57}]}
    new = {"command": "c2", "started": "t2", "seconds": 30,
           "environment": {"torch": "x", "git_commit": "abc1234"}, "rows": [
        {"family": "f", "spec": "benchmarks.coverage_models:tabular_mlp", "route": "onnx", "bns": 3}]}
    merged = merge(old, new)
    assert [(r["spec"].split(":")[1], r["route"], r["bns"]) for r in merged["rows"]] == [
        ("yolov8n", "callable", 57), ("tabular_mlp", "callable", 1), ("tabular_mlp", "onnx", 3)]
    assert merged["command"] == "c1" and merged["reruns"][0]["command"] == "c2"
    assert "- rows re-run by `.venv/bin/c2` (started t2, git abc1234, 0 min)" in markdown(merged)


def test_a_rerun_of_the_same_command_replaces_the_earlier_one():
    from benchmarks.coverage import merge

    old = {"command": "c1", "started": "t1", "seconds": 60, "environment": {}, "rows": []}
    new = {"command": "c2", "started": "t2", "seconds": 30, "environment": {}, "rows": []}
    again = {**new, "started": "t3"}
    assert [r["started"] for r in merge(merge(old, new), again)["reruns"]] == ["t3"]
