"""Map one PyTorch op (aten name + keyword arguments) to an IR node spec.

Capture code (``capture`` for ``torch.export``, ``capture_fx`` for the
``symbolic_trace`` fallback) resolves every argument to a :class:`Data` tensor,
a :class:`Const` parameter or a plain Python value and calls :func:`map_op`.
Each handler is a short list of guards; anything it cannot map exactly becomes
``other`` (never dropped, never a crash). No torch import here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...model import unmapped_note
from .ops_layout import LAYOUT_HANDLERS
from .optypes import Call, Const, Data, Spec, StorageTransform, data_operands, ints, set_param

__all__ = ["Call", "Const", "Data", "Spec", "map_op", "BATCH_NORMS", "MULTI_FIRST"]


# -- expressive ops ----------------------------------------------------------
def _conv(c: Call) -> Spec | None:
    x, w, b = c.kw.get("input"), c.kw.get("weight"), c.kw.get("bias")
    if not (isinstance(x, Data) and isinstance(w, Const)) or isinstance(b, Data):
        return None
    nd = w.value.ndim - 2
    transposed = c.op.startswith("conv_transpose") or bool(c.kw.get("transposed", False))
    stride, dilation = ints(c.kw.get("stride", 1), nd), ints(c.kw.get("dilation", 1), nd)
    pad = c.kw.get("padding", 0)
    if isinstance(pad, str):
        if transposed:
            return None
        kern = w.value.shape[2:]
        total = [0 if pad == "valid" else d * (k - 1) for d, k in zip(dilation, kern)]
        pairs = [(t // 2, t - t // 2) for t in total]
    else:
        pairs = [(p, p) for p in ints(pad, nd)]
    attrs: dict[str, Any] = {"groups": int(c.kw.get("groups", 1)), "stride": stride,
                             "padding": pairs, "dilation": dilation}
    if transposed:
        attrs["output_padding"] = ints(c.kw.get("output_padding", 0), nd)
    else:
        attrs["padding_mode"] = "zeros"
    spec = Spec("conv_transpose" if transposed else "conv", (x.name,), attrs)
    set_param(spec, "weight", w, owner=c.id)
    if isinstance(b, Const):
        set_param(spec, "bias", b, value=b.value.reshape(-1), owner=c.id)
    return spec


def _linear(c: Call) -> Spec | None:
    kw, op = c.kw, c.op
    if op == "linear":
        x, w, b, extra = kw.get("input"), kw.get("weight"), kw.get("bias"), StorageTransform.SAME
    elif op in ("mm", "matmul", "addmm"):
        x, w, b, extra = kw.get("mat1" if op == "addmm" else "self", kw.get("input")), kw.get(
            "mat2" if op != "matmul" else "other"), kw.get("self") if op == "addmm" else None, StorageTransform.TRANSPOSE
        if op == "addmm" and (kw.get("beta", 1) != 1 or kw.get("alpha", 1) != 1):
            return None
    else:
        return None
    if not (isinstance(x, Data) and isinstance(w, Const) and w.value.ndim == 2):
        return None
    if isinstance(b, Data) or (isinstance(b, Const) and b.value.size != c.out_shapes[0][-1]):
        return None
    spec = Spec("linear", (x.name,))
    set_param(spec, "weight", w, extra, value=w.value.T if extra is StorageTransform.TRANSPOSE else None, owner=c.id)
    if isinstance(b, Const):
        set_param(spec, "bias", b, value=b.value.reshape(-1), owner=c.id)
    return spec


def _batch_norm(c: Call) -> Spec | None:
    kw = c.kw
    x = kw.get("input")
    if not isinstance(x, Data) or any(isinstance(kw.get(k), Data) for k in
                                      ("weight", "bias", "running_mean", "running_var")):
        return None
    n = int((x.shape or c.out_shapes[0])[1])
    mean, var = kw.get("running_mean"), kw.get("running_var")
    batch = bool(kw.get("training", False)) or mean is None or var is None
    spec = Spec("batch_norm", (x.name,), {"eps": float(kw.get("eps", 1e-5)), "axis": 1,
                                           "uses_batch_stats": batch})
    for pname, arg, default in (("gamma", "weight", 1.0), ("beta", "bias", 0.0),
                                ("mean", "running_mean", 0.0), ("var", "running_var", 1.0)):
        v = kw.get(arg)
        if isinstance(v, Const):
            set_param(spec, pname, v, value=v.value.reshape(-1), owner=c.id)
        else:
            spec.params[pname] = np.full(n, default)
    return spec


def _channel_vector(v: Any, shape: tuple[int, ...] | None) -> np.ndarray | None:
    """``v`` as a (C,) vector if it broadcasts per channel on axis 1, else None."""
    if shape is None or len(shape) < 2:
        return None
    arr = np.asarray(v.value if isinstance(v, Const) else v, dtype=np.float64)
    if arr.ndim > len(shape):
        return None
    full = (1,) * (len(shape) - arr.ndim) + arr.shape
    if any(s != 1 for i, s in enumerate(full) if i != 1) or full[1] not in (1, shape[1]):
        return None
    return np.broadcast_to(arr.reshape(-1), (shape[1],)).astype(np.float64)


def _elementwise(c: Call) -> Spec | None:
    a, b = c.kw.get("self", c.kw.get("input")), c.kw.get("other")
    alpha = c.kw.get("alpha", 1)
    out = c.out_shapes[0]
    if isinstance(a, Data) and isinstance(b, Data):
        if alpha != 1:
            return None
        if c.op == "mul":  # data-dependent product (gates, attention): always ``mul``
            return Spec("mul", (a.name, b.name))
        same = a.shape == b.shape == out
        if c.op == "rsub":  # rsub(a, b) = b - a
            return Spec("sub", (b.name, a.name)) if same else None
        return Spec(c.op, (a.name, b.name)) if c.op in ("add", "sub") and same else None
    x, k = (a, b) if isinstance(a, Data) else (b, a)
    if not isinstance(x, Data) or x.shape != out or k is None or alpha != 1:
        return None
    if isinstance(k, (list, tuple)):
        return None
    vec = _channel_vector(k, x.shape)
    if vec is None:
        return None
    per_channel = isinstance(k, Const) and k.value.size == vec.size and k.value.size > 1
    reverse = x is b  # constant on the left
    ones, zeros = np.ones_like(vec), np.zeros_like(vec)
    if c.op == "add":
        scale, shift, pname, extra = ones, vec, "shift", StorageTransform.SAME
    elif c.op in ("sub", "rsub"):
        if (c.op == "sub") == reverse:  # k - x
            scale, shift, pname, extra = -ones, vec, "shift", StorageTransform.SAME
        else:  # x - k
            scale, shift, pname, extra = ones, -vec, "shift", StorageTransform.NEGATE
    elif c.op == "mul":
        scale, shift, pname, extra = vec, zeros, "scale", StorageTransform.SAME
    elif c.op == "div" and not reverse and np.all(vec != 0):
        scale, shift, pname, extra = 1.0 / vec, zeros, "scale", StorageTransform.RECIPROCAL
    else:
        return None
    if not per_channel and np.all(scale == 1) and np.all(shift == 0):
        # x + 0, x * 1 ...: no arithmetic of its own. As an affine it could take a
        # BN's map, which would be a rename, not a fold (DESIGN §3.8).
        return Spec("identity", (x.name,))
    spec = Spec("affine", (x.name,), {"axis": 1, "bn_like": False},
                {"scale": scale, "shift": shift})
    if per_channel:
        set_param(spec, pname, k, extra, value=spec.params[pname], owner=c.id)
    else:  # scalar or Python number: not editable in place
        spec.keys[pname] = f"const:{c.id}.{pname}"
    return spec


BATCH_NORMS = frozenset("batch_norm native_batch_norm _native_batch_norm_legit "
                        "_native_batch_norm_legit_no_training _native_batch_norm_legit_functional "
                        "cudnn_batch_norm miopen_batch_norm".split())
#: Ops whose first output is the value and the others are side results.
MULTI_FIRST = BATCH_NORMS | {"native_dropout", "native_layer_norm", "native_group_norm",
                             "max_pool1d_with_indices", "max_pool2d_with_indices",
                             "max_pool3d_with_indices", "adaptive_max_pool2d",
                             "adaptive_max_pool1d", "adaptive_max_pool3d"}

HANDLERS: dict[str, Callable[[Call], Any]] = {
    **{k: _conv for k in ("conv1d", "conv2d", "conv3d", "convolution", "_convolution",
                          "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")},
    **{k: _linear for k in ("linear", "addmm", "mm", "matmul")},
    **{k: _batch_norm for k in BATCH_NORMS},
    **{k: _elementwise for k in ("add", "sub", "rsub", "mul", "div")},
    **LAYOUT_HANDLERS,
}


def map_op(c: Call, op_type: str, notes: list[str] | None = None) -> list[Spec]:
    """Map one call to a chain of specs (usually one); unknown ops -> ``other``.

    A handler that raises on a malformed call also gives ``other``, and a line
    saying so is appended to ``notes`` (never silent).
    """
    handler = HANDLERS.get(c.op)
    try:
        result = handler(c) if handler else None
    except (KeyError, TypeError, ValueError, IndexError) as e:
        result = None
        if notes is not None:
            notes.append(unmapped_note(c.id, op_type, e))
    if result is None:
        data = data_operands(list(c.kw.values()))
        attrs = {"op_type": op_type}
        if c.op in BATCH_NORMS:  # still a BN layer: counted, and explained (see ir.is_bn)
            computed = [k for k in ("weight", "bias", "running_mean", "running_var")
                        if isinstance(c.kw.get(k), Data)]
            attrs["bn_layer"] = "dynamic_params" if computed else "unknown_op"
            attrs["bn_why"] = (f"its {', '.join(computed)} computed at run time (not constants), "
                               "so there is no fixed map to fold" if computed
                               else "its arguments have an unsupported form")
        return [Spec("other", tuple(dict.fromkeys(d.name for d in data)), attrs)]
    return result if isinstance(result, list) else [result]

