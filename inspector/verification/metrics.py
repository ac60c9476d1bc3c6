"""How far apart two tensors are, and how far apart float arithmetic allows them to be.

* :func:`tensor_error`: max |y - z| over the finite entries and that error
  relative to max |y|; NaN/Inf must sit at the same places.
* :func:`tolerance_for`: the tolerance of the least precise dtype in the model.
* :func:`noise_floor` / :func:`judge`: what float32 can deliver for one tensor.
  A tensor whose values are tiny next to the values that produced it (the
  sigmoid of very negative logits, a difference of nearly equal numbers) holds
  absolute rounding noise, not relative precision: onnxruntime's sigmoid has an
  absolute error near 1e-7, which is 6e-4 of a sigmoid output peaking at 3e-4.
  That noise is measured on the original model itself: the same model run on
  inputs nudged by a few epsilons rounds differently in every layer, and the
  largest change of each tensor is its noise floor. A folded tensor passes when
  its error is within the tolerance of its own magnitude *or* within
  :data:`NOISE_MULTIPLE` times its noise floor. A wrong fold moves a tensor by
  far more than its rounding noise, so it still fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model import LoadedModel

#: Largest accepted error relative to each tensor's range, per dtype.
TOLERANCE = {"float64": 1e-9, "float32": 1e-4, "float16": 1e-2, "bfloat16": 5e-2}
#: Reference magnitude below which a tensor's error is measured absolutely.
SCALE_FLOOR = {"float64": 1e-12, "float32": 1e-6, "float16": 1e-3, "bfloat16": 1e-2}
#: A tensor may differ by this many times its measured noise floor. Measured
#: ratios (error / floor) on correct folds of YOLOv8n/YOLOv9t stay below 4.
NOISE_MULTIPLE = 10.0
#: Inputs are nudged by up to this many epsilons of their dtype (relative: 4 to 8
#: ulps) to measure noise floors.
NUDGE_ULPS = 4


@dataclass(frozen=True)
class TensorError:
    """The error of one tensor: ``inf`` when shapes or non-finite patterns differ.

    ``scale`` is the largest finite magnitude of the reference (at least the
    floor passed to :func:`tensor_error`): ``rel_error == abs_error / scale``.
    """

    abs_error: float
    rel_error: float
    nonfinite: bool  # the reference holds NaN/Inf
    scale: float = 0.0


def tensor_error(reference: Any, candidate: Any, floor: float = 1e-12) -> TensorError:
    """max |y - z| over the finite entries, and that error relative to max |y|.

    NaN, +Inf and -Inf must occur at the same positions in both (else the
    error is infinite); an all-zero reference is measured against ``floor``.
    """
    y, z = np.asarray(reference, np.float64), np.asarray(candidate, np.float64)
    if y.shape != z.shape:
        return TensorError(float("inf"), float("inf"), False)
    finite = np.isfinite(y)
    nonfinite = not bool(finite.all())
    if nonfinite and not (np.array_equal(np.isnan(y), np.isnan(z))
                          and np.array_equal(np.isposinf(y), np.isposinf(z))
                          and np.array_equal(np.isneginf(y), np.isneginf(z))):
        return TensorError(float("inf"), float("inf"), True)
    if not nonfinite and not np.isfinite(z).all():
        return TensorError(float("inf"), float("inf"), False)
    if y.size == 0 or not finite.any():
        return TensorError(0.0, 0.0, nonfinite, floor)
    yf, zf = (y[finite], z[finite]) if nonfinite else (y, z)
    err = float(np.max(np.abs(yf - zf)))
    scale = max(float(np.max(np.abs(yf))), floor)
    return TensorError(err, err / scale, nonfinite, scale)


def noise_floor(reference: Any, nudged: Any) -> float:
    """The largest change of a tensor between two runs of the *original* model
    (finite entries of both; 0 when the shapes differ or nothing is finite)."""
    y, z = np.asarray(reference, np.float64), np.asarray(nudged, np.float64)
    if y.shape != z.shape or y.size == 0:
        return 0.0
    both = np.isfinite(y) & np.isfinite(z)
    return float(np.max(np.abs(y[both] - z[both]))) if both.any() else 0.0


def judge(error: TensorError, floor: float, tolerance: float) -> float:
    """The relative error compared with ``tolerance``: the error over the tensor's
    magnitude, or over ``NOISE_MULTIPLE * floor / tolerance`` when that is larger
    (so the tensor passes when its error is at most ``NOISE_MULTIPLE * floor``)."""
    if not np.isfinite(error.abs_error) or floor <= 0:
        return error.rel_error
    return error.abs_error / max(error.scale, NOISE_MULTIPLE * floor / tolerance)


#: Epsilon of dtypes numpy lacks (their inputs are fed as float32).
_EPS = {"bfloat16": 2.0 ** -7}


def nudge(inputs: list[np.ndarray], seed: int,
          dtypes: Sequence[str] = ()) -> list[np.ndarray]:
    """``inputs`` with every float entry ``x`` moved by up to ``NUDGE_ULPS * eps * |x|``
    (``eps`` of its dtype, or of ``dtypes[i]`` when numpy lacks it: a bfloat16 input
    arrives as float32; seeded); other dtypes unchanged. Runs of the original on these
    inputs round differently in every layer: their spread is the noise floor."""
    rng = np.random.default_rng(seed + 7919)
    out = []
    for i, x in enumerate(inputs):
        x = np.asarray(x)
        if x.dtype.kind != "f":
            out.append(x)
            continue
        named = dtypes[i] if i < len(dtypes) else ""
        step = NUDGE_ULPS * _EPS.get(named, float(np.finfo(x.dtype).eps))
        wide = x.astype(np.float64)
        out.append((wide * (1.0 + step * rng.uniform(-1.0, 1.0, x.shape))).astype(x.dtype))
    return out


def output_errors(reference: list[np.ndarray], candidate: list[np.ndarray]) -> tuple[float, float]:
    """(max abs error, max relative error) across paired outputs (non-finite aware)."""
    if len(reference) != len(candidate):
        return float("inf"), float("inf")
    abs_err, rel_err = 0.0, 0.0
    for y, z in zip(reference, candidate):
        e = tensor_error(y, z)
        abs_err, rel_err = max(abs_err, e.abs_error), max(rel_err, e.rel_error)
    return abs_err, rel_err


def tolerance_for(dtypes: Iterable[str]) -> float:
    """The tolerance of the least precise of ``dtypes`` (I/O and weight dtypes)."""
    tols = [TOLERANCE[d] for d in dtypes if d in TOLERANCE]
    return max(tols) if tols else TOLERANCE["float32"]


def scale_floor_for(dtypes: Iterable[str]) -> float:
    """The magnitude below which errors are absolute, for the least precise dtype."""
    return max((SCALE_FLOOR[d] for d in dtypes if d in SCALE_FLOOR),
               default=SCALE_FLOOR["float32"])


def model_dtypes(loaded: LoadedModel) -> set[str]:
    """Float dtypes of the model's inputs, outputs, tensors and parameters."""
    graph = loaded.graph
    found = {graph.dtype, *(s.dtype for s in loaded.inputs)}
    found |= {t.dtype for t in graph.tensors.values() if t.dtype}
    for node in graph.nodes:
        found |= {np.asarray(v).dtype.name for v in node.params.values()}
    return {d for d in found if d in TOLERANCE}
