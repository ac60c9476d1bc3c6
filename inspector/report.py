"""The JSON report: one stable schema for the CLI, the app and the benchmarks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from .analysis.verdict import Mode
from .folding.driver import compare_modes
from .folding.pipeline import FoldResult
from .folding.plan import Analysis
from .ir import Graph, Node
from .model import LoadedModel
from .verification.compare import Verification

__all__ = ["SCHEMA_VERSION", "build_report", "compare_modes", "count_summary", "node_count",
           "report_modes", "to_json"]

SCHEMA_VERSION = 1


def deployed_counts(graph: Graph, deployed: bool = False) -> tuple[int, int]:
    """(nodes, convs) of the file a graph stands for: every IR node counts the file nodes
    it stands for (``attrs["file_nodes"]``, default 1: a Mul+Add affine is 2, a
    ``Constant`` read only by a node counts with it; ``attrs["deployed_nodes"]`` once
    written back); graph inputs/outputs and the
    identities left by folded BNs are not counted. ``deployed``: the written-back file,
    which leaves identity nodes out (``x + 0``, ``Identity``: see the ONNX write-back)
    but for one that renames a graph input into a graph output. Convs include
    transposed convs."""
    nodes = [n for n in graph.nodes if n.op not in ("input", "output")
             and not (n.op == "identity" and "folded_from" in n.attrs)
             and not (deployed and _left_out(graph, n))]
    key = "deployed_nodes" if deployed else "file_nodes"
    return (sum(int(n.attrs.get(key, n.attrs.get("file_nodes", 1))) for n in nodes),
            sum(n.op in ("conv", "conv_transpose") for n in nodes))


def _left_out(graph: Graph, node: Node) -> bool:
    """Whether the write-back leaves ``node`` out of the file: an identity (but for one from
    a graph input straight to a graph output, which keeps both names) or an affine that
    multiplies by 1 and adds 0."""
    if node.op == "affine":
        return bool(np.all(node.params["scale"] == 1) and np.all(node.params["shift"] == 0))
    if node.op != "identity":
        return False
    p = graph.producer(node.inputs[0]) if node.inputs else None
    return not (p is not None and p.op == "input"
                and any(c.op == "output" for c in graph.consumers(node.outputs[0])))


def node_count(graph: Graph) -> int:
    """The node count shown everywhere (app, CLI, JSON ``nodes``): the nodes a saved model
    file holds, i.e. every node but the graph's inputs and outputs (and the identities
    left by folded BNs)."""
    return deployed_counts(graph)[0]


def mode_summary(analysis: Analysis) -> dict[str, Any]:
    """BNs folded / merged / remaining and nodes and convs before/after, for one mode."""
    nodes_before, convs_before = deployed_counts(analysis.graph)
    nodes_after, convs_after = deployed_counts(analysis.structure, deployed=True)
    return {
        "folded": analysis.folded_count, "merged": analysis.merged_count,
        "remaining": analysis.remaining_count, "analyze_s": analysis.seconds,
        "nodes_before": nodes_before, "nodes_after": nodes_after,
        "convs_before": convs_before, "convs_after": convs_after,
    }


def report_modes(mode: str) -> tuple[str, ...]:
    """The modes a report compares: ``adjacent`` and ``optimal``, plus ``mode`` itself."""
    base = (Mode.ADJACENT.value, Mode.OPTIMAL.value)
    return base + ((str(mode),) if mode not in base else ())


def build_report(
    subject: FoldResult | LoadedModel,
    analyses: Mapping[str, Analysis] | None = None,
    *,
    mode: str | None = None,
    output: str | None = None,
    quantization: bool = False,
) -> dict[str, Any]:
    """The report dict of a fold (a :class:`FoldResult`) or of an analysis (a
    :class:`LoadedModel` and its ``analyses``).

    ``layers`` follow ``mode`` (a fold's own mode; default ``optimal``);
    ``adjacent`` says whether the adjacent mode folds the same BN; ``modes``
    summarises every analysis (the ones :func:`report_modes` names are computed
    when not given). A fold adds its verification, timings and ``rolled_back``
    BNs; ``output`` records where the folded model was saved; ``quantization``
    adds the int8 figures of every changed layer (``inspector.quant``). Node
    ids are translated to display names.

    Example::

        result = inspector.fold(inspector.load("sample:resnet"))
        result.save("resnet-folded.onnx")
        report = build_report(result, output="resnet-folded.onnx")
    """
    result = subject if isinstance(subject, FoldResult) else None
    loaded = result.loaded if result is not None else subject
    if result is not None:
        if mode is not None and mode != result.mode:
            raise ValueError(f"the fold was made in mode {result.mode}, not {mode}")
        mode = result.mode
    mode = str(mode or Mode.OPTIMAL)
    found = dict(analyses or {})
    if result is not None:
        found[mode] = result.analysis
    missing = tuple(m for m in report_modes(mode) if m not in found)
    found.update(compare_modes(loaded.graph, missing) if missing else {})
    report = _analysis_report(loaded.name, found, mode, loaded.framework, loaded.frontend.node_unit)
    if result is not None:
        report["verification"] = result.verification.as_dict()
        report["timings"].update(result.timings)
        report["rolled_back"] = list(result.rolled_back)
        # What the runtime makes of both models (optimised node counts, fusions lost) and
        # the BNs whose fold (and the regions whose merge) was refused because it broke a fusion.
        report["runtime"] = result.runtime
        report["fusion_refused"] = [loaded.graph.node(b).name for b in result.fusion_refused]
        report["merge_refused"] = [dict(m) for m in result.merge_refused]
    if output is not None:
        report["output"] = str(output)
    if quantization:
        from .quant import quant_report

        report["quantization"] = quant_report(found[mode])
    return report


def _analysis_report(name: str, analyses: Mapping[str, Analysis], mode: str,
                     framework: str, node_unit: str = "nodes") -> dict[str, Any]:
    main = analyses[mode]
    graph = main.graph
    adjacent = analyses.get(Mode.ADJACENT)

    def names(ids) -> list[str]:
        return [graph.node(i).name for i in ids]

    layers = []
    for bn_id, v in main.verdicts.items():
        layers.append({
            "name": v.name,
            "id": bn_id,
            "status": v.status,
            "adjacent": bool(adjacent and adjacent.verdicts[bn_id].folded),
            "direction": v.direction,
            "roots": names(v.roots),
            "leaves": names(v.leaves),
            "reason_code": v.reason_code.value if v.reason_code else None,
            "reason": v.reason,
            "blocking_node": graph.node(v.blocking_node).name if v.blocking_node else None,
            "order": v.order,
            "merged_into": _merged_name(main, v.details.get("merged_into")),
        })
    return {
        "schema": SCHEMA_VERSION,
        "model": name,
        "framework": framework,
        "mode": mode,
        "nodes": node_count(graph),
        # what "nodes" and every nodes_before / nodes_after count (the frontend's node_unit)
        "node_unit": node_unit,
        "bn_total": main.bn_total,
        "modes": {m: mode_summary(a) for m, a in analyses.items()},
        "layers": layers,
        "verification": _not_verified(),
        "timings": {"analyze_s": sum(a.seconds for a in analyses.values()), "fold_s": None},
    }


def count_summary(report: Mapping[str, Any]) -> dict[str, Any]:
    """The counts a summary states, read from a report (so the CLI, the app and the JSON
    agree): ``by_status`` (the report mode's BN statuses, a fold split into ``both`` /
    ``optimal_only`` by whether ``adjacent`` folds it too, when the mode is not
    ``adjacent``), ``by_reason`` (reason code -> BNs kept for it) and ``removes``
    (mode -> BNs each analysed mode removes, folded plus merged)."""
    from .analysis.verdict import Status

    split = report["mode"] == Mode.OPTIMAL.value
    by_status: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    for layer in report["layers"]:
        status = layer["status"]
        if split and status == Status.FOLDED:
            status = Status.BOTH if layer["adjacent"] else Status.OPTIMAL_ONLY
        elif split and status == Status.NOT_FOLDABLE and layer["adjacent"]:
            status = Status.ADJACENT_ONLY
        by_status[str(status)] = by_status.get(str(status), 0) + 1
        if layer["reason_code"] and layer["status"] == Status.NOT_FOLDABLE:
            by_reason[layer["reason_code"]] = by_reason.get(layer["reason_code"], 0) + 1
    removes = {m: s["folded"] + s["merged"] for m, s in report["modes"].items()}
    return {"by_status": by_status, "by_reason": dict(sorted(by_reason.items(), key=lambda kv: -kv[1])),
            "removes": removes}


def _not_verified() -> dict[str, Any]:
    """The verification part of an analysis report: ``Verification.as_dict``'s keys,
    nothing measured (None; zero counts, empty lists)."""
    blank = Verification(float("nan"), float("nan"), float("nan"), 0).as_dict()
    return {k: [] if isinstance(v, list) else 0 if type(v) is int else None for k, v in blank.items()}


def _merged_name(analysis: Analysis, conv_id: str | None) -> str | None:
    if conv_id is None:
        return None
    return next((m.conv.name for m in analysis.merges if m.conv_id == conv_id), conv_id)


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, default=_default)


def _default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)
