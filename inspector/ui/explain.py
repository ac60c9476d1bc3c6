"""Plain-words explanations and table rows built from verdict records (no Streamlit)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis.condition import bn_affine
from ..analysis.verdict import REASON_TITLES, Reason, Verdict
from ..ir import Graph
from ..render.status import BOTH, NOT_FOLDABLE, OPTIMAL_ONLY, BNStatus

#: Status -> the words shown in tables and filters.
STATUS_WORDS = {
    BOTH: "folded by both",
    OPTIMAL_ONLY: "folded by optimal only",
    NOT_FOLDABLE: "not foldable",
    "adjacent_only": "folded by adjacent only",
    "folded": "folded",
    "unanalysed": "not analysed",
}

_REASON_HELP: dict[Reason, str] = {
    Reason.NONLINEARITY: "A non-linearity (ReLU, SiLU, sigmoid…) does not commute with a "
    "per-channel affine map, so the map cannot be moved across it.",
    Reason.DATA_DEPENDENT_MUL: "Multiplying by a tensor computed from the input (e.g. a "
    "squeeze-excitation gate) changes per sample; no constant weight can absorb the map.",
    Reason.NORMALIZATION: "LayerNorm / GroupNorm / InstanceNorm renormalise with statistics of "
    "the input, which erase or distort the affine map.",
    Reason.UNKNOWN_OP: "An operation outside the supported vocabulary is treated as blocking "
    "(the tool never guesses).",
    Reason.SHAPE_DEPENDENT: "The layer's constant is computed from a dynamic input size (e.g. "
    "1/(H·W) of an average pool); folding would freeze the value of one size into the model.",
    Reason.BOUNDARY: "The path reaches a graph input or output: there is no layer on that side "
    "to absorb the map.",
    Reason.ZERO_PADDING: "A zero-padded layer sees padding zeros, not shifted values: the shift c "
    "would be wrong at the borders.",
    Reason.NEGATIVE_SCALE: "Max pooling commutes with a positive scale only; a negative a_k turns "
    "max into min on that channel.",
    Reason.ZERO_SCALE: "A leaf would have to divide by a_k = 0 to undo the map.",
    Reason.BATCH_STATS: "The BN uses batch statistics at inference, so it is not a fixed affine map.",
    Reason.SHARED_PARAMS: "A layer that would absorb the map shares its weights with another call; "
    "editing them would change the other use too.",
    Reason.CHANNEL_MAPPING: "A reshape/transpose loses track of the channel axis, so the per-channel "
    "vector cannot be mapped across it.",
    Reason.CONFLICT: "Two paths require different maps on the same tensor.",
    Reason.OVERLAP: "A node would have to be both a root and a leaf of the same fold.",
    Reason.NOT_ADJACENT: "The adjacent rule (fx fuse, onnxruntime, onnxoptimizer) only folds a BN "
    "directly after a conv/linear used by that BN alone.",
    Reason.VERIFICATION_FAILED: "The fold did not pass numerical verification and was rolled back.",
}


def names(graph: Graph, ids: Any, limit: int = 6) -> str:
    """Comma-separated display names (``a, b and 3 more``)."""
    out = [graph.node(i).name if graph.has_node(i) else str(i) for i in ids]
    if len(out) > limit:
        return ", ".join(out[:limit]) + f" and {len(out) - limit} more"
    return ", ".join(out) or "—"


def bn_rows(graph: Graph, statuses: dict[str, BNStatus]) -> list[dict[str, Any]]:
    """One row per BN: id, name, status, direction, roots, leaves, reason."""
    rows = []
    for bn_id, s in statuses.items():
        v = s.verdict
        rows.append({
            "id": bn_id,
            "name": graph.node(bn_id).name if graph.has_node(bn_id) else bn_id,
            "status": STATUS_WORDS.get(s.status, s.status),
            "direction": (v.direction or "") if v else "",
            "roots": names(graph, v.roots, 3) if v and v.roots else "",
            "leaves": names(graph, [x for x in v.leaves if x != bn_id], 3) if v else "",
            "reason": (REASON_TITLES.get(s.reason_code, "") if s.reason_code else ""),
            "details": s.sentence,
        })
    return rows


def affine_summary(graph: Graph, bn_id: str) -> dict[str, Any] | None:
    """a, c of a BN (float64) and a few statistics, or None if not a BN with params."""
    node = graph.node(bn_id)
    try:
        a, c = bn_affine(node)
    except (KeyError, TypeError, ValueError):
        return None
    return {"a": a, "c": c, "channels": int(a.size), "negative": int(np.sum(a < 0)),
            "zero": int(np.sum(a == 0)), "a_range": (float(a.min()), float(a.max())) if a.size else (0, 0)}


def explain(graph: Graph, status: BNStatus, adjacent: Verdict | None) -> list[str]:
    """Markdown paragraphs that explain one BN's status in plain words."""
    v = status.verdict
    node = graph.node(status.bn)
    out: list[str] = []
    if v is None:
        return [f"`{node.name}` was not analysed."]
    if v.folded:
        roots = names(graph, v.roots)
        leaves = [x for x in v.leaves if x != v.bn]
        if v.direction == "backward":
            out.append(f"**Folds backward** into the layer(s) that produce its input: **{roots}**. "
                       "Each output channel k of those layers is multiplied by a_k and the shift "
                       "c_k is added to the bias once, so they now output BN(y) directly.")
        else:
            out.append(f"**Folds forward** into the layer(s) that consume its output: **{roots}**. "
                       "Their input channel k is scaled by a_k and the shift is pushed through the "
                       "weights into their bias.")
        if leaves:
            out.append(f"**Leaves** {names(graph, leaves)} share those tensors, so they are "
                       "updated to undo the map and keep computing exactly the same function.")
        if v.order is not None:
            out.append(f"Fold order: step {v.order + 1} of the sequence (the graph is re-analysed "
                       "after every fold).")
        if adjacent is not None:
            out.append(_adjacent_words(adjacent))
        return out
    title = REASON_TITLES.get(v.reason_code, "not foldable") if v.reason_code else "not foldable"
    blocked = v.details.get("blocked", []) if isinstance(v.details, dict) else []
    if len(blocked) == 2:
        out.append(f"**Not foldable — {title}.** Neither direction works:")
        out.append("\n".join(f"- **{d}**: {sentence}" for d, (_c, sentence, _n)
                             in zip(("backward", "forward"), blocked)))
    else:
        out.append(f"**Not foldable — {title}.** {v.reason}")
    if v.reason_code in _REASON_HELP:
        out.append(_REASON_HELP[v.reason_code])
    if v.blocking_node and graph.has_node(v.blocking_node):
        b = graph.node(v.blocking_node)
        kind = b.attrs.get("op_type") or b.attrs.get("kind") or b.op
        out.append(f"Blocking node: **`{b.name}`** ({kind}), outlined in red on the graph.")
    if adjacent is not None and adjacent.folded:
        out.append("Note: the `adjacent` rule folds it, which should not happen — please report.")
    return out


def _adjacent_words(v: Verdict) -> str:
    if v.folded:
        return "The `adjacent` rule (what fx fuse / onnxruntime do) folds it too."
    return ("The `adjacent` rule (what fx fuse / onnxruntime do) does **not** fold it: "
            f"{v.reason or 'not directly after a conv/linear used only by this BN'}. "
            "This is part of the gap between the two modes.")
