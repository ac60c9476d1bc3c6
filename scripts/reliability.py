"""Reliability run: fold many random graphs and count the wrong outputs.

Generates random IR graphs with the property tests' strategy (half the plain
vocabulary, half the extended one: padding modes and values, strides, resize,
slices with steps, ceil-mode pools, affines, channels-last, heads, blocking
ops), analyses each in both modes, runs the original and the folded graph in
float64 on two random inputs and compares every output. Unlike the pytest
property (which stops at the first failure), it runs them all and prints:

    graphs, folds checked, BNs folded, wrong outputs (must be 0), errors raised
    (must be 0), worst error, and the script of the worst graph when one is wrong.

Usage (from the repository root):

    python scripts/reliability.py --graphs 10000        # the nightly-size run
    python scripts/reliability.py --graphs 2000 --seed 1

The error of one output is max|y - y_folded| / (1 + max|y|); an output is wrong
above 1e-8 (the property tests' bound). Exit status 1 when anything is wrong.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from inspector.folding.driver import analyze  # noqa: E402
from inspector.verification import random_inputs, run_graph  # noqa: E402
from tests.graph_factory import random_dags  # noqa: E402

BOUND = 1e-8
MODES = ("adjacent", "optimal")


class _TimeUp(Exception):
    """--max-seconds reached."""


def output_error(original, folded, inputs) -> float:
    """Worst relative output error of ``folded`` against ``original`` on ``inputs``."""
    worst = 0.0
    for y, z in zip(run_graph(original, inputs), run_graph(folded, inputs)):
        if y.size:
            err = float(np.max(np.abs(y - z))) / (1.0 + float(np.max(np.abs(y))))
            worst = max(worst, err if np.isfinite(err) else np.inf)
    return worst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--graphs", type=int, default=10_000, help="random graphs (default 10000)")
    ap.add_argument("--seed", type=int, default=0, help="generation seed (default 0)")
    ap.add_argument("--max-seconds", type=float, default=None,
                    help="stop early (cleanly, with the summary) after this long")
    args = ap.parse_args(argv)

    stats = {"graphs": 0, "folds": 0, "bns_folded": 0, "bns": 0, "wrong": 0, "raised": 0}
    worst: dict = {"err": 0.0, "script": "", "mode": ""}
    first_raise: list[str] = []
    t0 = time.perf_counter()

    @seed(args.seed)
    @settings(max_examples=args.graphs, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(graph=st.one_of(random_dags(), random_dags(extended=True)))
    def run(graph) -> None:
        if args.max_seconds is not None and time.perf_counter() - t0 > args.max_seconds:
            raise _TimeUp
        stats["graphs"] += 1
        for mode in MODES:
            try:
                result = analyze(graph, mode)
                err = max(output_error(graph, result.folded, random_inputs(graph, seed=s))
                          for s in (0, 1))
            except Exception as e:  # counted and reported, never hidden
                stats["raised"] += 1
                if not first_raise:
                    first_raise.append(f"{type(e).__name__}: {e}\n{getattr(graph, 'script', '')}")
                continue
            stats["folds"] += 1
            stats["bns"] += result.bn_total
            stats["bns_folded"] += result.folded_count
            stats["wrong"] += err > BOUND
            if err > worst["err"]:
                worst.update(err=err, script=getattr(graph, "script", ""), mode=mode)
        if stats["graphs"] % 500 == 0:
            print(f"  {stats['graphs']} graphs, {stats['wrong']} wrong, worst {worst['err']:.2e} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)

    try:
        run()
    except _TimeUp:
        print(f"stopped after --max-seconds {args.max_seconds:g}")
    secs = time.perf_counter() - t0
    print(f"graphs: {stats['graphs']}  analyses checked: {stats['folds']} (modes: {', '.join(MODES)})")
    print(f"BNs: {stats['bns']}  folded: {stats['bns_folded']}")
    print(f"wrong outputs: {stats['wrong']}  (error > {BOUND:g}; must be 0)")
    print(f"errors raised: {stats['raised']}  (must be 0)")
    print(f"worst error: {worst['err']:.3e}  ({worst['mode'] or '-'})")
    print(f"time: {secs:.1f} s ({1000 * secs / max(stats['graphs'], 1):.1f} ms per graph)")
    if stats["wrong"]:
        print(f"worst graph ({worst['mode']}):\n{worst['script']}")
    if first_raise:
        print(f"first error raised:\n{first_raise[0]}")
    return 1 if stats["wrong"] or stats["raised"] else 0


if __name__ == "__main__":
    sys.exit(main())
