"""ONNX op -> IR translation, part 3: the rule table, ``translate`` and the two
fusions (MatMul + bias Add -> ``linear``; constant Mul + Add -> ``affine``).

A node no rule accepts becomes ``other`` with ``attrs["op_type"]``: never
dropped, never a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ...model import unmapped_note
from . import ops_layout as L
from .optypes import (
    OpView,
    Translation,
    batch_norm_rule,
    bias_vector,
    conv_rule,
    elementwise_rule,
    gemm_rule,
    matmul_rule,
)

ACTIVATIONS = {
    "Relu": "relu", "LeakyRelu": "leaky_relu", "Sigmoid": "sigmoid", "Tanh": "tanh",
    "Clip": "clip", "HardSwish": "hardswish", "HardSigmoid": "hard_sigmoid", "Elu": "elu",
    "Selu": "selu", "Celu": "celu", "Softmax": "softmax", "LogSoftmax": "log_softmax",
    "Gelu": "gelu", "Mish": "mish", "Softplus": "softplus", "Softsign": "softsign",
    "PRelu": "prelu", "ThresholdedRelu": "thresholded_relu", "Erf": "erf", "Swish": "silu",
    "Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Abs": "abs", "Sin": "sin", "Cos": "cos",
    "Reciprocal": "reciprocal", "Hardmax": "hardmax", "Sign": "sign",
}
NORMS = {
    "LayerNormalization": "layer_norm", "InstanceNormalization": "instance_norm",
    "GroupNormalization": "group_norm", "LpNormalization": "lp_norm", "LRN": "lrn",
    "MeanVarianceNormalization": "mvn", "RMSNormalization": "rms_norm",
}


def _simple(op: str) -> Callable[[OpView], Translation]:
    return lambda v: Translation(op)


RULES: dict[str, Callable[[OpView], Translation | None]] = {
    "Conv": conv_rule, "ConvTranspose": conv_rule, "Gemm": gemm_rule, "MatMul": matmul_rule,
    "BatchNormalization": batch_norm_rule, "Mul": elementwise_rule, "Add": elementwise_rule,
    "Sub": elementwise_rule, "Div": elementwise_rule, "Concat": L.concat_rule, "Split": L.split_rule,
    "Slice": L.slice_rule, "Pad": L.pad_rule, "MaxPool": L.pool_rule, "AveragePool": L.pool_rule,
    "GlobalAveragePool": L.pool_rule, "GlobalMaxPool": L.pool_rule, "ReduceMean": L.reduce_mean_rule,
    "Reshape": _simple("reshape"), "Flatten": _simple("reshape"),
    "Squeeze": _simple("reshape"), "Unsqueeze": _simple("reshape"),
    "Transpose": L.transpose_rule, "Resize": L.resize_rule, "Upsample": L.resize_rule,
    "Identity": _simple("identity"), "Dropout": L.dropout_rule,
    **{op: (lambda kind: lambda v: Translation("activation", {"kind": kind}))(k)
       for op, k in ACTIVATIONS.items()},
    **{op: (lambda kind: lambda v: Translation("norm", {"kind": kind}))(k) for op, k in NORMS.items()},
}
#: Ops whose only data operand is input 0 (a data tensor elsewhere -> ``other``).
ONE_DATA_INPUT = frozenset({
    "Conv", "ConvTranspose", "Gemm", "Split", "Slice", "Pad",
    "Reshape", "Squeeze", "Unsqueeze", "Resize", "Upsample", "ReduceMean", "Dropout",
    "Flatten", "Transpose", "MaxPool", "AveragePool", "GlobalAveragePool",
    "GlobalMaxPool", "Identity",
})


def translate(v: OpView, notes: list[str] | None = None) -> Translation:
    """The IR translation of one node; ``other`` (with ``op_type``) when no rule applies.

    A rule that raises on a malformed node also gives ``other``, and a line
    saying so is appended to ``notes`` (never silent).
    """
    node = v.node
    rule = RULES.get(node.op_type) if node.domain in ("", "ai.onnx") else None
    data_elsewhere = any(v.is_data(i) for i in range(1, len(node.input)))
    result = None
    if rule is not None and not (node.op_type in ONE_DATA_INPUT and data_elsewhere):
        try:
            result = rule(v)
        except Exception as e:  # noqa: BLE001 - a malformed node is kept as `other`, never a crash
            result = None
            if notes is not None:
                notes.append(unmapped_note(node.name or node.output[0], node.op_type, e))
    if result is None:
        attrs = {"op_type": node.op_type, "domain": node.domain}
        if node.op_type == "BatchNormalization" and node.domain in ("", "ai.onnx"):
            attrs.update(_unfoldable_bn(v))
        return Translation("other", attrs)
    return result


def _unfoldable_bn(v: OpView) -> dict[str, str]:
    """Why a BatchNormalization is not an IR ``batch_norm``: still a BN layer
    (``bn_layer`` = reason code, see ``ir.is_bn``), counted and explained."""
    computed = [name for i, name in enumerate(("scale", "B", "mean", "var"), start=1)
                if v.has(i) and v.node.input[i] not in v.consts]
    if computed:
        return {"bn_layer": "dynamic_params",
                "bn_why": f"its {', '.join(computed)} {'is' if len(computed) == 1 else 'are'} "
                          "computed at run time (not constants), so there is no fixed map to fold"}
    if v.opset < 9 and not v.attr("spatial", 1):
        return {"bn_layer": "per_element_bn",
                "bn_why": "spatial=0: its statistics are per element, not per channel, "
                          "which no layer's per-channel weights can absorb"}
    return {"bn_layer": "unknown_op", "bn_why": "its parameters have an unsupported form"}


@dataclass
class Item:
    """One future IR node: the ONNX node indices it stands for and its translation."""

    indices: list[int]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    t: Translation
    view: OpView


def fuse(items: list[Item], uses: Mapping[str, int]) -> list[Item]:
    """Merge MatMul + constant bias Add into one ``linear`` and a constant Mul/Div
    followed by a constant Add/Sub into one ``affine``.

    The merged affine is ``bn_like`` (a decomposed BN) when its axis is 1, or the
    last axis of a rank >= 4 tensor (NHWC graphs), and not both constants are
    scalars; a per-feature Mul/Add on the last axis of a (N, T, C) tensor is a
    LayerNorm/layer-scale affine, and a scalar rescaling is a Keras
    ``Rescaling``: neither is a BN.

    ``uses`` counts the readers of each tensor (graph outputs included); the
    intermediate tensor must be read by the second node only.
    """
    by_output = {it.outputs[0]: it for it in items if len(it.outputs) == 1}
    merged: dict[int, Item] = {}
    dropped: set[int] = set()
    for second in items:
        if len(second.inputs) != 1 or uses.get(second.inputs[0], 0) != 1:
            continue
        first = by_output.get(second.inputs[0])
        if first is None or id(first) in dropped or len(first.indices) != 1:
            continue
        t = _fuse_pair(first, second)
        if t is not None:
            dropped.update((id(first), id(second)))
            merged[id(first)] = Item(first.indices + second.indices, first.inputs,
                                     second.outputs, t, first.view)
    return [merged.get(id(it), it) for it in items if id(it) in merged or id(it) not in dropped]


def _fuse_pair(first: Item, second: Item) -> Translation | None:
    op1, op2 = first.view.node.op_type, second.view.node.op_type
    if op1 == "MatMul" and first.t.op == "linear" and op2 == "Add":
        v = second.view
        c = v.const(1) if v.const(1) is not None else v.const(0)
        out = first.view.out_shape()
        if c is None or not out:
            return None
        w = first.t.params["weight"]
        bias = bias_vector(c, w.shape[0], len(out))
        if bias is None:
            return None
        key = v.key(1) if v.const(1) is not None else v.key(0)
        return Translation("linear", {}, {"weight": w, "bias": bias.astype(w.dtype)},
                           {**first.t.keys, "bias": key})
    scale_only = op1 in ("Mul", "Div") and "scale" in first.t.keys
    shift_only = op2 in ("Add", "Sub") and "shift" in second.t.keys
    if first.t.op == second.t.op == "affine" and scale_only and shift_only:
        aligned = _align(first.t.params["scale"], first.t.attrs["axis"],
                         second.t.params["shift"], second.t.attrs["axis"])
        if aligned is None:
            return None
        scale, shift, axis = aligned
        rank = len(first.view.shapes.get(first.inputs[0]) or ())
        # Scalar constants on both sides (Keras Rescaling: x * 1/255 + b) are not a BN.
        per_channel = not (first.t.attrs.get("scalar") and second.t.attrs.get("scalar"))
        bn_like = per_channel and (axis == 1 or (rank >= 4 and axis == rank - 1))
        return Translation("affine", {"axis": axis, "bn_like": bn_like},
                           {"scale": scale, "shift": shift},
                           {"scale": first.t.keys["scale"], "shift": second.t.keys["shift"]})
    return None


def _align(scale: np.ndarray, a_axis: int, shift: np.ndarray,
           b_axis: int) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Scale and shift on one axis; a uniform vector (from a scalar) follows the other."""
    if a_axis == b_axis:
        return (scale, shift, a_axis) if scale.shape == shift.shape else None
    if np.all(scale == scale[0]):
        return np.full_like(shift, scale[0], dtype=scale.dtype), shift, b_axis
    if np.all(shift == shift[0]):
        return scale, np.full_like(scale, shift[0], dtype=shift.dtype), a_axis
    return None
