"""Fold page panels: per-layer weight changes and the before/after graph."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from ..diffs import all_rel_changes, diff_rows, layer_diffs
from ..folding.pipeline import FoldResult
from ..render import to_dot
from ..render.status import OPTIMAL_ONLY
from ..safe_text import md_names, md_text
from . import graph_view, state
from .charts import affine_figure, norms_figure, rel_change_figure
from .errors import safe_call


def _diffs(ctx: state.ModelContext, result: FoldResult) -> list:
    return state.per_result(ctx, result, "diffs", layer_diffs)


@st.fragment
def weight_changes(ctx: state.ModelContext, result: FoldResult) -> None:
    """Which layers changed and why, the BN maps (a, c), norms and relative changes."""
    a = result.analysis
    if not a.steps:
        st.info("No BN was folded in this mode, so no weight changed.")
        return
    diffs = _diffs(ctx, result)
    st.markdown(f"**{len(diffs)} layers changed** — each is a *root* (absorbs the BN's map) or "
                "a *leaf* (undoes it so the function stays the same) of one or more folds.")
    st.dataframe(pd.DataFrame(diff_rows(diffs)), hide_index=True, width="stretch",
                 height=min(38 + 35 * len(diffs), 320),
                 column_config={"max rel. change": st.column_config.NumberColumn(format="%.3e"),
                                "median rel. change": st.column_config.NumberColumn(format="%.3e"),
                                "why": st.column_config.TextColumn(width="large")})
    left, right = st.columns(2)
    with left:
        names = {s.bn: ctx.graph.node(s.bn).name for s in a.steps}
        bn = st.selectbox("Folded BN", list(names), format_func=names.get, key=f"fold_bn_pick::{ctx.key}::{result.mode}")
        step = next(s for s in a.steps if s.bn == bn)
        st.plotly_chart(affine_figure(step.a, step.c, f"{names[bn]} — folded {step.direction}"),
                        width="stretch", key="fold_affine_chart")
        leaves = [x for x in step.leaves if x != bn]
        st.caption(f"Roots: {md_names(ctx.graph.node(r).name for r in step.roots)} · "
                   f"leaves: {md_names(ctx.graph.node(x).name for x in leaves)}")
    with right:
        by_id = {d.id: d for d in diffs if d.norm_before.size}
        if by_id:
            layer_labels = {i: f"{d.name} ({d.op})" for i, d in by_id.items()}  # no closure
            lid = st.selectbox("Changed layer", list(by_id), key=f"fold_layer_pick::{ctx.key}::{result.mode}",
                               format_func=lambda i: layer_labels.get(i, str(i)))
            d = by_id[lid]
            st.plotly_chart(norms_figure(d.norm_before, d.norm_after, f"{d.name}: weight norm "
                                         "per output channel"), width="stretch",
                            key="fold_norms_chart")
            st.caption("Why: " + md_text("; ".join(d.roles) or "edited"))
    values, owners = all_rel_changes(diffs)
    if values.size:
        st.plotly_chart(rel_change_figure(values, owners), width="stretch", key="fold_rel_chart")


def changed_notes(diffs: list) -> dict[str, str]:
    """Layer id -> which of its parameters the fold changed (``weights, bias``)."""
    out = {}
    for d in diffs:
        parts = []
        if d.rel_change.size and d.max_rel_change > 0:
            parts.append("weights")
        if d.bias_created:
            parts.append("bias added")
        elif d.bias_before.shape != d.bias_after.shape or (
                d.bias_after.size and not np.array_equal(d.bias_before, d.bias_after)):
            parts.append("bias")
        out[d.id] = "changed: " + (", ".join(parts) or "parameters")
    return out


@st.fragment
def before_after(ctx: state.ModelContext, result: FoldResult) -> None:
    """The neighbourhood of one BN before and after folding, side by side."""
    a = result.analysis
    folded_ids = [s.bn for s in a.steps] or list(ctx.statuses)
    if not folded_ids:
        st.info("No BN in this model.")
        return
    # BNs that only `optimal` folds first: the interesting before/after.
    folded_ids.sort(key=lambda b: getattr(ctx.statuses.get(b), "status", "") != OPTIMAL_ONLY)
    c1, c2, c3 = st.columns([2, 1, 1])
    labels = {i: ctx.graph.node(i).name for i in folded_ids}  # no closure over the model
    center = c1.selectbox("Region around", folded_ids, key=f"ba_center::{ctx.key}::{result.mode}",
                          format_func=lambda i: labels.get(i, str(i)))
    hops = c2.slider("Hops", 1, 6, 2, key="ba_hops")
    rankdir = graph_view.LAYOUTS[c3.segmented_control(
        "Layout", list(graph_view.LAYOUTS), default="Top-down", key="ba_layout",
        required=True) or "Top-down"]
    before = safe_call("Drawing the original graph", to_dot, ctx.graph, ctx.optimal, ctx.adjacent,
                       focus=center, hops=hops, selected=center, rankdir=rankdir,
                       title=f"{ctx.name} — before", legend=False)
    changed = changed_notes(_diffs(ctx, result)) if a.steps else {}
    after = safe_call("Drawing the folded graph", to_dot, a.folded, a, None, focus=center,
                      hops=hops, rankdir=rankdir, legend=False, changed=changed,
                      title=f"{ctx.name} — after {result.mode} folding")
    left, right = st.columns(2)
    with left:
        st.markdown("**Before** — dashed links: the selected BN's roots and leaves")
        if before:
            graph_view.show_graph(before, key="ba_before", height=520)
    with right:
        st.markdown("**After** — folded BNs are identities (dropped from the saved model); "
                    "layers whose weights or bias changed are outlined in purple")
        if after:
            graph_view.show_graph(after, key="ba_after", height=520)
