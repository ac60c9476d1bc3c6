"""Display status of every BN (from the two modes' analyses) and the colour palette.

A BN is shown as one of:

* ``both``          folded by ``adjacent`` and by ``optimal``;
* ``optimal_only``  folded by ``optimal`` only (the product's headline gap);
* ``not_foldable``  folded by neither; coloured by reason group;
* ``adjacent_only`` folded by ``adjacent`` but not ``optimal`` (should not happen;
  shown rather than hidden);
* ``folded``        folded by ``optimal`` when no ``adjacent`` analysis was given;
* ``merged``        removed in ``reparam`` mode by merging parallel branches into one conv;
* ``unanalysed``    a BN without a verdict.

Colours come from the Okabe-Ito colour-blind-safe palette, with explicit fill,
font and border colours (``st.graphviz_chart`` ignores the dark theme).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ..analysis.verdict import Reason, Status, Verdict
from ..folding.plan import Analysis
from ..ir import Graph, is_bn

BOTH = Status.BOTH
OPTIMAL_ONLY = Status.OPTIMAL_ONLY
NOT_FOLDABLE = Status.NOT_FOLDABLE
ADJACENT_ONLY = Status.ADJACENT_ONLY
FOLDED = Status.FOLDED
MERGED = Status.MERGED
UNANALYSED = Status.UNANALYSED


@dataclass(frozen=True)
class Colors:
    """Explicit fill, font and border (edge) colours of one style."""

    fill: str
    font: str
    edge: str


#: Colour key -> colours. ``not_foldable*`` keys are reason groups.
STATUS_COLORS: dict[str, Colors] = {
    BOTH: Colors("#009E73", "#000000", "#00523C"),
    OPTIMAL_ONLY: Colors("#0072B2", "#FFFFFF", "#003F63"),
    NOT_FOLDABLE: Colors("#D55E00", "#000000", "#7A3600"),
    "not_foldable_padding": Colors("#E69F00", "#000000", "#8A5F00"),
    "not_foldable_scale": Colors("#CC79A7", "#000000", "#7D3F63"),
    "not_foldable_other": Colors("#B09A80", "#000000", "#5E4E3C"),
    ADJACENT_ONLY: Colors("#56B4E9", "#000000", "#1F6E9C"),
    FOLDED: Colors("#009E73", "#000000", "#00523C"),
    MERGED: Colors("#F0E442", "#000000", "#8C8426"),
    UNANALYSED: Colors("#EEEEEE", "#333333", "#888888"),
}

#: Styles of nodes that are not BNs (and of collapsed boxes without BNs).
NODE_COLORS: dict[str, Colors] = {
    "op": Colors("#FFFFFF", "#222222", "#666666"),
    "expressive": Colors("#E4ECF4", "#1A2A3A", "#5A7087"),
    "io": Colors("#F0F0F0", "#222222", "#777777"),
    "group": Colors("#F7F7F7", "#222222", "#666666"),
    "stub": Colors("#FFFFFF", "#777777", "#AAAAAA"),
}

_LABELS: dict[str, str] = {
    BOTH: "folded by adjacent and optimal",
    OPTIMAL_ONLY: "folded by optimal only",
    NOT_FOLDABLE: "not foldable: non-linearity, boundary, unknown op",
    "not_foldable_padding": "not foldable: zero padding",
    "not_foldable_scale": "not foldable: negative or zero scale",
    "not_foldable_other": "not foldable: batch stats, shared params, other",
    ADJACENT_ONLY: "folded by adjacent only",
    FOLDED: "folded",
    MERGED: "merged with parallel branches",
    UNANALYSED: "not analysed",
}

#: Most severe first: a collapsed box takes the colour of the first key present.
SEVERITY: tuple[str, ...] = (
    NOT_FOLDABLE, "not_foldable_padding", "not_foldable_scale", "not_foldable_other",
    ADJACENT_ONLY, OPTIMAL_ONLY, MERGED, UNANALYSED, BOTH, FOLDED,
)


_LEGEND_ORDER: tuple[str, ...] = (
    BOTH, FOLDED, OPTIMAL_ONLY, MERGED, ADJACENT_ONLY, NOT_FOLDABLE, "not_foldable_padding",
    "not_foldable_scale", "not_foldable_other", UNANALYSED,
)


@dataclass(frozen=True)
class LegendItem:
    """One legend row: colour key, human label and colours."""

    key: str
    label: str
    colors: Colors


@dataclass(frozen=True)
class BNStatus:
    """How one BN is displayed: status, colour key, reason and tooltip sentence."""

    bn: str
    status: Status
    color_key: str
    reason_code: Reason | None
    sentence: str
    verdict: Verdict | None

    @property
    def css_class(self) -> str:
        """``bn status-<status>`` plus ``reason-<code>`` when not foldable."""
        cls = f"bn status-{self.status}"
        if self.reason_code is not None and self.status in (NOT_FOLDABLE, ADJACENT_ONLY):
            cls += f" reason-{self.reason_code.value}"
        return cls


def reason_color_key(code: Reason | None) -> str:
    """Colour key of the reason group of ``code`` (``Reason.group``)."""
    if code is None:
        return "not_foldable_other"
    return NOT_FOLDABLE if code.group == "blocking" else f"not_foldable_{code.group}"


def legend_items(present: Iterable[str] = (), *, with_adjacent: bool = True) -> list[LegendItem]:
    """Legend rows: the main statuses always, other colour keys only if present.

    Example: ``legend_items({"not_foldable_padding"})`` gives both, optimal only,
    not foldable (non-linearity...) and not foldable (zero padding).
    """
    main = (BOTH, OPTIMAL_ONLY, NOT_FOLDABLE) if with_adjacent else (FOLDED, NOT_FOLDABLE)
    wanted = set(main) | set(present)
    return [LegendItem(k, _LABELS[k], STATUS_COLORS[k]) for k in _LEGEND_ORDER if k in wanted]


def bn_ids(graph: Graph, optimal: Analysis) -> list[str]:
    """Ids of the graph's BNs, plus nodes that carry a verdict (e.g. folded BNs)."""
    return [n.id for n in graph.nodes if is_bn(n) or n.id in optimal.verdicts]


def compute_statuses(
    graph: Graph, optimal: Analysis, adjacent: Analysis | None = None
) -> dict[str, BNStatus]:
    """Display status of every BN of ``graph`` (keyed by node id, graph order)."""
    out: dict[str, BNStatus] = {}
    for bn in bn_ids(graph, optimal):
        opt = optimal.verdicts.get(bn)
        adj = adjacent.verdicts.get(bn) if adjacent is not None else None
        out[bn] = _status(graph, bn, opt, adj, adjacent is not None)
    return out


def _status(
    graph: Graph, bn: str, opt: Verdict | None, adj: Verdict | None, has_adj: bool
) -> BNStatus:
    if opt is None:
        return BNStatus(bn, UNANALYSED, UNANALYSED, None, "not analysed", None)
    adj_folded = adj is not None and adj.folded
    if opt.merged:
        return BNStatus(bn, MERGED, MERGED, None, merge_sentence(opt), opt)
    if opt.folded:
        if not has_adj:
            return BNStatus(bn, FOLDED, FOLDED, None, fold_sentence(graph, opt), opt)
        if adj_folded:
            text = f"{fold_sentence(graph, opt)} — by adjacent and optimal"
            return BNStatus(bn, BOTH, BOTH, None, text, opt)
        other = not_foldable_sentence(adj) if adj is not None else "not analysed"
        text = f"{fold_sentence(graph, opt)} — by optimal only; adjacent: {other}"
        return BNStatus(bn, OPTIMAL_ONLY, OPTIMAL_ONLY, None, text, opt)
    if adj_folded:
        text = (f"{fold_sentence(graph, adj)} — by adjacent only; "
                f"optimal: {not_foldable_sentence(opt)}")
        return BNStatus(bn, ADJACENT_ONLY, ADJACENT_ONLY, opt.reason_code, text, opt)
    key = reason_color_key(opt.reason_code)
    return BNStatus(bn, NOT_FOLDABLE, key, opt.reason_code, not_foldable_sentence(opt), opt)


def _names(graph: Graph, ids: Iterable[str], limit: int = 4) -> str:
    names = [graph.node(i).name if graph.has_node(i) else i for i in ids]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return ", ".join(names)


def fold_sentence(graph: Graph, v: Verdict) -> str:
    """E.g. ``folded (backward) into layer1.0.conv1``."""
    roots = v.roots
    text = f"folded ({v.direction or 'unknown direction'})"
    if roots:
        text += f" into {_names(graph, roots)}"
    leaves = [x for x in v.leaves if x != v.bn]
    if leaves:
        text += f"; leaves {_names(graph, leaves)} undo it"
    return text


def merge_sentence(v: Verdict) -> str:
    """E.g. ``merged with the parallel branches into `merged:add_1```."""
    conv = v.details.get("merged_into") if isinstance(v.details, dict) else None
    return f"merged with the parallel branches into `{conv}`" if conv else "merged"


def not_foldable_sentence(v: Verdict) -> str:
    """E.g. ``not foldable: backward: reaches non-linearity ...``."""
    if v.folded:
        return f"folded ({v.direction})"
    reason = v.reason or (v.reason_code.title if v.reason_code else "")
    return f"not foldable: {reason}" if reason else "not foldable"


def status_counts(statuses: dict[str, BNStatus]) -> Counter[str]:
    """Counts per status (``both``, ``optimal_only``...)."""
    return Counter(s.status for s in statuses.values())


def worst_color_key(keys: Iterable[str]) -> str | None:
    """The most severe colour key among ``keys`` (None when empty)."""
    present = set(keys)
    return next((k for k in SEVERITY if k in present), None)


def short_status(s: BNStatus) -> str:
    """A few words for a node label, so colour is never the only cue."""
    if s.status == NOT_FOLDABLE:
        return f"✗ {s.reason_code.title}" if s.reason_code else "✗ not foldable"
    return {BOTH: "✓ both", OPTIMAL_ONLY: "✓ optimal only", FOLDED: "✓ folded",
            MERGED: "✓ merged", ADJACENT_ONLY: "! adjacent only"}.get(s.status, "? not analysed")
