"""Fold page charts and regions without a browser (issue 16.3, 16.12)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("plotly")


def test_unchanged_channels_are_a_count_not_a_bar_at_the_log_floor():
    from inspector.ui.charts import UNCHANGED_BELOW, rel_change_figure

    values = np.concatenate([np.zeros(16000), np.full(5, 1e-17), np.logspace(-3, -1, 40)])
    owners = ["conv1"] * 8000 + ["conv2"] * 8005 + ["conv1"] * 40
    fig = rel_change_figure(values, owners)
    drawn = np.concatenate([np.asarray(t.x, dtype=float) for t in fig.data])
    assert drawn.size == 40 and drawn.min() >= np.log10(UNCHANGED_BELOW)
    assert "16005 unchanged" in fig.layout.title.text and "40 channels changed" in fig.layout.title.text


def test_every_changed_channel_is_drawn_when_none_is_unchanged():
    from inspector.ui.charts import rel_change_figure

    fig = rel_change_figure(np.array([1e-3, 2e-2]), ["a", "b"])
    assert sum(len(t.x) for t in fig.data) == 2 and "all changed" in fig.layout.title.text


def test_before_and_after_regions_are_the_same_nodes_minus_what_the_fold_removed():
    import inspector
    from inspector.diffs import compare_region, region_centres
    from inspector.folding.driver import compare_modes

    loaded = inspector.load("sample:densenet")
    a = compare_modes(loaded.graph, ("optimal",))["optimal"]
    for centre in region_centres(a):
        before, after, focus = compare_region(a, centre, 2)
        assert after == {n for n in before if a.folded.has_node(n)}  # no far-away changed layer
        assert focus == centre and centre in before


def test_focus_view_does_not_pull_in_changed_layers_from_elsewhere():
    import inspector
    from inspector.folding.driver import compare_modes
    from inspector.render.dot import build_view
    from inspector.render.views import neighbourhood

    loaded = inspector.load("sample:densenet")
    a = compare_modes(loaded.graph, ("optimal",))["optimal"]
    bn = a.steps[0].bn
    changed = {nid: "changed: weights" for nid in a.changed}
    view = build_view(a.folded, a, focus=bn, hops=1, changed=changed)
    assert set(view.units) == neighbourhood(a.folded, bn, 1)
