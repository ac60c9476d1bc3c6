"""What the condition returns: fold steps (the edits a fold needs) and decisions.

The whole-graph plan that collects them (``Analysis``) lives with the driver in
``inspector.folding.plan``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .verdict import Blocked


@dataclass(frozen=True)
class Transform:
    """``x -> scale * x + shift`` along ``axis`` of a tensor (float64 vectors)."""

    axis: int
    scale: np.ndarray
    shift: np.ndarray


@dataclass(frozen=True)
class FoldStep:
    """One BN removal and every parameter edit it needs.

    ``emitters`` are nodes whose *output* tensor is transformed (they write
    ``s*y + t``); ``absorbers`` are nodes whose *input* tensor is transformed
    (they undo it). Backward: roots = emitters, leaves = absorbers (+ the BN).
    Forward: roots = absorbers, leaves = emitters (+ the BN).
    """

    bn: str
    direction: str  # "backward" | "forward"
    a: np.ndarray  # the BN's per-channel scale (float64)
    c: np.ndarray  # the BN's per-channel shift (float64)
    emitters: dict[str, Transform]
    absorbers: dict[str, Transform]
    roots: tuple[str, ...]
    leaves: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    """What the condition decided for one BN on one graph (like fx's ``PassResult``).

    ``step`` is the fold when the BN folds, else None and ``blocked`` says why,
    one entry per direction tried. ``region`` holds the ids of every node the
    decision read: it stays valid as long as none of them changes.
    """

    step: FoldStep | None
    blocked: tuple[Blocked, ...] = ()
    region: frozenset[str] = frozenset()

    @property
    def folds(self) -> bool:
        return self.step is not None
