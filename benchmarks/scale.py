"""How analysis, folding and verification scale to 50,000-node graphs (issue 18.7).

Four generated ONNX families, built in memory with ``onnx.helper`` at about
1k, 5k, 20k and 50k nodes:

* ``chain``: conv → BN → ReLU repeated (a third of the nodes are BNs);
* ``dense``: DenseNet-like blocks of 6 layers, each layer reading the
  concatenation of every earlier output of its block (concat → BN → ReLU →
  1×1 conv → BN → ReLU → 3×3 conv), a transition (concat → BN → ReLU → 1×1 conv
  → average pool) between blocks;
* ``relu-chain``: ReLUs only (no BN): the cost of loading and walking the graph;
* ``repvgg``: RepVGG-like blocks (3×3 conv → BN, 1×1 conv → BN and a BN of the
  block input, summed, → ReLU), also analysed in mode ``reparam`` (each block
  merges into one 3×3 conv), which is the mode then written back and verified.

Each case runs in its own forked child (one case failing or running out of
time costs one row): load, analysis in both modes, then the optimal fold's
write-back and its numerical verification, each timed (wall and CPU
seconds), and the child's peak resident memory (``VmHWM``).

    .venv/bin/python -m benchmarks.scale            # every size (~10 min on the 2-core machine)
    .venv/bin/python -m benchmarks.scale --quick    # 1k and 5k only
    .venv/bin/python -m benchmarks.run --only scale

Writes ``benchmarks/results/scale.json`` and ``scale.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .environment import environment
from .isolate import run_isolated

RESULTS = Path(__file__).parent / "results"
FAMILIES = ("chain", "dense", "relu-chain", "repvgg")
SIZES = (1_000, 5_000, 20_000, 50_000)
QUICK_SIZES = (1_000, 5_000)
#: Layers per DenseNet-like block, channels entering a block, channels each layer adds.
DENSE_LAYERS, DENSE_IN, DENSE_GROWTH = 6, 8, 4
#: Scale of the RepVGG-like branches' BN gammas (1: the three summed branches overflow
#: float32 after a few hundred blocks, and verification then compares infinities).
REPVGG_GAIN = 0.5


def build_onnx(family: str, nodes: int) -> bytes:
    """Serialised ONNX model of ``family`` with about ``nodes`` nodes (seeded weights,
    BN statistics far from the identity)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    body: list[Any] = []
    inits: list[Any] = []
    count = [0]

    def tensor(value: Any, name: str) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def node(op: str, inputs: list[str], **attrs: Any) -> str:
        count[0] += 1
        out = f"t{count[0]}"
        body.append(helper.make_node(op, inputs, [out], name=f"{op.lower()}{count[0]}", **attrs))
        return out

    def conv(x: str, cin: int, cout: int, k: int = 1) -> str:
        w = tensor(rng.standard_normal((cout, cin, k, k)) * (1.0 / np.sqrt(cin * k * k)), f"w{count[0] + 1}")
        return node("Conv", [x, w], pads=[k // 2] * 4)

    def bn(x: str, c: int, gain: float = 1.0) -> str:
        i = count[0] + 1
        stats = [rng.uniform(0.5, 1.5, c) * gain, rng.standard_normal(c) * 0.5, rng.standard_normal(c) * 0.5,
                 rng.uniform(0.5, 2.0, c)]
        return node("BatchNormalization", [x, *(tensor(v, f"bn{i}.{k}") for v, k in zip(stats, "gbmv"))])

    c0 = 4 if family != "dense" else DENSE_IN
    x = "x"
    if family == "chain":
        while count[0] + 3 <= nodes:
            x = node("Relu", [bn(conv(x, c0, c0), c0)])
    elif family == "relu-chain":
        while count[0] < nodes:
            x = node("Relu", [x])
    elif family == "repvgg":
        while count[0] + 8 <= nodes:
            # gain: the three branches summed keep the activations' scale over thousands of blocks
            a, b, c = (bn(conv(x, c0, c0, 3), c0, REPVGG_GAIN), bn(conv(x, c0, c0), c0, REPVGG_GAIN),
                       bn(x, c0, REPVGG_GAIN))
            x = node("Relu", [node("Add", [node("Add", [a, b]), c])])
    elif family == "dense":
        per_block = DENSE_LAYERS * 7 + 5
        while count[0] + per_block <= nodes:
            feats, c = [x], DENSE_IN
            for _ in range(DENSE_LAYERS):
                cat = node("Concat", feats, axis=1) if len(feats) > 1 else feats[0]
                h = node("Relu", [bn(cat, c)])
                h = node("Relu", [bn(conv(h, c, 2 * DENSE_GROWTH), 2 * DENSE_GROWTH)])
                feats.append(conv(h, 2 * DENSE_GROWTH, DENSE_GROWTH, 3))
                c += DENSE_GROWTH
            h = node("Relu", [bn(node("Concat", feats, axis=1), c)])
            x = node("AveragePool", [conv(h, c, DENSE_IN)], kernel_shape=[3, 3], pads=[1] * 4,
                     count_include_pad=0)
    else:
        raise ValueError(f"unknown family {family!r}; use one of {FAMILIES}")
    graph = helper.make_graph(body, family, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c0, 4, 4])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, c0, 4, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def _mb(field: str = "VmHWM") -> float:
    """This process's peak (``VmHWM``) or current (``VmRSS``) resident memory, MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def measure(family: str, nodes: int) -> dict[str, Any]:
    """Load, analyse (adjacent and optimal; reparam too for ``repvgg``) and fold + verify
    (optimal; reparam for ``repvgg``) one generated model."""
    import inspector
    from inspector.folding.driver import analyze, compare_modes
    from inspector.folding.pipeline import write_back
    from inspector.verification.compare import verify

    row: dict[str, Any] = {"family": family, "target": nodes, "start_mb": _mb("VmRSS")}

    def timed(key: str, fn: Callable[[], Any]) -> Any:
        w0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        row[f"{key}_s"], row[f"{key}_cpu_s"] = time.perf_counter() - w0, time.process_time() - c0
        return value

    data = build_onnx(family, nodes)
    loaded = timed("load", lambda: inspector.load(data, name=f"{family}-{nodes}.onnx"))
    row["nodes"] = len(loaded.graph)
    analyses = timed("analyze", lambda: compare_modes(loaded.graph))
    opt = analyses["optimal"]
    row.update(bns=opt.bn_total, folded=opt.folded_count, folded_adjacent=analyses["adjacent"].folded_count)
    if family == "repvgg":  # the mode such a model is folded in: merge each block into one conv
        opt = timed("reparam", lambda: analyze(loaded.graph, "reparam"))
        row.update(merged=opt.merged_count, merges=len(opt.merges), folded=opt.folded_count)
    model = timed("write_back", lambda: write_back(loaded, opt))
    check = timed("verify", lambda: verify(loaded, model, steps=opt.steps, merges=opt.merge_log))
    row.update(verified=check.passed, state=check.state, rel_error=check.max_rel_error,
               tensors_compared=check.tensors_compared, peak_mb=_mb())
    return row


def run(families: tuple[str, ...] = FAMILIES, sizes: tuple[int, ...] = SIZES, *, timeout: float = 900.0,
        log: Callable[[str], None] = print,
        on_row: Callable[[list[dict[str, Any]]], None] | None = None) -> list[dict[str, Any]]:
    """Every (family, size) in its own child; failures become error rows."""
    rows = []
    for family in families:
        for n in sizes:
            r = run_isolated(measure, family, n, timeout=timeout)
            row = r["value"] if r["ok"] else {"family": family, "target": n, "error": r["error"]}
            rows.append(row)
            if on_row is not None:
                on_row(rows)
            log(f"[scale] {family} {n}: " + (row["error"] if "error" in row else
                f"analyse {row['analyze_cpu_s']:.1f} s CPU, fold+verify "
                f"{row['write_back_cpu_s'] + row['verify_cpu_s']:.1f} s CPU, peak {row['peak_mb']:.0f} MB"))
    return rows


def _f(v: Any, fmt: str = ".2f") -> str:
    return "–" if v is None else format(v, fmt)


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown table of the rows (CPU seconds; wall seconds in the JSON). For ``repvgg`` the
    folded count, write-back and verification are those of mode ``reparam``."""
    head = ("| family | nodes | BNs | folded (optimal) | load s | analyse s (both modes) | reparam s "
            "| write-back s | verify s | fold + verify s | peak MB (start) | verified |")
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['family']} | ~{r['target']:,} | – | – | – | – | – | – | – | – | – | ✗ {r['error'][:80]} |")
            continue
        fold = r["write_back_cpu_s"] + r["verify_cpu_s"]
        lines.append(
            f"| {r['family']} | {r['nodes']:,} | {r['bns']:,} | {r['folded']:,} | {_f(r['load_cpu_s'])} "
            f"| {_f(r['analyze_cpu_s'])} | {_f(r.get('reparam_cpu_s'))} | {_f(r['write_back_cpu_s'])} "
            f"| {_f(r['verify_cpu_s'])} "
            f"| {_f(fold)} | {_f(r['peak_mb'], '.0f')} ({_f(r.get('start_mb'), '.0f')}) | {'yes' if r['verified'] else r['state']} |")
    return "\n".join(lines)


def growth(rows: list[dict[str, Any]]) -> list[str]:
    """Per family: how analysis, fold + verify time, reparam analysis time (where measured) and
    peak memory grew from each size to the next, against how the node count grew (equal factors
    = linear)."""
    keys = {"analysis": lambda r: r["analyze_cpu_s"],
            "fold + verify": lambda r: r["write_back_cpu_s"] + r["verify_cpu_s"],
            "reparam": lambda r: r["reparam_cpu_s"], "peak memory": lambda r: r["peak_mb"]}
    out = []
    for family in dict.fromkeys(r["family"] for r in rows):
        ok = sorted((r for r in rows if r["family"] == family and "error" not in r), key=lambda r: r["nodes"])
        if len(ok) < 2:
            continue
        pairs = list(zip(ok, ok[1:]))

        def steps(key: Callable[[dict], float], pairs: list = pairs) -> str:
            return ", ".join(f"×{key(b) / key(a):.1f}" if key(a) > 0 else "–" for a, b in pairs)

        sizes = " → ".join(f"{r['nodes']:,}" for r in ok)
        parts = [f"nodes {steps(lambda r: r['nodes'])}"] + [
            f"{k} {steps(f)}" for k, f in keys.items() if k != "reparam" or all("reparam_cpu_s" in r for r in ok)]
        out.append(f"{family} ({sizes}): " + "; ".join(parts))
    return out


def markdown(data: dict[str, Any]) -> str:
    """scale.md: command, table and growth lines."""
    rows = data["rows"]
    load = data.get("load_average")
    lines = [f"Command: `.venv/bin/{data['command']}` (started {data['started']}, "
             f"{data.get('seconds', 0) / 60:.1f} min). CPU seconds; wall seconds are in scale.json. "
             f"{data['environment'].get('cpus', '?')} CPUs"
             + (f", load average {load:.1f} at the start (a shared machine)." if load is not None else "."),
             "", table(rows), ""]
    lines += [f"- {g}" for g in growth(rows)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} only")
    p.add_argument("--sizes", nargs="+", type=int, help=f"node counts (default {SIZES})")
    p.add_argument("--families", nargs="+", choices=FAMILIES, default=list(FAMILIES))
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    command = "python -m benchmarks.scale " + " ".join(sys.argv[1:] if argv is None else argv)
    # The environment (torch, onnx versions ...) is read after the runs: imported
    # before them, every forked child would start with torch in its memory.
    meta: dict[str, Any] = {"command": command.strip(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                            "environment": {"cpus": os.cpu_count()}, "load_average": os.getloadavg()[0]}
    t0 = time.perf_counter()
    sizes = tuple(args.sizes or (QUICK_SIZES if args.quick else SIZES))
    args.out.mkdir(parents=True, exist_ok=True)

    def save(rows: list[dict[str, Any]]) -> None:
        data = {**meta, "seconds": time.perf_counter() - t0, "rows": rows}
        (args.out / "scale.json").write_text(json.dumps(data, indent=1, default=str))
        (args.out / "scale.md").write_text(markdown(data))

    rows = run(tuple(args.families), sizes, on_row=save)
    meta["environment"] = environment(1)
    save(rows)
    print(table(rows))
    print("\n".join(growth(rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
