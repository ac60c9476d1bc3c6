"""Numerical verification: original vs folded on the same random inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model import LoadedModel

#: Largest accepted error relative to the output range, per dtype.
TOLERANCE = {"float64": 1e-9, "float32": 1e-4, "float16": 1e-2, "bfloat16": 5e-2}


@dataclass(frozen=True)
class Verification:
    """max |y - y'| and that error relative to max |y| over all outputs and trials."""

    max_abs_error: float
    max_rel_error: float
    tolerance: float
    trials: int

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.max_rel_error) and self.max_rel_error <= self.tolerance)

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_abs_error": self.max_abs_error,
            "max_rel_error": self.max_rel_error,
            "tolerance": self.tolerance,
            "passed": self.passed,
            "trials": self.trials,
        }


def output_errors(reference: list[np.ndarray], candidate: list[np.ndarray]) -> tuple[float, float]:
    """(max abs error, max abs error / max |reference|) across paired outputs."""
    if len(reference) != len(candidate):
        return float("inf"), float("inf")
    abs_err, rel_err = 0.0, 0.0
    for y, z in zip(reference, candidate):
        y, z = np.asarray(y, np.float64), np.asarray(z, np.float64)
        if y.shape != z.shape:
            return float("inf"), float("inf")
        if y.size == 0:
            continue
        err = float(np.max(np.abs(y - z)))
        scale = max(float(np.max(np.abs(y))), 1e-12)
        abs_err, rel_err = max(abs_err, err), max(rel_err, err / scale)
    return abs_err, rel_err


def verify(loaded: LoadedModel, folded_model: Any, trials: int = 2, seed: int = 0) -> Verification:
    """Run ``loaded.model`` and ``folded_model`` on ``trials`` random input sets."""
    run = loaded.frontend.run
    abs_err, rel_err = 0.0, 0.0
    for i in range(trials):
        inputs = loaded.random_inputs(seed=seed + i)
        a, r = output_errors(run(loaded.model, inputs), run(folded_model, inputs))
        abs_err, rel_err = max(abs_err, a), max(rel_err, r)
    tol = TOLERANCE.get(loaded.graph.dtype, 1e-4)
    return Verification(abs_err, rel_err, tol, trials)
