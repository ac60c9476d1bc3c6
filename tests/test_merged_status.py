"""How a BN removed by merging parallel branches is shown: status, colour, legend, words."""

from __future__ import annotations

import pytest

from inspector.explain import explain
from inspector.folding.driver import analyze
from inspector.frontends import load
from inspector.render.status import (
    MERGED,
    STATUS_COLORS,
    compute_statuses,
    legend_items,
    short_status,
)
from sample_models import onnx_path


@pytest.fixture(scope="module")
def repvgg():
    graph = load(str(onnx_path("repvgg_block"))).graph
    return graph, analyze(graph, "reparam"), analyze(graph, "adjacent")


def _identity(graph):
    return graph.find("identity").id


def test_merged_bn_gets_its_own_status_and_colour(repvgg):
    graph, reparam, adjacent = repvgg
    status = compute_statuses(graph, reparam, adjacent)[_identity(graph)]
    assert status.status == status.color_key == MERGED
    assert STATUS_COLORS[MERGED] not in {c for k, c in STATUS_COLORS.items() if k != MERGED}


def test_merged_tooltip_and_label_name_the_merged_conv(repvgg):
    graph, reparam, _ = repvgg
    status = compute_statuses(graph, reparam)[_identity(graph)]
    conv = reparam.verdicts[_identity(graph)].details["merged_into"]
    assert conv in status.sentence and "merged" in status.sentence
    assert "merged" in short_status(status)


def test_legend_lists_merged_only_when_present():
    assert MERGED in {i.key for i in legend_items({MERGED})}
    assert MERGED not in {i.key for i in legend_items()}


def test_explanation_names_the_merged_conv_and_the_region(repvgg):
    graph, reparam, adjacent = repvgg
    bn = _identity(graph)
    status = compute_statuses(graph, reparam, adjacent)[bn]
    text = " ".join(explain(graph, status, adjacent.verdicts[bn])).replace("\u200b", "")  # wrap points
    assert reparam.verdicts[bn].details["merged_into"] in text
    assert "dense.conv" in text
