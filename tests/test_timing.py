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


def test_build_variants_has_the_four_models(variants):
    assert set(variants) == VARIANTS


def test_build_variants_reuses_given_folds(loaded):
    sentinel = object()
    out = build_variants(loaded, folded={"adjacent": sentinel, "optimal": sentinel}, floor=False)
    assert out["adjacent"] is sentinel and out["optimal"] is sentinel and "floor" not in out


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_time_variants_records_every_repeat(loaded, variants, backend):
    seen = []
    times = time_variants(loaded, variants, backend=backend, batch=2, repeats=3, warmup=1,
                          progress=lambda msg, frac: seen.append(frac))
    assert set(times) == VARIANTS
    assert all(len(v) == 3 and all(t > 0 for t in v) for v in times.values())
    assert seen and seen[-1] == pytest.approx(1.0) and seen == sorted(seen)


def test_summarize_statistics(loaded, variants):
    times = {"original": [3.0, 1.0, 2.0], "floor": [1.0, 1.0, 1.0]}
    s = summarize(times)
    assert s["original"]["median"] == 2.0 and s["original"]["n"] == 3
    assert s["original"]["p10"] <= s["original"]["median"] <= s["original"]["p90"]
    assert s["original"]["ratio_to_floor"] == 2.0 and s["floor"]["ratio_to_original"] == 0.5


def test_summarize_without_floor_has_no_ratio():
    assert summarize({"original": [1.0]})["original"]["ratio_to_floor"] is None


def test_input_shapes_follow_batch_and_size(loaded):
    spec = input_specs(loaded, batch=4, size=16)[0]
    assert spec.shape[0] == 4 and spec.shape[2:] == (16, 16)
    assert input_arrays(loaded, batch=3)[0].shape[0] == 3


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


def test_bad_arguments_raise_inspector_errors(loaded, variants):
    with pytest.raises(InspectorError):
        time_variants(loaded, variants, backend="tensorrt")
    with pytest.raises(InspectorError):
        time_variants(loaded, variants, repeats=0)
    with pytest.raises(InspectorError):
        input_specs(loaded, batch=0)


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
