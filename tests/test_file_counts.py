"""Reported node counts are the file's, and a merged conv has one name everywhere (issue 15.5)."""

from __future__ import annotations

import re

import pytest

from inspector.explain import summary_lines
from inspector.folding.pipeline import fold
from inspector.frontends.onnx import load_onnx
from inspector.report import build_report

from . import onnx_builders as B
from .test_identity_arithmetic import identities_model
from .test_merge_onnx import repvgg_blocks

CASES = {
    "decomposed_bn": B.decomposed_bn,  # a Mul + Add BN: two file nodes, one IR node
    "identities": identities_model,  # Constant, x + 0, x * ones, Identity at the output
    "repvgg": repvgg_blocks,  # merged regions and an output Identity
    "matmul_add": B.matmul_add,  # MatMul + bias Add: one linear
    "pad_conv": lambda: B.pad_conv(opset=11),  # a Constant holding the pads
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("mode", ["adjacent", "optimal", "reparam"])
def test_nodes_before_and_after_count_the_files_nodes(case, mode):
    loaded = load_onnx(CASES[case]())
    result = fold(loaded, mode)
    summary = build_report(result)["modes"][mode]
    assert summary["nodes_before"] == len(loaded.model.graph.node)
    assert summary["nodes_after"] == len(result.model.graph.node)


def _unnamed_repvgg():
    """The RepVGG blocks with every ONNX node name removed: ids (``Add_6``) then differ
    from display names (the output tensor, ``/b0/sum2``)."""
    m = repvgg_blocks(blocks=1)
    for n in m.graph.node:
        n.name = ""
    return load_onnx(m)


def test_a_merged_conv_has_one_name_in_the_report_the_reason_the_cli_and_the_file():
    loaded = _unnamed_repvgg()
    result = fold(loaded, "reparam")
    (merge,) = result.analysis.merges
    assert merge.conv_id != merge.conv.name  # the case where the two used to be mixed up
    report = build_report(result)
    merged = [layer for layer in report["layers"] if layer["status"] == "merged"]
    assert merged and all(layer["merged_into"] == merge.conv.name for layer in merged)
    assert all(f"`{merge.conv.name}`" in layer["reason"] for layer in merged)
    lines = [line for line in summary_lines(loaded.graph, result.analysis) if "merged with" in line]
    assert lines and all(re.findall(r"`([^`]+)`", line) == [merge.conv.name] for line in lines)
    assert merge.conv.name in {n.name for n in result.model.graph.node if n.op_type == "Conv"}


def test_the_saved_onnx_conv_carries_the_reported_name():
    loaded = load_onnx(repvgg_blocks(blocks=1))
    result = fold(loaded, "reparam")
    names = {layer["merged_into"] for layer in build_report(result)["layers"] if layer["merged_into"]}
    convs = {n.name for n in result.model.graph.node if n.op_type == "Conv"}
    assert names and names <= convs
