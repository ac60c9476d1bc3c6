"""The fold plan of one graph in one mode (DESIGN §2 "FoldPlan"): the verdict of
every BN, the fold steps that realise them and, in mode ``reparam``, the merged
regions; the folded IR is computed lazily from them."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..analysis.result import FoldStep
from ..analysis.verdict import Verdict
from ..ir import Graph
from .apply import replay
from .merge import MergeStep


@dataclass
class Analysis:
    """Result of analysing (and planning) one graph in one mode.

    ``folded`` is the IR after every step (float64 params, computed lazily);
    ``structure`` the IR after every step with exact BN/affine params and the
    other weights not yet edited (cheap; enough for node counts);
    ``removed`` the BN ids bypassed; ``changed`` the ids of nodes of ``graph``
    whose params were edited. ``merges`` (mode ``reparam`` only) are the
    regions of ``graph`` each replaced by one conv (node ids of ``graph``; the
    conv's final params are ``folded.node(conv_id)``); ``merge_log`` the merges
    as they happened, interleaved with ``steps`` by ``MergeStep.after_steps``
    (a later merge may contain an earlier merged conv).
    """

    mode: str
    graph: Graph
    structure: Graph
    verdicts: dict[str, Verdict]
    steps: list[FoldStep] = field(default_factory=list)
    seconds: float = 0.0
    merges: list[MergeStep] = field(default_factory=list)
    merge_log: list[MergeStep] = field(default_factory=list, repr=False)
    #: The folded IR when the planner already built it with every weight edited
    #: (mode ``reparam``); otherwise :attr:`folded` replays the steps on first use.
    known_folded: Graph | None = field(default=None, repr=False)

    @property
    def folded(self) -> Graph:
        """The folded IR with every weight edited (computed on first use)."""
        if self.known_folded is None:
            self.known_folded = replay(self.graph, self.steps, self.merge_log)
        return self.known_folded

    @property
    def removed(self) -> list[str]:
        return [s.bn for s in self.steps]

    @property
    def changed(self) -> list[str]:
        ids: dict[str, None] = {}
        removed = set(self.removed)  # a set: one lookup per edited node, not a scan per step
        for s in self.steps:
            for nid in (*s.emitters, *s.absorbers):
                if nid != s.bn and nid not in removed and self.graph.has_node(nid):
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
