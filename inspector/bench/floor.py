"""The no-BN floor: every BN layer bypassed, the fastest any folding can be.

The floor is not equivalent to the model; it is a timing reference only. It is
an ordinary edit (:class:`FloorPlan`) that the model's frontend writes back
like a fold, so both frontends agree on what "every BN" means: every
batch-norm layer *and* every BN-like affine (a decomposed BN, ``ir.is_bn``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..ir import BN_OPS, LINEAR_OPS, Graph, Node
from ..model import LoadedModel


@dataclass(frozen=True)
class FloorPlan:
    """The floor as an edit: write ``graph``'s params of ``changed`` and bypass ``removed``."""

    graph: Graph
    removed: tuple[str, ...]
    changed: tuple[str, ...]


def floor_plan(graph: Graph) -> FloorPlan:
    """Every BN layer bypassed; the layers right before a BN that lack a bias get
    a zero one, because folding adds a bias there and a fair floor has it too.

    A BN whose extra outputs (training-mode statistics) are read stays: removing
    it would break its readers; so does a BN layer the frontend could not map
    (an ``other`` node). ``graph`` is not mutated.
    """
    biased: dict[str, Node] = {}
    removed = []
    for bn in graph.bn_nodes():
        if bn.op not in BN_OPS or any(graph.consumers(o) for o in bn.outputs[1:]):
            continue  # no BN arithmetic to bypass, or its statistics outputs are read
        removed.append(bn.id)
        layer = graph.producer(bn.inputs[0])
        if layer is None or layer.op not in LINEAR_OPS or "bias" in layer.params:
            continue
        w = layer.params["weight"]
        groups = int(layer.attrs.get("groups", 1))
        n = w.shape[1] * groups if layer.op == "conv_transpose" else w.shape[0]
        biased[layer.id] = replace(layer, params={**layer.params, "bias": np.zeros(n)})
    return FloorPlan(graph.with_nodes(biased), tuple(removed), tuple(biased))


def build_floor(loaded: LoadedModel) -> Any:
    """The floor model in ``loaded``'s framework, through the ordinary write-back."""
    plan = floor_plan(loaded.graph)
    return loaded.frontend.write_back(loaded, plan.graph, plan.removed, plan.changed)
