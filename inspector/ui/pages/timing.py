"""Timing: original vs adjacent vs optimal vs reparam vs the no-BN floor, torch and onnxruntime."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from inspector.bench.stats import rounds_to_separate
from inspector.bench.timing import ORT_LEVELS, VARIANT_LABELS, input_specs, summarize
from inspector.bench.variants import largest_inputs
from inspector.limits import mb
from inspector.safe_text import md_text
from inspector.ui import state
from inspector.ui.charts import timing_bar_figure, timing_box_figure
from inspector.ui.errors import safe_call
from inspector.ui.timing_run import TimingSettings, continue_timing, run_timing

BACKEND_LABELS = {"torch": "PyTorch eager", "onnxruntime": "onnxruntime (CPU)"}


STOP_TEXT = {
    "converged": "every median's 95 % interval reached the target",
    "budget": "the time budget ran out before every interval reached the target",
    "max_rounds": "the round limit was reached",
    "fixed": "fixed number of repeats",
}

NOTE = """
**Why folding saves time.** A BN at inference is a per-channel multiply-add, cheap in
arithmetic but a full extra pass over the activation tensor in memory: read it, write it.
Folding moves that multiply-add into the weights of a neighbouring conv or linear layer, so
the pass disappears. The gain is largest where activations are big (early layers, large
inputs) and small next to compute-heavy convolutions.

**Why onnxruntime gains less.** From optimisation level *basic* on, onnxruntime fuses a
Conv directly followed by a BN by itself (the `adjacent` rule). There, only the BNs that
`optimal` folds beyond `adjacent` (forward folds, folds through Add/Concat/pooling) still
cost time. Level *disabled* shows what the folded file itself gains.

**The no-BN floor** is the model with every BN replaced by identity (and the zero bias a
fold would give the layer before it). It computes a *different* function: it is the fastest
any folding can be. A folded model measured faster than the floor is noise, not a result.
"""


def settings(ctx: state.ModelContext) -> TimingSettings | None:
    """The run settings form; returns the settings when Run is pressed. Batch and
    size are bounded so that no input exceeds ``state.MAX_TENSOR_MB``."""
    backends = list(ctx.loaded.frontend.timing_backends)
    own_only = len(backends) == 1
    spec = ctx.loaded.inputs[0] if ctx.loaded.inputs else None
    max_batch, max_side = largest_inputs(ctx.loaded, None, state.MAX_TENSOR_MB)
    max_batch, max_side = max(1, min(256, max_batch)), max(1, min(1024, max_side or 1024))
    with st.form("timing_form", border=True):
        c1, c2, c3 = st.columns(3)
        chosen = c1.pills("Backends", backends, selection_mode="multi", default=backends[:1],
                          format_func=BACKEND_LABELS.get, key="timing_backends")
        batch = c2.number_input("Batch size", 1, max_batch, 1, key="timing_batch",
                                help=f"at most {max_batch} at the model's own input size: "
                                f"every input stays within {mb(state.MAX_TENSOR_MB * 2**20)} MB")
        spatial = spec is not None and len(spec.shape) >= 3
        own = "×".join(str(d) for d in spec.shape[2:]) if spatial else "?"
        size = c3.number_input(
            f"Input size (0 = model's own, {own})", 0, max_side, 0, key="timing_size",
            disabled=not spatial, help=f"model input {spec.shape if spec else '?'}; a square size "
            "for every spatial axis. Smaller inputs than the model's own make timings noisier "
            "and less representative.")
        c1, c2, c3 = st.columns([2, 3, 3])
        adaptive = c1.toggle("Adaptive repeats", True, key="timing_adaptive",
                             help="repeat interleaved rounds until every median's 95 % confidence "
                             "interval is within ± the target, or the budget runs out")
        tol = c2.select_slider("Target: 95 % interval within ±", [0.01, 0.02, 0.05, 0.1], 0.02,
                               format_func=lambda v: f"{v:.0%}", key="timing_tol")
        budget = c3.slider("Time budget per backend (s)", 5, 300, 30, key="timing_budget")
        c1, c2, c3, c4 = st.columns([3, 3, 2, 3])
        repeats = c1.slider("Repeats (when not adaptive)", 5, 500, 50, key="timing_repeats",
                            help="each repeat runs every variant once, in a shuffled order")
        warmup = c2.slider("Warm-up rounds (not recorded)", 0, 20, 5, key="timing_warmup")
        threads = c3.number_input("Threads (0 = default)", 0, 64, 1, key="timing_threads",
                                  help="intra-op threads; 1 gives the steadiest figures on a "
                                  "busy machine")
        level = c4.selectbox(
            "onnxruntime graph optimisation", ORT_LEVELS, key="timing_ort_level",
            help="'disabled' shows what the folded file itself gains: from 'basic' on, "
            "onnxruntime fuses Conv+BN itself (the adjacent rule).")
        if own_only:
            st.caption(f"{ctx.loaded.frontend.display} model: only {backends[0]} can run it (the "
                       "PyTorch eager backend needs a PyTorch model).")
        else:
            st.caption("onnxruntime timing first exports every variant to ONNX (a few seconds "
                       "each, cached for the session).")
        submitted = st.form_submit_button("Run timing", type="primary")
    if not submitted:
        return None
    if not chosen:
        st.warning("Choose at least one backend.")
        return None
    cfg = TimingSettings(backends=tuple(chosen), batch=int(batch), size=int(size) or None,
                         adaptive=bool(adaptive), tol=float(tol), budget_s=float(budget),
                         repeats=int(repeats), warmup=int(warmup), ort_level=level,
                         threads=int(threads) or None)
    if safe_call("Checking the input size", input_specs, ctx.loaded, cfg.batch, cfg.size,
                 state.MAX_TENSOR_MB) is None:
        return None  # batch × size over the cap: one line, nothing allocated
    return cfg


#: The column to trust against the original, and the one shown for reference only.
PAIRED_COL = "vs original: per-round ratio [95 % CI]"
MEDIANS_COL = "ratio of medians (reference only)"
#: Longest continuation offered at once (s).
MAX_MORE_S = 300
TRUST = ("**Which ratio to trust:** the per-round ratio. Every round runs each variant once, "
         "back to back, so a machine that slows down or speeds up during the run moves both "
         "alike and cancels in each round's ratio; the verdict follows it. The ratio of the two "
         "medians compares figures taken over all rounds separately and keeps that drift.")


def result_rows(stats: dict) -> list[dict]:
    """Table rows: median and its interval (ms), ± %, the per-round ratio to the
    original with its interval (the trusted one), the ratio of medians, the ratio to
    the floor and the verdict."""
    return [{
        "variant": VARIANT_LABELS.get(name, name),
        "median (ms)": s["median"] * 1e3,
        "95 % CI (ms)": f"{s['ci_low'] * 1e3:.3f} – {s['ci_high'] * 1e3:.3f}",
        "± %": s["ci_rel"] * 100,
        "runs": s["n"],
        PAIRED_COL: _paired(s.get("paired_to_original")),
        "verdict": s.get("verdict", ""),
        MEDIANS_COL: s["ratio_to_original"], "vs floor": s["ratio_to_floor"],
    } for name, s in stats.items()]


def _paired(r: tuple[float, float, float] | None) -> str:
    return "" if r is None else f"{r[0]:.3f} [{r[1]:.3f}, {r[2]:.3f}]"


def contradictions(stats: dict) -> list[str]:
    """Variants whose ratio of medians and per-round ratio point different ways."""
    out = []
    for name, s in stats.items():
        p, r = s.get("paired_to_original"), s.get("ratio_to_original")
        if p is None or r is None or name == "original":
            continue
        if (p[0] - 1) * (r - 1) < 0:
            out.append(f"{VARIANT_LABELS.get(name, name)}: ratio of medians {r:.3f} but per-round "
                       f"ratio {p[0]:.3f} [{p[1]:.3f}, {p[2]:.3f}] — they point different ways; "
                       "trust the per-round ratio (see below).")
    return out


def undecided(stats: dict, run: dict) -> list[tuple[str, int, float | None]]:
    """Folded variants the run could not separate from the original (per-round ratio
    interval holds 1): (label, rounds it would need in all, seconds more at this run's
    pace or None when the pace is unknown)."""
    rounds = run.get("rounds") or 0
    pace = run["seconds"] / rounds if run.get("seconds") and rounds else None
    out = []
    for name, s in stats.items():
        p = s.get("paired_to_original")
        if name in ("original", "floor") or p is None or not p[1] <= 1.0 <= p[2]:
            continue
        need = rounds_to_separate(p, rounds)
        out.append((VARIANT_LABELS.get(name, name), need,
                    (need - rounds) * pace if pace is not None else None))
    return out


def _more_request(backend: str, seconds: float) -> None:
    st.session_state["timing_more"] = (backend, seconds)


def offer_more(backend: str, stats: dict, run: dict) -> None:
    """Say how long separating the undecided variants would take; offer to continue."""
    todo = undecided(stats, run)
    if not todo:
        return
    labels = ", ".join(n for n, _, _ in todo)  # variant labels: the app's words
    need = max(r for _, r, _ in todo)
    secs = [t for _, _, t in todo if t is not None]
    if not secs:
        st.info(f"{labels}: within noise of the original after {run.get('rounds')} rounds; "
                f"separating them would need about {need} rounds. Use adaptive repeats.",
                icon=":material/hourglass:")
        return
    more = max(secs)
    offer = min(max(more, 5.0), MAX_MORE_S)
    enough = "" if more <= MAX_MORE_S else (
        f" That is more than {MAX_MORE_S} s at a time: the difference, if any, is smaller than "
        "this machine resolves quickly; continuing narrows the interval anyway.")
    st.info(f"**The budget could not separate {labels} from the original** (their per-round "
            f"ratio's 95 % interval holds 1 after {run.get('rounds')} rounds). Telling apart a "
            f"difference of that size would need about **{need} rounds, ~{more:.0f} s more** at "
            f"this run's pace.{enough}", icon=":material/hourglass:")
    st.button(f"Continue measuring for {offer:.0f} s", key=f"timing_more::{backend}",
              on_click=_more_request, args=(backend, offer), icon=":material/play_arrow:")


def warnings_for(stats: dict, run: dict, cfg: TimingSettings) -> list[str]:
    """Plain warnings: interval too wide, variants faster than the floor."""
    out = []
    wide = [VARIANT_LABELS.get(n, n) for n, s in stats.items() if s["ci_rel"] > cfg.tol + 1e-12]
    if wide:
        out.append(f"The 95 % interval of {', '.join(wide)} is wider than ±{cfg.tol:.0%}"
                   f" ({STOP_TEXT.get(run.get('stop_reason'), '')}): differences smaller than the "
                   "interval are noise. Raise the budget, use 1 thread, or close other programs.")
    fake = [VARIANT_LABELS.get(n, n) for n, s in stats.items() if "artefact" in s.get("verdict", "")]
    if fake:
        out.append(f"{', '.join(fake)} measured faster than the no-BN floor: this is a "
                   "measurement artefact (no equivalent model beats the model without BNs).")
    return out


def show_results(ctx: state.ModelContext, results: dict) -> None:
    """Table, warnings and charts for each backend that ran."""
    cfg = results["config"]
    shape = input_specs(ctx.loaded, cfg.batch, cfg.size, state.MAX_TENSOR_MB)[0].shape \
        if ctx.loaded.inputs else "?"
    st.caption(f"input {shape} · warm-up {cfg.warmup} rounds · threads "
               f"{cfg.threads or 'default'} · total {results['seconds']:.1f} s")
    log_y = st.toggle("Log scale (outliers)", False, key="timing_log",
                      help="a log axis keeps a few slow runs from squashing the others; the box "
                      "whiskers stop at 1.5 × IQR and slower runs show as points")
    for backend, times in results["times"].items():
        stats = summarize(times)
        run = results.get("runs", {}).get(backend, {})
        label = BACKEND_LABELS[backend]
        if backend == "onnxruntime":
            label += f" · optimisation {cfg.ort_level}"
        st.subheader(label)
        st.caption(f"{run.get('rounds', '?')} interleaved rounds — "
                   f"{STOP_TEXT.get(run.get('stop_reason'), '')}")
        for text in warnings_for(stats, run, cfg) + contradictions(stats):
            st.warning(text, icon=":material/warning:")
        st.dataframe(pd.DataFrame(result_rows(stats)), hide_index=True, width="stretch",
                     column_config={
                         **{c: st.column_config.NumberColumn(format="%.3f") for c in
                            ("median (ms)", MEDIANS_COL, "vs floor")},
                         "± %": st.column_config.NumberColumn(format="%.1f"),
                         "verdict": st.column_config.TextColumn(width="large"),
                     })
        if any(s.get("paired_to_original") for s in stats.values()):
            st.caption(TRUST)
        offer_more(backend, stats, run)
        left, right = st.columns(2)
        left.plotly_chart(timing_bar_figure(stats, f"{label}: median, 95 % CI", log_y),
                          width="stretch", key=f"timing_bar::{backend}")
        right.plotly_chart(timing_box_figure(times, f"{label}: every run", log_y),
                           width="stretch", key=f"timing_box::{backend}")


def render() -> None:
    ctx = state.current()
    st.title(":material/timer: Timing")
    if ctx is None:
        st.info("Pick a model in the sidebar first.")
        return
    st.caption(f"**{md_text(ctx.name)}** — latency of the original, the adjacent-, optimal- and reparam-folded "
               "models and the no-BN floor. Runs are interleaved after warm-up, so drift hits all "
               "variants alike; every median carries its 95 % confidence interval.")
    with st.expander("What the figures mean", icon=":material/info:"):
        st.markdown(NOTE)
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
    more = st.session_state.pop("timing_more", None)
    if results and more is not None:
        backend, seconds = more
        bar = st.progress(0.0, text="continuing…")
        safe_call("Timing", continue_timing, ctx, results, backend, seconds,
                  lambda msg, frac: bar.progress(min(max(frac, 0.0), 1.0), text=msg))
        bar.empty()
    if results:
        show_results(ctx, results)
    elif cfg is None:
        st.info("Choose the settings and press **Run timing**.")


if __name__ == "__main__":
    render()
