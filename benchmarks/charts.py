"""Plotly charts of the benchmark results: interactive HTML and, when kaleido
can drive a local Chromium (offline), PNG images for the README."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from .bn_removed import PEER_COLUMNS, peer_is_wrong, removed
from .tables import PEER_TITLES


def short_name(spec: str) -> str:
    """``torchvision:resnet50`` -> ``tv/resnet50`` (names repeat across sources)."""
    kind, _, name = spec.partition(":")
    return f"{ {'torchvision': 'tv', 'sample': 'sample'}.get(kind, kind)}/{name}"


def bn_figure(rows: list[dict[str, Any]]) -> Any:
    """Grouped bars: fraction of BNs removed per model, ours vs every peer."""
    import plotly.graph_objects as go

    ok = [r for r in rows if "error" not in r and r["bn_total"] > 0 and not r["model"].startswith("sample:")]
    ok = ok or [r for r in rows if "error" not in r and r["bn_total"] > 0]
    names = [short_name(r["model"]) for r in ok]
    fig = go.Figure()
    series = [("ours optimal", lambda r: r["optimal"], lambda r: not r.get("optimal_verified")),
              ("ours adjacent", lambda r: r["adjacent"], lambda r: not r.get("adjacent_verified"))]
    series += [(PEER_TITLES[p], lambda r, p=p: removed(r, p), lambda r, p=p: peer_is_wrong(r, p))
               for p in PEER_COLUMNS]
    for title, get, wrong in series:
        bad = [wrong(r) for r in ok]  # a fold that does not verify counts as nothing removed
        fig.add_bar(name=title, x=names, y=[0 if b else (get(r) or 0) / r["bn_total"] for r, b in zip(ok, bad)],
                    text=["✗" if b else "" for b in bad], textposition="outside")
    fig.update_layout(barmode="group", title="Fraction of BN layers removed (✗: output does not verify)", yaxis_tickformat=".0%",
                      height=520, width=1400, legend_orientation="h", legend_y=-0.3)
    return fig


def latency_figure(rows: list[dict[str, Any]]) -> Any:
    """Median paired CPU-time ratio to the no-BN floor per model, backend and batch
    (error bars: its 95 % interval)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for variant in ("original", "adjacent", "optimal"):
        xs, ys, lo, hi = [], [], [], []
        for r in rows:
            for run in r.get("runs", []):
                if "stats" not in run:
                    continue
                s = run["stats"][variant]
                xs.append(f"{short_name(r['model'])}<br>{run['backend']} b{run['batch']}")
                ys.append(s["paired_ratio"])
                lo.append(s["paired_ratio"] - s["ratio_ci_low"])
                hi.append(s["ratio_ci_high"] - s["paired_ratio"])
        fig.add_bar(name=variant, x=xs, y=ys,
                    error_y={"type": "data", "symmetric": False, "array": hi, "arrayminus": lo})
    fig.add_hline(y=1.0, line_dash="dot")
    fig.update_layout(barmode="group", title="CPU time / no-BN floor (median paired ratio; bars 95 % interval)",
                      height=560, width=1400, yaxis_title="ratio to floor", xaxis_tickangle=-60)
    return fig


def speed_figure(speed: dict[str, Any]) -> Any:
    """Seconds vs IR nodes (log-log) for load, analyse (CPU) and fold, per family."""
    import plotly.graph_objects as go

    fig = go.Figure()
    points = [p for p in speed.get("points", []) if "error" not in p]
    for family in dict.fromkeys(p["family"] for p in points):
        pts = sorted((p for p in points if p["family"] == family), key=lambda p: p["nodes"])
        x = [p["nodes"] for p in pts]
        for key, label, dash in (("load_s", "load", "dot"), ("analyze_optimal_cpu_s", "analyse (CPU)", "solid"),
                                 ("fold_s", "fold + verify", "dash")):
            fig.add_scatter(x=x, y=[p[key] for p in pts], mode="lines+markers", name=f"{family}: {label}",
                            line_dash=dash)
    ref = speed.get("reference")
    if ref and "error" not in ref:
        fig.add_scatter(x=[ref["nodes"]], y=[ref["analyze_cpu_median_s"]], mode="markers+text",
                        text=[ref["model"].split(":", 1)[1]], textposition="top center",
                        marker_symbol="star", marker_size=14, name="DenseNet-121 analyse (CPU)")
    fig.update_layout(title="Tool time vs graph size", xaxis_type="log", yaxis_type="log",
                      xaxis_title="IR nodes", yaxis_title="seconds", height=560, width=1000)
    return fig


def write_charts(out_dir: Path, bn_rows: list | None, lat_rows: list | None, speed: dict | None,
                 png: bool = True) -> list[str]:
    """Write ``<name>.html`` (plotly.js beside them, works offline) and PNGs; returns notes."""
    figs = {}
    if bn_rows:
        figs["bn_removed"] = bn_figure(bn_rows)
    if lat_rows:
        figs["latency"] = latency_figure(lat_rows)
    if speed:
        figs["tool_speed"] = speed_figure(speed)
    notes = []
    for name, fig in figs.items():
        fig.write_html(out_dir / f"{name}.html", include_plotlyjs="directory")
    if png and figs:
        notes += _write_pngs(out_dir, figs)
    return notes


def _write_pngs(out_dir: Path, figs: dict[str, Any]) -> list[str]:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if os.path.exists(chromium):
        os.environ.setdefault("BROWSER_PATH", chromium)  # kaleido/choreographer: use Debian chromium
    try:
        for name, fig in figs.items():
            fig.write_image(out_dir / f"{name}.png", scale=1)
    except Exception as e:  # no kaleido / no browser: HTML only
        return [f"PNG export skipped ({type(e).__name__}: {str(e)[:200]}); the HTML charts are complete"]
    return []
