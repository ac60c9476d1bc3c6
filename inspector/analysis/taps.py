"""Tap grids: where a conv or an average pool reads its input (DESIGN §3.7).

Per spatial axis: kernel ``k``, stride ``s``, dilation ``d`` and ``start`` (the
offset of the first tap: output ``i`` reads ``x[s·i + start + j·d]``, ``j < k``;
``start = -pad_begin``). Two summed branches share one grid when their strides
are equal, their dilations are equal where both kernels are wider than 1, and
their starts differ by a multiple of the dilation (the design's centre-offset
rule ``(k₁−1)·d/2 − p₁ = (k₂−1)·d/2 − p₂`` is the symmetric-padding case).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import Node, as_pairs, as_tuple
from .verdict import Blocked, Reason


@dataclass(frozen=True)
class Taps:
    """The tap grid of one spatial axis (see the module docstring)."""

    k: int
    s: int
    d: int
    start: int

    @property
    def end(self) -> int:
        return self.start + (self.k - 1) * self.d


Geometry = tuple[Taps, ...]


def node_taps(node: Node, spatial: int) -> Geometry:
    """Tap grid of a conv or an average pool, per spatial axis (``k = 1`` has ``d = 1``)."""
    at = node.attrs
    if node.op == "conv":
        kernel = tuple(int(k) for k in node.params["weight"].shape[2:])
    else:
        kernel = as_tuple(at.get("kernel"), spatial, 1)
    stride = as_tuple(at.get("stride") or (kernel if node.op == "pool_avg" else 1), spatial, 1)
    dilation = as_tuple(at.get("dilation"), spatial, 1)
    pads = as_pairs(at.get("padding"), spatial)
    return tuple(Taps(k, s, d if k > 1 else 1, -b)
                 for k, s, d, (b, _) in zip(kernel, stride, dilation, pads))


def shifted(g: Geometry, by: Geometry) -> Geometry:
    """``g`` read through a unit grid ``by`` (``k = s = 1`` on every axis, e.g. a zero
    ``pad`` node or a 1×1 conv): output ``i`` of ``by`` reads ``x[i + by.start]``, so the
    starts add."""
    return tuple(Taps(t.k, t.s, t.d, t.start + b.start) for t, b in zip(g, by))


def is_unit(g: Geometry) -> bool:
    """Every axis reads one tap with stride 1 (a 1×1 map, maybe with an offset)."""
    return all(t.k == 1 and t.s == 1 for t in g)


def pad_taps(node: Node, spatial: int) -> Geometry:
    """The grid of a zero ``pad`` node: a 1×1 identity whose padding is the pad's."""
    return tuple(Taps(1, 1, 1, -int(b)) for b, _ in list(node.attrs["pads"])[-spatial:]) if spatial else ()


def node_padding(node: Node, spatial: int) -> tuple[tuple[int, int], ...]:
    return as_pairs(node.attrs.get("padding"), spatial)


def is_pointwise(node: Node, spatial: int) -> bool:
    """A 1×1 conv with stride 1 and no padding (output grid = input grid)."""
    taps = node_taps(node, spatial)
    return all(t.k == 1 and t.s == 1 for t in taps) and not any(
        b or e for b, e in node_padding(node, spatial))


def union(g1: Geometry, g2: Geometry) -> Geometry | Blocked:
    """The tap grid covering two summed branches, or why they cannot share one."""
    out = []
    for axis, (a, b) in enumerate(zip(g1, g2)):
        if a.s != b.s:
            return Blocked(Reason.STRIDE_MISMATCH, f"branches have strides {a.s} and {b.s} on spatial axis {axis}")
        if a.k > 1 and b.k > 1 and a.d != b.d:
            return Blocked(Reason.DILATION_MISMATCH,
                           f"branches have dilations {a.d} and {b.d} on spatial axis {axis}")
        d = a.d if a.k > 1 else b.d
        if (a.start - b.start) % d:
            return Blocked(Reason.MISALIGNED, f"branch kernels are misaligned on spatial axis {axis}: "
                           f"their centres differ by {abs((a.start + a.end) - (b.start + b.end)) / 2:g} "
                           f"taps, not a multiple of the dilation {d}")
        start, end = min(a.start, b.start), max(a.end, b.end)
        k = (end - start) // d + 1
        out.append(Taps(k, a.s, d if k > 1 else 1, start))
    return tuple(out)


def merged_padding(taps: Geometry, in_size: tuple[int, ...],
                   out_size: tuple[int, ...]) -> list[tuple[int, int]] | None:
    """Zero padding (begin, end) per axis with which the merged conv maps ``in_size`` to
    ``out_size``; None if no padding does (then the branches disagree on the output)."""
    pads = []
    for t, n_in, n_out in zip(taps, in_size, out_size):
        if t.start > 0:
            return None
        pe = max(0, t.s * (n_out - 1) + t.end - (n_in - 1))
        if t.s * n_out + t.end <= n_in - 1 + pe:
            return None
        if t.s * n_out + t.end > n_in - 1 - t.start:  # end = begin still gives n_out windows:
            pe = max(pe, -t.start)  # symmetric padding keeps runtimes on their fast paths
        pads.append((-t.start, pe))
    return pads


def affine_of(node: Node) -> tuple[np.ndarray, np.ndarray]:
    """``(a, c)`` of a batch_norm / affine node, float64: ``a = gamma / sqrt(var + eps)``,
    ``c = beta - a * mean`` (the same map as ``condition.bn_affine``)."""
    p = node.params
    if node.op == "affine":
        return np.asarray(p["scale"], np.float64), np.asarray(p["shift"], np.float64)
    a = p["gamma"].astype(np.float64) / np.sqrt(p["var"].astype(np.float64) + node.attrs.get("eps", 1e-5))
    return a, p["beta"].astype(np.float64) - a * p["mean"].astype(np.float64)


def kernel_text(taps: Geometry) -> str:
    return "×".join(str(t.k) for t in taps)
