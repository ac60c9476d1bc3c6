"""Quiz questions for the Learn page: random small graphs from the property-test generator.

No Streamlit here. A question is one BN of a random DAG
(:func:`inspector.builders.random_dags.random_dag`) with both modes' analyses.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis.verdict import Reason
from ..builders.random_dags import RngDraw, random_dag
from ..folding.plan import Analysis
from ..ir import EXPRESSIVE_OPS, Graph

#: Small graphs read well on screen and still show every rule.
MAX_OPS = 7
MAX_NODES = 14


@dataclass(frozen=True)
class QuizItem:
    """One question: which way (if any) does ``bn`` fold in ``graph``?"""

    seed: int
    graph: Graph
    analyses: dict[str, Analysis]
    bn: str


def _usable(graph: Graph) -> bool:
    linear = [n for n in graph.nodes if n.op in EXPRESSIVE_OPS and n.op not in ("batch_norm", "affine")]
    return bool(graph.bn_nodes()) and bool(linear) and len(graph) <= MAX_NODES


def draw_item(seed: int) -> QuizItem:
    """A question drawn deterministically from ``seed``: a graph with at least one
    BN and one linear layer, and one of its BNs (analysed in both modes)."""
    from ..folding.driver import compare_modes

    draw = RngDraw(seed)
    for _ in range(200):
        graph = random_dag(draw, min_ops=3, max_ops=MAX_OPS, max_bns=3)
        if not _usable(graph):
            continue
        bn = draw.sampled_from([n.id for n in graph.bn_nodes()])
        analyses = compare_modes(graph)
        # random DAGs end in many outputs: keep only a third of the "graph boundary"
        # answers so that the other rules come up as often
        if analyses["optimal"].verdicts[bn].reason_code != Reason.BOUNDARY or draw.integers(0, 2) == 0:
            break
    return QuizItem(seed, graph, analyses, bn)
