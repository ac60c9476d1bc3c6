"""BN selection (selectbox, table, graph click), the BN table and the detail panel."""

from __future__ import annotations

import html
import time

import pandas as pd
import streamlit as st

from ..analysis.verdict import Status
from ..explain import affine_summary, bn_rows, explain, named_nodes
from ..render.properties import node_properties
from ..render.status import STATUS_COLORS
from ..safe_text import md_code, md_text
from . import state
from .charts import affine_figure
from .tables import fitted_config

#: The BN table's columns: short texts and counts, so that it fits the page (canvas
#: tables cut what is wider than a column); the roots and leaves by name are in the
#: detail panel and on the graph.
TABLE_COLUMNS = ["name", "status", "direction", "roots", "leaves", "reason"]
TABLE_HELP = {"roots": "how many layers absorb the BN's map (names: select the row)",
              "leaves": "how many layers undo the BN's map (names: select the row)",
              "reason": "why it does not fold (the full explanation: select the row)"}
#: Markdown icons per status (Streamlit's own icon font, coloured).
STATUS_ICONS = {Status.BOTH: ":green[:material/check_circle:]",
                Status.OPTIMAL_ONLY: ":blue[:material/add_circle:]",
                Status.NOT_FOLDABLE: ":orange[:material/block:]",
                Status.FOLDED: ":green[:material/check_circle:]",
                Status.MERGED: ":yellow[:material/merge:]"}  # the graph draws merged BNs yellow


def status_badge(status) -> str:
    """A markdown badge for a BN status: coloured icon plus words."""
    return f"{STATUS_ICONS.get(status.status, ':gray[:material/help:]')} " \
        f"{status.status.words}"


def status_swatch(status) -> str:
    """HTML: a swatch in the BN's graph colour (the same fill as its node) and the
    status words, e.g. for a merged BN the graph's yellow."""
    colors = STATUS_COLORS[status.color_key]
    return (f'<span class="bnfold-status"><span class="bnfold-swatch" style="background:'
            f'{colors.fill};border-color:{colors.edge}"></span>'
            f"{html.escape(status.status.words)}</span>")


#: Words of each "go to" role in the BN panel.
GOTO_ROLES = {"blocker": "blocks it", "root": "root", "leaf": "leaf", "region": "merged region"}


def goto_key(view_key: str) -> str:
    """Session key of the pending "go to" jump of a graph: ``(node id, nonce)``."""
    return f"{view_key}:goto"


def goto_links(ctx: state.ModelContext, bn_id: str, view_key: str) -> None:
    """One "go to" pill per node the explanation names; a click centres the graph on it."""
    targets = named_nodes(ctx.graph, ctx.statuses[bn_id])
    if not targets:
        return
    roles: dict[str, str] = {}
    for role, nid in targets:
        roles.setdefault(nid, role)
    key = f"goto_pick::{ctx.key}::{bn_id}"

    def jump() -> None:
        nid = st.session_state.get(key)
        if nid:
            st.session_state[goto_key(view_key)] = (nid, time.time_ns())
            st.session_state[f"{view_key}:clicked_node"] = nid
        st.session_state[key] = None  # the same pill can be clicked again

    st.pills("Go to on the graph", list(roles), key=key, on_change=jump,
             format_func=lambda nid: f"{md_text(ctx.graph.node(nid).name, wrap=True)} · {GOTO_ROLES[roles[nid]]}",
             help="Centres the graph on the node (or the box that holds it) and flashes it.")


def on_graph_node(ctx: state.ModelContext, view_key: str):
    """Callback factory: a clicked BN becomes the selection; a box expands.

    Callbacks never close over the model: Streamlit keeps a widget's callback as
    long as it keeps the widget's metadata, which would keep the model with it."""
    from .graph_view import expand_group

    def handle(node_id: str) -> None:
        if expand_group(view_key, node_id):
            return
        ctx = state.current()
        if ctx is None:
            return
        if node_id in ctx.statuses:
            state.select_bn(ctx, node_id)
        if ctx.graph.has_node(node_id):
            st.session_state[f"{view_key}:clicked_node"] = node_id

    return handle


def selector(ctx: state.ModelContext) -> str | None:
    """The "Selected BN" selectbox (type to search); returns the BN id."""
    ids = list(ctx.statuses)
    key = state.selection_key(ctx)
    if st.session_state.get(key) not in ids:
        st.session_state[key] = None

    # Labels, not a closure over ctx: Streamlit keeps a widget's format_func, and with
    # it the whole model, for as long as it keeps the widget's metadata.
    labels = {i: f"{ctx.graph.node(i).name}  —  {ctx.statuses[i].status.words}" for i in ids}
    return st.selectbox("Selected BN (type to search)", ids, key=key, format_func=lambda i: labels.get(i, str(i)),
                        placeholder=f"choose one of {len(ids)} BNs…")


def bn_table(ctx: state.ModelContext) -> None:
    """The BN table, filterable by status; selecting a row selects the BN."""
    rows = bn_rows(ctx.graph, ctx.statuses)
    if not rows:
        st.info("This model has no batch-norm layers.")
        return
    for row in rows:  # counts: the names are in the detail panel
        v = ctx.statuses[row["id"]].verdict
        row["roots"] = len(v.roots) if v else 0
        row["leaves"] = len([x for x in v.leaves if x != row["id"]]) if v else 0
    df = pd.DataFrame(rows)
    present = list(dict.fromkeys(df["status"]))
    chosen = st.pills("Filter by status", present, selection_mode="multi", default=present,
                      key=f"bn_filter::{ctx.key}")
    view = df[df["status"].isin(chosen or [])].reset_index(drop=True)
    ids_key = f"bn_table_ids::{ctx.key}"
    st.session_state[ids_key] = list(view["id"])
    table_key = f"bn_table::{ctx.key}"

    def on_select() -> None:  # no closure over ctx (see on_graph_node)
        sel = st.session_state.get(table_key)
        rows_sel = list(getattr(getattr(sel, "selection", None), "rows", []) or
                        ((sel or {}).get("selection", {}).get("rows", []) if isinstance(sel, dict) else []))
        ids = st.session_state.get(ids_key, [])
        current = state.current()
        if rows_sel and rows_sel[0] < len(ids) and current is not None:
            state.select_bn(current, ids[rows_sel[0]])

    st.dataframe(
        view[TABLE_COLUMNS], key=table_key, on_select=on_select, selection_mode="single-row",
        hide_index=True, width="stretch", height=min(38 + 35 * len(view), 420),
        column_config=fitted_config(df[TABLE_COLUMNS].to_dict("records"), pinned="name",
                                    formats={"roots": "%d", "leaves": "%d"}, help=TABLE_HELP),
    )
    st.caption(f"{len(view)} of {len(df)} BNs shown · click a row to select it")


def detail_panel(ctx: state.ModelContext, bn_id: str | None, view_key: str | None = None) -> None:
    """Plain-words explanation of the selected BN, "go to" links to every node it names
    (when ``view_key`` names the graph), its roots/leaves and its map."""
    if bn_id is None:
        st.info("Select a BN (table row, selectbox or a click on the graph) to see why it "
                "folds or not. Its roots and leaves are then outlined on the graph with dashed "
                "links, and the node that blocks it is outlined in red.")
        return
    s = ctx.statuses[bn_id]
    node = ctx.graph.node(bn_id)
    st.markdown(f"#### {md_code(node.name)}")
    # The swatch is the app's own HTML; names stay out of raw HTML (Markdown, escaped).
    st.html(f'<div class="bnfold-badge">{status_swatch(s)}</div>')
    st.markdown(f"op {md_code(node.kind)} · scope {md_code(node.scope or '—')}")
    adjacent = ctx.adjacent.verdicts.get(bn_id)
    for paragraph in explain(ctx.graph, s, adjacent):
        st.markdown(paragraph)
    if view_key is not None:
        goto_links(ctx, bn_id, view_key)
    info = affine_summary(ctx.graph, bn_id)
    if info is not None and info["channels"]:
        lo, hi = info["a_range"]
        st.caption(f"{info['channels']} channels · a in [{lo:.3g}, {hi:.3g}] · "
                   f"{info['negative']} negative, {info['zero']} zero")
        with st.expander("Per-channel map BN(x) = a·x + c", expanded=False):
            st.plotly_chart(affine_figure(info["a"], info["c"], node.name), width="stretch",
                            key=f"affine::{ctx.key}::{bn_id}")


def properties_panel(ctx: state.ModelContext, node_id: str | None) -> None:
    """Netron-like properties of any node: op, attributes, tensors, parameters. Lines of
    text rather than tables: the panel is narrow, and names wrap at their dots instead
    of being cut by a column."""
    if node_id is None or not ctx.graph.has_node(node_id):
        return
    p = node_properties(ctx.graph, node_id)
    st.markdown(f"##### Properties of {md_code(p['name'])}")
    st.caption(f"op {md_code(p['op'])} · kind {md_code(p['kind'])} · "
               f"scope {md_code(p['scope'] or '—')}")
    for title, lines in (("Inputs", [_tensor_line(r, "from") for r in p["inputs"]]),
                         ("Outputs", [_tensor_line(r, "to") for r in p["outputs"]]),
                         ("Attributes", [f"{md_code(r['attribute'])} = {md_code(r['value'])}"
                                         for r in p["attributes"]]),
                         ("Parameters", [_param_line(r) for r in p["parameters"]])):
        if lines:
            st.markdown(f"**{title}**\n\n" + "\n".join(f"- {prop_line}" for prop_line in lines))
    info = affine_summary(ctx.graph, node_id) if node_id in ctx.statuses else None
    if info is not None and info["channels"]:
        a_lo, a_hi = info["a_range"]
        c = info["c"]
        st.caption(f"BN map: a in [{a_lo:.3g}, {a_hi:.3g}], c in [{float(c.min()):.3g}, "
                   f"{float(c.max()):.3g}] over {info['channels']} channels")


def _tensor_line(row: dict, side: str) -> str:
    """``tensor`` · shape · from/to ``node`` (Markdown, names escaped)."""
    return f"{md_code(row['tensor'])} · {md_text(row['shape'])} · {side} {md_text(row[side], wrap=True)}"


def _param_line(row: dict) -> str:
    """``weight`` · shape dtype · min … max, mean ± std (Markdown, names escaped)."""
    line = f"{md_code(row['parameter'])} · {md_text(row['shape'])} {md_text(row['dtype'])}"
    if "min" in row:
        line += (f" · {row['min']:.3g} … {row['max']:.3g}, mean {row['mean']:.3g} ± "
                 f"{row['std']:.3g}")
    return line
