"""Replace a linear region by the one conv it computes (DESIGN §3.7).

:func:`merge_region` walks the region's nodes in graph order and holds, for
every tensor, the conv that maps ``x`` to it (``merge_rules`` does the maths;
``analysis.regions`` has already checked that the tap grids line up). The
result is a new graph in which the region's nodes are gone and one ``conv``
node (id :attr:`MergeStep.conv_id`) computes ``y`` from ``x``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis.regions import Region, evaluate
from ..analysis.taps import (
    Taps,
    affine_of,
    is_pointwise,
    merged_padding,
    node_taps,
    pad_taps,
    shifted,
    union,
)
from ..analysis.verdict import Blocked
from ..ir import Graph, Node, is_bn
from . import merge_rules as R

__all__ = ["MergeStep", "merge_region", "merge_regions", "region_kernel", "remerge"]


@dataclass(frozen=True)
class MergeStep:
    """One region merged into one conv.

    ``nodes`` are the ids of the region's nodes (they all disappear); ``conv`` is the
    new node (op ``conv``, float64 ``weight`` (C_out, C_in/g, *k) and ``bias``; attrs
    ``groups``, ``stride``, ``padding`` [(begin, end) per spatial dim], ``dilation``,
    ``padding_mode="zeros"``), reading ``input`` and writing ``output``.
    ``after_steps``: how many fold steps of the analysis came before this merge.
    """

    conv_id: str
    input: str
    output: str
    nodes: tuple[str, ...]
    bns: tuple[str, ...]
    conv: Node
    after_steps: int = 0


@dataclass(frozen=True)
class _Lin:
    """A conv from x: kernel (W, b, groups) on the tap grid ``taps``; ``w is None``
    is x itself (kept symbolic: composing with it costs nothing)."""

    w: np.ndarray | None
    b: np.ndarray
    groups: int
    taps: tuple[Taps, ...]

    def kernel(self) -> R.Kernel:
        if self.w is None:
            channels = len(self.b)
            return R.identity_kernel(channels, channels, len(self.taps)), self.b, channels
        return self.w, self.b, self.groups


def _on_grid(lin: _Lin, taps: tuple[Taps, ...]) -> np.ndarray:
    """``lin``'s kernel with zero taps added so that it spans the grid ``taps``."""
    before = [(t.start - u.start) // u.d for t, u in zip(lin.taps, taps)]
    after = [(u.end - t.end) // u.d for t, u in zip(lin.taps, taps)]
    return R.pad_kernel(lin.kernel()[0], before, after)


def _step(graph: Graph, node: Node, args: list[_Lin], spatial: int) -> _Lin:
    op = node.op
    if op in ("add", "sub"):
        a, b = args
        if op == "sub":
            w, bias, g = b.kernel()
            b = _Lin(-w, -bias, g, b.taps)
        grid = union(a.taps, b.taps)
        w, bias, g = R.add_parallel((_on_grid(a, grid), a.b, a.groups), (_on_grid(b, grid), b.b, b.groups))
        return _Lin(w, bias, g, grid)
    (a,) = args
    if op == "identity":
        return a
    if op == "pad":  # the region check guarantees ``a`` is 1×1 with a zero bias
        return _Lin(a.w, a.b, a.groups, shifted(pad_taps(node, spatial), a.taps))
    if op in ("batch_norm", "affine"):
        s, c = affine_of(node)
        w, b, g = a.kernel()
        w, b = R.scale_shift(w, b, s, c)
        return _Lin(w, b, g, a.taps)
    if op == "pool_avg":
        channels = graph.shape(node.outputs[0])[1]
        taps = shifted(node_taps(node, spatial), a.taps)
        second = (R.avg_pool_kernel(channels, [t.k for t in node_taps(node, spatial)]), np.zeros(channels),
                  channels)
    else:  # conv, or linear (a conv without spatial axes)
        w = np.asarray(node.params["weight"], np.float64)
        bias = node.params.get("bias")
        bias = np.zeros(w.shape[0]) if bias is None else np.asarray(bias, np.float64)
        second = (w, bias, int(node.attrs.get("groups", 1)))
        pointwise = op == "linear" or is_pointwise(node, spatial)
        taps = a.taps if pointwise else shifted(node_taps(node, spatial), a.taps)
        if a.w is None:
            return _Lin(*second, taps)
        if pointwise:
            return _Lin(*R.then_pointwise(a.kernel(), second), a.taps)
    if a.w is None:  # average pool of x (or of x padded)
        return _Lin(*second, taps)
    # the region check guarantees ``a`` is 1×1 (stride 1) here
    return _Lin(*R.pointwise_then(a.kernel(), second), taps)


def region_kernel(graph: Graph, region: Region, conv_id: str | None = None) -> Node:
    """The conv node computing ``region.output`` from ``region.input`` (float64 params;
    a ``linear`` node for a rank-2 region of parallel linear heads), with id ``conv_id`` (default ``"merged:<anchor id>"``, made unique)."""
    x_shape, y_shape = graph.shape(region.input), graph.shape(region.output)
    spatial, channels = len(x_shape) - 2, x_shape[1]
    nodes = [graph.node(i) for i in region.nodes]
    sym = evaluate(graph, region.input, nodes)
    if isinstance(sym, Blocked):
        raise ValueError(f"region ending at {region.anchor!r} does not merge: {sym.sentence}")
    lins = {region.input: _Lin(None, np.zeros(channels), channels, (Taps(1, 1, 1, 0),) * spatial)}
    for node in nodes:
        lins[node.outputs[0]] = _step(graph, node, [lins[t] for t in node.inputs], spatial)
    out = lins[region.output]
    if out.w is None:
        out = _Lin(*out.kernel(), out.taps)
    pads = merged_padding(out.taps, x_shape[2:], y_shape[2:])
    anchor = graph.node(region.anchor)
    base = anchor.id.removeprefix("merged:")
    if conv_id is None:
        conv_id, k = f"merged:{base}", 1
        while graph.has_node(conv_id):  # unique even when the anchor is an earlier merged conv
            k += 1
            conv_id = f"merged:{base}#{k}"
    if spatial == 0:  # rank-2 region (parallel linear heads): one linear
        return Node(id=conv_id, op="linear", inputs=(region.input,), outputs=(region.output,),
                    name=f"merged:{anchor.name.removeprefix('merged:')}", scope=anchor.scope,
                    attrs={"merged": True}, params={"weight": out.w, "bias": out.b})
    return Node(
        id=conv_id, op="conv", inputs=(region.input,), outputs=(region.output,),
        name=f"merged:{anchor.name.removeprefix('merged:')}", scope=anchor.scope,
        attrs={"groups": out.groups, "stride": [t.s for t in out.taps], "padding": pads,
               "dilation": [t.d for t in out.taps], "padding_mode": "zeros", "merged": True},
        params={"weight": out.w, "bias": out.b},
    )


def merge_region(graph: Graph, region: Region, after_steps: int = 0,
                 conv_id: str | None = None) -> tuple[Graph, MergeStep]:
    """A new graph with ``region`` replaced by one conv, and the step that records it.

    The intermediate tensors of the region disappear; ``region.output`` keeps its
    name and shape. ``graph`` is not modified.
    """
    conv = region_kernel(graph, region, conv_id)
    gone = set(region.nodes)
    nodes: list[Node] = []
    for n in graph.nodes:
        if n.id == region.anchor:
            nodes.append(conv)
        elif n.id not in gone:
            nodes.append(n)
    inner = {t for i in region.nodes for t in graph.node(i).outputs} - {region.output}
    tensors = {k: v for k, v in graph.tensors.items() if k not in inner}
    new = Graph(nodes=nodes, tensors=tensors, name=graph.name, framework=graph.framework, dtype=graph.dtype)
    bns = tuple(i for i in region.nodes if is_bn(graph.node(i)))
    return new, MergeStep(conv.id, region.input, region.output, region.nodes, bns, conv, after_steps)


def merge_regions(graph: Graph, regions: list[Region], after_steps: int = 0) -> tuple[Graph, list[MergeStep]]:
    """:func:`merge_region` for each of ``regions`` (disjoint, as ``find_regions`` returns
    them) in turn, the graph rebuilt once instead of once per region: the same graph and
    steps (merged conv ids included) in O(nodes + region sizes), not O(nodes × regions)."""
    live = {n.id for n in graph.nodes}  # the ids the one-by-one merges would see
    convs: dict[str, Node] = {}
    gone: set[str] = set()
    inner: set[str] = set()
    steps: list[MergeStep] = []
    for region in regions:
        base = region.anchor.removeprefix("merged:")
        conv_id, k = f"merged:{base}", 1
        while conv_id in live:
            k += 1
            conv_id = f"merged:{base}#{k}"
        conv = region_kernel(graph, region, conv_id)
        live.difference_update(region.nodes)
        live.add(conv.id)
        convs[region.anchor] = conv
        gone.update(region.nodes)
        inner.update(t for i in region.nodes for t in graph.node(i).outputs if t != region.output)
        bns = tuple(i for i in region.nodes if is_bn(graph.node(i)))
        steps.append(MergeStep(conv.id, region.input, region.output, region.nodes, bns, conv, after_steps))
    if not regions:
        return graph, steps
    nodes = [convs.get(n.id, n) for n in graph.nodes if n.id not in gone or n.id in convs]
    tensors = {k: v for k, v in graph.tensors.items() if k not in inner}
    return Graph(nodes=nodes, tensors=tensors, name=graph.name, framework=graph.framework,
                 dtype=graph.dtype), steps


def remerge(graph: Graph, step: MergeStep) -> Graph:
    """Redo ``step`` on ``graph`` (same region, current weights): how replay merges."""
    region = Region(step.input, step.output, step.nodes, graph.producer(step.output).id)
    new, _ = merge_region(graph, region, step.after_steps, step.conv_id)
    return new
