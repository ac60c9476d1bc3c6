"""Issue 18.7: analysis and folding scale linearly on long chains and DenseNet-like
blocks, huge views are refused before any layout work, and the scale benchmark's
tables. Complexity is checked by counting Python calls (deterministic), never by
timing."""

from __future__ import annotations

import cProfile
import pickle
import pstats

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import inspector
from benchmarks import scale
from inspector.errors import InvalidGraphError
from inspector.folding.driver import compare_modes
from inspector.render import layout
from inspector.render.dot import DotView


@pytest.fixture(scope="module")
def loaded_models():
    return {(f, n): inspector.load(scale.build_onnx(f, n), name=f"{f}-{n}.onnx")
            for f in ("chain", "dense") for n in (1500, 3000)}


def _calls(fn) -> int:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    return pstats.Stats(prof).total_calls


@pytest.mark.parametrize("family", ["chain", "dense"])
def test_analysis_calls_grow_linearly_with_the_graph(loaded_models, family):
    small, large = loaded_models[family, 1500], loaded_models[family, 3000]
    ratio = _calls(lambda: compare_modes(large.graph)) / _calls(lambda: compare_modes(small.graph))
    size = len(large.graph) / len(small.graph)
    # Linear: ratio ~ size (2). Per-fold graph copies or per-attempt key counts made it ~2x size.
    assert ratio < 1.25 * size, f"{family}: {ratio:.2f}x the calls for {size:.2f}x the nodes"


def test_folded_graph_after_overlay_steps_matches_a_replay(loaded_models):
    m = loaded_models["chain", 3000]
    a = compare_modes(m.graph)["optimal"]
    assert a.folded_count == a.bn_total == 1000
    # structure: the overlay graph after 1000 steps; its node list and lookups agree.
    s = a.structure
    assert [n.id for n in s.nodes] == [n.id for n in m.graph.nodes]
    assert all(s.node(n.id) is n for n in s.nodes)
    assert sum(bool(n.attrs.get("folded_from")) for n in s.nodes) == 1000
    assert [n.op for n in s.nodes] == [n.op for n in a.folded.nodes]  # the full replay
    assert len(s) == len(m.graph)
    assert len(m.graph.bn_nodes()) == 1000  # the input graph is untouched
    again = pickle.loads(pickle.dumps(s))  # the app's caches pickle analyses
    assert [n.op for n in again.nodes] == [n.op for n in s.nodes] and len(again) == len(s)


def test_render_view_refuses_a_view_over_the_limit_without_running_graphviz(monkeypatch):
    import inspector.render.svg as svg

    monkeypatch.setattr(svg, "_run", lambda *a, **k: pytest.fail("Graphviz ran"))
    units = {f"n{i}": f"n{i}" for i in range(layout.MAX_DRAWN_UNITS + 1)}
    with pytest.raises(InvalidGraphError, match="renderer's limit of 5,000.*focus view"):
        svg.render_view(DotView("digraph {}", units))


def test_cli_svg_refuses_a_whole_graph_over_the_limit_before_analysing(monkeypatch, capsys, tmp_path):
    from inspector.cli import main

    monkeypatch.setattr(layout, "MAX_DRAWN_UNITS", 3)
    monkeypatch.setattr(inspector, "compare_modes", lambda *a, **k: pytest.fail("analysed"))
    out = tmp_path / "g.svg"
    code = main(["svg", "sample:resnet", "-o", str(out)])
    err = capsys.readouterr().err
    assert code != 0 and not out.exists()
    assert "nodes to draw, more than the renderer's limit of 3" in err and "Traceback" not in err


def test_benchmark_builds_graphs_of_the_asked_size():
    import onnx

    for family in scale.FAMILIES:
        m = onnx.load_from_string(scale.build_onnx(family, 600))
        assert family != "repvgg" or sum(n.op_type == "Add" for n in m.graph.node) == 2 * 75
        onnx.checker.check_model(m)
        assert 550 <= len(m.graph.node) <= 600
    chain = onnx.load_from_string(scale.build_onnx("chain", 600))
    assert sum(n.op_type == "BatchNormalization" for n in chain.graph.node) == 200


def _row(family, nodes, analyse, fold, peak):
    return {"family": family, "target": nodes, "nodes": nodes, "bns": nodes // 3, "folded": nodes // 3,
            "load_cpu_s": 0.1 * nodes / 1000, "analyze_cpu_s": analyse, "write_back_cpu_s": fold / 2,
            "verify_cpu_s": fold / 2, "peak_mb": peak, "start_mb": 100.0, "verified": True, "state": "passed"}


def test_benchmark_table_and_growth_lines():
    rows = [_row("chain", 1000, 0.1, 1.0, 200.0), _row("chain", 50000, 5.0, 40.0, 800.0),
            {"family": "dense", "target": 50000, "error": "timed out after 900 s"}]
    text = scale.table(rows)
    lines = text.splitlines()
    assert len(lines) == 2 + 3 and all(line.count("|") == lines[0].count("|") for line in lines)
    assert "| chain | 50,000 | 16,666 | 16,666 | 5.00 | 5.00 | – | 20.00 | 20.00 | 40.00 | 800 (100) | yes |" in text
    assert "✗ timed out after 900 s" in lines[-1]
    (growth,) = scale.growth(rows)  # dense has a single (failed) row: no growth line
    assert growth == ("chain (1,000 → 50,000): nodes ×50.0; analysis ×50.0; fold + verify ×40.0; "
                      "peak memory ×4.0")
    rep = [{**_row("repvgg", n, 0.1 * k, 1.0 * k, 100.0 * k), "reparam_cpu_s": 0.2 * k}
           for n, k in ((1000, 1), (5000, 5))]
    assert "| repvgg | 5,000 | 1,666 | 1,666 | 0.50 | 0.50 | 1.00 | 2.50 |" in scale.table(rep)
    assert scale.growth(rep) == ["repvgg (1,000 → 5,000): nodes ×5.0; analysis ×5.0; fold + verify ×5.0; "
                                 "reparam ×5.0; peak memory ×5.0"]


def test_large_graph_verification_uses_one_session_per_model_with_the_same_result(monkeypatch):
    from inspector.folding.pipeline import write_back
    from inspector.frontends.onnx import runtime
    from inspector.verification import compare
    from sample_models import onnx_path

    made = []
    real = runtime.make_session
    monkeypatch.setattr(runtime, "make_session", lambda *a, **k: made.append(1) or real(*a, **k))

    def check(limit: int):
        monkeypatch.setattr(compare, "ONE_SESSION_NODES", limit)
        made.clear()
        loaded = inspector.load(onnx_path("preact_residual"))  # fresh models: no cached session
        a = compare_modes(loaded.graph)["optimal"]
        v = compare.verify(loaded, write_back(loaded, a), steps=a.steps)
        return v, len(made)

    (small, small_sessions), (large, large_sessions) = check(10**9), check(0)
    assert (small_sessions, large_sessions) == (4, 2)
    assert large.passed and large == small  # the same figures, fields and notes


# -- the propagation's fast paths (issue 18.7, DenseNet-like optimal mode) ------------------
_VALUES = st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, float("nan"), float("inf"), 1e-300])


@given(st.lists(_VALUES, min_size=1, max_size=6), st.lists(_VALUES, min_size=1, max_size=6))
@settings(max_examples=300, deadline=None)
def test_identity_and_absorb_checks_match_the_numpy_reference(scale_values, shift_values):
    import numpy as np

    from inspector.analysis.condition import _check_absorb
    from inspector.analysis.result import Transform
    from inspector.analysis.transparency import is_identity
    from inspector.ir import Node

    s, t = np.array(scale_values), np.array(shift_values)
    tr = Transform(1, s, t)
    assert is_identity(tr) == bool(np.all(s == 1.0) and np.all(t == 0.0))
    node = Node("c", "conv", ("x",), ("y",), "c", attrs={"padding": ((1, 1), (1, 1))})
    zero = int(np.sum(s == 0))
    blocked = _check_absorb(node, tr)
    if zero:
        assert blocked is not None and f"zero scale on {zero} channel(s)" in blocked.sentence
    else:  # a non-zero shift meets the zero padding: blocked; else exact
        assert (blocked is not None) == bool(np.any(t != 0))


@given(st.lists(st.integers(0, 59), min_size=1, max_size=80))
@settings(max_examples=60, deadline=None)
def test_derived_graph_lookups_match_a_rebuilt_graph(edits):
    """Graphs derived step by step (overlay, merged into its base past sqrt(N) entries)
    answer every query like a graph rebuilt from the same nodes."""
    from dataclasses import replace

    from inspector.ir import Graph

    g = inspector.load(scale.build_onnx("chain", 60), name="c.onnx").graph
    ids = [n.id for n in g.nodes]
    current = g
    for k, i in enumerate(edits):
        node = current.node(ids[i])
        current = current.with_nodes({node.id: replace(node, name=f"{node.name}~{k}")})
    rebuilt = Graph(nodes=list(current.nodes), tensors=dict(g.tensors))
    for nid in [*ids, "missing"]:
        assert current.has_node(nid) == rebuilt.has_node(nid) == (nid != "missing")
        if nid != "missing":
            assert current.node(nid) is rebuilt.node(nid)
    for t in g.tensors:
        assert current.producer(t) is rebuilt.producer(t) and current.producer_id(t) == rebuilt.producer_id(t)
        assert current.consumers(t) == rebuilt.consumers(t) and current.consumer_ids(t) == rebuilt.consumer_ids(t)
    assert [n.name for n in g.nodes] == [n.name for n in inspector.load(
        scale.build_onnx("chain", 60), name="c.onnx").graph.nodes]  # the input graph untouched


# -- reparam mode on RepVGG-like graphs --------------------------------------------------------
def test_reparam_calls_grow_linearly_with_the_graph():
    from inspector.folding.driver import analyze

    small, large = (inspector.load(scale.build_onnx("repvgg", n), name="r.onnx").graph for n in (1500, 3000))
    ratio = _calls(lambda: analyze(large, "reparam")) / _calls(lambda: analyze(small, "reparam"))
    size = len(large) / len(small)
    # One graph rebuild per merged region and a graph scan per candidate input made it ~3.5x.
    assert ratio < 1.25 * size, f"{ratio:.2f}x the calls for {size:.2f}x the nodes"
    a = analyze(large, "reparam")
    # the conv branches' BNs fold, the identity branch's BN merges: every block is one conv
    assert (a.folded_count, a.merged_count, a.remaining_count, len(a.merges)) == (750, 375, 0, 375)


def _merge_one_by_one(graph, regions):
    from inspector.folding.merge import merge_region

    steps = []
    for r in regions:
        graph, m = merge_region(graph, r)
        steps.append(m)
    return graph, steps


def _same_merge(a, b):
    import numpy as np

    (ga, sa), (gb, sb) = a, b
    assert [(n.id, n.op, n.inputs, n.outputs, n.name) for n in ga.nodes] == \
        [(n.id, n.op, n.inputs, n.outputs, n.name) for n in gb.nodes]
    assert list(ga.tensors) == list(gb.tensors)
    assert [(m.conv_id, m.input, m.output, m.nodes, m.bns) for m in sa] == \
        [(m.conv_id, m.input, m.output, m.nodes, m.bns) for m in sb]
    for m, n in zip(sa, sb):
        assert m.conv.attrs == n.conv.attrs
        for k in m.conv.params:
            np.testing.assert_array_equal(m.conv.params[k], n.conv.params[k])


def test_merging_a_round_of_regions_at_once_equals_merging_them_one_by_one():
    from inspector.analysis.regions import find_regions
    from inspector.folding.merge import merge_regions

    g = inspector.load(scale.build_onnx("repvgg", 400), name="r.onnx").graph
    regions, _ = find_regions(g)
    assert len(regions) == 50
    _same_merge(merge_regions(g, regions), _merge_one_by_one(g, regions))
    # regions whose anchor is a merged conv (a conv alone): the new convs get fresh ids ("#2")
    from inspector.analysis.regions import Region

    merged, steps = merge_regions(g, regions)
    again = [Region(m.input, m.output, (m.conv_id,), m.conv_id) for m in steps[:3]]
    at_once = merge_regions(merged, again)
    _same_merge(at_once, _merge_one_by_one(merged, again))
    assert [m.conv_id for m in at_once[1]] == [f"{m.conv_id}#2" for m in steps[:3]]


@given(st.integers(0, 2**16))
@settings(max_examples=80, deadline=None)
def test_merging_regions_at_once_equals_one_by_one_on_random_graphs(seed):
    from inspector.analysis.regions import find_regions
    from inspector.builders.random_dags import RngDraw, random_dag
    from inspector.folding.merge import merge_regions

    g = random_dag(RngDraw(seed), min_ops=6, max_ops=24, max_bns=8, extended=True)
    regions, _ = find_regions(g)
    _same_merge(merge_regions(g, regions), _merge_one_by_one(g, regions))
