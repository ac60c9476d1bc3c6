"""What is timed: the model variants (original, folded per mode, no-BN floor) and the
inputs of the timing shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import InspectorError
from ..folding.plan import Analysis
from ..model import InputSpec, LoadedModel
from .floor import build_floor

#: Display labels; the floor is not an equivalent model and says so.
VARIANT_LABELS = {
    "original": "original",
    "adjacent": "adjacent-folded",
    "optimal": "optimal-folded",
    "reparam": "reparam (folded + merged)",
    "floor": "no-BN floor (not equivalent)",
}


def build_variants(
    loaded: LoadedModel,
    analyses: Mapping[str, Analysis] | None = None,
    *,
    folded: Mapping[str, Any] | None = None,
    floor: bool = True,
    modes: Sequence[str] = ("adjacent", "optimal"),
) -> dict[str, Any]:
    """``original``, one verified fold per mode in ``modes`` and the ``floor`` model.

    Args:
        loaded: the model; never mutated.
        analyses: per-mode analyses to reuse (e.g. from ``compare_modes``).
        folded: already folded framework models per mode (skips re-folding).
        floor: include the no-BN floor (``bench.floor.build_floor``).
        modes: the folding modes timed (add ``"reparam"`` for merged branches).
    """
    from ..folding.pipeline import fold

    analyses = analyses or {}
    folded = folded or {}
    variants: dict[str, Any] = {"original": loaded.model}
    for mode in modes:
        if mode in folded:
            variants[mode] = folded[mode]
        else:
            variants[mode] = fold(loaded, mode, analysis=analyses.get(mode)).model
    if floor:
        variants["floor"] = build_floor(loaded)
    return variants


def input_specs(loaded: LoadedModel, batch: int = 1, size: int | None = None) -> list[InputSpec]:
    """``loaded.inputs`` with the batch dimension set and, if ``size`` is given,
    every spatial dimension (axes 2.. of a rank >= 3 input) set to ``size``."""
    if batch < 1 or (size is not None and size < 1):
        raise InspectorError("batch and input size must be positive integers")
    specs = []
    for spec in loaded.inputs:
        shape = list(spec.shape)
        if shape:
            shape[0] = batch
        if size is not None and len(shape) >= 3:
            shape[2:] = [size] * (len(shape) - 2)
        specs.append(InputSpec(spec.name, tuple(shape), spec.dtype))
    return specs


def input_arrays(loaded: LoadedModel, batch: int = 1, size: int | None = None, seed: int = 0) -> list[np.ndarray]:
    """Seeded random inputs of the timing shape."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s.shape).astype(s.dtype) for s in input_specs(loaded, batch, size)]
