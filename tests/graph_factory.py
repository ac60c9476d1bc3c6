"""Test-side access to the IR builders and the hypothesis strategy for random DAGs.

    from tests.graph_factory import GraphBuilder, random_dags

The builders and the generator live in :mod:`inspector.builders` (the Learn
page's quiz draws from it too); here they are re-exported and the
generator is driven by hypothesis so that failing graphs shrink, with the
builder script attached to every failing example via ``note``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import note
from hypothesis import strategies as st

from inspector.builders import (  # noqa: F401
    MAX_CHANNELS,
    MAX_SPATIAL,
    GraphBuilder,
    ScriptedGraph,
    graph_summary,
    random_dag,
)
from inspector.ir import Graph


class HypothesisDraw:
    """:class:`~inspector.builders.random_dags.Draw` backed by a hypothesis ``draw``."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def integers(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def sampled_from(self, options: Sequence[Any]) -> Any:
        return self.draw(st.sampled_from(options))

    def booleans(self) -> bool:
        return self.draw(st.booleans())

    def subset(self, options: Sequence[Any], min_size: int, max_size: int) -> list[Any]:
        return self.draw(st.lists(st.sampled_from(options), min_size=min_size,
                                  max_size=max_size, unique=True))


@st.composite
def random_dags(draw: st.DrawFn, min_ops: int = 3, max_ops: int = 12, max_bns: int = 6,
                extended: bool = False) -> Graph:
    """Random IR DAGs (see :func:`inspector.builders.random_dags.random_dag`)."""
    graph = random_dag(HypothesisDraw(draw), min_ops, max_ops, max_bns, extended)
    note(graph.script)
    return graph
