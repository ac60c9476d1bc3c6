"""Float64 NumPy kernels for the IR ops (used by :mod:`.numpy_exec`).

Every kernel follows the layout conventions of :mod:`inspector.ir`: channels
first after the batch axis for conv/pool (NC...), features on the last axis for
linear, spatial padding as ``[(begin, end), ...]`` per spatial dim.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..ir import as_pairs, as_tuple

_PAD_MODES = {"zeros": "constant", "constant": "constant", "reflect": "reflect",
              "replicate": "edge", "edge": "edge", "circular": "wrap", "wrap": "wrap"}
_LETTERS_OUT = "uvw"
_LETTERS_K = "ijk"


def pad_array(x: np.ndarray, pairs: Sequence[tuple[int, int]], mode: str,
              value: float = 0.0) -> np.ndarray:
    """Pad (or crop, for negative amounts) ``x``; ``pairs`` cover its last axes."""
    pairs = [(0, 0)] * (x.ndim - len(pairs)) + [tuple(p) for p in pairs]
    crop = tuple(slice(-min(b, 0) or None, (min(e, 0) or None)) for b, e in pairs)
    x = x[crop]
    grow = [(max(b, 0), max(e, 0)) for b, e in pairs]
    if not any(b or e for b, e in grow):
        return x
    np_mode = _PAD_MODES.get(mode)
    if np_mode is None:
        raise NotImplementedError(f"padding mode {mode!r}")
    if np_mode == "constant":
        return np.pad(x, grow, mode="constant", constant_values=value)
    return np.pad(x, grow, mode=np_mode)


def _windows(x: np.ndarray, kernel: Sequence[int], stride: Sequence[int],
             dilation: Sequence[int]) -> np.ndarray:
    """View (N, C, *out, *k) of the windows over the last len(kernel) axes."""
    nsp = len(kernel)
    axes = tuple(range(x.ndim - nsp, x.ndim))
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    win = sliding_window_view(x, span, axis=axes)  # (*lead, *out_full, *span)
    index = (slice(None),) * (x.ndim - nsp) \
        + tuple(slice(None, None, s) for s in stride) \
        + tuple(slice(None, None, d) for d in dilation)
    return win[index]


# -- linear layers -------------------------------------------------------------
def conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None, *,
         stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1,
         padding_mode: str = "zeros") -> np.ndarray:
    """N-d cross-correlation, weight (C_out, C_in/groups, *k), input (N, C_in, *S)."""
    nsp = weight.ndim - 2
    if nsp > len(_LETTERS_OUT):
        raise NotImplementedError(f"conv with {nsp} spatial dims")
    stride, dilation = as_tuple(stride, nsp, 1), as_tuple(dilation, nsp, 1)
    x = pad_array(x, as_pairs(padding, nsp), padding_mode)
    n, c_in = x.shape[:2]
    c_out = weight.shape[0]
    g = int(groups)
    if g == c_in == c_out:  # depthwise: a weighted sum of shifted copies is much faster
        y = _depthwise(x, weight, stride, dilation)
        return y if bias is None else y + bias.reshape(-1, *([1] * nsp))
    win = _windows(x, weight.shape[2:], stride, dilation)  # (N, C_in, *out, *k)
    win = win.reshape(n, g, c_in // g, *win.shape[2:])
    w = weight.reshape(g, c_out // g, c_in // g, *weight.shape[2:])
    o, k = _LETTERS_OUT[:nsp], _LETTERS_K[:nsp]
    y = np.einsum(f"ngc{o}{k},gdc{k}->ngd{o}", win, w, optimize=True)
    y = y.reshape(n, c_out, *y.shape[3:])
    if bias is not None:
        y = y + bias.reshape(-1, *([1] * nsp))
    return y


def _depthwise(x: np.ndarray, weight: np.ndarray, stride: Sequence[int],
               dilation: Sequence[int]) -> np.ndarray:
    """Depthwise conv (one filter per channel) of an already padded input."""
    kernel = weight.shape[2:]
    out = [(size - d * (k - 1) - 1) // s + 1
           for size, k, s, d in zip(x.shape[2:], kernel, stride, dilation)]
    y = np.zeros((*x.shape[:2], *out))
    for offs in np.ndindex(*kernel):
        window = tuple(slice(o * d, o * d + s * (m - 1) + 1, s)
                       for o, d, s, m in zip(offs, dilation, stride, out))
        w = weight[(slice(None), 0, *offs)].reshape(-1, *([1] * len(kernel)))
        y += x[(slice(None), slice(None), *window)] * w
    return y


def conv_transpose(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None, *,
                   stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                   dilation: Any = 1, groups: int = 1) -> np.ndarray:
    """Transposed conv, weight (C_in, C_out/groups, *k) (PyTorch semantics).

    Computed as a stride-1 conv of the stride-dilated input with the flipped,
    in/out-swapped kernel, then cropped by ``padding`` and extended at the end
    by ``output_padding``.
    """
    nsp = weight.ndim - 2
    stride, dilation = as_tuple(stride, nsp, 1), as_tuple(dilation, nsp, 1)
    out_pad = as_tuple(output_padding, nsp, 0)
    pads = as_pairs(padding, nsp)
    g = int(groups)
    c_in, c_out_g = weight.shape[:2]
    kernel = weight.shape[2:]
    n = x.shape[0]
    # insert (stride - 1) zeros between input samples
    up_shape = [(s_in - 1) * s + 1 for s_in, s in zip(x.shape[2:], stride)]
    up = np.zeros((n, c_in, *up_shape), dtype=np.float64)
    up[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)] = x
    # kernel: (g, Cin_g, Cout_g, *k) -> (g, Cout_g, Cin_g, *k), spatially flipped
    w = weight.reshape(g, c_in // g, c_out_g, *kernel).swapaxes(1, 2)
    w = w[(Ellipsis,) + (slice(None, None, -1),) * nsp]
    w = w.reshape(g * c_out_g, c_in // g, *kernel)
    full_pad = [(d * (k - 1), d * (k - 1)) for k, d in zip(kernel, dilation)]
    y = conv(up, w, None, stride=1, padding=full_pad, dilation=dilation, groups=g)
    crop = [(-b, op - e) for (b, e), op in zip(pads, out_pad)]
    y = pad_array(y, crop, "constant")
    if bias is not None:
        y = y + bias.reshape(-1, *([1] * nsp))
    return y


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    y = x @ weight.T
    return y if bias is None else y + bias


def channel_affine(x: np.ndarray, scale: np.ndarray | None, shift: np.ndarray | None,
                   axis: int) -> np.ndarray:
    """``scale * x + shift`` with the vectors broadcast along ``axis``."""
    shape = [1] * x.ndim
    shape[axis] = -1
    if scale is not None:
        x = x * np.asarray(scale, np.float64).reshape(shape)
    if shift is not None:
        x = x + np.asarray(shift, np.float64).reshape(shape)
    return x


def batch_norm(x: np.ndarray, params: dict[str, np.ndarray], axis: int, eps: float,
               batch_stats: bool) -> np.ndarray:
    """Inference BN (running stats) or, with ``batch_stats``, training-mode BN."""
    c = x.shape[axis]
    gamma = params.get("gamma", np.ones(c))
    beta = params.get("beta", np.zeros(c))
    if batch_stats:
        red = tuple(i for i in range(x.ndim) if i != axis)
        mean = x.mean(axis=red)
        var = x.var(axis=red)
    else:
        mean, var = params["mean"], params["var"]
    a = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(var, np.float64) + eps)
    return channel_affine(x, a, np.asarray(beta, np.float64) - a * mean, axis)


# -- pooling / resampling ------------------------------------------------------
def pool(x: np.ndarray, kind: str, attrs: dict[str, Any]) -> np.ndarray:
    """Max or average pooling over the trailing spatial axes (torch semantics)."""
    if attrs.get("global_pool"):
        axes = tuple(range(2, x.ndim))
        return x.max(axis=axes, keepdims=True) if kind == "max" else \
            x.mean(axis=axes, keepdims=True)
    kernel_attr = attrs["kernel"]
    nsp = x.ndim - 2 if isinstance(kernel_attr, (int, np.integer)) else len(kernel_attr)
    kernel = as_tuple(kernel_attr, nsp, 1)
    stride = as_tuple(attrs.get("stride") or kernel, nsp, 1)
    dilation = as_tuple(attrs.get("dilation"), nsp, 1)
    pads = as_pairs(attrs.get("padding"), nsp)
    extra = []  # ceil_mode: room for a last partial window
    for size, k, s, d, (b, e) in zip(x.shape[-nsp:], kernel, stride, dilation, pads):
        span = d * (k - 1) + 1
        n_out = (size + b + e - span) // s + 1
        if attrs.get("ceil_mode"):
            n_out = -(-(size + b + e - span) // s) + 1
            if (n_out - 1) * s >= size + b:
                n_out -= 1
        extra.append(max(0, (n_out - 1) * s + span - (size + b + e)))
    full = [(b, e + ex) for (b, e), ex in zip(pads, extra)]
    if kind == "max":
        xp = pad_array(x, full, "constant", -np.inf)
        win = _windows(xp, kernel, stride, dilation)
        return win.max(axis=tuple(range(-nsp, 0)))
    xp = pad_array(x, full, "constant", 0.0)
    total = _windows(xp, kernel, stride, dilation).sum(axis=tuple(range(-nsp, 0)))
    # divisor: the window positions that hold input (plus declared padding)
    mask = np.ones(x.shape[-nsp:])
    if attrs.get("count_include_pad", True):
        mask = pad_array(mask, pads, "constant", 1.0)
        mask = pad_array(mask, [(0, ex) for ex in extra], "constant", 0.0)
    else:
        mask = pad_array(mask, full, "constant", 0.0)
    count = _windows(mask[None, None], kernel, stride, dilation).sum(axis=tuple(range(-nsp, 0)))
    return total / count[0, 0]


def resize(x: np.ndarray, out_shape: Sequence[int], mode: str = "nearest",
           align_corners: bool = False) -> np.ndarray:
    """Nearest (integer factors) or linear resize of every axis whose size changes."""
    for axis, (n_in, n_out) in enumerate(zip(x.shape, out_shape)):
        if n_in == n_out:
            continue
        if mode == "nearest":
            if n_out % n_in:
                raise NotImplementedError("nearest resize needs integer scale factors")
            x = np.repeat(x, n_out // n_in, axis=axis)
        elif mode in ("linear", "bilinear", "trilinear"):
            x = _linear_1d(x, axis, n_out, align_corners)
        else:
            raise NotImplementedError(f"resize mode {mode!r}")
    return x


def _linear_1d(x: np.ndarray, axis: int, n_out: int, align_corners: bool) -> np.ndarray:
    n_in = x.shape[axis]
    o = np.arange(n_out, dtype=np.float64)
    if align_corners:
        src = o * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(1)
    else:
        src = np.maximum((o + 0.5) * (n_in / n_out) - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w = (src - i0).reshape([-1 if i == axis else 1 for i in range(x.ndim)])
    return np.take(x, i0, axis=axis) * (1 - w) + np.take(x, i1, axis=axis) * w


# -- non-linearities and normalisations ------------------------------------------
_erf = np.frompyfunc(math.erf, 1, 1)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


_ELEMENTWISE = {"log": np.log, "exp": np.exp, "sqrt": np.sqrt, "abs": np.abs,
                "reciprocal": lambda x: 1.0 / x, "sign": np.sign}


def activation(x: np.ndarray, kind: str, attrs: dict[str, Any]) -> np.ndarray:
    k = kind.lower()
    if k == "relu":
        return np.maximum(x, 0.0)
    if k == "sigmoid":
        return _sigmoid(x)
    if k == "tanh":
        return np.tanh(x)
    if k in ("silu", "swish"):
        return x * _sigmoid(x)
    if k == "gelu":
        return _gelu(x, str(attrs.get("approximate", "none")))
    if k == "relu6":
        return np.clip(x, 0.0, 6.0)
    if k == "leaky_relu":
        slope = float(attrs.get("negative_slope", attrs.get("alpha", 0.01)))
        return np.where(x >= 0, x, slope * x)
    if k == "hardswish":
        return x * np.clip(x + 3.0, 0.0, 6.0) / 6.0
    if k == "hardsigmoid":
        return np.clip(x / 6.0 + 0.5, 0.0, 1.0)
    if k in _ELEMENTWISE:  # NaN/Inf outside the domain, as in the frameworks
        with np.errstate(all="ignore"):
            return _ELEMENTWISE[k](x)
    raise NotImplementedError(f"activation kind {kind!r}")


def norm(x: np.ndarray, kind: str, attrs: dict[str, Any],
         params: dict[str, np.ndarray]) -> np.ndarray:
    if kind != "layer_norm":
        raise NotImplementedError(f"norm kind {kind!r}")
    n_axes = len(attrs.get("normalized_shape") or (0,))
    axes = tuple(range(x.ndim - n_axes, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + float(attrs.get("eps", 1e-5)))
    if "weight" in params:
        y = y * params["weight"]
    if "bias" in params:
        y = y + params["bias"]
    return y
