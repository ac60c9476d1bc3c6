"""inspector.quant: int8 weight figures against a hand-computed example, and a fold's impact."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inspector.folding.driver import analyze
from inspector.quant import (
    quant_impact,
    quant_report,
    quantize_int8,
    sqnr_db,
    summary_lines,
    weight_figures,
)
from tests.graph_factory import GraphBuilder

# Two output channels. Per tensor the scale is 127/127 = 1: codes 127, 0, 3, -1,
# errors 0, 0.4, 0.4, 0. Per channel, row 1 has scale 2.6/127: -1 -> code -49,
# back to -49*2.6/127 = -1.0031496..., error 0.0031496...
W = np.array([[127.0, 0.4], [2.6, -1.0]])
POWER = 127.0**2 + 0.4**2 + 2.6**2 + 1.0**2  # 16136.92


def test_per_tensor_int8_matches_the_hand_computed_codes():
    assert quantize_int8(W, per_channel=False) == pytest.approx(np.array([[127.0, 0.0], [3.0, -1.0]]))


def test_per_channel_int8_uses_each_rows_own_scale():
    q = quantize_int8(W, per_channel=True)
    assert q[1] == pytest.approx([2.6, -49 * 2.6 / 127])
    assert q[0] == pytest.approx([127.0, 0.0])


def test_figures_match_the_hand_computed_example():
    f = weight_figures(W)
    assert f.ranges == pytest.approx([127.0, 2.6])
    assert f.spread == pytest.approx(127.0 / 2.6)
    assert f.sqnr_tensor_db == pytest.approx(10 * math.log10(POWER / (0.4**2 + 0.4**2)))
    err = 49 * 2.6 / 127 - 1.0
    assert f.sqnr_channel_db == pytest.approx(10 * math.log10(POWER / (0.4**2 + err**2)))


def test_exact_quantization_has_infinite_sqnr_and_zero_channels_do_not_count_in_the_spread():
    f = weight_figures(np.array([[127.0, -127.0], [0.0, 0.0]]))
    assert f.sqnr_tensor_db == math.inf and f.spread == pytest.approx(1.0)
    assert math.isnan(sqnr_db(np.zeros(3), np.zeros(3)))


def _conv_bn(scales: list[float]):
    """input -> conv (equal channels) -> BN with a_k = scales[k] -> output."""
    b = GraphBuilder(seed=3)
    x = b.input((1, 2, 4, 4))
    y = b.conv(x, len(scales), k=1, name="conv")
    z = b.bn(y, name="bn")
    b.output(z)
    graph = b.build()
    conv = graph.find("conv")
    conv.params["weight"][:] = np.linspace(-1.0, 1.0, 2).reshape(1, 2, 1, 1) + 0.3
    bn = graph.find("bn")
    eps = float(bn.attrs.get("eps", 1e-5))
    bn.params["var"][:] = 1.0 - eps
    bn.params["gamma"][:] = np.asarray(scales)
    return graph


# One channel scaled 100x, fifteen left alone: the per-tensor scale grows 100x
# (noise x 10^4) while the signal power grows only (100^2 + 15) / 16 ~ 626x:
# about 12 dB lost.
WIDE = [100.0] + [1.0] * 15


def test_folding_a_widely_varying_scale_drops_per_tensor_sqnr_and_is_flagged():
    analysis = analyze(_conv_bn(WIDE), "optimal")
    [layer] = quant_impact(analysis)
    assert layer.name == "conv"
    assert layer.before.spread == pytest.approx(1.0) and layer.after.spread == pytest.approx(100.0)
    expected = 10 * math.log10(1e4 / ((100.0**2 + 15) / 16))
    assert layer.tensor_drop_db == pytest.approx(expected, abs=1.5)
    assert layer.flagged


def test_per_channel_sqnr_does_not_change_when_channels_are_only_scaled():
    analysis = analyze(_conv_bn(WIDE), "optimal")
    [layer] = quant_impact(analysis)
    assert layer.channel_drop_db == pytest.approx(0.0, abs=1e-6)


def test_uniform_scale_is_not_flagged():
    analysis = analyze(_conv_bn([2.0, 2.0, 2.0]), "optimal")
    [layer] = quant_impact(analysis)
    assert not layer.flagged and layer.tensor_drop_db == pytest.approx(0.0, abs=1e-6)


def test_report_section_is_json_ready_and_lists_flagged_layers():
    import json

    section = quant_report(analyze(_conv_bn(WIDE), "optimal"))
    assert section["flagged"] == ["conv"]
    json.dumps(section, allow_nan=False)
    assert any("FLAG conv" in line for line in summary_lines(section))


def test_cli_quant_report_adds_the_section_and_summary_lines(capsys):
    import json

    from inspector.cli import main

    assert main(["analyze", "sample:conv_bn_relu", "--json", "-", "--quant-report"]) == 0
    out = capsys.readouterr()
    report = json.loads(out.out)
    layers = report["quantization"]["layers"]
    assert [q["name"] for q in layers] == [x for layer in report["layers"] for x in layer["roots"]]
    assert "int8 weight quantization" in out.err


def test_cli_without_the_flag_has_no_quantization_key(capsys):
    import json

    from inspector.cli import main

    assert main(["analyze", "sample:conv_bn_relu", "--json", "-"]) == 0
    assert "quantization" not in json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_fold_page_shows_the_quantization_impact_of_every_changed_layer():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"),
                           default_timeout=180).run()
    at.selectbox(key="sample_name").set_value("conv_bn_relu").run()
    at.switch_page("inspector/ui/pages/fold.py").run()
    at.button(key="fold_apply").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("Quantization impact" in h.value for h in at.subheader)
    tables = [d.value for d in at.dataframe if "per-tensor dB" in d.value.columns]
    assert len(tables) == 1 and list(tables[0]["layer"]) == ["conv"]
    assert len(at.get("plotly_chart")) >= 1
