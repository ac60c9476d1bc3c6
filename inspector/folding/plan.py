"""The fold plan of one graph in one mode (DESIGN §2 "FoldPlan"): the verdict of
every BN and the fold steps that realise them, applied lazily."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..analysis.result import FoldStep
from ..analysis.verdict import Verdict
from ..ir import Graph
from .apply import replay


@dataclass
class Analysis:
    """Result of analysing (and planning) one graph in one mode.

    ``folded`` is the IR after every step (float64 params, computed lazily);
    ``removed`` the BN ids bypassed; ``changed`` the ids of nodes whose params
    were edited.
    """

    mode: str
    graph: Graph
    verdicts: dict[str, Verdict]
    steps: list[FoldStep] = field(default_factory=list)
    seconds: float = 0.0
    _folded: Graph | None = field(default=None, repr=False)

    @property
    def folded(self) -> Graph:
        """The folded IR with every weight edited (computed on first use)."""
        if self._folded is None:
            self._folded = replay(self.graph, self.steps)
        return self._folded

    @property
    def removed(self) -> list[str]:
        return [s.bn for s in self.steps]

    @property
    def changed(self) -> list[str]:
        ids: dict[str, None] = {}
        for s in self.steps:
            for nid in (*s.emitters, *s.absorbers):
                if nid != s.bn and nid not in self.removed:
                    ids[nid] = None
        return list(ids)

    @property
    def bn_total(self) -> int:
        return len(self.verdicts)

    @property
    def folded_count(self) -> int:
        return sum(v.folded for v in self.verdicts.values())
