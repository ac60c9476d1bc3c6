"""Our ``reparam`` mode against timm's hand-written ``reparameterize_model``.

    .venv/bin/python -m benchmarks.reparam [--quick] [--models NAME ...] [--repeats N]

For each timm model (random weights, randomised BN statistics) it measures:

* BN / Conv / node counts of the training form, of timm's re-parameterized
  model and of ours, all counted in ONNX (every export keeps its BNs:
  ``inspector.bench.peers.export_onnx_unfolded``);
* ours through both frontends: the PyTorch frontend on the timm module (the
  folded ``GraphModule`` exported to ONNX for counting) and the ONNX frontend
  on the training-form ONNX file; "same" says whether both give the same BN and
  Conv counts;
* latency ratios ours / timm's re-parameterized model, in torch eager and in
  onnxruntime (CPU, ``--threads`` threads, default ORT optimisation), run
  round-robin so drift hits both alike: the median over repeats of the
  per-repeat ratio of CPU times (see :func:`interleaved`);
* the max relative error of every variant against the training-form model
  (``max |y - y'| / max |y|``).

Targets (issue 9): BNs <= timm's, convs <= timm's, nodes <= 1.05 x timm's,
ORT latency <= 1.05 x timm's, error <= 1e-5, both frontends the same. Each
model runs in a forked child (:mod:`benchmarks.isolate`). Prints a table and
writes ``benchmarks/results/reparam.json`` (+ ``reparam.md``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .environment import environment
from .isolate import run_isolated

RESULTS = Path(__file__).parent / "results"
#: The issue's models, then every other timm family with ``reparameterize``.
MODELS = ("repghostnet_050", "mobileone_s0", "repvgg_a2", "fastvit_t8", "repvit_m1",
          "mobileone_s1", "repvgg_b0", "fastvit_sa12", "ghostnetv3_050", "lcnetv2_small")
QUICK = ("repvgg_a2", "mobileone_s0")
MODE = "reparam"
TARGETS = {"nodes": 1.05, "latency": 1.05, "error": 1e-5}


def onnx_counts(proto: Any) -> dict[str, int]:
    """BatchNormalization, Conv and total node counts of an ONNX model (main graph)."""
    ops = [n.op_type for n in proto.graph.node]
    return {"bn": ops.count("BatchNormalization"), "conv": ops.count("Conv"), "nodes": len(ops)}


def interleaved(runners: dict[str, Callable[[], Any]], repeats: int, warmup: int,
                number: int) -> dict[str, list[float]]:
    """CPU seconds per call of each runner: ``repeats`` rounds, every runner once per
    round in a seeded random order (``inspector.bench.timing.round_orders``: a fixed
    rotation would pair cyclic neighbours in every round), each sample the mean of
    ``number`` calls.

    CPU time of this process, not wall time: with one intra-op thread both runtimes
    compute in this process, and on a shared machine wall time mostly measures the
    wait for a free core."""
    from inspector.bench.timing import round_orders

    names = list(runners)
    for _ in range(warmup):
        for name in names:
            runners[name]()
    times: dict[str, list[float]] = {n: [] for n in names}
    order = round_orders(names)
    for r in range(repeats):
        for name in order(r):
            t0 = time.process_time()
            for _ in range(number):
                runners[name]()
            times[name].append((time.process_time() - t0) / number)
    return times


def paired(times: dict[str, list[float]], name: str, ref: str) -> float:
    """Median over rounds of time[name] / time[ref] (same round: drift cancels)."""
    import numpy as np

    return float(np.median(np.asarray(times[name]) / np.asarray(times[ref])))


def _ort_session(proto: Any, threads: int) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def _calls(fn: Callable[[], Any], min_seconds: float = 0.05) -> int:
    fn()
    t0 = time.process_time()
    fn()
    return max(1, min(50, math.ceil(min_seconds / max(time.process_time() - t0, 1e-6))))


def measure(name: str, repeats: int, warmup: int, threads: int, latency: bool,
            mode: str = MODE) -> dict[str, Any]:
    """Every figure of one timm model (runs in a child process)."""
    import numpy as np
    import onnx
    import torch
    from timm.utils.model import reparameterize_model

    from inspector.bench.peers import export_onnx_unfolded, rel_error, run_model
    from inspector.folding.pipeline import fold
    from inspector.frontends import load

    from .models import build

    warnings.filterwarnings("ignore")
    torch.set_num_threads(threads)
    row: dict[str, Any] = {"model": name, "mode": mode}
    t0 = time.perf_counter()
    b = build(f"timm:{name}")
    module, example = b.module.eval(), b.example
    args = (example,)
    reference = run_model(module, args)
    train = export_onnx_unfolded(module, example)
    row["train"] = onnx_counts(train)

    timm_mod = reparameterize_model(module).eval()
    timm_onnx = export_onnx_unfolded(timm_mod, example)
    row["timm"] = onnx_counts(timm_onnx) | {"error": rel_error(reference, run_model(timm_mod, args))}

    t1 = time.perf_counter()
    ours_t = fold(b.loaded, mode)
    row["ours_torch_s"] = time.perf_counter() - t1
    ours_t_onnx = export_onnx_unfolded(ours_t.model, example)
    row["ours_torch"] = onnx_counts(ours_t_onnx) | {
        "error": rel_error(reference, run_model(ours_t.model, args)),
        "ir": _ir_counts(ours_t)}

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"{name}.onnx")
        onnx.save(train, path)
        loaded_o = load(path)
        t1 = time.perf_counter()
        ours_o = fold(loaded_o, mode)
        row["ours_onnx_s"] = time.perf_counter() - t1
    row["ours_onnx"] = onnx_counts(ours_o.model) | {
        "error": rel_error(reference, run_model(ours_o.model, args)), "ir": _ir_counts(ours_o)}
    row["same"] = same_result(row)

    if latency:
        x = np.ascontiguousarray(example.numpy())
        sessions = {"timm": _ort_session(timm_onnx, threads), "ours": _ort_session(ours_o.model, threads),
                    "ours_torch": _ort_session(ours_t_onnx, threads)}
        feeds = {k: {s.get_inputs()[0].name: x} for k, s in sessions.items()}
        ort_run = {k: (lambda s=s, f=feeds[k]: s.run(None, f)) for k, s in sessions.items()}
        number = _calls(ort_run["timm"])
        times = interleaved(ort_run, repeats, warmup, number)
        row["ort"] = {"ours": paired(times, "ours", "timm"), "ours_torch": paired(times, "ours_torch", "timm"),
                      "timm_ms": 1e3 * float(np.median(times["timm"])), "number": number}
        with torch.inference_mode():
            eager = {"timm": lambda: timm_mod(example), "ours": lambda: ours_t.model(example)}
            number = _calls(eager["timm"])
            times = interleaved(eager, repeats, warmup, number)
        row["torch"] = {"ours": paired(times, "ours", "timm"),
                        "timm_ms": 1e3 * float(np.median(times["timm"])), "number": number}
    row["seconds"] = time.perf_counter() - t0
    return row


def _ir_counts(result: Any) -> dict[str, int]:
    """BNs folded / merged / left, as the analysis reports them."""
    statuses = [v.status for v in result.analysis.verdicts.values()]
    return {"folded": statuses.count("folded"), "merged": statuses.count("merged"),
            "left": sum(s not in ("folded", "merged") for s in statuses)}


def same_result(row: dict[str, Any]) -> bool:
    """Both frontends leave the same BN, Conv and node counts and remove the same number
    of BNs. (Which BNs count as folded and which as merged may differ: a BN that one
    graph folds before merging sits inside a merged region in the other.)"""
    torch_, onnx_ = row["ours_torch"], row["ours_onnx"]
    removed = [c["ir"]["folded"] + c["ir"]["merged"] for c in (torch_, onnx_)]
    return all(torch_[k] == onnx_[k] for k in ("bn", "conv", "nodes")) and removed[0] == removed[1]


def verdicts(row: dict[str, Any]) -> list[str]:
    """The targets a row misses (empty: all met)."""
    if "error" in row and "ours_onnx" not in row:
        return ["failed"]
    ours, timm = row["ours_onnx"], row["timm"]
    miss = []
    if ours["bn"] > timm["bn"]:
        miss.append("BN")
    if ours["conv"] > timm["conv"]:
        miss.append("conv")
    if ours["nodes"] > TARGETS["nodes"] * timm["nodes"]:
        miss.append("nodes")
    if "ort" in row and row["ort"]["ours"] > TARGETS["latency"]:
        miss.append("ORT latency")
    if max(ours["error"], row["ours_torch"]["error"]) > TARGETS["error"]:
        miss.append("error")
    if not same_result(row):
        miss.append("frontends differ")
    return miss


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown table: counts train / timm / ours, latency ratios, errors, targets."""
    head = ("| model | training form BN/Conv/nodes | timm reparam | ours (ONNX) | ours (PyTorch) "
            "| folded + merged (PyTorch; ONNX) | ORT ours/timm (timm CPU ms) "
            "| torch ours/timm (timm CPU ms) | max rel. error ours "
            "| targets |")
    lines = [head, "|" + "---|" * 10]
    fmt = lambda c: f"{c['bn']} / {c['conv']} / {c['nodes']}"  # noqa: E731
    for row in rows:
        if "ours_onnx" not in row:
            lines.append(f"| {row['model']} | failed: {row.get('error', '?')[:120]} |" + " |" * 8)
            continue
        ort = f"{row['ort']['ours']:.3f} ({row['ort']['timm_ms']:.1f} ms)" if "ort" in row else "-"
        eager = f"{row['torch']['ours']:.3f} ({row['torch']['timm_ms']:.1f} ms)" if "torch" in row else "-"
        err = max(row["ours_onnx"]["error"], row["ours_torch"]["error"])
        miss = verdicts(row)
        split = "; ".join(f"{row[k]['ir']['folded']} + {row[k]['ir']['merged']}" for k in ("ours_torch", "ours_onnx"))
        lines.append(f"| {row['model']} | {fmt(row['train'])} | {fmt(row['timm'])} | {fmt(row['ours_onnx'])} "
                     f"| {fmt(row['ours_torch'])} | {split} | {ort} | {eager} | {err:.1e} "
                     f"| {'met' if not miss else 'missed: ' + ', '.join(miss)} |")
    return "\n".join(lines)


def run(models: list[str], *, repeats: int = 15, warmup: int = 3, threads: int = 1, latency: bool = True,
        mode: str = MODE, timeout: float = 1200.0, log: Callable[[str], None] = print,
        on_row: Callable[[list[dict[str, Any]]], None] | None = None) -> list[dict[str, Any]]:
    """Measure every model in its own child; failures become error rows. ``on_row``
    gets the rows so far after each model (to save partial results)."""
    rows = []
    for i, name in enumerate(models):
        r = run_isolated(measure, name, repeats, warmup, threads, latency, mode, timeout=timeout)
        row = r["value"] if r["ok"] else {"model": name, "error": r["error"]}
        rows.append(row)
        if on_row is not None:
            on_row(rows)
        log(f"[reparam {i + 1}/{len(models)}] {name}: "
            + (row["error"] if "error" in row else f"missed {verdicts(row)}" if verdicts(row) else "all targets met"))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.reparam", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}, 5 repeats")
    p.add_argument("--models", nargs="+", help="timm model names (default: all of MODELS)")
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-latency", action="store_true", help="counts and errors only")
    p.add_argument("--mode", default=MODE, help="our mode to compare (default reparam)")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    command = "python -m benchmarks.reparam " + " ".join(sys.argv[1:] if argv is None else argv)
    meta = {"command": command.strip(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "environment": environment(args.threads)}
    t0 = time.perf_counter()
    models = args.models or list(QUICK if args.quick else MODELS)
    repeats = 5 if args.quick else args.repeats
    args.out.mkdir(parents=True, exist_ok=True)

    def save(rows: list[dict[str, Any]]) -> None:
        data = {**meta, "seconds": time.perf_counter() - t0, "rows": rows}
        (args.out / "reparam.json").write_text(json.dumps(data, indent=1, default=str))
        (args.out / "reparam.md").write_text(f"Command: `.venv/bin/{command.strip()}`\n\n{table(rows)}\n")

    rows = run(models, repeats=repeats, warmup=args.warmup, threads=args.threads, latency=not args.no_latency,
               mode=args.mode, on_row=save)
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
