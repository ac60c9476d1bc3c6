"""Fold page panels: per-layer weight changes and the before/after graph."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from ..diffs import all_rel_changes, compare_region, diff_rows, layer_diffs, region_centres
from ..folding.pipeline import FoldResult
from ..render import to_dot
from ..render.status import OPTIMAL_ONLY
from ..safe_text import md_names, md_text
from . import graph_view, state
from .charts import affine_figure, norms_figure, rel_change_figure
from .errors import safe_call
from .tables import fitted_config

DIFF_FORMATS = {"ch": "%d", "max Δ": "%.3e", "median Δ": "%.3e"}
DIFF_HELP = {"role": "root: absorbs a BN's map; leaf: undoes it; merged: replaces a region's "
                     "convs (the full list: pick the layer under 'Changed layer')",
             "ch": "output channels",
             "max Δ": "largest relative change ‖W′[k] − W[k]‖ / ‖W[k]‖ over output channels k; "
                      "none for a merged conv (no single tensor before it: see its norms)",
             "median Δ": "median relative change over output channels"}


def _diffs(ctx: state.ModelContext, result: FoldResult) -> list:
    return state.per_result(ctx, result, "diffs", layer_diffs)


@st.fragment
def weight_changes(ctx: state.ModelContext, result: FoldResult) -> None:
    """Which layers changed and why, the BN maps (a, c), norms and relative changes."""
    a = result.analysis
    diffs = _diffs(ctx, result)
    if not diffs:
        st.info(f"Mode `{result.mode}` removed no BN, so no weight changed.")
        return
    merged = sum(bool(d.merged_from) for d in diffs)
    folds = len(diffs) - merged
    parts = []
    if folds:
        parts.append(f"{folds} by folds: each is a *root* (absorbs the BN's map) or a *leaf* "
                     "(undoes it so the function stays the same) of one or more folds")
    if merged:
        parts.append(f"{merged} merged conv{'s' if merged > 1 else ''}, each replacing a "
                     "region's convs and BNs (before: the region's convs)")
    st.markdown(f"**{len(diffs)} layer{'s' if len(diffs) != 1 else ''} changed** — "
                + "; ".join(parts) + ".")
    rows = diff_rows(diffs)
    # short texts only (canvas tables cut what is wider than a column): the full "why"
    # of a layer is under "Changed layer" below
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 height=min(38 + 35 * len(diffs), 320),
                 column_config=fitted_config(rows, pinned="layer", formats=DIFF_FORMATS, help=DIFF_HELP))
    left, right = st.columns(2)
    with left:
        if a.steps:
            _bn_map(ctx, result)
        else:
            st.caption("No BN was folded on its own: every removed BN was merged into a conv "
                       "(its norms are on the right).")
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
            before = (" Before: the region's convs together, √(Σ ‖W_i[k]‖²)." if d.merged_from
                      else "")
            st.caption("Why: " + md_text("; ".join(d.roles) or "edited") + before)
    values, owners = all_rel_changes(diffs)
    if values.size:
        st.plotly_chart(rel_change_figure(values, owners), width="stretch", key="fold_rel_chart")


def _bn_map(ctx: state.ModelContext, result: FoldResult) -> None:
    """The chosen folded BN's map (a, c), its roots and leaves."""
    a = result.analysis
    names = {s.bn: ctx.graph.node(s.bn).name for s in a.steps}
    bn = st.selectbox("Folded BN", list(names), format_func=names.get,
                      key=f"fold_bn_pick::{ctx.key}::{result.mode}")
    step = next(s for s in a.steps if s.bn == bn)
    st.plotly_chart(affine_figure(step.a, step.c, f"{names[bn]} — folded {step.direction}"),
                    width="stretch", key="fold_affine_chart")
    st.caption(f"Roots: {md_names(ctx.graph.node(r).name for r in step.roots) or '—'} · leaves: "
               f"{md_names(ctx.graph.node(x).name for x in step.leaves if x != bn) or '—'}")


def changed_notes(diffs: list) -> dict[str, str]:
    """Layer id -> which of its parameters the fold changed (``weights, bias``), or what
    a merged conv replaced."""
    out = {}
    for d in diffs:
        if d.merged_from:
            out[d.id] = f"merged from {len(d.merged_from)} conv" + ("s" if len(d.merged_from) > 1 else "")
            continue
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


#: Before/after graphs are drawn at this fixed scale: 11-pt labels at 13.75 CSS px, the
#: 9-pt input/output labels at 11.25 px (1.0 puts 11-pt labels at 11 px).
BA_ZOOM = 1.25
BA_HEIGHT = 520


def before_after_dots(ctx: state.ModelContext, result: FoldResult, centre: str, hops: int,
                      rankdir: str = "TB") -> tuple[str, str, str, str]:
    """DOT of the same region before and after the fold, and the node each view centres
    on: ``(before_dot, before_focus, after_dot, after_focus)``."""
    a = result.analysis
    before_ids, after_ids, after_focus = compare_region(a, centre, hops)
    merge = next((m for m in a.merges if m.conv_id == centre), None)
    if ctx.graph.has_node(centre):
        before_focus = centre
    else:
        inside = [n for n in (merge.bns if merge else ()) + (merge.nodes if merge else ())
                  if ctx.graph.has_node(n)]
        before_focus = inside[0] if inside else sorted(before_ids)[0]
    selected = centre if centre in ctx.statuses else None
    before = to_dot(ctx.graph, a, ctx.adjacent, focus=before_focus, only=before_ids,
                    selected=selected, rankdir=rankdir, legend=False, caption=False)
    after = to_dot(a.folded, a, None, focus=after_focus, only=after_ids, rankdir=rankdir,
                   legend=False, caption=False, changed=changed_notes(_diffs(ctx, result)))
    return before, before_focus, after, after_focus


@st.fragment
def before_after(ctx: state.ModelContext, result: FoldResult) -> None:
    """The same region before and after folding, side by side at the same scale."""
    centres = state.per_result(ctx, result, "centres", region_centres)
    if not centres:
        st.info(f"Mode `{result.mode}` removed no BN, so the graph did not change.")
        return
    # BNs that only `optimal` folds first: the interesting before/after.
    ids = sorted(centres, key=lambda b: getattr(ctx.statuses.get(b), "status", "") != OPTIMAL_ONLY)
    c1, c2, c3 = st.columns([2, 1, 1])
    centre = c1.selectbox("Region around", ids, key=f"ba_center::{ctx.key}::{result.mode}",
                          format_func=centres.get)
    hops = c2.slider("Hops", 1, 6, 2, key="ba_hops")
    rankdir = graph_view.LAYOUTS[c3.segmented_control(
        "Layout", list(graph_view.LAYOUTS), default="Top-down", key="ba_layout",
        required=True) or "Top-down"]
    drawn = safe_call("Drawing the region before and after", before_after_dots, ctx, result,
                      centre, hops, rankdir)
    if drawn is None:
        return
    before, before_focus, after, after_focus = drawn
    st.caption("Both sides draw the same nodes at the same scale. Before: dashed links join "
               "the BN to its roots and leaves. After: folded BNs are identities (dropped from "
               "the saved model), a merged region is one conv, and changed layers are outlined "
               "in purple.")
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Before** — around {md_text(centres[centre])}, {hops} hops")
        graph_view.show_graph(before, key="ba_before", height=BA_HEIGHT, focus=before_focus,
                              minimap=False, zoom=BA_ZOOM)
    with right:
        st.markdown(f"**After `{result.mode}`** — the same nodes")
        graph_view.show_graph(after, key="ba_after", height=BA_HEIGHT, focus=after_focus,
                              minimap=False, zoom=BA_ZOOM)
