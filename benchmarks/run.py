"""One command for every benchmark:

    .venv/bin/python -m benchmarks.run [--quick] [--models SPEC ...] [--only bn latency speed reparam scale]

``reparam`` (ours against timm's ``reparameterize_model``, see
:mod:`benchmarks.reparam`) and ``scale`` (1k to 50k-node graphs, see
:mod:`benchmarks.scale`) are slow and run only when asked for.
Writes ``benchmarks/results/{bn_removed,latency,tool_speed,reparam,scale}.json`` for the
parts it runs, then ``summary.md`` (the tables) and the charts (``*.html``,
``*.png``) from every result file in the folder, so a part re-run alone
(``--only speed``) keeps the other parts' results.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from . import bn_removed, latency, reparam, scale, tool_speed
from .charts import write_charts
from .environment import environment
from .models import LATENCY, QUICK, QUICK_LATENCY, all_models
from .tables import bn_table, latency_table, ort_all_note, problems, speed_table

RESULTS = Path(__file__).parent / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a few small models and sizes (smoke test, ~3 min)")
    p.add_argument("--models", nargs="+", help="model specs for the BN table (default: all)")
    p.add_argument("--latency-models", nargs="+", help="model specs for latency (default: a representative set)")
    p.add_argument("--only", nargs="+", choices=("bn", "latency", "speed", "reparam", "scale"), default=["bn", "latency", "speed"])
    p.add_argument("--threads", type=int, default=1,
                   help="torch and onnxruntime intra-op threads (default 1: robust on a shared machine)")
    p.add_argument("--repeats", type=int, default=15, help="timed repeats per variant (default 15)")
    p.add_argument("--warmup", type=int, default=3, help="untimed warm-up runs per variant (default 3)")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8], help="latency batch sizes (default 1 8)")
    p.add_argument("--ort-level", default="all", choices=("disabled", "basic", "extended", "all"),
                   help="onnxruntime optimisation level when timing (default: all, ORT's own default)")
    p.add_argument("--no-peers", action="store_true", help="skip the other tools (faster)")
    p.add_argument("--no-png", action="store_true", help="HTML charts only")
    p.add_argument("--report-only", action="store_true",
                   help="measure nothing: rebuild summary.md and the charts from the JSON files")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default benchmarks/results, or benchmarks/results/quick with --quick)")
    args = p.parse_args(argv)
    if args.out is None:
        args.out = RESULTS / "quick" if args.quick else RESULTS
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore")
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None else argv)
    meta = {"command": command.strip(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "environment": environment(args.threads)}
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.0f} s] {msg}", flush=True)

    parts = [] if args.report_only else args.only
    if "bn" in parts:
        models = args.models or (list(QUICK) if args.quick else all_models())
        rows = bn_removed.run(models, peers=not args.no_peers, log=log)
        _dump(args.out / "bn_removed.json", {**meta, "seconds": time.perf_counter() - t_start, "rows": rows})
    if "latency" in parts:
        t0 = time.perf_counter()
        models = args.latency_models or list(QUICK_LATENCY if args.quick else LATENCY)
        rows = latency.run(models, batches=tuple(args.batches), repeats=5 if args.quick else args.repeats,
                           warmup=1 if args.quick else args.warmup, threads=args.threads,
                           ort_level=args.ort_level, log=log)
        _dump(args.out / "latency.json", {**meta, "seconds": time.perf_counter() - t0, "rows": rows})
    if "speed" in parts:
        t0 = time.perf_counter()
        families = tool_speed.QUICK_FAMILIES if args.quick else tool_speed.FAMILIES
        reference = None if args.quick else "torchvision:densenet121"
        speed = tool_speed.run(families, reference=reference, log=log)
        _dump(args.out / "tool_speed.json", {**meta, "seconds": time.perf_counter() - t0, **speed})
    if "reparam" in parts:
        t0 = time.perf_counter()
        names = list(reparam.QUICK if args.quick else reparam.MODELS)
        rows = reparam.run(names, repeats=5 if args.quick else args.repeats, warmup=args.warmup,
                           threads=args.threads, log=log)
        _dump(args.out / "reparam.json", {**meta, "seconds": time.perf_counter() - t0, "rows": rows})
    if "scale" in parts:
        t0 = time.perf_counter()
        rows = scale.run(sizes=scale.QUICK_SIZES if args.quick else scale.SIZES, log=log)
        data = {**meta, "seconds": time.perf_counter() - t0, "rows": rows}
        _dump(args.out / "scale.json", data)
        (args.out / "scale.md").write_text(scale.markdown(data))
    results = {name: _load(args.out / f"{name}.json")
               for name in ("bn_removed", "latency", "tool_speed", "reparam", "scale")}
    bn, lat, sp = results["bn_removed"], results["latency"], results["tool_speed"]
    notes = write_charts(args.out, bn and bn["rows"], lat and lat["rows"], sp, png=not args.no_png)
    (args.out / "summary.md").write_text(summary(results, notes))
    log(f"done: {args.out / 'summary.md'}")
    return 0


def summary(results: dict[str, dict | None], notes: list[str]) -> str:
    """The markdown summary of every result file present (tables, problems)."""

    def header(data: dict) -> str:
        env = data["environment"]
        commit = f", git {env['git_commit']}" if env.get("git_commit") else ""
        return (f"Command: `.venv/bin/{data['command']}` (started {data['started']}{commit}, "
                f"{data.get('seconds', 0) / 60:.1f} min for this part). torch {env['torch']}, torchvision "
                f"{env['torchvision']}, timm {env['timm']}, onnxruntime {env['onnxruntime']}, onnxoptimizer "
                f"{env['onnxoptimizer']}, onnxscript {env['onnxscript']}; {env['cpus']} CPUs, "
                f"{env['threads']} thread(s) for torch and onnxruntime.")

    parts = ["# Benchmark results"]
    bn, lat, sp = results["bn_removed"], results["latency"], results["tool_speed"]
    if bn:
        parts += ["## BNs removed", header(bn), bn_table(bn["rows"]), ort_all_note(bn["rows"]),
                  "### Problems, skipped models and notes", problems(bn["rows"])]
    if lat:
        parts += ["## Latency (ratio to the no-BN floor)", header(lat), latency_table(lat["rows"])]
    if sp:
        parts += ["## Tool speed", header(sp), speed_table(sp)]
    rp = results.get("reparam")
    if rp:
        parts += ["## Re-parameterization: ours (`reparam`) against timm's `reparameterize_model`",
                  header(rp), reparam.table(rp["rows"])]
    sc = results.get("scale")
    if sc:
        parts += ["## Scale: 1k to 50k nodes", header(sc), scale.table(sc["rows"]),
                  "\n".join(f"- {g}" for g in scale.growth(sc["rows"]))]
    if notes:
        parts += ["## Chart notes", "\n".join(f"- {n}" for n in notes)]
    return "\n\n".join(parts) + "\n"


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def _dump(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


if __name__ == "__main__":
    raise SystemExit(main())
