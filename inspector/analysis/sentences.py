"""Every sentence said about a BN, in one place.

The reasons stored on verdicts (``Verdict.reason``, written by the fold and
merge planners) and the display sentences built from verdicts (the SVG
tooltips, the BN panel, the CLI summary) all come from here, and every list of
node names is written by :func:`names`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..ir import Graph
from .verdict import Status, Verdict

#: Reason of a BN whose fold was rolled back because it did not verify.
ROLLED_BACK = "the fold did not verify numerically and was rolled back"
#: Reason of a BN no planner decided (should not happen).
NOT_FOLDED = "not folded"


def display_name(graph: Graph, node_id: str) -> str:
    """The node's display name, or the id itself when the graph has no such node."""
    return graph.node(node_id).name if graph.has_node(node_id) else str(node_id)


def join_names(names: Sequence[str], *, limit: int | None = None, quote: bool = False,
               empty: str = "—") -> str:
    """``a, b and 3 more``: at most ``limit`` names (all when None), in backticks
    when ``quote``; ``empty`` when there are none."""
    shown = [f"`{n}`" if quote else n for n in names]
    if limit is not None and len(shown) > limit:
        return ", ".join(shown[:limit]) + f" and {len(shown) - limit} more"
    return ", ".join(shown) or empty


def names(graph: Graph, ids: Iterable[str], *, limit: int | None = 6, quote: bool = False,
          empty: str = "—") -> str:
    """Display names of node ``ids`` of ``graph`` joined by :func:`join_names`."""
    return join_names([display_name(graph, i) for i in ids], limit=limit, quote=quote, empty=empty)


# -- reasons stored on verdicts (the JSON report's ``reason``) -------------------
def fold_reason(direction: str, roots: Sequence[str], leaves: Sequence[str] = ()) -> str:
    """E.g. ``folds backward into `conv1`; leaves `conv2` undo the map`` (display names)."""
    tail = f"; leaves {join_names(leaves, quote=True)} undo the map" if leaves else ""
    return f"folds {direction} into {join_names(roots, quote=True, empty='nothing')}{tail}"


def blocked_reason(sentences: Sequence[str]) -> str:
    """Why neither direction folds: ``backward: ...; forward: ...`` (or the one sentence)."""
    if len(sentences) == 2:
        return f"backward: {sentences[0]}; forward: {sentences[1]}"
    return sentences[0]


def fusion_refused_reason(lost: str) -> str:
    """A fold refused because the runtime then fuses fewer activations (``lost``: e.g.
    ``Gelu 16 → 10``)."""
    return (f"folding it breaks a fusion of the runtime ({lost or 'a fused op is lost'}): the "
            "deployed model would be slower, so the fold is refused")


def merge_fusion_refused_reason(lost: str, fold_reason_text: str) -> str:
    """A kept BN whose region's merge was refused because the runtime then fuses fewer ops."""
    return (f"cannot merge its branches: merging them breaks a fusion of the runtime "
            f"({lost or 'a fused op is lost'}), so the merge is refused; {fold_reason_text}")


def merge_reason(conv: str) -> str:
    """E.g. ``merged with the parallel branches into `merged:add_1```."""
    return f"merged with the parallel branches into `{conv}`"


def merge_refused_reason(refusal: str, fold_reason_text: str) -> str:
    """A kept BN whose region could not be merged: the merge refusal, then why it does not fold."""
    return f"cannot merge its branches: {refusal}; {fold_reason_text}"


# -- display sentences built from verdicts -----------------------------------
def fold_sentence(graph: Graph, v: Verdict) -> str:
    """E.g. ``folded (backward) into layer1.0.conv1; leaves conv2 undo it``."""
    text = f"folded ({v.direction or 'unknown direction'})"
    if v.roots:
        text += f" into {names(graph, v.roots, limit=4)}"
    leaves = [x for x in v.leaves if x != v.bn]
    if leaves:
        text += f"; leaves {names(graph, leaves, limit=4)} undo it"
    return text


def merge_sentence(v: Verdict) -> str:
    """E.g. ``merged with the parallel branches into `merged:add_1```."""
    details = v.details if isinstance(v.details, dict) else {}
    conv = details.get("merged_name") or details.get("merged_into")  # the name, as in the report
    return merge_reason(conv) if conv else "merged"


def not_foldable_sentence(v: Verdict) -> str:
    """E.g. ``not foldable: backward: reaches non-linearity ...``."""
    if v.folded:
        return f"folded ({v.direction})"
    reason = v.reason or (v.reason_code.title if v.reason_code else "")
    return f"not foldable: {reason}" if reason else "not foldable"


def status_sentence(graph: Graph, status: Status, opt: Verdict | None, adj: Verdict | None) -> str:
    """The sentence shown with a BN's display ``status`` (tooltips, BN table, CLI summary),
    from its ``optimal`` verdict and its ``adjacent`` one (None when not analysed)."""
    if opt is None:
        return "not analysed"
    if status == Status.MERGED:
        return merge_sentence(opt)
    if status == Status.FOLDED:
        return fold_sentence(graph, opt)
    if status == Status.BOTH:
        return f"{fold_sentence(graph, opt)} — by adjacent and optimal"
    if status == Status.OPTIMAL_ONLY:
        other = not_foldable_sentence(adj) if adj is not None else "not analysed"
        return f"{fold_sentence(graph, opt)} — by optimal only; adjacent: {other}"
    if status == Status.ADJACENT_ONLY and adj is not None:
        return f"{fold_sentence(graph, adj)} — by adjacent only; optimal: {not_foldable_sentence(opt)}"
    return not_foldable_sentence(opt)
