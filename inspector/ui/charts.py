"""Plotly figures: the BN map (a, c), weight norms, relative changes, timings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..bench.timing import VARIANT_LABELS
from ..safe_text import html_text

#: Timing colours: greys and purples only, so that no variant borrows a colour
#: that means a BN status on the graph (``inspector/render/status.py``).
_COLORS = {"original": "#595959", "adjacent": "#9E9AC8", "optimal": "#54278F",
           "reparam": "#3F007D", "floor": "#D9D9D9"}
#: The floor is not an equivalent model: hatched, so it never reads as a result.
_PATTERNS = {"floor": "/"}
_LAYOUT = {"margin": {"l": 50, "r": 20, "t": 50, "b": 40}, "template": "plotly_white"}


def _label(name: str) -> str:
    """Variant label for an axis: the parenthesised part on its own line."""
    return VARIANT_LABELS.get(name, name).replace(" (", "<br>(")


def affine_figure(a: np.ndarray, c: np.ndarray, title: str) -> go.Figure:
    """Per-channel scale a_k and shift c_k; negative scales in red."""
    k = np.arange(a.size)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=("scale a = γ / √(var + ε)", "shift c = β − a·mean"))
    colors = ["#D55E00" if v < 0 else ("#999999" if v == 0 else "#0072B2") for v in a]
    fig.add_trace(go.Bar(x=k, y=a, marker_color=colors, name="a",
                         hovertemplate="channel %{x}<br>a = %{y:.4g}<extra></extra>"), 1, 1)
    fig.add_trace(go.Bar(x=k, y=c, marker_color="#009E73", name="c",
                         hovertemplate="channel %{x}<br>c = %{y:.4g}<extra></extra>"), 2, 1)
    fig.update_layout(title=html_text(title), showlegend=False, height=360, **_LAYOUT)
    fig.update_xaxes(title_text="channel k", row=2, col=1)
    return fig


def norms_figure(before: np.ndarray, after: np.ndarray, title: str) -> go.Figure:
    """Weight norm per output channel before and after folding."""
    k = np.arange(before.size)
    fig = go.Figure()
    fig.add_trace(go.Bar(x=k, y=before, name="before", marker_color="#999999"))
    fig.add_trace(go.Bar(x=k, y=after, name="after", marker_color="#0072B2"))
    fig.update_layout(title=html_text(title), barmode="group", height=320, xaxis_title="output channel",
                      yaxis_title="‖W[k]‖₂", **_LAYOUT)
    return fig


#: A relative change below this is "unchanged" (float64 rounding, or a_k = 1, c_k = 0):
#: counted, not drawn, so that it never shows as a spike at the log axis' floor.
UNCHANGED_BELOW = 1e-12


def rel_change_figure(values: np.ndarray, owners: Sequence[str]) -> go.Figure:
    """Distribution of per-channel relative weight changes (log10), per layer; channels
    left unchanged (below ``UNCHANGED_BELOW``) are a count in the title, not a bar."""
    values = np.asarray(values, dtype=np.float64)
    owners_arr = np.asarray(owners)
    changed = values >= UNCHANGED_BELOW
    unchanged = int(values.size - changed.sum())
    logs = np.log10(values[changed])
    owners_arr = owners_arr[changed] if owners_arr.size else owners_arr
    fig = go.Figure()
    layers = list(dict.fromkeys(owners_arr.tolist()))
    if len(layers) <= 12:
        for name in layers:
            fig.add_trace(go.Histogram(x=logs[owners_arr == name], name=html_text(name), opacity=0.75,
                                       nbinsx=40))
        fig.update_layout(barmode="stack")
    else:
        fig.add_trace(go.Histogram(x=logs, name="all layers", nbinsx=60, marker_color="#0072B2"))
    title = "Relative change per output channel ‖W′[k] − W[k]‖ / ‖W[k]‖"
    note = (f"{int(changed.sum())} channels changed; {unchanged} unchanged "
            f"(relative change < {UNCHANGED_BELOW:.0e}, not drawn)" if unchanged else
            f"{int(changed.sum())} channels, all changed")
    fig.update_layout(title={"text": f"{title}<br><sup>{note}</sup>"},
                      xaxis_title="log10(relative change)", yaxis_title="channels", height=360,
                      **{**_LAYOUT, "margin": {**_LAYOUT["margin"], "t": 70}})
    return fig


def timing_bar_figure(summary: Mapping[str, Mapping[str, float]], title: str,
                      log_y: bool = False) -> go.Figure:
    """Median latency per variant with its 95 % confidence interval as error bar."""
    names = list(summary)
    med = np.array([summary[n]["median"] for n in names]) * 1e3
    lo = med - np.array([summary[n].get("ci_low", summary[n]["median"]) for n in names]) * 1e3
    hi = np.array([summary[n].get("ci_high", summary[n]["median"]) for n in names]) * 1e3 - med
    verdicts = [summary[n].get("verdict", "") for n in names]
    fig = go.Figure(go.Bar(
        x=[_label(n) for n in names], y=med,
        marker_color=[_COLORS.get(n, "#444444") for n in names],
        marker_pattern_shape=[_PATTERNS.get(n, "") for n in names],
        marker_line_color="#333333", marker_line_width=1,
        error_y={"type": "data", "symmetric": False, "array": hi, "arrayminus": lo,
                 "color": "#000000", "thickness": 1.5, "width": 8},
        customdata=np.stack([med - lo, med + hi], axis=1) if names else None,
        text=verdicts,
        hovertemplate="%{x}<br>median %{y:.3f} ms<br>95 % CI %{customdata[0]:.3f}–"
                      "%{customdata[1]:.3f} ms<br>%{text}<extra></extra>",
        textposition="none",
    ))
    fig.update_layout(title=title, yaxis_title="latency (ms): median, 95 % CI", height=380,
                      **_LAYOUT)
    if log_y:
        fig.update_yaxes(type="log")
    fig.update_xaxes(tickangle=0)
    return fig


def timing_box_figure(times: Mapping[str, Sequence[float]], title: str,
                      log_y: bool = False) -> go.Figure:
    """Every recorded run: box with whiskers at 1.5 IQR (outliers as points),
    optionally on a log axis so a few slow runs do not squash the rest."""
    fig = go.Figure()
    for name, values in times.items():
        fig.add_trace(go.Box(y=np.asarray(values) * 1e3, name=_label(name),
                             boxpoints="outliers", marker_color=_COLORS.get(name, "#444444"),
                             line_color="#333333", fillcolor=_COLORS.get(name, "#444444")))
    fig.update_layout(title=title, yaxis_title="latency (ms)", showlegend=False, height=380,
                      **_LAYOUT)
    if log_y:
        fig.update_yaxes(type="log")
    fig.update_xaxes(tickangle=0)
    return fig
