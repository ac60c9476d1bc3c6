"""Transparency rules that depend on an op's attributes (issue 7, item 8).

Every case is ``x -> Conv(1x1) -> OP -> BN -> Relu`` built in ONNX (and, for the
ops PyTorch has, as a module): the BN can
only fold backward, through OP, so its verdict is OP's transparency rule. Each
case is checked three ways:

* the verdict (status and reason code) the analysis gives;
* the numerics of OP alone under onnxruntime: OP(a*x + c) == a*OP(x) + c with the
  BN's own (a, c) exactly when the verdict is "folded" (a refusal is a case where
  folding would be wrong, a fold is a case where it is right);
* a "folded" verdict survives ``fold()`` (verified against the original model
  with onnxruntime, nothing rolled back).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as TF
from onnx import helper
from torch import nn

from inspector.folding.driver import analyze
from inspector.folding.pipeline import fold
from inspector.frontends import load
from inspector.frontends import onnx as F

from . import onnx_builders as B

C = 4  # conv output channels
OPSET = 19  # Pad "wrap", Resize antialias and half_pixel_symmetric


@dataclass
class Case:
    """OP as ONNX nodes from tensor ``c`` to ``o``, its initializers, BN channel count."""

    nodes: list
    inits: list = field(default_factory=list)
    channels: int = C
    status: str = "folded"
    reason: str | None = None


def i64(name: str, values) -> onnx.TensorProto:
    return B.init(name, np.asarray(values, dtype=np.int64))


def f32(name: str, values) -> onnx.TensorProto:
    return B.init(name, np.asarray(values, dtype=np.float32))


def resize(mode: str, coord: str, scales=(2.0, 2.0), roi=None, sizes=None, **attrs) -> Case:
    inits, inputs = [], ["c", "", ""]
    if roi is not None:
        inits.append(f32("roi", [0, 0, roi[0], roi[1], 1, 1, roi[2], roi[3]]))
        inputs[1] = "roi"
    if sizes is not None:
        inits.append(i64("sizes", [1, C, *sizes]))
        inputs.append("sizes")
    else:
        inits.append(f32("scales", [1, 1, *scales]))
        inputs[2] = "scales"
    node = helper.make_node("Resize", inputs, ["o"], mode=mode,
                            coordinate_transformation_mode=coord, **attrs)
    return Case([node], inits)


def pool(op: str, **attrs) -> Case:
    return Case([helper.make_node(op, ["c"], ["o"], kernel_shape=[3, 3], strides=[2, 2], **attrs)])


def pad(mode: str, value: float | None = None, pads=(0, 0, 1, 2, 0, 0, 2, 1)) -> Case:
    inits, inputs = [i64("pads", pads)], ["c", "pads"]
    if value is not None:
        inits.append(f32("value", value))
        inputs.append("value")
    return Case([helper.make_node("Pad", inputs, ["o"], mode=mode)], inits)


def slice_(starts, ends, axes, steps, channels: int = C) -> Case:
    inits = [i64("starts", starts), i64("ends", ends), i64("axes", axes), i64("steps", steps)]
    node = helper.make_node("Slice", ["c", "starts", "ends", "axes", "steps"], ["o"])
    return Case([node], inits, channels)


def refused(case: Case, reason: str) -> Case:
    case.status, case.reason = "not_foldable", reason
    return case


BIG = 2**62
CASES = {
    # Resize: interpolation weights sum to 1 in every mode ...
    "resize_nearest_asymmetric": resize("nearest", "asymmetric"),
    "resize_linear_half_pixel": resize("linear", "half_pixel", (2.0, 1.5)),
    "resize_linear_align_corners_down": resize("linear", "align_corners", (0.5, 0.75)),
    "resize_linear_antialias_down": resize("linear", "half_pixel", (0.5, 0.75), antialias=1),
    "resize_cubic_exclude_outside_0": resize("cubic", "half_pixel", exclude_outside=0),
    "resize_cubic_exclude_outside_1_antialias": resize(
        "cubic", "pytorch_half_pixel", (0.5, 0.5), exclude_outside=1, antialias=1),
    "resize_cubic_half_pixel_symmetric": resize("cubic", "half_pixel_symmetric", (1.5, 2.0)),
    "resize_tf_crop_inside_roi": resize("linear", "tf_crop_and_resize",
                                        roi=(0.1, 0.2, 0.8, 0.9), sizes=(6, 7)),
    # ... except samples outside the input, which get the extrapolation value.
    "resize_tf_crop_extrapolating_roi": refused(resize(
        "linear", "tf_crop_and_resize", roi=(-0.2, 0.0, 1.2, 1.0), sizes=(10, 9)), "extrapolation"),
    "resize_tf_crop_extrapolating_nearest_value_3": refused(resize(
        "nearest", "tf_crop_and_resize", roi=(0.0, -0.5, 1.0, 1.0), sizes=(9, 10),
        extrapolation_value=3.0), "extrapolation"),
    # Pools: ceil_mode partial windows divide by the elements they hold.
    "avgpool_ceil_mode": pool("AveragePool", ceil_mode=1, count_include_pad=1),
    "avgpool_ceil_mode_padded_excluded": pool("AveragePool", ceil_mode=1, pads=[1, 1, 1, 1]),
    "avgpool_padding_counted": refused(pool("AveragePool", pads=[1, 1, 1, 1], count_include_pad=1),
                                       "zero_padding"),
    "avgpool_ceil_mode_padding_counted": refused(pool(
        "AveragePool", ceil_mode=1, pads=[1, 1, 1, 1], count_include_pad=1), "zero_padding"),
    "maxpool_ceil_mode_padded": pool("MaxPool", ceil_mode=1, pads=[1, 1, 1, 1]),
    # Pad: copying modes commute; a constant must be a fixed point of the map.
    "pad_reflect": pad("reflect"),
    "pad_edge": pad("edge"),
    "pad_wrap": pad("wrap"),
    "pad_constant_zero": refused(pad("constant"), "zero_padding"),
    "pad_constant_value_2": refused(pad("constant", 2.0), "zero_padding"),
    "pad_constant_negative_pads_crop": pad("constant", 2.0, pads=(0, 0, -1, 0, 0, 0, -2, -1)),
    # Slice: steps (negative too) on the channel axis select entries of the map.
    "slice_reverse_channels": slice_([-1], [-BIG], [1], [-1]),
    "slice_every_other_channel_backwards": slice_([BIG], [-BIG], [1], [-2], channels=2),
    "slice_channels_step_2_from_1": slice_([1], [BIG], [1], [2], channels=2),
    "slice_spatial_negative_step": slice_([-2], [0], [3], [-3]),
    "slice_start_before_zero_negative_step": slice_([-BIG], [-BIG], [1], [-1], channels=1),
}


def build(case: Case) -> onnx.ModelProto:
    conv = helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[1, 1])
    bn, bn_inits = B.bn_node("bn", "o", "n", case.channels)
    relu = helper.make_node("Relu", ["n"], ["y"])
    inits = [B.init("w", B.rand((C, 3, 1, 1), 1)), B.init("b", B.rand((C,), 2)), *bn_inits,
             *case.inits]
    return B.model([conv, *case.nodes, bn, relu], [B.vinfo("x", [1, 3, 8, 8])], ["y"], inits,
                   opset=OPSET)


def op_commutes_with_bn(case: Case, seed: int = 0) -> float:
    """max |OP(a*x + c) - (a*OP(x) + c)| under onnxruntime, with the case's BN (a, c)."""
    a, c = B.bn_affine(B.bn_stats(case.channels))
    x = np.random.default_rng(seed).standard_normal((1, C, 8, 8)).astype(np.float32)
    m = B.model(case.nodes, [B.vinfo("c", [1, C, 8, 8])], ["o"], case.inits, opset=OPSET)
    # The map enters with C channels; compare on OP's output channels through a
    # channel-index probe (OP moves channel k to the positions where k appears).
    probe = np.arange(C, dtype=np.float32).reshape(1, C, 1, 1) * np.ones_like(x)
    (where,) = F.run(m, [probe])
    where = np.rint(where[0, :, where.shape[2] // 2, where.shape[3] // 2]).astype(int)
    # (a, c) are given per output channel of OP: lift them to the input channels.
    lift_a, lift_c = np.ones(C), np.zeros(C)
    lift_a[where], lift_c[where] = a, c
    (y,) = F.run(m, [x])
    (z,) = F.run(m, [(x * lift_a[None, :, None, None] + lift_c[None, :, None, None]).astype(np.float32)])
    return float(np.max(np.abs(z - (y * a[None, :, None, None] + c[None, :, None, None]))))


@pytest.mark.parametrize("name", list(CASES))
def test_attribute_dependent_rule_gives_expected_verdict(name):
    case = CASES[name]
    loaded = F.load_onnx(build(case), name=name)
    verdict = analyze(loaded.graph, "optimal").verdicts["bn"]
    assert verdict.status == case.status, verdict.reason
    if case.reason is not None:
        assert verdict.reason_code.value == case.reason, verdict.reason


@pytest.mark.parametrize("name", list(CASES))
def test_verdict_agrees_with_the_numerics_of_the_op(name):
    case = CASES[name]
    err = op_commutes_with_bn(case)
    if case.status == "folded":
        assert err <= 1e-5
    else:
        assert err >= 1e-2


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.status == "folded"])
def test_folded_case_verifies_with_onnxruntime(name):
    loaded = F.load_onnx(build(CASES[name]), name=name)
    result = fold(loaded, "optimal")
    assert result.analysis.folded_count == 1 and not result.rolled_back
    assert result.verification.max_rel_error <= 1e-5


# -- the same rules through the PyTorch frontend ---------------------------------------
TORCH_OPS = {
    "avg_pool_ceil_mode": ("folded", None,
                           lambda t: TF.avg_pool2d(t, 3, 2, ceil_mode=True)),
    "avg_pool_ceil_mode_padding_excluded": (
        "folded", None,
        lambda t: TF.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
    "avg_pool_padding_counted": ("not_foldable", "zero_padding",
                                 lambda t: TF.avg_pool2d(t, 3, 2, 1, ceil_mode=True)),
    "max_pool_ceil_mode_padded": ("folded", None,
                                  lambda t: TF.max_pool2d(t, 3, 2, 1, ceil_mode=True)),
    "bicubic_upsample": ("folded", None, lambda t: TF.interpolate(
        t, scale_factor=2, mode="bicubic", align_corners=False)),
    "bilinear_antialias_down": ("folded", None, lambda t: TF.interpolate(
        t, scale_factor=0.5, mode="bilinear", antialias=True)),
    "pad_reflect": ("folded", None, lambda t: TF.pad(t, (1, 2, 2, 1), mode="reflect")),
    "pad_constant_value_2": ("not_foldable", "zero_padding",
                             lambda t: TF.pad(t, (1, 2, 2, 1), value=2.0)),
    "slice_channels_step_2": ("folded", None, lambda t: t[:, 1::2]),
}


def torch_case(op):
    class ConvOpBn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, C, 1)
            out = op(torch.zeros(1, C, 8, 8)).shape[1]
            self.bn = nn.BatchNorm2d(out)
            stats = B.bn_stats(out)
            with torch.no_grad():
                for name, key in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "mean"),
                                  ("running_var", "var")):
                    getattr(self.bn, name).copy_(torch.from_numpy(stats[key]))

        def forward(self, x):
            return torch.relu(self.bn(op(self.conv(x))))

    return ConvOpBn().eval()


def torch_op_commutes_with_bn(op, channels: int) -> float:
    a, c = (torch.from_numpy(v).reshape(1, -1, 1, 1) for v in B.bn_affine(B.bn_stats(channels)))
    x = torch.randn(1, C, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    probe = op(torch.arange(C, dtype=torch.float64).reshape(1, C, 1, 1).expand(1, C, 8, 8))
    where = probe[0, :, probe.shape[2] // 2, probe.shape[3] // 2].round().long()
    lift_a, lift_c = torch.ones(C, dtype=torch.float64), torch.zeros(C, dtype=torch.float64)
    lift_a[where], lift_c[where] = a.reshape(-1), c.reshape(-1)
    z = op(x * lift_a.reshape(1, -1, 1, 1) + lift_c.reshape(1, -1, 1, 1))
    return float((z - (op(x) * a + c)).abs().max())


@pytest.mark.parametrize("name", list(TORCH_OPS))
def test_torch_attribute_dependent_rule_gives_expected_verdict(name):
    status, reason, op = TORCH_OPS[name]
    loaded = load(torch_case(op), input_shape=(1, 3, 8, 8))
    result = analyze(loaded.graph, "optimal")
    (verdict,) = result.verdicts.values()
    assert verdict.status == status, verdict.reason
    if reason is not None:
        assert verdict.reason_code.value == reason, verdict.reason
    channels = len(next(iter(loaded.graph.bn_nodes())).params["gamma"])
    err = torch_op_commutes_with_bn(op, channels)
    assert err <= 1e-9 if status == "folded" else err >= 1e-2
    if status == "folded":
        folded = fold(loaded, "optimal", analysis=result)
        assert folded.analysis.folded_count == 1 and not folded.rolled_back
        assert folded.verification.max_rel_error <= 1e-5
