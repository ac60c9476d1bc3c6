"""The deployed file, ours against timm's ``reparameterize_model``, under onnxruntime (issue 15).

    nice .venv/bin/python -m benchmarks.vs_timm [--models NAME ...] [--exporters legacy dynamo]
                                                [--rounds 30] [--out PATH] [--table JSON]

For each timm model (random weights, randomised BN statistics, seed 0) and each
exporter (``legacy``: ``torch.onnx.export(dynamo=False, do_constant_folding=False,
training=PRESERVE, opset 17)``, which writes GELU out as ``x·(1+erf(x/√2))·0.5`` and
keeps every BN; ``dynamo``: :func:`inspector.bench.peers.export_onnx_unfolded`, the
default exporter minus its BN fusions) it measures, in ONNX:

* BN / Conv / node counts of the training form, of timm's re-parameterized model
  (exported the same way) and of ours: the ONNX frontend folding the training-form
  file in mode ``reparam`` (``ours``), and the PyTorch frontend folding the timm
  module, its ``GraphModule`` exported the same way (``ours_torch``);
* identity arithmetic left in our file (``Add``/``Sub`` of 0, ``Mul``/``Div`` by 1,
  ``Identity``; should be 0);
* the node count of onnxruntime's optimised graph (``ORT_ENABLE_EXTENDED``) and its
  fused GELUs, timm's and ours;
* the paired latency ratio ours / timm, for our ONNX file and for ``ours_torch``,
  under onnxruntime (CPU, 1 thread, default
  optimisation): ``rounds`` interleaved rounds, per-round ratio of CPU times, median
  with a 95 % bootstrap interval;
* the max relative difference of our output against timm's.

Every (model, exporter) runs in a forked child (:mod:`benchmarks.isolate`). Prints one
markdown row per run and writes the JSON rows to ``--out``
(default ``benchmarks/results/vs_timm.json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .isolate import run_isolated

#: Five+ Rep*/FastViT/RepViT/GhostNet variants beyond the re-parameterization benchmark's.
MODELS = ("mobileone_s0", "fastvit_t8", "repvit_m1", "repghostnet_050", "repvgg_a2",
          "mobileone_s2", "fastvit_t12", "fastvit_s12", "repvit_m0_9", "repghostnet_100",
          "repvgg_a0", "ghostnetv3_100")
EXPORTERS = ("legacy", "dynamo")
OUT = Path(__file__).parent / "results" / "vs_timm.json"


def identity_arithmetic(proto: Any) -> int:
    """Nodes of ``proto`` that compute nothing (see ``frontends/onnx/identities.py``)."""
    import onnx

    from inspector.frontends.onnx.identities import is_identity_arithmetic

    inferred = onnx.shape_inference.infer_shapes(proto)
    shapes = {vi.name: tuple(d.dim_value for d in vi.type.tensor_type.shape.dim)
              for vi in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output)}
    consts = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    for n in proto.graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].type == onnx.AttributeProto.TENSOR:
            consts[n.output[0]] = onnx.numpy_helper.to_array(n.attribute[0].t)
    return sum(is_identity_arithmetic(n, consts.get, shapes.get) is not None for n in proto.graph.node)


def measure(name: str, exporter: str, rounds: int) -> dict[str, Any]:
    """Every figure of one (model, exporter) run (in a child process)."""
    import io
    import os
    import tempfile
    import warnings
    from collections import Counter

    import numpy as np
    import onnx
    import torch
    from timm.utils.model import reparameterize_model

    from inspector.bench.peers import export_onnx_unfolded
    from inspector.folding.pipeline import fold
    from inspector.frontends import load
    from inspector.frontends.onnx.fusion import optimised_ops

    from .models import build
    from .reparam import _ort_session

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    b = build(f"timm:{name}")
    module = b.module.eval()

    def export(mod: Any) -> Any:
        if exporter == "dynamo":
            return export_onnx_unfolded(mod, b.example)
        buf = io.BytesIO()
        torch.onnx.export(mod, (b.example,), buf, dynamo=False, do_constant_folding=False,
                          training=torch.onnx.TrainingMode.PRESERVE, opset_version=17)
        return onnx.load_from_string(buf.getvalue())

    def counts(proto: Any) -> dict[str, int]:
        ops = Counter(n.op_type for n in proto.graph.node)
        return {"bn": ops["BatchNormalization"], "conv": ops["Conv"], "nodes": sum(ops.values())}

    train = export(module)
    ours_torch = export(fold(b.loaded, "reparam").model)
    timm_proto = export(reparameterize_model(module).eval())
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"{name}.onnx")
        onnx.save(train, path)
        result = fold(load(path), "reparam")
    ours = result.model
    row: dict[str, Any] = {"model": name, "exporter": exporter, "train": counts(train),
                           "timm": counts(timm_proto), "ours": counts(ours), "ours_torch": counts(ours_torch),
                           "identity_arithmetic": identity_arithmetic(ours),
                           "fusion_refused": len(result.fusion_refused)}
    opt = {k: optimised_ops(p) for k, p in (("timm", timm_proto), ("ours", ours), ("ours_torch", ours_torch))}
    row["ort_optimised"] = {k: {"nodes": sum(v.values()), "gelu": v["Gelu"]} for k, v in opt.items()}
    x = np.ascontiguousarray(b.example.numpy())
    sessions = {"timm": _ort_session(timm_proto, 1), "ours": _ort_session(ours, 1),
                "ours_torch": _ort_session(ours_torch, 1)}
    runs = {k: (lambda s=s: s.run(None, {s.get_inputs()[0].name: x})) for k, s in sessions.items()}
    y_timm = runs["timm"]()[0]
    row["max_rel_diff_vs_timm"] = max(float(np.abs(y_timm - runs[k]()[0]).max() / np.abs(y_timm).max())
                                      for k in ("ours", "ours_torch"))
    # one interleaved measurement of all three: both ratios share their timm rounds
    row["ort_ratio"], row["ort_ratio_torch"] = paired_ratios(runs, ("ours", "ours_torch"), "timm", rounds)
    return row


def markdown_row(r: dict[str, Any]) -> str:
    """One table row: counts (BN / Conv / nodes), ORT optimised nodes, latency ratio."""
    if "error" in r:
        return f"| {r['model']} | {r['exporter']} | failed: {r['error'][:80]} | | | | | | | |"

    def c(k: str) -> str:
        return f"{r[k]['bn']} / {r[k]['conv']} / {r[k]['nodes']}"

    def ratio(q: dict[str, Any] | None) -> str:
        return "–" if q is None else f"{q['median']:.3f} [{q['ci95'][0]:.3f}, {q['ci95'][1]:.3f}]"

    o, q = r["ort_optimised"], r["ort_ratio"]
    return (f"| {r['model']} | {r['exporter']} | {c('timm')} | {c('ours')} | {c('ours_torch')} | "
            f"{r['identity_arithmetic']} | {o['timm']['nodes']} / {o['ours']['nodes']} / "
            f"{o['ours_torch']['nodes']} (GELU {o['timm']['gelu']} / {o['ours']['gelu']}) | "
            f"{ratio(q)} | {ratio(r.get('ort_ratio_torch'))} | {q['timm_ms']:.1f} |")


HEADER = ("| model | exporter | timm BN/Conv/nodes | ours ONNX | ours PyTorch | identity ops left | "
          "ORT optimised nodes timm / ours / ours PyTorch | ORT ours/timm [95 %] | "
          "ORT ours PyTorch/timm [95 %] | timm ms |\n"
          "|---|---|---|---|---|---|---|---|---|---|")


def table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of ``rows`` (header and one row per run)."""
    return "\n".join([HEADER, *map(markdown_row, rows)])


def paired_ratios(runs: dict, news: tuple[str, ...], ref: str, rounds: int) -> list[dict[str, Any]]:
    """For each of ``news``: the median per-round CPU-time ratio ``new / ref`` over
    ``rounds`` interleaved rounds of every run, with its 95 % bootstrap interval and the
    reference's median time (ms)."""
    import numpy as np

    from .reparam import _calls, interleaved

    times = interleaved(runs, rounds, 3, _calls(runs[ref]))
    rng = np.random.default_rng(0)
    out = []
    for new in news:
        ratios = np.asarray(times[new]) / np.asarray(times[ref])
        boot = [float(np.median(rng.choice(ratios, len(ratios)))) for _ in range(2000)]
        out.append({"median": float(np.median(ratios)), "ci95": [float(np.percentile(boot, 2.5)),
                    float(np.percentile(boot, 97.5))], "rounds": rounds,
                    f"{ref}_ms": 1e3 * float(np.median(times[ref]))})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.vs_timm", description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--exporters", nargs="+", choices=EXPORTERS, default=list(EXPORTERS))
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--table", type=Path, metavar="JSON",
                   help="only print the markdown table of a results file (what the READMEs show)")
    args = p.parse_args(argv)
    if args.table is not None:
        print(table(json.loads(args.table.read_text())["rows"]))
        return 0
    rows = []
    print(HEADER, flush=True)
    for name in args.models:
        for exporter in args.exporters:
            got = run_isolated(measure, name, exporter, args.rounds, timeout=900)
            row = got["value"] if got["ok"] else {"model": name, "exporter": exporter, "error": got["error"]}
            rows.append(row)
            print(markdown_row(row), flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
