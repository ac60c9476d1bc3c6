"""The annotated graph panel: view controls, DOT/SVG rendering and node clicks.

Large graphs start collapsed by module hierarchy (``render.default_view``);
boxes can be expanded (click or multiselect), a focus view shows the N-hop
neighbourhood of the selected node (plus every node its explanation names),
and a find box in the panel searches names and op types in the browser. With
Graphviz ``dot`` installed the SVG is rendered on the server and
is clickable; without it ``st.graphviz_chart`` lays the DOT out in the browser.

Layouts are cached per (model, view, direction) and never depend on the
selected BN: the browser restyles the SVG it has (``graph_component``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st

from ..folding.plan import Analysis
from ..ir import Graph
from ..render import default_view, dot_available, group_of, render_svg, render_view, to_dot
from ..render.dot import build_view
from ..render.highlight import highlight_map
from ..render.status import compute_statuses, legend_items
from ..render.views import scope_depth, scope_prefixes
from .errors import safe_call
from .graph_component import VIEWPORT_HEIGHT, clickable_svg, clicked_value

VIEWS = ("Collapsed", "Full", "Focus")
LAYOUTS = {"Top-down": "TB", "Left-right": "LR"}
#: Graphs up to this many nodes open in the full view (every node, readable
#: labels, pan/zoom); larger ones open collapsed by module.
FULL_DEFAULT_MAX = 500
#: Above this many nodes the full view warns that the first layout is slow.
FULL_VIEW_WARN = 800
#: Above this many nodes the full view is not laid out (Graphviz takes minutes).
FULL_VIEW_MAX = 2500
#: Seconds Graphviz may spend on one layout in the app.
SVG_TIMEOUT = 90.0


@dataclass
class ViewOptions:
    """What the user chose in the view controls."""

    rankdir: str = "TB"
    view: str = "Full"
    depth: int = 1
    expand: list[str] = field(default_factory=list)
    hops: int = 2
    search: str = ""
    focus: str | None = None
    shapes: bool = False


@st.cache_data(max_entries=64, show_spinner=False)
def svg_of(dot: str) -> tuple[str, float]:
    """Cached ``render_svg`` (DOT text is the key); also returns seconds taken."""
    t0 = time.perf_counter()
    svg = render_svg(dot, timeout=SVG_TIMEOUT)
    return svg, time.perf_counter() - t0


def expandable_prefixes(graph: Graph) -> list[str]:
    """Scope prefixes holding at least two nodes (the boxes one can open)."""
    counts: dict[str, int] = {}
    for n in graph.nodes:
        for p in scope_prefixes(n.scope):
            counts[p] = counts.get(p, 0) + 1
    return sorted(p for p, c in counts.items() if c >= 2)


def view_controls(graph: Graph, prefix: str, *, focus_id: str | None) -> ViewOptions:
    """Draw the layout / view controls in the sidebar (keys start with ``prefix``), so
    that the graph starts in the first screen. Finding nodes is in the graph panel."""
    default = default_view(graph)
    max_depth = max(scope_depth(graph), 1)
    k = f"{prefix}:"
    if f"{k}view" not in st.session_state:
        full = len(graph) <= FULL_DEFAULT_MAX or not default.get("collapse")
        st.session_state[f"{k}view"] = "Full" if full else "Collapsed"
    with st.sidebar:
        st.markdown("#### Graph view")
        layout = st.segmented_control("Layout", list(LAYOUTS), default="Top-down",
                                      key=f"{k}layout")
        view = st.segmented_control("View", VIEWS, key=f"{k}view", required=True)
        shapes = st.toggle("Tensor shapes on edges", key=f"{k}shapes")
        opts = ViewOptions(rankdir=LAYOUTS.get(layout or "Top-down", "TB"), view=view or "Full",
                           focus=focus_id, shapes=shapes)
        if opts.view == "Collapsed":
            auto = default.get("collapse")
            start = int(auto) if isinstance(auto, int) and not isinstance(auto, bool) else 1
            opts.depth = st.slider("Hierarchy depth", 1, max_depth, min(start, max_depth),
                                   key=f"{k}depth", disabled=max_depth == 1)
            opts.expand = st.multiselect("Expanded groups", expandable_prefixes(graph),
                                         key=f"{k}expand",
                                         placeholder="click a box or pick a group")
        elif opts.view == "Focus":
            opts.hops = st.slider("Neighbourhood (hops)", 1, 8, 2, key=f"{k}hops",
                                  help="Nodes this many edges away, plus every node the "
                                       "selected BN's explanation names.")
        elif len(graph) > FULL_VIEW_MAX:
            st.warning(f"The full graph has {len(graph)} nodes, too many to lay out "
                       "interactively (Graphviz needs minutes): showing the collapsed view. "
                       "Use the focus view for detail, or `bnfold svg` for a file.")
            opts.view, opts.depth = "Collapsed", int(default.get("collapse") or 1)
        elif len(graph) > FULL_VIEW_WARN:
            st.caption(f"The full graph has {len(graph)} nodes: its first layout takes a "
                       "while (then it is cached). The collapsed and focus views stay fast.")
    return opts


def view_kwargs(opts: ViewOptions) -> dict:
    """``to_dot`` keyword arguments of the chosen view (without the selection)."""
    kwargs: dict = {"rankdir": opts.rankdir, "search": opts.search or None,
                    "edge_shapes": opts.shapes}
    if opts.view == "Focus" and opts.focus is not None:
        # the focused BN's roots, leaves and blockers are drawn however far they are
        kwargs.update(focus=opts.focus, hops=opts.hops, selected=opts.focus)
    elif opts.view == "Collapsed":
        kwargs.update(collapse=opts.depth, expand=list(opts.expand))
    return kwargs


def make_dot(graph: Graph, optimal: Analysis, adjacent: Analysis | None, opts: ViewOptions,
             *, selected: str | None, title: str, legend: bool = True) -> str:
    """``to_dot`` with the chosen view."""
    kwargs = {"selected": selected, **view_kwargs(opts)}  # the focus view's own selection wins
    return to_dot(graph, optimal, adjacent, title=title, legend=legend, **kwargs)


@dataclass(frozen=True)
class Layout:
    """A laid-out view: SVG, per-BN highlight roles, legend rows and timings, the drawn
    unit of every shown node and the text the in-browser find searches per unit."""

    svg: str
    roles: dict
    legend: list
    dot_seconds: float
    layout_seconds: float
    units: dict = field(default_factory=dict)
    index: dict = field(default_factory=dict)
    rankdir: str = "TB"


def search_index(graph: Graph, units: dict[str, str]) -> dict[str, str]:
    """Drawn unit -> the names, ids and op types of the nodes it draws (a collapsed box
    holds many), lower-cased: what the graph panel's find matches (``views.matches``)."""
    out: dict[str, list[str]] = {}
    for n in graph.nodes:
        unit = units.get(n.id)
        if unit is not None:
            out.setdefault(unit, []).append(f"{n.name} {n.id} {n.op} {n.kind}")
    return {u: " | ".join(parts).casefold() for u, parts in out.items()}


def legend_rows(statuses: dict, with_adjacent: bool = True) -> list[dict]:
    """The status legend as rows for the HTML legend beside the graph."""
    from collections import Counter

    counts = Counter(s.color_key for s in statuses.values())
    items = legend_items({k for k, c in counts.items() if c}, with_adjacent=with_adjacent)
    return [{"label": it.label, "count": counts[it.key], "fill": it.colors.fill,
             "font": it.colors.font, "edge": it.colors.edge} for it in items]


@st.cache_data(max_entries=48, show_spinner=False)
def cached_layout(model_key: str, view: tuple, title: str, _graph: Graph,
                  _optimal: Analysis, _adjacent: Analysis | None) -> Layout:
    """The laid-out view, cached per (model key, view options): the DOT, the SVG and
    the highlight data of every BN. ``view`` is ``tuple(sorted(view_kwargs.items()))``
    with lists turned into tuples."""
    kwargs = {k: list(v) if isinstance(v, tuple) else v for k, v in view}
    t0 = time.perf_counter()
    drawn = build_view(_graph, _optimal, _adjacent, title=title, legend=False, **kwargs)
    statuses = compute_statuses(_graph, _optimal, _adjacent)
    t1 = time.perf_counter()
    svg = render_view(drawn, timeout=SVG_TIMEOUT)
    t2 = time.perf_counter()
    return Layout(svg, highlight_map(_graph, statuses, drawn.units),
                  legend_rows(statuses, _adjacent is not None), t1 - t0, t2 - t1,
                  dict(drawn.units), search_index(_graph, drawn.units),
                  str(kwargs.get("rankdir", "TB")))


def view_key_tuple(opts: ViewOptions) -> tuple:
    """Hashable cache key of a view."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                        for k, v in view_kwargs(opts).items()))


def show_layout(layout: Layout, *, key: str, selected: str | None = None,
                on_node: Callable[[str], None] | None = None,
                height: int | str = VIEWPORT_HEIGHT, goto: tuple[str, int] | None = None,
                **view) -> None:
    """Display a cached layout with pan/zoom, HTML legend and client-side highlight;
    ``goto = (node id, nonce)`` centres the panel on that node (or the box drawing it);
    ``view``: ``focus`` / ``minimap`` / ``zoom`` of :func:`clickable_svg`."""

    def _clicked() -> None:
        value = clicked_value(key)
        if value and on_node is not None:
            on_node(value)

    hint = ("wheel: zoom · drag: pan · click a node to select it, a box to open it · "
            "keys: + − 0 (1:1) f (fit) m (minimap) · Ctrl+F: find, Enter: next match"
            if on_node is not None else "wheel: zoom · drag: pan · hover for details")
    jump = None
    if goto is not None and goto[0] in layout.units:
        jump = {"id": layout.units[goto[0]], "n": goto[1]}
    clickable_svg(layout.svg, key=key, selected=selected, height=height, on_click=_clicked,
                  hint=hint, roles=layout.roles, legend=layout.legend, index=layout.index,
                  rankdir=layout.rankdir, goto=jump, **view)


def show_graph(dot: str, *, key: str, selected: str | None = None,
               height: int | str = VIEWPORT_HEIGHT,
               on_node: Callable[[str], None] | None = None,
               roles: dict | None = None, legend: list | None = None, **view) -> float | None:
    """Display DOT: clickable server SVG when ``dot`` exists, else browser layout;
    ``view``: ``focus`` / ``minimap`` / ``zoom`` of :func:`clickable_svg`.

    ``on_node(node_id)`` runs in a callback when a node is clicked. Returns the
    server render time in seconds (None for the browser fallback).
    """
    if not dot_available():
        st.graphviz_chart(dot, width="stretch")
        st.caption("Graphviz `dot` is not installed: the graph is laid out in the browser "
                   "(no clicks, no SVG export). To enable both: `apt-get install graphviz`.")
        return None
    rendered = safe_call("Rendering the graph", svg_of, dot)
    if rendered is None:
        return None
    svg, seconds = rendered
    show_layout(Layout(svg, roles or {}, legend or [], 0.0, seconds), key=key,
                selected=selected, on_node=on_node, height=height, **view)
    return seconds


def expand_group(prefix_key: str, node_id: str) -> bool:
    """If ``node_id`` is a collapsed box (``group:<prefix>``), open it. Callback-safe."""
    group = group_of(node_id)
    if group is None:
        return False
    key = f"{prefix_key}:expand"
    current = list(st.session_state.get(key, []))
    if group not in current:
        st.session_state[key] = [*current, group]
    return True
