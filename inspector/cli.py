"""``bnfold``: the command line (also ``python -m inspector``).

    bnfold analyze MODEL [--mode optimal|adjacent|reparam] [--json PATH|-] [--input-shape 1,3,224,224] [--quant-report]
    bnfold fold MODEL -o OUT [--mode ...] [--json PATH|-] [--quant-report]
    bnfold svg MODEL -o graph.svg [--mode ...] [--focus NODE --hops N]
    bnfold samples

Errors are one line on stderr and a non-zero exit; with ``--json -`` stdout
carries only the JSON.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import InspectorError

EXIT_ERROR = 2


def _parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(p) for p in text.replace("x", ",").split(",") if p.strip())
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"bad --input-shape {text!r}; expected e.g. 1,3,224,224") from e
    if not shape or any(d <= 0 for d in shape):
        raise argparse.ArgumentTypeError(f"bad --input-shape {text!r}; dimensions must be positive")
    return shape


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bnfold", description="Find, explain, apply and verify BN folding.")
    sub = p.add_subparsers(dest="command", required=True)

    def quant_arg(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--quant-report", action="store_true", help="add int8 weight-quantization "
                        "figures of every changed layer (JSON key 'quantization') and to the summary")

    def model_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("model", help="model.onnx | model.pt2 | sample:NAME | timm:NAME | torchvision:NAME | pkg.mod:fn")
        sp.add_argument("--mode", choices=("optimal", "adjacent", "reparam"), default="optimal",
                        help="reparam: optimal folding plus merging parallel linear branches into one conv")
        sp.add_argument("--input-shape", type=_parse_shape, default=None, help="e.g. 1,3,224,224")

    a = sub.add_parser("analyze", help="say which BNs fold and why the others do not")
    model_args(a)
    a.add_argument("--json", metavar="PATH|-", help="write the JSON report to PATH, or stdout with -")
    quant_arg(a)
    f = sub.add_parser("fold", help="fold, verify and save the model")
    model_args(f)
    f.add_argument("-o", "--output", required=True, help="output path: .onnx (any input) or .pt2 (PyTorch inputs)")
    f.add_argument("--json", metavar="PATH|-", help="write the JSON report to PATH, or stdout with -")
    quant_arg(f)
    s = sub.add_parser("svg", help="render the annotated graph as SVG")
    model_args(s)
    s.add_argument("-o", "--output", required=True, help="output .svg path")
    s.add_argument("--focus", help="node name or id: only its neighbourhood")
    s.add_argument("--hops", type=int, default=2, help="neighbourhood radius for --focus")
    s.add_argument("--rankdir", choices=("TB", "LR"), default="TB")
    sub.add_parser("samples", help="list the bundled sample model names")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except InspectorError as e:
        print(f"bnfold: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("bnfold: interrupted", file=sys.stderr)
        return 130


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _load(args):
    from .frontends import load

    _log(f"loading {args.model} ...")
    t0 = time.perf_counter()
    loaded = load(args.model, input_shape=args.input_shape)
    _log(f"loaded {loaded.name}: {len(loaded.graph)} nodes, {len(loaded.graph.bn_nodes())} BN ({time.perf_counter() - t0:.2f} s)")
    for note in loaded.notes:
        _log(f"note: {note}")
    return loaded


def _cmd_samples(args) -> int:
    from sample_models import list_samples

    for s in list_samples():
        print(s.name)
    return 0


def _cmd_analyze(args) -> int:
    from .report import build_report, compare_modes

    loaded = _load(args)
    analyses = compare_modes(loaded.graph, _modes(args.mode))
    report = build_report(loaded.name, analyses, mode=args.mode, framework=loaded.framework)
    _add_quant(report, analyses[args.mode], args)
    _emit(report, args.json)
    return 0


def _cmd_fold(args) -> int:
    from .folding.pipeline import fold
    from .report import build_report, compare_modes

    out = Path(args.output)
    if out.suffix.lower() not in (".onnx", ".pt2"):
        raise InspectorError(f"unsupported output {out.name}: use a .onnx or .pt2 path")
    loaded = _load(args)
    if out.suffix.lower() == ".pt2" and loaded.framework != "torch":
        raise InspectorError(".pt2 output needs a PyTorch input; use -o model.onnx for ONNX inputs")
    analyses = compare_modes(loaded.graph, _modes(args.mode))
    result = fold(loaded, args.mode, analysis=analyses[args.mode],
                  progress=lambda msg, frac: _log(f"[{frac:4.0%}] {msg}"))
    analyses[args.mode] = result.analysis
    loaded.frontend.save(result.model, str(out), loaded)
    _log(f"saved {out}")
    report = build_report(loaded.name, analyses, mode=args.mode, verification=result.verification,
                          timings=result.timings, framework=loaded.framework)
    report["rolled_back"] = result.rolled_back
    report["output"] = str(out)
    _add_quant(report, result.analysis, args)
    _emit(report, args.json)
    return 0


def _modes(mode: str) -> tuple[str, ...]:
    """The modes a report compares: adjacent and optimal, plus ``mode`` itself."""
    return ("adjacent", "optimal") + ((mode,) if mode not in ("adjacent", "optimal") else ())


def _cmd_svg(args) -> int:
    from .render import render_svg, to_dot
    from .report import compare_modes

    loaded = _load(args)
    analyses = compare_modes(loaded.graph)
    focus = None
    if args.focus:
        try:
            focus = loaded.graph.find(args.focus).id
        except KeyError as e:
            raise InspectorError(f"--focus {args.focus!r}: no node with that name or id") from e
    dot = to_dot(loaded.graph, analyses["optimal"], analyses["adjacent"], rankdir=args.rankdir,
                 focus=focus, hops=args.hops, title=loaded.name, collapse=focus is None and len(loaded.graph) > 150)
    Path(args.output).write_text(render_svg(dot), encoding="utf-8")
    _log(f"saved {args.output}")
    return 0


def _add_quant(report: dict, analysis, args) -> None:
    if args.quant_report:
        from .quant import quant_report

        report["quantization"] = quant_report(analysis)


def _emit(report: dict, json_target: str | None) -> None:
    from .report import to_json

    text = to_json(report)
    if json_target == "-":
        sys.stdout.write(text + "\n")
        _summary(report, sys.stderr)
        return
    if json_target:
        Path(json_target).write_text(text + "\n", encoding="utf-8")
        _log(f"wrote {json_target}")
    _summary(report, sys.stdout)


def _summary(report: dict, stream) -> None:
    m = report["modes"]
    reparam = ""
    if "reparam" in m:
        r = m["reparam"]
        reparam = (f", reparam folds {r['folded']} and merges {r['merged']} "
                   f"(nodes {r['nodes_before']} → {r['nodes_after']}, convs {r['convs_before']} → {r['convs_after']})")
    print(f"{report['model']}: {report['bn_total']} BN — adjacent folds {m['adjacent']['folded']}, "
          f"optimal folds {m['optimal']['folded']}{reparam}", file=stream)
    for layer in report["layers"]:
        mark = {"folded": "folded", "merged": "merged"}.get(layer["status"], "kept  ")
        extra = "" if layer["status"] in ("folded", "merged") else f" [{layer['reason_code']}]"
        print(f"  {mark} {layer['name']}{extra}: {layer['reason']}", file=stream)
    if "quantization" in report:
        from .quant import summary_lines

        print("\n".join(summary_lines(report["quantization"])), file=stream)
    v = report["verification"]
    if v.get("max_abs_error") is not None:
        state = "PASS" if v["passed"] else "FAIL"
        print(f"verification {state}: max abs error {v['max_abs_error']:.2e}, "
              f"max rel error {v['max_rel_error']:.2e}", file=stream)


_COMMANDS = {"analyze": _cmd_analyze, "fold": _cmd_fold, "svg": _cmd_svg, "samples": _cmd_samples}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
