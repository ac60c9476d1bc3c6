"""Mode ``reparam``: ``optimal`` folding and region merging to a fixed point (DESIGN §3.7).

Each round folds what folds (the ``optimal`` analysis of the current graph),
then replaces every mergeable linear region by one conv; rounds repeat until
one changes nothing. A BN removed by a fold is ``folded``; a BN still present
when its region is merged is ``merged`` (roots: the region's nodes,
``details["merged_into"]``: the conv id). A BN left in place keeps the fold
refusal of the last round, preceded by the merge refusal of the smallest
refused region that holds it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from ..analysis.regions import Refusal, find_regions
from ..analysis.sentences import NOT_FOLDED, fold_reason, merge_reason, merge_refused_reason
from ..analysis.verdict import Mode, Status, Verdict
from ..ir import Graph, is_bn
from .apply import replay
from .fixpoint import analyze_folds
from .merge import MergeStep, merge_regions
from .plan import Analysis

#: Fold/merge rounds before giving up on a fixed point (each round removes nodes).
MAX_ROUNDS = 16


def analyze_reparam(graph: Graph, exclude: Iterable[str] = (), unmerged: Iterable[str] = ()) -> Analysis:
    """The ``reparam`` analysis of ``graph`` (never mutated); ``exclude``: BN ids never to fold;
    ``unmerged``: ids of nodes of ``graph`` never to merge into a region."""
    start = time.perf_counter()
    excluded = list(exclude)
    avoid = frozenset(unmerged)
    current, steps, log = graph, [], []
    last: Analysis | None = None
    refusals: list[Refusal] = []
    for _ in range(MAX_ROUNDS):
        last = analyze_folds(current, Mode.OPTIMAL, exclude=[b for b in excluded if current.has_node(b)])
        if last.steps:
            current = replay(current, last.steps)
            steps.extend(last.steps)
        regions, refusals = find_regions(current, avoid)
        current, merged = merge_regions(current, regions, len(steps))  # one rebuild per round
        log.extend(merged)
        if not regions and not last.steps:
            break
    origin = _origins(log)
    merges = effective_merges(graph, current, log, {s.bn for s in steps})
    verdicts = _verdicts(graph, current, steps, merges, last, refusals, origin, set(excluded))
    return Analysis(Mode.REPARAM, graph, current, verdicts, steps, time.perf_counter() - start,
                    merges=merges, merge_log=log, known_folded=current)


def _origins(log: list[MergeStep]) -> dict[str, tuple[str, ...]]:
    """Merged conv id -> the ids of the original nodes it replaced (nested merges flattened)."""
    origin: dict[str, tuple[str, ...]] = {}
    for m in log:
        origin[m.conv_id] = tuple(o for n in m.nodes for o in origin.get(n, (n,)))
    return origin


def effective_merges(graph: Graph, current: Graph, log: list[MergeStep], folded: set[str]) -> list[MergeStep]:
    """The merges of ``log`` still present in ``current``, in terms of the nodes of ``graph``
    (``folded``: the BN ids removed by fold steps)."""
    origin = _origins(log)
    out = []
    superseded = {n for m in log for n in m.nodes}
    for m in log:
        if m.conv_id in superseded:
            continue  # merged again later
        nodes = origin[m.conv_id]
        bns = tuple(n for n in nodes if is_bn(graph.node(n)) and n not in folded)
        out.append(MergeStep(m.conv_id, m.input, m.output, nodes, bns, current.node(m.conv_id), m.after_steps))
    return out


def _verdicts(graph: Graph, current: Graph, steps, merges: list[MergeStep], last: Analysis | None,
              refusals: list[Refusal], origin: dict[str, tuple[str, ...]],
              excluded: set[str]) -> dict[str, Verdict]:
    def expand(ids: Iterable[str]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(o for i in ids for o in origin.get(i, (i,))))

    def name(nid: str) -> str:
        return current.node(nid).name if current.has_node(nid) else graph.node(nid).name

    order = {s.bn: i for i, s in enumerate(steps)}
    step_of = {s.bn: s for s in steps}
    merged_into = {bn: m for m in merges for bn in m.bns}
    refusal_of: dict[str, Refusal] = {}
    for r in sorted(refusals, key=lambda r: -len(r.nodes)):  # the smallest region wins
        for nid in expand(r.nodes):
            refusal_of[nid] = r
    verdicts: dict[str, Verdict] = {}
    for bn in graph.bn_nodes():
        b = bn.id
        if b in step_of:
            s = step_of[b]
            verdicts[b] = Verdict(b, bn.name, Status.FOLDED, s.direction, expand(s.roots),
                                  expand(s.leaves), reason=fold_reason(s.direction, [name(r) for r in s.roots]),
                                  order=order[b])
        elif b in merged_into:
            m = merged_into[b]
            verdicts[b] = Verdict(b, bn.name, Status.MERGED, roots=m.nodes, reason=merge_reason(m.conv.name),
                                  details={"merged_into": m.conv_id, "merged_name": m.conv.name})
        else:
            verdicts[b] = _kept(graph, b, last, refusal_of.get(b), expand, b in excluded)
    return verdicts


def _kept(graph: Graph, b: str, last: Analysis | None, refusal: Refusal | None, expand,
          excluded: bool) -> Verdict:
    bn = graph.node(b)
    base = last.verdicts.get(b) if last is not None else None
    if base is None:
        base = Verdict(b, bn.name, Status.NOT_FOLDABLE, reason=NOT_FOLDED)
    blocking = base.blocking_node
    if blocking is not None and not graph.has_node(blocking):
        blocking = (expand([blocking]) or (None,))[-1]
    verdict = Verdict(b, bn.name, Status.NOT_FOLDABLE, reason_code=base.reason_code, reason=base.reason,
                      blocking_node=blocking, details=dict(base.details))
    if refusal is None or excluded:
        return verdict
    code = refusal.blocked.code
    node = refusal.blocked.node
    if node is not None and not graph.has_node(node):
        node = (expand([node]) or (None,))[-1]
    details = {**verdict.details, "merge_refused": (code.value, refusal.blocked.sentence, node),
               "region": expand(refusal.nodes)}
    return Verdict(b, bn.name, Status.NOT_FOLDABLE, reason_code=code,
                   reason=merge_refused_reason(refusal.blocked.sentence, base.reason),
                   blocking_node=node or blocking, details=details)
