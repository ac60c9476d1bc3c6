"""Every catalogue case, as a PyTorch module and as an ONNX file, in both modes.

Each case states the BNs each mode folds, per-BN statuses and reason codes;
every fold is verified numerically (max relative error <= 1e-5 in float32).
"""

from __future__ import annotations

from functools import cache

import pytest

from inspector.folding.pipeline import fold
from inspector.frontends import load
from inspector.report import compare_modes
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


@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("case", CASES)
def test_case_optimal_fold_verifies(case, frontend):
    model = loaded(case, frontend)
    result = fold(model, "optimal", analysis=analyses(case, frontend)["optimal"])
    assert result.verification.max_rel_error <= 1e-5
    assert not result.rolled_back
    assert result.analysis.folded_count == expected(case).optimal
