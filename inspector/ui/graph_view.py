"""The annotated graph panel: view controls, DOT/SVG rendering and node clicks.

Large graphs start collapsed by module hierarchy (``render.default_view``);
boxes can be expanded (click or multiselect), a focus view shows the N-hop
neighbourhood of the selected node, and a search highlights nodes by name or
op type. With Graphviz ``dot`` installed the SVG is rendered on the server and
is clickable; without it ``st.graphviz_chart`` lays the DOT out in the browser.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st

from ..folding.plan import Analysis
from ..ir import Graph
from ..render import default_view, dot_available, group_of, render_svg, to_dot
from ..render.views import group_nodes, matches, scope_depth, scope_prefixes
from .errors import safe_call
from .graph_component import clickable_svg, clicked_value

VIEWS = ("Collapsed", "Full", "Focus")
LAYOUTS = {"Top-down": "TB", "Left-right": "LR"}
#: Above this many nodes the full (uncollapsed) view warns that layout is slow.
FULL_VIEW_WARN = 400
#: Above this many nodes the full view is not laid out (Graphviz takes minutes).
FULL_VIEW_MAX = 1000
#: A collapsed view that would open more units than this to show a selection
#: (e.g. a DenseNet BN whose leaves span a whole block) skips the highlight.
MAX_SELECTED_UNITS = 300
#: Seconds Graphviz may spend on one layout in the app.
SVG_TIMEOUT = 30.0


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
    """Draw layout / view / search controls (keys start with ``prefix``)."""
    default = default_view(graph)
    collapsed_default = bool(default.get("collapse"))
    max_depth = max(scope_depth(graph), 1)
    k = f"{prefix}:"
    if f"{k}view" not in st.session_state:
        st.session_state[f"{k}view"] = "Collapsed" if collapsed_default else "Full"
    c1, c2 = st.columns([1, 1.25])
    layout = c1.segmented_control("Layout", list(LAYOUTS), default="Top-down", key=f"{k}layout")
    view = c2.segmented_control("View", VIEWS, key=f"{k}view", required=True)
    search = st.text_input("Search nodes", key=f"{k}search",
                           placeholder="name or op type, e.g. relu or conv")
    opts = ViewOptions(rankdir=LAYOUTS.get(layout or "Top-down", "TB"), view=view or "Full",
                       search=search.strip(), focus=focus_id)
    if opts.search:
        found = [n.name for n in graph.nodes if matches(n, opts.search)]
        more = f" and {len(found) - 8} more" if len(found) > 8 else ""
        st.caption(f"🔍 {len(found)} nodes match `{opts.search}` (outlined twice on the graph; "
                   f"boxes show match counts): {', '.join(found[:8])}{more}" if found
                   else f"🔍 no node matches `{opts.search}`")
    if opts.view == "Collapsed":
        c1, c2 = st.columns([1, 3])
        auto = default.get("collapse")
        start = int(auto) if isinstance(auto, int) and not isinstance(auto, bool) else 1
        opts.depth = c1.slider("Hierarchy depth", 1, max_depth, min(start, max_depth),
                               key=f"{k}depth", disabled=max_depth == 1)
        opts.expand = c2.multiselect("Expanded groups", expandable_prefixes(graph),
                                     key=f"{k}expand", placeholder="click a box or pick a group")
    elif opts.view == "Focus":
        opts.hops = st.slider("Neighbourhood (hops)", 1, 8, 2, key=f"{k}hops")
        if focus_id is None:
            st.info("Select a BN (table, selectbox or a click on the graph) to focus on it.")
    elif len(graph) > FULL_VIEW_MAX:
        st.warning(f"The full graph has {len(graph)} nodes, too many to lay out interactively "
                   "(Graphviz needs minutes): showing the collapsed view. Use the focus view "
                   "for detail, or `bnfold svg` for a file.")
        opts.view, opts.depth = "Collapsed", int(default.get("collapse") or 1)
    elif len(graph) > FULL_VIEW_WARN:
        st.warning(f"The full graph has {len(graph)} nodes: layout takes several seconds. "
                   "The collapsed or focus view stays fast.")
    return opts


def selection_units(graph: Graph, optimal: Analysis, selected: str | None,
                    opts: ViewOptions) -> int:
    """How many units a collapsed view draws once the selection's scopes are opened."""
    if selected is None or opts.view != "Collapsed":
        return 0
    v = optimal.verdicts.get(selected)
    ids = [selected]
    if v is not None:
        ids += [*v.roots, *v.leaves] + ([v.blocking_node] if v.blocking_node else [])
    keep = [graph.node(i).scope for i in ids if graph.has_node(i)]
    return group_nodes(graph.nodes, opts.depth, [*opts.expand, *keep]).unit_count()


def make_dot(graph: Graph, optimal: Analysis, adjacent: Analysis | None, opts: ViewOptions,
             *, selected: str | None, title: str, legend: bool = True) -> str:
    """``to_dot`` with the chosen view."""
    kwargs: dict = {"rankdir": opts.rankdir, "selected": selected, "search": opts.search or None,
                    "title": title, "legend": legend}
    if opts.view == "Focus" and opts.focus is not None:
        kwargs.update(focus=opts.focus, hops=opts.hops)
    elif opts.view == "Collapsed":
        kwargs.update(collapse=opts.depth, expand=list(opts.expand))
    return to_dot(graph, optimal, adjacent, **kwargs)


def show_graph(dot: str, *, key: str, selected: str | None = None, height: int = 640,
               on_node: Callable[[str], None] | None = None) -> float | None:
    """Display DOT: clickable server SVG when ``dot`` exists, else browser layout.

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

    def _clicked() -> None:
        value = clicked_value(key)
        if value and on_node is not None:
            on_node(value)

    hint = ("click a BN to select it, a box to open it" if on_node is not None
            else "hover a node for details")
    clickable_svg(svg, key=key, selected=selected, height=height, on_click=_clicked, hint=hint)
    return seconds


def set_view(prefix_key: str, view: str) -> None:
    """Callback: switch the view (e.g. to "Focus")."""
    st.session_state[f"{prefix_key}:view"] = view


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
