"""ONNX op -> IR translation, part 2: structural ops (Concat, Split, Slice, Pad,
pooling, ReduceMean, Transpose, Resize, Dropout).

Rules accept both the attribute form (older opsets) and the input form (newer
opsets) of Split sizes, Slice bounds, Pad pads and ReduceMean axes.
"""

from __future__ import annotations

import numpy as np

from .optypes import OpView, Translation, ints, resolve_pads


def _axis(v: OpView, default: int = 0, rank: int | None = None) -> int | None:
    axis = int(v.attr("axis", default))
    rank = rank if rank is not None else len(v.out_shape() or ())
    return axis + rank if axis < 0 and rank else (axis if axis >= 0 else None)


def concat_rule(v: OpView) -> Translation | None:
    axis = _axis(v)
    if axis is None or not all(v.is_data(i) for i in range(len(v.node.input))):
        return None
    return Translation("concat", {"axis": axis})


def split_rule(v: OpView) -> Translation | None:
    axis = _axis(v, 0, len(v.shape() or ()))
    outs = [v.out_shape(i) for i in range(len(v.node.output))]
    if axis is None:
        return None
    if all(s is not None for s in outs):
        sizes = [s[axis] for s in outs]
    elif v.attr("split") is not None:
        sizes = list(ints(v.attr("split")))
    elif v.has(1) and v.const(1) is not None:
        sizes = list(ints(v.const(1)))
    elif v.shape() is not None and v.shape()[axis] % len(outs) == 0:
        sizes = [v.shape()[axis] // len(outs)] * len(outs)
    else:
        return None
    return Translation("split", {"axis": axis, "sizes": sizes})


def slice_rule(v: OpView) -> Translation | None:
    shape = v.shape()
    if shape is None:
        return None
    if v.opset < 10:
        starts, ends = ints(v.attr("starts")), ints(v.attr("ends"))
        axes, steps = v.attr("axes"), None
    else:
        if v.const(1) is None or v.const(2) is None:
            return None
        starts, ends = ints(v.const(1)), ints(v.const(2))
        axes = v.const(3) if v.has(3) else None
        steps = v.const(4) if v.has(4) else None
    axes = ints(axes) if axes is not None else tuple(range(len(starts)))
    steps = ints(steps) if steps is not None else (1,) * len(starts)
    cut = []
    for ax, s, e, st in zip(axes, starts, ends, steps):
        ax, d = ax % len(shape), shape[ax % len(shape)]
        if st == 0:
            return None
        # ONNX clamping: starts to [0, d] (step > 0) or [0, d-1] (step < 0), ends to
        # [0, d] or [-1, d-1]; an end of -1 with a negative step means "past index 0",
        # which a Python slice spells None (-1 would mean the last element).
        s, e = s + d if s < 0 else s, e + d if e < 0 else e
        if st > 0:
            s, e = min(max(s, 0), d), min(max(e, 0), d)
        else:
            s, e = min(max(s, 0), d - 1), min(max(e, -1), d - 1)
        if (s, e, st) != (0, d, 1):
            cut.append({"axis": ax, "start": s, "end": None if e < 0 else e, "step": st})
    if not cut:
        return Translation("identity")
    return Translation("slice", cut[0]) if len(cut) == 1 else None


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


def pad_rule(v: OpView) -> Translation | None:
    mode = _PAD_MODES.get(v.attr("mode", "constant"))
    rank = len(v.shape() or ())
    pads = v.attr("pads") if v.opset < 11 else v.const(1)
    if mode is None or pads is None or not rank:
        return None
    pads = ints(pads)
    axes = ints(v.const(3)) if v.has(3) and v.const(3) is not None else tuple(range(len(pads) // 2))
    per_axis = [(0, 0)] * rank
    for j, ax in enumerate(axes):
        per_axis[ax % rank] = (pads[j], pads[j + len(axes)])
    value = v.attr("value", 0.0) if v.opset < 11 else (v.const(2) if v.has(2) else 0.0)
    value = float(np.asarray(value).reshape(-1)[0]) if np.size(value) else 0.0
    return Translation("pad", {"mode": mode, "pads": per_axis, "value": value})


def pool_rule(v: OpView) -> Translation | None:
    op, shape = v.node.op_type, v.shape()
    is_max = "Max" in op
    kind = "pool_max" if is_max else "pool_avg"
    if is_max and len(v.node.output) > 1 and v.node.output[1]:
        return None
    if op.startswith("Global"):
        if shape is None:
            return None
        n = len(shape) - 2
        return Translation(kind, {"kernel": tuple(shape[2:]), "stride": (1,) * n,
                                  "padding": [(0, 0)] * n, "dilation": (1,) * n,
                                  "count_include_pad": False, "global_pool": True})
    kernel = ints(v.attr("kernel_shape", []))
    n = len(kernel)
    stride, dil = ints(v.attr("strides", [1] * n)), ints(v.attr("dilations", [1] * n))
    pads = resolve_pads(v, kernel, stride, dil)
    if pads is None:
        return None
    return Translation(kind, {"kernel": kernel, "stride": stride, "padding": pads, "dilation": dil,
                              "ceil_mode": bool(v.attr("ceil_mode", 0)),
                              "count_include_pad": bool(v.attr("count_include_pad", 0)),
                              "global_pool": False})


def reduce_mean_rule(v: OpView) -> Translation | None:
    shape = v.shape()
    axes = v.attr("axes") if v.opset < 18 else (v.const(1) if v.has(1) else None)
    # keepdims=0 (torch's `x.flatten(2).mean(-1)` before a classifier) is a global pool
    # that drops the pooled axes: the executor reshapes to the recorded output shape.
    if shape is None or axes is None or (not v.attr("keepdims", 1) and v.out_shape() is None):
        return None
    if sorted(a % len(shape) for a in ints(axes)) != list(range(2, len(shape))) or len(shape) < 3:
        return None
    n = len(shape) - 2
    return Translation("pool_avg", {"kernel": tuple(shape[2:]), "stride": (1,) * n,
                                    "padding": [(0, 0)] * n, "dilation": (1,) * n,
                                    "count_include_pad": False, "global_pool": True})


def transpose_rule(v: OpView) -> Translation | None:
    perm = v.attr("perm")
    if perm is None:
        shape = v.shape()
        if shape is None:
            return None
        perm = list(reversed(range(len(shape))))
    return Translation("transpose", {"perm": ints(perm)})


def resize_rule(v: OpView) -> Translation | None:
    """Resize/Upsample keeping N and C. Interpolation commutes with a per-channel map
    (weights sum to 1: checked numerically for every mode), but ``tf_crop_and_resize``
    samples outside the input get ``extrapolation_value``: record whether any does."""
    mode = {"nearest": "nearest", "linear": "linear", "bilinear": "linear",
            "cubic": "cubic"}.get(v.attr("mode", "nearest"))
    shape, out = v.shape(), v.out_shape()
    if mode is None or shape is None or out is None or shape[:2] != out[:2]:
        return None
    coord = v.attr("coordinate_transformation_mode", "half_pixel")
    attrs = {"mode": mode, "coordinate_mode": coord}
    if v.node.op_type == "Resize" and coord == "tf_crop_and_resize":
        roi = v.const(1) if v.opset >= 11 else None
        if roi is None:
            return None
        extrapolates = _roi_extrapolates(roi, shape, out, v.attr("axes"))
        if extrapolates is None:
            return None
        attrs["extrapolates"] = extrapolates
        attrs["extrapolation_value"] = float(v.attr("extrapolation_value", 0.0))
    return Translation("resize", attrs)


def _roi_extrapolates(roi: np.ndarray, shape, out, axes) -> bool | None:
    """Whether a tf_crop_and_resize ROI samples outside the input (None: it
    resamples N or C, which no per-channel rule covers)."""
    rank = len(shape)
    axes = [a % rank for a in ints(axes)] if axes is not None else list(range(rank))
    roi = np.asarray(roi, dtype=np.float64).reshape(-1)
    if roi.size != 2 * len(axes):
        return None
    outside = False
    for j, ax in enumerate(axes):
        lo, hi, n_in, n_out = roi[j], roi[j + len(axes)], shape[ax], out[ax]
        if n_out > 1:
            coords = lo * (n_in - 1) + np.arange(n_out) * (hi - lo) * (n_in - 1) / (n_out - 1)
        else:
            coords = np.array([0.5 * (lo + hi) * (n_in - 1)])
        if ax < 2 and not np.allclose(coords, np.arange(n_in), rtol=0, atol=1e-9):
            return None
        outside |= bool(np.any(coords < -1e-9) or np.any(coords > n_in - 1 + 1e-9))
    return outside


def dropout_rule(v: OpView) -> Translation | None:
    training = v.const(2) if v.has(2) else None
    if (len(v.node.output) > 1 and v.node.output[1]) or (training is not None and training.any()):
        return None
    return Translation("identity")
