"""Which nodes a view shows: module-hierarchy collapse and N-hop focus.

Scopes (``Node.scope``: torch module path or ONNX node name) are split on ``.``
and ``/``; the prefix at depth ``d`` keeps the first ``d`` parts with their
original separators (``/layer1/layer1.0/conv`` -> ``layer1`` at depth 1,
``layer1/layer1`` at depth 2, ``layer1/layer1.0`` at depth 3).
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass

from ..ir import Graph, Node

#: Graphs with fewer nodes are shown uncollapsed by default.
MAX_PLAIN_NODES = 150
#: A default collapsed view aims at no more boxes than this.
MAX_BOXES = 60

_PART = re.compile(r"[^./]+")


def scope_prefixes(scope: str) -> list[str]:
    """Cumulative prefixes of a scope, e.g. ``a.b/c`` -> ``[a, a.b, a.b/c]``."""
    start = len(scope) - len(scope.lstrip("./"))
    return [scope[start:m.end()] for m in _PART.finditer(scope)]


def scope_depth(graph: Graph) -> int:
    """The deepest scope in the graph (number of parts)."""
    return max((len(_PART.findall(n.scope)) for n in graph.nodes), default=0)


@dataclass(frozen=True)
class Grouping:
    """Result of collapsing: each node's box (None = shown itself) and clusters.

    ``clusters[node_id]`` lists the expanded prefixes around the node's unit,
    outermost first.
    """

    box: dict[str, str | None]
    clusters: dict[str, tuple[str, ...]]

    def members(self) -> dict[str, list[str]]:
        """Box prefix -> node ids in it (graph order)."""
        out: dict[str, list[str]] = {}
        for nid, prefix in self.box.items():
            if prefix is not None:
                out.setdefault(prefix, []).append(nid)
        return out

    def unit_count(self) -> int:
        """Number of drawn units: boxes plus nodes shown individually."""
        return len(self.members()) + sum(p is None for p in self.box.values())


def close_expand(expand: Iterable[str]) -> set[str]:
    """``expand`` plus every ancestor prefix (opening ``a.b`` opens ``a``)."""
    out: set[str] = set()
    for prefix in expand:
        out.update(scope_prefixes(prefix))
        out.add(prefix.lstrip("./"))
    return out


def group_nodes(
    nodes: Iterable[Node], depth: int, expand: Iterable[str] = (), force: Iterable[str] = ()
) -> Grouping:
    """Collapse ``nodes`` at ``depth``; prefixes in ``expand`` are opened one level.

    A prefix becomes a box only when it holds at least two nodes. Nodes whose id
    is in ``force`` are shown individually (their enclosing scopes are opened).
    """
    nodes = list(nodes)
    forced = set(force)
    opened = close_expand(
        [*expand, *(p for n in nodes if n.id in forced for p in scope_prefixes(n.scope)[:-1])]
    )
    box: dict[str, str | None] = {}
    clusters: dict[str, tuple[str, ...]] = {}
    for n in nodes:
        prefixes = scope_prefixes(n.scope)
        k = min(max(depth, 1), len(prefixes))
        around: list[str] = []
        while k and k <= len(prefixes) and prefixes[k - 1] in opened:
            around.append(prefixes[k - 1])
            k += 1
        inside = k and k <= len(prefixes) and n.id not in forced
        box[n.id] = prefixes[k - 1] if inside else None
        clusters[n.id] = tuple(around)
    sizes = Counter(p for p in box.values() if p is not None)
    for nid, prefix in box.items():
        if prefix is not None and sizes[prefix] < 2:
            box[nid] = None
    return Grouping(box, clusters)


def count_boxes(graph: Graph, depth: int) -> int:
    """How many units a view collapsed at ``depth`` draws."""
    return group_nodes(graph.nodes, depth).unit_count()


def default_view(graph: Graph) -> dict:
    """Suggested ``to_dot`` keyword arguments for a readable first view.

    No collapse under ``MAX_PLAIN_NODES`` nodes; otherwise the deepest (most
    detailed) collapse depth that draws at most ``MAX_BOXES`` units, or depth 1
    when none does. Example: ``to_dot(g, result, **default_view(g))``.
    """
    if len(graph) < MAX_PLAIN_NODES or scope_depth(graph) == 0:
        return {"collapse": False}
    return {"collapse": suggest_depth(graph)}


def suggest_depth(graph: Graph, max_boxes: int = MAX_BOXES) -> int:
    """The deepest collapse depth drawing at most ``max_boxes`` units (at least 1)."""
    best = 1
    for depth in range(1, scope_depth(graph) + 1):
        if count_boxes(graph, depth) > max_boxes:
            break
        best = depth
    return best


def neighbourhood(graph: Graph, center: str, hops: int) -> set[str]:
    """Ids within ``hops`` undirected data-edge hops of ``center`` (included)."""
    seen = {center}
    frontier = deque([(center, 0)])
    while frontier:
        nid, dist = frontier.popleft()
        if dist >= hops:
            continue
        node = graph.node(nid)
        for other in (*graph.predecessors(node), *graph.successors(node)):
            if other.id not in seen:
                seen.add(other.id)
                frontier.append((other.id, dist + 1))
    return seen


def matches(node: Node, text: str) -> bool:
    """Case-insensitive search on name, id, op kind and original op type."""
    needle = text.casefold()
    hay = (node.name, node.id, node.op, node.kind)
    return any(needle in h.casefold() for h in hay)
