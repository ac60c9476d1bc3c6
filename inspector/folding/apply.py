"""Apply a FoldStep to an IR graph: a new graph, the input graph untouched."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..analysis.result import FoldStep, Transform
from ..ir import Graph, Node, bypass
from . import rules
from .merge import remerge


def _groups(node: Node) -> int:
    return int(node.attrs.get("groups", 1))


#: op -> the parameters with which a node of that op outputs ``s*y + t`` (a root or leaf
#: that emits the map). One entry per op of ``ir.EXPRESSIVE_OPS``.
EMIT: dict[str, Callable[[Node, np.ndarray, np.ndarray], dict]] = {
    "conv": lambda n, s, t: rules.emit_conv(n.params, s, t),
    "linear": lambda n, s, t: rules.emit_conv(n.params, s, t),
    "conv_transpose": lambda n, s, t: rules.emit_conv_transpose(n.params, s, t, _groups(n)),
    "batch_norm": lambda n, s, t: rules.emit_batch_norm(n.params, s, t),
    "affine": lambda n, s, t: rules.emit_affine(n.params, s, t),
}
#: op -> the parameters with which a node of that op undoes ``s*x + t`` on its input.
#: One entry per op of ``ir.EXPRESSIVE_OPS``.
ABSORB: dict[str, Callable[[Node, np.ndarray, np.ndarray], dict]] = {
    "conv": lambda n, s, t: rules.absorb_conv(n.params, s, t, _groups(n)),
    "linear": lambda n, s, t: rules.absorb_linear(n.params, s, t),
    "conv_transpose": lambda n, s, t: rules.absorb_conv_transpose(n.params, s, t),
    "batch_norm": lambda n, s, t: rules.absorb_batch_norm(n.params, s, t),
    "affine": lambda n, s, t: rules.absorb_affine(n.params, s, t),
}


def emit(node: Node, t: Transform) -> dict:
    """Parameters with which ``node`` outputs ``s*y + t``."""
    if node.op not in EMIT:
        raise ValueError(f"{node.op} cannot emit a transform")
    return EMIT[node.op](node, t.scale, t.shift)


def absorb(node: Node, t: Transform) -> dict:
    """Parameters with which ``node`` undoes ``s*x + t`` on its input."""
    if node.op not in ABSORB:
        raise ValueError(f"{node.op} cannot absorb a transform")
    return ABSORB[node.op](node, t.scale, t.shift)


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

