"""The Streamlit app, driven headless with ``streamlit.testing.v1.AppTest``.

One test per page feature: loading a sample, the metrics, selecting a BN, the
graph (SVG ids, colours and titles), applying a fold, the timing page on a tiny
model, invalid and valid uploads, the no-Graphviz fallback.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from inspector.render.status import STATUS_COLORS  # noqa: E402
from tests.mdtext import plain  # noqa: E402

pytestmark = pytest.mark.slow  # Streamlit AppTests

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 180


def _no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def _app(sample: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _no_exceptions(at)
    if sample is not None:
        at.selectbox(key="sample_name").set_value(sample).run()
        _no_exceptions(at)
    return at


def _data(at: AppTest, index: int = 0) -> dict:
    comps = at.get("bidi_component")
    assert comps, "no graph component rendered"
    return json.loads(comps[index].proto.json)


def _svg(at: AppTest, index: int = 0) -> str:
    return _data(at, index)["svg"]


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture(scope="module")
def densenet_reference():
    """Library figures for the densenet sample (BNs in all three statuses)."""
    import inspector
    from inspector.folding.driver import compare_modes
    from inspector.render.status import compute_statuses

    loaded = inspector.load("sample:densenet")
    analyses = compare_modes(loaded.graph)
    statuses = compute_statuses(loaded.graph, analyses["optimal"], analyses["adjacent"])
    return loaded, analyses, statuses


# -- Inspect ------------------------------------------------------------------
def test_landing_page_opens_on_a_sample_that_shows_every_status():
    at = _app()
    assert at.selectbox(key="sample_name").value == "showcase"
    m = _metrics(at)
    assert m["BN layers"] == "9" and m["Folded by adjacent"] == "5"
    assert {"Folded by optimal", "Not foldable", "Gap optimal − adjacent"} <= set(m)
    svg = _svg(at)
    assert "<desc>sample:showcase" in svg
    # the point of the tool on the first screen: a gap, refusals with reasons, a merge
    for status in ("status-both", "status-optimal_only", "status-not_foldable"):
        assert status in svg
    assert int(m["Gap optimal − adjacent"]) > 0 and int(m["Not foldable"]) > 0
    at.button_group(key="inspect_mode").set_value("reparam").run()
    _no_exceptions(at)
    assert "status-merged" in _svg(at)


def test_metrics_and_graph_match_the_library(densenet_reference):
    loaded, analyses, statuses = densenet_reference
    at = _app("densenet")
    m = _metrics(at)
    adj, opt = analyses["adjacent"].folded_count, analyses["optimal"].folded_count
    assert m["BN layers"] == str(len(statuses))
    assert m["Folded by adjacent"] == str(adj) and m["Folded by optimal"] == str(opt)
    assert m["Gap optimal − adjacent"] == str(opt - adj) and opt > adj
    svg = _svg(at)
    for bn_id, s in statuses.items():
        assert f'id="{bn_id}"' in svg
        assert f"status-{s.status}" in svg
    for key in ("both", "optimal_only"):
        assert STATUS_COLORS[key].fill.lower() in svg.lower()
    assert any(STATUS_COLORS[s.color_key].fill.lower() in svg.lower()
               for s in statuses.values() if s.status == "not_foldable")
    # the reason sentence is the node's <title> tooltip
    some = next(s for s in statuses.values() if s.status == "not_foldable")
    assert some.sentence.split("`")[0][:30] in svg


def test_selecting_a_bn_explains_it_and_highlights_roots_and_blocker(densenet_reference):
    loaded, _analyses, statuses = densenet_reference
    at = _app("densenet")
    blocked = next(b for b, s in statuses.items()
                   if s.status == "not_foldable" and s.verdict.blocking_node)
    svg_before = _svg(at)
    at.selectbox(key="sel_bn::sample:densenet").set_value(blocked).run()
    _no_exceptions(at)
    text = " ".join(md.value for md in at.markdown)
    assert "Not foldable" in text and "Blocking node" in text
    data = _data(at)
    assert data["selected"] == blocked
    # "neither direction works": both directions' blockers are outlined (issue 16.8)
    blockers = statuses[blocked].verdict.blocking_nodes
    assert data["roles"][blocked]["blocking"] == list(blockers)
    if len(statuses[blocked].verdict.details.get("blocked", ())) == 2:
        assert len(blockers) == 2
    folded = next(b for b, s in statuses.items() if s.status == "optimal_only")
    at.selectbox(key="sel_bn::sample:densenet").set_value(folded).run()
    text = " ".join(md.value for md in at.markdown)
    assert "Folds" in text and "adjacent" in text
    data = _data(at)
    assert set(data["roles"][folded]["root"]) == set(statuses[folded].verdict.roots)
    # the browser restyles the same drawing: selecting never lays the graph out again
    assert data["svg"] == svg_before


def test_table_filters_by_status():
    at = _app("densenet")
    table = at.dataframe[0].value
    assert {"name", "status", "direction", "roots", "leaves", "reason"} <= set(table.columns)
    at.button_group(key="bn_filter::sample:densenet").set_value(["not foldable"]).run()
    filtered = at.dataframe[0].value
    assert 0 < len(filtered) < len(table)
    assert set(filtered["status"]) == {"not foldable"}


def test_views_collapse_focus_and_find_index():
    at = _app("densenet")
    vk = "inspect_view::sample:densenet"
    at.button_group(key=f"{vk}:view").set_value("Collapsed").run()
    _no_exceptions(at)
    assert 'class="node group' in _svg(at)
    # find runs in the browser: every drawn box carries the names and op types it holds
    index = _data(at)["index"]
    assert any("relu" in text for text in index.values())
    assert all(unit.startswith("group:") or f'id="{unit}"' in _svg(at) for unit in index)
    bn = at.selectbox(key="sel_bn::sample:densenet").options[0]
    at.selectbox(key="sel_bn::sample:densenet").set_value(bn).run()
    at.button_group(key=f"{vk}:view").set_value("Focus").run()
    _no_exceptions(at)
    assert "focus:" in _data(at)["svg"] or "focus:" in _svg(at)
    at.button_group(key=f"{vk}:layout").set_value("Left-right").run()
    _no_exceptions(at)
    assert _data(at)["rankdir"] == "LR"


def test_focus_view_draws_every_node_the_explanation_names():
    """A far-away blocker (issue 16.8) is in the focus view and has a "go to" link."""
    import inspector
    from inspector.explain import named_nodes
    from inspector.folding.driver import compare_modes
    from inspector.render.status import compute_statuses

    loaded = inspector.load("sample:densenet")
    analyses = compare_modes(loaded.graph)
    statuses = compute_statuses(loaded.graph, analyses["optimal"], analyses["adjacent"])
    # the kept BN whose named nodes lie furthest apart
    bn = max((b for b, s in statuses.items() if s.status == "not_foldable"),
             key=lambda b: len(named_nodes(loaded.graph, statuses[b])))
    at = _app("densenet")
    vk = "inspect_view::sample:densenet"
    at.selectbox(key="sel_bn::sample:densenet").set_value(bn).run()
    at.button_group(key=f"{vk}:view").set_value("Focus").run()
    at.slider(key=f"{vk}:hops").set_value(1).run()
    _no_exceptions(at)
    svg = _svg(at)
    named = named_nodes(loaded.graph, statuses[bn])
    assert named and all(f'id="{nid}"' in svg for _role, nid in named)
    pills = at.button_group(key=f"goto_pick::sample:densenet::{bn}")
    assert len(pills.options) == len({n for _r, n in named})
    target = named[0][1]
    pills.set_value(target).run()
    _no_exceptions(at)
    assert _data(at)["goto"]["id"] == target


# -- Fold ---------------------------------------------------------------------
def test_fold_page_applies_and_verifies():
    at = _app("densenet")
    at.switch_page("inspector/ui/pages/fold.py").run()
    _no_exceptions(at)
    at.button(key="fold_apply").click().run()
    _no_exceptions(at)
    assert at.success and "Verification passed" in at.success[0].value
    m = _metrics(at)
    assert m["BN layers"].startswith("15 → ")
    assert float(m["Max rel error"]) < 1e-4
    labels = [b.label for b in at.get("download_button")]
    assert any(".pt2" in x for x in labels) and any(".onnx" in x for x in labels)
    assert "JSON report" in labels and "Annotated SVG (optimal)" in labels
    assert len(at.get("plotly_chart")) >= 3  # a/c, norms, relative changes
    assert len(at.get("bidi_component")) == 2  # before / after
    at.button_group(key="fold_mode").set_value("adjacent").run()
    at.button(key="fold_apply").click().run()
    _no_exceptions(at)
    assert "Verification passed" in at.success[0].value


def test_fold_before_after_starts_on_an_optimal_only_bn_and_marks_changed_layers(
        densenet_reference):
    _loaded, _analyses, statuses = densenet_reference
    at = _app("densenet")
    at.switch_page("inspector/ui/pages/fold.py").run()
    at.button(key="fold_apply").click().run()
    _no_exceptions(at)
    center = at.selectbox(key="ba_center::sample:densenet::optimal").value
    assert statuses[center].status == "optimal_only"
    after = _svg(at, 1)
    assert 'class="node op expressive op-conv changed' in after and "changed: weights" in after


# -- Timing -------------------------------------------------------------------
def test_timing_page_on_a_tiny_model():
    at = _app("conv_bn_relu")
    at.switch_page("inspector/ui/pages/timing.py").run()
    _no_exceptions(at)
    at.toggle(key="timing_adaptive").set_value(False)
    at.slider(key="timing_repeats").set_value(5)
    at.slider(key="timing_warmup").set_value(1)
    at.button[0].click().run()
    _no_exceptions(at)
    table = at.dataframe[0].value
    assert len(table) == 5 and (table["median (ms)"] > 0).all()
    assert any("not equivalent" in v for v in table["variant"])
    assert len(at.get("plotly_chart")) == 2


# -- Learn: tests/test_learn.py ---------------------------------------------------


# -- Model picker ---------------------------------------------------------------
def test_switching_the_source_keeps_the_loaded_model():
    at = _app("densenet")
    at.radio(key="model_source").set_value("Upload").run()
    _no_exceptions(at)
    assert _metrics(at)["BN layers"] != "" and "<desc>sample:densenet" in _svg(at)
    at.radio(key="model_source").set_value("Model zoo").run()
    assert "<desc>sample:densenet" in _svg(at)
    at.radio(key="model_source").set_value("Sample").run()
    assert "<desc>sample:densenet" in _svg(at)
    at.selectbox(key="sample_name").set_value("resnet").run()
    _no_exceptions(at)
    assert "<desc>sample:resnet" in _svg(at)


def test_mistyped_zoo_name_offers_clickable_close_matches():
    pytest.importorskip("torchvision")
    at = _app()
    at.radio(key="model_source").set_value("Model zoo").run()
    names = at.selectbox(key="zoo_name").options
    assert "torchvision:densenet121" in names and len(names) > 50  # a searchable list
    # a name typed in the free box (AppTest cannot type into a selectbox: set the state
    # while the box is not drawn)
    at.radio(key="model_source").set_value("Sample").run()
    at.session_state["zoo_name"] = "torchvision:resnet1"
    at.radio(key="model_source").set_value("Model zoo").run()
    _no_exceptions(at)
    assert at.main.error and "resnet1" in at.main.error[0].value
    assert "<desc>sample:showcase" in _svg(at)  # the previous model stays
    match = next(b for b in at.main.button if b.key.startswith("match::main::"))
    match.click().run()
    _no_exceptions(at)
    assert at.session_state["zoo_name"] == f"torchvision:{plain(match.label)}"
    assert not at.main.error


# -- Uploads ------------------------------------------------------------------
def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.radio(key="model_source").set_value("Upload").run()
    at.file_uploader(key="upload").set_value((name, data, "application/octet-stream")).run()
    return at


def test_invalid_uploads_show_friendly_errors(tmp_path):
    at = _upload(_app(), "broken.onnx", b"this is not an onnx file")
    _no_exceptions(at)
    assert len(at.sidebar.error) == 1 and "broken.onnx" in plain(at.sidebar.error[0].value)
    assert len(at.main.error) == 1 and "broken.onnx" in plain(at.main.error[0].value)
    assert "Traceback" not in at.error[0].value
    marker = tmp_path / "unpickled"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    at = _upload(_app(), "evil.pt2", pickle.dumps(Evil()))
    _no_exceptions(at)
    assert at.error and "evil.pt2" in plain(at.error[0].value)
    assert not marker.exists(), "an uploaded file was unpickled"


def test_valid_onnx_upload_is_analysed(tmp_path):
    import inspector

    loaded = inspector.load("sample:conv_bn_relu")
    path = tmp_path / "tiny.onnx"
    loaded.frontend.save(loaded.model, str(path), loaded)
    at = _upload(_app(), "tiny.onnx", path.read_bytes())
    _no_exceptions(at)
    assert _metrics(at)["BN layers"] == "1"
    at.switch_page("inspector/ui/pages/fold.py").run()
    at.button(key="fold_apply").click().run()
    _no_exceptions(at)
    labels = [b.label for b in at.get("download_button")]
    assert any(".onnx" in x for x in labels) and not any(".pt2" in x for x in labels)
    at.switch_page("inspector/ui/pages/timing.py").run()
    assert at.button_group(key="timing_backends").options == ["onnxruntime (CPU)"]
    at.toggle(key="timing_adaptive").set_value(False)
    at.slider(key="timing_repeats").set_value(5)
    at.button[0].click().run()
    _no_exceptions(at)
    assert len(at.dataframe[0].value) == 5


def test_valid_pt2_upload_is_loaded_with_torch_export(tmp_path):
    import inspector

    loaded = inspector.load("sample:conv_bn_relu")
    path = tmp_path / "tiny.pt2"
    loaded.frontend.save(loaded.model, str(path), loaded)
    at = _upload(_app(), "tiny.pt2", path.read_bytes())
    _no_exceptions(at)
    assert not at.error and _metrics(at)["BN layers"] == "1"
    assert any("tiny.pt2" in plain(c.value) and "torch" in c.value for c in at.sidebar.caption)


# -- Without Graphviz -----------------------------------------------------------
def test_graphs_fall_back_to_browser_layout_without_dot(monkeypatch):
    from inspector.ui import exports, graph_view

    monkeypatch.setattr(graph_view, "dot_available", lambda: False)
    monkeypatch.setattr(exports, "dot_available", lambda: False)
    at = _app("densenet")
    charts = at.get("graphviz_chart")
    assert charts and not at.get("bidi_component")
    spec = charts[0].proto.spec
    assert "status-optimal_only" in spec and STATUS_COLORS["both"].fill in spec
    assert any("apt-get install graphviz" in c.value for c in at.caption)
