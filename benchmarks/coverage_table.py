"""The coverage benchmark's markdown table (from ``coverage.json``) and the README splice."""

from __future__ import annotations

from typing import Any

from .readme import markers, replace_between

START, END = markers("coverage", "python -m benchmarks.coverage --update-readme")
_HERE = "benchmarks.coverage_models:"
_MARK = {"passed": "✓", "refused": "✗", "unverified": "?", "error": "!", "crash": "‼"}


def _name(spec: str) -> str:
    return f"`{spec[len(_HERE):]}`" if spec.startswith(_HERE) else f"`{spec}`"


def _count(mode: dict | None, key: str = "folded") -> str:
    if not mode:
        return "–"
    planned, kept = mode[key], mode.get(f"{key}_verified", mode[key])
    return str(planned) if kept == planned else f"{kept} of {planned}"


def _reparam(mode: dict | None) -> str:
    return "–" if not mode else f"{_count(mode)} + {_count(mode, 'merged')}"


def _verified(modes: dict) -> str:
    if not modes:
        return "–"
    marks = "".join(_MARK.get(m.get("status", ""), "·") for m in modes.values())
    # the worst of the outputs and every compared tensor (older rows: outputs only)
    errors = [max(m["max_rel_error"], m.get("worst_tensor_rel_error") or 0.0)
              for m in modes.values() if m.get("status") == "passed"]
    return f"{marks} {max(errors):.1e}" if errors else marks


def _seconds(row: dict) -> str:
    total = row.get("load_s", 0) + row.get("analyze_s", 0) + sum(
        m.get("fold_s", 0) for m in row.get("modes", {}).values())
    return f"{total:.0f}" if total else "–"


def _refusal(row: dict) -> str:
    for key in ("skipped", "error", "refusal", "crash"):
        if row.get(key):
            return ("crash: " if key == "crash" else "") + row[key]
    problems = [f"{mode}: {m.get('refusal') or m.get('crash')}" for mode, m in row.get("modes", {}).items()
                if m.get("status") not in ("passed", None)]
    return "; ".join(dict.fromkeys(problems))


def _route(row: dict) -> str:
    exporter = row.get("exporter")
    return f"{row['route']} ({exporter})" if exporter and exporter not in ("torch.export", "dynamo") \
        else row["route"]


def _cell(text: str, limit: int = 400) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rows_table(rows: list[dict]) -> str:
    lines = ["| family | model | route | BNs | adjacent | optimal | reparam (folded + merged) | "
             "verified (adj/opt/rep), worst rel. error | s | refusal, or why not verified |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        modes = r.get("modes", {})
        lines.append("| " + " | ".join([
            r["family"], _name(r["spec"]), _route(r), str(r.get("bns", "–")),
            _count(modes.get("adjacent")), _count(modes.get("optimal")), _reparam(modes.get("reparam")),
            _verified(modes), _seconds(r), _cell(_refusal(r))]) + " |")
    return "\n".join(lines)


def totals(rows: list[dict]) -> str:
    """One sentence: how many (model, route) pairs verified in every mode, were refused, crashed."""
    ran = [r for r in rows if "skipped" not in r]
    full = [r for r in ran if r.get("modes") and all(m.get("status") == "passed" for m in r["modes"].values())]
    crashes = [r for r in ran if r.get("crash") or any(m.get("status") == "crash"
                                                       for m in r.get("modes", {}).values())]
    refused = [r for r in ran if r.get("refusal") or any(m.get("status") in ("refused", "error", "unverified")
                                                         for m in r.get("modes", {}).values())]
    exports = [r for r in ran if r.get("stage") == "export"]
    models = {r["spec"] for r in ran}
    bns = sum(r.get("bns", 0) for r in ran if r["route"] == "callable")
    return (f"{len(models)} models, {len(ran)} (model, route) runs, {bns} BNs (PyTorch route): "
            f"{len(full)} runs load, analyse, fold and verify in all three modes; {len(refused)} are "
            f"refused (load or a mode), {len(exports)} could not be exported by torch, "
            f"{len(crashes)} crashed.")


def markdown(data: dict[str, Any]) -> str:
    env = data.get("environment", {})
    versions = ", ".join(f"{k} {v}" for k, v in env.items() if v and k not in ("git_commit", "python"))
    reruns = "".join(f"\n- rows re-run by `.venv/bin/{r['command']}` (started {r['started']}"
                     f"{', git ' + r['git'] if r.get('git') else ''}, {r['seconds'] / 60:.0f} min)"
                     for r in data.get("reruns", []))
    return "\n\n".join([
        f"Commands ({data.get('memory_gb', '?')} GB address space per run unless the command "
        f"says otherwise; {versions}):\n\n- `.venv/bin/{data['command']}` (started "
        f"{data['started']}, {data.get('seconds', 0) / 60:.0f} min){reruns}",
        totals(data["rows"]),
        rows_table(data["rows"]),
        "Routes: `callable` = bnfold's PyTorch frontend on the module (`bnfold analyze NAME`); "
        "`onnx` = the module exported by torch's dynamo exporter keeping every BN "
        "(`legacy`: the TorchScript exporter, where dynamo fails), then loaded from the file; "
        "`pt2` = `torch.export.save`, loaded from the file. Marks: ✓ verified, ✗ refused by "
        "verification, ? could not verify, ! error, ‼ crash. `x of y`: y planned, x kept after "
        "verification rolled back the rest. Models without a prefix are "
        f"`{_HERE}NAME` callables (random weights, randomised BN statistics).",
    ]) + "\n"


def update_readme(readme: str, table: str) -> str:
    """``readme`` with the text between the coverage markers replaced by ``table``."""
    return replace_between(readme, START, END, table)
