"""BNs removed per model: this project (both modes) against the other tools.

Each model is built, loaded (IR), analysed in both modes, folded in both
modes (each fold verified numerically) and handed to every peer of
:mod:`inspector.bench.peers`. One model runs in one forked child.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .isolate import run_isolated
from .models import build

#: Peer columns of the table, in order (keys of ``run_peers``).
PEER_COLUMNS = ("fx_fuse", "onnx_dynamo", "onnx_legacy", "onnxoptimizer", "onnxruntime")
#: A peer output further than this (relative) from the original is wrong (float32).
PEER_TOLERANCE = 1e-4
#: An analysis slower than this is reported as a problem (DESIGN target: < 1 s).
SLOW_ANALYSIS_S = 1.0


def measure_model(spec: str, peers: bool = True, ort_all: bool = True) -> dict[str, Any]:
    """One table row for ``spec`` (see the README for the fields)."""
    from inspector.bench.peers import count_bn_torch, run_peers
    from inspector.folding.driver import analyze
    from inspector.folding.pipeline import fold

    b = build(spec)
    loaded = b.loaded
    row: dict[str, Any] = {
        "model": spec, "nodes": len(loaded.graph), "input_shape": list(loaded.inputs[0].shape),
        "load_s": b.load_s, "notes": list(loaded.notes), "problems": [],
        "torch_bn_modules": count_bn_torch(b.module),
    }
    analyses = {}
    for mode in ("adjacent", "optimal"):
        t0, c0 = time.perf_counter(), time.process_time()
        analyses[mode] = analyze(loaded.graph, mode)
        row[f"analyze_{mode}_s"] = time.perf_counter() - t0
        row[f"analyze_{mode}_cpu_s"] = time.process_time() - c0
    row["bn_total"] = analyses["optimal"].bn_total
    for mode, a in analyses.items():
        row[mode] = a.folded_count
        try:
            res = fold(loaded, mode, analysis=a)
        except Exception as e:  # a verification failure is a finding, not a crash
            row[f"{mode}_error"] = f"{type(e).__name__}: {str(e)[:300]}"
            row["problems"].append(f"{mode} fold failed: {row[f'{mode}_error']}")
            continue
        v = res.verification
        row[f"{mode}_rel_error"] = v.max_rel_error
        row[f"{mode}_verified"] = v.passed
        row[f"{mode}_fold_s"] = res.timings.get("fold_s")
        row[f"{mode}_rolled_back"] = list(res.rolled_back)
        if res.rolled_back:
            row[mode] = res.analysis.folded_count
            row["problems"].append(f"{mode}: folds rolled back after failed verification: {res.rolled_back}")
    if row["optimal"] < row["adjacent"]:
        row["problems"].append(f"optimal folds {row['optimal']} < adjacent {row['adjacent']}")
    if row["analyze_optimal_cpu_s"] > SLOW_ANALYSIS_S:
        row["problems"].append(
            f"optimal analysis took {row['analyze_optimal_cpu_s']:.2f} s CPU (> {SLOW_ANALYSIS_S} s)")
    if peers:
        counts = run_peers(b.module, b.example, ort_all=ort_all)
        row["peers"] = {k: {"left": c.left, "reason": c.reason, "seconds": c.seconds, "rel_error": c.rel_error}
                        for k, c in counts.items()}
        onnx_in = counts["onnx_input"].left
        if onnx_in is not None and onnx_in != row["bn_total"]:
            row["notes"].append(f"the ONNX given to the ONNX peers has {onnx_in} BN nodes, the IR {row['bn_total']}")
    if row["torch_bn_modules"] != row["bn_total"]:
        row["notes"].append(f"{row['torch_bn_modules']} BN modules, {row['bn_total']} BN calls in the graph")
    return row


def peer_is_wrong(row: dict[str, Any], peer: str) -> bool:
    """True when the peer's output model does not compute the original function."""
    err = row.get("peers", {}).get(peer, {}).get("rel_error")
    return err is not None and not err <= PEER_TOLERANCE


def removed(row: dict[str, Any], peer: str) -> int | None:
    """BNs a peer removed: the BN count it received minus what it left."""
    p = row.get("peers", {}).get(peer)
    if not p or p["left"] is None:
        return None
    received = row["bn_total"]
    if peer in ("onnxoptimizer", "onnxruntime", "onnxruntime_all"):
        received = row["peers"]["onnx_input"]["left"]
    return received - p["left"]


def run(models: list[str], *, peers: bool = True, timeout: float = 600.0,
        log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Measure every model in its own child process; failures become error rows."""
    rows = []
    for i, spec in enumerate(models):
        t0 = time.perf_counter()
        r = run_isolated(measure_model, spec, peers, timeout=timeout)
        row = r["value"] if r["ok"] else {"model": spec, "error": r["error"]}
        row["wall_s"] = time.perf_counter() - t0
        rows.append(row)
        summary = row.get("error") or (
            f"{row['bn_total']} BN, adjacent {row['adjacent']}, optimal {row['optimal']}, "
            f"analyse {row['analyze_optimal_cpu_s']:.3f} s CPU")
        log(f"[bn {i + 1}/{len(models)}] {spec}: {summary} ({row['wall_s']:.0f} s)")
    return rows
