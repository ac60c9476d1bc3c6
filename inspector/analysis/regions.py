"""Linear regions: sub-graphs that compute one conv of one tensor (DESIGN §3.7).

A region reads one tensor ``x`` and produces one tensor ``y``; every node in it
is affine in its region inputs (conv with zero padding, batch_norm / affine on
the channel axis, identity, add / sub, average pooling whose padding is
counted), and every intermediate tensor is read only inside the region (``x``
and ``y`` may be read by anyone). Such a region is one conv ``y = W ⊛ x + b``
when its tap grids line up; this module decides *whether* and *where*, from
the geometry alone, and :mod:`inspector.folding.merge` computes ``W`` and ``b``.
Rules (tap grids: :mod:`.taps`):

* sum of two maps: their tap grids must coincide; the merged kernel spans both.
* sequence: anything followed by a 1×1 conv (stride 1, no padding); a
  pointwise map followed by anything, if that thing has no zero padding or the
  pointwise map's bias is exactly 0.
* a zero ``pad`` node is a 1×1 identity with that padding: the conv after it
  absorbs it (it may only follow a pointwise map, whose bias must be 0).
* on rank-2 tensors (N, C) a ``linear`` is a conv without spatial axes, so
  parallel heads summed (and a scalar after them) merge into one ``linear``.
* the merged conv may not be larger (weight count) than the region's convs.

Regions end at a sum (``add``/``sub``) and the affines that alone follow it,
or, for sequences with no sum after them (k×k conv → BN → 1×1 conv → BN, or a
zero pad → conv), at a conv / linear / BN / affine whose region holds at least
two convs or a conv and a pad (:func:`find_regions`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from math import gcd

import numpy as np

from ..ir import Graph, Node
from .patterns import activation_pattern
from .taps import (
    Taps,
    affine_of,
    is_pointwise,
    is_unit,
    kernel_text,
    merged_padding,
    node_padding,
    node_taps,
    pad_taps,
    shifted,
    union,
)
from .verdict import Blocked, Reason

#: Most nodes a region may hold (bounds the search on large graphs).
REGION_LIMIT = 64


@dataclass(frozen=True)
class Region:
    """A mergeable linear region: ``nodes`` (graph order) map ``input`` to ``output``."""

    input: str
    output: str
    nodes: tuple[str, ...]
    anchor: str  # id of the node producing ``output``


@dataclass(frozen=True)
class Refusal:
    """A candidate region that is linear but cannot become one conv."""

    nodes: tuple[str, ...]
    blocked: Blocked


@dataclass(frozen=True)
class _Sym:
    """What the region computes so far, from ``x``: its tap grid, groups, and
    whether it is pointwise (1×1, stride 1, same size) with an exactly-zero bias."""

    taps: tuple[Taps, ...]
    groups: int
    pointwise: bool
    bias_zero: bool


def is_region_op(node: Node, graph: Graph | None = None) -> bool:
    """Ops that are affine in their data inputs and expressible as part of a conv.

    Given ``graph``: a ``linear`` counts only on a rank-2 (N, C) input, and an affine
    that is a scalar of an activation written out op by op does not (DESIGN §3.8)."""
    op = node.op
    if op == "conv":
        return node.attrs.get("padding_mode", "zeros") == "zeros" and "weight" in node.params
    if op == "linear":
        shape = graph.shape(node.inputs[0]) if graph is not None else None
        return "weight" in node.params and shape is not None and len(shape) == 2
    if op == "pad":
        return is_zero_pad(node)
    if op == "batch_norm":
        return not node.attrs.get("uses_batch_stats") and int(node.attrs.get("axis", 1)) == 1
    if op == "affine":
        return int(node.attrs.get("axis", 1)) == 1 and (graph is None or activation_pattern(graph, node) is None)
    if op == "pool_avg":
        return not node.attrs.get("global_pool")
    if op in ("add", "sub"):
        return len(node.inputs) == 2
    return op == "identity" and len(node.inputs) == 1


def is_zero_pad(node: Node) -> bool:
    """A constant-zero ``pad`` of the spatial axes only, no cropping."""
    at = node.attrs
    pads = [tuple(int(v) for v in p) for p in at.get("pads", ())]
    return (node.op == "pad" and at.get("mode", "constant") == "constant"
            and float(at.get("value", 0.0) or 0.0) == 0.0 and len(pads) >= 2
            and pads[0] == pads[1] == (0, 0) and all(v >= 0 for p in pads for v in p))


#: Ops holding weights: what a region merges (a sequence needs two of them).
WEIGHTED = ("conv", "linear")


def _maps(nodes: Iterable[Node]) -> int:
    """Convs, linears and zero pads: a sequence needs two (a pad joins the conv after it)."""
    return sum(n.op in WEIGHTED or n.op == "pad" for n in nodes)


def weight_size(node: Node) -> int:
    return int(np.prod(node.params["weight"].shape)) if node.op in WEIGHTED else 0


# -- the symbolic walk ------------------------------------------------------------
def evaluate(graph: Graph, x: str, nodes: list[Node]) -> _Sym | Blocked:
    """Walk ``nodes`` (graph order) from ``x``; the symbolic map of the last node's output."""
    shape = graph.shape(x)
    spatial = len(shape) - 2
    channels = shape[1]
    syms: dict[str, _Sym] = {x: _Sym((Taps(1, 1, 1, 0),) * spatial, channels, True, True)}
    for node in nodes:
        args = [syms[t] for t in node.inputs]
        r = _step(graph, node, args, spatial, shape)
        if isinstance(r, Blocked):
            return r
        syms[node.outputs[0]] = r
    return syms[nodes[-1].outputs[0]]


def _step(graph: Graph, node: Node, args: list[_Sym], spatial: int,
          x_shape: tuple[int, ...]) -> _Sym | Blocked:
    op = node.op
    if op in ("add", "sub"):
        a, b = args
        taps = union(a.taps, b.taps)
        if isinstance(taps, Blocked):
            return replace(taps, node=node.id)
        return _Sym(taps, gcd(a.groups, b.groups), is_unit(taps), a.bias_zero and b.bias_zero)
    (a,) = args
    if op == "identity":
        return a
    if op in ("batch_norm", "affine"):
        return replace(a, bias_zero=a.bias_zero and not np.any(affine_of(node)[1]))
    if op == "linear":  # rank 2: a conv without spatial axes
        return _Sym(a.taps, 1, a.pointwise, a.bias_zero and not np.any(node.params.get("bias", 0)))
    if op == "pad":
        if not a.pointwise:
            return Blocked(Reason.SEQUENCE, f"`{node.name}` pads the output of a spatial kernel in the "
                           "region: the padded border would not be that kernel's output", node.id)
        if not a.bias_zero:
            return Blocked(Reason.BIASED_POINTWISE, f"`{node.name}` zero-pads a tensor that carries a "
                           "bias: at the borders it writes zeros where the merged conv would add the bias",
                           node.id)
        return replace(a, taps=shifted(pad_taps(node, spatial), a.taps))
    if op == "pool_avg":
        pads = node_padding(node, spatial)
        if node.attrs.get("ceil_mode"):
            return Blocked(Reason.POOL_PADDING, f"average pool `{node.name}` uses ceil_mode: its last "
                           "windows average fewer values than the kernel holds", node.id)
        if any(b or e for b, e in pads) and not node.attrs.get("count_include_pad", True):
            return Blocked(Reason.POOL_PADDING, f"average pool `{node.name}` pads without counting the "
                           "padding (count_include_pad=False): not one conv at the borders", node.id)
        groups, has_bias = graph.shape(node.outputs[0])[1], False
    else:  # conv
        groups, has_bias = int(node.attrs.get("groups", 1)), bool(np.any(node.params.get("bias", 0)))
    own = node_taps(node, spatial)
    if op == "conv" and is_pointwise(node, spatial):
        return _Sym(a.taps, gcd(a.groups, groups), a.pointwise, a.bias_zero and not has_bias)
    if not a.pointwise:
        return Blocked(Reason.SEQUENCE, f"`{node.name}` ({kernel_text(own)}) reads the output of another "
                       "spatial kernel in the region: only a 1×1 conv may follow one", node.id)
    if not a.bias_zero and any(b or e for b, e in node_padding(node, spatial)):
        return Blocked(Reason.BIASED_POINTWISE, f"`{node.name}` zero-pads a tensor that carries a bias "
                       "(a 1×1 conv or BN before it): at the borders it reads zeros where the merged conv "
                       "would read the bias", node.id)
    taps = shifted(own, a.taps)
    return _Sym(taps, gcd(a.groups, groups), is_unit(taps), a.bias_zero and not has_bias)


# -- finding regions -----------------------------------------------------------
def check_region(graph: Graph, x: str, nodes: list[Node]) -> Region | Blocked:
    """Whether ``nodes`` (graph order, ending at the producer of ``y``) merge into one conv of ``x``."""
    inside = {n.id for n in nodes}
    last = nodes[-1]
    for n in nodes[:-1]:
        for t in n.outputs:
            outside = [c for c in graph.consumers(t) if c.id not in inside]
            if outside:
                return Blocked(Reason.OUTSIDE_USE, f"`{n.name}`'s output is also read by `{outside[0].name}` "
                               "outside the parallel branches", outside[0].id)
    x_shape, y_shape = graph.shape(x), graph.shape(last.outputs[0])
    if x_shape is None or y_shape is None or len(x_shape) < 2 or len(y_shape) != len(x_shape):
        return Blocked(Reason.MISALIGNED, "tensor shapes unknown or of different ranks", last.id)
    sym = evaluate(graph, x, nodes)
    if isinstance(sym, Blocked):
        return sym
    if merged_padding(sym.taps, x_shape[2:], y_shape[2:]) is None:
        return Blocked(Reason.MISALIGNED, "the branches' output grids differ", last.id)
    merged = y_shape[1] * (x_shape[1] // sym.groups) * int(np.prod([t.k for t in sym.taps]))
    budget = sum(weight_size(n) for n in nodes)
    if merged > budget:
        return Blocked(Reason.SEQUENCE, f"the merged {kernel_text(sym.taps)} conv would hold {merged} "
                       f"weights, more than the region's convs ({budget})", last.id)
    return Region(x, last.outputs[0], tuple(n.id for n in nodes), last.id)


def region_nodes(graph: Graph, x: str, anchor: Node, limit: int = REGION_LIMIT,
                 order: dict[str, int] | None = None) -> list[Node] | None:
    """The nodes on paths from ``x`` to ``anchor`` (graph order), or None when some path
    of ``anchor``'s inputs does not lead back to ``x`` through region ops. ``order``
    (node id -> position in ``graph.nodes``) sorts them without scanning the graph."""
    seen: dict[str, Node] = {}
    stack = [anchor]
    while stack:
        n = stack.pop()
        if n.id in seen:
            continue
        if not is_region_op(n, graph) or len(seen) >= limit:
            return None
        seen[n.id] = n
        for t in n.inputs:
            if t == x:
                continue
            p = graph.producer(t)
            if p is None:
                return None
            stack.append(p)
    if order is not None:
        return sorted(seen.values(), key=lambda n: order[n.id])
    return [n for n in graph.nodes if n.id in seen]


def find_region(graph: Graph, anchor: Node, order: dict[str, int] | None = None,
                min_maps: int = 1, avoid: frozenset[str] | set[str] = frozenset()
                ) -> tuple[Region | None, list[Refusal]]:
    """The largest mergeable region ending at ``anchor``'s output, and the refused
    larger candidates (each a linear region that cannot become one conv).

    Candidate inputs ``x`` are tried from the earliest tensor (``order``: node id ->
    position in the graph) to the latest; the first that merges wins. A candidate
    needs a conv or linear, ``min_maps`` convs / linears / zero pads and no node in ``avoid``."""
    order = order if order is not None else {n.id: i for i, n in enumerate(graph.nodes)}
    cone: dict[str, Node] = {}
    stack = [anchor]
    while stack and len(cone) < REGION_LIMIT:
        n = stack.pop()
        if n.id in cone or n.id in avoid or not is_region_op(n, graph):
            continue
        cone[n.id] = n
        stack.extend(p for t in n.inputs if (p := graph.producer(t)) is not None)
    if _maps(cone.values()) < min_maps:
        return None, []
    candidates = {t for n in cone.values() for t in n.inputs}
    ranked = sorted(candidates, key=lambda t: order[graph.producer(t).id] if graph.producer(t) else -1)
    refusals: list[Refusal] = []
    for x in ranked:
        nodes = region_nodes(graph, x, anchor, order=order)
        if (nodes is None or not any(n.op in WEIGHTED for n in nodes) or _maps(nodes) < min_maps
                or any(n.id in avoid for n in nodes)):
            continue
        r = check_region(graph, x, nodes)
        if isinstance(r, Region):
            return r, refusals
        refusals.append(Refusal(tuple(n.id for n in nodes), r))
    return None, refusals


def _through_scalars(graph: Graph, node: Node, avoid: frozenset[str] = frozenset()) -> Node:
    """The last of the affines / identities that alone read ``node``'s output, one
    after the other (``(head(x) + head_dist(x)) / 2``: the scalar joins the sum's region),
    none of them in ``avoid``."""
    while True:
        readers = graph.consumers(node.outputs[0])
        if (len(readers) != 1 or readers[0].op not in ("affine", "identity") or readers[0].id in avoid
                or not is_region_op(readers[0], graph)):
            return node
        node = readers[0]


#: Ops that may end a sequence region (k×k conv → BN → 1×1 conv → BN, no sum after it).
_SEQUENCE_ENDS = ("conv", "linear", "batch_norm", "affine")


def find_regions(graph: Graph, avoid: Iterable[str] = ()) -> tuple[list[Region], list[Refusal]]:
    """Disjoint mergeable regions, one per sum (``add``/``sub``) at most, latest sums
    first so that a region takes every sum it contains; then sequences of two or more
    convs (or linears) outside those regions, latest ends first; plus the refused
    candidates (the weight-size rule refuses sequences like sums). No region holds a
    node of ``avoid`` (ids of nodes never to merge: a merge the runtime check refused)."""
    avoid = frozenset(avoid)
    regions: list[Region] = []
    refusals: list[Refusal] = []
    taken: set[str] = set()
    order = {n.id: i for i, n in enumerate(graph.nodes)}
    for sums in (True, False):
        for node in reversed(graph.nodes):
            is_sum = node.op in ("add", "sub")
            if (is_sum != sums or (not sums and node.op not in _SEQUENCE_ENDS) or node.id in taken
                    or node.id in avoid or not is_region_op(node, graph)):
                continue
            end = _through_scalars(graph, node, avoid) if sums else node
            region, refused = find_region(graph, end, order, 1 if sums else 2,
                                           avoid if sums else avoid | taken)
            refusals.extend(refused)
            if region is not None and not taken.intersection(region.nodes):
                regions.append(region)
                taken.update(region.nodes)
    return regions, refusals
