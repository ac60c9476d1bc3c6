"""Verification that cannot be fooled: per-tensor errors, NaN/Inf, input ranges,
dtypes, dynamic sizes, and models folded exactly as the user gave them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from inspector.errors import VerificationError
from inspector.folding.driver import analyze
from inspector.folding.pipeline import fold
from inspector.model import LoadedModel
from inspector.verification.compare import (
    changed_tensors,
    tensor_error,
    tolerance_for,
    verify,
)
from tests.graph_factory import GraphBuilder
from tests.numpy_frontend import numpy_adapter, numpy_loaded

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # log/NaN arithmetic


def corrupting_write_back(corrupt: tuple[str, str, float] | None = None):
    """A write-back of the IR itself; ``corrupt = (bn, node, factor)``: any write-back
    that removes ``bn`` also scales ``node``'s weight and bias by ``factor``, standing
    in for a wrong fold rule."""

    def write_back(loaded, folded, removed, changed):
        if corrupt and loaded.graph.find(corrupt[0]).id in removed:
            _, name, factor = corrupt
            node = folded.find(name)
            params = {k: v * factor if k in ("weight", "bias") else v
                      for k, v in node.params.items()}
            folded = folded.with_nodes({node.id: replace(node, params=params)})
        return folded

    return write_back


def _loaded(graph, frontend, dtype="float32") -> LoadedModel:
    return numpy_loaded(graph, frontend, dtype)


def damped_branch_model(corrupt=None) -> LoadedModel:
    """x -> conv -> BN -> relu = h;  out = h + 1e-4 * (conv2 -> BN2)(h)  (a layer-scale)."""
    b = GraphBuilder(seed=3, name="damped")
    x = b.input((1, 4, 6, 6))
    h = b.relu(b.bn(b.conv(x, 8, name="stem"), name="bn_stem"))
    branch = b.bn(b.conv(h, 8, k=3, pad=1, name="branch_conv"), name="bn_branch")
    scaled = b.affine(branch, name="layer_scale")
    b.output(b.add(h, scaled, name="residual"))
    graph = b.build()
    ls = graph.find("layer_scale")
    damped = replace(ls, params={"scale": np.full(8, 1e-4), "shift": np.zeros(8)})
    return _loaded(graph.with_nodes({ls.id: damped}), numpy_adapter(corrupting_write_back(corrupt)))


WRONG_BRANCH = ("bn_branch", "branch_conv", 1.45)  # the branch comes out 45 % wrong


def test_damped_wrong_fold_passes_the_output_check_alone():
    loaded = damped_branch_model(WRONG_BRANCH)
    analysis = analyze(loaded.graph, "optimal")
    model = loaded.frontend.write_back(loaded, analysis.folded, analysis.removed, analysis.changed)
    assert verify(loaded, model).passed  # outputs only: the 45 % error is damped below 1e-4


def test_damped_wrong_fold_is_caught_by_per_tensor_comparison():
    loaded = damped_branch_model(WRONG_BRANCH)
    analysis = analyze(loaded.graph, "optimal")
    model = loaded.frontend.write_back(loaded, analysis.folded, analysis.removed, analysis.changed)
    check = verify(loaded, model, steps=analysis.steps)
    assert check.state == "failed"
    assert check.worst_tensor == loaded.graph.find("layer_scale").outputs[0]
    assert check.worst_node == "layer_scale"
    assert check.worst_tensor_rel_error == pytest.approx(0.45, rel=1e-6)
    assert check.max_rel_error < check.tolerance  # the outputs alone still look fine


def test_fold_rolls_back_the_damped_wrong_fold():
    result = fold(damped_branch_model(WRONG_BRANCH), "optimal")
    bn = result.loaded.graph.find("bn_branch").id
    assert result.rolled_back == [bn]
    assert result.verification.passed
    assert result.analysis.verdicts[bn].reason_code.value == "verification_failed"


def test_correct_fold_compares_shared_tensors_and_passes():
    result = fold(damped_branch_model(), "optimal")
    assert result.verification.passed and result.rolled_back == []
    assert result.verification.tensors_compared >= 2


def test_tensors_changed_by_a_fold_are_not_compared():
    loaded = damped_branch_model()
    analysis = analyze(loaded.graph, "optimal")
    changed = changed_tensors(loaded.graph, analysis.steps)
    out = {name: loaded.graph.find(name).outputs[0] for name in
           ("stem", "branch_conv", "bn_branch", "layer_scale", "residual")}
    assert {out["stem"], out["branch_conv"], out["bn_branch"]} <= changed
    assert out["layer_scale"] not in changed and out["residual"] not in changed


# -- NaN / Inf -------------------------------------------------------------------
def test_nan_at_the_same_places_is_measured_over_finite_entries():
    y = np.array([1.0, np.nan, np.inf, -2.0])
    e = tensor_error(y, np.array([1.0, np.nan, np.inf, -2.5]))
    assert e.abs_error == pytest.approx(0.5) and e.rel_error == pytest.approx(0.25)


@pytest.mark.parametrize("candidate", [[1.0, 2.0, np.inf], [1.0, np.nan, np.nan], [np.nan, 2.0, 3.0]])
def test_a_different_non_finite_pattern_is_an_infinite_error(candidate):
    e = tensor_error(np.array([1.0, np.nan, np.inf]), np.array(candidate))
    assert e.rel_error == float("inf")


def test_nan_in_the_candidate_only_fails():
    assert tensor_error(np.ones(3), np.array([1.0, np.nan, 1.0])).rel_error == float("inf")


def log_front_model(nan_param: bool = False, corrupt=None) -> LoadedModel:
    """x -> log -> conv -> BN -> relu: N(0, 1) inputs give NaN outputs."""
    b = GraphBuilder(seed=4, name="log_front")
    x = b.input((1, 3, 5, 5))
    b.output(b.relu(b.bn(b.conv(b.act(x, "log"), 4, name="conv"), name="bn")))
    graph = b.build()
    if nan_param:
        conv = graph.find("conv")
        weight = conv.params["weight"].copy()
        weight[0, 0, 0, 0] = np.nan
        graph = graph.with_nodes({conv.id: replace(conv, params={**conv.params, "weight": weight})})
    return _loaded(graph, numpy_adapter(corrupting_write_back(corrupt)), dtype="float64")


def test_non_finite_outputs_are_retried_with_inputs_in_a_valid_range():
    result = fold(log_front_model(), "optimal")
    v = result.verification
    assert v.passed and v.input_range != "N(0, 1)"
    assert result.analysis.folded_count == 1


def test_a_wrong_fold_behind_a_log_is_caught_not_passed():
    result = fold(log_front_model(corrupt=("bn", "conv", 1.1)), "optimal")
    assert result.rolled_back == [result.loaded.graph.find("bn").id]


def test_nan_parameters_give_could_not_verify_and_fold_refuses():
    with pytest.raises(VerificationError, match="could not verify"):
        fold(log_front_model(nan_param=True), "optimal")


def test_unverified_result_is_never_reported_as_passed():
    result = fold(log_front_model(nan_param=True), "optimal", allow_unverified=True)
    v = result.verification
    assert v.state == "unverified" and not v.passed and not v.verified
    assert v.as_dict()["status"] == "unverified" and v.as_dict()["passed"] is False


# -- dtypes ------------------------------------------------------------------------
def test_tolerance_follows_the_least_precise_of_io_and_weights():
    assert tolerance_for({"float32", "float16"}) == tolerance_for({"float16"})
    assert tolerance_for({"bfloat16", "float32"}) > tolerance_for({"float16"})
    assert tolerance_for({"float64"}) < tolerance_for({"float32"})


# -- dynamic dimensions (ONNX) -----------------------------------------------------
def _gap_div_bn(dims):
    """Conv -> ReduceSum over H, W -> Div by H*W (from Shape) -> BN: an average pool
    whose 1/(H*W) is computed from the input size."""
    from onnx import TensorProto, helper

    from tests.onnx_builders import bn_node, init, model, rand, vinfo

    bn, more = bn_node("bn", "avg", "y", 4)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("ReduceSum", ["c", "axes"], ["s"], name="sum", keepdims=1),
             helper.make_node("Shape", ["c"], ["shp"], name="shape"),
             helper.make_node("Gather", ["shp", "hw_idx"], ["hw"], name="gather", axis=0),
             helper.make_node("ReduceProd", ["hw"], ["area"], name="prod", keepdims=0),
             helper.make_node("Cast", ["area"], ["areaf"], name="cast", to=TensorProto.FLOAT),
             helper.make_node("Div", ["s", "areaf"], ["avg"], name="div"), bn]
    inits = [init("w", rand((4, 4, 3, 3), 1)), init("axes", np.array([2, 3], np.int64)),
             init("hw_idx", np.array([2, 3], np.int64)), *more]
    return model(nodes, [vinfo("x", list(dims))], ["y"], inits, opset=18)


def _batch_scaled_bn():
    """Conv -> Mul by the batch size (Shape[0], cast) -> BN: a batch-derived scale."""
    from onnx import TensorProto, helper

    from tests.onnx_builders import bn_node, init, model, rand, vinfo

    bn, more = bn_node("bn", "m", "y", 4)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("Shape", ["x"], ["shp"], name="shape", start=0, end=1),
             helper.make_node("Cast", ["shp"], ["n"], name="cast", to=TensorProto.FLOAT),
             helper.make_node("Mul", ["c", "n"], ["m"], name="scale"), bn]
    return model(nodes, [vinfo("x", ["N", 3, 6, 6])], ["y"], [init("w", rand((4, 3, 1, 1), 1)), *more])


def _rel_error_at(model_a, model_b, shape) -> float:
    from inspector.frontends.onnx import run

    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    a, b = run(model_a, [x])[0], run(model_b, [x])[0]
    return float(np.abs(a - b).max() / np.abs(a).max())


@pytest.mark.parametrize("build, other_shape", [
    (lambda: _gap_div_bn(("N", 4, "H", "W")), (2, 4, 7, 5)),
    (_batch_scaled_bn, (3, 3, 6, 6)),
])
def test_constant_computed_from_a_dynamic_dim_blocks_the_fold(build, other_shape):
    from inspector.frontends.onnx import load_onnx

    model = build()
    loaded = load_onnx(model)
    verdict = analyze(loaded.graph, "optimal").verdicts["bn"]
    assert verdict.status == "not_foldable"
    assert verdict.reason_code.value == "shape_dependent_constant"
    result = fold(loaded, "optimal")
    assert _rel_error_at(model, result.model, other_shape) < 1e-5


def test_static_dims_read_through_shape_still_fold():
    from inspector.frontends.onnx import load_onnx

    loaded = load_onnx(_gap_div_bn(("N", 4, 8, 8)))  # only the batch is dynamic
    assert loaded.graph.node("div").op == "affine"  # 1/(H*W) = 1/64 at every batch size
    verdict = analyze(loaded.graph, "optimal").verdicts["bn"]
    assert verdict.reason_code is None or verdict.reason_code.value != "shape_dependent_constant"


def test_dynamic_axes_are_verified_at_a_second_size(monkeypatch):
    import inspector.frontends.onnx as onnx_frontend

    # Without the shape-dependence guard the wrong fold must still be caught.
    monkeypatch.setattr(onnx_frontend, "shape_derived", lambda *a: frozenset())
    model = _batch_scaled_bn()  # at batch 1 the Mul by N reads as `x * 1`
    loaded = onnx_frontend.load_onnx(model)
    assert loaded.dynamic_axes == {0: [0]}
    analysis = analyze(loaded.graph, "optimal")
    assert analysis.verdicts["bn"].folded  # the analysis is fooled ...
    folded = onnx_frontend.write_back(loaded, analysis.folded, analysis.removed, analysis.changed)
    check = verify(loaded, folded, steps=analysis.steps)
    assert check.state == "failed" and len(check.input_shapes) == 2  # ... verification is not
    assert check.input_shapes[1][0] != check.input_shapes[0][0]
    result = fold(loaded, "optimal")
    assert result.rolled_back == ["bn"]
    assert _rel_error_at(model, result.model, (3, 3, 6, 6)) < 1e-5


# -- PyTorch: models folded exactly as given; dtypes -------------------------------
def trained_block():
    """A user's 'trained' model: BN statistics set to known, non-trivial values."""
    import torch
    from torch import nn

    torch.manual_seed(11)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                        nn.Conv2d(6, 4, 1), nn.BatchNorm2d(4))
    with torch.no_grad():
        for i, bn in enumerate(m for m in net if isinstance(m, nn.BatchNorm2d)):
            n = bn.num_features
            bn.running_mean.copy_(torch.linspace(-1, 1, n) * (i + 1))
            bn.running_var.copy_(torch.linspace(0.5, 3, n))
            bn.weight.copy_(torch.linspace(0.7, 1.3, n))
            bn.bias.copy_(torch.linspace(-0.4, 0.4, n))
    net.input_shape = (1, 3, 8, 8)
    return net.eval()


def test_a_callable_model_keeps_its_statistics_and_folds_to_the_same_function():
    import torch

    from inspector.sources import resolve_spec

    loaded = resolve_spec("tests.test_verification:trained_block")
    given = trained_block()
    bn = loaded.model[1]
    assert torch.equal(bn.running_mean, given[1].running_mean)
    assert torch.equal(bn.running_var, given[1].running_var)
    result = fold(loaded, "optimal")
    assert result.analysis.folded_count == 2 and result.verification.passed
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(result.model(x), given(x), rtol=1e-5, atol=1e-5)


def test_a_module_in_training_mode_is_analysed_in_eval_mode_with_a_note():
    from inspector.frontends import pytorch

    net = trained_block().train()
    loaded = pytorch.load_module(net, input_shape=(1, 3, 8, 8))
    assert any("training mode" in note for note in loaded.notes)
    assert net.training  # the user's module is not switched
    assert fold(loaded, "optimal").verification.passed


def test_an_eval_module_gets_no_training_note():
    from inspector.frontends import pytorch

    loaded = pytorch.load_module(trained_block(), input_shape=(1, 3, 8, 8))
    assert not any("training mode" in note for note in loaded.notes)


def test_torch_per_tensor_verification_compares_module_outputs():
    from inspector.frontends import pytorch

    loaded = pytorch.load_module(trained_block(), input_shape=(1, 3, 8, 8))
    result = fold(loaded, "optimal")
    assert result.verification.tensors_compared >= 1  # the ReLU between the two blocks


def test_bf16_model_folds_and_verifies_with_a_bf16_tolerance():
    import torch

    from inspector.frontends import pytorch

    loaded = pytorch.load_module(trained_block().to(torch.bfloat16), input_shape=(1, 3, 8, 8))
    result = fold(loaded, "optimal")
    v = result.verification
    assert v.passed and result.rolled_back == [] and result.analysis.folded_count == 2
    assert v.tolerance == tolerance_for({"bfloat16"})
    assert next(result.model.parameters()).dtype == torch.bfloat16


def test_a_folded_bf16_model_saves_as_pt2(tmp_path):
    import torch

    from inspector.frontends import pytorch

    loaded = pytorch.load_module(trained_block().to(torch.bfloat16), input_shape=(1, 3, 8, 8))
    target = tmp_path / "folded.pt2"
    pytorch.save(fold(loaded, "optimal").model, target, loaded)
    program = torch.export.load(str(target))
    assert not any("batch_norm" in str(n.target) for n in program.graph.nodes)


class HalfBody:
    """fp16 weights behind float32 I/O (casts inside the forward)."""

    @staticmethod
    def build():
        from torch import nn

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.body = trained_block().half()

            def forward(self, x):
                return self.body(x.half()).float()

        return Net().eval()


def test_fp16_weights_with_fp32_inputs_are_not_rolled_back():
    import torch

    from inspector.frontends import pytorch

    loaded = pytorch.load_module(HalfBody.build(), torch.randn(1, 3, 8, 8))
    assert [s.dtype for s in loaded.inputs] == ["float32"]
    result = fold(loaded, "optimal")
    assert result.rolled_back == [] and result.verification.passed
    assert result.verification.tolerance == tolerance_for({"float16"})


def test_onnx_fp16_weights_with_fp32_io_use_the_fp16_tolerance():
    from onnx import TensorProto, helper, numpy_helper

    from inspector.frontends.onnx import load_onnx
    from tests.onnx_builders import bn_stats, model, rand, vinfo

    stats = bn_stats(4)
    inits = [numpy_helper.from_array(rand((4, 3, 3, 3), 1).astype(np.float16), "w")]
    inits += [numpy_helper.from_array(stats[k].astype(np.float16), f"bn.{k}")
              for k in ("gamma", "beta", "mean", "var")]
    nodes = [helper.make_node("Cast", ["x"], ["xh"], name="to_half", to=TensorProto.FLOAT16),
             helper.make_node("Conv", ["xh", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "bn.gamma", "bn.beta", "bn.mean",
                                                     "bn.var"], ["b"], name="bn"),
             helper.make_node("Cast", ["b"], ["y"], name="to_float", to=TensorProto.FLOAT)]
    loaded = load_onnx(model(nodes, [vinfo("x", [1, 3, 8, 8])], ["y"], inits))
    result = fold(loaded, "optimal")
    assert result.rolled_back == [] and result.verification.passed
    assert result.verification.tolerance == tolerance_for({"float16"})


# -- CLI ---------------------------------------------------------------------------
def _nan_weight_onnx(path):
    import onnx
    from onnx import numpy_helper

    from tests.onnx_builders import conv_bn_relu

    model = conv_bn_relu(relu=False)
    for t in model.graph.initializer:
        if t.name == "conv.weight":
            w = numpy_helper.to_array(t).copy()
            w[0, 0, 0, 0] = np.nan
            t.CopyFrom(numpy_helper.from_array(w, t.name))
    onnx.save(model, str(path))
    return path


def test_cli_refuses_an_unverifiable_fold_in_one_line(capsys, tmp_path):
    from inspector.cli import main

    src, out = _nan_weight_onnx(tmp_path / "nan.onnx"), tmp_path / "folded.onnx"
    code = main(["fold", str(src), "-o", str(out)])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("bnfold: error")]
    assert code != 0 and len(errors) == 1 and "could not verify" in errors[0]
    assert not out.exists()


def test_cli_saves_an_unverified_fold_only_when_asked_and_says_so(capsys, tmp_path):
    import json

    from inspector.cli import main

    src, out = _nan_weight_onnx(tmp_path / "nan.onnx"), tmp_path / "folded.onnx"
    code = main(["fold", str(src), "-o", str(out), "--allow-unverified", "--json", "-"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and out.exists()
    assert report["verification"]["status"] == "unverified"
    assert report["verification"]["passed"] is False


def test_a_pad_amount_computed_from_a_dynamic_dim_blocks_the_fold():
    from onnx import helper

    from inspector.frontends.onnx import load_onnx
    from tests.onnx_builders import bn_node, init, model, rand, vinfo

    # BN -> Pad(W to W + W, amounts from Shape) -> Conv: at W = 1 the pad is 1 column.
    bn, more = bn_node("bn", "x", "b", 3)
    nodes = [bn, helper.make_node("Shape", ["x"], ["shp"], name="shape", start=3, end=4),
             helper.make_node("Concat", ["zeros6", "shp", "zero1"], ["pads"], name="cat", axis=0),
             helper.make_node("Pad", ["b", "pads"], ["p"], name="pad", mode="edge"),
             helper.make_node("Conv", ["p", "w"], ["y"], name="conv")]
    inits = [init("zeros6", np.zeros(6, np.int64)), init("zero1", np.zeros(1, np.int64)),
             init("w", rand((4, 3, 1, 1), 1)), *more]
    loaded = load_onnx(model(nodes, [vinfo("x", [1, 3, 4, "W"])], ["y"], inits))
    pad = next(n for n in loaded.graph.nodes if n.name == "pad")
    assert pad.op == "other" and pad.attrs["shape_derived"]
    assert fold(loaded, "optimal").verification.passed


def test_an_eager_module_is_also_verified_at_larger_spatial_sizes():
    from inspector.frontends import pytorch

    loaded = pytorch.load_module(trained_block(), input_shape=(1, 3, 8, 8))
    shapes = fold(loaded, "optimal").verification.input_shapes
    assert shapes == (((1, 3, 8, 8),), ((2, 3, 9, 9),))
