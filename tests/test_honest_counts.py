"""Honest counts (issue 7, items 10 and 11; DESIGN §3.8).

* A BN counts as folded only when its arithmetic leaves the deployed model:
  arithmetic-free nodes (``x + 0``, ``x * 1``) are identities, never roots or
  leaves, and an affine that would need a new per-channel Mul or Add refuses
  (``rename_not_fold``), so the same network gives the same counts through
  both frontends.
* ``bn_total`` counts real BN layers only: a scalar rescaling (Keras
  ``Rescaling``) is not a BN; a BN whose scale is computed at run time, or an
  opset-7 BN with ``spatial=0``, is a BN that cannot fold, counted with a reason.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx import helper
from torch import nn

from inspector.folding.driver import analyze
from inspector.frontends import load
from inspector.frontends import onnx as F

from . import onnx_builders as B


def ops(loaded) -> list[str]:
    return [n.op for n in loaded.graph.nodes]


# -- arithmetic-free nodes are identities ---------------------------------------------
class ZeroPlusBn(nn.Module):
    """timm MobileOneBlock without conv branches: ``out = 0 + bn(x)`` (FastViT RepMixer)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv1(x))
        return torch.relu(self.conv2(h) + (0 + self.bn(h)) * 1.0)


def test_torch_zero_plus_and_times_one_are_identities():
    loaded = load(ZeroPlusBn(), input_shape=(1, 4, 6, 6))
    assert "affine" not in ops(loaded)
    assert ops(loaded).count("identity") >= 2


def test_torch_bn_is_not_folded_into_a_zero_plus_node():
    loaded = load(ZeroPlusBn(), input_shape=(1, 4, 6, 6))
    (verdict,) = analyze(loaded.graph, "optimal").verdicts.values()
    assert verdict.status == "not_foldable" and verdict.reason_code.value == "nonlinearity"


@pytest.mark.slow
def test_torch_and_onnx_count_the_zero_plus_bn_alike():
    from inspector.bench.peers import export_onnx_unfolded

    module = ZeroPlusBn().eval()
    torch_side = load(module, input_shape=(1, 4, 6, 6))
    onnx_side = load(export_onnx_unfolded(module, (torch.randn(1, 4, 6, 6),)), name="zero_plus")
    counts = [(a.bn_total, a.folded_count)
              for a in (analyze(m.graph, "optimal") for m in (torch_side, onnx_side))]
    assert counts[0] == counts[1] == (1, 0)


class BnThenScalarMul(nn.Module):
    """relu -> BN -> x * 0.5 -> relu: the only way out is the scalar multiply."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(torch.relu(x)) * 0.5)


@pytest.mark.slow
def test_bn_is_not_moved_into_a_scalar_multiply_that_would_need_a_new_add():
    from inspector.bench.peers import export_onnx_unfolded

    module = BnThenScalarMul().eval()
    with torch.no_grad():
        module.bn.running_mean.uniform_(0.5, 1.0)  # a non-zero shift
    torch_side = load(module, input_shape=(1, 4, 6, 6))
    onnx_side = load(export_onnx_unfolded(module, (torch.randn(1, 4, 6, 6),)), name="scalar_mul")
    for loaded in (torch_side, onnx_side):
        assert "affine" in ops(loaded)
        (verdict,) = analyze(loaded.graph, "optimal").verdicts.values()
        assert verdict.status == "not_foldable"
        assert verdict.reason_code.value == "rename_not_fold", verdict.reason


def _scalar_op(op: str, value: float):
    inits = [B.init("w", B.rand((4, 3, 1, 1), 1)), B.init("k", np.float32(value))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]), helper.make_node(op, ["c", "k"], ["y"])]
    return F.load_onnx(B.model(nodes, [B.vinfo("x", [1, 3, 6, 6])], ["y"], inits))


@pytest.mark.parametrize("op,value", [("Add", 0.0), ("Sub", 0.0), ("Mul", 1.0), ("Div", 1.0)])
def test_onnx_arithmetic_free_scalar_op_is_an_identity(op, value):
    assert ops(_scalar_op(op, value)) == ["input", "conv", "identity", "output"]


def test_onnx_scalar_op_with_arithmetic_stays_an_affine():
    assert ops(_scalar_op("Mul", 0.5)) == ["input", "conv", "affine", "output"]


# -- bn_total counts real BN layers only ----------------------------------------------
def keras_rescaling(with_bn: bool):
    """NCHW Keras-style front end: x * (1/255) + (-1) -> Conv [-> BN] -> Relu."""
    inits = [B.init("k", np.float32(1 / 255)), B.init("o", np.float32(-1.0)),
             B.init("w", B.rand((4, 3, 3, 3), 1))]
    nodes = [helper.make_node("Mul", ["x", "k"], ["m"], name="rescaling/mul"),
             helper.make_node("Add", ["m", "o"], ["r"], name="rescaling/add"),
             helper.make_node("Conv", ["r", "w"], ["c"], name="conv", kernel_shape=[3, 3])]
    last = "c"
    if with_bn:
        bn, bn_inits = B.bn_node("bn", "c", "b", 4)
        nodes.append(bn)
        inits += bn_inits
        last = "b"
    nodes.append(helper.make_node("Relu", [last], ["y"], name="relu"))
    return F.load_onnx(B.model(nodes, [B.vinfo("x", [1, 3, 8, 8])], ["y"], inits))


@pytest.mark.parametrize("with_bn", [False, True])
def test_keras_rescaling_is_not_a_bn(with_bn):
    loaded = keras_rescaling(with_bn)
    assert "affine" in ops(loaded)  # the rescaling is still there, as a plain affine
    assert analyze(loaded.graph, "optimal").bn_total == int(with_bn)


def test_decomposed_per_channel_bn_still_counts():
    assert analyze(F.load_onnx(B.decomposed_bn()).graph, "optimal").bn_total == 1


def bn_with_scale_input():
    """x -> Conv -> BN(scale = graph input ``gamma``) -> Relu."""
    stats = B.bn_stats(4)
    inits = [B.init("w", B.rand((4, 3, 1, 1), 1)),
             *(B.init(k, stats[k]) for k in ("beta", "mean", "var"))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["b"],
                              name="bn"),
             helper.make_node("Relu", ["b"], ["y"], name="relu")]
    inputs = [B.vinfo("x", [1, 3, 6, 6]), B.vinfo("gamma", [4])]
    return F.load_onnx(B.model(nodes, inputs, ["y"], inits))


def bn_spatial_0():
    """Opset 7: x -> Conv -> BN(spatial=0, per-element (C, H, W) statistics) -> Relu."""
    rng = np.random.default_rng(0)
    shape = (4, 6, 6)
    inits = [B.init("w", B.rand((4, 3, 1, 1), 1)),
             B.init("gamma", rng.uniform(0.5, 1.5, shape).astype(np.float32)),
             B.init("beta", rng.standard_normal(shape).astype(np.float32)),
             B.init("mean", rng.standard_normal(shape).astype(np.float32)),
             B.init("var", rng.uniform(0.5, 2.0, shape).astype(np.float32))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["b"],
                              name="bn", spatial=0),
             helper.make_node("Relu", ["b"], ["y"], name="relu")]
    return F.load_onnx(B.model(nodes, [B.vinfo("x", [1, 3, 6, 6])], ["y"], inits, opset=7))


@pytest.mark.parametrize("build,code", [(bn_with_scale_input, "dynamic_params"),
                                        (bn_spatial_0, "per_element_bn")])
def test_bn_that_cannot_fold_is_counted_with_a_reason(build, code):
    for mode in ("adjacent", "optimal"):
        result = analyze(build().graph, mode)
        assert result.bn_total == 1 and result.folded_count == 0
        (verdict,) = result.verdicts.values()
        assert verdict.reason_code.value == code and "bn" in verdict.reason


def test_torch_bn_with_a_computed_scale_is_counted_with_a_reason():
    class ComputedScale(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)
            self.register_buffer("mean", torch.zeros(4))
            self.register_buffer("var", torch.ones(4))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.conv(x)
            gamma = h.mean(dim=(0, 2, 3))  # data-dependent scale
            return torch.nn.functional.batch_norm(h, self.mean, self.var, gamma, None, False)

    result = analyze(load(ComputedScale(), input_shape=(1, 3, 6, 6)).graph, "optimal")
    assert result.bn_total == 1 and result.folded_count == 0
    (verdict,) = result.verdicts.values()
    assert verdict.reason_code.value == "dynamic_params"


# -- the same zoo networks give the same counts through both frontends -----------------
@pytest.mark.slow
@pytest.mark.parametrize("spec", ["timm:fastvit_t8", "torchvision:resnet18"])
def test_zoo_network_counts_agree_between_frontends(spec):
    from inspector.bench.peers import export_onnx_unfolded

    torch_side = load(spec)
    example = tuple(torch.randn(*i.shape) for i in torch_side.inputs)
    onnx_side = load(export_onnx_unfolded(torch_side.model, example), name=spec)
    t, o = (analyze(m.graph, "optimal") for m in (torch_side, onnx_side))
    assert (t.bn_total, t.folded_count) == (o.bn_total, o.folded_count)


class CloneThenWriteInto(nn.Module):
    """YOLO's pose head: clone the raw keypoints, write decoded values into the clone,
    return both (the clone is no identity: without it the raw output is overwritten)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 1)
        self.bn = nn.BatchNorm2d(6)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw = self.bn(self.conv(x)) + 0
        decoded = raw.clone()
        decoded[:, 2::3] = decoded[:, 2::3].sigmoid()
        return decoded, raw


def test_a_clone_written_into_in_place_is_kept_and_the_fold_verifies(tmp_path):
    from inspector.folding.pipeline import fold
    from inspector.sources import randomize_bn

    module = CloneThenWriteInto().eval()
    randomize_bn(module, 0)
    path = tmp_path / "pose.pt2"
    x = torch.randn(1, 3, 8, 8)
    torch.export.save(torch.export.export(module, (x,), strict=False), str(path))
    result = fold(load(str(path)), "optimal")
    assert result.verification.passed and result.analysis.folded_count == 1
    assert "clone" in str(result.model.graph_module.code if hasattr(result.model, "graph_module")
                          else result.model.code)
