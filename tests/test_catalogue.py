"""Every catalogue case, as a PyTorch module and as an ONNX file, in both modes.

Each case states the BNs each mode folds, per-BN statuses and reason codes;
every fold is verified numerically (max relative error <= 1e-5 in float32).
"""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest

from inspector.folding.driver import analyze, compare_modes
from inspector.folding.pipeline import fold
from inspector.frontends import load
from inspector.sources import load_sample
from sample_models import list_samples, onnx_path

CASES = [s.name for s in list_samples("case")]
FRONTENDS = ["torch", "onnx"]


@cache
def loaded(case: str, frontend: str):
    if frontend == "torch":
        return load_sample(case)
    return load(str(onnx_path(case)))


@cache
def analyses(case: str, frontend: str):
    return compare_modes(loaded(case, frontend).graph)


def expected(case: str):
    return next(s for s in list_samples("case") if s.name == case).expected


@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("case", CASES)
def test_case_folds_expected_count_in_both_modes(case, frontend):
    result = analyses(case, frontend)
    exp = expected(case)
    assert (result["adjacent"].folded_count, result["optimal"].folded_count) == (exp.adjacent, exp.optimal)


@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("case", CASES)
def test_case_bn_statuses_and_reasons(case, frontend):
    result = analyses(case, frontend)
    exp = expected(case)
    by_name = {mode: {v.name: v for v in a.verdicts.values()} for mode, a in result.items()}
    assert set(by_name["optimal"]) == set(exp.status)
    for bn, statuses in exp.status.items():
        for mode, want in zip(("adjacent", "optimal"), statuses):
            if want is not None:
                assert by_name[mode][bn].status == want, (bn, mode, by_name[mode][bn].reason)
    for bn, code in exp.reasons.items():
        assert by_name["optimal"][bn].reason_code.value == code, by_name["optimal"][bn].reason


@pytest.mark.slow
@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("case", CASES)
def test_case_optimal_fold_verifies(case, frontend):
    model = loaded(case, frontend)
    result = fold(model, "optimal", analysis=analyses(case, frontend)["optimal"])
    assert result.verification.max_rel_error <= 1e-5
    assert not result.rolled_back
    assert result.analysis.folded_count == expected(case).optimal


# --- reparam mode: folding plus merging of parallel branches (DESIGN §3.7) -------------------------
REPARAM_CASES = [s.name for s in list_samples("case") if s.expected.reparam is not None]
REMOVED = ("folded", "merged")


@cache
def reparam_fold(case: str, frontend: str):
    return fold(loaded(case, frontend), "reparam")


def _op_counts(model) -> Counter:
    """Convolutions and BNs left in a written-back model (ONNX proto or torch module)."""
    if hasattr(model, "graph") and hasattr(model, "opset_import"):
        ops = Counter(n.op_type for n in model.graph.node)
        return Counter(conv=ops["Conv"], bn=ops["BatchNormalization"])
    from torch import fx, nn

    from inspector.frontends.pytorch.capture import op_name
    from inspector.frontends.pytorch.ops import BATCH_NORMS

    out: Counter = Counter()
    if isinstance(model, fx.GraphModule):
        for n in model.graph.nodes:
            if n.op == "call_function":
                name = op_name(n.target)
                out["conv"] += name in ("conv1d", "conv2d", "conv3d", "convolution", "_convolution")
                out["bn"] += name in BATCH_NORMS
            elif n.op == "call_module":
                sub = model.get_submodule(n.target)
                out["conv"] += isinstance(sub, nn.modules.conv._ConvNd)
                out["bn"] += isinstance(sub, nn.modules.batchnorm._BatchNorm)
        return out
    for sub in model.modules():
        out["conv"] += isinstance(sub, nn.modules.conv._ConvNd)
        out["bn"] += isinstance(sub, nn.modules.batchnorm._BatchNorm)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("case", REPARAM_CASES)
def test_case_reparam_removes_expected_bns_with_expected_statuses(case, frontend):
    exp = expected(case)
    verdicts = {v.name: v for v in reparam_fold(case, frontend).analysis.verdicts.values()}
    assert sum(v.status in REMOVED for v in verdicts.values()) == exp.reparam
    for bn, want in exp.reparam_status.items():
        got = verdicts[bn].status
        assert got in REMOVED if want is None else got == want, (bn, got, verdicts[bn].reason)


@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("case", REPARAM_CASES)
def test_case_reparam_refusal_reason_codes(case, frontend):
    verdicts = {v.name: v for v in reparam_fold(case, frontend).analysis.verdicts.values()}
    for bn, code in expected(case).reparam_reasons.items():
        assert verdicts[bn].reason_code.value == code, verdicts[bn].reason


@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("case", REPARAM_CASES)
def test_case_merged_bns_name_their_merged_conv(case, frontend):
    result = reparam_fold(case, frontend)
    convs = {step.conv_id for step in result.analysis.merges}
    for v in result.analysis.verdicts.values():
        if v.status == "merged":
            assert v.details["merged_into"] in convs
            assert result.analysis.folded.node(v.details["merged_into"]).op == "conv"


@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("case", REPARAM_CASES)
def test_case_reparam_fold_verifies_and_leaves_expected_convs_and_bns(case, frontend):
    exp = expected(case)
    result = reparam_fold(case, frontend)
    assert result.verification.max_rel_error <= 1e-5
    assert not result.rolled_back
    counts = _op_counts(result.model)
    assert counts["conv"] == exp.reparam_convs
    assert counts["bn"] == len(exp.status) - exp.reparam


@pytest.mark.parametrize("case", REPARAM_CASES)
def test_case_reparam_same_result_through_both_frontends(case):
    statuses = [{v.name: v.status for v in reparam_fold(case, f).analysis.verdicts.values()}
                for f in FRONTENDS]
    assert statuses[0] == statuses[1]
    assert _op_counts(reparam_fold(case, "torch").model) == _op_counts(reparam_fold(case, "onnx").model)


@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("case", CASES)
def test_case_reparam_never_removes_fewer_bns_than_optimal(case, frontend):
    reparam = analyze(loaded(case, frontend).graph, "reparam")
    removed = sum(v.status in REMOVED for v in reparam.verdicts.values())
    assert removed >= analyses(case, frontend)["optimal"].folded_count
