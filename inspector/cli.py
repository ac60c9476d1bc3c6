"""``bnfold``: the command line (also ``python -m inspector``).

    bnfold analyze MODEL [--mode optimal|adjacent|reparam] [--json PATH|-] [--input-shape 1,3,224,224] [--quant-report]
    bnfold fold MODEL -o OUT [--mode ...] [--json PATH|-] [--quant-report]
    bnfold svg MODEL -o graph.svg [--mode ...] [--focus NODE --hops N]
    bnfold samples

Errors are one line on stderr and a non-zero exit; with ``--json -`` stdout
carries only the JSON. Everything printed goes through ``terminal_safe``: a name
from a model cannot send ANSI/OSC escape sequences or bidi overrides to the
terminal (they are shown as ``\\uXXXX``); the JSON keeps the raw names, escaped
by ``json.dumps``. What torch/onnx print or log while loading and folding
is hidden unless ``--verbose``. Outputs are written atomically and never over
the input (``inspector.safe_io``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .errors import InspectorError
from .safe_text import SafeStream

EXIT_ERROR = 2
_CALLABLE_WARNING = ("pkg.mod:fn imports that module and calls fn(): it runs that code, so only "
                     "name code you trust")
#: The real streams while library output is captured (set by ``main``).
_STREAMS: dict[str, object] = {}


def _parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(p) for p in text.replace("x", ",").split(",") if p.strip())
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"bad --input-shape {text!r}; expected e.g. 1,3,224,224") from e
    if not shape or any(d <= 0 for d in shape):
        raise argparse.ArgumentTypeError(f"bad --input-shape {text!r}; dimensions must be positive")
    return shape


def _parser() -> argparse.ArgumentParser:
    from .analysis.verdict import Mode
    from .frontends import OUTPUT_SUFFIXES, SUFFIXES
    from .limits import DEFAULT_MAX_TENSOR_MB

    p = argparse.ArgumentParser(
        prog="bnfold", description="Find, explain, apply and verify BN folding.",
        epilog=f"Security: .onnx and .pt2 files are read without running code from them "
               f"(nothing is unpickled); pickled checkpoints only with --trust-pickle. "
               f"{_CALLABLE_WARNING}. Your own model: write a function that returns the "
               "nn.Module (it may set an `input_shape` attribute on it, a tuple of shapes for "
               "several inputs) and give pkg.mod:fn; a module in the current folder is found.")
    sub = p.add_subparsers(dest="command", required=True)

    def quant_arg(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--quant-report", action="store_true", help="add int8 weight-quantization "
                        "figures of every changed layer (JSON key 'quantization') and to the summary")

    def model_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("model", help=" | ".join(f"model{s}" for s in SUFFIXES) + " | sample:NAME | "
                        "timm:NAME | torchvision:NAME | ultralytics:NAME (a YOLO model YAML name, "
                        f"e.g. yolov8n; random weights) | pkg.mod:fn (WARNING: {_CALLABLE_WARNING})")
        sp.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.OPTIMAL.value,
                        help="reparam: optimal folding plus merging parallel linear branches into one conv")
        sp.add_argument("--input-shape", type=_parse_shape, default=None, help="e.g. 1,3,224,224")
        sp.add_argument("--max-tensor-mb", type=_parse_mb, default=DEFAULT_MAX_TENSOR_MB,
                        metavar="MB", help="refuse models needing a larger tensor (computed "
                        "constants, weights, inputs); default %(default)g")
        sp.add_argument("-v", "--verbose", action="store_true",
                        help="show what torch/onnx print and log while loading and folding")
        sp.add_argument("--trust-pickle", action="store_true",
                        help="open a pickled checkpoint (.pt/.pth/.ckpt/.bin) with "
                        "torch.load(weights_only=False). This RUNS CODE from the file: only for "
                        "files you trust (never available in the app). Without it a checkpoint "
                        "is refused with a package.module:callable example that builds it")

    a = sub.add_parser("analyze", help="say which BNs fold and why the others do not")
    model_args(a)
    a.add_argument("--json", metavar="PATH|-", help="write the JSON report to PATH, or stdout with -")
    quant_arg(a)
    f = sub.add_parser("fold", help="fold, verify and save the model")
    model_args(f)
    f.add_argument("-o", "--output", required=True, help=f"output path: {' or '.join(OUTPUT_SUFFIXES)} "
                   "(what the input's format can save: .onnx for any input, .pt2 for PyTorch ones)")
    f.add_argument("--json", metavar="PATH|-", help="write the JSON report to PATH, or stdout with -")
    f.add_argument("--allow-unverified", action="store_true",
                   help="save the folded model even when it cannot be verified (outputs NaN/Inf "
                        "for every input range tried); the report says 'unverified'")
    quant_arg(f)
    s = sub.add_parser("svg", help="render the annotated graph as SVG")
    model_args(s)
    s.add_argument("-o", "--output", required=True, help="output .svg path")
    s.add_argument("--focus", help="node name or id: only its neighbourhood")
    s.add_argument("--hops", type=int, default=2, help="neighbourhood radius for --focus")
    s.add_argument("--rankdir", choices=("TB", "LR"), default="TB")
    sub.add_parser("samples", help="list the bundled sample model names")
    return p


def _parse_mb(text: str) -> float:
    try:
        value = float(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"bad --max-tensor-mb {text!r}; expected a number of MB") from e
    if not value > 0:
        raise argparse.ArgumentTypeError(f"bad --max-tensor-mb {text!r}; it must be positive")
    return value


def main(argv: list[str] | None = None) -> int:
    real = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeStream(real[0]), SafeStream(real[1])
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = real


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    _STREAMS.update(out=sys.stdout, err=sys.stderr)
    log = None
    try:
        if getattr(args, "verbose", True):
            return _COMMANDS[args.command](args)
        from .safe_io import captured_output

        with captured_output() as log:
            return _COMMANDS[args.command](args)
    except InspectorError as e:
        hidden = len(log.getvalue().splitlines()) if log is not None else 0
        hint = f" ({hidden} lines of library log hidden; rerun with --verbose)" if hidden else ""
        if hidden and "--verbose" in str(e):
            hint = f" ({hidden} lines of library log hidden)"
        if getattr(args, "verbose", False) and e.details:
            print(e.details, file=sys.stderr)
        print(f"bnfold: error: {_one_line(e)}{hint}", file=sys.stderr)
        if e.example:
            print("\n".join(f"    {line}" for line in e.example.splitlines()), file=sys.stderr)
        return EXIT_ERROR
    except MemoryError:
        print("bnfold: error: out of memory. To fix this, lower --max-tensor-mb or use a "
              "smaller --input-shape.", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("bnfold: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - a library failure is still one line
        if getattr(args, "verbose", False):
            import traceback

            traceback.print_exc(file=sys.stderr)
        print(f"bnfold: error: unexpected {type(e).__name__}: {_one_line(e)} (rerun with "
              "--verbose for the traceback; please report it)", file=sys.stderr)
        return EXIT_ERROR
    finally:
        _STREAMS.clear()


def _one_line(e: BaseException, limit: int = 600) -> str:
    """The first line of ``e``, at most ``limit`` characters; a long line is cut in
    the middle so that its "To fix this" part survives."""
    text = " ".join(str(e).split("\n")[0:1]).strip() or type(e).__name__
    if len(text) <= limit:
        return text
    fix = text.rfind("To fix this")
    if 0 < fix and len(text) - fix < limit - 100:
        head = limit - (len(text) - fix) - 2
        return text[:head].rstrip() + "… " + text[fix:]
    return text[:limit - 1] + "…"


def _out():
    return _STREAMS.get("out", sys.stdout)


def _err():
    return _STREAMS.get("err", sys.stderr)


def _log(msg: str) -> None:
    print(msg, file=_err(), flush=True)


def _inputs(args) -> list[str]:
    """The input file (if the model is a file): outputs may never overwrite it."""
    return [args.model] if Path(args.model).exists() else []


def _import_from_cwd(model: str) -> None:
    """Let ``package.module:callable`` name a module in the current folder, as
    ``python -m inspector`` does (the installed ``bnfold`` script starts elsewhere)."""
    kind, sep, _ = model.partition(":")
    if sep and kind not in ("sample", "timm", "torchvision", "ultralytics") \
            and not Path(model).exists() and os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())


def _load(args):
    import inspector

    from .report import node_count

    _log(f"loading {args.model} ...")
    _import_from_cwd(args.model)
    t0 = time.perf_counter()
    loaded = inspector.load(args.model, input_shape=args.input_shape,
                            max_tensor_mb=args.max_tensor_mb, trust_pickle=args.trust_pickle)
    _log(f"loaded {loaded.name}: {node_count(loaded.graph)} {loaded.frontend.node_unit}, {len(loaded.graph.bn_nodes())} BN ({time.perf_counter() - t0:.2f} s)")
    for note in loaded.notes:
        _log(f"note: {note}")
    return loaded


def _cmd_samples(args) -> int:
    from sample_models import list_samples

    for s in list_samples():
        print(s.name, file=_out())
    return 0


def _cmd_analyze(args) -> int:
    import inspector

    _check_json_target(args)
    loaded = _load(args)
    analyses = inspector.compare_modes(loaded, _summary_modes(args.mode))
    report = inspector.build_report(loaded, analyses, mode=args.mode, quantization=args.quant_report)
    _emit(report, args.json, _bn_lines(loaded.graph, analyses, args.mode))
    return 0


def _summary_modes(mode: str) -> tuple[str, ...]:
    """The modes the report holds: the report's own (``report_modes``) and every other,
    so that the summary can say what each mode would remove."""
    from .analysis.verdict import Mode
    from .report import report_modes

    base = report_modes(mode)
    return base + tuple(m.value for m in Mode if m.value not in base)


def _check_json_target(args, others: tuple[str, ...] = ()) -> None:
    from .safe_io import check_output

    if args.json and args.json != "-":
        check_output(args.json, [*_inputs(args), *others], what="--json file")


def _cmd_fold(args) -> int:
    import inspector

    from .frontends import OUTPUT_SUFFIXES
    from .safe_io import check_output

    out = Path(args.output)
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InspectorError(f"unsupported output {out.name}: use a {' or '.join(OUTPUT_SUFFIXES)} path")
    check_output(out, _inputs(args))
    _check_json_target(args, (str(out),))
    loaded = _load(args)
    if out.suffix.lower() not in loaded.frontend.save_formats:
        raise InspectorError(
            f"{out.suffix.lower()} output needs a {_writers(out.suffix.lower())} input; use -o "
            f"model{loaded.frontend.save_formats[0]} for {loaded.frontend.display} inputs")
    analyses = inspector.compare_modes(loaded, _summary_modes(args.mode))
    result = inspector.fold(loaded, args.mode, analysis=analyses[args.mode],
                            progress=_progress_log,
                            allow_unverified=args.allow_unverified)
    analyses[args.mode] = result.analysis
    result.save(out)
    _log(f"saved {out}")
    report = inspector.build_report(result, analyses, output=str(out), quantization=args.quant_report)
    _emit(report, args.json, _bn_lines(loaded.graph, analyses, args.mode))
    return 0


def _progress_log(msg: str, frac: float) -> None:
    """Fold progress on stderr, one line per stage (the per-tensor comparisons of a run
    are one line: the first)."""
    if "comparing tensor " in msg and "comparing tensor 1 of " not in msg:
        return
    _log(f"[{frac:4.0%}] {msg}")


def _writers(suffix: str) -> str:
    """The formats whose models can be saved as ``suffix`` (``PyTorch``)."""
    from .frontends import FRONTENDS, adapter

    return " or ".join(adapter(f).display for f in FRONTENDS if suffix in f.writes)


def _cmd_svg(args) -> int:
    import inspector

    from .render import build_view, render_view
    from .render.layout import too_many_units
    from .safe_io import atomic_write_text, check_output

    check_output(args.output, _inputs(args), what="SVG")
    loaded = _load(args)
    if not args.focus:  # the whole graph, uncollapsed: refused before analysis and layout
        refusal = too_many_units(len(loaded.graph))
        if refusal:
            raise InspectorError(refusal)
    analyses = inspector.compare_modes(loaded)
    focus = None
    if args.focus:
        try:
            focus = loaded.graph.find(args.focus).id
        except KeyError as e:
            raise InspectorError(f"--focus {args.focus!r}: no node with that name or id") from e
    # Without --focus the file is the whole graph: every node, uncollapsed.
    view = build_view(loaded.graph, analyses["optimal"], analyses["adjacent"],
                      rankdir=args.rankdir, focus=focus, hops=args.hops, title=loaded.name)
    atomic_write_text(args.output, render_view(view), what="SVG")
    _log(f"saved {args.output}")
    return 0


def _bn_lines(graph, analyses: dict, mode: str) -> list[str]:
    """Per-BN summary lines of ``mode`` (against ``adjacent`` when mode is optimal)."""
    from .explain import summary_lines

    other = analyses.get("adjacent") if mode != "adjacent" else None
    return summary_lines(graph, analyses[mode], other)


def _emit(report: dict, json_target: str | None, lines: list[str]) -> None:
    from .report import to_json
    from .safe_io import atomic_write_text

    text = to_json(report)
    if json_target == "-":
        _out().write(text + "\n")
        _out().flush()
        _summary(report, lines, _err())
        return
    if json_target:
        atomic_write_text(json_target, text + "\n", what="--json file")
        _log(f"wrote {json_target}")
    _summary(report, lines, _out())


def _summary(report: dict, lines: list[str], stream) -> None:
    from .explain import overview_lines

    for line in overview_lines(report):
        print(line, file=stream)
    if lines:
        print(f"per BN (mode {report['mode']}):", file=stream)
    for line in lines:
        print(f"  {line}", file=stream)
    rt = report.get("runtime")
    if rt and "nodes_before" not in rt:
        print(f"runtime check skipped: {rt.get('error', 'no result')}", file=stream)
    elif rt:  # what the runtime makes of both models (ONNX: onnxruntime's optimised graphs)
        lost = ", ".join(f"{op} {a} → {b}" for op, (a, b) in rt["fusions_lost"].items())
        refused = report.get("fusion_refused") or []
        merges = report.get("merge_refused") or []
        export = (f" of the ONNX export ({rt['file_nodes'][0]} → {rt['file_nodes'][1]} file nodes)"
                  if rt.get("file_nodes") else "")
        print(f"{rt['runtime']} ({rt['level']}) optimised graph{export}: {rt['nodes_before']} → "
              f"{rt['nodes_after']} nodes, {'fusions lost: ' + lost if lost else 'every fusion kept'}"
              + (f"; {len(refused)} fold(s) refused for breaking a fusion" if refused else "")
              + (f"; {len(merges)} merge(s) refused for breaking a fusion" if merges else ""), file=stream)
        for m in merges:
            print(f"  merge refused ({m['fusions_lost']}): {', '.join(m['nodes'])} kept out of "
                  f"`{m['merged_name']}`", file=stream)
    if "quantization" in report:
        from .quant import summary_lines as quant_lines

        print("\n".join(quant_lines(report["quantization"])), file=stream)
    v = report["verification"]
    if v.get("max_abs_error") is not None:
        state = {"passed": "PASS", "unverified": "COULD NOT VERIFY"}.get(v.get("status"), "FAIL")
        node = f" (from {v['worst_node']})" if v.get("worst_node") else ""
        worst = (f"; worst tensor {v['worst_tensor']}{node} {v['worst_tensor_rel_error']:.2e} "
                 f"({v['tensors_compared']} shared tensors)" if v.get("worst_tensor") else "")
        outputs = (f"max abs error {v['max_abs_error']:.2e}, max rel error "
                   f"{v['max_rel_error']:.2e}" if v.get("outputs_compared", 1) else
                   "no output compared (see below)")
        print(f"verification {state}: {outputs}{worst}", file=stream)
        for note in v.get("notes") or []:  # what was judged differently or not compared, and why
            print(f"  {note}", file=stream)


_COMMANDS = {"analyze": _cmd_analyze, "fold": _cmd_fold, "svg": _cmd_svg, "samples": _cmd_samples}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
