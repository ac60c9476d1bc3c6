"""``to_dot``: the annotated graph as DOT text (for st.graphviz_chart or ``dot``).

Every IR node keeps its id as the DOT node name and as the SVG ``id``; BNs get
``class="bn status-<status> [reason-<code>]"`` and a tooltip with the reason
sentence. Views: whole graph, collapsed by module scope, or the N-hop focus
around one node; a selected BN shows its roots and leaves with dashed edges
(the paper's Figure 2) and the node that blocks it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ..folding.plan import Analysis
from ..ir import Graph, Node
from .dotfmt import attrs, q_id, q_title
from .layout import LARGE_VIEW, SKELETON_EDGES, effort_limits, skeleton_edges
from .properties import shape_text
from .status import (
    ADJACENT_ONLY,
    BOTH,
    FOLDED,
    MERGED,
    NOT_FOLDABLE,
    OPTIMAL_ONLY,
    UNANALYSED,
    BNStatus,
    compute_statuses,
)
from .styles import box_statement, fresh_name, legend_block, node_statement, stub_statement
from .views import Grouping, group_nodes, matches, neighbourhood, suggest_depth

RANKDIRS = ("TB", "LR", "BT", "RL")
_FONT = "Helvetica"


@dataclass(frozen=True)
class DotView:
    """A drawn view: its DOT text and the DOT unit that draws each shown node.

    ``units[node_id]`` is the node's own id, or the ``group:<prefix>`` box that
    holds it in a collapsed view; nodes outside a focus view are absent. The app
    uses it to highlight any BN's roots and leaves in the browser without a new
    layout (``inspector.render.highlight``).
    """

    dot: str
    units: dict[str, str]
    #: For very large views: the same DOT with only short edges (and each node's
    #: in-edge from its latest producer). ``render_view`` lays this skeleton out
    #: with ``dot`` and draws every edge straight between the placed nodes.
    skeleton: str | None = None


def to_dot(graph: Graph, optimal: Analysis, adjacent: Analysis | None = None,
           **options) -> str:
    """DOT text of ``graph`` annotated with the BN verdicts of both modes.

    Takes the arguments of :func:`build_view` and returns its ``dot``.

    Example: ``to_dot(g, analyze(g, "optimal"), analyze(g, "adjacent"), collapse=2)``.
    """
    return build_view(graph, optimal, adjacent, **options).dot


def build_view(
    graph: Graph,
    optimal: Analysis,
    adjacent: Analysis | None = None,
    *,
    rankdir: str = "TB",
    selected: str | None = None,
    collapse: bool | int = False,
    expand: Iterable[str] = (),
    focus: str | None = None,
    hops: int = 2,
    search: str | None = None,
    title: str | None = None,
    legend: bool = True,
    edge_shapes: bool = False,
    changed: dict[str, str] | None = None,
    only: Iterable[str] | None = None,
    caption: bool = True,
) -> DotView:
    """The annotated view of ``graph``: DOT text plus the node -> drawn unit map.

    Args:
        graph: the IR to draw (usually ``optimal.graph``).
        optimal / adjacent: the analyses; without ``adjacent`` BNs are only
            "folded" or "not foldable".
        rankdir: ``TB``, ``LR``, ``BT`` or ``RL``.
        selected: a node id; for a BN its roots/leaves get dashed links and the
            blocking node is marked. Their scopes are kept expanded.
        collapse: False, True (automatic depth) or a scope depth ``d``.
        expand: scope prefixes drawn open (as clusters) in a collapsed view.
        focus: a node id; only nodes within ``hops`` undirected hops are drawn,
            with ``…`` stubs where edges leave the view (overrides ``collapse``).
        search: case-insensitive text matched against name, id and op type.
        title: model name for the caption (default ``graph.name``).
        legend: draw the status legend (a compact column beside the graph).
        edge_shapes: label each data edge with its tensor shape (``1×64×56×56``).
        changed: node id -> short note (e.g. ``weights, bias``): layers a fold
            edited, outlined and labelled (the Fold page's after graph).
        only: with ``focus``: draw exactly these node ids (those in ``graph``), with
            ``…`` stubs, instead of the ``hops`` neighbourhood (the Fold page draws
            the same region before and after).
        caption: draw the title and BN counts above the graph.
    """
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {RANKDIRS}, got {rankdir!r}")
    for what, nid in (("selected", selected), ("focus", focus)):
        if nid is not None and not graph.has_node(nid):
            raise ValueError(f"{what}={nid!r} is not a node id of graph {graph.name!r}")
    statuses = compute_statuses(graph, optimal, adjacent)
    roles = _roles(graph, statuses, selected, search)
    for nid in changed or {}:
        if graph.has_node(nid):
            roles[nid].add("changed")
    if focus is not None and only is not None:
        shown = {n for n in only if graph.has_node(n)} | {focus}
        nodes = [n for n in graph.nodes if n.id in shown]
        grouping = Grouping({n.id: None for n in nodes}, {n.id: () for n in nodes})
        note = f"region around {graph.node(focus).name}"
    elif focus is not None:
        shown = neighbourhood(graph, focus, max(hops, 0)) | {
            n for n, r in roles.items() if r - {"match", "changed"}}
        nodes = [n for n in graph.nodes if n.id in shown]
        grouping = Grouping({n.id: None for n in nodes}, {n.id: () for n in nodes})
        note = f"focus: {max(hops, 0)} hops around {graph.node(focus).name}"
    elif collapse is not False and collapse != 0:
        depth = suggest_depth(graph) if collapse is True else int(collapse)
        keep = [n for n, r in roles.items() if r - {"match"}]
        nodes = list(graph.nodes)
        grouping = group_nodes(nodes, depth, expand, force=keep)
        note = f"collapsed at scope depth {depth}"
    else:
        nodes = list(graph.nodes)
        grouping = Grouping({n.id: None for n in nodes}, {n.id: () for n in nodes})
        note = ""
    title_text = caption_text(title or graph.name, statuses, adjacent is not None,
                              str(getattr(optimal, "mode", "optimal")))
    out = [
        f"digraph {q_title(title_text)} {{",
        "  graph " + attrs(
            id="bnfold-graph", rankdir=rankdir, bgcolor="#FFFFFF", fontname=_FONT,
            fontcolor="#222222", fontsize="16", labelloc="t", labeljust="l",
            label=(title_text + (f"\n{note}" if note else "")) if caption else None,
            nodesep="0.25", ranksep="0.35",
        ),
        "  node " + attrs(fontname=_FONT, fontsize="11", height="0.35", margin="0.1,0.04"),
        "  edge " + attrs(color="#666666", arrowsize="0.6", fontname=_FONT, fontsize="9"),
    ]
    taken = {n.id for n in graph.nodes}
    unit = _unit_names(grouping, taken)
    body = _body(nodes, grouping, unit, statuses, roles, changed or {})
    edges = _edges(graph, nodes, unit, edge_shapes)
    head = out + effort_limits(grouping.unit_count(), len(edges)) + body
    tail = []
    if focus is not None:
        tail += _stubs(graph, nodes, taken)
    if selected is not None and selected in statuses:
        tail += _fold_links(graph, statuses[selected], unit)
    if legend:
        tail += legend_block(statuses, adjacent is not None, taken, rankdir)
    tail.append("}")
    skeleton = None
    clustered = any(grouping.clusters.values())
    if grouping.unit_count() > LARGE_VIEW and len(edges) > SKELETON_EDGES and not clustered:
        keep = skeleton_edges(nodes, unit, [(u, v) for u, v, _ in edges])
        skeleton = "\n".join(head + [e for u, v, e in edges if (u, v) in keep] + tail) + "\n"
    return DotView("\n".join(head + [e for _, _, e in edges] + tail) + "\n", unit, skeleton)


def caption_text(model: str, statuses: dict[str, BNStatus], with_adjacent: bool,
                 mode: str = "optimal") -> str:
    """E.g. ``resnet18 — 20 BN: 20 folded by adjacent, 20 by optimal, 0 not foldable``."""
    c = Counter(s.status for s in statuses.values())
    text = f"{model} — {len(statuses)} BN: "
    if with_adjacent:
        text += (f"{c[BOTH] + c[ADJACENT_ONLY]} folded by adjacent, "
                 f"{c[BOTH] + c[OPTIMAL_ONLY]} by {mode}, {c[NOT_FOLDABLE]} not foldable")
    else:
        text += f"{c[FOLDED]} folded by {mode}, {c[NOT_FOLDABLE]} not foldable"
    if c[MERGED]:
        text += f", {c[MERGED]} merged"
    if c[UNANALYSED]:
        text += f", {c[UNANALYSED]} not analysed"
    return text


def _roles(
    graph: Graph, statuses: dict[str, BNStatus], selected: str | None, search: str | None
) -> dict[str, set[str]]:
    roles: dict[str, set[str]] = defaultdict(set)
    if search:
        for n in graph.nodes:
            if matches(n, search):
                roles[n.id].add("match")
    if selected is None:
        return roles
    roles[selected].add("selected")
    verdict = statuses[selected].verdict if selected in statuses else None
    if verdict is not None:
        for r in verdict.roots:
            if graph.has_node(r):
                roles[r].add("root")
        for leaf in verdict.leaves:
            if graph.has_node(leaf) and leaf != selected:
                roles[leaf].add("leaf")
        for blocker in verdict.blocking_nodes:
            if graph.has_node(blocker):
                roles[blocker].add("blocking")
    return roles


#: DOT names of collapsed boxes: ``group:<scope prefix>`` (plus ``#`` when taken).
GROUP_ID = "group:"


def group_of(dot_id: str) -> str | None:
    """The scope prefix a collapsed box's DOT name stands for; None for a node.

    Example: ``group_of("group:layer1#") == "layer1"``; ``group_of("conv1") is None``.
    """
    if not dot_id.startswith(GROUP_ID):
        return None
    return dot_id[len(GROUP_ID):].rstrip("#")


def _unit_names(grouping: Grouping, taken: set[str]) -> dict[str, str]:
    """Node id -> DOT name of the unit that draws it (itself or its box)."""
    boxes = {p: fresh_name(f"{GROUP_ID}{p}", taken) for p in grouping.members()}
    return {nid: boxes[p] if p is not None else nid for nid, p in grouping.box.items()}


def _body(
    nodes: list[Node], grouping: Grouping, unit: dict[str, str],
    statuses: dict[str, BNStatus], roles: dict[str, set[str]], notes: dict[str, str],
) -> list[str]:
    """Node and box statements, nested in clusters for opened scopes."""
    by_path: dict[tuple[str, ...], list[str]] = defaultdict(list)
    members = grouping.members()
    done: set[str] = set()
    for n in nodes:
        path = grouping.clusters[n.id]
        prefix = grouping.box[n.id]
        if prefix is None:
            stmt = node_statement(n.id, n, statuses.get(n.id), roles.get(n.id, set()),
                                  notes.get(n.id))
        elif prefix not in done:
            done.add(prefix)
            hits = sum("match" in roles.get(m, ()) for m in members[prefix])
            stmt = box_statement(unit[n.id], prefix, members[prefix], statuses, hits)
        else:
            continue
        by_path[path].append(stmt)
        for i in range(len(path)):
            by_path.setdefault(path[:i], [])
    return _emit_clusters(by_path, ())


def _emit_clusters(by_path: dict[tuple[str, ...], list[str]], path: tuple[str, ...]) -> list[str]:
    pad = "  " * (len(path) + 1)
    out = [pad + s for s in by_path.get(path, [])]
    children = [p for p in by_path if len(p) == len(path) + 1 and p[: len(path)] == path]
    for child in children:
        prefix = child[-1]
        out.append(f"{pad}subgraph {q_id('cluster:' + prefix)} {{")
        out.append(pad + "  graph " + attrs(
            id=f"cluster:{prefix}", class_="group-open", label=prefix, tooltip=prefix,
            style="rounded,dashed", color="#888888", fontcolor="#444444", fontsize="11",
        ))
        out += _emit_clusters(by_path, child)
        out.append(pad + "}")
    return out


def _edges(graph: Graph, nodes: list[Node], unit: dict[str, str],
           shapes: bool = False) -> list[tuple[str, str, str]]:
    """Data edges between drawn units, one per ordered pair: (tail, head, statement)."""
    seen: dict[tuple[str, str], list[str]] = {}
    for n in nodes:
        u = unit[n.id]
        for t in n.outputs:
            for c in graph.consumers(t):
                v = unit.get(c.id)
                if v is None or v == u:
                    continue
                seen.setdefault((u, v), []).append(t)
    out = []
    for (u, v), tensors in seen.items():
        shape = graph.shape(tensors[0])
        tip = tensors[0] + (f" {tuple(shape)}" if shape is not None else "")
        if len(tensors) > 1:
            tip = f"{len(tensors)} tensors, e.g. {tip}"
        label = shape_text(shape) if shapes and shape is not None else None
        out.append((u, v, f"  {q_id(u)} -> {q_id(v)} " + attrs(
            id=f"edge:{u}->{v}", class_="data", tooltip=tip, label=label)))
    return out


def _stubs(graph: Graph, nodes: list[Node], taken: set[str]) -> list[str]:
    """``…`` nodes for edges that leave a focus view."""
    shown = {n.id for n in nodes}
    out = []
    for n in nodes:
        ins = {p.id for p in graph.predecessors(n)} - shown
        outs = {s.id for s in graph.successors(n)} - shown
        for hidden, upstream in ((ins, True), (outs, False)):
            if not hidden:
                continue
            stub = fresh_name(f"stub:{'in' if upstream else 'out'}:{n.id}", taken)
            out.append("  " + stub_statement(stub, len(hidden), upstream))
            a, b = (stub, n.id) if upstream else (n.id, stub)
            out.append(f"  {q_id(a)} -> {q_id(b)} " + attrs(
                id=f"edge:{a}->{b}", class_="stub-edge", style="dotted", color="#AAAAAA"))
    return out


def _fold_links(graph: Graph, status: BNStatus, unit: dict[str, str]) -> list[str]:
    """Dashed, non-constraining edges from the selected BN to its roots and leaves."""
    v = status.verdict
    if v is None:
        return []
    src = unit.get(status.bn, status.bn)
    out = []
    for role, ids in (("root", v.roots), ("leaf", v.leaves)):
        for nid in ids:
            if nid == status.bn or nid not in unit:
                continue
            dst = unit[nid]
            out.append(f"  {q_id(src)} -> {q_id(dst)} " + attrs(
                id=f"fold:{role}:{status.bn}->{nid}", class_=f"fold-link {role}-link",
                style="dashed", constraint="false", color="#000000", penwidth="1.5",
                arrowhead="none" if role == "leaf" else "normal",
                tooltip=f"{role}: {graph.node(nid).name}",
            ))
    return out
