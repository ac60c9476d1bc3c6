"""The verdict of a verification: :class:`Verification` and what it left out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

PASSED, FAILED, UNVERIFIED = "passed", "failed", "unverified"


@dataclass(frozen=True)
class NotCompared:
    """A tensor (or model output) that verification did not compare, and why.

    ``output`` is True for a model output (``tensor`` is then the output's
    name); ``node`` is the display name of the node that produced the tensor.
    """

    tensor: str
    reason: str
    node: str | None = None
    output: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"tensor": self.tensor, "node": self.node, "output": self.output,
                "reason": self.reason}


@dataclass(frozen=True)
class Verification:
    """Errors of the folded model against the original.

    ``max_abs_error`` / ``max_rel_error`` are over the ``outputs_compared`` outputs
    (0 when none was: every output behind a flipped discrete choice); ``worst_tensor``
    is the shared tensor (outputs included) with the largest relative error.
    A relative error is the error over the tensor's largest finite magnitude,
    or over the scale that its measured float32 noise floor allows when that
    is larger (see :func:`inspector.verification.metrics.judge`); the tensors
    judged against their noise floor are named in ``notes``. ``status`` is
    ``passed``, ``failed`` or ``unverified`` (nothing could be compared: the
    reference itself is non-finite for every input range tried, or every
    output sits behind a discrete choice that flipped).

    ``not_compared`` lists the outputs and tensors that were left out and why
    (behind a discontinuous op whose choice flipped, or a value that could not
    be matched to its tensor); the tensors a fold is *meant* to change are
    never compared and are not listed.
    """

    max_abs_error: float
    max_rel_error: float
    tolerance: float
    trials: int
    status: str = ""
    worst_tensor: str | None = None
    worst_tensor_rel_error: float = 0.0
    tensors_compared: int = 0
    #: Display name of the node producing ``worst_tensor`` (None for outputs / unknown).
    worst_node: str | None = None
    input_range: str = "N(0, 1)"
    input_shapes: tuple[tuple[tuple[int, ...], ...], ...] = ()
    notes: tuple[str, ...] = ()
    not_compared: tuple[NotCompared, ...] = ()
    #: How many model outputs were compared (0: the output errors are not measured).
    outputs_compared: int = 0

    @property
    def state(self) -> str:
        """``passed`` | ``failed`` | ``unverified``."""
        if self.status:
            return self.status
        ok = np.isfinite(self.max_rel_error) and self.max_rel_error <= self.tolerance
        return PASSED if ok else FAILED

    @property
    def passed(self) -> bool:
        return self.state == PASSED

    @property
    def verified(self) -> bool:
        """False when the comparison could not be made (``unverified``)."""
        return self.state != UNVERIFIED

    @property
    def outputs_not_compared(self) -> tuple[NotCompared, ...]:
        """The model outputs among ``not_compared``."""
        return tuple(n for n in self.not_compared if n.output)

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_abs_error": self.max_abs_error,
            "max_rel_error": self.max_rel_error,
            "tolerance": self.tolerance,
            "passed": self.passed,
            "status": self.state,
            "trials": self.trials,
            "worst_tensor": self.worst_tensor,
            "worst_tensor_rel_error": self.worst_tensor_rel_error,
            "tensors_compared": self.tensors_compared,
            "worst_node": self.worst_node,
            "input_range": self.input_range,
            "input_shapes": [[list(s) for s in shapes] for shapes in self.input_shapes],
            "notes": list(self.notes),
            "not_compared": [n.as_dict() for n in self.not_compared],
            "outputs_compared": self.outputs_compared,
        }
