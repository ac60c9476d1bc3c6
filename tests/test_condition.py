"""The folding condition on small IR graphs: one case per rule and per failure.

Every case states the number of BNs each mode folds and, for a kept BN, the
reason code; every fold is checked in float64 against the unfolded graph.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from inspector.analysis.condition import find_fold
from inspector.analysis.verdict import Reason
from inspector.folding.apply import apply_step
from inspector.folding.driver import analyze, try_fold
from inspector.verification.numpy_exec import random_inputs, run_graph
from tests.graph_factory import GraphBuilder

X = (1, 3, 6, 6)


def conv_bn_relu(b):
    b.output(b.relu(b.bn(b.conv(b.input(X), 4, k=3, pad=1))))


def linear_bn(b):
    b.output(b.relu(b.bn(b.linear(b.input((2, 5)), 4))))


def conv_transpose_bn(b):
    b.output(b.relu(b.bn(b.conv_transpose(b.input((1, 4, 5, 5)), 6, k=3, stride=2, groups=2))))


def depthwise_bn(b):
    b.output(b.relu(b.bn(b.conv(b.input((1, 4, 6, 6)), 4, k=3, pad=1, groups=4))))


def input_bn_conv(b):
    b.output(b.conv(b.bn(b.input(X)), 4, k=3))


def input_bn_depthwise_conv(b):
    b.output(b.conv(b.bn(b.input((1, 4, 6, 6))), 8, k=3, groups=4))


def input_bn_padded_conv(b):
    b.output(b.conv(b.bn(b.input(X)), 4, k=3, pad=1))


def input_bn_reflect_padded_conv(b):
    x = b.pad(b.bn(b.input(X)), [(0, 0), (0, 0), (1, 1), (1, 1)], mode="reflect")
    b.output(b.conv(x, 4, k=3))


def add_two_roots(b):
    x = b.input(X)
    b.output(b.relu(b.bn(b.add(b.conv(x, 4), b.conv(x, 4)))))


def leaf_conv(b):
    c = b.conv(b.input(X), 4)
    b.output(b.relu(b.bn(c)))
    b.output(b.conv(c, 5))


def leaf_padded_conv(b):
    c = b.conv(b.input(X), 4)
    b.output(b.relu(b.bn(c)))
    b.output(b.conv(c, 5, k=3, pad=1))


def relu_bn_conv(b):
    b.output(b.conv(b.bn(b.relu(b.conv(b.input(X), 4))), 4))


def bn_bn(b):
    b.output(b.relu(b.bn(b.bn(b.relu(b.conv(b.input(X), 4))))))


def maxpool_positive(b):
    b.output(b.relu(b.bn(b.maxpool(b.conv(b.input(X), 4)))))


def maxpool_negative(b):
    b.output(b.relu(b.bn(b.maxpool(b.conv(b.input(X), 4)), negative=True)))


def avgpool_bn(b):
    b.output(b.relu(b.bn(b.avgpool(b.conv(b.input(X), 4)))))


def avgpool_padded_bn(b):
    b.output(b.relu(b.bn(b.avgpool(b.conv(b.input(X), 4), k=3, stride=1, pad=1))))


def concat_bn(b):
    x = b.input(X)
    b.output(b.relu(b.bn(b.concat([b.conv(x, 4), b.conv(x, 2)]))))


def split_bn(b):
    y1, y2 = b.split(b.conv(b.input(X), 6), [2, 4])
    b.output(b.relu(b.bn(y2)))
    b.output(b.relu(y1))


def se_mul_bn(b):
    c = b.conv(b.input(X), 4)
    gate = b.act(b.conv(b.global_avgpool(c), 4), kind="sigmoid")
    b.output(b.relu(b.bn(b.mul(c, b.resize(gate, scale=6)))))


def flatten_bn_linear(b):
    b.output(b.linear(b.bn(b.flatten(b.input((1, 4, 3, 3)))), 5))


def tokens_linear_bn(b):
    t = b.linear(b.input((1, 6, 8)), 8)
    flat = b.reshape(t, (6, 8))
    b.output(b.relu(b.reshape(b.bn(flat), (1, 6, 8))))


def transpose_nhwc_bn(b):
    nhwc = b.transpose(b.input(X), (0, 2, 3, 1))  # a converter's NHWC input
    t = b.transpose(b.conv(b.transpose(nhwc, (0, 3, 1, 2)), 4), (0, 2, 3, 1))
    b.output(b.relu(b.bn(b.transpose(t, (0, 3, 1, 2)))))


def bn_output_after_linear(b):
    b.output(b.bn(b.linear(b.input((2, 5)), 4)))


def bn_only(b):
    b.output(b.bn(b.input(X)))


def batch_stats_bn(b):
    b.output(b.relu(b.bn(b.conv(b.input(X), 4), batch_stats=True)))


def shared_conv(b):
    x = b.input(X)
    c1 = b.conv(x, 3, name="conv")
    b.output(b.relu(b.bn(c1)))
    b.output(b.conv(b.relu(x), 3, share_with="conv1", name="conv#2"))


def dense_block(b):
    feats = [b.conv(b.input(X), 4)]
    for _ in range(3):
        x = feats[0] if len(feats) == 1 else b.concat(feats)
        feats.append(b.conv(b.relu(b.bn(x)), 2))
    b.output(b.relu(b.bn(b.concat(feats))))


def preact_residual(b):
    x = b.conv(b.input(X), 4, k=3, pad=1)
    for _ in range(2):
        h = b.conv(b.relu(b.bn(x)), 4, k=3, pad=1)
        x = b.add(x, b.conv(b.relu(b.bn(h)), 4, k=3, pad=1))
    b.output(b.relu(b.bn(x)))


def zero_gamma_leaf(b):
    c = b.conv(b.input(X), 4)
    y = b.bn(c)
    b.output(b.relu(y))
    b.output(b.conv(c, 5))


# name -> (builder, adjacent folded, optimal folded, expected reason of a kept BN in optimal)
CASES = {
    "conv_bn_relu": (conv_bn_relu, 1, 1, None),
    "linear_bn": (linear_bn, 1, 1, None),
    "conv_transpose_bn": (conv_transpose_bn, 1, 1, None),
    "depthwise_bn": (depthwise_bn, 1, 1, None),
    "input_bn_conv": (input_bn_conv, 0, 1, None),
    "input_bn_depthwise_conv": (input_bn_depthwise_conv, 0, 1, None),
    "input_bn_padded_conv": (input_bn_padded_conv, 0, 0, "zero_padding"),
    "input_bn_reflect_padded_conv": (input_bn_reflect_padded_conv, 0, 1, None),
    "add_two_roots": (add_two_roots, 0, 1, None),
    "leaf_conv": (leaf_conv, 0, 1, None),
    "leaf_padded_conv": (leaf_padded_conv, 0, 0, "zero_padding"),
    "relu_bn_conv": (relu_bn_conv, 0, 1, None),
    "bn_bn": (bn_bn, 0, 1, "nonlinearity"),
    "maxpool_positive": (maxpool_positive, 0, 1, None),
    "maxpool_negative": (maxpool_negative, 0, 0, "negative_scale"),
    "avgpool_bn": (avgpool_bn, 0, 1, None),
    "avgpool_padded_bn": (avgpool_padded_bn, 0, 0, "zero_padding"),
    "concat_bn": (concat_bn, 0, 1, None),
    "split_bn": (split_bn, 0, 1, None),
    "se_mul_bn": (se_mul_bn, 0, 0, "data_dependent_mul"),
    "flatten_bn_linear": (flatten_bn_linear, 0, 1, None),
    "tokens_linear_bn": (tokens_linear_bn, 0, 1, None),
    "transpose_nhwc_bn": (transpose_nhwc_bn, 0, 1, None),
    "bn_output_after_linear": (bn_output_after_linear, 1, 1, None),
    "bn_only": (bn_only, 0, 0, "boundary"),
    "batch_stats_bn": (batch_stats_bn, 0, 0, "batch_stats"),
    "zero_gamma_leaf": (zero_gamma_leaf, 0, 1, None),
    "shared_conv": (shared_conv, 0, 0, "shared_params"),
    "dense_block": (dense_block, 0, 1, "nonlinearity"),
    "preact_residual": (preact_residual, 2, 3, "nonlinearity"),
}


def build(case: str):
    b = GraphBuilder(seed=3, name=case)
    CASES[case][0](b)
    return b.build()


def assert_same_function(graph, folded):
    x = random_inputs(graph, seed=1)
    for y, z in zip(run_graph(graph, x), run_graph(folded, x)):
        assert np.max(np.abs(y - z)) <= 1e-9 * (1 + np.max(np.abs(y)))


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("mode", ["adjacent", "optimal"])
def test_case_folds_expected_number_of_bns(case, mode):
    graph = build(case)
    _, n_adjacent, n_optimal, _ = CASES[case]
    analysis = analyze(graph, mode)
    assert analysis.folded_count == (n_adjacent if mode == "adjacent" else n_optimal)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("mode", ["adjacent", "optimal"])
def test_case_fold_computes_the_same_function(case, mode):
    graph = build(case)
    assert_same_function(graph, analyze(graph, mode).folded)


@pytest.mark.parametrize("case", sorted(c for c, v in CASES.items() if v[3]))
def test_kept_bn_reports_expected_reason(case):
    verdicts = analyze(build(case), "optimal").verdicts.values()
    codes = {v.reason_code.value for v in verdicts if not v.folded}
    assert CASES[case][3] in codes


def test_every_kept_bn_has_a_sentence_and_code():
    for case in CASES:
        for v in analyze(build(case), "optimal").verdicts.values():
            if not v.folded:
                assert v.reason_code is not None and v.reason, (case, v)


def test_reason_names_the_blocking_node():
    v = next(iter(analyze(build("leaf_padded_conv"), "optimal").verdicts.values()))
    assert v.reason_code == Reason.ZERO_PADDING and v.blocking_node == "conv2"
    assert "`conv2`" in v.reason


def test_backward_and_forward_reasons_are_both_reported():
    v = next(iter(analyze(build("bn_only"), "optimal").verdicts.values()))
    assert v.reason.startswith("backward: ") and "; forward: " in v.reason


def test_two_roots_share_the_shift_once():
    graph = build("add_two_roots")
    step = analyze(graph, "optimal").steps[0]
    shifts = [t.shift for t in step.emitters.values()]
    assert sorted(step.roots) == ["conv1", "conv2"]
    assert sum(np.any(s != 0) for s in shifts) == 1


def test_leaf_is_reported_with_the_bn():
    v = next(iter(analyze(build("leaf_conv"), "optimal").verdicts.values()))
    assert v.direction == "backward" and v.roots == ("conv1",) and set(v.leaves) == {"conv2", "bn1"}


def test_forward_fold_lists_consumer_as_root():
    v = next(iter(analyze(build("input_bn_conv"), "optimal").verdicts.values()))
    assert v.direction == "forward" and v.roots == ("conv1",)


def test_bn_into_bn_folds_exactly_one_of_the_pair():
    verdicts = analyze(build("bn_bn"), "optimal").verdicts
    assert sorted(v.status for v in verdicts.values()) == ["folded", "not_foldable"]


def test_original_graph_is_not_mutated():
    graph = build("leaf_conv")
    before = {n.id: {k: v.copy() for k, v in n.params.items()} for n in graph}
    analyze(graph, "optimal")
    for n in graph:
        for k, v in n.params.items():
            np.testing.assert_array_equal(v, before[n.id][k])


def test_zero_scale_cannot_be_undone_by_a_leaf():
    graph = build("zero_gamma_leaf")
    bn = graph.node("bn1")
    gamma = bn.params["gamma"].copy()
    gamma[0] = 0.0
    graph = graph.with_nodes({"bn1": replace(bn, params={**bn.params, "gamma": gamma})})
    v = analyze(graph, "optimal").verdicts["bn1"]
    assert not v.folded and v.reason_code == Reason.ZERO_SCALE


def test_exclude_keeps_a_bn_with_verification_reason():
    v = analyze(build("conv_bn_relu"), "optimal", exclude=["bn1"]).verdicts["bn1"]
    assert v.reason_code.value == "verification_failed"


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError):
        analyze(build("conv_bn_relu"), "greedy")


# -- decisions: what the condition returns ------------------------------------------
def test_a_fold_decision_carries_the_step_and_the_nodes_it_read():
    graph = build("leaf_conv")
    d = find_fold(graph, "bn1", "backward")
    assert d.folds and d.step.bn == "bn1" and d.blocked == ()
    assert {"bn1", "conv1", "conv2"} <= d.region


def test_a_blocked_decision_carries_the_reason_and_no_step():
    d = find_fold(build("conv_bn_relu"), "bn1", "forward")
    assert not d.folds and d.step is None
    assert [b.code for b in d.blocked] == [Reason.NONLINEARITY] and "bn1" in d.region


def test_try_fold_reports_both_directions_when_neither_folds():
    d = try_fold(build("bn_only"), "bn1", "optimal")
    assert not d.folds and len(d.blocked) == 2


def test_try_fold_on_a_folded_bn_says_already_folded():
    graph = build("conv_bn_relu")
    folded = apply_step(graph, try_fold(graph, "bn1").step)
    d = try_fold(folded, "bn1")
    assert not d.folds and [b.code for b in d.blocked] == [Reason.ALREADY_FOLDED]


def test_deciding_does_not_mutate_the_graph():
    graph = build("leaf_conv")
    before = [(n.id, n.op, n.inputs, n.outputs) for n in graph]
    try_fold(graph, "bn1", "optimal")
    try_fold(graph, "bn1", "adjacent")
    assert [(n.id, n.op, n.inputs, n.outputs) for n in graph] == before
