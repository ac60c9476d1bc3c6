"""Operand and result types shared by the PyTorch op handlers (no torch import).

Capture code resolves every argument of an op to a :class:`Data` tensor, a
:class:`Const` parameter or a plain Python value, wraps them in a :class:`Call`
and gets back :class:`Spec` records (one IR node each, minus id and outputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np


class StorageTransform(str, Enum):
    """How an IR param relates to its storage: ``value = transform(storage)``.

    Every transform is its own inverse, so write-back applies the same one to
    get the storage back from a folded value.
    """

    SAME = ""
    TRANSPOSE = "T"  # a 2-D weight used transposed (``mm``/``matmul``)
    NEGATE = "neg"  # ``x - k`` stored as k, used as shift -k
    RECIPROCAL = "inv"  # ``x / k`` stored as k, used as scale 1/k

    def __str__(self) -> str:
        return self.value

    def apply(self, value: np.ndarray) -> np.ndarray:
        """The transformed array (also the inverse transform)."""
        if self is StorageTransform.TRANSPOSE:
            return value.T
        if self is StorageTransform.NEGATE:
            return np.negative(value)
        if self is StorageTransform.RECIPROCAL:
            return np.reciprocal(value)
        return value

    def then(self, second: StorageTransform) -> StorageTransform | None:
        """Applying ``self`` then ``second``; None if not expressible as one."""
        if self is StorageTransform.SAME:
            return second
        if second is StorageTransform.SAME:
            return self
        both_transposes = self is second is StorageTransform.TRANSPOSE
        return StorageTransform.SAME if both_transposes else None


@dataclass(frozen=True)
class Data:
    """A data tensor (depends on a user input): IR tensor name, shape, dtype."""

    name: str
    shape: tuple[int, ...] | None = None
    dtype: str = "float32"


@dataclass(frozen=True)
class Const:
    """A constant operand. ``value = transform(storage[key])`` up to a reshape.

    ``key`` is a state-dict FQN or ``const:...`` (not editable in place).
    """

    value: np.ndarray
    key: str
    transform: StorageTransform = StorageTransform.SAME


@dataclass
class Spec:
    """What a handler returns: one IR node minus its id, name and outputs."""

    op: str
    inputs: tuple[str, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    params: dict[str, np.ndarray] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    transforms: dict[str, StorageTransform] = field(default_factory=dict)
    #: Shape of this spec's output when it is an intermediate of a chain.
    out_shape: tuple[int, ...] | None = None


@dataclass
class Call:
    """One op to map: canonical aten name, resolved kwargs, output info."""

    id: str
    op: str
    kw: dict[str, Any]
    out_shapes: list[tuple[int, ...] | None]
    out_dtypes: list[str] = field(default_factory=list)


def set_param(spec: Spec, name: str, c: Const,
              extra: StorageTransform = StorageTransform.SAME, value=None, owner: str = "") -> None:
    """Store ``c`` (optionally re-transformed by ``extra``) as param ``name`` of ``spec``."""
    arr = np.asarray(c.value if value is None else value)
    spec.params[name] = arr if np.issubdtype(arr.dtype, np.floating) else arr.astype(np.float64)
    tr = c.transform.then(extra)
    if tr is None or c.key.startswith("const:"):
        spec.keys[name] = c.key if c.key.startswith("const:") else f"const:{owner}.{name}"
        return
    spec.keys[name] = c.key
    if tr:
        spec.transforms[name] = tr


def data_operands(v: Any) -> list[Data]:
    """Every :class:`Data` in ``v`` (nested lists/tuples flattened), in order."""
    if isinstance(v, Data):
        return [v]
    if isinstance(v, (list, tuple)):
        return [d for x in v for d in data_operands(x)]
    return []


def ints(v: Any, n: int) -> list[int]:
    """An int or a 1-/n-element list as a list of ``n`` ints."""
    if isinstance(v, int):
        return [v] * n
    v = [int(x) for x in v]
    return v * n if len(v) == 1 else v


def first_data(c: Call) -> Data | None:
    """The first data operand (``self`` / ``input`` / ``tensor`` come first)."""
    data = data_operands(list(c.kw.values()))
    return data[0] if data else None


def norm_axis(dim: int, rank: int) -> int:
    """Non-negative axis."""
    return dim + rank if dim < 0 else dim

