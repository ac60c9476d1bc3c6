"""Inspect (landing page): metrics, annotated graph, BN table and BN details."""

from __future__ import annotations

import streamlit as st

from inspector.render.status import BOTH, NOT_FOLDABLE, OPTIMAL_ONLY, status_counts
from inspector.ui import bn_panel, exports, graph_view, state
from inspector.ui.errors import safe_call


def view_key(ctx: state.ModelContext) -> str:
    """Prefix of the graph-view widget keys (one set per model)."""
    return f"inspect_view::{ctx.key}"


def metrics(ctx: state.ModelContext) -> None:
    """BN total, folded by each mode, not foldable, and the gap between modes."""
    c = status_counts(ctx.statuses)
    adj, opt = ctx.adjacent.folded_count, ctx.optimal.folded_count
    cols = st.columns(5)
    cols[0].metric("BN layers", len(ctx.statuses), help="batch-norm layers in the graph")
    cols[1].metric("Folded by adjacent", adj,
                   help="what PyTorch fx fuse, onnxruntime and onnxoptimizer do")
    cols[2].metric("Folded by optimal", opt, delta=f"+{opt - adj} vs adjacent" if opt > adj else None,
                   help="the necessary and sufficient condition (roots/leaves closure)")
    cols[3].metric("Not foldable", c[NOT_FOLDABLE], help="folded by neither mode; see the reasons")
    cols[4].metric("Gap optimal − adjacent", opt - adj,
                   help=f"{c[OPTIMAL_ONLY]} BN folded only by optimal; {c[BOTH]} by both")


def graph_panel(ctx: state.ModelContext, selected: str | None) -> None:
    vk = view_key(ctx)
    clicked = st.session_state.get(f"{vk}:clicked_node")
    focus = selected or (clicked if clicked and ctx.graph.has_node(clicked) else None)
    opts = graph_view.view_controls(ctx.graph, vk, focus_id=focus)
    highlight = selected
    units = graph_view.selection_units(ctx.graph, ctx.optimal, selected, opts)
    if units > graph_view.MAX_SELECTED_UNITS:
        highlight = None
        st.info(f"The selected BN's roots and leaves are spread over {units} boxes: the "
                "collapsed view does not open them all. The focus view shows them highlighted.")
        st.button("Open the focus view", key=f"{vk}:to_focus", on_click=graph_view.set_view,
                  args=(vk, "Focus"))
    dot = safe_call("Building the graph view", graph_view.make_dot, ctx.graph, ctx.optimal,
                    ctx.adjacent, opts, selected=highlight, title=ctx.name)
    if dot is None:
        return
    seconds = graph_view.show_graph(dot, key=f"graph::{ctx.key}", selected=selected,
                                    on_node=bn_panel.on_graph_node(ctx, vk))
    note = f"server layout {seconds:.2f} s" if seconds is not None else "browser layout"
    st.caption(f"Hover a node for its reason · click a BN to select it, a box to open it · {note}")
    c1, c2 = st.columns(2)
    with c1:
        exports.svg_download(ctx, dot, key=f"svg_view::{ctx.key}", label="Download this view (SVG)",
                             name=f"{ctx.slug}-view.svg")
    with c2:
        if len(ctx.graph) >= 150:
            full = safe_call("Building the export view", exports.export_dot, ctx, selected)
            if full is not None:
                exports.svg_download(ctx, full, key=f"svg_full::{ctx.key}",
                                     label="Download whole graph (SVG)")


def render() -> None:
    ctx = state.current()
    st.title(":material/search: Inspect")
    if ctx is None:
        st.info("Pick a model in the sidebar: a bundled sample, an uploaded .onnx/.pt2 file or "
                "a zoo name.")
        return
    st.caption(f"**{ctx.name}** — which batch-norm layers can be folded away, and why the "
               "others cannot.")
    metrics(ctx)
    selected = bn_panel.selector(ctx)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        graph_panel(ctx, selected)
    with right:
        bn_panel.detail_panel(ctx, selected)
    st.subheader("Batch-norm layers")
    bn_panel.bn_table(ctx)


if __name__ == "__main__":
    render()
