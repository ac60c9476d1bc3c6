"""Inspect (landing page): metrics, annotated graph, BN table and BN details."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from inspector.folding.plan import Analysis
from inspector.render import build_view, render_view
from inspector.render.status import (
    BOTH,
    MERGED,
    NOT_FOLDABLE,
    OPTIMAL_ONLY,
    status_counts,
)
from inspector.report import node_count
from inspector.safe_text import md_code, md_text
from inspector.ui import bn_panel, exports, graph_view, state
from inspector.ui.errors import safe_call

#: Analyses the graph can be coloured by (compared with ``adjacent`` either way).
COLOUR_BY = {"optimal": "optimal", "reparam": "reparam"}
COLOUR_HELP = ("**optimal**: the necessary and sufficient condition (roots/leaves closure). "
               "**reparam**: optimal folding plus merging parallel branches into one conv "
               "(RepVGG, MobileOne; beyond the paper).")


def colour_by(ctx: state.ModelContext) -> tuple[str, Analysis, state.ModelContext]:
    """The analysis the graph, table and details follow, and the context whose
    ``statuses`` are those of that analysis (``merged`` BNs in ``reparam``)."""
    mode = st.segmented_control("Colour by", list(COLOUR_BY), format_func=COLOUR_BY.get,
                                default="optimal", key="inspect_mode", required=True,
                                help=COLOUR_HELP) or "optimal"
    if mode == "optimal":
        return mode, ctx.optimal, ctx
    return mode, ctx.analyses[mode], replace(ctx, statuses=ctx.mode_statuses[mode])


def view_key(ctx: state.ModelContext) -> str:
    """Prefix of the graph-view widget keys (one set per model)."""
    return f"inspect_view::{ctx.key}"


def metrics(ctx: state.ModelContext, mode: str = "optimal", shown: dict | None = None) -> None:
    """BN total, folded by each mode, not foldable, and the gap between modes.
    ``shown``: the statuses the graph is coloured by (``mode``; default ``ctx.statuses``):
    "Not foldable" (and, in ``reparam``, "Merged") count those, as the graph's title
    and legend do."""
    base = status_counts(ctx.statuses)
    c = status_counts(shown if shown is not None else ctx.statuses)
    adj, opt = ctx.adjacent.folded_count, ctx.optimal.folded_count
    cols = st.columns(6 if mode == "reparam" else 5)
    cols[0].metric("BN layers", len(ctx.statuses), help="batch-norm layers in the graph")
    cols[1].metric("Folded by adjacent", adj,
                   help="what PyTorch fx fuse, onnxruntime and onnxoptimizer do")
    cols[2].metric("Folded by optimal", opt,
                   help="the necessary and sufficient condition (roots/leaves closure)")
    cols[3].metric("Not foldable", c[NOT_FOLDABLE],
                   help="folded by neither mode; see the reasons" if mode == "optimal" else
                   f"left in place by mode {mode} (the graph's colours); see the reasons")
    cols[4].metric("Gap optimal − adjacent", opt - adj,
                   help=f"{base[OPTIMAL_ONLY]} BN folded only by optimal; {base[BOTH]} by both")
    if mode == "reparam":
        cols[5].metric("Merged", c[MERGED], help="removed by merging parallel branches into one "
                       "conv (mode reparam)")


def whole_svg(ctx: state.ModelContext, selected: str | None, shown: Analysis) -> bytes:
    """The whole-graph export: every node uncollapsed, statuses, tooltips, legend."""
    view = build_view(ctx.graph, shown, ctx.adjacent, selected=selected, title=ctx.name)
    return render_view(view).encode("utf-8")


def graph_panel(ctx: state.ModelContext, selected: str | None, shown: Analysis,
                mode: str = "optimal") -> None:
    """View controls, the pan/zoom graph (laid out once per view and mode, coloured by
    ``shown``) and the SVG downloads."""
    vk = view_key(ctx)
    clicked = st.session_state.get(f"{vk}:clicked_node")
    focus = selected or (clicked if clicked and ctx.graph.has_node(clicked) else None)
    opts = graph_view.view_controls(ctx.graph, vk, focus_id=focus)
    goto = st.session_state.pop(bn_panel.goto_key(vk), None)
    if opts.view == "Focus" and focus is None:
        st.info("Select a node to focus on: pick a BN above, click a row of the BN table, or "
                "click any node in the Full or Collapsed view.")
        return
    if not graph_view.dot_available():
        dot = safe_call("Building the graph view", graph_view.make_dot, ctx.graph, shown,
                        ctx.adjacent, opts, selected=selected, title=ctx.name)
        if dot is not None:
            graph_view.show_graph(dot, key=f"graph::{ctx.key}")
            exports.svg_download(ctx, dot, key=f"svg_view::{ctx.key}",
                                 label="This view (DOT)")
        return
    with st.spinner(f"Laying out {node_count(ctx.graph)} nodes…"):
        cache_key = ctx.key if mode == "optimal" else f"{ctx.key}::{mode}"
        layout = safe_call("Laying out the graph", graph_view.cached_layout, cache_key,
                           graph_view.view_key_tuple(opts), ctx.name, ctx.graph, shown,
                           ctx.adjacent)
    if layout is None:
        return
    if goto is not None and goto[0] not in layout.units:
        st.toast(f"{md_code(ctx.graph.node(goto[0]).name)} is not in this view: switch to the Full view.")
    graph_view.show_layout(layout, key=f"graph::{ctx.key}", selected=selected,
                           on_node=bn_panel.on_graph_node(ctx, vk), goto=goto)
    st.caption(f"{opts.view} view · layout {layout.layout_seconds:.2f} s (cached per view) · "
               "hover a node for its reason · Ctrl+F finds in the graph")
    c1, c2 = st.columns(2)
    with c1:
        st.download_button("Whole graph (SVG)", data=lambda: whole_svg(ctx, selected, shown),
                           file_name=f"{ctx.slug}.svg", mime=exports.MIME[".svg"],
                           key=f"svg_full::{ctx.key}", icon=":material/download:",
                           on_click="ignore", help="Every node uncollapsed, with statuses, "
                           "tooltips and the legend.")
    with c2:
        view_dot = graph_view.make_dot(ctx.graph, shown, ctx.adjacent, opts,
                                       selected=selected, title=ctx.name)
        exports.svg_download(ctx, view_dot, key=f"svg_view::{ctx.key}",
                             label=f"This view ({opts.view.lower()}, SVG)",
                             name=f"{ctx.slug}-view.svg")


def details(ctx: state.ModelContext, selected: str | None) -> None:
    """The selected BN's explanation, then the properties of the last clicked node."""
    bn_panel.detail_panel(ctx, selected, view_key(ctx))
    clicked = st.session_state.get(f"{view_key(ctx)}:clicked_node")
    shown = clicked if clicked and ctx.graph.has_node(clicked) else selected
    if shown is not None:
        with st.expander("Node properties", expanded=shown != selected):
            bn_panel.properties_panel(ctx, shown)


def render() -> None:
    ctx = state.current()
    st.title(":material/search: Inspect")
    if ctx is None:
        st.info("Pick a model in the sidebar: a bundled sample, an uploaded .onnx/.pt2 file or "
                "a zoo name.")
        return
    st.caption(f"**{md_text(ctx.name)}** — which batch-norm layers can be folded away, and why the "
               "others cannot.")
    top = st.container()
    base = ctx
    c1, c2 = st.columns([2, 5], vertical_alignment="bottom")
    with c1:
        mode, shown, ctx = colour_by(ctx)
    with top:  # drawn above the mode choice, counted in the chosen mode (one figure each)
        metrics(base, mode, ctx.statuses)
    with c2:
        selected = bn_panel.selector(ctx)
    with st.sidebar:
        beside = st.toggle("Details beside the graph", value=True, key="inspect_beside",
                           help="Off: the graph takes the whole width and the details go "
                                "below it.")
    if beside:
        left, right = st.columns([5, 2], gap="medium")
        with left:
            graph_panel(ctx, selected, shown, mode)
        with right, st.container(key="bnfold_details"):
            # sticky (assets/app.css): stays beside the graph while the page scrolls
            details(ctx, selected)
    else:
        graph_panel(ctx, selected, shown, mode)
        details(ctx, selected)
    st.subheader("Batch-norm layers")
    bn_panel.bn_table(ctx)


if __name__ == "__main__":
    render()
