"""Scalars that belong to an activation written out op by op (DESIGN §3.8).

An exporter often writes GELU as ``x * 0.5 * (1 + erf(x / √2))``, SiLU/Swish as
``x * sigmoid(β·x)``, HardSwish as ``x * clip(x + 3, 0, 6) / 6``, a LayerNorm as
``(x - mean) / sqrt(var + eps) * w + b`` and an attention as
``softmax(q·kᵀ * scale)``. Runtimes (onnxruntime, TensorRT, OpenVINO) fuse each
of these back into one kernel by matching the pattern, scalars included. Such a
scalar is an ``affine`` node in the IR, so a BN's map could be folded into it or
a merged region could swallow it: the deployed model would lose the fusion and
get slower (FastViT-T8 under onnxruntime: 1.13×). :func:`activation_pattern`
names the pattern an affine node belongs to, so that the condition and the
region search leave it alone. Pure functions over the IR.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node, is_bn

__all__ = ["activation_pattern", "PATTERN_WORDS"]

#: Pattern name -> how it reads (for sentences).
PATTERN_WORDS = {
    "gelu": "a GELU written out (x·0.5·(1+erf(x/√2)))",
    "gated": "a gated activation written out (x·σ(β·x), SiLU/Swish, HardSwish)",
    "layer_norm": "a LayerNorm written out ((x−mean)/√(var+eps)·w+b)",
    "attention": "an attention scale (softmax(q·kᵀ·s))",
}
#: Non-linear ops that may sit on the gate side of ``x * f(x)`` (IR activation kinds and
#: the lower-cased op types of unmapped ops, e.g. torch's ``erf``).
_GATES = frozenset({"erf", "tanh", "sigmoid", "hard_sigmoid", "hardsigmoid", "clip", "clamp", "relu",
                    "relu6", "hardtanh", "softplus"})
_CLIPS = frozenset({"clip", "clamp", "relu6", "hardtanh", "relu"})
_ROOTS = frozenset({"sqrt", "rsqrt", "reciprocal", "pow"})
_MATMULS = frozenset({"matmul", "bmm", "einsum", "baddbmm"})
#: Most uniform affines walked through on one side of a pattern.
_DEPTH = 4


def activation_pattern(graph: Graph, node: Node) -> str | None:
    """The pattern (a key of :data:`PATTERN_WORDS`) that the non-BN ``affine`` ``node``
    belongs to, or None: the node is a scalar (uniform) affine inside a written-out
    GELU / gated activation / attention scale, or the eps or the scale of a written-out
    LayerNorm."""
    if node.op != "affine" or is_bn(node):
        return None
    uniform = _uniform(node)
    if uniform:
        for mul in _nearby_muls(graph, node):
            members = _gated_members(graph, mul)
            if members is not None and node.id in members:
                return members[node.id]
        if _feeds(graph, node, _ROOTS) or _under_root(graph, node):
            return "layer_norm"
        if _attention_scale(graph, node):
            return "attention"
    if _normalised_input(graph, node):
        return "layer_norm"
    return None


# -- helpers --------------------------------------------------------------------
def _uniform(node: Node) -> bool:
    """An affine whose scale and shift are each one value on every channel (a scalar)."""
    if node.attrs.get("scalar"):
        return True
    scale, shift = (np.asarray(node.params.get(k, 0.0)).ravel() for k in ("scale", "shift"))
    return bool(scale.size and np.all(scale == scale[0]) and np.all(shift == shift[0]))


def _kind(node: Node) -> str:
    """The lower-cased kind: activation kind, else original op type, else IR op."""
    kind = str(node.attrs.get("kind") or node.attrs.get("op_type") or node.op).lower()
    return kind.split(".")[1] if kind.startswith("aten.") else kind  # aten.erf(.default) -> erf


def _is_scalar_affine(node: Node | None) -> bool:
    return node is not None and node.op == "affine" and not is_bn(node) and _uniform(node)


def _nearby_muls(graph: Graph, node: Node) -> list[Node]:
    """Data-by-data ``mul`` nodes within a few steps of ``node`` through scalar affines
    and gates (forward), and the ``mul`` right before a trailing scalar (backward)."""
    found: list[Node] = []
    frontier = [node]
    for _ in range(_DEPTH + 1):
        nxt = []
        for n in frontier:
            for c in graph.successors(n):
                if c.op == "mul":
                    found.append(c)
                elif _is_scalar_affine(c) or _is_gate(c):
                    nxt.append(c)
        frontier = nxt
    before = graph.producer(node.inputs[0]) if node.inputs else None
    while _is_scalar_affine(before):
        before = graph.producer(before.inputs[0])
    if before is not None and before.op == "mul":
        found.append(before)
    return found


def _is_gate(node: Node | None) -> bool:
    return node is not None and node.op in ("activation", "other") and _kind(node) in _GATES \
        and len(node.inputs) == 1


def _chain(graph: Graph, tensor: str) -> list[tuple[str, Node | None]]:
    """The tensors on the way back from ``tensor`` through scalar affines and gates,
    each with the node that produced it (the first entry is ``tensor`` itself)."""
    out: list[tuple[str, Node | None]] = []
    for _ in range(2 * _DEPTH):
        p = graph.producer(tensor)
        out.append((tensor, p))
        if not (_is_scalar_affine(p) or _is_gate(p)):
            break
        tensor = p.inputs[0]
    return out


def _gated_members(graph: Graph, mul: Node) -> dict[str, str] | None:
    """For ``x * f(x)`` (exactly one side through one gate, both sides from one tensor
    ``x``): every scalar affine of the pattern between ``x`` and the ``mul``, and the
    trailing ones after it, each with the pattern's name."""
    if len(mul.inputs) != 2:
        return None
    a, b = (_chain(graph, t) for t in mul.inputs)
    common = {t for t, _ in b}
    cut = next((i for i, (t, _) in enumerate(a) if t in common), None)
    if cut is None:
        return None
    base = a[cut][0]
    side_a = [p for _, p in a[:cut]]
    side_b = [p for t, p in b[:[t for t, _ in b].index(base)]]
    gates = [p for p in (*side_a, *side_b) if _is_gate(p)]
    if len(gates) != 1:
        return None
    name = "gelu" if _kind(gates[0]) == "erf" else "gated"
    members = {p.id: name for p in (*side_a, *side_b) if _is_scalar_affine(p)}
    users = graph.consumers(mul.outputs[0])
    # A trailing scalar: the 0.5 of x * (1 + erf(x/√2)) * 0.5, the 1/6 of x * relu6(x + 3) / 6.
    if len(users) == 1 and _is_scalar_affine(users[0]):
        scale, shift = (float(np.ravel(users[0].params[k])[0]) for k in ("scale", "shift"))
        want = 0.5 if name == "gelu" else 1 / 6 if _kind(gates[0]) in _CLIPS else None
        if want is not None and shift == 0 and abs(scale - want) <= 1e-6 * want:
            members[users[0].id] = name
    return members


def _feeds(graph: Graph, node: Node, kinds: frozenset[str]) -> bool:
    """``node``'s output is read by an op of one of ``kinds`` (the eps before a sqrt)."""
    return any(c.op in ("activation", "other") and _kind(c) in kinds
               for c in graph.consumers(node.outputs[0]))


def _under_root(graph: Graph, node: Node) -> bool:
    """``node`` reads a variance, i.e. a mean of squares (the eps of a LayerNorm)."""
    p = graph.producer(node.inputs[0]) if node.inputs else None
    if p is None or _kind(p) not in ("reducemean", "mean", "pool_avg"):
        return False
    sq = graph.producer(p.inputs[0]) if p.inputs else None
    return sq is not None and _kind(sq) in ("pow", "mul", "square")


def _normalised_input(graph: Graph, node: Node) -> bool:
    """``node`` scales ``d / sqrt(v)`` or ``d * rsqrt(v)``: a LayerNorm's weight and bias."""
    p = graph.producer(node.inputs[0]) if node.inputs else None
    if p is None or len(p.inputs) != 2 or not (p.op == "mul" or _kind(p) == "div"):
        return False
    for t in p.inputs:
        q = graph.producer(t)
        while _is_scalar_affine(q):
            q = graph.producer(q.inputs[0])
        if q is not None and q.op in ("activation", "other") and _kind(q) in _ROOTS:
            return True
    return False


def _attention_scale(graph: Graph, node: Node) -> bool:
    """A scalar next to a data-by-data matmul on the way to a softmax."""
    p = graph.producer(node.inputs[0]) if node.inputs else None
    after = graph.consumers(node.outputs[0])
    if p is not None and _kind(p) in _MATMULS and any(_leads_to_softmax(graph, c) for c in after):
        return True
    return any(_kind(c) in _MATMULS and _leads_to_softmax(graph, c) for c in after)


def _leads_to_softmax(graph: Graph, node: Node, depth: int = 3) -> bool:
    if _kind(node) in ("softmax", "_softmax"):
        return True
    if depth == 0:
        return False
    return any(_leads_to_softmax(graph, c, depth - 1) for c in graph.successors(node)
               if c.op in ("add", "affine", "activation", "other", "reshape", "identity"))
