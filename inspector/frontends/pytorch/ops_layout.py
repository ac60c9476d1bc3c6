"""Handlers for layout, pooling, activation and normalisation ops.

Each handler takes a :class:`Call` and returns a :class:`Spec` (or a short
chain of specs) or None when the op cannot be mapped exactly (-> ``other``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .optypes import Call, Data, Spec, data_operands, first_data, ints, norm_axis


def _concat(c: Call) -> Spec | None:
    ts = c.kw.get("tensors")
    if not ts or not all(isinstance(t, Data) for t in ts):
        return None
    rank = len(c.out_shapes[0]) if c.out_shapes[0] is not None else len(ts[0].shape or ())
    return Spec("concat", tuple(t.name for t in ts), {"axis": norm_axis(int(c.kw.get("dim", 0)), rank)})


def _split(c: Call) -> Spec | None:
    x = first_data(c)
    if x is None or x.shape is None or any(s is None for s in c.out_shapes):
        return None
    axis = norm_axis(int(c.kw.get("dim", 0)), len(x.shape))
    return Spec("split", (x.name,), {"axis": axis, "sizes": [int(s[axis]) for s in c.out_shapes]})


def _slice(c: Call) -> Spec | None:
    x = first_data(c)
    if x is None or x.shape is None:
        return None
    axis = norm_axis(int(c.kw.get("dim", 0)), len(x.shape))
    if c.op == "narrow":
        start = int(c.kw["start"])
        start, end, step = start, start + int(c.kw["length"]), 1
    else:
        start, end, step = c.kw.get("start"), c.kw.get("end"), c.kw.get("step", 1)
    start, end, step = slice(start, end, step).indices(x.shape[axis])
    return Spec("slice", (x.name,), {"axis": axis, "start": start, "end": end, "step": step})


def _pool(c: Call) -> Spec | list[Spec] | None:
    x = first_data(c)
    if x is None or x.shape is None:
        return None
    spatial = list(x.shape[2:])
    op = "pool_max" if "max" in c.op else "pool_avg"
    glob = {"kernel": spatial, "stride": spatial, "padding": [(0, 0)] * len(spatial),
            "count_include_pad": False, "global_pool": True}
    if c.op == "mean":
        dims = sorted(norm_axis(d, len(x.shape)) for d in (c.kw.get("dim") or []))
        if dims != list(range(2, len(x.shape))) or not spatial or c.kw.get("dtype") is not None:
            return None
        keep = (*x.shape[:2], *([1] * len(spatial)))
        pool = Spec("pool_avg", (x.name,), glob, out_shape=keep)
        return pool if c.kw.get("keepdim") else [pool, Spec("reshape", ())]
    if c.op.startswith("adaptive") or c.op == "_adaptive_avg_pool2d":
        size = c.kw.get("output_size")
        return Spec(op, (x.name,), glob) if all(s == 1 for s in ints(size, len(spatial))) else None
    nd = len(spatial)
    kernel = ints(c.kw.get("kernel_size"), nd)
    stride = ints(c.kw.get("stride") or kernel, nd)
    if c.kw.get("divisor_override") is not None:
        return None
    attrs = {"kernel": kernel, "stride": stride,
             "padding": [(p, p) for p in ints(c.kw.get("padding", 0), nd)],
             "count_include_pad": bool(c.kw.get("count_include_pad", True)) and op == "pool_avg",
             "global_pool": False, "ceil_mode": bool(c.kw.get("ceil_mode", False))}
    if op == "pool_max":
        attrs["dilation"] = ints(c.kw.get("dilation", 1), nd)
    return Spec(op, (x.name,), attrs)


def _transpose(c: Call) -> Spec | None:
    x = first_data(c)
    if x is None or x.shape is None:
        return None
    rank = len(x.shape)
    perm = list(range(rank))
    if c.op in ("permute", "permute_copy"):
        perm = [norm_axis(int(d), rank) for d in c.kw["dims"]]
    elif c.op in ("t", "numpy_T", "t_copy"):
        perm = perm[::-1]
    elif c.op == "movedim":
        src, dst = c.kw["source"], c.kw["destination"]
        src, dst = ([src], [dst]) if isinstance(src, int) else (src, dst)
        perm = list(np.moveaxis(np.arange(rank), src, dst))
    else:
        a, b = (norm_axis(int(c.kw[k]), rank) for k in (("dim0", "dim1") if "dim0" in c.kw
                                                     else ("axis0", "axis1")))
        perm[a], perm[b] = perm[b], perm[a]
    return Spec("transpose", (x.name,), {"perm": [int(p) for p in perm]})


_PAD_MODES = {"reflection": "reflect", "replication": "replicate", "_pad_circular": "circular",
              "circular": "circular"}


def _pad(c: Call) -> Spec | None:
    x = first_data(c)
    if x is None or x.shape is None:
        return None
    flat = [int(p) for p in (c.kw.get("pad") or c.kw.get("padding"))]
    mode = c.kw.get("mode") or next((m for k, m in _PAD_MODES.items() if c.op.startswith(k)),
                                    "constant")
    rank = len(x.shape)
    pairs = [(0, 0)] * rank
    for i in range(len(flat) // 2):
        pairs[rank - 1 - i] = (flat[2 * i], flat[2 * i + 1])
    value = c.kw.get("value")
    return Spec("pad", (x.name,), {"mode": mode, "pads": pairs,
                                    "value": float(value) if value is not None else 0.0})


def _resize(c: Call) -> Spec | None:
    x = first_data(c)
    kind = str(c.kw.get("mode", "")) if c.op in ("interpolate", "upsample") else c.op
    if x is None or "area" in kind or not kind:
        return None
    mode = "nearest" if "nearest" in kind else "cubic" if "cubic" in kind else "linear"
    attrs = {"mode": mode, "op_type": c.op}
    if "align_corners" in c.kw:
        attrs["align_corners"] = bool(c.kw["align_corners"])
    return Spec("resize", (x.name,), attrs)


def first_op(op: str, **attrs: Any) -> Callable[[Call], Spec | None]:
    def handler(c: Call) -> Spec | None:
        data = data_operands(list(c.kw.values()))
        return Spec(op, (data[0].name,), dict(attrs)) if data else None
    return handler


def _identity(c: Call) -> Spec | None:
    if c.kw.get("train") or c.kw.get("training"):
        return None  # dropout that stays active at inference
    return first_op("identity")(c)


def _activation(c: Call) -> Spec | None:
    data = data_operands(list(c.kw.values()))
    kind = c.op.lstrip("_")
    return Spec("activation", (data[0].name,), {"kind": kind}) if data else None


def _norm(c: Call) -> Spec | None:
    data = data_operands(list(c.kw.values()))
    kind = c.op.replace("native_", "").lstrip("_").replace("fused_", "")
    return Spec("norm", (data[0].name,), {"kind": kind}) if data else None


def _cast(c: Call) -> Spec | None:
    data = data_operands(list(c.kw.values()))
    if not data or (c.out_dtypes and c.out_dtypes[0] != data[0].dtype):
        return None
    return Spec("identity", (data[0].name,))


ACTIVATIONS = frozenset(
    "relu relu6 hardtanh silu gelu sigmoid tanh hardswish hardsigmoid leaky_relu elu selu "
    "celu softmax _softmax log_softmax _log_softmax clamp clamp_min clamp_max clip mish "
    "softplus softsign prelu _prelu_kernel rrelu threshold glu logsigmoid tanhshrink "
    "hardshrink softshrink sign abs".split())
NORMS = frozenset("layer_norm native_layer_norm group_norm native_group_norm instance_norm "
                  "rms_norm _fused_rms_norm local_response_norm".split())
IDENTITIES = frozenset("dropout feature_dropout alpha_dropout feature_alpha_dropout "
                       "native_dropout clone contiguous alias detach lift_fresh_copy "
                       "identity".split())
RESHAPES = frozenset("view reshape _unsafe_view flatten unflatten squeeze unsqueeze view_copy "
                     "squeeze_copy unsqueeze_copy _reshape_alias reshape_as view_as".split())
CASTS = frozenset("to _to_copy type_as type float".split())

LAYOUT_HANDLERS: dict[str, Callable[[Call], Any]] = {
    **{k: _concat for k in ("cat", "concat", "concatenate")},
    **{k: _split for k in ("split", "split_with_sizes", "chunk", "unsafe_split",
                           "unsafe_split_with_sizes", "unsafe_chunk")},
    **{k: _slice for k in ("slice", "narrow")},
    **{k: _pool for k in ("max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
                          "max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool1d",
                          "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
                          "adaptive_avg_pool2d", "adaptive_avg_pool3d", "_adaptive_avg_pool2d",
                          "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
                          "mean")},
    **{k: _transpose for k in ("permute", "transpose", "t", "swapaxes", "swapdims", "movedim",
                               "numpy_T", "permute_copy", "transpose_copy", "t_copy")},
    **{k: _pad for k in ("pad", "constant_pad_nd", "reflection_pad1d", "reflection_pad2d",
                         "reflection_pad3d", "replication_pad1d", "replication_pad2d",
                         "replication_pad3d", "_pad_circular")},
    **{k: _resize for k in ("upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d",
                            "_upsample_nearest_exact1d", "_upsample_nearest_exact2d",
                            "_upsample_nearest_exact3d", "upsample_linear1d",
                            "upsample_bilinear2d", "upsample_trilinear3d", "upsample_bicubic2d",
                            "_upsample_bilinear2d_aa", "_upsample_bicubic2d_aa", "interpolate",
                            "upsample")},
    **{k: _activation for k in ACTIVATIONS},
    **{k: _norm for k in NORMS},
    **{k: _identity for k in IDENTITIES},
    **{k: first_op("reshape") for k in RESHAPES},
    **{k: _cast for k in CASTS},
}
