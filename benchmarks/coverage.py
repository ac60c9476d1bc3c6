"""Coverage benchmark: the models people bring, through every frontend and mode.

    .venv/bin/python -m benchmarks.coverage                  # every model (long: run it in the background)
    .venv/bin/python -m benchmarks.coverage --quick          # one cheap model per family
    .venv/bin/python -m benchmarks.coverage --models ultralytics:yolov8n --routes onnx
    .venv/bin/python -m benchmarks.coverage --report-only --update-readme

Every model of ``benchmarks.coverage_models`` (random weights, randomised BN
statistics, built offline) goes three ways: ``callable`` (bnfold's PyTorch
frontend on the module, as ``bnfold analyze NAME`` does), ``onnx`` (the module
exported by torch's dynamo exporter with every BN kept, or the legacy exporter
when dynamo fails) and ``pt2`` (``torch.export.save``), each loaded by bnfold
from the file. Each is analysed in the three modes and folded in each (write-back
and verification). Each (model, route) runs in its own forked child under a
memory limit (``--memory-gb``), so a crash or an exhausted limit costs one row.
Writes ``coverage.json`` (every figure) and ``coverage.md`` (the table) to
``benchmarks/results/`` (``--quick``: ``benchmarks/results/quick/``);
``--update-readme`` copies the table into README.md between its coverage markers.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .coverage_models import QUICK, Case, cases
from .coverage_table import markdown, update_readme
from .isolate import run_isolated

RESULTS = Path(__file__).parent / "results"
ROUTES = ("callable", "onnx", "pt2")
MODES = ("adjacent", "optimal", "reparam")


def _limit_memory(gb: float) -> None:
    import resource

    limit = int(gb * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _module(case: Case) -> tuple[Any, tuple]:
    """The ``nn.Module`` (random weights, randomised BN statistics) and its example inputs."""
    import importlib

    import torch

    from inspector.sources import randomize_bn
    from inspector.zoo import PREFIXES, build

    kind, _, rest = case.spec.partition(":")
    if kind in PREFIXES:
        torch.manual_seed(0)
        module, shape, _ = build(kind, rest)
        randomize_bn(module, 0)
    else:
        path, _, name = case.spec.partition(":")
        module = getattr(importlib.import_module(path), name)()
        shape = module.input_shape
    shape = case.shape or shape
    shapes = [shape] if all(isinstance(d, int) for d in shape) else list(shape)
    gen = torch.Generator().manual_seed(0)
    return module.eval(), tuple(torch.randn(s, generator=gen) for s in shapes)


def _export(case: Case, route: str, folder: Path) -> tuple[str, str]:
    """Write the model as ``route`` (onnx / pt2); returns (path, exporter used)."""
    import torch

    module, inputs = _module(case)
    path = folder / f"model.{route}"
    if route == "pt2":
        with torch.no_grad():
            torch.export.save(torch.export.export(module, inputs, strict=False), str(path))
        return str(path), "torch.export"
    import onnx

    from inspector.bench.peers import export_onnx_unfolded

    try:
        with torch.no_grad():
            onnx.save(export_onnx_unfolded(module, inputs), str(path))
        return str(path), "dynamo"
    except Exception:  # noqa: BLE001 - fall back to the TorchScript exporter
        with torch.no_grad():
            torch.onnx.export(module, inputs, str(path), dynamo=False, do_constant_folding=False)
        return str(path), "legacy"


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:500]


def measure(case: Case, route: str, memory_gb: float) -> dict:
    """One (model, route) row: load, analyse in every mode, fold in every mode."""
    import warnings

    warnings.filterwarnings("ignore")
    _limit_memory(memory_gb)
    from inspector.errors import InspectorError, VerificationError
    from inspector.folding.driver import compare_modes
    from inspector.folding.pipeline import fold
    from inspector.frontends import load
    from inspector.safe_io import captured_output

    row: dict[str, Any] = {"family": case.family, "spec": case.spec, "route": route, "modes": {}}
    with tempfile.TemporaryDirectory(prefix="bnfold-coverage-") as tmp, captured_output():
        t0 = time.perf_counter()
        try:
            if route == "callable":
                source = case.spec
            else:
                try:
                    source, row["exporter"] = _export(case, route, Path(tmp))
                except Exception as e:  # noqa: BLE001 - the exporter's failure, not bnfold's
                    row.update(stage="export", error=f"{route} export failed: {_first_line(e)}")
                    return row
                row["export_s"] = time.perf_counter() - t0
                t0 = time.perf_counter()
            loaded = load(source, input_shape=case.shape if route == "callable" else None)
        except InspectorError as e:
            row.update(stage="load", refusal=str(e).splitlines()[0], load_s=time.perf_counter() - t0)
            return row
        except Exception as e:  # noqa: BLE001 - a crash of the tool: reported as such
            row.update(stage="load", crash=_first_line(e), load_s=time.perf_counter() - t0)
            return row
        row.update(load_s=time.perf_counter() - t0, bns=len(loaded.graph.bn_nodes()),
                   nodes=len(loaded.graph), inputs=[list(s.shape) for s in loaded.inputs],
                   notes=list(loaded.notes))
        t0 = time.perf_counter()
        analyses = compare_modes(loaded.graph, MODES)
        row["analyze_s"] = time.perf_counter() - t0
        for mode in MODES:
            a = analyses[mode]
            reasons: dict[str, int] = {}
            for v in a.verdicts.values():
                if v.status == "not_foldable":
                    code = getattr(v.reason_code, "value", str(v.reason_code))
                    reasons[code] = reasons.get(code, 0) + 1
            out = row["modes"][mode] = {"folded": a.folded_count, "merged": a.merged_count,
                                        "reasons": reasons}
            gc.collect()  # each mode as its own CLI run would: nothing of the last fold left
            t0 = time.perf_counter()
            try:
                result = fold(loaded, mode, analysis=a)
                v = result.verification
                out.update(status=v.state, max_rel_error=v.max_rel_error,
                           worst_tensor_rel_error=v.worst_tensor_rel_error, worst_tensor=v.worst_tensor,
                           folded_verified=result.analysis.folded_count,
                           merged_verified=result.analysis.merged_count,
                           rolled_back=len(result.rolled_back),
                           not_compared=list(getattr(v, "notes", ()) or ()))
                del result, v
            except VerificationError as e:
                out.update(status="refused", refusal=str(e).splitlines()[0])
            except InspectorError as e:
                out.update(status="error", refusal=str(e).splitlines()[0])
            except MemoryError:  # what the CLI says too (exit 2, not a traceback)
                out.update(status="error", refusal=f"out of memory under the {memory_gb:g} GB limit")
            except Exception as e:  # noqa: BLE001
                out.update(status="crash", crash=_first_line(e))
            out["fold_s"] = time.perf_counter() - t0
    return row


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.coverage", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one cheap model per family")
    p.add_argument("--models", nargs="+", help="specs (default: every model of the run)")
    p.add_argument("--routes", nargs="+", choices=ROUTES, default=list(ROUTES))
    p.add_argument("--memory-gb", type=float, default=8.0, help="address-space limit per child (default 8)")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per (model, route) (default 1800)")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--report-only", action="store_true", help="measure nothing: rebuild coverage.md")
    p.add_argument("--update-readme", action="store_true",
                   help="copy the table into README.md between its coverage markers")
    args = p.parse_args(argv)
    if args.out is None:
        args.out = RESULTS / "quick" if args.quick else RESULTS
    return args


def _environment() -> dict[str, Any]:
    import importlib.metadata as md
    import platform
    import subprocess

    env: dict[str, Any] = {"python": platform.python_version()}
    for pkg in ("torch", "torchvision", "onnx", "onnxruntime", "ultralytics", "transformers",
                "segmentation-models-pytorch", "pytorchcv", "timm"):
        try:
            env[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            env[pkg] = None
    try:
        env["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                           text=True, timeout=10, cwd=Path(__file__).parent).stdout.strip()
    except Exception:  # noqa: BLE001 - not a git checkout
        env["git_commit"] = None
    return env


def merge(old: dict, new: dict) -> dict:
    """``old`` with the (model, route) rows of ``new`` replaced or added, in the model
    list's order; the commands of both are kept (``reruns``, each with its git commit;
    an earlier identical command is dropped: its rows were all measured again)."""
    keys = {(r["spec"], r["route"]) for r in new["rows"]}
    specs = {r["spec"] for r in new["rows"]}
    rows = [r for r in old["rows"] if (r["spec"], r["route"]) not in keys
            and not (r["route"] == "-" and r["spec"] in specs)] + new["rows"]
    order = {c.spec: i for i, c in enumerate(cases())}
    rows.sort(key=lambda r: (order.get(r["spec"], len(order)), ROUTES.index(r["route"])
                             if r["route"] in ROUTES else -1))
    rerun = {**{k: new[k] for k in ("command", "started", "seconds")},
             "git": new["environment"].get("git_commit")}
    reruns = [r for r in old.get("reruns", []) if r["command"] != new["command"]] + [rerun]
    return {**old, "rows": rows, "reruns": reruns, "environment": new["environment"]}


def _available(case: Case) -> bool:
    import importlib.util

    return case.needs is None or importlib.util.find_spec(case.needs) is not None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "coverage.json"
    if not args.report_only:
        every = cases()
        wanted = args.models or (list(QUICK) if args.quick else [c.spec for c in every])
        chosen = [c for c in every if c.spec in wanted]
        chosen += [Case("other", s) for s in wanted if s not in {c.spec for c in every}]
        started = time.perf_counter()
        rows = []
        for case in chosen:
            if not _available(case):
                rows.append({"family": case.family, "spec": case.spec, "route": "-",
                             "skipped": f"{case.needs} is not installed"})
                continue
            for route in args.routes:
                print(f"[{time.perf_counter() - started:6.0f} s] {case.spec} ({route})", flush=True)
                got = run_isolated(measure, case, route, args.memory_gb, timeout=args.timeout)
                rows.append(got["value"] if got["ok"] else {
                    "family": case.family, "spec": case.spec, "route": route,
                    "crash": f"benchmark child: {got['error']}"})
                print("    " + json.dumps(rows[-1], default=str)[:400], flush=True)
                with (args.out / "coverage.partial.jsonl").open("a") as partial:  # survives a crash
                    partial.write(json.dumps(rows[-1], default=str) + "\n")
        command = "python -m benchmarks.coverage " + " ".join(sys.argv[1:] if argv is None else argv)
        data = {"command": command.strip(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                "seconds": time.perf_counter() - started, "environment": _environment(),
                "memory_gb": args.memory_gb, "rows": rows}
        if args.models and path.exists():  # a partial re-run replaces its rows, keeps the rest
            data = merge(json.loads(path.read_text()), data)
        path.write_text(json.dumps(data, indent=1, default=str))
        (args.out / "coverage.partial.jsonl").unlink(missing_ok=True)
    data = json.loads(path.read_text())
    table = markdown(data)
    (args.out / "coverage.md").write_text(table)
    if args.update_readme:
        readme = Path(__file__).resolve().parents[1] / "README.md"
        readme.write_text(update_readme(readme.read_text(), table))
    print(f"wrote {args.out / 'coverage.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
