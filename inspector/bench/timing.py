"""Latency of model variants with PyTorch eager or onnxruntime.

The variants are the original model, the ``adjacent``- and ``optimal``-folded
models and the no-BN *floor* (every BN replaced by identity: not equivalent to
the original, but the fastest any folding can be). Runs are interleaved: each
repeat runs every variant once, in a shuffled order (seeded), so that clock or
thermal drift hits all variants alike and no variant always runs right after
another (a fixed rotation would pair cyclic neighbours in every round).
Warm-up runs are never recorded.

Example::

    variants = build_variants(loaded, compare_modes(loaded.graph))
    times = time_variants(loaded, variants, backend="onnxruntime", batch=1, repeats=20, warmup=3)
    print(summarize(times))
    run = time_variants_adaptive(loaded, variants, rule=StoppingRule(tol=0.02, budget_s=20))
    print(run.rounds, run.stop_reason, summarize(run.times))

``summarize`` gives every median its distribution-free 95 % interval and a
verdict ("within noise" when intervals overlap; a variant faster than the
floor is a measurement artefact); see :mod:`inspector.bench.stats`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import InspectorError
from ..model import LoadedModel
from .runners import BACKENDS, ORT, ORT_LEVELS, Progress, Runner, call, onnx_bytes
from .runners import runners as backend_runners
from .stats import (
    AdaptiveRun,
    StoppingRule,
    median_ci,
    noise_labels,
    paired_ratio_ci,
    paired_verdict,
    run_adaptive,
)
from .variants import VARIANT_LABELS, build_variants, input_arrays, input_specs

__all__ = ["BACKENDS", "ORT", "ORT_LEVELS", "VARIANT_LABELS", "build_variants", "input_specs",
           "input_arrays", "onnx_bytes", "time_variants", "time_variants_adaptive", "round_orders",
           "summarize"]


def time_variants(
    loaded: LoadedModel,
    variants: Mapping[str, Any],
    *,
    backend: str = "onnxruntime",
    batch: int = 1,
    size: int | None = None,
    repeats: int = 20,
    warmup: int = 3,
    number: int = 1,
    threads: int | None = None,
    ort_level: str = "disabled",
    progress: Progress | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, list[float]]:
    """Seconds per forward pass of every variant, ``repeats`` samples each.

    Each sample is the mean of ``number`` consecutive calls, timed with
    ``clock`` (wall time by default; ``time.process_time`` gives this process's
    CPU time, which on a shared machine leaves out the wait for a free core
    when both runtimes compute in this process, i.e. with one thread). ``threads`` sets
    the intra-op threads of the backend (torch's setting is restored after the
    run; None keeps the library default). Raises
    :class:`InspectorError` for an unsupported backend/model pair or a shape
    the model does not accept.
    """
    if backend not in BACKENDS:
        raise InspectorError(f"unknown backend {backend!r}; use one of {BACKENDS}")
    if repeats < 1 or warmup < 0 or number < 1:
        raise InspectorError("repeats and number must be >= 1 and warmup >= 0")
    say = progress or (lambda msg, frac: None)
    with backend_runners(loaded, variants, backend, batch, size, threads, ort_level, say) as found:
        return _measure(found, repeats, warmup, number, say, clock)


def time_variants_adaptive(
    loaded: LoadedModel,
    variants: Mapping[str, Any],
    *,
    backend: str = "onnxruntime",
    batch: int = 1,
    size: int | None = None,
    rule: StoppingRule | None = None,
    warmup: int = 3,
    number: int = 1,
    threads: int | None = None,
    ort_level: str = "disabled",
    progress: Progress | None = None,
) -> AdaptiveRun:
    """Like :func:`time_variants`, but repeats interleaved rounds until ``rule``
    stops (every median's 95 % interval within ±``rule.tol``, or the budget).

    The returned :class:`~inspector.bench.stats.AdaptiveRun` says how many rounds
    ran and why it stopped (``converged``, ``budget`` or ``max_rounds``).
    """
    rule = rule or StoppingRule()
    if backend not in BACKENDS:
        raise InspectorError(f"unknown backend {backend!r}; use one of {BACKENDS}")
    if warmup < 0 or number < 1 or rule.min_rounds < 1 or rule.budget_s < 0:
        raise InspectorError("number and min_rounds must be >= 1, warmup and budget >= 0")
    say = progress or (lambda msg, frac: None)
    with backend_runners(loaded, variants, backend, batch, size, threads, ort_level, say) as found:
        _warm_up(found, warmup, lambda msg, frac: say(msg, 0.1 * frac))
        names = list(found)
        order = round_orders(names)
        return run_adaptive(lambda i: _one_round(found, order(i), number), rule,
                            progress=lambda msg, frac: say(msg, 0.1 + 0.9 * frac))


def round_orders(names: list[str], seed: int = 0) -> Callable[[int], list[str]]:
    """Round ``i`` -> the order to run the variants in: a seeded random permutation."""
    rng = np.random.default_rng(seed)

    def order(i: int) -> list[str]:
        return [names[j] for j in rng.permutation(len(names))]

    return order


def _warm_up(runners: dict[str, Runner], warmup: int, say: Progress) -> None:
    for i in range(warmup):
        for name, run in runners.items():
            call(run, name)
        say(f"warm-up {i + 1}/{warmup}", (i + 1) / warmup)


def _one_round(runners: dict[str, Runner], order: list[str], number: int,
               clock: Callable[[], float] = time.perf_counter) -> dict[str, float]:
    """One sample per variant, run in ``order``: mean seconds (by ``clock``) of
    ``number`` calls (keyed in the runners' order, whatever order they ran in)."""
    out = {}
    for name in order:
        run = runners[name]
        t0 = clock()
        for _ in range(number):
            call(run, name)
        out[name] = (clock() - t0) / number
    return {name: out[name] for name in runners}


def _measure(runners: dict[str, Runner], repeats: int, warmup: int, number: int,
             say: Progress, clock: Callable[[], float] = time.perf_counter) -> dict[str, list[float]]:
    """Warm up, then ``repeats`` interleaved rounds (shuffled order each round)."""
    names = list(runners)
    total = warmup + repeats
    _warm_up(runners, warmup, lambda msg, frac: say(msg, frac * warmup / total))
    times: dict[str, list[float]] = {name: [] for name in names}
    order = round_orders(names)
    for i in range(repeats):
        for name, t in _one_round(runners, order(i), number, clock).items():
            times[name].append(t)
        say(f"run {i + 1}/{repeats}", (warmup + i + 1) / total)
    return times


def summarize(times: Mapping[str, Sequence[float]]) -> dict[str, dict[str, Any]]:
    """Per variant: median with its 95 % interval (``ci_low``, ``ci_high``,
    ``ci_rel`` = relative half-width), p10, p90, mean, min (seconds), n, the
    median's ratio to the floor's and to the original's (None when absent),
    ``paired_to_floor`` / ``paired_to_original``: (median, low, high) of the
    per-round ratios when the runs were interleaved (None otherwise), and
    ``verdict`` ("within noise of original", "faster than original (−12.0 %)",
    "… measurement artefact" when faster than the floor). The verdict against the
    original follows the per-round ratio when the runs were interleaved (drift that
    slows both variants cancels in it; ``verdict_basis`` says ``per-round ratio``),
    else the two medians' intervals (``medians``)."""
    stats: dict[str, dict[str, Any]] = {}
    cis = {}
    for name, values in times.items():
        arr = np.asarray(values, dtype=np.float64)
        ci = cis[name] = median_ci(arr)
        stats[name] = {
            "median": ci.median,
            "ci_low": ci.low,
            "ci_high": ci.high,
            "ci_rel": ci.rel_half_width,
            "p10": float(np.percentile(arr, 10)),
            "p90": float(np.percentile(arr, 90)),
            "mean": float(arr.mean()),
            "min": float(arr.min()),
            "n": int(arr.size),
        }
    for ref in ("floor", "original"):
        base = stats.get(ref, {}).get("median")
        for name, s in stats.items():
            s[f"ratio_to_{ref}"] = s["median"] / base if base else None
            paired = ref in times and len(times[name]) == len(times[ref]) and name != ref
            ci = paired_ratio_ci(times[name], times[ref]) if paired else None
            s[f"paired_to_{ref}"] = (ci.median, ci.low, ci.high) if ci else None
    for name, label in noise_labels(cis).items():
        paired = stats[name].get("paired_to_original")
        if paired is not None:
            label = "; ".join([paired_verdict(paired)] +
                              [x for x in label.split("; ") if "artefact" in x])
        stats[name]["verdict"] = label
        stats[name]["verdict_basis"] = "per-round ratio" if paired is not None else "medians"
    return stats
