"""Refuse every fold or merge that breaks a fusion of the runtime (DESIGN §3.8).

The frontend's ``runtime_check`` compares what the runtime makes of the original and
the folded model (ONNX: onnxruntime's optimised graphs). When the folded model has
fewer fused ops, :func:`keep_fusions` replays the plan event by event (fold steps and
region merges in the order they happened), finds the first event after which a fused
op is lost (binary search over prefixes) and refuses it: a fold step's BN is never
folded, a merge's region is never merged (first only its non-BN scalars are kept out
of it, then, if that is not enough, all of its nodes). The analysis is redone and
re-verified, until no fused op is lost or no event explains it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..analysis.result import FoldStep
from ..analysis.sentences import fusion_refused_reason, merge_fusion_refused_reason
from ..analysis.verdict import Reason
from ..errors import InspectorError, VerificationError
from ..model import LoadedModel
from ..verification.compare import Verification, verify
from .driver import analyze
from .merge import MergeStep
from .plan import Analysis
from .prefix import first_culprit, prefix_model, write_model


@dataclass
class Guarded:
    """The plan that keeps every fusion: its analysis, model and verification, the runtime
    check of that model (``refused``: culprit -> the fused ops it lost), the BN ids whose
    fold was refused and the merges refused (``{"nodes": names, "fusions_lost": text}``)."""

    analysis: Analysis
    model: Any
    check: Verification
    runtime: dict[str, Any]
    refused: list[str] = field(default_factory=list)
    merges_refused: list[dict[str, Any]] = field(default_factory=list)


def lost_text(lost: dict[str, Any]) -> str:
    """``{"Gelu": [1, 0]}`` -> ``Gelu 1 → 0``."""
    return ", ".join(f"{op} {a} → {b}" for op, (a, b) in lost.items())


def keep_fusions(loaded: LoadedModel, mode: str, analysis: Analysis, model: Any, check: Verification,
                 rolled_back: list[str], max_rollbacks: int) -> Guarded:
    """Refuse the folds and merges that break a fusion of the runtime (module docstring).
    A check that cannot run is advice on speed only: never a reason to fail a fold
    (``runtime == {"error": ...}``)."""
    checker = loaded.frontend.runtime_check
    try:
        runtime = checker(loaded, model)
    except InspectorError as e:
        return Guarded(analysis, model, check, {"error": str(e)})
    out = Guarded(analysis, model, check, runtime)
    unmerged: list[str] = []
    merge_of: dict[str, dict[str, Any]] = {}  # node id kept out of regions -> its refused merge
    refusals: dict[str, Any] = {}
    while out.runtime["fusions_lost"] and len(out.refused) + len(out.merges_refused) < max_rollbacks:
        try:
            culprit = _first_breaking_event(loaded, out.analysis, checker)
        except InspectorError as e:
            out.runtime["error"] = str(e)
            break
        if culprit is None:
            break
        lost = out.runtime["fusions_lost"]
        if isinstance(culprit, FoldStep):
            out.refused.append(culprit.bn)
            refusals[culprit.bn] = lost
        else:
            keep = _unmerged_nodes(loaded, culprit, set(unmerged))
            if not keep:
                break
            unmerged.extend(keep)
            entry = {"merged_name": culprit.conv.name, "nodes": [loaded.graph.node(n).name for n in keep],
                     "fusions_lost": lost_text(lost)}
            out.merges_refused.append(entry)
            merge_of.update(dict.fromkeys(keep, entry))
        analysis = analyze(loaded.graph, mode, exclude=[*rolled_back, *out.refused], unmerged=unmerged)
        model = write_model(loaded, analysis.folded, analysis.removed, analysis.changed, analysis.merges)
        check = verify(loaded, model, steps=analysis.steps, merges=analysis.merge_log)
        if not check.passed:
            raise VerificationError(
                f"the model folded without the folds and merges that break a runtime fusion differs "
                f"from the original (max relative error {check.worst_tensor_rel_error:.2e}). To fix "
                "this, report the model.")
        out.analysis, out.model, out.check = analysis, model, check
        try:
            out.runtime = {**checker(loaded, model), "refused": dict(refusals)}
        except InspectorError as e:
            out.runtime = {"error": str(e), "refused": dict(refusals)}
            break
    out.analysis = _with_fusion_reasons(out.analysis, out.refused, refusals, merge_of)
    return out


def _events(analysis: Analysis) -> list[FoldStep | MergeStep]:
    """Fold steps and merges (``merge_log``) in the order the planner made them."""
    out: list[FoldStep | MergeStep] = []
    pending = sorted(analysis.merge_log, key=lambda m: m.after_steps)
    for i, step in enumerate(analysis.steps):
        while pending and pending[0].after_steps <= i:
            out.append(pending.pop(0))
        out.append(step)
    return out + pending


def _first_breaking_event(loaded: LoadedModel, analysis: Analysis, checker: Any) -> FoldStep | MergeStep | None:
    """The first fold step or merge after which the runtime loses a fused op (binary search
    over prefixes of the plan's events), or None."""
    events = _events(analysis)

    def breaks(k: int) -> bool:
        return bool(checker(loaded, prefix_model(loaded, events[:k]))["fusions_lost"])

    return first_culprit(events, breaks)


def _unmerged_nodes(loaded: LoadedModel, merge: MergeStep, already: set[str]) -> list[str]:
    """The nodes of ``loaded.graph`` to keep out of regions so that ``merge`` is not redone:
    its non-BN scalars (``affine``: where activation patterns live) when some are not kept
    out yet, else every node of it (earlier merged convs stand for their own regions)."""
    own = [n for n in merge.nodes if loaded.graph.has_node(n) and n not in already]
    scalars = [n for n in own if loaded.graph.node(n).op == "affine"]
    return scalars or own


def _with_fusion_reasons(analysis: Analysis, refused: list[str], refusals: dict[str, Any],
                         merge_of: dict[str, dict[str, Any]]) -> Analysis:
    """``analysis`` with every refused BN that stayed in place explained by the fusion it
    broke: its own fold's, else that of the refused merge it was part of."""
    verdicts = dict(analysis.verdicts)
    for bn, v in analysis.verdicts.items():
        if v.removed:
            continue
        if bn in refused:
            ops = lost_text(refusals.get(bn, {}))
            verdicts[bn] = replace(v, reason_code=Reason.FUSED_ACTIVATION, reason=fusion_refused_reason(ops),
                                   details={**v.details, "fusion_lost": ops})
        elif bn in merge_of:
            ops = merge_of[bn]["fusions_lost"]
            verdicts[bn] = replace(v, reason=merge_fusion_refused_reason(ops, v.reason),
                                   details={**v.details, "fusion_lost": ops})
    return replace(analysis, verdicts=verdicts)
