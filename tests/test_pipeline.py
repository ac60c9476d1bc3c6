"""fold(): write-back, verification, and rollback of a fold that does not verify."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from inspector.errors import VerificationError
from inspector.folding.pipeline import fold
from inspector.model import InputSpec, LoadedModel
from tests.graph_factory import GraphBuilder
from tests.numpy_frontend import numpy_adapter


def corrupting_write_back(corrupt: str | None = None):
    """A write-back of the IR itself; any write-back that removes BN ``corrupt`` also
    perturbs a bias, standing in for a wrong fold rule."""

    def write_back(loaded, folded, removed, changed):
        if corrupt in removed:
            node = next(n for n in folded if n.op == "conv")
            bias = node.params["bias"] + 1.0
            folded = folded.with_nodes({node.id: replace(node, params={**node.params, "bias": bias})})
        return folded

    return write_back


def two_block_model(corrupt: str | None = None) -> LoadedModel:
    b = GraphBuilder(seed=5)
    x = b.input((1, 3, 6, 6))
    y = b.relu(b.bn(b.conv(x, 4)))
    b.output(b.relu(b.bn(b.conv(y, 4))))
    graph = b.build()
    return LoadedModel("two_blocks", graph, "numpy", graph, [InputSpec("x", (1, 3, 6, 6), "float64")],
                       numpy_adapter(corrupting_write_back(corrupt), per_tensor=False))


def test_fold_returns_verified_model():
    result = fold(two_block_model(), "optimal")
    assert result.verification.passed and result.verification.max_rel_error < 1e-12
    assert result.analysis.folded_count == 2 and result.rolled_back == []


def test_fold_leaves_the_original_untouched():
    loaded = two_block_model()
    before = {n.id: {k: v.copy() for k, v in n.params.items()} for n in loaded.graph}
    fold(loaded, "optimal")
    for n in loaded.graph:
        for k, v in n.params.items():
            np.testing.assert_array_equal(v, before[n.id][k])


def test_a_fold_that_does_not_verify_is_rolled_back():
    result = fold(two_block_model(corrupt="bn2"), "optimal")
    assert result.rolled_back == ["bn2"]
    assert result.verification.passed
    verdict = result.analysis.verdicts["bn2"]
    assert verdict.status == "not_foldable" and verdict.reason_code.value == "verification_failed"
    assert result.analysis.verdicts["bn1"].folded


def test_unisolable_failure_raises_instead_of_returning_a_wrong_model():
    loaded = two_block_model(corrupt="bn1")
    with pytest.raises(VerificationError):
        fold(loaded, "optimal", max_rollbacks=0)


def test_progress_is_reported_to_the_callback():
    seen = []
    fold(two_block_model(), "adjacent", progress=lambda msg, frac: seen.append(frac))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)


def test_timings_report_the_analysis_time_of_an_analysis_passed_in():
    from inspector.folding.driver import analyze

    loaded = two_block_model()
    analysis = analyze(loaded.graph, "optimal")
    result = fold(loaded, "optimal", analysis=analysis)
    assert result.timings["analyze_s"] == analysis.seconds > 0


def test_timings_count_every_re_analysis_after_a_roll_back():
    result = fold(two_block_model(corrupt="bn2"), "optimal")
    assert result.rolled_back == ["bn2"]
    assert result.timings["analyze_s"] > result.analysis.seconds


def chain_model(blocks: int, corrupt: str | None) -> LoadedModel:
    b = GraphBuilder(seed=7)
    x = b.input((1, 3, 5, 5))
    for _ in range(blocks):
        x = b.bn(b.conv(x, 3))  # linear: a wrong fold anywhere reaches the output
    b.output(x)
    graph = b.build()

    def write_back(loaded, folded, removed, changed):  # a wrong rule for BN ``corrupt`` only
        if corrupt in removed:
            conv = graph.producer(graph.node(corrupt).inputs[0])
            node = folded.node(conv.id)
            folded = folded.with_nodes({conv.id: replace(node, params={**node.params,
                                                                       "weight": -node.params["weight"]})})
        return folded

    return LoadedModel("chain", graph, "numpy", graph, [InputSpec("x", (1, 3, 5, 5), "float64")],
                       numpy_adapter(write_back, per_tensor=False))


@pytest.mark.parametrize("culprit", ["bn1", "bn17", "bn40"])
def test_a_planted_wrong_fold_is_found_by_a_binary_search_and_rolled_back(monkeypatch, culprit):
    from inspector.folding import pipeline

    probes = []
    real = pipeline.verify
    monkeypatch.setattr(pipeline, "verify", lambda *a, **k: probes.append(k.get("trials")) or real(*a, **k))
    result = fold(chain_model(40, culprit), "optimal")
    assert result.rolled_back == [culprit] and result.verification.passed
    assert result.analysis.verdicts[culprit].reason_code.value == "verification_failed"
    assert result.analysis.folded_count == 39
    # 2 full verifications + the search's one-trial probes: log2(40) ~ 6, not up to 40.
    assert probes.count(1) <= 7 and len(probes) - probes.count(1) == 2
