"""Merging regions on the IR, and the ``reparam`` mode (DESIGN §3.7)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.analysis.regions import find_regions
from inspector.folding.apply import replay
from inspector.folding.driver import analyze
from inspector.folding.merge import merge_region
from inspector.ir import Graph
from inspector.report import deployed_counts
from inspector.verification.numpy_exec import random_inputs, run_graph

from .graph_factory import GraphBuilder, random_dags


def _error(a: Graph, b: Graph) -> float:
    xs = random_inputs(a, seed=1)
    return max(float(np.max(np.abs(p - q))) for p, q in zip(run_graph(a, xs), run_graph(b, xs, check_shapes=True)))


def _merge_all(graph: Graph) -> Graph:
    while True:
        regions, _ = find_regions(graph)
        if not regions:
            return graph
        for r in regions:
            graph, _ = merge_region(graph, r)


def _repvgg(blocks: int = 2, seed: int = 0) -> Graph:
    b = GraphBuilder(seed=seed)
    x = b.relu(b.input((2, 4, 7, 7)))
    for _ in range(blocks):
        y = b.add(b.add(b.bn(b.conv(x, 4, 3, 1, bias=False)), b.bn(b.conv(x, 4, 1, 0, bias=False))), b.bn(x))
        x = b.relu(y)
    b.output(x)
    return b.build()


def test_merge_region_replaces_the_region_by_one_conv():
    graph = _repvgg(1)
    (region,), _ = find_regions(graph)
    merged, step = merge_region(graph, region)
    conv = merged.node(step.conv_id)
    assert conv.op == "conv" and conv.inputs == (region.input,) and conv.outputs == (region.output,)
    assert not any(merged.has_node(n) for n in region.nodes)
    assert len(merged) == len(graph) - len(region.nodes) + 1
    assert sorted(step.bns) == sorted(n for n in region.nodes if graph.node(n).op == "batch_norm")
    assert _error(graph, merged) < 1e-12


def test_merge_region_leaves_the_input_graph_untouched():
    graph = _repvgg(1)
    before = [(n.id, n.op) for n in graph.nodes]
    merge_region(graph, find_regions(graph)[0][0])
    assert [(n.id, n.op) for n in graph.nodes] == before


def test_repmixer_region_with_sub_and_layer_scale_merges():
    b = GraphBuilder(seed=5)
    x = b.relu(b.input((1, 4, 6, 6)))
    mixer = b.bn(b.conv(x, 4, 3, 1, groups=4, bias=False))
    y = b.add(x, b.affine(b.sub(mixer, b.bn(x))))  # x + s * (dw_bn(x) - bn(x))
    b.output(b.relu(y))
    graph = b.build()
    merged = _merge_all(graph)
    assert deployed_counts(merged)[1] == 1 and _error(graph, merged) < 1e-12


def test_reparam_removes_every_bn_of_repvgg_blocks():
    graph = _repvgg(3)
    a = analyze(graph, "reparam")
    assert (a.folded_count, a.merged_count, a.remaining_count) == (6, 3, 0)
    assert deployed_counts(a.folded) == (7, 3)  # 3 convs + 4 relus
    assert _error(graph, a.folded) < 1e-12


def test_reparam_replay_gives_the_folded_graph():
    graph = _repvgg(2)
    a = analyze(graph, "reparam")
    assert _error(a.folded, replay(graph, a.steps, a.merge_log)) < 1e-12


def test_effective_merges_name_nodes_of_the_input_graph():
    graph = _repvgg(2)
    a = analyze(graph, "reparam")
    assert len(a.merges) == 2
    for m in a.merges:
        assert all(graph.has_node(n) for n in m.nodes)
        assert a.folded.node(m.conv_id).inputs == (m.input,)


def test_changed_never_names_a_merged_conv():
    a = analyze(_repvgg(2), "reparam")
    assert all(a.graph.has_node(n) for n in a.changed)


def test_unmerged_bn_gets_the_merge_refusal_reason():
    b = GraphBuilder(seed=2)
    x = b.relu(b.input((1, 4, 8, 8)))
    y = b.add(b.bn(b.conv(x, 4, 3, 2, dilation=2)), b.bn(b.conv(x, 4, 3, 1)))
    b.output(b.relu(b.add(b.bn(x), y)))
    a = analyze(b.build(), "reparam")
    kept = [v for v in a.verdicts.values() if v.status == "not_foldable"]
    assert kept and all(v.reason_code.value == "merge_dilation_mismatch" for v in kept)
    assert all("cannot merge" in v.reason for v in kept)


# -- properties ---------------------------------------------------------------------
@st.composite
def linear_regions(draw: st.DrawFn) -> Graph:
    """x -> 2..4 parallel branches (k×k conv, asym kernels, groups, dilation, BN/affine,
    1×1 → k×k and k×k → 1×1 sequences, avg-pool, identity) summed, then maybe an affine
    and a 1×1 conv; one stride and dilation for every branch, centred padding."""
    b = GraphBuilder(seed=draw(st.integers(0, 2**16)), name="region")
    c = draw(st.sampled_from([2, 4]))
    h, w = draw(st.integers(5, 9)), draw(st.integers(5, 9))
    x = b.relu(b.input((1, c, h, w)))
    s, d = draw(st.sampled_from([1, 2])), draw(st.sampled_from([1, 2]))
    groups = draw(st.sampled_from([g for g in (1, 2, 4) if c % g == 0]))

    def kernel() -> tuple[int, int]:
        return draw(st.sampled_from([1, 3, 5])), draw(st.sampled_from([1, 3, 5]))

    def conv(t: str, k: tuple[int, int], stride: int = s, bias: bool = True, g: int = 1) -> str:
        pad = [((kk - 1) * d // 2,) * 2 for kk in k]
        return b.conv(t, c, k, pad, groups=g, stride=stride, dilation=d, bias=bias)

    branches = []
    for i in range(draw(st.integers(2, 4))):
        kinds = ["conv", "grouped", "seq_after", "seq_before"] + (["pool", "identity"] if i else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "identity" and s == 1:
            t = x
        elif kind == "pool" and d == 1:
            t = b.avgpool(x, 3, s, 1)
        elif kind == "grouped":
            t = conv(x, kernel(), g=groups)
        elif kind == "seq_after":
            t = b.conv(conv(x, kernel()), c, 1, 0)
        elif kind == "seq_before":
            t = conv(b.conv(x, c, 1, 0, bias=False), kernel())
        else:
            t = conv(x, kernel())
        if draw(st.booleans()):
            t = b.bn(t)
        branches.append(t)
    y = branches[0]
    for t in branches[1:]:
        y = b.sub(y, t) if draw(st.integers(0, 3)) == 0 else b.add(y, t)
    if draw(st.booleans()):
        y = b.affine(y)
    if draw(st.booleans()):
        y = b.conv(y, c, 1, 0)
    b.output(b.relu(y))
    return b.build()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(linear_regions())
def test_merged_region_computes_the_same_function(graph):
    regions, refusals = find_regions(graph)
    assert regions or refusals  # a linear region is merged or refused with a reason
    merged = _merge_all(graph)
    assert _error(graph, merged) < 1e-9


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_dags(max_ops=10))
def test_reparam_never_removes_fewer_bns_than_optimal(graph):
    optimal, reparam = analyze(graph, "optimal"), analyze(graph, "reparam")
    assert reparam.folded_count + reparam.merged_count >= optimal.folded_count
    assert _error(graph, reparam.folded) < 1e-9


def test_frontend_without_merge_write_back_gives_a_clear_error():
    from types import SimpleNamespace

    import pytest

    from inspector.errors import UnsupportedModelError
    from inspector.folding.pipeline import write_back
    from tests.numpy_frontend import numpy_adapter

    def old_write_back(loaded, folded, removed, changed):  # no ``merges`` keyword
        raise AssertionError("must not be called with merges pending")

    loaded = SimpleNamespace(frontend=numpy_adapter(old_write_back))  # supports_merges=False
    with pytest.raises(UnsupportedModelError, match="--mode optimal"):
        write_back(loaded, analyze(_repvgg(1), "reparam"))


def test_bn_after_a_merged_region_folds_into_the_merged_conv():
    b = GraphBuilder(seed=9)
    x = b.relu(b.input((1, 4, 6, 6)))
    y = b.bn(b.add(b.conv(x, 4, 3, 1), b.avgpool(x, 3, 1, 1)))  # blocked before the merge
    b.output(b.relu(y))
    graph = b.build()
    assert analyze(graph, "optimal").folded_count == 0
    a = analyze(graph, "reparam")
    (verdict,) = a.verdicts.values()
    (merge,) = a.merges
    assert verdict.status == "folded" and set(verdict.roots) == set(merge.nodes)
    assert _error(graph, a.folded) < 1e-12
    assert _error(graph, replay(graph, a.steps, a.merge_log)) < 1e-12
