"""inspector.bench.timing on a tiny sample: right keys, positive times, clear errors."""

from __future__ import annotations

import pytest

from inspector.bench import build_variants, input_arrays, summarize, time_variants
from inspector.bench.timing import input_specs, onnx_bytes
from inspector.errors import InspectorError

VARIANTS = {"original", "adjacent", "optimal", "floor"}


@pytest.fixture(scope="module")
def loaded():
    import inspector

    return inspector.load("sample:conv_bn_relu")


@pytest.fixture(scope="module")
def variants(loaded):
    from inspector.folding.driver import compare_modes

    return build_variants(loaded, compare_modes(loaded.graph))


@pytest.mark.slow
def test_build_variants_has_the_four_models(variants):
    assert set(variants) == VARIANTS


@pytest.mark.slow
def test_build_variants_reuses_given_folds(loaded):
    sentinel = object()
    out = build_variants(loaded, folded={"adjacent": sentinel, "optimal": sentinel}, floor=False)
    assert out["adjacent"] is sentinel and out["optimal"] is sentinel and "floor" not in out


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_time_variants_records_every_repeat(loaded, variants, backend):
    seen = []
    times = time_variants(loaded, variants, backend=backend, batch=2, repeats=3, warmup=1,
                          progress=lambda msg, frac: seen.append(frac))
    assert set(times) == VARIANTS
    assert all(len(v) == 3 and all(t > 0 for t in v) for v in times.values())
    assert seen and seen[-1] == pytest.approx(1.0) and seen == sorted(seen)


def test_summarize_statistics():
    times = {"original": [3.0, 1.0, 2.0], "floor": [1.0, 1.0, 1.0]}
    s = summarize(times)
    assert s["original"]["median"] == 2.0 and s["original"]["n"] == 3
    assert s["original"]["p10"] <= s["original"]["median"] <= s["original"]["p90"]
    assert s["original"]["ratio_to_floor"] == 2.0 and s["floor"]["ratio_to_original"] == 0.5


def test_summarize_without_floor_has_no_ratio():
    assert summarize({"original": [1.0]})["original"]["ratio_to_floor"] is None


@pytest.mark.slow
def test_input_shapes_follow_batch_and_size(loaded):
    spec = input_specs(loaded, batch=4, size=16)[0]
    assert spec.shape[0] == 4 and spec.shape[2:] == (16, 16)
    assert input_arrays(loaded, batch=3)[0].shape[0] == 3


@pytest.mark.slow
def test_onnx_bytes_exports_torch_models(loaded, variants):
    import onnx

    from inspector.frontends import onnx as onnx_frontend
    from inspector.frontends import pytorch

    data = onnx_bytes(loaded, variants["optimal"])
    model = onnx.load_from_string(data)
    assert not [n for n in model.graph.node if n.op_type == "BatchNormalization"]  # it folded
    x = loaded.random_inputs(seed=2)
    got = onnx_frontend.run(model, x)[0]
    want = pytorch.run(variants["optimal"], x)[0]
    assert got.shape == want.shape and float(abs(got - want).max()) < 1e-4


@pytest.mark.slow
def test_bad_arguments_raise_inspector_errors(loaded, variants):
    with pytest.raises(InspectorError):
        time_variants(loaded, variants, backend="tensorrt")
    with pytest.raises(InspectorError):
        time_variants(loaded, variants, repeats=0)
    with pytest.raises(InspectorError):
        input_specs(loaded, batch=0)


@pytest.mark.slow
def test_torch_backend_refuses_onnx_models(loaded, tmp_path):
    import inspector

    path = tmp_path / "m.onnx"
    loaded.frontend.save(loaded.model, str(path), loaded)
    onnx_model = inspector.load(str(path))
    with pytest.raises(InspectorError, match="onnxruntime"):
        time_variants(onnx_model, {"original": onnx_model.model}, backend="torch", repeats=1)
    times = time_variants(onnx_model, {"original": onnx_model.model}, backend="onnxruntime",
                          repeats=2, warmup=0)
    assert len(times["original"]) == 2


def test_summarize_gives_every_median_an_interval_and_a_verdict():
    times = {"original": [1.0 + 0.01 * i for i in range(20)],
             "floor": [0.5 + 0.01 * i for i in range(20)]}
    s = summarize(times)["original"]
    assert s["ci_low"] <= s["median"] <= s["ci_high"] and s["ci_rel"] > 0
    assert summarize(times)["floor"]["verdict"].startswith("faster than original")


@pytest.mark.slow
def test_adaptive_timing_stops_at_the_round_limit_when_the_target_is_unreachable(loaded, variants):
    from inspector.bench import StoppingRule, time_variants_adaptive

    rule = StoppingRule(tol=0.0, budget_s=600.0, min_rounds=3, max_rounds=6)  # ±0 % never converges
    run = time_variants_adaptive(loaded, variants, backend="onnxruntime", rule=rule, warmup=1)
    assert run.stop_reason == "max_rounds" and run.rounds == 6
    assert set(run.times) == VARIANTS and all(len(v) == 6 for v in run.times.values())


@pytest.mark.slow
def test_timing_page_runs_adaptively_and_shows_intervals_and_verdicts():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"),
                           default_timeout=180).run()
    at.selectbox(key="sample_name").set_value("conv_bn_relu").run()
    at.switch_page("inspector/ui/pages/timing.py").run()
    at.slider(key="timing_budget").set_value(5)
    at.slider(key="timing_warmup").set_value(1)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    table = at.dataframe[0].value
    # original, adjacent, optimal, reparam and the no-BN floor
    assert len(table) == 5 and (table["± %"] >= 0).all()
    assert table["verdict"].iloc[0] == "reference" and table["verdict"].iloc[1:].str.len().gt(0).all()
    assert any("interleaved rounds" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 2


def test_rounds_run_every_variant_once_in_varying_orders():
    from inspector.bench.timing import round_orders

    names = ["original", "adjacent", "optimal", "floor"]
    order = round_orders(names)
    orders = [tuple(order(i)) for i in range(40)]
    assert all(sorted(o) == sorted(names) for o in orders)
    followers = {o[o.index("original") + 1] for o in orders if o[-1] != "original"}
    assert len(followers) == 3  # no variant always runs right after the original


@pytest.mark.slow
def test_adaptive_results_keep_the_variants_order(loaded, variants):
    from inspector.bench import StoppingRule, time_variants_adaptive

    run = time_variants_adaptive(loaded, variants, backend="torch", warmup=0,
                                 rule=StoppingRule(tol=1.0, budget_s=5.0, min_rounds=6))
    assert list(run.times) == list(variants)


def test_measure_times_every_sample_with_the_given_clock():
    from inspector.bench.timing import _measure

    ticks = iter(range(10_000))
    calls = []
    runners = {n: (lambda n=n: calls.append(n)) for n in ("original", "optimal", "floor")}
    # the fake clock advances by 1 per reading: each sample of 4 calls reads it twice
    times = _measure(runners, repeats=5, warmup=1, number=4, say=lambda msg, frac: None,
                     clock=lambda: float(next(ticks)))
    assert times == {n: [0.25] * 5 for n in runners}
    assert len(calls) == 3 * (1 + 5 * 4)
