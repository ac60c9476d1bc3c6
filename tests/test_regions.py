"""Finding linear regions and the reason each refused one cannot merge (DESIGN §3.7)."""

from __future__ import annotations

from inspector.analysis.regions import find_regions
from inspector.analysis.taps import merged_padding, node_taps, union
from inspector.analysis.verdict import Blocked, Reason
from inspector.ir import Graph

from .graph_factory import GraphBuilder


def _start(c: int = 4, size: int = 8) -> tuple[GraphBuilder, str]:
    b = GraphBuilder(seed=3)
    return b, b.relu(b.input((1, c, size, size)))


def _finish(b: GraphBuilder, y: str) -> Graph:
    b.output(b.relu(y))
    return b.build()


def _codes(graph: Graph) -> set[Reason]:
    return {r.blocked.code for r in find_regions(graph)[1]}


def test_repvgg_block_is_one_region_from_the_block_input():
    b, x = _start()
    y = b.add(b.add(b.bn(b.conv(x, 4, 3, 1)), b.bn(b.conv(x, 4, 1, 0))), b.bn(x))
    graph = _finish(b, y)
    (region,), refused = find_regions(graph)
    assert region.input == x and region.output == y and refused == []
    assert {graph.node(n).op for n in region.nodes} == {"conv", "batch_norm", "add"}


def test_acnet_asymmetric_kernels_form_a_region():
    b, x = _start()
    y = b.add(b.add(b.conv(x, 4, 3, 1), b.conv(x, 4, (1, 3), (0, 1))), b.conv(x, 4, (3, 1), (1, 0)))
    assert len(find_regions(_finish(b, y))[0]) == 1


def test_stride_mismatch_is_refused():
    b, x = _start()
    y = b.add(b.conv(x, 4, 3, 1, stride=2), b.conv(x, 4, 5, 0))  # both 8x8 -> 4x4
    graph = _finish(b, y)
    assert find_regions(graph)[0] == [] and _codes(graph) == {Reason.STRIDE_MISMATCH}


def test_stride_2_pool_after_1x1_merges_as_a_stride_2_kernel():
    b, x = _start()
    y = b.add(b.conv(x, 4, 3, 1, stride=2), b.avgpool(b.conv(x, 4, 1, 0), 2))
    assert len(find_regions(_finish(b, y))[0]) == 1


def test_dilation_mismatch_is_refused():
    b, x = _start()
    y = b.add(b.conv(x, 4, 3, 2, dilation=2), b.conv(x, 4, 3, 1))
    assert _codes(_finish(b, y)) == {Reason.DILATION_MISMATCH}


def test_misaligned_centres_are_refused():
    b, x = _start()
    y = b.add(b.conv(x, 4, 2, 1, dilation=2), b.conv(x, 4, 3, 2, dilation=2))  # starts -1, -2
    assert _codes(_finish(b, y)) == {Reason.MISALIGNED}


def test_avg_pool_that_ignores_its_padding_is_refused():
    b, x = _start()
    y = b.add(b.conv(x, 4, 3, 1), b.avgpool(x, 3, 1, 1, count_include_pad=False))
    assert _codes(_finish(b, y)) == {Reason.POOL_PADDING}


def test_avg_pool_with_counted_padding_merges():
    b, x = _start()
    y = b.add(b.conv(x, 4, 3, 1), b.avgpool(x, 3, 1, 1))
    assert len(find_regions(_finish(b, y))[0]) == 1


def test_biased_1x1_before_a_padded_kxk_is_refused():
    b, x = _start()
    y = b.add(b.conv(b.conv(x, 4, 1, 0, bias=True), 4, 3, 1), b.conv(x, 4, 3, 1))
    assert _codes(_finish(b, y)) == {Reason.BIASED_POINTWISE}


def test_unbiased_1x1_before_a_padded_kxk_merges():
    b, x = _start()
    y = b.add(b.conv(b.conv(x, 4, 1, 0, bias=False), 4, 3, 1), b.conv(x, 4, 3, 1))
    assert len(find_regions(_finish(b, y))[0]) == 1


def test_kxk_after_kxk_is_refused():
    b, x = _start()
    y = b.add(b.conv(b.conv(x, 4, 3, 1), 4, 3, 1), b.conv(x, 4, 3, 1))
    assert Reason.SEQUENCE in _codes(_finish(b, y))


def test_branch_tensor_read_outside_is_refused():
    b, x = _start()
    t = b.bn(b.conv(x, 4, 3, 1))
    y = b.add(t, b.conv(x, 4, 1, 0))
    b.output(b.relu(t))
    assert _codes(_finish(b, y)) == {Reason.OUTSIDE_USE}


def test_region_stops_at_a_nonlinearity_and_takes_the_later_input():
    b, x = _start()
    r = b.relu(b.conv(x, 4, 3, 1))
    y = b.add(b.conv(r, 4, 3, 1), b.bn(r))
    (region,), _ = find_regions(_finish(b, y))
    assert region.input == r


def test_region_without_a_conv_is_not_merged():
    b, x = _start()
    y = b.add(b.bn(x), x)
    assert find_regions(_finish(b, y)) == ([], [])


def test_union_spans_both_tap_grids():
    b, x = _start()
    c3, c1 = b.conv(x, 4, 3, 1), b.conv(x, 4, 1, 0)
    graph = _finish(b, b.add(c3, c1))
    t3, t1 = (node_taps(graph.producer(t), 2) for t in (c3, c1))
    merged = union(t3, t1)
    assert not isinstance(merged, Blocked)
    assert [(t.k, t.start) for t in merged] == [(3, -1), (3, -1)]
    assert merged_padding(merged, (8, 8), (8, 8)) == [(1, 1), (1, 1)]
