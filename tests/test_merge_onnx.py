"""Merging parallel branches through the ONNX frontend: write-back and verification."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import pytest
from onnx import helper

from inspector.folding.driver import analyze
from inspector.folding.pipeline import fold
from inspector.frontends.onnx_graph import load_onnx, run

from .onnx_builders import bn_node, init, model, rand, vinfo


def repvgg_blocks(c: int = 8, blocks: int = 2, stride2: bool = False) -> onnx.ModelProto:
    """Relu -> [3x3 conv+BN + 1x1 conv+BN (+ identity BN) -> Add -> Relu] x blocks.

    With ``stride2`` the first block has stride 2 and no identity branch."""
    nodes, inits = [helper.make_node("Relu", ["x"], ["r0"], name="/stem/Relu")], []
    cur = "r0"
    for i in range(blocks):
        s = 2 if stride2 and i == 0 else 1
        p = f"/b{i}"
        inits += [init(f"b{i}.w3", rand((c, c, 3, 3), 10 * i + 1)), init(f"b{i}.w1", rand((c, c, 1, 1), 10 * i + 2))]
        nodes += [
            helper.make_node("Conv", [cur, f"b{i}.w3"], [f"{p}/c3"], name=f"{p}/conv3/Conv",
                             kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[s, s]),
            helper.make_node("Conv", [cur, f"b{i}.w1"], [f"{p}/c1"], name=f"{p}/conv1/Conv",
                             kernel_shape=[1, 1], strides=[s, s]),
        ]
        for name, src, seed in ((f"{p}/bn3", f"{p}/c3", 10 * i + 3), (f"{p}/bn1", f"{p}/c1", 10 * i + 4)):
            n, its = bn_node(name, src, name + "_out", c, seed)
            nodes.append(n)
            inits += its
        nodes.append(helper.make_node("Add", [f"{p}/bn3_out", f"{p}/bn1_out"], [f"{p}/sum"], name=f"{p}/Add"))
        last = f"{p}/sum"
        if s == 1:
            n, its = bn_node(f"{p}/bnid", cur, f"{p}/bnid_out", c, 10 * i + 5)
            nodes += [n, helper.make_node("Add", [last, f"{p}/bnid_out"], [f"{p}/sum2"], name=f"{p}/Add_1")]
            inits += its
            last = f"{p}/sum2"
        nodes.append(helper.make_node("Relu", [last], [f"{p}/out"], name=f"{p}/Relu"))
        cur = f"{p}/out"
    nodes.append(helper.make_node("Identity", [cur], ["y"], name="/out"))
    return model(nodes, [vinfo("x", [1, c, 9, 9])], ["y"], inits)


def _ops(m: onnx.ModelProto) -> Counter:
    return Counter(n.op_type for n in m.graph.node)


def test_reparam_merges_a_repvgg_block_into_one_conv_per_block():
    loaded = load_onnx(repvgg_blocks())
    result = fold(loaded, "reparam")
    before, after = _ops(loaded.model), _ops(result.model)
    assert (before["BatchNormalization"], before["Conv"]) == (6, 4)
    assert (after["BatchNormalization"], after["Conv"], after["Add"]) == (0, 2, 0)
    assert len(result.model.graph.node) == len(loaded.model.graph.node) - 12
    assert result.verification.passed


def test_merged_onnx_model_passes_the_checker_and_matches_onnxruntime():
    loaded = load_onnx(repvgg_blocks(stride2=True))
    result = fold(loaded, "reparam")
    onnx.checker.check_model(result.model, full_check=True)
    x = np.random.default_rng(0).standard_normal((1, 8, 9, 9)).astype(np.float32)
    (want,), (got,) = run(loaded.model, [x]), run(result.model, [x])
    assert got.shape == want.shape == (1, 8, 5, 5)
    assert np.max(np.abs(got - want)) <= 1e-4 * np.max(np.abs(want))


def test_reparam_verdicts_name_the_merged_conv_for_identity_bns():
    a = analyze(load_onnx(repvgg_blocks()).graph, "reparam")
    merged = [v for v in a.verdicts.values() if v.status == "merged"]
    assert sorted(v.name for v in merged) == ["/b0/bnid", "/b1/bnid"]
    for v in merged:
        conv = a.folded.node(v.details["merged_into"])
        assert conv.op == "conv" and f"`{conv.name}`" in v.reason
        assert any(a.graph.node(r).op == "add" for r in v.roots)
    assert a.remaining_count == 0 and a.folded_count == 4


@pytest.mark.parametrize("mode", ["adjacent", "optimal"])
def test_other_modes_leave_the_identity_bns(mode):
    a = analyze(load_onnx(repvgg_blocks()).graph, mode)
    assert a.merges == [] and a.folded_count == 4 and a.remaining_count == 2
