"""Outputs behind discontinuous ops (TopK, ArgMax, comparisons feeding Where/Gather) are
not compared when float32 noise flips the choice; the continuous tensors up to the op
are, and a wrong fold there still fails (DESIGN §3.9)."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.folding.driver import analyze
from inspector.verification.compare import verify
from inspector.verification.scope import behind, discrete_tensors

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def topk_model(outputs=("scores", "top", "idx", "label")) -> onnx.ModelProto:
    """x -> conv -> BN -> mean over H, W = scores (1, 4) -> TopK(k=1) -> (top, idx);
    label = Gather(labels, idx), a class label (10, 20, 30, 40) as a detector gives.
    Channels 0 and 1 have the same weights and BN statistics and the largest shift:
    their scores tie exactly, on top, and TopK picks channel 0."""
    from onnx import helper

    from tests.onnx_builders import bn_stats, init, model, rand, vinfo

    w = rand((4, 3, 3, 3), 3)
    w[1] = w[0]
    stats = bn_stats(4, seed=3)
    stats["beta"][:2] = 2.0  # the tied channels score highest
    for v in stats.values():
        v[1] = v[0]
    bn_inits = [init(f"bn.{k}", stats[k]) for k in ("gamma", "beta", "mean", "var")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", *(i.name for i in bn_inits)], ["b"],
                              name="bn", epsilon=1e-5),
             helper.make_node("ReduceMean", ["b"], ["scores"], name="mean", axes=[2, 3],
                              keepdims=0),
             helper.make_node("TopK", ["scores", "k"], ["top", "idx"], name="topk", axis=1),
             helper.make_node("Gather", ["labels", "idx"], ["label"], name="gather", axis=0)]
    inits = [init("w", w), init("k", np.array([1], np.int64)),
             init("labels", np.array([10, 20, 30, 40], np.float32)), *bn_inits]
    return model(nodes, [vinfo("x", [1, 3, 8, 8])], list(outputs), inits, opset=17)


def _fold_and_edit(proto, edit):
    """(loaded, analysis, folded model with ``edit(bias, weight)`` applied to the conv)."""
    from onnx import numpy_helper

    from inspector.frontends.onnx import load_onnx

    loaded = load_onnx(proto, name="topk")
    analysis = analyze(loaded.graph, "adjacent")
    folded = loaded.frontend.write_back(loaded, analysis.folded, analysis.removed, analysis.changed)
    copy = onnx.ModelProto()
    copy.CopyFrom(folded)
    conv = next(n for n in copy.graph.node if n.op_type == "Conv")
    inits = {t.name: i for i, t in enumerate(copy.graph.initializer)}
    weight = numpy_helper.to_array(copy.graph.initializer[inits[conv.input[1]]]).copy()
    bias = numpy_helper.to_array(copy.graph.initializer[inits[conv.input[2]]]).copy()
    edit(bias, weight)
    for name, value in ((conv.input[1], weight), (conv.input[2], bias)):
        copy.graph.initializer[inits[name]].CopyFrom(numpy_helper.from_array(value, name))
    return loaded, analysis, copy


def _nudge_channel_1(bias, weight):
    bias[1] += np.float32(1e-6)  # far below the tolerance, enough to break the tie


def test_the_outputs_of_choosing_ops_are_discrete_and_their_values_are_not():
    from inspector.frontends.onnx import load_onnx

    graph = load_onnx(topk_model()).graph
    assert set(discrete_tensors(graph)) == {"idx"}
    assert set(behind(graph, ["idx"])) == {"idx", "label"}


def test_a_comparison_feeding_where_is_discrete_but_shapes_and_integer_inputs_are_not():
    from onnx import TensorProto, helper

    from inspector.frontends.onnx import load_onnx
    from tests.onnx_builders import init, model, vinfo

    nodes = [helper.make_node("Greater", ["x", "zero"], ["pos"], name="gt"),
             helper.make_node("Mul", ["x", "slope"], ["low"], name="mul"),
             helper.make_node("Where", ["pos", "x", "low"], ["leaky"], name="where"),
             helper.make_node("Equal", ["ids", "one"], ["is_one"], name="eq"),
             helper.make_node("Shape", ["x"], ["shape"], name="shape")]
    inits = [init("zero", np.float32(0)), init("slope", np.float32(0.1)),
             init("one", np.int64(1))]
    proto = model(nodes, [vinfo("x", [1, 4]), vinfo("ids", [1, 4], TensorProto.INT64)],
                  ["leaky", "is_one", "shape"], inits)
    graph = load_onnx(proto).graph
    found = discrete_tensors(graph)
    assert "pos" in found and found["pos"].name == "gt"
    assert "is_one" not in found and "shape" not in found and "leaky" not in found
    assert "leaky" in behind(graph, found)


def test_a_flipped_choice_leaves_the_outputs_behind_it_out_and_says_why():
    loaded, analysis, folded = _fold_and_edit(topk_model(), _nudge_channel_1)
    check = verify(loaded, folded, steps=analysis.steps)
    assert check.passed
    assert {n.tensor for n in check.outputs_not_compared} == {"idx", "label"}
    reason = check.outputs_not_compared[0].reason
    assert "`topk` (TopK)" in reason and "flipped between the original and the folded model" in reason
    assert check.outputs_compared == 2  # scores and the TopK values
    as_json = check.as_dict()["not_compared"]
    assert len(as_json) == 2 and all(item["output"] and item["node"] == "topk" for item in as_json)
    assert any("not compared" in note and "TopK" in note for note in check.notes)


def test_an_unflipped_choice_is_compared_like_any_tensor():
    loaded, analysis, folded = _fold_and_edit(topk_model(), lambda bias, weight: None)
    check = verify(loaded, folded, steps=analysis.steps)
    assert check.passed and check.not_compared == () and check.outputs_compared == 4


def test_a_wrong_fold_before_the_topk_still_fails():
    def wrong(bias, weight):
        _nudge_channel_1(bias, weight)
        weight[2:] *= np.float32(1.05)  # channels 2 and 3 come out 5 % wrong

    loaded, analysis, folded = _fold_and_edit(topk_model(), wrong)
    check = verify(loaded, folded, steps=analysis.steps)
    assert check.state == "failed"
    assert check.worst_tensor in ("scores", "top")  # outputs are named by their tensors
    assert check.worst_tensor_rel_error > 10 * check.tolerance
    assert all(n.tensor != check.worst_tensor for n in check.not_compared)


def test_outputs_only_a_flipped_output_is_seen_and_leaves_what_follows_out():
    loaded, _, folded = _fold_and_edit(topk_model(), _nudge_channel_1)
    check = verify(loaded, folded)  # no steps: outputs only; the indices are an output
    assert check.passed and {n.tensor for n in check.outputs_not_compared} == {"idx", "label"}
    assert "flipped between the original" in check.outputs_not_compared[0].reason


def test_an_output_behind_a_choice_it_cannot_see_is_left_out_only_if_it_differs():
    loaded, _, folded = _fold_and_edit(topk_model(("scores", "top", "label")), _nudge_channel_1)
    check = verify(loaded, folded)  # the indices are not observed
    (left,) = check.outputs_not_compared
    assert check.passed and left.tensor == "label"
    assert "may have flipped (not observable)" in left.reason
    loaded, _, folded = _fold_and_edit(topk_model(("scores", "top", "label")),
                                       lambda bias, weight: None)
    same = verify(loaded, folded)  # no flip: the label matches and is compared
    assert same.passed and same.not_compared == () and same.outputs_compared == 3


def test_nothing_compared_is_unverified_never_passed():
    loaded, _, folded = _fold_and_edit(topk_model(outputs=("idx",)), _nudge_channel_1)
    check = verify(loaded, folded)
    assert check.state == "unverified" and not check.passed
    assert any("nothing could be compared" in note for note in check.notes)


def test_per_tensor_the_continuous_tensors_before_the_choice_carry_the_verdict():
    loaded, analysis, folded = _fold_and_edit(topk_model(outputs=("idx",)), _nudge_channel_1)
    check = verify(loaded, folded, steps=analysis.steps)
    assert check.passed and check.outputs_compared == 0 and check.tensors_compared >= 1
