"""Timing verdicts that never contradict themselves, and what a run too short to
separate the variants would need (issue 16.14)."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.bench.stats import paired_verdict, rounds_to_separate
from inspector.bench.timing import summarize
from inspector.ui.timing_run import TimingSettings


def test_paired_verdict_is_within_noise_only_when_the_interval_holds_one():
    assert paired_verdict((0.99, 0.95, 1.02)) == "within noise of original"
    assert paired_verdict((0.97, 0.96, 0.98)) == "faster than original (-3.0%)"
    assert paired_verdict((1.04, 1.01, 1.07)) == "slower than original (+4.0%)"


def test_rounds_to_separate_scales_with_the_square_of_width_over_gap():
    # ±10 % after 46 rounds around a 3 % gap: 1.2 · 46 · (0.10 / 0.03)² ≈ 614 rounds
    assert rounds_to_separate((1.03, 0.93, 1.13), 46) == 614
    # no visible gap: sized for a 1 % difference
    assert abs(rounds_to_separate((1.0, 0.9, 1.1), 46) - 1.2 * 46 * 10 ** 2) <= 1
    assert rounds_to_separate((1.0, 0.9999, 1.0001), 46) == 47  # always more than now


def test_verdict_follows_the_per_round_ratio_when_drift_hides_the_gap_in_the_medians():
    rng = np.random.default_rng(0)
    drift = np.exp(rng.normal(0, 0.3, 60))  # the machine speeds up and slows down
    times = {"original": list(1e-3 * drift), "optimal": list(0.97e-3 * drift)}
    s = summarize(times)["optimal"]
    assert s["ci_low"] * 1e3 < 1.0 < s["ci_high"] * 1e3 * 1.5  # the medians' intervals overlap
    assert s["verdict"] == "faster than original (-3.0%)" and s["verdict_basis"] == "per-round ratio"


def test_verdict_falls_back_to_the_medians_without_paired_rounds():
    s = summarize({"original": [1.0] * 10, "optimal": [0.5] * 9})["optimal"]
    assert s["paired_to_original"] is None and s["verdict_basis"] == "medians"


pytest.importorskip("streamlit")


def test_contradicting_ratios_are_named_with_the_one_to_trust():
    from inspector.ui.pages.timing import contradictions

    stats = {"original": {"paired_to_original": None, "ratio_to_original": 1.0},
             "optimal": {"paired_to_original": (1.036, 0.95, 1.12), "ratio_to_original": 0.975},
             "adjacent": {"paired_to_original": (0.98, 0.95, 1.01), "ratio_to_original": 0.99}}
    notes = contradictions(stats)
    assert len(notes) == 1 and "0.975" in notes[0] and "1.036" in notes[0]
    assert "trust the per-round ratio" in notes[0]


def test_undecided_variants_get_the_rounds_and_seconds_they_would_need():
    from inspector.ui.pages.timing import undecided

    stats = {"original": {"paired_to_original": None},
             "optimal": {"paired_to_original": (1.03, 0.93, 1.13)},
             "adjacent": {"paired_to_original": (0.90, 0.88, 0.92)},  # separated already
             "floor": {"paired_to_original": (1.0, 0.9, 1.1)}}  # not a folded variant
    todo = undecided(stats, {"rounds": 46, "seconds": 30.0})
    assert [t[:2] for t in todo] == [("optimal-folded", 614)]
    assert todo[0][2] == pytest.approx((614 - 46) * 30.0 / 46)


@pytest.mark.slow
def test_timing_page_offers_to_continue_and_appends_the_new_rounds():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"),
                           default_timeout=240).run()
    at.selectbox(key="sample_name").set_value("conv_bn_relu").run()
    at.switch_page("inspector/ui/pages/timing.py").run()
    # A finished run that could not separate the variants: per-round ratios spread ±10 %.
    rng = np.random.default_rng(1)
    base = 1e-4 * np.exp(rng.normal(0, 0.05, 12))
    times = {name: list(base * rng.uniform(0.9, 1.1, 12))
             for name in ("adjacent", "optimal", "reparam", "floor")}
    times["original"] = list(base)
    cfg = TimingSettings(backends=("torch",), batch=1, size=None, adaptive=True, tol=0.02,
                         budget_s=5.0, repeats=12, warmup=1, ort_level="disabled", threads=1)
    at.session_state["timing::sample:conv_bn_relu"] = {
        "config": cfg, "times": {"torch": times}, "seconds": 1.2,
        "runs": {"torch": {"rounds": 12, "stop_reason": "budget", "seconds": 1.2}}}
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    info = " ".join(i.value for i in at.info)
    assert "could not separate" in info and "rounds, ~" in info
    assert any("Which ratio to trust" in c.value for c in at.caption)
    at.button(key="timing_more::torch").click().run()
    assert not at.exception, [e.message for e in at.exception]
    results = at.session_state["timing::sample:conv_bn_relu"]
    run = results["runs"]["torch"]
    assert run["continued"] == 1 and run["rounds"] > 12
    assert all(len(v) == run["rounds"] for v in results["times"]["torch"].values())
