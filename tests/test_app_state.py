"""The app's state: one current model, everything kept for a model evicted when the
session opens another (issue 17.7), the upload limit (19.4) and the Timing
page's input cap (19.3).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from inspector.ui import state  # noqa: E402
from tests.bad_inputs import corpus as C  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def test_server_upload_limit_matches_what_the_uploader_promises():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == state.MAX_UPLOAD_MB == 300
    sidebar = (ROOT / "inspector" / "ui" / "sidebar.py").read_text(encoding="utf-8")
    assert "max_upload_size=state.MAX_UPLOAD_MB" in sidebar


def test_streamlit_reads_the_upload_limit_from_the_project_config(monkeypatch):
    from streamlit import config

    monkeypatch.chdir(ROOT)
    config._config_options = None  # reparse from the working directory
    try:
        config.get_config_options(force_reparse=True)
        assert config.get_option("server.maxUploadSize") == state.MAX_UPLOAD_MB
    finally:
        config.get_config_options(force_reparse=True)


@pytest.mark.slow
def test_opening_another_model_evicts_everything_kept_for_the_previous_one():
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.radio(key="model_source").set_value("Upload").run()
    at.file_uploader(key="upload").set_value(
        ("first.onnx", C.conv_bn().SerializeToString(), "application/octet-stream")).run()
    first = at.session_state[state.CTX]
    at.switch_page("inspector/ui/pages/fold.py").run()
    at.button(key="fold_apply").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert state.FOLDS in at.session_state and at.session_state[state.FOLDS]
    assert first.key in at.session_state[state.CACHES]  # per_result tables of the fold
    held = [k for k in at.session_state.keys() if f"::{first.key}" in str(k)]
    assert held, "the first model's widgets and results are keyed by it"
    at.file_uploader(key="upload").set_value(
        ("second.onnx", C.relu_only().SerializeToString(), "application/octet-stream")).run()
    assert not at.exception, [e.message for e in at.exception]
    second = at.session_state[state.CTX]
    assert second.key != first.key and second.name == "second.onnx"
    assert not [k for k in at.session_state[state.FOLDS] if k[0] == first.key]
    assert first.key not in at.session_state[state.CACHES]
    assert not [k for k in at.session_state.keys() if f"::{first.key}" in str(k)]
    assert not [k for k in at.session_state.keys() if k == "bnfold_active"]  # one key


def test_uploads_are_not_kept_in_a_cache_shared_by_every_session():
    import inspect as pyinspect

    src = pyinspect.getsource(state._load_upload)
    assert "cache_resource" not in src and "cache_data" not in src


def test_timing_inputs_over_the_cap_are_refused_before_allocating():
    import inspector
    from inspector.bench.variants import input_arrays, input_specs, largest_inputs
    from inspector.errors import ResourceLimitError
    from tests.test_bad_inputs import memory_cap

    loaded = inspector.load(C.conv_bn(batch=1))
    with memory_cap(1.0), pytest.raises(ResourceLimitError) as info:
        input_arrays(loaded, 256, 1024)  # 3 GiB at the form's old maximums
    assert "3,072 MB" in str(info.value) and "\n" not in str(info.value)
    batch, side = largest_inputs(loaded, None, max_tensor_mb=1)
    assert batch == 2**20 // (3 * 8 * 8 * 4) and side == int((2**20 / 12) ** 0.5)
    input_specs(loaded, batch, None, max_tensor_mb=1)
    with pytest.raises(ResourceLimitError):
        input_specs(loaded, batch + 1, None, max_tensor_mb=1)
    input_specs(loaded, 1, side, max_tensor_mb=1)
    with pytest.raises(ResourceLimitError):
        input_specs(loaded, 1, side + 1, max_tensor_mb=1)


@pytest.mark.slow
def test_timing_form_limits_follow_the_tensor_cap(monkeypatch):
    monkeypatch.setattr(state, "MAX_TENSOR_MB", 1.0)
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.radio(key="model_source").set_value("Upload").run()
    at.file_uploader(key="upload").set_value(
        ("tiny.onnx", C.conv_bn(batch=1).SerializeToString(), "application/octet-stream")).run()
    at.switch_page("inspector/ui/pages/timing.py").run()
    assert not at.exception, [e.message for e in at.exception]
    batch, size = at.number_input(key="timing_batch"), at.number_input(key="timing_size")
    assert batch.max == 256 and size.max == 295  # 1 MB: 3 x 295 x 295 x 4 bytes
    monkeypatch.setattr(state, "MAX_TENSOR_MB", 0.1)
    at.run()
    assert at.number_input(key="timing_batch").max == 136  # 0.1 MB / (3 x 8 x 8 x 4)
    at.number_input(key="timing_batch").set_value(100)
    at.number_input(key="timing_size").set_value(93)
    at.button[0].click().run()  # batch 100 at 93 x 93: over the cap together
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "MB limit" in errors[0]
    assert not at.dataframe  # nothing ran


def test_onnxruntime_sessions_of_other_models_are_dropped_beyond_the_budget(monkeypatch):
    """The library's session cache keeps one fold's working set, not every model seen."""
    import numpy as np
    import onnx.numpy_helper

    from inspector.frontends.onnx import runtime

    monkeypatch.setattr(runtime, "_SESSIONS", type(runtime._SESSIONS)())
    monkeypatch.setattr(runtime, "SESSION_BUDGET_BYTES", 1)  # one fold's working set: 4
    models = [C.conv_bn(batch=1) for _ in range(6)]
    x = np.zeros((1, 3, 8, 8), np.float32)
    for m in models:
        runtime.run(m, [x])
    assert [e[0] for e in runtime._SESSIONS.values()] == models[-4:]
    big = C.conv_bn(batch=1)
    big.graph.initializer.append(onnx.numpy_helper.from_array(np.zeros(10**5, np.float32), "pad"))
    runtime.run(big, [x])  # 4 x its size holds it and at most the small ones that fit
    assert list(runtime._SESSIONS.values())[-1][0] is big
    assert sum(e[2] for e in runtime._SESSIONS.values()) <= 4 * big.ByteSize()


def test_a_fold_releases_the_onnxruntime_sessions_it_used():
    import inspector
    from inspector.frontends.onnx import runtime

    loaded = inspector.load(C.conv_bn(batch=1))
    result = inspector.fold(loaded, "optimal")
    assert result.verification.passed
    assert not runtime._SESSIONS  # nothing kept for a model nobody may look at again
