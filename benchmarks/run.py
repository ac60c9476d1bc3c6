"""One command for every benchmark:

    .venv/bin/python -m benchmarks.run [--quick] [--models SPEC ...] [--only bn latency speed reparam scale]
                                       [--update-readme]

``reparam`` (ours against timm's ``reparameterize_model``, see
:mod:`benchmarks.reparam`) and ``scale`` (1k to 50k-node graphs, see
:mod:`benchmarks.scale`) are slow and run only when asked for.
Writes ``benchmarks/results/{bn_removed,latency,tool_speed,reparam,scale}.json`` for the
parts it runs, then ``summary.md`` (the tables) and the charts (``*.html``,
``*.png``) from every result file in the folder, so a part re-run alone
(``--only speed``) keeps the other parts' results. ``--update-readme`` also
rewrites the generated blocks (between ``<!-- bench-*:start -->`` markers) of
``README.md`` and ``benchmarks/README.md`` from the result files.
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
from .readme import markers, replace_between
from .tables import (
    bn_table,
    headline_bn_table,
    latency_short_table,
    latency_table,
    latency_target_line,
    ort_all_note,
    problems,
    speed_line,
    speed_table,
)

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).parent.parent
#: The command named in the README markers of the blocks it writes.
README_COMMAND = "python -m benchmarks.run --update-readme"


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
    p.add_argument("--update-readme", action="store_true",
                   help="also rewrite the generated tables in README.md and benchmarks/README.md "
                        "(only from benchmarks/results, never from --quick or --out elsewhere)")
    args = p.parse_args(argv)
    if args.out is None:
        args.out = RESULTS / "quick" if args.quick else RESULTS
    if args.update_readme and (args.quick or args.out.resolve() != RESULTS.resolve()):
        p.error("--update-readme writes the READMEs from benchmarks/results: drop --quick and --out")
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
        speed = tool_speed.run(families, reference=reference, threads=args.threads, log=log)
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
    if args.update_readme:
        for path in update_readmes(results):
            log(f"updated {path}")
    log(f"done: {args.out / 'summary.md'}")
    return 0


def header(data: dict) -> str:
    """Where a result file came from: command, start, commit, minutes, versions, threads."""
    env = data["environment"]
    commit = f", git {env['git_commit']}" if env.get("git_commit") else ""
    return (f"Command: `.venv/bin/{data['command']}` (started {data['started']}{commit}, "
            f"{data.get('seconds', 0) / 60:.1f} min for this part). torch {env['torch']}, torchvision "
            f"{env['torchvision']}, timm {env['timm']}, onnxruntime {env['onnxruntime']}, onnxoptimizer "
            f"{env['onnxoptimizer']}, onnxscript {env['onnxscript']}; {env['cpus']} CPUs, "
            f"{env['threads']} thread(s) for torch and onnxruntime.")


def main_sections(results: dict[str, dict | None], level: str = "##") -> list[str]:
    """Markdown blocks of the BN, latency and tool-speed results present, headings at ``level``."""
    parts = []
    bn, lat, sp = results["bn_removed"], results["latency"], results["tool_speed"]
    if bn:
        parts += [f"{level} BNs removed", header(bn), bn_table(bn["rows"]), ort_all_note(bn["rows"]),
                  f"{level}# Problems, skipped models and notes", problems(bn["rows"])]
    if lat:
        parts += [f"{level} Latency (paired CPU-time ratio to the no-BN floor)", header(lat),
                  latency_table(lat["rows"])]
    if sp:
        parts += [f"{level} Tool speed", header(sp), speed_table(sp)]
    return parts


def readme_blocks(results: dict[str, dict | None]) -> dict[str, dict[str, str]]:
    """Per README file (path from the repository root), the generated blocks (marker name -> markdown) from ``results``."""
    bn, lat, sp = results["bn_removed"], results["latency"], results["tool_speed"]
    top: dict[str, str] = {}
    if bn:
        top["bench-bn"] = f"{header(bn)}\n\n{headline_bn_table(bn['rows'])}\n"
    if lat:
        top["bench-latency"] = (f"{header(lat)}\n\n{latency_short_table(lat['rows'])}\n\n"
                                f"{latency_target_line(lat['rows'])}\n")
    if sp:
        top["bench-speed"] = f"**Tool speed** (`--only speed`): {speed_line(sp)}\n"
    full = "\n\n".join(main_sections(results, "###")) + "\n"
    return {"README.md": top, "benchmarks/README.md": {"bench-results": full}}


def update_readmes(results: dict[str, dict | None], root: Path = ROOT) -> list[Path]:
    """Rewrite every generated block of the README files under ``root``; returns the
    files written. A missing marker raises ``ValueError`` before any file is written."""
    texts = {}
    for name, blocks in readme_blocks(results).items():
        text = (root / name).read_text()
        for block, body in blocks.items():
            start, end = markers(block, README_COMMAND)
            text = replace_between(text, start, end, body, where=name)
        texts[root / name] = text
    written = []
    for path, text in texts.items():
        path.write_text(text)
        written.append(path)
    return written


def summary(results: dict[str, dict | None], notes: list[str]) -> str:
    """The markdown summary of every result file present (tables, problems)."""
    parts = ["# Benchmark results", *main_sections(results)]
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
