"""Prepare the timing variants (reusing the session's folds) and run the library timer."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import streamlit as st

from ..bench.floor import build_floor
from ..bench.stats import StoppingRule
from ..bench.timing import (
    build_variants,
    input_specs,
    onnx_bytes,
    time_variants,
    time_variants_adaptive,
)
from . import state

Progress = Callable[[str, float], None]


def _folded_models(ctx: state.ModelContext, say: Progress) -> dict[str, Any]:
    out = {}
    for i, mode in enumerate(state.MODES):
        result = state.get_fold(ctx, mode)
        if result is None:
            say(f"folding ({mode})", 0.05 * i)
            result = state.run_fold(ctx, mode)
        out[mode] = result.model
    return out


def _floor(ctx: state.ModelContext) -> Any:
    key = f"floor::{ctx.key}"
    if key not in st.session_state:
        st.session_state[key] = build_floor(ctx.loaded)
    return st.session_state[key]


def _onnx_variants(ctx: state.ModelContext, variants: dict[str, Any], batch: int,
                   size: int | None, say: Progress, start: float, span: float) -> dict[str, bytes]:
    """ONNX bytes per variant, exported once per shape and cached in the session."""
    shaped = replace(ctx.loaded, inputs=input_specs(ctx.loaded, batch, size))
    shape_tag = ",".join(str(s.shape) for s in shaped.inputs)
    cache = st.session_state.setdefault("onnx_cache", {})
    for k in [k for k in cache if k[0] != ctx.key]:
        del cache[k]
    out = {}
    for i, (name, model) in enumerate(variants.items()):
        k = (ctx.key, name, shape_tag, id(model))
        if k not in cache:
            say(f"exporting {name} to ONNX", start + span * i / len(variants))
            cache[k] = onnx_bytes(shaped, model)
        out[name] = cache[k]
    return out


def run_timing(ctx: state.ModelContext, cfg: dict, progress: Progress) -> dict:
    """Time every variant on each chosen backend; returns times, per-backend run
    facts (rounds, why it stopped) and the config. ``cfg["adaptive"]`` (default)
    repeats until every median's 95 % interval is within ±``cfg["tol"]`` or
    ``cfg["budget_s"]`` seconds per backend; else ``cfg["repeats"]`` rounds."""
    t0 = time.perf_counter()
    folded = _folded_models(ctx, progress)
    variants = build_variants(ctx.loaded, ctx.analyses, folded=folded, floor=False,
                              modes=state.MODES)
    variants["floor"] = _floor(ctx)
    backends = cfg["backends"]
    times: dict[str, dict[str, list[float]]] = {}
    runs: dict[str, dict] = {}
    base, span = 0.1, 0.9 / len(backends)
    for i, backend in enumerate(backends):
        start = base + i * span
        models = variants
        if backend == "onnxruntime":
            models = _onnx_variants(ctx, variants, cfg["batch"], cfg["size"], progress,
                                    start, span * 0.4)
            start, width = start + span * 0.4, span * 0.6
        else:
            width = span

        def say(msg: str, frac: float, start=start, width=width, backend=backend) -> None:
            progress(f"{backend}: {msg}", start + width * frac)

        common = dict(backend=backend, batch=cfg["batch"], size=cfg["size"], warmup=cfg["warmup"],
                      ort_level=cfg["ort_level"], threads=cfg.get("threads"), progress=say)
        if cfg.get("adaptive", True):
            rule = StoppingRule(tol=cfg["tol"], budget_s=cfg["budget_s"],
                                min_rounds=cfg.get("min_rounds", 10))
            run = time_variants_adaptive(ctx.loaded, models, rule=rule, **common)
            times[backend] = run.times
            runs[backend] = {"rounds": run.rounds, "stop_reason": run.stop_reason,
                             "seconds": run.seconds}
        else:
            t1 = time.perf_counter()
            times[backend] = time_variants(ctx.loaded, models, repeats=cfg["repeats"], **common)
            runs[backend] = {"rounds": cfg["repeats"], "stop_reason": "fixed",
                             "seconds": time.perf_counter() - t1}
    progress("done", 1.0)
    return {"config": dict(cfg), "times": times, "runs": runs,
            "seconds": time.perf_counter() - t0}


def continue_timing(ctx: state.ModelContext, results: dict, backend: str, seconds: float,
                    progress: Progress) -> dict:
    """Measure ``backend`` for about ``seconds`` more (adaptive, same settings) and append
    the new interleaved rounds to ``results`` (changed in place and returned): pairs stay
    pairs, so the per-round ratios and the medians cover every round."""
    cfg = {**results["config"], "backends": [backend], "adaptive": True, "budget_s": float(seconds),
           "min_rounds": 1}
    more = run_timing(ctx, cfg, progress)
    for name, values in more["times"][backend].items():
        results["times"][backend].setdefault(name, []).extend(values)
    run, extra = results["runs"][backend], more["runs"][backend]
    run["rounds"] = run.get("rounds", 0) + extra["rounds"]
    run["seconds"] = (run.get("seconds") or 0.0) + (extra["seconds"] or 0.0)
    run["stop_reason"] = extra["stop_reason"]
    run["continued"] = run.get("continued", 0) + 1
    results["seconds"] += more["seconds"]
    return results
