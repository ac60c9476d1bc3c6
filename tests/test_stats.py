"""inspector.bench.stats on synthetic timing samples (no model is timed here)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inspector.bench.stats import (
    MedianCI,
    StoppingRule,
    artefacts,
    compare,
    median_ci,
    noise_labels,
    order_statistic_ranks,
    paired_ratio_ci,
    run_adaptive,
)


def test_order_statistic_ranks_match_the_binomial_table_for_twenty_samples():
    # n = 20: the 6th and 15th smallest bracket the median with 95.9 % coverage
    j, k, cover = order_statistic_ranks(20)
    assert (j, k) == (5, 14)
    expected = sum(math.comb(20, i) for i in range(6, 15)) / 2 ** 20
    assert cover == pytest.approx(expected)


def test_ranks_are_the_narrowest_pair_reaching_the_confidence():
    for n in (6, 10, 31, 200):
        j, k, cover = order_statistic_ranks(n)
        assert cover >= 0.95
        if j + 1 < n // 2:  # the next pair inwards falls short
            inner = sum(math.comb(n, i) for i in range(j + 2, k)) / 2 ** n
            assert inner < 0.95


def test_too_few_samples_give_the_full_range_and_say_so():
    ci = median_ci([3.0, 1.0, 2.0])
    assert (ci.low, ci.median, ci.high) == (1.0, 2.0, 3.0)
    assert not ci.reached and ci.coverage == pytest.approx(0.75)


def test_interval_covers_the_true_median_about_95_percent_of_the_time():
    rng = np.random.default_rng(1)
    hits = 0
    trials = 800
    for _ in range(trials):
        ci = median_ci(rng.lognormal(0.0, 0.5, 25))  # true median e^0 = 1
        hits += ci.low <= 1.0 <= ci.high
    assert 0.93 <= hits / trials <= 0.995


def test_relative_half_width_uses_the_farther_end():
    ci = MedianCI(median=10.0, low=9.0, high=10.5, n=50, coverage=0.96)
    assert ci.rel_half_width == pytest.approx(0.1)


def _fake_rounds(spreads: dict[str, float], seed: int = 0):
    rng = np.random.default_rng(seed)
    return lambda i: {name: 1e-3 * (1 + s * rng.standard_normal()) for name, s in spreads.items()}


def _fake_clock(step: float):
    t = [0.0]

    def clock() -> float:
        t[0] += step
        return t[0]

    return clock


def test_adaptive_rule_stops_once_every_interval_is_within_tolerance():
    rule = StoppingRule(tol=0.02, budget_s=1e9, min_rounds=10)
    run = run_adaptive(_fake_rounds({"original": 0.01, "optimal": 0.01}), rule,
                       clock=_fake_clock(0.001))
    assert run.stop_reason == "converged"
    assert run.rounds == rule.min_rounds  # 1 % noise converges as soon as allowed
    assert all(median_ci(v).rel_half_width <= 0.02 for v in run.times.values())


def test_noisier_samples_need_more_rounds():
    rule = StoppingRule(tol=0.02, budget_s=1e9, min_rounds=10)
    quiet = run_adaptive(_fake_rounds({"a": 0.02, "b": 0.02}), rule, clock=_fake_clock(0.001))
    noisy = run_adaptive(_fake_rounds({"a": 0.02, "b": 0.15}), rule, clock=_fake_clock(0.001))
    assert noisy.stop_reason == "converged" and noisy.rounds > quiet.rounds


def test_adaptive_rule_stops_at_the_time_budget_when_noise_never_settles():
    rule = StoppingRule(tol=0.001, budget_s=5.0, min_rounds=10)
    run = run_adaptive(_fake_rounds({"a": 0.5}), rule, clock=_fake_clock(0.1))
    assert run.stop_reason == "budget"
    assert run.seconds >= 5.0 and run.rounds < 100


def test_adaptive_rule_respects_the_round_cap():
    rule = StoppingRule(tol=0.0, budget_s=1e9, min_rounds=5, max_rounds=30)
    run = run_adaptive(_fake_rounds({"a": 0.1}), rule, clock=_fake_clock(0.001))
    assert run.stop_reason == "max_rounds" and run.rounds == 30


def test_adaptive_progress_reports_increasing_fractions_up_to_one():
    seen: list[float] = []
    rule = StoppingRule(tol=0.001, budget_s=2.0, min_rounds=10)
    run_adaptive(_fake_rounds({"a": 0.3}), rule, clock=_fake_clock(0.1),
                 progress=lambda msg, frac: seen.append(frac))
    assert seen[-1] == pytest.approx(1.0) and all(0 <= f <= 1 for f in seen)


def _ci(median: float, half: float) -> MedianCI:
    return MedianCI(median, median - half, median + half, 50, 0.96)


def test_overlapping_intervals_are_within_noise():
    assert compare(_ci(1.00, 0.03), _ci(1.04, 0.03)) == "within noise"


def test_disjoint_intervals_are_faster_or_slower():
    assert compare(_ci(0.80, 0.02), _ci(1.00, 0.02)) == "faster"
    assert compare(_ci(1.20, 0.02), _ci(1.00, 0.02)) == "slower"


def test_faster_than_the_floor_is_flagged_as_an_artefact():
    cis = {"original": _ci(1.0, 0.01), "optimal": _ci(0.70, 0.01), "floor": _ci(0.80, 0.01)}
    assert artefacts(cis) == ["optimal"]
    assert "artefact" in noise_labels(cis)["optimal"]
    assert "artefact" not in noise_labels(cis)["floor"]


def test_within_noise_of_the_floor_is_not_an_artefact():
    cis = {"original": _ci(1.0, 0.01), "optimal": _ci(0.79, 0.02), "floor": _ci(0.80, 0.02)}
    assert artefacts(cis) == []
    assert noise_labels(cis)["optimal"].startswith("faster than original")


def test_noise_labels_say_within_noise_against_the_original():
    cis = {"original": _ci(1.0, 0.05), "adjacent": _ci(1.02, 0.05)}
    assert noise_labels(cis)["adjacent"] == "within noise of original"


def test_paired_ratios_cancel_drift_shared_by_both_variants():
    drift = np.linspace(1.0, 2.0, 40)  # the machine slows down during the run
    rng = np.random.default_rng(2)
    original = drift * (1 + 0.01 * rng.standard_normal(40))
    folded = 0.9 * drift * (1 + 0.01 * rng.standard_normal(40))
    assert compare(median_ci(folded), median_ci(original)) == "within noise"
    ratio = paired_ratio_ci(folded, original)
    assert ratio.high < 1.0 and ratio.median == pytest.approx(0.9, abs=0.01)


def test_paired_ratios_need_equal_lengths():
    with pytest.raises(ValueError):
        paired_ratio_ci([1.0, 2.0], [1.0])
