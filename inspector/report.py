"""The JSON report: one stable schema for the CLI, the app and the benchmarks."""

from __future__ import annotations

import json
from typing import Any

from .folding.driver import compare_modes
from .folding.plan import Analysis
from .ir import Graph
from .verification.compare import Verification

__all__ = ["SCHEMA_VERSION", "build_report", "compare_modes", "to_json"]

SCHEMA_VERSION = 1


def deployed_counts(graph: Graph) -> tuple[int, int]:
    """(nodes, convs) of the model a graph deploys to: graph inputs/outputs and the
    identities left by folded BNs are not counted; convs include transposed convs."""
    nodes = [n for n in graph.nodes if n.op not in ("input", "output")
             and not (n.op == "identity" and "folded_from" in n.attrs)]
    return len(nodes), sum(n.op in ("conv", "conv_transpose") for n in nodes)


def mode_summary(analysis: Analysis) -> dict[str, Any]:
    """BNs folded / merged / remaining and nodes and convs before/after, for one mode."""
    nodes_before, convs_before = deployed_counts(analysis.graph)
    nodes_after, convs_after = deployed_counts(analysis.structure)
    return {
        "folded": analysis.folded_count, "merged": analysis.merged_count,
        "remaining": analysis.remaining_count, "analyze_s": analysis.seconds,
        "nodes_before": nodes_before, "nodes_after": nodes_after,
        "convs_before": convs_before, "convs_after": convs_after,
    }


def build_report(
    name: str,
    analyses: dict[str, Analysis],
    *,
    mode: str = "optimal",
    verification: Verification | None = None,
    timings: dict[str, float] | None = None,
    framework: str | None = None,
) -> dict[str, Any]:
    """The report dict. ``layers`` follow ``mode``; ``adjacent`` says whether the
    adjacent mode folds the same BN. Node ids are translated to display names."""
    main = analyses[mode]
    graph = main.graph
    adjacent = analyses.get("adjacent")

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
    ver = verification.as_dict() if verification else {
        "max_abs_error": None, "max_rel_error": None, "tolerance": None, "passed": None, "trials": 0,
        "status": None, "worst_tensor": None, "worst_tensor_rel_error": None, "worst_node": None,
        "tensors_compared": 0, "input_range": None, "input_shapes": [], "notes": [],
    }
    return {
        "schema": SCHEMA_VERSION,
        "model": name,
        "framework": framework or graph.framework,
        "mode": mode,
        "nodes": len(graph),
        "bn_total": main.bn_total,
        "modes": {m: mode_summary(a) for m, a in analyses.items()},
        "layers": layers,
        "verification": ver,
        "timings": {"analyze_s": sum(a.seconds for a in analyses.values()), "fold_s": None, **(timings or {})},
    }


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
