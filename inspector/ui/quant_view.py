"""Fold page panel: what folding does to int8 weight quantization (``inspector.quant``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ..folding.pipeline import FoldResult
from ..quant import DROP_THRESHOLD_DB, LayerQuant, quant_impact
from ..safe_text import md_names
from . import state
from .tables import fit_widths

EXPLAIN = (
    "Folding multiplies output channel *k* of each root by a_k = γ_k / √(σ²_k + ε). When the "
    "a_k differ a lot, the per-channel weight ranges spread apart, and **per-tensor** int8 "
    "quantization (one scale set by the widest channel) leaves the narrow channels few levels. "
    "**Per-channel** quantization is not affected. Figures: symmetric int8, scale = max|W| / 127; "
    f"SQNR = 10·log10(ΣW² / Σ(W − Q(W))²). Layers losing more than {DROP_THRESHOLD_DB:g} dB of "
    "per-tensor SQNR (about one bit) are flagged: quantize them per channel."
)


#: The table's columns and their help (short headers: the table fits 1280 px).
COLUMN_HELP = {
    "layer": "the changed layer (for a merged region: the conv that replaces it)",
    "ch": "output channels",
    "range spread": "max / min over output channels of the weight range max|W[k]|: "
                    "before → after folding",
    "per-tensor dB": "per-tensor int8 SQNR (dB), before → after folding",
    "drop dB": "per-tensor SQNR lost by folding (dB)",
    "⚠": f"⚠: the per-tensor SQNR drops by more than {DROP_THRESHOLD_DB:g} dB: quantize this "
         "layer per channel",
    "per-channel dB": "per-channel int8 SQNR (dB), before → after folding (folding does "
                      "not affect it)",
}


def _pair(before: float | None, after: float | None) -> str:
    def one(x: float | None) -> str:
        return "—" if x is None or np.isnan(x) else "∞" if np.isinf(x) else f"{x:.1f}"
    return f"{one(before)} → {one(after)}"


def quant_rows(layers: list[LayerQuant]) -> list[dict]:
    """Table rows: spread and SQNRs as ``before → after``, the drop and the flag."""
    return [{
        "layer": q.name, "ch": len(q.before.ranges),
        "range spread": _pair(q.before.spread, q.after.spread),
        "per-tensor dB": _pair(q.before.sqnr_tensor_db, q.after.sqnr_tensor_db),
        "drop dB": q.tensor_drop_db,
        "⚠": "⚠" if q.flagged else "",
        "per-channel dB": _pair(q.before.sqnr_channel_db, q.after.sqnr_channel_db),
    } for q in layers]


def quant_column_config(rows: list[dict]) -> dict:
    """Column config of the table: each column as wide as its longest text, the layer
    names pinned (they stay in sight if a very long name makes the table scroll)."""
    widths = fit_widths(rows, {"drop dB": "%.1f"})
    config = {c: st.column_config.TextColumn(c, width=w, help=COLUMN_HELP[c])
              for c, w in widths.items()}
    config["layer"] = st.column_config.TextColumn("layer", width=widths["layer"], pinned=True,
                                                  help=COLUMN_HELP["layer"])
    config["ch"] = st.column_config.NumberColumn("ch", width=widths["ch"], help=COLUMN_HELP["ch"])
    config["drop dB"] = st.column_config.NumberColumn("drop dB", format="%.1f",
                                                      width=widths["drop dB"],
                                                      help=COLUMN_HELP["drop dB"])
    return config


def ranges_figure(q: LayerQuant) -> go.Figure:
    """Per-output-channel weight range max|W[k]| before and after (log axis)."""
    k = np.arange(len(q.before.ranges))
    fig = go.Figure()
    fig.add_trace(go.Bar(x=k, y=q.before.ranges, name="before", marker_color="#999999"))
    fig.add_trace(go.Bar(x=k, y=q.after.ranges, name="after", marker_color="#54278F"))
    fig.update_layout(title=f"{q.name}: weight range per output channel", barmode="group",
                      height=320, xaxis_title="output channel", yaxis_title="max |W[k]| (log)",
                      margin={"l": 50, "r": 20, "t": 50, "b": 40}, template="plotly_white")
    fig.update_yaxes(type="log")
    return fig


def _layers(ctx: state.ModelContext, result: FoldResult) -> list[LayerQuant]:
    return state.per_result(ctx, result, "quant", quant_impact)


@st.fragment
def quantization_impact(ctx: state.ModelContext, result: FoldResult) -> None:
    """The "Quantization impact" panel for one fold result."""
    st.subheader("Quantization impact (int8 weights)")
    layers = _layers(ctx, result)
    if not layers:
        st.info("No layer with a weight tensor changed in this fold.")
        return
    st.caption(EXPLAIN)
    flagged = [q.name for q in layers if q.flagged]
    if flagged:
        st.warning(f"{len(flagged)} of {len(layers)} changed layers lose more than "
                   f"{DROP_THRESHOLD_DB:g} dB of per-tensor SQNR: {md_names(flagged, limit=8)}. Quantize them per channel.",
                   icon=":material/warning:")
    else:
        st.success(f"No changed layer loses more than {DROP_THRESHOLD_DB:g} dB of per-tensor SQNR.",
                   icon=":material/check_circle:")
    rows = quant_rows(layers)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 height=min(38 + 35 * len(layers), 320), column_config=quant_column_config(rows),
                 key=f"quant_table::{result.mode}")
    by_id = {q.id: q for q in layers}
    default = next((q.id for q in layers if q.flagged), layers[0].id)
    lid = st.selectbox("Layer", list(by_id), index=list(by_id).index(default),
                       format_func=lambda i: f"{by_id[i].name} ({by_id[i].op})",
                       key=f"quant_layer::{ctx.key}::{result.mode}")
    st.plotly_chart(ranges_figure(by_id[lid]), width="stretch", key="quant_ranges_chart")
