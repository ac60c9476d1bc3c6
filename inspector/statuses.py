"""How every BN is shown: one status record per BN from the two modes' verdicts.

The SVG, the BN panel and tables, the CLI summary and the lessons read these
records (the renderer adds colours); the sentences come from
:mod:`inspector.analysis.sentences`. A BN is shown as one of the
:class:`~inspector.analysis.verdict.Status` values:

* ``both``          folded by ``adjacent`` and by ``optimal``;
* ``optimal_only``  folded by ``optimal`` only (the product's headline gap);
* ``not_foldable``  folded by neither; coloured by reason group;
* ``adjacent_only`` folded by ``adjacent`` but not ``optimal`` (should not happen;
  shown rather than hidden);
* ``folded``        folded by ``optimal`` when no ``adjacent`` analysis was given;
* ``merged``        removed in ``reparam`` mode by merging parallel branches into one conv;
* ``unanalysed``    a BN without a verdict.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .analysis.sentences import status_sentence
from .analysis.verdict import Reason, Status, Verdict
from .folding.plan import Analysis
from .ir import Graph, is_bn

__all__ = ["BNStatus", "bn_ids", "compute_statuses", "reason_color_key", "status_counts"]


@dataclass(frozen=True)
class BNStatus:
    """How one BN is displayed: status, colour key, reason and tooltip sentence."""

    bn: str
    status: Status
    color_key: str
    reason_code: Reason | None
    sentence: str
    verdict: Verdict | None

    @property
    def css_class(self) -> str:
        """``bn status-<status>`` plus ``reason-<code>`` when not foldable."""
        cls = f"bn status-{self.status}"
        if self.reason_code is not None and self.status in (Status.NOT_FOLDABLE, Status.ADJACENT_ONLY):
            cls += f" reason-{self.reason_code.value}"
        return cls


def reason_color_key(code: Reason | None) -> str:
    """Colour key of the reason group of ``code`` (``Reason.group``)."""
    if code is None:
        return "not_foldable_other"
    return Status.NOT_FOLDABLE if code.group == "blocking" else f"not_foldable_{code.group}"


def bn_ids(graph: Graph, optimal: Analysis) -> list[str]:
    """Ids of the graph's BNs, plus nodes that carry a verdict (e.g. folded BNs)."""
    return [n.id for n in graph.nodes if is_bn(n) or n.id in optimal.verdicts]


def compute_statuses(
    graph: Graph, optimal: Analysis, adjacent: Analysis | None = None
) -> dict[str, BNStatus]:
    """Display status of every BN of ``graph`` (keyed by node id, graph order)."""
    out: dict[str, BNStatus] = {}
    for bn in bn_ids(graph, optimal):
        opt = optimal.verdicts.get(bn)
        adj = adjacent.verdicts.get(bn) if adjacent is not None else None
        out[bn] = _status(graph, bn, opt, adj, adjacent is not None)
    return out


def _status(
    graph: Graph, bn: str, opt: Verdict | None, adj: Verdict | None, has_adj: bool
) -> BNStatus:
    if opt is None:
        status, key, code = Status.UNANALYSED, Status.UNANALYSED, None
    elif opt.merged:
        status, key, code = Status.MERGED, Status.MERGED, None
    elif opt.folded:
        status = (Status.BOTH if adj is not None and adj.folded else Status.OPTIMAL_ONLY) if has_adj \
            else Status.FOLDED
        key, code = status, None
    elif adj is not None and adj.folded:
        status, key, code = Status.ADJACENT_ONLY, Status.ADJACENT_ONLY, opt.reason_code
    else:
        status, key, code = Status.NOT_FOLDABLE, reason_color_key(opt.reason_code), opt.reason_code
    return BNStatus(bn, status, key, code, status_sentence(graph, status, opt, adj), opt)


def status_counts(statuses: dict[str, BNStatus]) -> Counter[str]:
    """Counts per status (``both``, ``optimal_only``...)."""
    return Counter(s.status for s in statuses.values())
