"""Merging parallel branches through the ONNX frontend: write-back and verification."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import pytest
from onnx import helper

from inspector.folding.driver import analyze
from inspector.folding.pipeline import fold
from inspector.frontends.onnx import load_onnx, run

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
    # 12 nodes merged away, and the renaming Identity at the output is left out (issue 15.2)
    assert len(result.model.graph.node) == len(loaded.model.graph.node) - 13
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


def repmixer(c: int = 4) -> onnx.ModelProto:
    """FastViT RepMixer: y = x + s * (BN(dwconv(x)) - BN(x)), s a per-channel layer scale."""
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="/stem/Relu"),
             helper.make_node("Conv", ["r", "dw.w"], ["dw"], name="/mixer/conv/Conv",
                              kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=c)]
    inits = [init("dw.w", rand((c, 1, 3, 3), 7)), init("scale", rand((c, 1, 1), 8))]
    for name, src, seed in (("/mixer/bn", "dw", 1), ("/norm/bn", "r", 2)):
        n, its = bn_node(name, src, name + "_out", c, seed)
        nodes.append(n)
        inits += its
    nodes += [helper.make_node("Sub", ["/mixer/bn_out", "/norm/bn_out"], ["d"], name="/Sub"),
              helper.make_node("Mul", ["d", "scale"], ["ds"], name="/layer_scale/Mul"),
              helper.make_node("Add", ["r", "ds"], ["sum"], name="/Add"),
              helper.make_node("Relu", ["sum"], ["y"], name="/Relu")]
    return model(nodes, [vinfo("x", [1, c, 6, 6])], ["y"], inits)


def test_repmixer_sub_and_layer_scale_become_one_depthwise_conv():
    loaded = load_onnx(repmixer())
    result = fold(loaded, "reparam")
    after = _ops(result.model)
    assert (after["BatchNormalization"], after["Sub"], after["Mul"], after["Add"]) == (0, 0, 0, 0)
    (conv,) = [n for n in result.model.graph.node if n.op_type == "Conv"]
    assert next(a.i for a in conv.attribute if a.name == "group") == 4
    assert result.verification.passed


def test_cli_analyze_reparam_reports_nodes_and_convs(tmp_path, capsys):
    import json

    from inspector.cli import main

    path = tmp_path / "repvgg.onnx"
    onnx.save(repvgg_blocks(), str(path))
    assert main(["analyze", str(path), "--mode", "reparam", "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    r = report["modes"]["reparam"]
    assert (r["folded"], r["merged"], r["remaining"]) == (4, 2, 0)
    assert (r["convs_before"], r["convs_after"]) == (4, 2)
    assert r["nodes_after"] < r["nodes_before"]
    assert report["modes"]["optimal"]["merged"] == 0
    assert sorted(la["merged_into"] for la in report["layers"] if la["status"] == "merged") == [
        "merged:/b0/Add_1", "merged:/b1/Add_1"]


def test_cli_fold_reparam_writes_the_merged_onnx(tmp_path):
    from inspector.cli import main

    src, out = tmp_path / "repvgg.onnx", tmp_path / "merged.onnx"
    onnx.save(repvgg_blocks(), str(src))
    assert main(["fold", str(src), "-o", str(out), "--mode", "reparam"]) == 0
    assert _ops(onnx.load(str(out)))["Conv"] == 2


def test_region_between_graph_input_and_graph_output_keeps_both_names():
    nodes = [helper.make_node("Conv", ["x", "w3", "b3"], ["a"], name="c3", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["x", "w1"], ["b"], name="c1", kernel_shape=[1, 1]),
             helper.make_node("Add", ["a", "b"], ["y"], name="add")]
    inits = [init("w3", rand((4, 4, 3, 3), 1)), init("b3", rand((4,), 2)), init("w1", rand((4, 4, 1, 1), 3))]
    loaded = load_onnx(model(nodes, [vinfo("x", [1, 4, 5, 5])], ["y"], inits))
    result = fold(loaded, "reparam")
    (conv,) = result.model.graph.node
    assert (conv.op_type, list(conv.input)[0], list(conv.output)) == ("Conv", "x", ["y"])
    assert len(result.model.graph.initializer) == 2 and result.verification.passed


def test_both_frontends_give_the_same_reparam_result_on_the_repvgg_sample():
    from pathlib import Path

    from inspector.frontends import load
    from inspector.report import deployed_counts

    onnx_path = Path(__file__).resolve().parents[1] / "sample_models" / "onnx" / "repvgg.onnx"
    results = []
    for loaded in (load("sample:repvgg"), load_onnx(str(onnx_path))):
        a = analyze(loaded.graph, "reparam")
        results.append((a.folded_count, a.merged_count, a.remaining_count, deployed_counts(a.structure)[1]))
    assert results[0] == results[1]
    assert results[0][2] == 0
