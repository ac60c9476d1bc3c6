"""fold(): analyse, write back, verify, roll back any fold that does not verify."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InspectorError, OutputError, UnsupportedModelError, VerificationError
from ..model import LoadedModel
from ..safe_io import atomic_write
from ..verification.compare import FAILED, UNVERIFIED, Verification, verify
from .driver import analyze
from .fusion_guard import keep_fusions
from .plan import Analysis
from .prefix import first_culprit, prefix_model

Progress = Callable[[str, float], None]


@dataclass
class FoldResult:
    """A verified folded model and everything that explains it."""

    loaded: LoadedModel
    analysis: Analysis  # of the mode that was applied
    model: Any  # the folded framework model (new object)
    verification: Verification
    timings: dict[str, float] = field(default_factory=dict)
    rolled_back: list[str] = field(default_factory=list)
    #: What the runtime makes of the original and the folded model (the frontend's
    #: ``runtime_check``; None when it has none), the BN ids whose fold was refused
    #: because it broke a runtime fusion, and the merges refused for that reason
    #: (``{"merged_name", "nodes": names kept out of regions, "fusions_lost": text}``).
    runtime: dict[str, Any] | None = None
    fusion_refused: list[str] = field(default_factory=list)
    merge_refused: list[dict[str, Any]] = field(default_factory=list)

    @property
    def mode(self) -> str:
        return self.analysis.mode

    def save(self, path: str | os.PathLike) -> Path:
        """Save the folded model as ``path``, whose suffix picks the format (one of the
        model's ``frontend.save_formats``: ``.onnx`` for every model, ``.pt2`` for
        PyTorch ones). Written atomically: a failed save leaves no partial file.

        Raises:
            OutputError: a suffix this model cannot be saved as, or an unwritable path.
        """
        out = Path(path)
        formats = self.loaded.frontend.save_formats
        if out.suffix.lower() not in formats:
            raise OutputError(
                f"cannot save a {self.loaded.frontend.display} model as {out.name}. To fix this, "
                f"use a path ending in {' or '.join(formats)}.")
        atomic_write(out, lambda tmp: self.loaded.frontend.save(self.model, str(tmp), self.loaded))
        return out


def fold(
    loaded: LoadedModel,
    mode: str = "optimal",
    *,
    analysis: Analysis | None = None,
    progress: Progress | None = None,
    max_rollbacks: int = 8,
    allow_unverified: bool = False,
) -> FoldResult:
    """Fold ``loaded`` in ``mode``; the returned model is verified.

    Verification compares every tensor the original and the folded model share
    (see :func:`inspector.verification.compare.verify`). A fold whose
    verification fails is located (a binary search over prefixes of the steps), excluded and
    the analysis redone; after ``max_rollbacks`` culprits a
    :class:`VerificationError` is raised rather than returning a wrong model.

    When the model cannot be verified at all (its outputs are NaN/Inf for
    every input range tried) a :class:`VerificationError` is raised, unless
    ``allow_unverified`` is set: then the result is returned with
    ``verification.state == "unverified"`` (never ``passed``).

    In mode ``reparam`` the merged regions are written back too (the frontend's
    ``write_back`` must take ``merges``); a merged model that does not verify
    raises :class:`VerificationError` (merges are not rolled back one by one).

    A refusal suggests a simpler mode (``optimal`` for ``reparam``, ``adjacent``
    for ``optimal``) only when folding the model in that mode verified.

    Whatever the frontend cached to run the models (``Adapter.release``: e.g.
    onnxruntime sessions) is dropped when it returns or raises.
    """
    try:
        return _fold(loaded, mode, analysis, progress, max_rollbacks, allow_unverified,
                     advise=True)
    finally:
        release = getattr(loaded.frontend, "release", None)
        if release is not None:
            release()


def _fold(loaded: LoadedModel, mode: str, analysis: Analysis | None, progress: Progress | None,
          max_rollbacks: int, allow_unverified: bool, advise: bool) -> FoldResult:
    """:func:`fold`; ``advise``: a refusal suggests a simpler mode only after folding
    the model in that mode verified (never when ``mode`` is the simplest)."""
    say = progress or (lambda msg, frac: None)
    say("analysing", 0.0)
    if analysis is None or analysis.mode != mode:
        analysis = analyze(loaded.graph, mode)
    # The analysis time is what analyze() measured, also for an analysis passed in.
    t_analyze = analysis.seconds
    t0 = time.perf_counter()
    rolled_back: list[str] = []
    t_reanalysed = 0.0
    while True:
        say(f"writing back: {len(analysis.changed)} layers edited, {len(analysis.steps)} BN "
            f"removed, {len(analysis.merges)} regions merged", 0.3)
        model = write_back(loaded, analysis)
        say("verifying the folded model against the original", 0.6)
        check = verify(loaded, model, steps=analysis.steps, merges=analysis.merge_log,
                       progress=lambda msg, frac: say(f"verifying: {msg}", 0.6 + 0.3 * frac))
        if check.passed:
            break
        if check.state == UNVERIFIED:
            if allow_unverified:
                break
            raise VerificationError(
                f"could not verify the folded model: "
                f"{check.notes[-1] if check.notes else 'no comparison possible.'} "
                "To fix this, pass input shapes/ranges the model is defined on, or accept an "
                "unverified result explicitly (--allow-unverified).")
        if analysis.merges:
            raise VerificationError(
                f"the merged model differs from the original (max relative error "
                f"{check.worst_tensor_rel_error:.2e} at tensor '{check.worst_tensor}'). To fix "
                f"this, report the model{_meanwhile(loaded, mode, advise)}.")
        say("verification failed: re-applying prefixes of the folds to find the faulty one", 0.6)
        culprit = _first_failing_step(loaded, analysis)
        if culprit is None or len(rolled_back) >= max_rollbacks:
            raise VerificationError(
                f"the folded model differs from the original (max relative error "
                f"{check.worst_tensor_rel_error:.2e} at tensor '{check.worst_tensor}') and the "
                f"faulty fold could not be isolated. "
                f"To fix this, report the model{_meanwhile(loaded, mode, advise)}.")
        rolled_back.append(culprit)
        say(f"rolling back the fold of {loaded.graph.node(culprit).name} and analysing again", 0.2)
        analysis = analyze(loaded.graph, mode, exclude=rolled_back)
        t_analyze += analysis.seconds
        t_reanalysed += analysis.seconds
    runtime, refused, merge_refused = None, [], []
    if loaded.frontend.runtime_check is not None and (analysis.steps or analysis.merges):
        say("checking what the runtime makes of it", 0.92)
        kept = keep_fusions(loaded, mode, analysis, model, check, rolled_back, max_rollbacks)
        analysis, model, check, runtime = kept.analysis, kept.model, kept.check, kept.runtime
        refused, merge_refused = kept.refused, kept.merges_refused
    say("done", 1.0)
    # analyze_s: every analysis (the first one and any after a roll-back);
    # fold_s: write-back, verification and the runtime check.
    timings = {"analyze_s": t_analyze, "fold_s": time.perf_counter() - t0 - t_reanalysed}
    return FoldResult(loaded, analysis, model, check, timings, rolled_back, runtime, refused, merge_refused)


#: The next simpler mode to suggest when a fold is refused.
_SIMPLER = {"reparam": "optimal", "optimal": "adjacent"}


def _meanwhile(loaded: LoadedModel, mode: str, advise: bool) -> str:
    """``; use --mode X meanwhile ...`` for the first simpler mode whose fold of
    ``loaded`` folds some BN and verifies (tried here, so the advice is true), else ``""``."""
    simpler = _SIMPLER.get(mode) if advise else None
    while simpler is not None:
        try:
            result = _fold(loaded, simpler, None, None, 8, False, advise=False)
        except InspectorError:
            result = None
        if result is None or not result.analysis.folded_count:
            simpler = _SIMPLER.get(simpler)
            continue
        return (f"; use --mode {simpler} meanwhile (it folds {result.analysis.folded_count} of "
                f"{result.analysis.bn_total} BN and verifies)")
    return ""


def write_back(loaded: LoadedModel, analysis: Analysis) -> Any:
    """The frontend's write-back of ``analysis`` (its merges too, when it has any).

    Raises UnsupportedModelError when the frontend cannot write merged regions yet."""
    if not analysis.merges:
        return loaded.frontend.write_back(loaded, analysis.folded, analysis.removed, analysis.changed)
    if not loaded.frontend.supports_merges:
        raise UnsupportedModelError(
            f"the {loaded.frontend.display} frontend cannot write merged branches back yet. To fix this, "
            "use --mode optimal, or export the model to ONNX and fold that with --mode reparam.")
    return loaded.frontend.write_back(loaded, analysis.folded, analysis.removed, analysis.changed,
                                      merges=analysis.merges)


def _first_failing_step(loaded: LoadedModel, analysis: Analysis) -> str | None:
    """The BN id of a fold step whose addition makes a verifying prefix of the steps fail
    (binary search over prefixes: O(log n) write-backs and verifications, not n), or None
    when the whole sequence re-applied passes a one-trial verification.

    Sound because failing is monotone in the prefix as far as outputs go: every step edits
    parameters by exact identities (emit/absorb with the step's own map, whatever the
    current values), so a wrong step's error survives every later step. Where an error
    shows only in an intermediate tensor that a later step stops comparing, the predicate
    need not be monotone; the search then still returns a step after whose prefix the
    model verifies and with which it does not (a true culprit, maybe not the first one);
    the caller re-verifies after each roll-back.
    """
    steps = analysis.steps

    def fails(k: int) -> bool:
        return verify(loaded, prefix_model(loaded, steps[:k]), trials=1, steps=steps[:k]).state == FAILED

    culprit = first_culprit(steps, fails)
    return None if culprit is None else culprit.bn
