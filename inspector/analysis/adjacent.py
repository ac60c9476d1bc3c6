"""The `adjacent` rule: what PyTorch fx ``fuse``, onnxruntime and onnxoptimizer fold.

A BN folds only backward into a Conv / ConvTranspose / Linear that directly
produces its input, when that output feeds nothing else and the layer's
weights are not shared.
"""

from __future__ import annotations

from collections import Counter

from ..ir import LINEAR_OPS, Graph, Node
from .condition import bn_affine, channel_axis, check_candidate, shared_key_counts, shares_params
from .result import Decision, FoldStep, Transform
from .verdict import Blocked, Reason

ADJACENT_LAYERS = LINEAR_OPS


def find_adjacent(graph: Graph, bn_id: str, counts: Counter | None = None) -> Decision:
    """Fold ``bn_id`` into the layer right before it, or say why not.

    The decision's region holds the BN, the layer before it and that layer's
    other consumers.
    """
    bn = graph.node(bn_id)
    layer = graph.producer(bn.inputs[0])
    region = frozenset({bn_id, *(n.id for n in graph.consumers(bn.inputs[0])),
                        *((layer.id,) if layer else ())})
    result = _decide(graph, bn, counts if counts is not None else shared_key_counts(graph))
    if isinstance(result, Blocked):
        return Decision(None, (result,), region)
    return Decision(result, (), region)


def _decide(graph: Graph, bn: Node, counts: Counter) -> FoldStep | Blocked:
    blocked = check_candidate(graph, bn, counts)
    if blocked:
        return blocked
    x = bn.inputs[0]
    layer = graph.producer(x)
    if layer is None or layer.op not in ADJACENT_LAYERS:
        where = f"`{layer.name}` ({layer.kind})" if layer else "the graph input"
        return Blocked(
            Reason.NOT_ADJACENT,
            f"its input comes from {where}, not directly from a Conv/ConvTranspose/Linear",
            layer.id if layer else None,
        )
    others = [n.name for n in graph.consumers(x) if n.id != bn.id]
    if others:
        return Blocked(
            Reason.NOT_ADJACENT,
            f"the output of `{layer.name}` is also used by `{others[0]}`",
            layer.id,
        )
    if shares_params(layer, counts):
        return Blocked(Reason.SHARED_PARAMS, f"`{layer.name}` shares its parameters with another call", layer.id)
    axis = channel_axis(graph, bn, x)
    if axis != channel_axis(graph, layer, x):
        return Blocked(Reason.CHANNEL_MAPPING, f"`{layer.name}` and the BN use different channel axes", layer.id)
    a, c = bn_affine(bn)
    t = Transform(axis, a, c)
    return FoldStep(bn.id, "backward", a, c, {layer.id: t}, {}, (layer.id,), (bn.id,))


__all__ = ["find_adjacent", "ADJACENT_LAYERS"]
