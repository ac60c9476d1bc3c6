"""Markdown tables from the benchmark result rows (see ``benchmarks/README.md``)."""

from __future__ import annotations

from typing import Any

from .bn_removed import PEER_COLUMNS, peer_is_wrong, removed

PEER_TITLES = {
    "fx_fuse": "fx fuse", "onnx_dynamo": "ONNX export (dynamo)", "onnx_legacy": "ONNX export (legacy)",
    "onnxoptimizer": "onnxoptimizer", "onnxruntime": "ORT extended",
}


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _num(x: float | None, fmt: str = ".2f") -> str:
    return "–" if x is None else format(x, fmt)


def bn_table(rows: list[dict[str, Any]]) -> str:
    """BNs removed per model and tool, verification error and tool times."""
    header = ["model", "nodes", "BNs", "ours adjacent", "ours optimal",
              *(PEER_TITLES[p] for p in PEER_COLUMNS), "max rel err (optimal)",
              "load s", "analyse s (CPU)", "fold s"]
    body, notes = [], []
    totals = {"samples": [0] * (3 + len(PEER_COLUMNS)), "zoo": [0] * (3 + len(PEER_COLUMNS))}
    for r in rows:
        if "error" in r:
            continue
        cells = [r["bn_total"], r["adjacent"], r["optimal"]]
        marks = ["", *("" if r.get(f"{m}_verified") else " ✗" for m in ("adjacent", "optimal"))]
        notes += [f"`{r['model']}`: ours {m} does not verify ({r[f'{m}_error']})"
                  for m in ("adjacent", "optimal") if r.get(f"{m}_error")]
        for p in PEER_COLUMNS:
            n = removed(r, p)
            cells.append(n)
            marks.append(" ✗" if peer_is_wrong(r, p) else "")
            if n is None and "peers" in r:
                notes.append(f"`{r['model']}`: {PEER_TITLES[p]} failed ({r['peers'][p]['reason']})")
            elif marks[-1]:
                notes.append(f"`{r['model']}`: {PEER_TITLES[p]} output is wrong (max rel error "
                             f"{r['peers'][p]['rel_error']:.2e}); its removals are not counted in the total")
        group = totals["samples" if r["model"].startswith("sample:") else "zoo"]
        for i, c in enumerate(cells):
            group[i] += 0 if marks[i] else (c or 0)
        err = r.get("optimal_rel_error")
        verified = "" if r.get("optimal_verified", False) else " ✗"
        body.append([f"`{r['model']}`", r["nodes"], *("–" if c is None else f"{c}{m}" for c, m in zip(cells, marks)),
                     _num(err, ".1e") + verified, _num(r["load_s"]), _num(r["analyze_optimal_cpu_s"], ".3f"),
                     _num(r.get("optimal_fold_s"))])
    for name, group in totals.items():
        if any(group):
            body.append([f"**total ({name})**", "", *(f"**{t}**" for t in group), "", "", "", ""])
    out = _table(header, body)
    if notes:
        out += ("\n\nFailures and wrong outputs (✗; counted as 0 in the totals):\n\n"
                + "\n".join(f"- {n}" for n in notes))
    return out


def ort_all_note(rows: list[dict[str, Any]]) -> str:
    """One line on ORT's ALL level (NCHWc turns leftover BNs into convs)."""
    conv, left = 0, 0
    for r in rows:
        p = r.get("peers", {}).get("onnxruntime_all")
        if p and p["left"] is not None:
            left += p["left"]
            conv += int(p["reason"].split()[0]) if p["reason"][:1].isdigit() else 0
    return (f"At `ORT_ENABLE_ALL` (NCHWc layout) onnxruntime leaves {left} BatchNormalization nodes "
            f"over all models and turns {conv} more into NCHWc `Conv` nodes instead of removing them.")


def problems(rows: list[dict[str, Any]]) -> str:
    """Skipped models and problems found in the engine, one bullet each."""
    items = [f"`{r['model']}` skipped: {r['error']}" for r in rows if "error" in r]
    for r in rows:
        items += [f"`{r['model']}`: {p}" for p in r.get("problems", [])]
        items += [f"`{r['model']}` (note): {n}" for n in r.get("notes", [])]
    return "\n".join(f"- {i}" for i in items) if items else "- none"


def latency_table(rows: list[dict[str, Any]]) -> str:
    """Median CPU time of the floor and each variant's paired ratio to it:
    median [95 % interval] over rounds of variant time / floor time in that round."""
    header = ["model", "BNs folded adj/opt/total", "backend", "batch", "floor CPU ms (median)",
              "original / floor", "adjacent / floor", "optimal / floor", "optimal ≤ 1.02 × floor"]
    body = []
    for r in rows:
        if "error" in r:
            body.append([f"`{r['model']}`", "", "", "", f"failed: {r['error'][:80]}", "", "", "", ""])
            continue
        for run in r["runs"]:
            if "error" in run:
                body.append([f"`{r['model']}`", "", run["backend"], run["batch"], f"failed: {run['error'][:80]}",
                             "", "", "", ""])
                continue
            s = run["stats"]

            def ratio(name: str, s: dict = s) -> str:
                v = s[name]
                return f"{v['paired_ratio']:.3f} [{v['ratio_ci_low']:.3f}, {v['ratio_ci_high']:.3f}]"

            target = {True: "yes", False: "**no**"}.get(run.get("meets_target"), "n/a (not all fold)")
            body.append([f"`{r['model']}`", f"{r['adjacent']}/{r['optimal']}/{r['bn_total']}", run["backend"],
                         run["batch"], f"{s['floor']['median'] * 1e3:.2f}", ratio("original"),
                         ratio("adjacent"), ratio("optimal"), target])
    return _table(header, body)


def speed_table(speed: dict[str, Any]) -> str:
    """Tool time per synthetic graph size, plus the reference model."""
    header = ["family", "N", "nodes", "BNs", "folded (optimal)", "load s", "analyse adjacent s (CPU)",
              "analyse optimal s (CPU)", "analyse optimal s (wall)", "fold s"]
    body = []
    for p in speed.get("points", []):
        if "error" in p:
            body.append([p["family"], p["n"], f"failed: {p['error'][:80]}", "", "", "", "", "", "", ""])
            continue
        body.append([p["family"], p["n"], p["nodes"], p["bn_total"], p["optimal"], _num(p["load_s"]),
                     _num(p["analyze_adjacent_cpu_s"], ".3f"), _num(p["analyze_optimal_cpu_s"], ".3f"),
                     _num(p["analyze_optimal_s"], ".3f"), _num(p["fold_s"])])
    out = _table(header, body)
    ref = speed.get("reference")
    if ref:
        if "error" in ref:
            out += f"\n\n{ref['model']}: failed ({ref['error']})"
        else:
            out += (f"\n\n`{ref['model']}` ({ref['nodes']} nodes, {ref['bn_total']} BNs): optimal analysis "
                    f"median {ref['analyze_median_s']:.3f} s wall, {ref['analyze_cpu_median_s']:.3f} s CPU "
                    f"over {ref['repeats']} runs (the paper's Keras tool: 36 s).")
    return out


#: Zoo models in the README's headline table (every model is in ``summary.md``).
HEADLINE = (
    "torchvision:resnet50", "torchvision:mobilenet_v2", "torchvision:mobilenet_v3_large",
    "torchvision:efficientnet_b0", "torchvision:densenet121", "torchvision:regnet_y_400mf",
    "torchvision:inception_v3", "timm:mixnet_s", "timm:levit_128s", "timm:resnetv2_50", "timm:dpn68",
    "timm:repvgg_a2", "timm:fastvit_t8", "timm:nasnetalarge",
)
_HEADLINE_PEERS = ("fx_fuse", "onnx_dynamo", "onnxoptimizer", "onnxruntime")


def headline_bn_table(rows: list[dict[str, Any]], models: tuple[str, ...] = HEADLINE) -> str:
    """The README's short BN table: the ``models`` rows, then one total row for the
    zoo and one for the bundled samples (a fold or peer output that does not verify
    counts as 0 and is marked ✗)."""

    def cells(r: dict[str, Any]) -> list[tuple[int | None, bool]]:
        ours = [(r[m], not r.get(f"{m}_verified")) for m in ("adjacent", "optimal")]
        return ours + [(removed(r, p), peer_is_wrong(r, p)) for p in _HEADLINE_PEERS]

    def show(c: tuple[int | None, bool], bold: bool = False) -> str:
        n, wrong = c
        text = "–" if n is None else f"{n}{' ✗' if wrong else ''}"
        return f"**{text}**" if bold else text

    ok = {r["model"]: r for r in rows if "error" not in r}
    body = []
    for m in models:
        if m in ok:
            r = ok[m]
            c = cells(r)
            body.append([f"`{m}`", r["bn_total"], show(c[0]), show(c[1], True), *(show(x) for x in c[2:]),
                         _num(r.get("optimal_rel_error"), ".1e")])
    for label, group in (("zoo models", [r for r in ok.values() if not r["model"].startswith("sample:")]),
                         ("bundled samples", [r for r in ok.values() if r["model"].startswith("sample:")])):
        if not group:
            continue
        sums = [sum(0 if wrong else (n or 0) for n, wrong in col) for col in zip(*(cells(r) for r in group))]
        body.append([f"**{len(group)} {label}**", f"**{sum(r['bn_total'] for r in group)}**", sums[0],
                     f"**{sums[1]}**", *sums[2:], ""])
    header = ["model", "BNs", "ours adjacent", "**ours optimal**", *(PEER_TITLES[p] for p in _HEADLINE_PEERS),
              "max rel err"]
    return _table(header, body)


def latency_short_table(rows: list[dict[str, Any]]) -> str:
    """The README's short latency table: per model and backend, the median paired
    CPU-time ratio to the floor at each batch size (``b1 / b8``), and the optimal
    fold's 95 % intervals."""
    body = []
    for r in rows:
        if "error" in r:
            body.append([f"`{r['model']}`", "", "", f"failed: {r['error'][:80]}", "", "", ""])
            continue
        runs: dict[str, list[dict[str, Any]]] = {}
        for run in r["runs"]:
            runs.setdefault(run["backend"], []).append(run)
        folds = "" if r["all_fold"] else f" ({r['optimal']}/{r['bn_total']} fold)"
        for backend, group in runs.items():
            ok = [g for g in group if "stats" in g]
            if len(ok) < len(group):
                bad = next(g for g in group if "error" in g)
                body.append([f"`{r['model']}`{folds}", backend, bad["batch"], f"failed: {bad['error'][:80]}",
                             "", "", ""])
            if not ok:
                continue

            def med(name: str, ok: list = ok) -> str:
                return " / ".join(f"{g['stats'][name]['paired_ratio']:.3f}" for g in ok)

            ci = "; ".join(f"[{g['stats']['optimal']['ratio_ci_low']:.3f}, {g['stats']['optimal']['ratio_ci_high']:.3f}]"
                           for g in ok)
            body.append([f"`{r['model']}`{folds}", backend, " / ".join(str(g["batch"]) for g in ok),
                         med("original"), med("adjacent"), med("optimal"), ci])
    header = ["model", "backend", "batch", "original", "adjacent", "**optimal**", "optimal 95 % interval"]
    return _table(header, body)


def latency_target_line(rows: list[dict[str, Any]]) -> str:
    """How many zoo configurations where every BN folds have ``optimal`` within the
    target ratio of the floor (median), and which do not."""
    hits, misses = 0, []
    for r in rows:
        if "error" in r or not r["all_fold"] or r["model"].startswith("sample:"):
            continue
        for run in r["runs"]:
            if "meets_target" not in run:
                continue
            if run["meets_target"]:
                hits += 1
            else:
                s = run["stats"]["optimal"]
                misses.append(f"`{r['model']}` {run['backend']} batch {run['batch']}: {s['paired_ratio']:.3f} "
                              f"[{s['ratio_ci_low']:.3f}, {s['ratio_ci_high']:.3f}]")
    line = (f"The `optimal`-folded model's median is within 2 % of the floor in {hits} of the "
            f"{hits + len(misses)} zoo configurations where every BN folds")
    return line + (f"; not in {', '.join(misses)}." if misses else ".")


def speed_line(speed: dict[str, Any]) -> str:
    """One sentence: the optimal analysis CPU time of the reference model and of each
    family's largest graph (fold times are wall time: see the full table)."""
    parts = []
    ref = speed.get("reference")
    if ref and "error" not in ref:
        parts.append(f"`{ref['model']}` optimal analysis {ref['analyze_cpu_median_s']:.2f} s CPU "
                     f"(median of {ref['repeats']}; the paper's Keras implementation: 36 s)")
    names = {"resnet-depth": "ResNet-like graph", "dense-width": "single dense block (every BN competes "
             "with every other)"}
    for family in dict.fromkeys(p["family"] for p in speed.get("points", [])):
        pts = [p for p in speed["points"] if p["family"] == family and "error" not in p]
        if pts:
            p = max(pts, key=lambda p: p["nodes"])
            parts.append(f"a {p['nodes']:,}-node {names.get(family, family)} {p['analyze_optimal_cpu_s']:.2f} s CPU")
    return "; ".join(parts) + "." if parts else "no tool-speed results."
