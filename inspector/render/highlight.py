"""Client-side highlight data: for every BN, the drawn units of its fold roles.

The app lays a view out once and restyles it in the browser when a BN is
selected. ``highlight_map`` gives, per BN id, the DOT unit names (node ids, or
``group:<prefix>`` boxes in a collapsed view) of its roots, leaves and blocking
node, as drawn in one :class:`~inspector.render.dot.DotView`. A BN merged in
mode ``reparam`` has its merged region's nodes (its verdict's roots, the
``MergeStep.nodes``) under the role ``region`` instead.
"""

from __future__ import annotations

from ..ir import Graph
from .status import MERGED, BNStatus

#: Role names, as CSS classes on ``g.node`` (the same classes ``to_dot`` writes
#: for a server-side selection).
ROLES = ("selected", "root", "leaf", "blocking", "region")


def highlight_map(
    graph: Graph, statuses: dict[str, BNStatus], units: dict[str, str]
) -> dict[str, dict[str, list[str]]]:
    """BN id -> role -> drawn unit names (roles absent from the view are left out).

    Example: ``{"bn2": {"selected": ["bn2"], "root": ["conv2"], "leaf": ["conv3"]}}``.
    A unit that holds several roles (a box) is listed under each of them.
    """
    out: dict[str, dict[str, list[str]]] = {}
    for bn, status in statuses.items():
        if bn not in units:
            continue
        roles: dict[str, list[str]] = {"selected": [units[bn]]}
        v = status.verdict
        if v is not None:
            if status.status == MERGED:
                wanted = {"region": [x for x in v.roots if x != bn]}
            else:
                wanted = {"root": v.roots, "leaf": [x for x in v.leaves if x != bn],
                          "blocking": list(v.blocking_nodes)}
            for role, ids in wanted.items():
                drawn = list(dict.fromkeys(units[i] for i in ids if i in units and graph.has_node(i)))
                if drawn:
                    roles[role] = drawn
        out[bn] = roles
    return out
