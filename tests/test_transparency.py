"""Direct tests of the transparency rules (``inspector.analysis.transparency``):
one behaviour per rule, each on a one-op graph, without the propagation."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.analysis.result import Transform
from inspector.analysis.transparency import RULES
from inspector.analysis.verdict import Blocked, Reason
from inspector.ir import Graph, Node

C = 3
SCALE = np.array([2.0, 0.5, 3.0])
SHIFT = np.array([1.0, -1.0, 0.25])
MAP = Transform(1, SCALE, SHIFT)


def one_op(op: str, inputs, outputs, shapes: dict, producers: dict | None = None, **attrs):
    """A graph holding ``op`` (id ``n``) whose inputs come from ``producers``
    (tensor -> op, default ``input``) and whose outputs go to graph outputs."""
    producers = producers or {}
    nodes = []
    for i, t in enumerate(dict.fromkeys(inputs)):
        kind = producers.get(t, "input")
        params = {"weight": np.ones((C, C, 1, 1))} if kind == "conv" else {}
        nodes.append(Node(f"p{i}", kind, () if kind == "input" else (f"src{i}",), (t,),
                          params=params))
        if kind != "input":
            nodes.append(Node(f"s{i}", "input", (), (f"src{i}",)))
    node = Node("n", op, tuple(inputs), tuple(outputs), attrs=attrs)
    nodes.append(node)
    nodes += [Node(f"o{i}", "output", (t,)) for i, t in enumerate(outputs)]
    return Graph.from_nodes(nodes, shapes), node


def solve(graph: Graph, node: Node, known: dict):
    return RULES[node.op](graph, node, known)


def codes(result) -> Reason | None:
    return result.code if isinstance(result, Blocked) else None


# -- pools ------------------------------------------------------------------------
def test_max_pool_passes_a_positive_map_unchanged():
    g, n = one_op("pool_max", ["x"], ["y"], {"x": (1, C, 4, 4), "y": (1, C, 2, 2)}, kernel=[2, 2])
    out = solve(g, n, {"x": MAP})
    assert out["y"] is MAP


def test_max_pool_blocks_a_negative_scale():
    g, n = one_op("pool_max", ["x"], ["y"], {"x": (1, C, 4, 4), "y": (1, C, 2, 2)}, kernel=[2, 2])
    flipped = Transform(1, -SCALE, SHIFT)
    assert codes(solve(g, n, {"x": flipped})) == Reason.NEGATIVE_SCALE


def test_pool_blocks_a_map_that_is_not_on_the_channel_axis():
    g, n = one_op("pool_avg", ["x"], ["y"], {"x": (1, C, 4, 4), "y": (1, C, 2, 2)}, kernel=[2, 2])
    on_height = Transform(2, np.ones(4), np.zeros(4))
    assert codes(solve(g, n, {"x": on_height})) == Reason.CHANNEL_MAPPING


@pytest.mark.parametrize("count_include_pad, code", [(True, Reason.ZERO_PADDING), (False, None)])
def test_avg_pool_with_padding_breaks_a_shift_only_when_it_counts_the_padding(count_include_pad, code):
    g, n = one_op("pool_avg", ["x"], ["y"], {"x": (1, C, 4, 4), "y": (1, C, 4, 4)}, kernel=[3, 3],
                  padding=[(1, 1), (1, 1)], count_include_pad=count_include_pad)
    assert codes(solve(g, n, {"x": MAP})) == code


# -- padding ----------------------------------------------------------------------
@pytest.mark.parametrize("mode, code", [("constant", Reason.ZERO_PADDING), ("reflect", None)])
def test_zero_padding_breaks_a_shift_but_reflect_padding_commutes(mode, code):
    g, n = one_op("pad", ["x"], ["y"], {"x": (1, C, 4, 4), "y": (1, C, 6, 6)}, mode=mode,
                  pads=[(0, 0), (0, 0), (1, 1), (1, 1)], value=0.0)
    assert codes(solve(g, n, {"x": MAP})) == code


def test_zero_padding_carries_a_pure_scale():
    g, n = one_op("pad", ["x"], ["y"], {"x": (1, C, 4, 4), "y": (1, C, 6, 6)}, mode="constant",
                  pads=[(0, 0), (0, 0), (1, 1), (1, 1)], value=0.0)
    scale_only = Transform(1, SCALE, np.zeros(C))
    assert solve(g, n, {"x": scale_only})["y"] is scale_only


# -- add --------------------------------------------------------------------------
def test_add_puts_the_shift_on_one_operand_only_preferring_a_layer_with_a_bias():
    shapes = {t: (1, C, 4, 4) for t in ("a", "b", "z")}
    g, n = one_op("add", ["a", "b"], ["z"], shapes, producers={"b": "conv"})
    out = solve(g, n, {"z": MAP})
    np.testing.assert_array_equal(out["b"].shift, SHIFT)
    assert not np.any(out["a"].shift)
    np.testing.assert_array_equal(out["a"].scale, SCALE)


def test_add_blocks_operands_that_need_different_scales():
    shapes = {t: (1, C, 4, 4) for t in ("a", "b", "z")}
    g, n = one_op("add", ["a", "b"], ["z"], shapes)
    other = Transform(1, SCALE * 2, SHIFT)
    assert codes(solve(g, n, {"a": MAP, "b": other})) == Reason.CONFLICT


def test_add_of_known_operands_sums_their_shifts():
    shapes = {t: (1, C, 4, 4) for t in ("a", "b", "z")}
    g, n = one_op("add", ["a", "b"], ["z"], shapes)
    out = solve(g, n, {"a": MAP, "b": Transform(1, SCALE, np.ones(C))})
    np.testing.assert_allclose(out["z"].shift, SHIFT + 1)


# -- channel-axis ops -------------------------------------------------------------
def test_concat_on_channels_gives_each_operand_its_slice():
    g, n = one_op("concat", ["a", "b"], ["y"], {"a": (1, 1, 2, 2), "b": (1, 2, 2, 2),
                                               "y": (1, C, 2, 2)}, axis=1)
    out = solve(g, n, {"y": MAP})
    np.testing.assert_array_equal(out["a"].scale, SCALE[:1])
    np.testing.assert_array_equal(out["b"].shift, SHIFT[1:])


def test_concat_of_one_tensor_twice_with_different_slices_conflicts():
    g, n = one_op("concat", ["a", "a"], ["y"], {"a": (1, 1, 2, 2), "y": (1, 2, 2, 2)}, axis=1)
    two = Transform(1, np.array([1.0, 2.0]), np.zeros(2))
    assert codes(solve(g, n, {"y": two})) == Reason.CONFLICT


def test_concat_of_one_tensor_twice_with_equal_slices_passes():
    g, n = one_op("concat", ["a", "a"], ["y"], {"a": (1, 1, 2, 2), "y": (1, 2, 2, 2)}, axis=1)
    same = Transform(1, np.array([2.0, 2.0]), np.array([1.0, 1.0]))
    np.testing.assert_array_equal(solve(g, n, {"y": same})["a"].scale, [2.0])


def test_split_gives_each_output_its_slice():
    g, n = one_op("split", ["x"], ["u", "v"], {"x": (1, C, 2, 2), "u": (1, 2, 2, 2),
                                              "v": (1, 1, 2, 2)}, axis=1, sizes=[2, 1])
    out = solve(g, n, {"x": MAP})
    np.testing.assert_array_equal(out["u"].scale, SCALE[:2])
    np.testing.assert_array_equal(out["v"].shift, SHIFT[2:])


def test_slice_backward_leaves_channels_outside_the_slice_unchanged():
    g, n = one_op("slice", ["x"], ["y"], {"x": (1, C, 2, 2), "y": (1, 1, 2, 2)}, axis=1,
                  start=1, end=2, step=1)
    out = solve(g, n, {"y": Transform(1, np.array([5.0]), np.array([7.0]))})
    np.testing.assert_array_equal(out["x"].scale, [1.0, 5.0, 1.0])
    np.testing.assert_array_equal(out["x"].shift, [0.0, 7.0, 0.0])


def test_flatten_expands_a_channel_vector_to_its_features():
    g, n = one_op("reshape", ["x"], ["y"], {"x": (1, C, 2, 2), "y": (1, C * 4)})
    out = solve(g, n, {"x": MAP})
    assert out["y"].axis == 1
    np.testing.assert_array_equal(out["y"].scale, np.repeat(SCALE, 4))  # channel k owns 4k..4k+3


def test_transpose_moves_the_map_to_the_new_position_of_its_axis():
    g, n = one_op("transpose", ["x"], ["y"], {"x": (1, C, 2, 2), "y": (1, 2, 2, C)},
                  perm=[0, 2, 3, 1])
    out = solve(g, n, {"x": MAP})
    assert out["y"].axis == 3 and out["y"].scale is MAP.scale
