"""Per-tensor verification overhead: time of verify() with every shared tensor
compared vs the outputs alone, on one model (default torchvision:densenet121).

    python scripts/bench_verification.py [MODEL] [--onnx PATH]

Prints one line per frontend: seconds for outputs-only and per-tensor
verification (same trials, same sizes), the ratio, the number of tensors
compared and the worst tensor.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspector.folding.driver import analyze  # noqa: E402
from inspector.frontends import load  # noqa: E402
from inspector.verification.compare import verify  # noqa: E402


def measure(spec: str) -> None:
    t0 = time.perf_counter()
    loaded = load(spec)
    t_load = time.perf_counter() - t0
    analysis = analyze(loaded.graph, "optimal")
    model = loaded.frontend.write_back(loaded, analysis.folded, analysis.removed, analysis.changed)
    verify(loaded, model, trials=1)  # warm-up (sessions, allocator)
    t0 = time.perf_counter()
    plain = verify(loaded, model)
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = verify(loaded, model, steps=analysis.steps)
    t_full = time.perf_counter() - t0
    print(f"{spec} [{loaded.framework}] {len(loaded.graph)} nodes, {len(analysis.removed)} BN folded, "
          f"load {t_load:.1f} s | outputs only {t_plain:.2f} s (rel err {plain.max_rel_error:.1e}) | "
          f"per-tensor {t_full:.2f} s ({t_full / t_plain:.2f}x), {full.tensors_compared} tensors, "
          f"worst {full.worst_tensor} {full.worst_tensor_rel_error:.1e}, {full.state}, "
          f"sizes {[list(s) for s in full.input_shapes]}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", nargs="?", default="torchvision:densenet121")
    p.add_argument("--onnx", help="also measure this ONNX export of the model")
    args = p.parse_args()
    measure(args.model)
    if args.onnx:
        measure(args.onnx)


if __name__ == "__main__":
    main()
