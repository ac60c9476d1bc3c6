"""Exact merge rules for linear regions (DESIGN §3.7): small pure numpy functions.

A linear map from a tensor x is held as a convolution ``(W, b, g)``: weight
``W`` of shape ``(C_out, C_in/g, *k)``, bias ``b`` of shape ``(C_out,)`` and
``g`` groups, all float64. Geometry (stride, dilation, padding) is the
caller's business: these functions only combine kernels that read the same
tap grid. A grouped conv is also a conv with any ``g'`` dividing ``g``
(block-diagonal expansion), which is how kernels of different groupings meet.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import gcd

import numpy as np

Kernel = tuple[np.ndarray, np.ndarray, int]  # (W, b, groups)


def _f64(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def identity_kernel(channels: int, groups: int, spatial: int) -> np.ndarray:
    """Identity as a centre tap of a ``1×…×1`` kernel with ``groups`` groups:
    ``W[o, o mod (C/g)] = 1`` (so ``W ⊛ x = x`` for any grouping dividing C)."""
    per = channels // groups
    w = np.zeros((channels, per) + (1,) * spatial)
    w[np.arange(channels), np.arange(channels) % per] = 1.0
    return w


def avg_pool_kernel(channels: int, kernel: Sequence[int]) -> np.ndarray:
    """Average pooling with counted zero padding as depthwise taps:
    ``W[c, 0] = 1 / (k_h·k_w·…)`` with ``groups = C`` (padding and stride are the pool's)."""
    return np.full((channels, 1, *kernel), 1.0 / float(np.prod(kernel)))


def pad_kernel(w: np.ndarray, before: Sequence[int], after: Sequence[int]) -> np.ndarray:
    """Zero taps added around the kernel, per spatial axis: ``W'[..., before+i] = W[..., i]``.

    With ``before == after`` this is the centred padding of a small kernel to a
    larger one (1×1 → 3×3 adds one zero tap on each side)."""
    w = _f64(w)
    return np.pad(w, [(0, 0), (0, 0), *zip(before, after)])


def scale_shift(w: np.ndarray, b: np.ndarray, a: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A per-channel affine map after a conv: ``a·(W ⊛ x + b) + c``, i.e.
    ``W[o] ← a_o W[o]``, ``b_o ← a_o b_o + c_o``."""
    w, a = _f64(w), _f64(a)
    return w * a.reshape((-1,) + (1,) * (w.ndim - 1)), a * _f64(b) + _f64(c)


def expand_groups(w: np.ndarray, groups: int, new_groups: int) -> np.ndarray:
    """The same conv written with ``new_groups`` groups (``new_groups`` divides ``groups``):
    old group G lands on the diagonal block ``G mod (groups/new_groups)`` of new group
    ``G // (groups/new_groups)``; every other tap is zero."""
    w = _f64(w)
    if new_groups == groups:
        return w
    if groups % new_groups:
        raise ValueError(f"{new_groups} groups do not divide {groups}")
    c_out, ci_g = w.shape[0], w.shape[1]
    co_g, ratio = c_out // groups, groups // new_groups
    out = np.zeros((c_out, ci_g * ratio, *w.shape[2:]))
    for g in range(groups):
        local = g % ratio
        out[g * co_g:(g + 1) * co_g, local * ci_g:(local + 1) * ci_g] = w[g * co_g:(g + 1) * co_g]
    return out


def add_parallel(k1: Kernel, k2: Kernel) -> Kernel:
    """Sum of two branches reading the same tap grid (kernels already padded to one
    shape): ``W = W1 + W2``, ``b = b1 + b2``, with ``gcd(g1, g2)`` groups (a grouped and
    a dense kernel merge as dense)."""
    (w1, b1, g1), (w2, b2, g2) = k1, k2
    g = gcd(g1, g2)
    return expand_groups(w1, g1, g) + expand_groups(w2, g2, g), _f64(b1) + _f64(b2), g


def _blocks(w: np.ndarray, groups: int) -> np.ndarray:
    """``(C_out, C_in/g, *k)`` → ``(g, C_out/g, C_in/g, *k)``."""
    return w.reshape(groups, w.shape[0] // groups, *w.shape[1:])


def then_pointwise(first: Kernel, second: Kernel) -> Kernel:
    """A k×k conv followed by a 1×1 conv (stride 1, no padding): always exact.

    ``W[o, i] = Σ_m W2[o, m] · W1[m, i]`` (matrix product on channels, per tap),
    ``b = W2 · b1 + b2``; both are first written with ``gcd(g1, g2)`` groups."""
    (w1, b1, g1), (w2, b2, g2) = first, second
    g = gcd(g1, g2)
    w1, w2 = expand_groups(w1, g1, g), expand_groups(w2, g2, g)
    m2 = _blocks(w2.reshape(w2.shape[:2]), g)  # (g, Co/g, Cm/g)
    blocks1 = _blocks(w1, g)  # (g, Cm/g, Ci/g, *k)
    w = np.matmul(m2, blocks1.reshape(*blocks1.shape[:2], -1))  # (g, Co/g, Ci/g * taps)
    b = np.matmul(m2, _f64(b1).reshape(g, -1, 1)).reshape(-1) + _f64(b2)
    return w.reshape(-1, *w1.shape[1:]), b, g


def pointwise_then(first: Kernel, second: Kernel) -> Kernel:
    """A 1×1 conv (stride 1, no padding) followed by a k×k conv.

    ``W[o, i] = Σ_m W2[o, m] · W1[m, i]`` per tap and ``b = b2 + Σ_{m,taps} W2[o, m] b1_m``.
    Exact only if the k×k conv has no zero padding or ``b1 = 0``: at the border it
    reads padding zeros where the merged conv would read ``b1`` (the caller checks)."""
    (w1, b1, g1), (w2, b2, g2) = first, second
    g = gcd(g1, g2)
    w1, w2 = expand_groups(w1, g1, g), expand_groups(w2, g2, g)
    m1 = _blocks(w1.reshape(w1.shape[:2]), g)  # (g, Cm/g, Ci/g)
    blocks2 = _blocks(w2, g)  # (g, Co/g, Cm/g, *k)
    kernel = blocks2.shape[3:]
    taps_last = np.moveaxis(blocks2.reshape(*blocks2.shape[:3], -1), 2, 3)  # (g, Co/g, taps, Cm/g)
    w = np.matmul(taps_last, m1[:, None])  # (g, Co/g, taps, Ci/g)
    w = np.moveaxis(w, 3, 2).reshape(w2.shape[0], m1.shape[2], *kernel)
    per_mid = taps_last.sum(axis=2)  # (g, Co/g, Cm/g)
    b = np.matmul(per_mid, _f64(b1).reshape(g, -1, 1)).reshape(-1) + _f64(b2)
    return w, b, g
