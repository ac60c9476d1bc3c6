"""Lesson prose generated from the engine's analysis, and feedback on predictions.

No Streamlit here. Every status, direction, root, leaf and formula a lesson
shows comes from the :class:`~inspector.folding.plan.Analysis` of its graph,
so the text cannot contradict the verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..analysis.result import FoldStep
from ..analysis.sentences import names
from ..analysis.verdict import REASONS, WHY_OPTIONS, Reason, Verdict
from ..folding.plan import Analysis
from ..ir import Graph

#: The learner's three predictions.
CHOICES = ("folded backward", "folded forward", "not foldable")

#: "Why not" options and the reason codes each one stands for (from the reason rows).
WHY: dict[str, frozenset[Reason]] = {
    option: frozenset(r for r, info in REASONS.items() if info.quiz == option) for option in WHY_OPTIONS
}


def answer_of(verdict: Verdict) -> str:
    """The correct choice among :data:`CHOICES` for ``verdict``."""
    return f"folded {verdict.direction}" if verdict.folded else "not foldable"


def blocking_codes(verdict: Verdict) -> set[Reason]:
    """Every reason code that blocked a direction (the primary one included)."""
    codes = {Reason(code) for code, *_ in verdict.details.get("blocked", ())}
    if verdict.reason_code is not None:
        codes.add(verdict.reason_code)
    return codes


def why_of(verdict: Verdict) -> str | None:
    """The :data:`WHY` option that names the verdict's primary reason."""
    if verdict.folded or verdict.reason_code is None:
        return None
    return next((k for k, codes in WHY.items() if verdict.reason_code in codes), None)


@dataclass(frozen=True)
class Feedback:
    correct: bool
    text: str


def judge(verdict: Verdict, choice: str, why: str | None = None) -> Feedback:
    """Feedback on a prediction: right direction/status, and for "not foldable"
    whether ``why`` names the engine's reason (``verdict.reason_code``); a reason
    that blocks only one direction is half right."""
    right = answer_of(verdict)
    name = f"`{verdict.name}`"
    if choice != right:
        return Feedback(False, f"Not quite: the engine says {name} is **{right}**, not {choice}.")
    if verdict.folded:
        return Feedback(True, f"Right: {name} is **{right}**.")
    if why is None:
        return Feedback(True, f"Right: {name} is **not foldable**. You did not say why.")
    named = WHY.get(why, frozenset())
    main = verdict.reason_code
    if main is not None and main in named:
        return Feedback(True, f"Right: {name} is **not foldable**, and {why} is what blocks it.")
    main_title = main.title if main is not None else "another reason"
    if named & blocking_codes(verdict):
        # it blocks one direction, but the engine's reason is another one
        return Feedback(False, f"Half right: {name} is **not foldable**, and {why} does block "
                               f"one direction; but the engine's reason is **{main_title}**, "
                               "the one that also rules out the other direction.")
    return Feedback(False, f"Half right: {name} is **not foldable**, but because of "
                           f"**{main_title}**, not {why}.")


# -- prose ---------------------------------------------------------------------
def _names(graph: Graph, ids) -> str:
    return names(graph, ids, limit=None, quote=True)


def _vec(v: np.ndarray, n: int = 3) -> str:
    shown = ", ".join(f"{x:.3g}" for x in v[:n])
    return f"({shown}{', …' if v.size > n else ''})"


_EMIT = {
    "conv": r"$W'_k = a_k W_k,\ b'_k = a_k b_k + c_k$",
    "linear": r"$W'_k = a_k W_k,\ b'_k = a_k b_k + c_k$",
    "conv_transpose": r"$W'_{\cdot k} = a_k W_{\cdot k},\ b'_k = a_k b_k + c_k$",
    "batch_norm": r"$\gamma' = a\gamma,\ \beta' = a\beta + c$",
    "affine": r"$s' = a s,\ t' = a t + c$ (its scale $s$ and shift $t$)",
}
_EMIT_NO_SHIFT = {
    "conv": r"$W'_k = a_k W_k,\ b'_k = a_k b_k$ (no $c$: the shift is added once, elsewhere)",
    "linear": r"$W'_k = a_k W_k,\ b'_k = a_k b_k$ (no $c$: the shift is added once, elsewhere)",
}
_ABSORB_BACKWARD = {
    "conv": r"$W'_{:,k} = W_{:,k} / a_k,\ b' = b - \sum_k \sum_{\text{spatial}} W'_{:,k}\, c_k$",
    "linear": r"$W'_{:,k} = W_{:,k} / a_k,\ b' = b - W' c$",
    "batch_norm": r"$\gamma' = \gamma / a,\ \mu' = a\mu + c$",
}
_ABSORB_FORWARD = {
    "conv": r"$W'_{:,k} = a_k W_{:,k},\ b' = b + \sum_k \sum_{\text{spatial}} W_{:,k}\, c_k$",
    "linear": r"$W'_{:,k} = a_k W_{:,k},\ b' = b + W c$",
    "conv_transpose": r"$W'_k = a_k W_k$ (only a scale can cross a transposed conv)",
    "batch_norm": r"the two maps compose: $a_2' = a_2 a_1,\ c_2' = a_2 c_1 + c_2$",
    "affine": r"the two maps compose: $s' = s a,\ t' = s c + t$",
}


def _formula_lines(graph: Graph, step: FoldStep) -> list[str]:
    """One line per edited node: its name, its role and the rule applied to it."""
    lines = []
    roles = ("root", "leaf") if step.direction == "backward" else ("leaf", "root")
    for nid, t in step.emitters.items():
        node = graph.node(nid)
        shifted = bool(np.any(t.shift != 0))
        table = _EMIT if shifted or node.op not in _EMIT_NO_SHIFT else _EMIT_NO_SHIFT
        rule = table.get(node.op, "writes $a y + c$")
        if t.scale.size != step.a.size:  # a Concat operand: its own channel range
            rule += f", with its slice of a and c ({t.scale.size} of {step.a.size} channels)"
        lines.append(f"- `{node.name}` ({roles[0]}, {node.op}): {rule}")
    for nid, _t in step.absorbers.items():
        node = graph.node(nid)
        table = _ABSORB_BACKWARD if step.direction == "backward" else _ABSORB_FORWARD
        rule = table.get(node.op, "receives the map and undoes it")
        lines.append(f"- `{node.name}` ({roles[1]}, {node.op}): {rule}")
    return lines


def narrate_bn(graph: Graph, analyses: Mapping[str, Analysis], bn_id: str) -> str:
    """Markdown for one BN: status, direction, roots, leaves, formulas, adjacent mode."""
    optimal = analyses["optimal"]
    v = optimal.verdicts[bn_id]
    name = f"`{v.name}`"
    adjacent = analyses.get("adjacent")
    out: list[str] = []
    if v.folded:
        step = next(s for s in optimal.steps if s.bn == bn_id)
        leaves = [x for x in v.leaves if x != bn_id]
        others = (f"leaves: {_names(graph, leaves)}" if leaves else
                  "no leaves: no other layer shares those tensors, so nothing has to undo it")
        out.append(f"**{name} folds {v.direction}** into {_names(graph, v.roots)} "
                   f"(roots); {others}. "
                   f"It is fold number {(v.order or 0) + 1} of {len(optimal.steps)}.")
        out.append(f"Its map: a = {_vec(step.a)}, c = {_vec(step.c)}. Edits:")
        out.extend(_formula_lines(graph, step))
    else:
        title = v.reason_code.title if v.reason_code else ""
        out.append(f"**{name} cannot be folded** ({title}).")
        blocked = list(v.details.get("blocked", ()))
        labels = ("backward: ", "forward: ") if len(blocked) == 2 else ("",) * len(blocked)
        for label, (code, sentence, *_rest) in zip(labels, blocked):
            out.append(f"- {label}{sentence} — {Reason(code).title}")
        if not blocked and v.reason:
            out.append(f"- {v.reason}")
    if adjacent is not None and bn_id in adjacent.verdicts:
        a = adjacent.verdicts[bn_id]
        if a.folded:
            out.append(f"\nThe adjacent rule (fx fuse, onnxruntime) folds {name} too.")
        elif v.folded:
            out.append(f"\nThe adjacent rule (fx fuse, onnxruntime) misses this fold: {a.reason}.")
    return "\n".join(out)


def narrate(graph: Graph, analyses: Mapping[str, Analysis], focus: str | None = None) -> str:
    """Markdown for every BN of ``graph`` (``focus`` first), plus the fold order
    when one fold changed what the next could do."""
    optimal = analyses["optimal"]
    ids = list(optimal.verdicts)
    if focus in ids:
        ids.remove(focus)
        ids.insert(0, focus)
    parts = [narrate_bn(graph, analyses, i) for i in ids]
    if len(optimal.steps) > 1 or (optimal.steps and len(ids) > len(optimal.steps)):
        order = " → ".join(f"`{graph.node(s.bn).name}`" for s in optimal.steps)
        parts.append(f"The engine folds in the order {order} and re-analyses the graph after "
                     "each fold: a fold changes the graph the next BN sees.")
    return "\n\n".join(parts)


def narrate_merges(graph: Graph, analysis: Analysis) -> str:
    """Markdown for the merges of a ``reparam`` analysis: which nodes became which conv
    (or linear layer, for parallel heads)."""
    if not analysis.merges:
        return "Mode `reparam` finds no parallel linear branches to merge here."
    out = []
    for m in analysis.merges:
        conv = analysis.folded.node(m.conv_id)
        shape = conv.params["weight"].shape[2:]
        kind = f"{'×'.join(str(k) for k in shape)} conv" if conv.op == "conv" else "linear layer"
        bns = _names(graph, m.bns) if m.bns else "none"
        out.append(f"**Mode `reparam` merges** {_names(graph, m.nodes)} into one {kind} "
                   f"`{conv.name}` (BNs merged: {bns}).")
    before, after = len(graph), len(analysis.folded)
    out.append(f"The graph goes from {before} to {after} nodes.")
    return "\n\n".join(out)
