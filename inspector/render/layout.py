"""How much work Graphviz may do on a view, and the skeleton of very large views.

Measured on DenseNet-121 uncollapsed (433 nodes, 967 edges): the long concat
edges make ``dot`` build ~55k virtual nodes; crossing minimisation ~2.8 s,
x-placement ~2.4 s and spline routing ~3.7 s of CPU. A 1,500-node DenseNet
(~10,700 edges) runs for many minutes. Large views are therefore laid out on
a skeleton of short edges and drawn with every edge straight
(``inspector.render.svg.render_view``).
"""

from __future__ import annotations

from ..ir import Node
from .dotfmt import attrs

#: Above this many drawn units, cap Graphviz's crossing minimisation and network
#: simplex (an uncollapsed DenseNet-121 takes minutes in ``dot`` otherwise).
LARGE_VIEW = 150
#: Above this many drawn edges (in a large view) edges are straight lines:
#: spline routing is the slowest part of a DenseNet-sized layout.
STRAIGHT_EDGES = 600
#: Above this many drawn edges (in a large view without clusters) the layout is
#: computed on a skeleton (short edges only) and every edge is drawn straight:
#: the long concat edges of a DenseNet make ``dot`` build ~55k virtual nodes
#: (433 nodes) or run for many minutes (1,500 nodes, ~10,700 edges).
SKELETON_EDGES = 600
#: Skeleton edges span at most this many drawn units (in graph order), plus
#: each unit's in-edge from its latest producer.
SKELETON_SPAN = 16
#: Most drawn units (nodes or collapsed boxes) a view may have. Measured on
#: conv-BN-ReLU chains (skeleton layout, 2-core machine): 3,000 nodes ~20 s,
#: 6,000 ~45 s, 15,000 past the 120 s Graphviz timeout. Larger views are refused
#: before any layout work (issue 18.7).
MAX_DRAWN_UNITS = 5000


def too_many_units(units: int) -> str | None:
    """The one-line refusal for a view of ``units`` drawn units, or None if it may be drawn."""
    if units <= MAX_DRAWN_UNITS:
        return None
    return (f"the view has {units:,} nodes to draw, more than the renderer's limit of "
            f"{MAX_DRAWN_UNITS:,}. To fix this, draw a focus view (--focus NODE --hops N; in "
            "the app, a node's neighbourhood) or a collapsed view.")


def effort_limits(units: int, edges: int) -> list[str]:
    """DOT statements capping Graphviz's effort on a view of ``units`` and ``edges``.

    ``mclimit``/``nslimit`` bound crossing minimisation and placement; straight
    edges (``splines=line``) remove spline routing where a skeleton cannot be
    used (views with open clusters).
    """
    if units <= LARGE_VIEW:
        return []
    extra = {"splines": "line"} if edges > STRAIGHT_EDGES else {}
    return ["  graph " + attrs(nslimit="0.2", mclimit="0.3", **extra)]


def skeleton_edges(nodes: list[Node], unit: dict[str, str],
                    pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Edges spanning at most ``SKELETON_SPAN`` units, plus each unit's in-edge
    from its latest producer (graph order), so every node stays connected."""
    order: dict[str, int] = {}
    for n in nodes:
        order.setdefault(unit[n.id], len(order))
    best: dict[str, str] = {}
    keep = set()
    for u, v in pairs:
        if v not in best or order.get(u, -1) > order.get(best[v], -1):
            best[v] = u
        if 0 <= order.get(v, 0) - order.get(u, 0) <= SKELETON_SPAN:
            keep.add((u, v))
    return keep | {(u, v) for v, u in best.items()}
