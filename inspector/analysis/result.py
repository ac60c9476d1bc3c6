"""Analysis results: the per-BN verdicts plus the fold steps that realise them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ir import Graph
from .verdict import Verdict


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


@dataclass
class Analysis:
    """Result of analysing (and planning) one graph in one mode.

    ``folded`` is the IR after every step (float64 params, computed lazily);
    ``removed`` the BN ids bypassed; ``changed`` the ids of nodes of ``graph``
    whose params were edited. ``merges`` (mode ``reparam`` only) are the
    regions of ``graph`` each replaced by one conv (``folding.merge.MergeStep``,
    node ids of ``graph``; the conv's final params are ``folded.node(conv_id)``);
    ``merge_log`` the merges as they happened, interleaved with ``steps`` by
    ``MergeStep.after_steps`` (a later merge may contain an earlier merged conv).
    """

    mode: str
    graph: Graph
    structure: Graph  # after every step, BN/affine params exact, other weights not yet edited
    verdicts: dict[str, Verdict]
    steps: list[FoldStep] = field(default_factory=list)
    seconds: float = 0.0
    merges: list[Any] = field(default_factory=list)  # folding.merge.MergeStep
    merge_log: list[Any] = field(default_factory=list, repr=False)
    _folded: Graph | None = field(default=None, repr=False)

    @property
    def folded(self) -> Graph:
        """The folded IR with every weight edited (computed on first use)."""
        if self._folded is None:
            from ..folding.apply import replay

            self._folded = replay(self.graph, self.steps, self.merge_log)
        return self._folded

    @property
    def removed(self) -> list[str]:
        return [s.bn for s in self.steps]

    @property
    def changed(self) -> list[str]:
        ids: dict[str, None] = {}
        for s in self.steps:
            for nid in (*s.emitters, *s.absorbers):
                if nid != s.bn and nid not in self.removed and self.graph.has_node(nid):
                    ids[nid] = None
        return list(ids)

    @property
    def bn_total(self) -> int:
        return len(self.verdicts)

    @property
    def folded_count(self) -> int:
        return sum(v.folded for v in self.verdicts.values())

    @property
    def merged_count(self) -> int:
        """BNs removed by merging their region into one conv (mode ``reparam``)."""
        return sum(v.merged for v in self.verdicts.values())

    @property
    def remaining_count(self) -> int:
        """BNs still in the deployed model."""
        return self.bn_total - self.folded_count - self.merged_count
