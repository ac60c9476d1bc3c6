"""One entry point for every folding mode (DESIGN §3.5, §3.7).

``analyze(graph, mode)`` returns the verdict of every BN together with the
fold steps and the folded IR: modes ``adjacent`` and ``optimal`` fold to a
fixed point (:mod:`.fixpoint`); mode ``reparam`` (:mod:`.reparam`)
interleaves ``optimal`` folding with merging linear regions into one conv
until nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..analysis.verdict import Mode
from ..ir import Graph
from .fixpoint import (
    SEARCH_BUDGET,
    SEARCH_LIMIT,
    analyze_folds,
    best_sequence,
    fold_one,
    group_by_region,
    try_fold,
)
from .plan import Analysis
from .reparam import analyze_reparam

__all__ = ["MODES", "Mode", "analyze", "compare_modes", "try_fold", "fold_one", "group_by_region",
           "best_sequence", "SEARCH_LIMIT", "SEARCH_BUDGET"]

#: Every mode's name, in the order the app and the CLI list them.
MODES = tuple(m.value for m in Mode)


def analyze(graph: Graph, mode: str = Mode.OPTIMAL, exclude: Iterable[str] = (),
            unmerged: Iterable[str] = ()) -> Analysis:
    """Verdicts for every BN of ``graph`` in ``mode``, folding (and in ``reparam``
    merging) to a fixed point.

    In ``optimal`` mode BNs whose regions overlap (they compete: folding one
    may block another) are grouped, and for small groups every fold order is
    searched for the one removing the most BNs. ``exclude``: BN ids never to
    fold (used to roll back a fold whose verification failed); ``unmerged`` (mode
    ``reparam``): ids of nodes never to merge into a region (a merge that broke a
    runtime fusion). The input graph is never mutated.
    """
    try:
        mode = Mode(mode)
    except ValueError:
        raise ValueError(f"unknown mode {mode!r}; use one of {MODES}") from None
    if mode == Mode.REPARAM:
        return analyze_reparam(graph, exclude, unmerged)
    return analyze_folds(graph, mode, exclude)


def compare_modes(graph: Graph, modes: tuple[str, ...] = (Mode.ADJACENT, Mode.OPTIMAL)
                  ) -> dict[str, Analysis]:
    """The analyses of one graph in ``modes`` (by default ``adjacent`` and ``optimal``;
    add ``"reparam"`` for branch merging), keyed by the mode names as given."""
    return {mode: analyze(graph, mode) for mode in modes}
