"""The Fold page in every mode (issue 16): merged convs are changed layers, the
before/after compares one region at one scale, the quantization view and the SVG
download follow the applied mode, and the page's figures agree with the library."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

pytestmark = pytest.mark.slow  # Streamlit AppTests

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 240
SAMPLE = "repvgg"  # RepVGG training form: 18 BN, all removed by reparam (4 only by merging)


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.fixture(scope="module")
def folded():
    """The Fold page after Apply in mode reparam, and the library's fold of the same model."""
    import inspector

    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.selectbox(key="sample_name").set_value(SAMPLE).run()
    at.switch_page("inspector/ui/pages/fold.py").run()
    at.button_group(key="fold_mode").set_value("reparam").run()
    at.button(key="fold_apply").click().run()
    _no_errors(at)
    result = inspector.fold(inspector.load(f"sample:{SAMPLE}"), "reparam")
    assert result.analysis.merges and result.analysis.merged_count
    return at, result


def test_reparam_fold_lists_merged_convs_as_changed_layers(folded):
    from inspector.diffs import layer_diffs

    at, result = folded
    diffs = layer_diffs(result.analysis)
    merged = [d for d in diffs if d.merged_from]
    assert len(merged) == len(result.analysis.merges) > 0
    text = " ".join(m.value for m in at.markdown)
    assert f"**{len(diffs)} layers changed**" in text and "0 layers changed" not in text
    table = at.dataframe[1].value  # [0] is the per-mode table
    assert {d.name for d in merged} <= set(table["layer"])
    row = table[table["layer"] == merged[0].name].iloc[0]
    assert row["role"] == f"merged: {len(merged[0].merged_from)} convs"


def test_merged_conv_norms_compare_the_regions_convs_with_the_merged_conv(folded):
    import numpy as np

    from inspector.diffs import layer_diffs

    _at, result = folded
    a = result.analysis
    d = next(d for d in layer_diffs(a) if d.merged_from)
    convs = [n for n in a.graph.nodes if n.name in d.merged_from]
    joint = np.sqrt(sum(np.sum(np.asarray(c.params["weight"], dtype=np.float64).reshape(
        c.params["weight"].shape[0], -1) ** 2, axis=1) for c in convs))
    np.testing.assert_allclose(d.norm_before, joint)
    w = np.asarray(a.folded.node(d.id).params["weight"], dtype=np.float64)
    np.testing.assert_allclose(d.norm_after, np.linalg.norm(w.reshape(w.shape[0], -1), axis=1))


def test_quantization_view_includes_the_merged_convs(folded):
    from inspector.diffs import layer_diffs

    at, result = folded
    merged = {d.name for d in layer_diffs(result.analysis) if d.merged_from}
    quant = next(df.value for df in at.dataframe if "per-tensor dB" in df.value.columns)
    assert merged <= set(quant["layer"])
    assert "No layer with a weight tensor changed" not in " ".join(i.value for i in at.info)


def test_before_after_focuses_a_merged_region_on_both_sides_at_one_scale(folded):
    from inspector.diffs import compare_region

    at, result = folded
    a = result.analysis
    merge = a.merges[0]
    at.selectbox(key=f"ba_center::sample:{SAMPLE}::reparam").set_value(merge.conv_id).run()
    _no_errors(at)
    graphs = [json.loads(c.proto.json) for c in at.get("bidi_component")]
    assert len(graphs) == 2, "the before and after graphs"
    before, after = graphs
    _, after_ids, focus = compare_region(a, merge.conv_id, at.slider(key="ba_hops").value)
    assert focus == merge.conv_id and after["focus"] == merge.conv_id
    assert f'id="{merge.conv_id}"' in after["svg"]
    for nid in merge.nodes:  # the region itself is drawn before, and gone after
        assert f'id="{nid}"' in before["svg"] and nid not in after_ids
    # the same scale on both sides, 11-pt labels at >= 11 px, no minimap over the nodes
    assert before["zoom"] == after["zoom"] >= 11 / 9  # 9-pt input/output labels >= 11 px
    assert before["minimap"] == "off" and after["minimap"] == "off"
    assert _drawn(after["svg"]) == after_ids  # exactly the region, nothing from elsewhere


def _drawn(svg: str) -> set[str]:
    """Ids of the model nodes an SVG draws (not the ``…`` stubs)."""
    return {i for i in re.findall(r'<g id="([^"]+)" class="node', svg) if not i.startswith("stub:")}


def test_before_after_of_a_bn_folded_then_merged_has_no_error(folded):
    at, result = folded
    a = result.analysis
    bn = next(s.bn for s in a.steps if not a.folded.has_node(s.bn))  # merged away after its fold
    at.selectbox(key=f"ba_center::sample:{SAMPLE}::reparam").set_value(bn).run()
    _no_errors(at)
    after = json.loads(at.get("bidi_component")[1].proto.json)
    conv = next(m.conv_id for m in a.merges if bn in m.nodes)
    assert after["focus"] == conv and f'id="{conv}"' in after["svg"]


def test_svg_download_is_coloured_by_the_applied_mode(folded):
    from inspector.ui import state
    from inspector.ui.exports import export_dot

    at, result = folded
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Annotated SVG (reparam)" in labels
    ctx = state.ModelContext(f"sample:{SAMPLE}", result.loaded,
                             {"adjacent": result.analysis, "optimal": result.analysis,
                              "reparam": result.analysis}, {})
    assert "status-merged" in export_dot(ctx, analysis=result.analysis)


# -- one count of each thing (issue 16.2) ---------------------------------------
def _legend_counts(data: dict) -> dict[str, int]:
    return {row["label"]: row["count"] for row in data["legend"]}


@pytest.mark.parametrize("mode", ["optimal", "reparam"])
def test_inspect_metrics_legend_and_title_give_the_same_counts(mode):
    import re as _re

    from inspector.render.status import MERGED, NOT_FOLDABLE, STATUS_COLORS

    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.selectbox(key="sample_name").set_value(SAMPLE).run()
    at.button_group(key="inspect_mode").set_value(mode).run()
    _no_errors(at)
    metrics = {m.label: m.value for m in at.metric}
    data = json.loads(at.get("bidi_component")[0].proto.json)
    not_foldable_fills = {c.fill for k, c in STATUS_COLORS.items() if k.startswith(NOT_FOLDABLE)}
    legend_kept = sum(r["count"] for r in data["legend"] if r["fill"] in not_foldable_fills)
    title = _re.search(r"<title>([^<]*)</title>", data["svg"]).group(1)
    title_kept = int(_re.search(r"(\d+) not foldable", title).group(1))
    assert int(metrics["Not foldable"]) == legend_kept == title_kept
    if mode == "reparam":
        legend_merged = sum(r["count"] for r in data["legend"] if r["fill"] == STATUS_COLORS[MERGED].fill)
        assert int(metrics["Merged"]) == legend_merged == int(_re.search(r"(\d+) merged", title).group(1)) > 0
        assert int(metrics["Not foldable"]) == 0
        assert "by reparam" in title and "by optimal" not in title  # each count names its mode


def test_inspect_fold_and_cli_count_nodes_the_same_way(folded, capsys):
    from inspector.cli import main
    from inspector.report import mode_summary, node_count

    at, result = folded
    n = node_count(result.loaded.graph)
    assert n == len(result.loaded.graph) - 2  # one input, one output: not nodes of the file
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    unit = result.loaded.frontend.node_unit
    assert f" {n} {unit} " in sidebar
    m = {x.label: x.value for x in at.metric}
    assert m["Nodes"].startswith(f"{n} → ")
    assert mode_summary(result.analysis)["nodes_before"] == n
    assert main(["analyze", f"sample:{SAMPLE}"]) == 0
    assert capsys.readouterr().out.startswith(f"sample:{SAMPLE}: 18 BN, {n} {unit}\n")


# -- progress by stage (issue 16.13) --------------------------------------------
def test_fold_reports_each_stage_and_every_compared_tensor():
    import inspector

    heard: list[tuple[str, float]] = []
    result = inspector.fold(inspector.load("sample:densenet"), "optimal",
                            progress=lambda msg, frac: heard.append((msg, frac)))
    messages = [m for m, _ in heard]
    fractions = [f for _, f in heard]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(m.startswith("writing back: ") and f"{len(result.analysis.steps)} BN removed" in m
               for m in messages)
    assert "verifying: running the original model" in messages
    assert any(m.startswith("verifying: running the folded model on input set 1 of ") for m in messages)
    compared = [m for m in messages if m.startswith("verifying: comparing tensor ")]
    assert len(compared) >= 10 and compared[0].startswith("verifying: comparing tensor 1 of ")


def test_fold_page_shows_the_stages_in_a_status_box():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.selectbox(key="sample_name").set_value("densenet").run()
    at.switch_page("inspector/ui/pages/fold.py").run()
    at.button(key="fold_apply").click().run()
    _no_errors(at)
    box = at.status[0]
    assert box.label.startswith("Folded `optimal` in ") and box.state == "complete"
    lines = [m.value for m in box.markdown]
    assert any("writing back" in x for x in lines)
    assert any("running the folded model on input set 1" in x for x in lines)
    assert any(re.search(r"comparing \d+ shared tensors one by one", x) for x in lines)


#: Measured in Chromium (canvas measureText, Source Sans 14 px, the table font):
#: digits are 7.2 px, node names average 6.0–6.6 px a character, ``→``/``⚠`` 8.7/12.6;
#: a cell pads 8 px a side.
DIGIT_PX, LETTER_PX, OTHER_PX, CELL_PAD = 7.2, 6.6, 8.7, 16
MAIN_WIDTH = 820  # the main column at 1280 × 800


def _needed_px(text: str) -> float:
    return CELL_PAD + sum(DIGIT_PX if c.isdigit() else LETTER_PX if c.isascii() else OTHER_PX
                          for c in text)


def _assert_fits_1280(table) -> None:
    """Every column of an ``st.dataframe`` as wide as its longest text, all together
    no wider than the main column at 1280 px (nothing out of sight, nothing cut)."""
    config = json.loads(table.proto.columns)
    widths = {c: config[c]["width"] for c in table.value.columns}
    for col, width in widths.items():
        fmt = config[col].get("type_config", {}).get("format")
        texts = [col] + [fmt % v if fmt and v is not None and v == v else str(v) for v in table.value[col]]
        longest = max(texts, key=_needed_px)
        assert width >= _needed_px(longest), (col, width, longest)
    assert sum(widths.values()) <= MAIN_WIDTH, widths


def test_quantization_table_columns_fit_their_longest_text_at_1280(folded):
    at, _result = folded
    _assert_fits_1280(next(df for df in at.dataframe if "per-tensor dB" in df.value.columns))


def test_changed_layers_table_fits_1280_with_a_short_role_per_layer(folded):
    at, result = folded
    table = at.dataframe[1]  # [0] is the per-mode table
    assert list(table.value.columns)[:3] == ["layer", "op", "role"]
    assert any(r.startswith("merged: ") for r in table.value["role"])
    _assert_fits_1280(table)


def test_inspect_bn_table_fits_1280_with_root_and_leaf_counts():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.selectbox(key="sample_name").set_value("densenet").run()
    _no_errors(at)
    table = next(df for df in at.dataframe if "reason" in df.value.columns)
    assert table.value["roots"].dtype.kind == "i" and table.value["roots"].max() >= 1
    _assert_fits_1280(table)
