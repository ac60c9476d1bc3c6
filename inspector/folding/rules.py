"""Exact fold rules: small pure numpy functions, float64 in and out.

Notation: a tensor transformed by ``x -> s*x + t`` (per channel k: s_k, t_k).
An *emitter* must produce ``s*y + t`` instead of ``y``; an *absorber* receives
``s*x + t`` instead of ``x`` and must compute what it computed before.
"""

from __future__ import annotations

import numpy as np

Params = dict[str, np.ndarray]


def _f64(p: Params) -> Params:
    return {k: np.asarray(v, dtype=np.float64) for k, v in p.items()}


def _bcast(v: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = -1
    return v.reshape(shape)


# -- emitters -------------------------------------------------------------
def emit_conv(p: Params, s: np.ndarray, t: np.ndarray) -> Params:
    """Conv / Linear (weight (C_out, ...)): W' = s_o W[o], b' = s_o b_o + t_o."""
    p = _f64(p)
    w = p["weight"]
    b = p.get("bias", np.zeros(w.shape[0]))
    return {**p, "weight": w * _bcast(s, w.ndim, 0), "bias": s * b + t}


emit_linear = emit_conv


def emit_conv_transpose(p: Params, s: np.ndarray, t: np.ndarray, groups: int) -> Params:
    """ConvTranspose (weight (C_in, C_out/g, *k)): output channel o of group
    gi is W[gi*C_in/g:(gi+1)*C_in/g, o - gi*C_out/g]; scale those by s_o."""
    p = _f64(p)
    w = p["weight"]
    out_ch = _conv_transpose_out_index(w.shape, groups)
    b = p.get("bias", np.zeros(len(s)))
    scale = s[out_ch].reshape(*out_ch.shape, *([1] * (w.ndim - 2)))
    return {**p, "weight": w * scale, "bias": s * b + t}


def emit_batch_norm(p: Params, s: np.ndarray, t: np.ndarray) -> Params:
    """BN into BN: s*(a x + c) + t  =>  gamma' = s*gamma, beta' = s*beta + t."""
    p = _f64(p)
    return {**p, "gamma": s * p["gamma"], "beta": s * p["beta"] + t}


def emit_affine(p: Params, s: np.ndarray, t: np.ndarray) -> Params:
    """scale' = s*scale, shift' = s*shift + t."""
    p = _f64(p)
    return {**p, "scale": s * p["scale"], "shift": s * p["shift"] + t}


# -- absorbers --------------------------------------------------------------
def absorb_conv(p: Params, s: np.ndarray, t: np.ndarray, groups: int) -> Params:
    """Conv receiving s*x + t: W'[o, j] = W[o, j] / s_k, b' = b - sum W'[o, j] t_k
    (k = input channel of W[o, j]: group(o) * C_in/g + j). Exact only without
    zero padding or with t = 0 (checked by the condition)."""
    p = _f64(p)
    w = p["weight"]
    in_ch = _conv_in_index(w.shape, groups)
    extra = [1] * (w.ndim - 2)
    w_new = w / s[in_ch].reshape(*in_ch.shape, *extra)
    b = p.get("bias", np.zeros(w.shape[0]))
    spatial = tuple(range(2, w.ndim))
    b_new = b - (w_new.sum(axis=spatial) * t[in_ch]).sum(axis=1)
    return {**p, "weight": w_new, "bias": b_new}


def absorb_linear(p: Params, s: np.ndarray, t: np.ndarray) -> Params:
    """Linear receiving s*x + t: W' = W / s (per input feature), b' = b - W' t."""
    p = _f64(p)
    w = p["weight"]
    w_new = w / s[None, :]
    b = p.get("bias", np.zeros(w.shape[0]))
    return {**p, "weight": w_new, "bias": b - w_new @ t}


def absorb_conv_transpose(p: Params, s: np.ndarray, t: np.ndarray) -> Params:
    """ConvTranspose receiving s*x (t = 0, checked): W'[i] = W[i] / s_i."""
    p = _f64(p)
    w = p["weight"]
    return {**p, "weight": w / _bcast(s, w.ndim, 0)}


def absorb_batch_norm(p: Params, s: np.ndarray, t: np.ndarray) -> Params:
    """BN receiving x' = s*x + t: gamma' = gamma/s, mean' = s*mean + t, since
    gamma/s * (x' - mean') / sigma = gamma * (x - mean) / sigma."""
    p = _f64(p)
    return {**p, "gamma": p["gamma"] / s, "mean": s * p["mean"] + t}


def absorb_affine(p: Params, s: np.ndarray, t: np.ndarray) -> Params:
    """scale*(x' - t)/s + shift: scale' = scale/s, shift' = shift - scale*t/s."""
    p = _f64(p)
    return {**p, "scale": p["scale"] / s, "shift": p["shift"] - p["scale"] * t / s}


# -- channel bookkeeping for grouped convolutions ----------------------------
def _conv_in_index(shape: tuple[int, ...], groups: int) -> np.ndarray:
    """in_ch[o, j]: the input channel multiplied by W[o, j] (W: (C_out, C_in/g, ...))."""
    c_out, c_in_g = shape[0], shape[1]
    group = np.arange(c_out) // (c_out // groups)
    return group[:, None] * c_in_g + np.arange(c_in_g)[None, :]


def _conv_transpose_out_index(shape: tuple[int, ...], groups: int) -> np.ndarray:
    """out_ch[i, j]: the output channel fed by W[i, j] (W: (C_in, C_out/g, ...))."""
    c_in, c_out_g = shape[0], shape[1]
    group = np.arange(c_in) // (c_in // groups)
    return group[:, None] * c_out_g + np.arange(c_out_g)[None, :]
