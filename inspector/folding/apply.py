"""Apply a FoldStep to an IR graph: a new graph, the input graph untouched."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..analysis.result import FoldStep, Transform
from ..ir import Graph, Node, bypass
from . import rules
from .merge import remerge


def emit(node: Node, t: Transform) -> dict:
    """Parameters with which ``node`` outputs ``s*y + t``."""
    p, s, sh = node.params, t.scale, t.shift
    if node.op in ("conv", "linear"):
        return rules.emit_conv(p, s, sh)
    if node.op == "conv_transpose":
        return rules.emit_conv_transpose(p, s, sh, int(node.attrs.get("groups", 1)))
    if node.op == "batch_norm":
        return rules.emit_batch_norm(p, s, sh)
    if node.op == "affine":
        return rules.emit_affine(p, s, sh)
    raise ValueError(f"{node.op} cannot emit a transform")


def absorb(node: Node, t: Transform) -> dict:
    """Parameters with which ``node`` undoes ``s*x + t`` on its input."""
    p, s, sh = node.params, t.scale, t.shift
    if node.op == "conv":
        return rules.absorb_conv(p, s, sh, int(node.attrs.get("groups", 1)))
    if node.op == "linear":
        return rules.absorb_linear(p, s, sh)
    if node.op == "conv_transpose":
        return rules.absorb_conv_transpose(p, s, sh)
    if node.op == "batch_norm":
        return rules.absorb_batch_norm(p, s, sh)
    if node.op == "affine":
        return rules.absorb_affine(p, s, sh)
    raise ValueError(f"{node.op} cannot absorb a transform")


#: Ops whose parameters can change a later decision (a BN's a and c).
DECISIVE_OPS = ("batch_norm", "affine")


def apply_step(graph: Graph, step: FoldStep, weights: bool = True) -> Graph:
    """The graph after ``step``: emitters/absorbers edited, the BN bypassed.

    ``weights=False`` edits only BN/affine parameters: enough for every later
    decision (conv/linear weights never affect one) and much cheaper on large
    models; replay the steps with ``weights=True`` to get the real weights.
    """
    new: dict[str, Node] = {}
    for table, rule in ((step.emitters, emit), (step.absorbers, absorb)):
        for nid, t in table.items():
            node = new.get(nid, graph.node(nid))
            if weights or node.op in DECISIVE_OPS:
                new[nid] = replace(node, params=rule(node, t))
    new[step.bn] = bypass(graph.node(step.bn))
    return graph.with_nodes(new)


def replay(graph: Graph, steps: list[FoldStep], merges: Sequence[Any] = ()) -> Graph:
    """Apply ``steps`` in order with full weight updates; each merge (``MergeStep``)
    is redone on the current weights after its ``after_steps`` first fold steps."""
    pending = sorted(merges, key=lambda m: m.after_steps)
    for i, step in enumerate(steps):
        while pending and pending[0].after_steps <= i:
            graph = remerge(graph, pending.pop(0))
        graph = apply_step(graph, step)
    for m in pending:
        graph = remerge(graph, m)
    return graph

