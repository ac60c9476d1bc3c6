"""Latency of original, adjacent-folded, optimal-folded and no-BN-floor models.

Uses :mod:`inspector.bench.timing`: per backend and batch, the four variants
run interleaved (one sample each per round, in a seeded random order each
round), warm-up excluded, each sample this process's CPU time
(``time.process_time``: with one thread both runtimes compute in this process,
and on a shared machine wall time mostly measures the wait for a free core).
The headline ratio is the median over rounds of (variant time / floor time in
the same round), with its distribution-free 95 % interval
(:func:`inspector.bench.stats.paired_ratio_ci`); p10/p90 are kept too. One
model per forked child; torch and onnxruntime are pinned to the same thread
count (default 1: on a shared 2-core machine two spinning threads per runtime
collapse as soon as another process wants a core).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from .isolate import run_isolated
from .models import build

VARIANTS = ("original", "adjacent", "optimal", "floor")
#: Target: optimal-folded within this ratio of the floor when every BN folds.
TARGET_RATIO = 1.02


def paired_ratio(times: dict[str, list[float]], name: str) -> dict[str, float]:
    """Median of the per-round ratio variant / floor with its 95 % interval
    (``ratio_ci_low``, ``ratio_ci_high``), p10 and p90. Both ran in the same
    interleaved round, so slow drift of the machine cancels out."""
    import numpy as np

    from inspector.bench.stats import paired_ratio_ci

    r = np.asarray(times[name]) / np.asarray(times["floor"])
    ci = paired_ratio_ci(times[name], times["floor"])
    return {"paired_ratio": ci.median, "ratio_ci_low": ci.low, "ratio_ci_high": ci.high,
            "ratio_p10": float(np.percentile(r, 10)), "ratio_p90": float(np.percentile(r, 90))}


def calls_per_sample(module: Any, example: Any, batch: int, min_seconds: float = 0.02) -> int:
    """Consecutive calls per timed sample so that one sample lasts ``min_seconds``
    (tiny models run in microseconds; one call would be all timer noise)."""
    import torch

    x = example if isinstance(example, tuple) else (example,)
    x = tuple(t.expand(batch, *t.shape[1:]).contiguous() for t in x)
    with torch.inference_mode():
        module(*x)
        t0 = time.perf_counter()
        module(*x)
        one = time.perf_counter() - t0
    return max(1, min(200, math.ceil(min_seconds / max(one, 1e-6))))


def measure_model(spec: str, batches: tuple[int, ...], backends: tuple[str, ...], repeats: int,
                  warmup: int, threads: int, ort_level: str) -> dict[str, Any]:
    """Timings of one model: ``{"runs": [{backend, batch, stats}...]}``."""
    import torch

    from inspector.bench.timing import build_variants, summarize, time_variants
    from inspector.folding.driver import compare_modes

    torch.set_num_threads(threads)
    b = build(spec)
    analyses = compare_modes(b.loaded.graph)
    variants = build_variants(b.loaded, analyses)
    row: dict[str, Any] = {
        "model": spec, "bn_total": analyses["optimal"].bn_total,
        "adjacent": analyses["adjacent"].folded_count, "optimal": analyses["optimal"].folded_count,
        "threads": threads, "repeats": repeats, "warmup": warmup, "ort_level": ort_level,
        "clock": "process_time (CPU)", "order": "seeded random per round", "runs": [],
    }
    row["all_fold"] = row["optimal"] == row["bn_total"]
    for backend in backends:
        for batch in batches:
            t0 = time.perf_counter()
            number = calls_per_sample(b.module, b.example, batch)
            try:
                times = time_variants(b.loaded, variants, backend=backend, batch=batch, repeats=repeats,
                                      warmup=warmup, number=number, threads=threads, ort_level=ort_level,
                                      clock=time.process_time)
            except Exception as e:  # one backend failing is reported, the rest still runs
                row["runs"].append({"backend": backend, "batch": batch, "error": f"{type(e).__name__}: {e}"[:400]})
                continue
            stats = summarize(times)
            for name in VARIANTS:
                if name in stats:
                    stats[name].update(paired_ratio(times, name))
            run = {"backend": backend, "batch": batch, "calls_per_sample": number, "stats": stats,
                   "seconds": time.perf_counter() - t0}
            if row["all_fold"]:
                run["meets_target"] = stats["optimal"]["paired_ratio"] <= TARGET_RATIO
            row["runs"].append(run)
    return row


def run(models: list[str], *, batches: tuple[int, ...] = (1, 8),
        backends: tuple[str, ...] = ("torch", "onnxruntime"), repeats: int = 15, warmup: int = 3,
        threads: int = 1, ort_level: str = "all", timeout: float = 900.0,
        log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Time every model in its own child process; failures become error rows."""
    rows = []
    for i, spec in enumerate(models):
        t0 = time.perf_counter()
        r = run_isolated(measure_model, spec, batches, backends, repeats, warmup, threads, ort_level,
                         timeout=timeout)
        row = r["value"] if r["ok"] else {"model": spec, "error": r["error"], "runs": []}
        row["wall_s"] = time.perf_counter() - t0
        rows.append(row)
        parts = []
        for run_ in row["runs"]:
            if "stats" in run_:
                s = run_["stats"]
                parts.append(f"{run_['backend']}/b{run_['batch']}: orig {s['original']['paired_ratio']:.3f} "
                             f"adj {s['adjacent']['paired_ratio']:.3f} opt {s['optimal']['paired_ratio']:.3f}")
            else:
                parts.append(f"{run_['backend']}/b{run_['batch']}: {run_['error'][:80]}")
        log(f"[latency {i + 1}/{len(models)}] {spec}: {row.get('error') or '; '.join(parts)} ({row['wall_s']:.0f} s)")
    return rows
