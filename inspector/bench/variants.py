"""What is timed: the model variants (original, folded per mode, no-BN floor) and the
inputs of the timing shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import InspectorError
from ..folding.plan import Analysis
from ..limits import cap_bytes, check_tensor
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


def input_specs(loaded: LoadedModel, batch: int = 1, size: int | None = None,
                max_tensor_mb: float | None = None) -> list[InputSpec]:
    """``loaded.inputs`` with the batch dimension set and, if ``size`` is given,
    every spatial dimension (axes 2.. of a rank >= 3 input) set to ``size``.

    Raises ResourceLimitError, before anything is allocated, when one input would
    be larger than ``max_tensor_mb`` (default ``limits.DEFAULT_MAX_TENSOR_MB``)."""
    if batch < 1 or (size is not None and size < 1):
        raise InspectorError("batch and input size must be positive integers")
    cap = cap_bytes(max_tensor_mb)
    specs = []
    for spec in loaded.inputs:
        shape = list(spec.shape)
        if shape:
            shape[0] = batch
        if size is not None and len(shape) >= 3:
            shape[2:] = [size] * (len(shape) - 2)
        check_tensor(f"the timing input {spec.name!r} of shape {tuple(shape)}", shape,
                     spec.dtype, cap)
        specs.append(InputSpec(spec.name, tuple(shape), spec.dtype))
    return specs


def largest_inputs(loaded: LoadedModel, size: int | None = None,
                   max_tensor_mb: float | None = None) -> tuple[int, int | None]:
    """The largest batch at ``size`` (the model's own when None) and the largest square
    spatial size at batch 1 that keep every input within ``max_tensor_mb`` (the
    Timing form's limits); the size is None when no input has spatial axes."""
    cap = cap_bytes(max_tensor_mb)
    batch, side = None, None
    for spec in loaded.inputs:
        item = np.dtype(spec.dtype).itemsize if str(spec.dtype) != "bfloat16" else 2
        dims = [max(int(d), 1) for d in spec.shape[1:]]
        if size is not None and len(spec.shape) >= 3:
            dims[1:] = [size] * (len(spec.shape) - 2)
        per_sample = item * int(np.prod(dims, dtype=np.float64)) if dims else item
        batch = min(batch or cap, cap // max(per_sample, 1))
        if len(spec.shape) >= 3:
            channels = max(int(spec.shape[1]), 1) * item
            s = int((cap / channels) ** (1.0 / (len(spec.shape) - 2)))
            while s > 1 and channels * s ** (len(spec.shape) - 2) > cap:
                s -= 1
            side = s if side is None else min(side, s)
    return max(int(batch or 1), 0), side


def input_arrays(loaded: LoadedModel, batch: int = 1, size: int | None = None, seed: int = 0) -> list[np.ndarray]:
    """Seeded random inputs of the timing shape."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s.shape).astype(s.dtype) for s in input_specs(loaded, batch, size)]
