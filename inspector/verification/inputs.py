"""The inputs verification feeds: value ranges, seeded draws and input sizes.

* **Ranges**: N(0, 1), then U(0.5, 1.5), then U(0.01, 0.1), tried in turn
  while the reference outputs are non-finite (:data:`INPUT_RANGES`).
* **Sizes**: the loaded shapes, then each dynamic input axis
  (``LoadedModel.dynamic_axes``) at another size; without dynamic axes, the
  other sizes the format's adapter offers (a PyTorch module that is not a traced
  graph: every non-channel axis + 1, else the batch + 1) when the original
  accepts them (:func:`shape_sets`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..model import LoadedModel

#: Input distributions tried in turn while the reference outputs are non-finite.
INPUT_RANGES: tuple[tuple[str, Callable[[np.random.Generator, tuple], np.ndarray]], ...] = (
    ("N(0, 1)", lambda rng, shape: rng.standard_normal(shape)),
    ("U(0.5, 1.5)", lambda rng, shape: rng.uniform(0.5, 1.5, shape)),
    ("U(0.01, 0.1)", lambda rng, shape: rng.uniform(0.01, 0.1, shape)),
)

Shapes = list[tuple[int, ...]]


def draw_inputs(loaded: LoadedModel, shapes: Sequence[tuple[int, ...]], draw: Callable,
                seed: int) -> list[np.ndarray]:
    """One seeded array per input of ``loaded``: float inputs from ``draw``, others
    from N(0, 1) cast to their dtype."""
    rng = np.random.default_rng(seed)
    out = []
    for spec, shape in zip(loaded.inputs, shapes):
        dt = np_dtype(spec.dtype)
        if dt.kind == "f":
            out.append(draw(rng, tuple(shape)).astype(dt))
        else:
            out.append(rng.standard_normal(tuple(shape)).astype(dt))
    return out


def np_dtype(name: str) -> np.dtype:
    """The numpy dtype of an input; bfloat16 (unknown to numpy, or an ml_dtypes type
    that torch cannot read) and other exotic floats are fed as float32."""
    if name == "bfloat16":
        return np.dtype("float32")
    try:
        return np.dtype(name)
    except TypeError:
        return np.dtype("float32")


def shape_sets(loaded: LoadedModel, folded_model: Any) -> list[Shapes]:
    """The loaded input shapes, then candidates with every dynamic axis at another
    size (d + 1, else 2d: the first the original runs at is used), or without
    dynamic axes the other sizes the format's adapter offers (``Adapter.other_sizes``)."""
    base = [tuple(s.shape) for s in loaded.inputs]
    dynamic: dict[int, list[int]] = loaded.dynamic_axes
    if not dynamic:
        other = loaded.frontend.other_sizes
        return [base, *(other(loaded, folded_model) if other is not None else [])]
    candidates = []
    for grow in (lambda d: d + 1, lambda d: 2 * d):
        alt = [tuple(grow(d) if ax in dynamic.get(i, ()) else d for ax, d in enumerate(s))
               for i, s in enumerate(base)]
        if alt != base and alt not in candidates:
            candidates.append(alt)
    return [base, *candidates]
