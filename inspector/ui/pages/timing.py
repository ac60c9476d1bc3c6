"""Timing: original vs adjacent vs optimal vs the no-BN floor, torch and onnxruntime."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from inspector.bench.timing import ORT_LEVELS, VARIANT_LABELS, input_specs, summarize
from inspector.ui import state
from inspector.ui.charts import timing_bar_figure, timing_box_figure
from inspector.ui.errors import safe_call
from inspector.ui.timing_run import run_timing

BACKEND_LABELS = {"torch": "PyTorch eager", "onnxruntime": "onnxruntime (CPU)"}


def settings(ctx: state.ModelContext) -> dict | None:
    """The run settings form; returns the settings when Run is pressed."""
    is_torch = ctx.loaded.framework == "torch"
    backends = ["torch", "onnxruntime"] if is_torch else ["onnxruntime"]
    spec = ctx.loaded.inputs[0] if ctx.loaded.inputs else None
    with st.form("timing_form", border=True):
        c1, c2, c3 = st.columns(3)
        chosen = c1.pills("Backends", backends, selection_mode="multi", default=backends[:1],
                          format_func=BACKEND_LABELS.get, key="timing_backends")
        batch = c2.number_input("Batch size", 1, 256, 1, key="timing_batch")
        spatial = spec is not None and len(spec.shape) >= 3
        size = c3.number_input(
            "Input size (spatial, 0 = model's own)", 0, 1024, 0, key="timing_size",
            disabled=not spatial, help=f"model input {spec.shape if spec else '?'}; square size for "
            "every spatial axis")
        c1, c2, c3, c4 = st.columns([3, 3, 2, 3])
        repeats = c1.slider("Repeats", 5, 200, 20, key="timing_repeats",
                            help="each repeat runs every variant once, in rotated order")
        warmup = c2.slider("Warm-up runs (not recorded)", 0, 20, 3, key="timing_warmup")
        threads = c3.number_input("Threads (0 = default)", 0, 64, 1, key="timing_threads",
                                  help="intra-op threads; 1 gives the steadiest figures on a "
                                  "busy machine")
        level = c4.selectbox(
            "onnxruntime graph optimisation", ORT_LEVELS, key="timing_ort_level",
            help="'disabled' shows what the folded file itself gains: from 'basic' on, "
            "onnxruntime fuses Conv+BN itself (the adjacent rule).")
        if not is_torch:
            st.caption("ONNX model: only onnxruntime can run it (the PyTorch eager backend needs a "
                       "PyTorch model).")
        else:
            st.caption("onnxruntime timing first exports every variant to ONNX (a few seconds "
                       "each, cached for the session).")
        submitted = st.form_submit_button("Run timing", type="primary")
    if not submitted:
        return None
    if not chosen:
        st.warning("Choose at least one backend.")
        return None
    return {"backends": list(chosen), "batch": int(batch), "size": int(size) or None,
            "repeats": int(repeats), "warmup": int(warmup), "ort_level": level,
            "threads": int(threads) or None}


def show_results(ctx: state.ModelContext, results: dict) -> None:
    """Table and charts for each backend that ran."""
    cfg = results["config"]
    shape = input_specs(ctx.loaded, cfg["batch"], cfg["size"])[0].shape if ctx.loaded.inputs else "?"
    st.caption(f"input {shape} · {cfg['repeats']} repeats after {cfg['warmup']} warm-up runs · "
               f"threads {cfg.get('threads') or 'default'} · total {results['seconds']:.1f} s")
    for backend, times in results["times"].items():
        stats = summarize(times)
        label = BACKEND_LABELS[backend]
        if backend == "onnxruntime":
            label += f" · optimisation {cfg['ort_level']}"
        st.subheader(label)
        rows = [{
            "variant": VARIANT_LABELS.get(name, name),
            "median (ms)": s["median"] * 1e3, "p10 (ms)": s["p10"] * 1e3,
            "p90 (ms)": s["p90"] * 1e3,
            "vs original": s["ratio_to_original"], "vs floor": s["ratio_to_floor"],
        } for name, s in stats.items()]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
            c: st.column_config.NumberColumn(format="%.3f") for c in
            ("median (ms)", "p10 (ms)", "p90 (ms)", "vs original", "vs floor")})
        left, right = st.columns(2)
        left.plotly_chart(timing_bar_figure(stats, f"{label}: median latency"), width="stretch",
                          key=f"timing_bar::{backend}")
        right.plotly_chart(timing_box_figure(times, f"{label}: every run"), width="stretch",
                           key=f"timing_box::{backend}")
    st.caption("The no-BN floor replaces every BN by identity: it computes a different function "
               "and only shows the fastest any folding could reach.")


def render() -> None:
    ctx = state.current()
    st.title(":material/timer: Timing")
    if ctx is None:
        st.info("Pick a model in the sidebar first.")
        return
    st.caption(f"**{ctx.name}** — latency of the original, the adjacent- and optimal-folded "
               "models and the no-BN floor. Runs are interleaved so drift hits all variants.")
    cfg = settings(ctx)
    key = f"timing::{ctx.key}"
    if cfg is not None:
        bar = st.progress(0.0, text="preparing…")
        result = safe_call("Timing", run_timing, ctx, cfg,
                           lambda msg, frac: bar.progress(min(max(frac, 0.0), 1.0), text=msg))
        bar.empty()
        if result is not None:
            st.session_state[key] = result
    results = st.session_state.get(key)
    if results:
        show_results(ctx, results)
    elif cfg is None:
        st.info("Choose the settings and press **Run timing**.")


if __name__ == "__main__":
    render()
