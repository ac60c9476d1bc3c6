"""The colour palette and legend of the BN statuses (:mod:`inspector.statuses`).

The status records themselves (``BNStatus``, ``compute_statuses``) and their
sentences live in :mod:`inspector.statuses` and :mod:`inspector.analysis.sentences`;
they are re-exported here for the renderer's callers. Colours come from the Okabe-Ito colour-blind-safe palette, with explicit fill,
font and border colours (``st.graphviz_chart`` ignores the dark theme).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..analysis.sentences import fold_sentence, merge_sentence, not_foldable_sentence
from ..analysis.verdict import GROUPS, Status, group_legend
from ..statuses import BNStatus, bn_ids, compute_statuses, reason_color_key, status_counts

__all__ = [
    "BOTH", "OPTIMAL_ONLY", "NOT_FOLDABLE", "ADJACENT_ONLY", "FOLDED", "MERGED", "UNANALYSED",
    "Colors", "STATUS_COLORS", "NODE_COLORS", "SEVERITY", "LegendItem", "legend_items",
    "worst_color_key", "short_status",
    # the status records and sentences, re-exported from inspector.statuses / analysis.sentences
    "BNStatus", "bn_ids", "compute_statuses", "reason_color_key", "status_counts",
    "fold_sentence", "merge_sentence", "not_foldable_sentence",
]

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

#: Legend labels; a reason group's label comes from its reasons' rows (``group_legend``).
_LABELS: dict[str, str] = {
    BOTH: "folded by adjacent and optimal",
    OPTIMAL_ONLY: "folded by optimal only",
    NOT_FOLDABLE: group_legend("blocking"),
    **{f"not_foldable_{g}": group_legend(g) for g in GROUPS if g != "blocking"},
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


def legend_items(present: Iterable[str] = (), *, with_adjacent: bool = True) -> list[LegendItem]:
    """Legend rows: the main statuses always, other colour keys only if present.

    Example: ``legend_items({"not_foldable_padding"})`` gives both, optimal only,
    not foldable (non-linearity...) and not foldable (zero padding).
    """
    main = (BOTH, OPTIMAL_ONLY, NOT_FOLDABLE) if with_adjacent else (FOLDED, NOT_FOLDABLE)
    wanted = set(main) | set(present)
    return [LegendItem(k, _LABELS[k], STATUS_COLORS[k]) for k in _LEGEND_ORDER if k in wanted]


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
