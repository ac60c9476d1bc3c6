"""Plain-words explanations built from verdict records: the app's BN panel and
table, and the CLI summary, read the same sentences."""

from __future__ import annotations

from typing import Any

import numpy as np

from .analysis.condition import bn_affine
from .analysis.sentences import display_name, names
from .analysis.verdict import Reason, Status, Verdict
from .folding.plan import Analysis
from .ir import Graph
from .safe_text import md_code, md_names, md_sentence, md_text
from .statuses import BNStatus, compute_statuses

__all__ = ["names", "bn_rows", "affine_summary", "explain", "named_nodes", "overview_lines",
           "summary_lines"]

#: How many nodes of one role an explanation names (``names``' default limit).
NAMED_LIMIT = 6


def bn_rows(graph: Graph, statuses: dict[str, BNStatus]) -> list[dict[str, Any]]:
    """One row per BN: id, name, status, direction, roots, leaves, reason."""
    rows = []
    for bn_id, s in statuses.items():
        v = s.verdict
        rows.append({
            "id": bn_id,
            "name": display_name(graph, bn_id),
            "status": Status(s.status).words,
            "direction": (v.direction or "") if v else "",
            "roots": names(graph, v.roots, limit=3) if v and v.roots else "",
            "leaves": names(graph, [x for x in v.leaves if x != bn_id], limit=3) if v else "",
            "reason": s.reason_code.title if s.reason_code else "",
            "details": s.sentence,
        })
    return rows


def affine_summary(graph: Graph, bn_id: str) -> dict[str, Any] | None:
    """a, c of a BN (float64) and a few statistics, or None if not a BN with params."""
    node = graph.node(bn_id)
    try:
        a, c = bn_affine(node)
    except (KeyError, TypeError, ValueError):
        return None
    return {"a": a, "c": c, "channels": int(a.size), "negative": int(np.sum(a < 0)),
            "zero": int(np.sum(a == 0)), "a_range": (float(a.min()), float(a.max())) if a.size else (0, 0)}


def explain(graph: Graph, status: BNStatus, adjacent: Verdict | None) -> list[str]:
    """Markdown paragraphs that explain one BN's status in plain words. Every name
    in them (node names, the library's sentences) is escaped: shown as text."""
    v = status.verdict
    node = graph.node(status.bn)
    out: list[str] = []
    if v is None:
        return [f"{md_code(node.name)} was not analysed."]
    if v.merged:
        return [f"**Merged** with the parallel branches it is summed with into one convolution, "
                f"**{md_code(v.details.get('merged_name') or v.details.get('merged_into', '?'))}**: a sum of linear maps of the same tensor "
                f"is one linear map (re-parameterization). The region's nodes {_names(graph, v.roots)} "
                "are replaced by that conv."]
    if v.folded:
        roots = _names(graph, v.roots)
        leaves = [x for x in v.leaves if x != v.bn]
        if v.direction == "backward":
            out.append(f"**Folds backward** into the layer(s) that produce its input: **{roots}**. "
                       "Each output channel k of those layers is multiplied by a_k and the shift "
                       "c_k is added to the bias once, so they now output BN(y) directly.")
        else:
            out.append(f"**Folds forward** into the layer(s) that consume its output: **{roots}**. "
                       "Their input channel k is scaled by a_k and the shift is pushed through the "
                       "weights into their bias.")
        if leaves:
            out.append(f"**Leaves** {_names(graph, leaves)} share those tensors, so they are "
                       "updated to undo the map and keep computing exactly the same function.")
        if v.order is not None:
            out.append(f"Fold order: step {v.order + 1} of the sequence (the graph is re-analysed "
                       "after every fold).")
        if adjacent is not None:
            out.append(_adjacent_words(adjacent))
        return out
    title = v.reason_code.title if v.reason_code else "not foldable"
    blocked = v.details.get("blocked", []) if isinstance(v.details, dict) else []
    if len(blocked) == 2:
        out.append(f"**Not foldable — {title}.** Neither direction works:")
        out.append("\n".join(f"- **{d}**: {md_sentence(sentence)}" for d, (_c, sentence, _n)
                             in zip(("backward", "forward"), blocked)))
    else:
        out.append(f"**Not foldable — {title}.** {md_sentence(v.reason)}")
    if v.reason_code is not None:
        out.append(v.reason_code.help)
    blockers = [graph.node(b) for b in v.blocking_nodes if graph.has_node(b)]
    if len(blockers) == 1:
        b = blockers[0]
        out.append(f"Blocking node: **{md_code(b.name)}** ({md_text(b.kind)}), outlined in red on the graph.")
    elif blockers:
        listed = " and ".join(f"**{md_code(b.name)}** ({md_text(b.kind)})" for b in blockers)
        out.append(f"Blocking nodes: {listed} (one per direction), both outlined in red on "
                   "the graph.")
    if adjacent is not None and adjacent.folded:
        out.append("Note: the `adjacent` rule folds it, which should not happen — please report.")
    return out


def _names(graph: Graph, ids) -> str:
    """:func:`names` as Markdown: each name a code span, the joining words text."""
    return md_names((display_name(graph, i) for i in ids), limit=NAMED_LIMIT)


def named_nodes(graph: Graph, status: BNStatus) -> list[tuple[str, str]]:
    """``(role, node id)`` of every node :func:`explain` names for this BN, in its order:
    ``blocker`` (each direction's), ``root``, ``leaf``, ``region`` (a merged BN's
    region). The app turns them into "go to" links; at most ``NAMED_LIMIT`` per role,
    like the text."""
    v = status.verdict
    if v is None:
        return []
    if v.merged:
        groups = [("region", [x for x in v.roots if x != v.bn])]
    elif v.folded:
        groups = [("root", list(v.roots)), ("leaf", [x for x in v.leaves if x != v.bn])]
    else:
        groups = [("blocker", list(v.blocking_nodes))]
    out: list[tuple[str, str]] = []
    for role, ids in groups:
        out += [(role, i) for i in dict.fromkeys(ids) if graph.has_node(i)][:NAMED_LIMIT]
    return out


def _adjacent_words(v: Verdict) -> str:
    if v.folded:
        return "The `adjacent` rule (what fx fuse / onnxruntime do) folds it too."
    return ("The `adjacent` rule (what fx fuse / onnxruntime do) does **not** fold it: "
            f"{md_sentence(v.reason or 'not directly after a conv/linear used only by this BN')}. "
            "This is part of the gap between the two modes.")


def summary_lines(graph: Graph, main: Analysis, adjacent: Analysis | None = None) -> list[str]:
    """One line per BN for a text summary (the CLI): status words, name, and for a
    kept BN its reason code and title, then the sentence shown in the app.

    Example: ``not foldable   bn1 [negative_scale: negative scale at max-pool]
    backward: negative scale on 2 channels cannot cross max-pool `pool```.
    """
    lines = []
    for s in compute_statuses(graph, main, adjacent).values():
        name = display_name(graph, s.bn)
        code = f" [{s.reason_code.value}: {s.reason_code.title}]" if s.reason_code else ""
        lines.append(f"{s.status.words:<24} {name}{code}: {s.sentence}")
    return lines


def overview_lines(report: dict[str, Any]) -> list[str]:
    """The head of a text summary of a report (the CLI): BNs and nodes, BNs per status
    and per reason, what each analysed mode removes, and a hint when another mode
    removes more than the report's own. Every figure comes from
    :func:`inspector.report.count_summary` of the same report.

    Example::

        sample:repvgg: 18 BN, 53 nodes
          mode optimal: 14 folded by both, 4 not foldable
          not foldable, by reason: 4 no linear neighbour [boundary]
          removed per mode: adjacent 14 of 18, optimal 14 of 18, reparam 18 of 18 (14 folded + 4 merged)
          hint: --mode reparam removes all 18 BN (4 more than optimal)
    """
    from .report import count_summary

    c = count_summary(report)
    total, mode, modes = report["bn_total"], report["mode"], report["modes"]
    unit = report.get("node_unit", "nodes")
    lines = [f"{report['model']}: {total} BN, {report['nodes']} {unit}"]
    order = [str(s) for s in Status]
    statuses = ", ".join(f"{n} {Status(k).words}" for k, n in
                         sorted(c["by_status"].items(), key=lambda kv: order.index(kv[0])))
    against = " (against adjacent)" if mode == "optimal" else ""
    lines.append(f"  mode {mode}{against}: {statuses or 'no BN'}")
    if c["by_reason"]:
        lines.append("  not foldable, by reason: " + ", ".join(
            f"{n} {_reason_title(code)} [{code}]" for code, n in c["by_reason"].items()))
    per_mode = []
    for m, n in c["removes"].items():
        s = modes[m]
        split = f" ({s['folded']} folded + {s['merged']} merged)" if s["merged"] else ""
        per_mode.append(f"{m} {n} of {total}{split}, {unit} {s['nodes_before']} → {s['nodes_after']}")
    lines.append("  removed per mode: " + "; ".join(per_mode))
    best = max(c["removes"], key=lambda m: c["removes"][m])
    own = c["removes"].get(mode, 0)
    if c["removes"][best] > own:
        gain = c["removes"][best]
        amount = f"all {gain}" if gain == total else f"{gain} of {total}"
        how = " by merging parallel branches into one conv" if modes[best]["merged"] else ""
        lines.append(f"  hint: --mode {best} removes {amount} BN ({gain - own} more than {mode}){how}")
    return lines


def _reason_title(code: str) -> str:
    try:
        return Reason(code).title
    except ValueError:
        return code
