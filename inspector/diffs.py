"""Per-layer weight differences between an analysis' original and folded IR.

Pure numpy, no Streamlit: compares parameters, never computes a fold.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .folding.plan import Analysis
from .ir import Node

_WEIGHT_KEYS = ("weight", "gamma", "scale")
_BIAS_KEYS = ("bias", "beta", "shift")


@dataclass
class LayerDiff:
    """How one layer's parameters changed, per output channel."""

    id: str
    name: str
    op: str
    roles: list[str] = field(default_factory=list)
    norm_before: np.ndarray = field(default_factory=lambda: np.zeros(0))
    norm_after: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rel_change: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bias_before: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bias_after: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bias_created: bool = False

    @property
    def max_rel_change(self) -> float:
        return float(self.rel_change.max()) if self.rel_change.size else 0.0


def out_channel_rows(node: Node, w: np.ndarray) -> np.ndarray:
    """``w`` as (output channels, everything else); handles ConvTranspose groups."""
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == 0:
        return w.reshape(1, 1)
    if w.ndim == 1:
        return w.reshape(-1, 1)
    if node.op == "conv_transpose":
        groups = int(node.attrs.get("groups", 1) or 1)
        cin, cout_g = w.shape[0], w.shape[1]
        per = w.reshape(groups, cin // groups, cout_g, -1)  # (g, cin/g, cout/g, k)
        return per.transpose(0, 2, 1, 3).reshape(groups * cout_g, -1)
    return w.reshape(w.shape[0], -1)


def _first(params: dict, keys: tuple[str, ...]) -> np.ndarray | None:
    for k in keys:
        if k in params:
            return np.asarray(params[k], dtype=np.float64)
    return None


def layer_roles(analysis: Analysis) -> dict[str, list[str]]:
    """Node id -> ``["root of bn1 (backward)", "leaf of bn2 (forward)"]``."""
    g = analysis.graph
    roles: dict[str, list[str]] = {}
    for s in analysis.steps:
        bn = g.node(s.bn).name if g.has_node(s.bn) else s.bn
        for nid in s.roots:
            roles.setdefault(nid, []).append(f"root of {bn} ({s.direction})")
        for nid in s.leaves:
            if nid != s.bn:
                roles.setdefault(nid, []).append(f"leaf of {bn} ({s.direction})")
    return roles


def changed_layers(analysis: Analysis) -> Iterator[tuple[Node, Node]]:
    """``(before, after)`` for every changed layer still in the folded graph (graph order)."""
    changed = set(analysis.changed)
    for node in analysis.graph.nodes:
        if node.id in changed and analysis.folded.has_node(node.id):
            yield node, analysis.folded.node(node.id)


def layer_diffs(analysis: Analysis) -> list[LayerDiff]:
    """One :class:`LayerDiff` per changed layer (graph order)."""
    roles = layer_roles(analysis)
    out = []
    for node, after in changed_layers(analysis):
        d = LayerDiff(node.id, node.name, node.op, roles.get(node.id, []))
        w0, w1 = _first(node.params, _WEIGHT_KEYS), _first(after.params, _WEIGHT_KEYS)
        if w0 is not None and w1 is not None and w0.shape == w1.shape:
            r0, r1 = out_channel_rows(node, w0), out_channel_rows(after, w1)
            d.norm_before = np.linalg.norm(r0, axis=1)
            d.norm_after = np.linalg.norm(r1, axis=1)
            d.rel_change = np.linalg.norm(r1 - r0, axis=1) / np.maximum(d.norm_before, 1e-12)
        b1 = _first(after.params, _BIAS_KEYS)
        b0 = _first(node.params, _BIAS_KEYS)
        if b1 is not None:
            d.bias_created = b0 is None
            d.bias_before = b0 if b0 is not None else np.zeros_like(b1)
            d.bias_after = b1
        out.append(d)
    return out


def all_rel_changes(diffs: list[LayerDiff]) -> tuple[np.ndarray, list[str]]:
    """Every per-channel relative change and the layer it belongs to."""
    values, owners = [], []
    for d in diffs:
        values.extend(d.rel_change.tolist())
        owners.extend([d.name] * d.rel_change.size)
    return np.asarray(values, dtype=np.float64), owners


def diff_rows(diffs: list[LayerDiff]) -> list[dict]:
    """Table rows: layer, op, why it changed, channels, max relative change, bias."""
    return [{
        "layer": d.name,
        "op": d.op,
        "why": "; ".join(d.roles) or "edited",
        "channels": int(d.norm_before.size),
        "max rel. change": d.max_rel_change,
        "median rel. change": float(np.median(d.rel_change)) if d.rel_change.size else 0.0,
        "bias": "created" if d.bias_created else ("changed" if d.bias_after.size and not np.allclose(
            d.bias_before, d.bias_after) else "unchanged"),
    } for d in diffs]
