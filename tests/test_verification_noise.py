"""Verification judges each tensor against what float32 can deliver for it (DESIGN §3.9):
a correct fold before a sigmoid of very negative logits is kept, a wrong one is still
caught there; a refusal's advice is true."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from inspector.errors import VerificationError
from inspector.folding.driver import analyze
from inspector.folding.pipeline import fold
from inspector.verification.compare import verify
from inspector.verification.metrics import (
    NOISE_MULTIPLE,
    NUDGE_ULPS,
    judge,
    noise_floor,
    nudge,
    tensor_error,
)
from tests.graph_factory import GraphBuilder
from tests.numpy_frontend import numpy_adapter, numpy_loaded

onnx = pytest.importorskip("onnx")


# -- metrics -----------------------------------------------------------------------
def test_an_error_within_the_noise_multiple_of_the_floor_passes_a_tiny_tensor():
    e = tensor_error(np.array([2.9e-4, 1e-5]), np.array([2.9e-4 + 1.8e-7, 1e-5]))
    assert e.rel_error > 1e-4  # against its own tiny maximum it would fail
    assert judge(e, floor=1.8e-7, tolerance=1e-4) <= 1e-4
    assert judge(e, floor=1.8e-7 / (2 * NOISE_MULTIPLE), tolerance=1e-4) > 1e-4


def test_a_tensor_without_measured_noise_keeps_its_own_relative_error():
    e = tensor_error(np.array([1.0, 2.0]), np.array([1.0, 2.5]))
    assert judge(e, floor=0.0, tolerance=1e-4) == e.rel_error == pytest.approx(0.25)


def test_noise_floor_is_the_largest_change_over_finite_entries():
    assert noise_floor([1.0, np.nan, 3.0], [1.5, np.nan, 2.0]) == pytest.approx(1.0)
    assert noise_floor([1.0, 2.0], [1.0, 2.0, 3.0]) == 0.0


def test_nudged_inputs_move_floats_by_a_few_epsilons_and_leave_integers_alone():
    x = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    ids = np.arange(5, dtype=np.int64)
    moved, same = nudge([x, ids], seed=0)
    relative = np.abs(moved.astype(np.float64) / x - 1)
    assert 0 < relative.max() <= (NUDGE_ULPS + 1) * np.finfo(np.float32).eps  # + rounding
    assert np.array_equal(same, ids)


# -- ONNX: a BN folded into the head conv before a sigmoid of very negative logits --
def tiny_sigmoid_model(beta: float = -10.0) -> onnx.ModelProto:
    """x -> conv -> relu -> head conv -> BN (beta -10) -> Sigmoid: outputs near 5e-5,
    where onnxruntime's sigmoid has an absolute error near 1e-7 (relative 2e-3)."""
    from onnx import helper

    from tests.onnx_builders import bn_stats, init, model, rand, vinfo

    stats = bn_stats(8, seed=5)
    stats["beta"] = np.full(8, beta, np.float32)
    bn_inits = [init(f"bn.{k}", stats[k]) for k in ("gamma", "beta", "mean", "var")]
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["logits"], name="head"),
             helper.make_node("BatchNormalization", ["logits", *(i.name for i in bn_inits)],
                              ["z"], name="bn", epsilon=1e-5),
             helper.make_node("Sigmoid", ["z"], ["y"], name="sigmoid")]
    inits = [init("w1", rand((16, 3, 3, 3), 1)), init("w2", rand((8, 16, 1, 1), 2, 0.05)),
             init("b2", np.zeros(8, np.float32)), *bn_inits]
    return model(nodes, [vinfo("x", [1, 3, 32, 32])], ["y"], inits)


def _loaded_tiny():
    from inspector.frontends.onnx import load_onnx

    return load_onnx(tiny_sigmoid_model(), name="tiny_sigmoid")


def test_a_correct_fold_before_a_tiny_sigmoid_is_kept_and_judged_against_its_noise_floor():
    result = fold(_loaded_tiny(), "adjacent")
    v = result.verification
    assert result.rolled_back == [] and result.analysis.folded_count == 1
    assert v.passed and v.worst_tensor == "y"
    assert any("noise floor" in note and "'y'" in note for note in v.notes)


def _scale_head_bias(model, delta: float):
    """A copy of a folded ONNX model whose head conv bias is off by ``delta``."""
    from onnx import numpy_helper

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    head = next(n for n in copy.graph.node if n.op_type == "Conv" and n.input[0] == "r1")
    for i, tensor in enumerate(copy.graph.initializer):
        if tensor.name == head.input[2]:
            value = numpy_helper.to_array(tensor) + np.float32(delta)
            copy.graph.initializer[i].CopyFrom(numpy_helper.from_array(value, tensor.name))
    return copy


def test_a_wrong_fold_is_still_caught_on_the_tiny_sigmoid():
    loaded = _loaded_tiny()
    analysis = analyze(loaded.graph, "adjacent")
    folded = loaded.frontend.write_back(loaded, analysis.folded, analysis.removed, analysis.changed)
    wrong = _scale_head_bias(folded, 0.05)  # logits 0.05 off: the sigmoid 5 % off, 1e-5 absolute
    check = verify(loaded, wrong, steps=analysis.steps)
    assert check.state == "failed" and check.worst_tensor == "y"
    assert verify(loaded, folded, steps=analysis.steps).passed


# -- a refusal's advice is true ------------------------------------------------------
def two_bn_model(wrong: str = "", **adapter) -> object:
    """x -> conv1 -> BN1 -> relu -> BN2 -> conv2 (1x1): adjacent folds BN1, optimal
    also BN2 (forward into conv2). ``wrong``: ``"bn2"``, a write-back removing BN2 gets
    conv2's weights 45 % wrong (a wrong fold rule); ``"any"``, one removing any BN
    gets conv1's weights 45 % wrong."""
    b = GraphBuilder(seed=9, name="two_bn")
    x = b.input((1, 3, 6, 6))
    h = b.relu(b.bn(b.conv(x, 4, name="conv1"), name="bn1"))
    b.output(b.conv(b.bn(h, name="bn2"), 5, name="conv2"))
    graph = b.build()
    victim = {"bn2": "conv2", "any": "conv1"}.get(wrong)

    def write_back(loaded, folded, removed, changed):
        hit = removed if wrong == "any" else [r for r in removed if r == graph.find("bn2").id]
        if victim and hit:
            node = folded.find(victim)
            folded = folded.with_nodes({node.id: replace(
                node, params={**node.params, "weight": node.params["weight"] * 1.45})})
        return folded

    return numpy_loaded(graph, replace(numpy_adapter(write_back), **adapter))


def test_a_refusal_in_adjacent_mode_never_advises_adjacent():
    with pytest.raises(VerificationError) as refused:
        fold(two_bn_model("any"), "adjacent", max_rollbacks=0)
    assert "--mode adjacent" not in str(refused.value)


def test_a_refusal_advises_a_simpler_mode_that_was_checked_to_verify():
    with pytest.raises(VerificationError) as refused:
        fold(two_bn_model("bn2"), "optimal", max_rollbacks=0)
    assert "use --mode adjacent meanwhile (it folds 1 of 2 BN and verifies)" in str(refused.value)
    assert fold(two_bn_model("bn2"), "adjacent").verification.passed


def test_a_refusal_advises_no_mode_when_no_simpler_mode_folds_and_verifies():
    with pytest.raises(VerificationError) as refused:
        fold(two_bn_model("any"), "optimal", max_rollbacks=0)
    assert "meanwhile" not in str(refused.value)


# -- nothing swallowed silently -------------------------------------------------------
def test_a_failure_to_capture_intermediate_tensors_is_said_in_the_report():
    def broken(model, inputs, loaded):
        raise ValueError("a sequence value cannot be exposed")

    loaded = two_bn_model(run_tensors=broken)
    analysis = analyze(loaded.graph, "optimal")
    folded = loaded.frontend.write_back(loaded, analysis.folded, analysis.removed, analysis.changed)
    check = verify(loaded, folded, steps=analysis.steps)
    assert check.passed and check.tensors_compared == 0
    assert any("intermediate tensors could not be captured (ValueError: a sequence value" in n
               for n in check.notes)


def test_the_cli_says_which_tensors_were_judged_against_their_noise_floor(capsys, tmp_path):
    from inspector.cli import main

    path = tmp_path / "tiny_sigmoid.onnx"
    onnx.save(tiny_sigmoid_model(), str(path))
    code = main(["fold", str(path), "--mode", "adjacent", "-o", str(tmp_path / "out.onnx"),
                 "--json", str(tmp_path / "report.json")])
    out = capsys.readouterr().out
    assert code == 0 and "verification PASS" in out
    assert "judged against the float32 noise floor measured on the original" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["verification"]["not_compared"] == []
    assert any("'y'" in note for note in report["verification"]["notes"])
