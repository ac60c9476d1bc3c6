"""Re-apply a prefix of a fold plan, and find the first plan event that makes a prefix bad.

Both culprit searches of the pipeline use these: the roll-back of a fold that fails
verification (:mod:`.pipeline`) and the refusal of a fold or merge that breaks a runtime
fusion (:mod:`.fusion_guard`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..analysis.result import FoldStep
from ..model import LoadedModel
from .apply import replay
from .merge import MergeStep
from .reparam import effective_merges

E = TypeVar("E")


def write_model(loaded: LoadedModel, folded, removed, changed, merges) -> Any:
    """The frontend's write-back (``merges`` passed only when there are some)."""
    if merges:
        return loaded.frontend.write_back(loaded, folded, removed, changed, merges=merges)
    return loaded.frontend.write_back(loaded, folded, removed, changed)


def prefix_model(loaded: LoadedModel, events: Sequence[FoldStep | MergeStep]) -> Any:
    """The frontend's model after ``events`` (fold steps and merges, in plan order),
    weights included."""
    graph = loaded.graph
    steps = [e for e in events if isinstance(e, FoldStep)]
    log = [e for e in events if isinstance(e, MergeStep)]
    folded = replay(graph, steps, log)
    removed = [s.bn for s in steps]
    changed = list(dict.fromkeys(n for s in steps for n in (*s.emitters, *s.absorbers)
                                 if n not in removed and graph.has_node(n)))
    merges = effective_merges(graph, folded, log, set(removed))
    return write_model(loaded, folded, removed, changed, merges)


def first_culprit(events: Sequence[E], bad: Callable[[int], bool]) -> E | None:
    """``events[k - 1]`` for the smallest prefix length k with ``bad(k)`` (binary search;
    ``bad(0)`` is taken as False: the empty prefix is the original), or None when
    ``bad(len(events))`` is False."""
    if not events or not bad(len(events)):
        return None
    lo, hi = 1, len(events)
    while lo < hi:
        mid = (lo + hi) // 2
        if bad(mid):
            hi = mid
        else:
            lo = mid + 1
    return events[lo - 1]
