"""The app's ``reparam`` mode (branch merging): Fold page mode, per-mode counts, timing
variant, merged colour and region outline on the Inspect graph."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

pytestmark = pytest.mark.slow  # Streamlit AppTests

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 180
SAMPLE = "repvgg_block"


def _no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def _page(page: str, sample: str = SAMPLE) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.selectbox(key="sample_name").set_value(sample).run()
    at.switch_page(page).run()
    _no_exceptions(at)
    return at


@pytest.fixture(scope="module")
def reparam_reference():
    """Library figures of the sample in every mode."""
    import inspector
    from inspector.report import compare_modes, mode_summary

    loaded = inspector.load(f"sample:{SAMPLE}")
    analyses = compare_modes(loaded.graph, modes=("adjacent", "optimal", "reparam"))
    return loaded, analyses, {m: mode_summary(a) for m, a in analyses.items()}


def test_fold_page_offers_reparam_and_its_fold_verifies(reparam_reference):
    _loaded, _analyses, summaries = reparam_reference
    assert summaries["reparam"]["merged"] > 0
    at = _page("inspector/ui/pages/fold.py")
    modes = at.button_group(key="fold_mode")
    assert "reparam" in modes.options  # short labels that fit at 1280 px; the words in help
    assert "merging parallel branches" in modes.help
    at.button_group(key="fold_mode").set_value("reparam").run()
    at.button(key="fold_apply").click().run()
    _no_exceptions(at)
    assert "Verification passed" in at.success[0].value
    m = {x.label: x.value for x in at.metric}
    s = summaries["reparam"]
    assert m["Convs"] == f"{s['convs_before']} → {s['convs_after']}"
    assert m["Nodes"] == f"{s['nodes_before']} → {s['nodes_after']}"


def test_fold_page_shows_nodes_and_convs_before_and_after_for_every_mode(reparam_reference):
    _loaded, _analyses, summaries = reparam_reference
    at = _page("inspector/ui/pages/fold.py")
    table = at.dataframe[0].value
    assert list(table["mode"]) == ["optimal", "adjacent", "reparam"]
    for _, row in table.iterrows():
        s = summaries[row["mode"]]
        assert row["nodes"] == f"{s['nodes_before']} → {s['nodes_after']}"
        assert row["convs"] == f"{s['convs_before']} → {s['convs_after']}"
        assert row["BN merged"] == s["merged"]


def test_timing_page_times_the_reparam_variant():
    from inspector.bench.timing import VARIANT_LABELS

    at = _page("inspector/ui/pages/timing.py", "conv_bn_relu")
    at.toggle(key="timing_adaptive").set_value(False)
    at.slider(key="timing_repeats").set_value(3)
    at.slider(key="timing_warmup").set_value(1)
    at.button[0].click().run()
    _no_exceptions(at)
    assert VARIANT_LABELS["reparam"] in list(at.dataframe[0].value["variant"])


def _graph_data(at: AppTest) -> dict:
    comps = at.get("bidi_component")
    assert comps, "no graph component rendered"
    return json.loads(comps[0].proto.json)


def test_inspect_colours_merged_bns_and_explains_the_merged_conv(reparam_reference):
    from inspector.render.status import STATUS_COLORS

    _loaded, analyses, _summaries = reparam_reference
    merged = next(b for b, v in analyses["reparam"].verdicts.items() if v.status == "merged")
    conv = analyses["reparam"].verdicts[merged].details["merged_into"]
    at = _page("inspector/ui/pages/inspect.py")
    assert 'status-merged' not in _graph_data(at)["svg"]
    at.button_group(key="inspect_mode").set_value("reparam").run()
    _no_exceptions(at)
    svg = _graph_data(at)["svg"]
    assert "status-merged" in svg and STATUS_COLORS["merged"].fill.lower() in svg.lower()
    at.selectbox(key=f"sel_bn::sample:{SAMPLE}").set_value(merged).run()
    _no_exceptions(at)
    text = " ".join(md.value for md in at.markdown).replace("\u200b", "")  # wrap points
    assert "Merged" in text and conv in text


def test_inspect_outlines_the_merged_region_of_a_merged_bn(reparam_reference):
    _loaded, analyses, _summaries = reparam_reference
    step = analyses["reparam"].merges[0]
    merged = step.bns[0] if step.bns[0] in analyses["reparam"].verdicts else None
    assert merged is not None
    at = _page("inspector/ui/pages/inspect.py")
    at.button_group(key="inspect_mode").set_value("reparam").run()
    roles = _graph_data(at)["roles"][merged]
    assert set(roles["region"]) == set(step.nodes) - {merged}
    assert "root" not in roles
