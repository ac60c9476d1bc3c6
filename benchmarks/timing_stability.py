"""How many rounds the adaptive timing rule needs, and how stable its medians are.

Runs :func:`inspector.bench.timing.time_variants_adaptive` (the Timing page's
default: interleaved rounds after warm-up until every median's 95 % interval
is within ±2 %, or the budget) several times on one model and prints, per
session, the rounds, the stop reason and each variant's median with its
interval; then, per variant, how far the session medians lie from each other.

    python -m benchmarks.timing_stability sample:resnet --backend torch --sessions 3
"""

from __future__ import annotations

import argparse
import statistics


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", nargs="?", default="sample:resnet")
    p.add_argument("--backend", choices=("torch", "onnxruntime"), default="torch")
    p.add_argument("--sessions", type=int, default=3)
    p.add_argument("--tol", type=float, default=0.02)
    p.add_argument("--budget", type=float, default=30.0, help="seconds per session")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=5)
    args = p.parse_args(argv)

    import inspector
    from inspector.bench.stats import StoppingRule
    from inspector.bench.timing import build_variants, summarize, time_variants_adaptive
    from inspector.folding.driver import compare_modes

    loaded = inspector.load(args.model)
    variants = build_variants(loaded, compare_modes(loaded.graph))
    if args.backend == "onnxruntime":
        from inspector.bench.timing import onnx_bytes

        variants = {k: onnx_bytes(loaded, m) for k, m in variants.items()}
    rule = StoppingRule(tol=args.tol, budget_s=args.budget)
    shape = loaded.inputs[0].shape if loaded.inputs else "?"
    print(f"{args.model} input {shape} · {args.backend} · {args.threads} thread(s) · target "
          f"±{args.tol:.0%} · budget {args.budget:g} s · warm-up {args.warmup}")
    medians: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {}
    for i in range(args.sessions):
        run = time_variants_adaptive(loaded, variants, backend=args.backend, rule=rule,
                                     warmup=args.warmup, threads=args.threads)
        stats = summarize(run.times)
        print(f"session {i + 1}: {run.rounds} rounds, {run.stop_reason}, {run.seconds:.1f} s")
        for name, s in stats.items():
            medians.setdefault(name, []).append(s["median"])
            paired = s["paired_to_original"]
            ratio = f"  per-round ratio {paired[0]:.3f} [{paired[1]:.3f}, {paired[2]:.3f}]" \
                if paired else ""
            print(f"  {name:9s} median {s['median'] * 1e3:8.3f} ms  95% CI "
                  f"[{s['ci_low'] * 1e3:.3f}, {s['ci_high'] * 1e3:.3f}] (±{s['ci_rel']:.1%})"
                  f"{ratio}  {s['verdict']}")
            if paired:
                ratios.setdefault(name, []).append(paired[0])
    print("stability of the medians across sessions (max |m - median(m)| / median(m)):")
    for name, ms in medians.items():
        mid = statistics.median(ms)
        print(f"  {name:9s} {max(abs(m - mid) for m in ms) / mid:.1%}  "
              f"({', '.join(f'{m * 1e3:.3f}' for m in ms)} ms)")
    print("stability of the per-round ratio to the original across sessions:")
    for name, rs in ratios.items():
        print(f"  {name:9s} {', '.join(f'{r:.3f}' for r in rs)} (spread {max(rs) - min(rs):.3f})")


if __name__ == "__main__":
    main()
