"""Prepare the timing variants (reusing the session's folds) and run the library timer."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

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


@dataclass(frozen=True)
class TimingSettings:
    """What the Timing form asks for. ``adaptive`` repeats interleaved rounds until
    every median's 95 % interval is within ±``tol`` or ``budget_s`` seconds per
    backend; else ``repeats`` rounds. ``size`` None: the model's own input size."""

    backends: tuple[str, ...]
    batch: int = 1
    size: int | None = None
    adaptive: bool = True
    tol: float = 0.02
    budget_s: float = 30.0
    repeats: int = 50
    warmup: int = 5
    ort_level: str = "disabled"
    threads: int | None = None
    min_rounds: int = 10


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
    cache = state.model_cache(ctx, "floor")
    if "floor" not in cache:
        cache["floor"] = build_floor(ctx.loaded)
    return cache["floor"]


def _onnx_variants(ctx: state.ModelContext, variants: dict[str, Any], batch: int,
                   size: int | None, say: Progress, start: float, span: float) -> dict[str, bytes]:
    """ONNX bytes per variant, exported once per shape and cached in the session
    while that variant's model object lives (a new fold exports again)."""
    shaped = replace(ctx.loaded, inputs=input_specs(ctx.loaded, batch, size, state.MAX_TENSOR_MB))
    shape_tag = ",".join(str(s.shape) for s in shaped.inputs)
    cache = state.model_cache(ctx, "onnx_cache")
    out = {}
    for i, (name, model) in enumerate(variants.items()):
        k = (name, shape_tag)
        if k not in cache or cache[k][0] is not model:
            say(f"exporting {name} to ONNX", start + span * i / len(variants))
            cache[k] = (model, onnx_bytes(shaped, model))
        out[name] = cache[k][1]
    return out


def run_timing(ctx: state.ModelContext, cfg: TimingSettings, progress: Progress) -> dict:
    """Time every variant on each chosen backend; returns times, per-backend run
    facts (rounds, why it stopped) and the settings (``config``). The inputs are
    checked against ``state.MAX_TENSOR_MB`` before anything runs."""
    input_specs(ctx.loaded, cfg.batch, cfg.size, state.MAX_TENSOR_MB)
    t0 = time.perf_counter()
    folded = _folded_models(ctx, progress)
    variants = build_variants(ctx.loaded, ctx.analyses, folded=folded, floor=False,
                              modes=state.MODES)
    variants["floor"] = _floor(ctx)
    backends = cfg.backends
    times: dict[str, dict[str, list[float]]] = {}
    runs: dict[str, dict] = {}
    base, span = 0.1, 0.9 / len(backends)
    for i, backend in enumerate(backends):
        start = base + i * span
        models = variants
        if backend == "onnxruntime":
            models = _onnx_variants(ctx, variants, cfg.batch, cfg.size, progress,
                                    start, span * 0.4)
            start, width = start + span * 0.4, span * 0.6
        else:
            width = span

        def say(msg: str, frac: float, start=start, width=width, backend=backend) -> None:
            progress(f"{backend}: {msg}", start + width * frac)

        common = dict(backend=backend, batch=cfg.batch, size=cfg.size, warmup=cfg.warmup,
                      ort_level=cfg.ort_level, threads=cfg.threads, progress=say)
        if cfg.adaptive:
            rule = StoppingRule(tol=cfg.tol, budget_s=cfg.budget_s, min_rounds=cfg.min_rounds)
            run = time_variants_adaptive(ctx.loaded, models, rule=rule, **common)
            times[backend] = run.times
            runs[backend] = {"rounds": run.rounds, "stop_reason": run.stop_reason,
                             "seconds": run.seconds}
        else:
            t1 = time.perf_counter()
            times[backend] = time_variants(ctx.loaded, models, repeats=cfg.repeats, **common)
            runs[backend] = {"rounds": cfg.repeats, "stop_reason": "fixed",
                             "seconds": time.perf_counter() - t1}
    progress("done", 1.0)
    return {"config": cfg, "times": times, "runs": runs,
            "seconds": time.perf_counter() - t0}


def continue_timing(ctx: state.ModelContext, results: dict, backend: str, seconds: float,
                    progress: Progress) -> dict:
    """Measure ``backend`` for about ``seconds`` more (adaptive, same settings) and append
    the new interleaved rounds to ``results`` (changed in place and returned): pairs stay
    pairs, so the per-round ratios and the medians cover every round."""
    cfg = replace(results["config"], backends=(backend,), adaptive=True,
                  budget_s=float(seconds), min_rounds=1)
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
