"""``optimal`` under onnxruntime's own optimisation: never slower than the original? (issue 15)

    nice .venv/bin/python -m benchmarks.ort_optimal [--models SPEC ...] [--rounds 20]

Each zoo model (random weights, randomised BN statistics) is exported keeping its
BNs (:func:`inspector.bench.peers.export_onnx_unfolded`), loaded through the ONNX
frontend and folded in mode ``optimal`` (the pipeline's runtime check included). Per
model: BNs folded, the folds refused for breaking a runtime fusion, the node counts
of onnxruntime's optimised graphs (``ORT_ENABLE_EXTENDED``) of the original and the
folded file, and the paired latency ratio folded / original under onnxruntime's
default optimisation (CPU, 1 thread, interleaved rounds, median and 95 % bootstrap
interval). Each model runs in a forked child; rows go to stdout and ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .isolate import run_isolated
from .vs_timm import paired_ratio

MODELS = ("torchvision:resnet18", "torchvision:mobilenet_v3_small", "timm:levit_128s", "timm:fastvit_t8",
          "timm:mixnet_s", "timm:resnetv2_50")
OUT = Path(__file__).parent / "results" / "ort_optimal.json"


def measure(spec: str, rounds: int) -> dict[str, Any]:
    import os
    import tempfile
    import warnings

    import numpy as np
    import onnx
    import torch

    from inspector.bench.peers import export_onnx_unfolded
    from inspector.folding.pipeline import fold
    from inspector.frontends import load

    from .models import build
    from .reparam import _ort_session

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    b = build(spec)
    proto = export_onnx_unfolded(b.module.eval(), b.example)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.onnx")
        onnx.save(proto, path)
        loaded = load(path)
        result = fold(loaded, "optimal")
    rt = result.runtime or {}
    row: dict[str, Any] = {"model": spec, "bn": result.analysis.bn_total, "folded": result.analysis.folded_count,
                           "fusion_refused": len(result.fusion_refused),
                           "ort_optimised_nodes": [rt.get("nodes_before"), rt.get("nodes_after")],
                           "fusions_lost": rt.get("fusions_lost")}
    x = np.ascontiguousarray(b.example.numpy())
    sessions = {"original": _ort_session(loaded.model, 1), "optimal": _ort_session(result.model, 1)}
    runs = {k: (lambda s=s: s.run(None, {s.get_inputs()[0].name: x})) for k, s in sessions.items()}
    row["ort_ratio"] = paired_ratio(runs, "optimal", "original", rounds)
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ort_optimal", description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    rows = []
    print("| model | BNs folded | refused (fusion) | ORT optimised nodes original → optimal | "
          "ORT optimal/original [95 %] (original ms) |\n|---|---|---|---|---|", flush=True)
    for spec in args.models:
        got = run_isolated(measure, spec, args.rounds, timeout=900)
        r = got["value"] if got["ok"] else {"model": spec, "error": got["error"]}
        rows.append(r)
        if "error" in r:
            print(f"| {spec} | failed: {r['error'][:80]} | | | |", flush=True)
        else:
            q = r["ort_ratio"]
            print(f"| {spec} | {r['folded']} / {r['bn']} | {r['fusion_refused']} | "
                  f"{r['ort_optimised_nodes'][0]} → {r['ort_optimised_nodes'][1]} | {q['median']:.3f} "
                  f"[{q['ci95'][0]:.3f}, {q['ci95'][1]:.3f}] ({q['original_ms']:.1f} ms) |", flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
