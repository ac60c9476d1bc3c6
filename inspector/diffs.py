"""Per-layer weight differences between an analysis' original and folded IR.

Pure numpy, no Streamlit: compares parameters, never computes a fold.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .folding.merge import MergeStep
from .folding.plan import Analysis
from .ir import Graph, Node

#: Ops whose weights a merged region's conv replaces ("the region's convs").
_LINEAR = ("conv", "conv_transpose", "linear")

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
    #: For a merged conv (mode ``reparam``): the names of the region's convs it replaced;
    #: ``norm_before`` is then their joint norm per output channel and ``rel_change`` empty
    #: (no single tensor to subtract).
    merged_from: tuple[str, ...] = ()

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


def merged_layers(analysis: Analysis) -> Iterator[tuple[MergeStep, list[Node], Node]]:
    """``(merge, the region's convs before, the merged conv after)`` for every merged
    region of a ``reparam`` analysis (the convs as in ``analysis.graph``, graph order)."""
    g = analysis.graph
    order = {n.id: i for i, n in enumerate(g.nodes)}
    for m in sorted(analysis.merges, key=lambda m: min((order.get(n, len(order)) for n in m.nodes),
                                                       default=len(order))):
        inside = set(m.nodes)
        convs = [n for n in g.nodes if n.id in inside and n.op in _LINEAR]
        after = analysis.folded.node(m.conv_id) if analysis.folded.has_node(m.conv_id) else m.conv
        yield m, convs, after


def merged_rows(convs: list[Node], after: Node) -> list[np.ndarray]:
    """Per-output-channel weight rows of the region's convs that have as many output
    channels as the merged conv ``after`` (the branches it sums)."""
    w1 = _first(after.params, _WEIGHT_KEYS)
    width = out_channel_rows(after, w1).shape[0] if w1 is not None else -1
    rows = []
    for n in convs:
        w = _first(n.params, _WEIGHT_KEYS)
        if w is not None and out_channel_rows(n, w).shape[0] == width:
            rows.append(out_channel_rows(n, w))
    return rows


def merge_diff(analysis: Analysis, merge: MergeStep, convs: list[Node], after: Node) -> LayerDiff:
    """The :class:`LayerDiff` of one merged region: before = the region's convs (joint
    norm per output channel, summed biases), after = the merged conv."""
    g = analysis.graph
    folded = {s.bn for s in analysis.steps}
    bns = [n for n in merge.nodes if g.has_node(n) and g.node(n).op in ("batch_norm", "affine")]
    first = sum(b in folded for b in bns)
    why = (f"merged region: {', '.join(n.name for n in convs)} and {len(bns)} BN"
           + (f" ({first} folded first)" if first else "") + " → one conv")
    d = LayerDiff(merge.conv_id, after.name, after.op, [why], merged_from=tuple(n.name for n in convs))
    rows = merged_rows(convs, after)
    w1 = _first(after.params, _WEIGHT_KEYS)
    if rows and w1 is not None:
        d.norm_before = np.sqrt(sum(np.sum(r ** 2, axis=1) for r in rows))
        d.norm_after = np.linalg.norm(out_channel_rows(after, w1), axis=1)
    b1 = _first(after.params, _BIAS_KEYS)
    if b1 is not None:
        biases = [b for n in convs if (b := _first(n.params, _BIAS_KEYS)) is not None and b.shape == b1.shape]
        d.bias_created = not biases
        d.bias_before = np.sum(biases, axis=0) if biases else np.zeros_like(b1)
        d.bias_after = b1
    return d


def layer_diffs(analysis: Analysis) -> list[LayerDiff]:
    """One :class:`LayerDiff` per changed layer (graph order), then one per merged
    region (mode ``reparam``: the merged conv against the region's convs)."""
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
    out.extend(merge_diff(analysis, m, convs, after) for m, convs, after in merged_layers(analysis))
    return out


def all_rel_changes(diffs: list[LayerDiff]) -> tuple[np.ndarray, list[str]]:
    """Every per-channel relative change and the layer it belongs to."""
    values, owners = [], []
    for d in diffs:
        values.extend(d.rel_change.tolist())
        owners.extend([d.name] * d.rel_change.size)
    return np.asarray(values, dtype=np.float64), owners


def role_summary(d: LayerDiff) -> str:
    """Why a layer changed, in a few words (``root of 2 BNs``, ``root of 1 · leaf of 1``,
    ``merged: 3 convs``); the full sentences are ``d.roles``."""
    if d.merged_from:
        return f"merged: {len(d.merged_from)} conv{'s' if len(d.merged_from) != 1 else ''}"
    roots = sum(r.startswith("root of ") for r in d.roles)
    leaves = sum(r.startswith("leaf of ") for r in d.roles)
    parts = [f"{word} of {n}" for word, n in (("root", roots), ("leaf", leaves)) if n]
    if len(parts) == 1:
        return parts[0] + (" BN" if roots + leaves == 1 else " BNs")
    return " · ".join(parts) or "edited"


def diff_rows(diffs: list[LayerDiff]) -> list[dict]:
    """Table rows: layer, op, its role in a few words (:func:`role_summary`), channels,
    max and median relative change, bias."""
    return [{
        "layer": d.name,
        "op": d.op,
        "role": role_summary(d),
        "ch": int(d.norm_before.size),
        "max Δ": d.max_rel_change if not d.merged_from else None,
        "median Δ": (float(np.median(d.rel_change)) if d.rel_change.size else 0.0)
        if not d.merged_from else None,
        "bias": "created" if d.bias_created else ("changed" if d.bias_after.size and not np.allclose(
            d.bias_before, d.bias_after) else "unchanged"),
    } for d in diffs]


def region_centres(analysis: Analysis) -> dict[str, str]:
    """What the before/after view can centre on: each folded BN (its id in
    ``analysis.graph``) and each merged region (its conv id in ``analysis.folded``),
    with a label; graph order, merges last."""
    g = analysis.graph
    out = {s.bn: g.node(s.bn).name for s in analysis.steps if g.has_node(s.bn)}
    for m, convs, _after in merged_layers(analysis):
        names = ", ".join(n.name for n in convs[:3]) + (" …" if len(convs) > 3 else "")
        out[m.conv_id] = f"merged region of {names}" if convs else f"merged region {m.conv_id}"
    return out


def _around(graph: Graph, seeds: set[str], hops: int) -> set[str]:
    """Ids within ``hops`` undirected hops of any of ``seeds``."""
    seen, frontier = set(seeds), set(seeds)
    for _ in range(max(hops, 0)):
        nxt = set()
        for nid in frontier:
            node = graph.node(nid)
            nxt |= {o.id for o in (*graph.predecessors(node), *graph.successors(node))}
        frontier = nxt - seen
        seen |= frontier
    return seen


def compare_region(analysis: Analysis, centre: str, hops: int) -> tuple[set[str], set[str], str]:
    """The same region before and after: ``(ids in analysis.graph, ids in
    analysis.folded, the node the after view centres on)``.

    ``centre`` is a key of :func:`region_centres`. Before: the nodes within ``hops`` of
    the BN (with its roots and leaves) or of the merged region's nodes. After: those of
    them still in the folded graph, plus the merged convs that replaced any of them.
    """
    g, folded = analysis.graph, analysis.folded
    merge = next((m for m in analysis.merges if m.conv_id == centre), None)
    if merge is not None:
        seeds = {n for n in merge.nodes if g.has_node(n)}
    else:
        step = next((s for s in analysis.steps if s.bn == centre), None)
        seeds = {centre} | ({*step.roots, *step.leaves} if step is not None else set())
        seeds = {n for n in seeds if g.has_node(n)}
    before = _around(g, seeds, hops)
    after = {n for n in before if folded.has_node(n)}
    after |= {m.conv_id for m in analysis.merges if before & set(m.nodes) and folded.has_node(m.conv_id)}
    if folded.has_node(centre):
        focus = centre
    else:
        focus = next((m.conv_id for m in analysis.merges if centre in m.nodes), None) \
            or next(iter(sorted(after)), centre)
    return before, after, focus
