"""A merge that breaks a runtime fusion is refused, with a reason (issue 15, "Done when")."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace as dc_replace

import pytest

from inspector.analysis.verdict import Status
from inspector.folding.driver import analyze
from inspector.folding.pipeline import fold
from inspector.frontends.onnx import load_onnx
from inspector.report import build_report
from sample_models.catalogue_reparam import RepVGGBlock

from .test_activation_patterns import GeluThenRepVGG, _detector_off, load_both


def _ops(model) -> Counter:
    return Counter(n.op_type for n in model.graph.node)


def test_without_the_detector_the_merge_swallows_the_gelu_half(monkeypatch):
    _detector_off(monkeypatch)
    loaded = load_both(GeluThenRepVGG())[1]
    (merge,) = analyze(loaded.graph, "reparam").merges
    assert "/Mul_1" in [loaded.graph.node(n).name for n in merge.nodes]  # the case the check must catch


def test_a_merge_that_breaks_the_gelu_fusion_is_refused_and_a_smaller_one_taken(monkeypatch):
    _detector_off(monkeypatch)
    loaded = load_both(GeluThenRepVGG())[1]
    result = fold(loaded, "reparam")
    assert result.merge_refused == [{"merged_name": "merged:/block/Add_1", "nodes": ["/Mul_1"],
                                     "fusions_lost": "Gelu 1 → 0"}]
    assert result.runtime["fusions_lost"] == {}  # re-checked: the folded file keeps the fusion
    assert result.verification.passed
    (merge,) = result.analysis.merges  # the block still merges, without the GELU's 0.5
    assert "/Mul_1" not in [loaded.graph.node(n).name for n in merge.nodes]
    assert result.analysis.remaining_count == 0
    assert _ops(result.model)["Conv"] == 2


def test_the_refused_merge_is_in_the_report_and_the_cli_summary(monkeypatch, capsys):
    from inspector.cli import _summary

    _detector_off(monkeypatch)
    report = build_report(fold(load_both(GeluThenRepVGG())[1], "reparam"))
    assert report["merge_refused"][0]["fusions_lost"] == "Gelu 1 → 0"
    _summary(report, [], None)
    out = capsys.readouterr().out
    assert "1 merge(s) refused for breaking a fusion" in out
    assert "merge refused (Gelu 1 → 0): /Mul_1 kept out of `merged:/block/Add_1`" in out


def test_a_merge_that_keeps_every_fusion_is_checked_and_kept():
    result = fold(load_both(GeluThenRepVGG())[1], "reparam")
    assert result.merge_refused == [] and result.fusion_refused == []
    assert result.runtime["fusions_lost"] == {}
    assert len(result.analysis.merges) == 1 and result.analysis.remaining_count == 0


def _add_is_fused(loaded, folded):
    """A runtime that (pretend) fuses every Add: a merge that removes one loses a fused op."""
    original = loaded.model
    before, after = _ops(original)["Add"], _ops(folded)["Add"]
    lost = {"FusedAdd": [before, after]} if after < before else {}
    return {"runtime": "fake", "level": "test", "nodes_before": len(original.graph.node),
            "nodes_after": len(folded.graph.node), "fusions_lost": lost}


def test_when_its_scalars_are_not_enough_the_whole_region_stays_unmerged_with_its_reason():
    loaded = load_both(RepVGGBlockOnly())[1]
    loaded = dc_replace(loaded, frontend=dc_replace(loaded.frontend, runtime_check=_add_is_fused))
    result = fold(loaded, "reparam")
    assert not result.analysis.merges and result.runtime["fusions_lost"] == {}
    assert len(result.merge_refused) == 1 and result.merge_refused[0]["fusions_lost"] == "FusedAdd 2 → 0"
    assert result.verification.passed and _ops(result.model)["Add"] == 2
    kept = [v for v in result.analysis.verdicts.values() if v.status != Status.FOLDED]
    assert kept, "the identity branch's BN has nowhere to fold without the merge"
    assert all("merging them breaks a fusion of the runtime (FusedAdd 2 → 0)" in v.reason for v in kept)


class RepVGGBlockOnly(RepVGGBlock):
    def __init__(self) -> None:
        super().__init__(4, 4)


@pytest.mark.parametrize("mode", ["optimal", "reparam"])
def test_a_fold_before_a_merge_is_still_found_by_the_event_search(monkeypatch, mode):
    """The fold refusal of the GELU's 0.5 (the old step search) still works with merges around."""
    from .test_activation_patterns import gelu_then_bn_without_shift

    _detector_off(monkeypatch)
    result = fold(load_onnx(gelu_then_bn_without_shift()), mode)
    assert result.fusion_refused == ["/bn"] and result.runtime["fusions_lost"] == {}


# -- the PyTorch frontend: the same check on both models' ONNX exports (as `save` writes them) ---
def test_the_pytorch_runtime_check_compares_the_exports_save_writes(tmp_path):
    import onnx

    result = fold(load_both(GeluThenRepVGG())[0], "reparam")
    rt = result.runtime
    assert rt["runtime"] == "onnxruntime" and rt["fusions_lost"] == {}
    assert rt["nodes_after"] < rt["nodes_before"]
    path = result.save(tmp_path / "m.onnx")
    assert rt["file_nodes"][1] == len(onnx.load(str(path)).graph.node)
    assert rt["file_nodes"][1] < rt["file_nodes"][0]


def test_through_pytorch_a_merge_that_breaks_the_gelu_fusion_is_refused(monkeypatch):
    _detector_off(monkeypatch)
    result = fold(load_both(GeluThenRepVGG())[0], "reparam")
    assert [m["fusions_lost"] for m in result.merge_refused] == ["Gelu 1 → 0"]
    assert result.runtime["fusions_lost"] == {} and result.verification.passed
    assert len(result.analysis.merges) == 1 and result.analysis.remaining_count == 0


def test_a_pytorch_model_that_cannot_be_exported_skips_the_check_not_the_fold(monkeypatch):
    import inspector.frontends.pytorch.fusion as torch_fusion

    def no_export(model, args):
        raise RuntimeError("unsupported op")

    monkeypatch.setattr(torch_fusion, "export_onnx", no_export)
    result = fold(load_both(GeluThenRepVGG())[0], "optimal")
    assert result.verification.passed and result.analysis.folded_count == 2
    assert result.runtime == {"error": "the model could not be exported to ONNX for the runtime check: "
                                       "RuntimeError: unsupported op"}


def test_a_pytorch_model_over_the_size_limit_skips_the_check(monkeypatch):
    import inspector.frontends.pytorch.fusion as torch_fusion

    monkeypatch.setattr(torch_fusion, "MAX_NODES", 3)
    result = fold(load_both(GeluThenRepVGG())[0], "optimal")
    assert result.verification.passed
    assert "over 3): exporting it twice would cost too long; the runtime check is skipped" in result.runtime["error"]
