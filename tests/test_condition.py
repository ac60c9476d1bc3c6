"""The folding condition on small IR graphs: one case per rule and per failure.

The cases are the catalogue's IR graphs (``sample_models.ir_catalogue``): each
states the number of BNs each mode folds and, for a kept BN, the reason code;
every fold is checked in float64 against the unfolded graph.
"""

from __future__ import annotations

import numpy as np
import pytest

from inspector.analysis.condition import find_fold
from inspector.analysis.verdict import Reason
from inspector.folding.apply import apply_step
from inspector.folding.driver import analyze, try_fold
from inspector.verification.numpy_exec import random_inputs, run_graph
from sample_models.ir_catalogue import IR_CASES

CASES = IR_CASES


def build(case: str):
    return CASES[case].build()


def assert_same_function(graph, folded):
    x = random_inputs(graph, seed=1)
    for y, z in zip(run_graph(graph, x), run_graph(folded, x)):
        assert np.max(np.abs(y - z)) <= 1e-9 * (1 + np.max(np.abs(y)))


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("mode", ["adjacent", "optimal"])
def test_case_folds_expected_number_of_bns(case, mode):
    graph = build(case)
    analysis = analyze(graph, mode)
    assert analysis.folded_count == (CASES[case].adjacent if mode == "adjacent" else CASES[case].optimal)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("mode", ["adjacent", "optimal"])
def test_case_fold_computes_the_same_function(case, mode):
    graph = build(case)
    assert_same_function(graph, analyze(graph, mode).folded)


@pytest.mark.parametrize("case", sorted(c for c, v in CASES.items() if v.reason))
def test_kept_bn_reports_expected_reason(case):
    verdicts = analyze(build(case), "optimal").verdicts.values()
    codes = {v.reason_code.value for v in verdicts if not v.folded}
    assert CASES[case].reason in codes


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
    v = analyze(build("zero_scale_leaf"), "optimal").verdicts["bn1"]
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


def test_ir_cases_expect_what_the_pytorch_cases_of_the_same_name_expect():
    from sample_models import get_sample, list_samples

    shared = sorted(CASES.keys() & {s.name for s in list_samples()})
    assert len(shared) >= 25  # one catalogue, one naming
    for name in shared:
        want, case = get_sample(name).expected, CASES[name]
        assert (want.adjacent, want.optimal) == (case.adjacent, case.optimal), name
        if want.reasons:
            assert case.reason in want.reasons.values(), name
