"""ONNX op -> IR translation, part 1: the node view and the rules for layers
with parameters (Conv, ConvTranspose, Gemm, MatMul, BatchNormalization) and for
elementwise arithmetic with a constant (per-channel ``affine``).

Each rule reads an :class:`OpView` (the node, its constant inputs, shapes and
opset) and returns a :class:`Translation` or ``None`` ("does not apply"); see
``ops`` for the table and ``ops_layout`` for structural ops.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import helper

Shape = tuple[int, ...]


@dataclass
class Translation:
    """The IR op, attrs, params and param storage keys for one ONNX node."""

    op: str
    attrs: dict[str, Any] = field(default_factory=dict)
    params: dict[str, np.ndarray] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)


@dataclass
class OpView:
    """Read-only view of one ONNX node with its constants and shapes."""

    node: onnx.NodeProto
    consts: Mapping[str, np.ndarray]
    shapes: Mapping[str, Shape | None]
    opset: int

    def attr(self, name: str, default: Any = None) -> Any:
        for a in self.node.attribute:
            if a.name == name:
                value = helper.get_attribute_value(a)
                return value.decode() if isinstance(value, bytes) else value
        return default

    def has(self, i: int) -> bool:
        return i < len(self.node.input) and bool(self.node.input[i])

    def const(self, i: int) -> np.ndarray | None:
        return self.consts.get(self.node.input[i]) if self.has(i) else None

    def is_data(self, i: int) -> bool:
        return self.has(i) and self.node.input[i] not in self.consts

    def shape(self, i: int = 0) -> Shape | None:
        return self.shapes.get(self.node.input[i]) if self.has(i) else None

    def out_shape(self, i: int = 0) -> Shape | None:
        return self.shapes.get(self.node.output[i]) if i < len(self.node.output) else None

    def key(self, i: int) -> str:
        return self.node.input[i]


def ints(values: Any) -> tuple[int, ...]:
    """Any int list, tuple or array as a tuple of Python ints."""
    return tuple(int(v) for v in np.asarray(values).reshape(-1))


def resolve_pads(v: OpView, kernel: Shape, stride: Shape, dil: Shape) -> list | None:
    """Explicit [(begin, end)] per spatial dim from ``pads`` or ``auto_pad``."""
    n = len(kernel)
    auto = v.attr("auto_pad", "NOTSET")
    if auto in ("NOTSET", ""):
        p = ints(v.attr("pads", [0] * 2 * n))
        return [(p[i], p[i + n]) for i in range(n)]
    if auto == "VALID":
        return [(0, 0)] * n
    shape = v.shape(0)
    if shape is None or len(shape) != n + 2:
        return None
    pads = []
    for size, k, s, d in zip(shape[2:], kernel, stride, dil):
        total = max(0, (math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size)
        begin = total // 2 if auto == "SAME_UPPER" else total - total // 2
        pads.append((begin, total - begin))
    return pads


def _weights(v: OpView, names: dict[str, int]) -> Translation | None:
    """Params from constant inputs (missing optional inputs are skipped)."""
    t = Translation("")
    for pname, i in names.items():
        if not v.has(i):
            continue
        value = v.const(i)
        if value is None:
            return None
        t.params[pname], t.keys[pname] = value, v.key(i)
    return t


def conv_rule(v: OpView) -> Translation | None:
    t = _weights(v, {"weight": 1, "bias": 2})
    if t is None or "weight" not in t.params or t.params["weight"].ndim < 3:
        return None
    w = t.params["weight"]
    n = w.ndim - 2
    stride, dil = ints(v.attr("strides", [1] * n)), ints(v.attr("dilations", [1] * n))
    transpose = v.node.op_type == "ConvTranspose"
    pads = _transpose_pads(v, w, stride, dil) if transpose else resolve_pads(v, w.shape[2:], stride, dil)
    if pads is None:
        return None
    t.op = "conv_transpose" if transpose else "conv"
    t.attrs = {"groups": int(v.attr("group", 1)), "stride": stride, "dilation": dil,
               "padding": pads, "kernel": tuple(w.shape[2:])}
    if transpose:
        t.attrs["output_padding"] = ints(v.attr("output_padding", [0] * n))
    else:
        t.attrs["padding_mode"] = "zeros"
    return t


def _transpose_pads(v: OpView, w: np.ndarray, stride: Shape, dil: Shape) -> list | None:
    """ConvTranspose pads; ``output_shape`` / SAME_* become explicit pads (ONNX spec)."""
    n = w.ndim - 2
    auto = v.attr("auto_pad", "NOTSET")
    out = v.attr("output_shape")
    if out is None and auto in ("NOTSET", "", "VALID"):
        p = ints(v.attr("pads", [0] * 2 * n)) if auto != "VALID" else (0,) * 2 * n
        return [(p[i], p[i + n]) for i in range(n)]
    shape = v.shape(0)
    if shape is None:
        return None
    out_pad = ints(v.attr("output_padding", [0] * n))
    out = list(out)[-n:] if out is not None else [s * st for s, st in zip(shape[2:], stride)]
    pads = []
    for i in range(n):
        total = stride[i] * (shape[2 + i] - 1) + out_pad[i] + (w.shape[2 + i] - 1) * dil[i] + 1 - out[i]
        if total < 0:
            return None
        begin = total // 2 if auto == "SAME_UPPER" else total - total // 2
        pads.append((begin, total - begin))
    return pads


def gemm_rule(v: OpView) -> Translation | None:
    t = _weights(v, {"weight": 1, "bias": 2})
    if t is None or "weight" not in t.params or v.attr("transA", 0) or t.params["weight"].ndim != 2:
        return None
    b = t.params["weight"]
    t.params["weight"] = np.ascontiguousarray(float(v.attr("alpha", 1.0)) * (b if v.attr("transB", 0) else b.T))
    if "bias" in t.params:
        bias = bias_vector(t.params["bias"], t.params["weight"].shape[0], 2)
        if bias is None:
            return None
        t.params["bias"] = (float(v.attr("beta", 1.0)) * bias).astype(b.dtype)
    t.op = "linear"
    return t


def matmul_rule(v: OpView) -> Translation | None:
    b = v.const(1)
    if b is None or b.ndim != 2 or not v.is_data(0):
        return None
    return Translation("linear", {}, {"weight": np.ascontiguousarray(b.T)}, {"weight": v.key(1)})


def bias_vector(c: np.ndarray, out: int, rank: int) -> np.ndarray | None:
    """``c`` as an (out,) vector if it only varies along the last of ``rank`` axes."""
    if c.ndim > rank or any(d != 1 for d in c.shape[:-1]) or (c.ndim and c.shape[-1] not in (1, out)):
        return None
    return np.broadcast_to(c.reshape(-1), (out,)).copy()


def batch_norm_rule(v: OpView) -> Translation | None:
    """BatchNormalization; mean/var computed from data (batch statistics) get the
    defaults 0 / 1 without a storage key and ``uses_batch_stats=True``."""
    t = _weights(v, {"gamma": 1, "beta": 2})
    if t is None or len(t.params) != 2 or any(p.ndim != 1 for p in t.params.values()):
        return None
    rank = len(v.shape() or ())
    if v.opset < 9 and not v.attr("spatial", 1) and rank > 2:
        return None  # per-element statistics (opset 7/8 spatial=0): see onnx_translate
    n = t.params["gamma"].shape[0]
    from_data = False
    for pname, i, default in (("mean", 3, 0.0), ("var", 4, 1.0)):
        value = v.const(i)
        if value is None:
            from_data = True
            value = np.full(n, default, dtype=t.params["gamma"].dtype)
        else:
            t.keys[pname] = v.key(i)
        t.params[pname] = value.reshape(-1)
    extra = any(o for o in v.node.output[1:])
    t.op = "batch_norm"
    t.attrs = {"eps": float(v.attr("epsilon", 1e-5)), "axis": 1,
               "uses_batch_stats": bool(v.attr("training_mode", 0)) or extra or from_data}
    return t


def per_channel(c: np.ndarray, shape: Shape | None) -> tuple[np.ndarray, int] | None:
    """(vector, axis) when ``c`` broadcasts onto ``shape`` along one non-batch axis."""
    if shape is None or c.ndim > len(shape) or len(shape) < 2:
        return None
    padded = (1,) * (len(shape) - c.ndim) + c.shape
    if any(p not in (1, s) for p, s in zip(padded, shape)):
        return None
    axes = [i for i, p in enumerate(padded) if p != 1]
    if not axes:
        return np.full(shape[1], c.reshape(-1)[0], dtype=c.dtype), 1
    if len(axes) != 1 or axes[0] == 0:
        return None
    return c.reshape(-1).copy(), axes[0]


def elementwise_rule(v: OpView) -> Translation | None:
    op = v.node.op_type
    a, b = v.const(0), v.const(1)
    if a is None and b is None:
        if op == "Mul":
            return Translation("mul")
        same = v.shape(0) is not None and v.shape(0) == v.shape(1)
        return Translation(op.lower()) if op in ("Add", "Sub") and same else None
    if a is not None and b is not None:
        return None
    data_first = a is None
    c = b if data_first else a
    found = per_channel(c, v.shape(0 if data_first else 1)) if c.dtype.kind == "f" else None
    if found is None:
        return None
    vec, axis = found
    ones, zeros = np.ones_like(vec), np.zeros_like(vec)
    key = v.key(1 if data_first else 0)
    if op == "Mul":
        scale, shift, keys = vec, zeros, {"scale": key}
    elif op == "Add":
        scale, shift, keys = ones, vec, {"shift": key}
    elif op == "Sub":
        scale, shift, keys = (ones, -vec, {"shift": key}) if data_first else (-ones, vec, {})
    elif data_first and np.all(vec != 0):  # Div by a constant
        scale, shift, keys = (1.0 / vec).astype(vec.dtype), zeros, {"scale": key}
    else:
        return None
    scalar = c.size == 1
    if scalar and np.all(scale == 1) and np.all(shift == 0):
        # x + 0, x * 1 ...: no arithmetic of its own (DESIGN §3.8: folding a BN into
        # it would be a rename, not a fold).
        return Translation("identity")
    return Translation("affine", {"axis": axis, "scalar": scalar}, {"scale": scale, "shift": shift},
                       keys)
