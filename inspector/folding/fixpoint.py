"""Analyse → fold → re-analyse until no BN folds (DESIGN §3.5), modes ``adjacent`` and ``optimal``.

Each fold changes the graph (a BN that could absorb a map becomes an
identity), so the condition is re-checked on the current graph after each
fold, in passes, until a pass folds nothing. ``driver.analyze`` is the entry
point for every mode; mode ``reparam`` (:mod:`.reparam`) repeats this fixed
point between its merges.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping

from ..analysis.adjacent import find_adjacent
from ..analysis.condition import find_fold, shared_key_counts
from ..analysis.result import Decision, FoldStep
from ..analysis.sentences import NOT_FOLDED, ROLLED_BACK, blocked_reason, fold_reason
from ..analysis.verdict import Blocked, Mode, Reason, Status, Verdict
from ..ir import Graph, is_bn
from .apply import apply_step
from .plan import Analysis


def try_fold(graph: Graph, bn_id: str, mode: str = Mode.OPTIMAL, counts=None) -> Decision:
    """One BN on the current graph: the fold step, or the Blocked verdict per
    direction tried, and the region the decision read (both directions)."""
    if not graph.has_node(bn_id) or not is_bn(graph.node(bn_id)):
        return Decision(None, (Blocked(Reason.ALREADY_FOLDED, "already folded", bn_id),),
                        frozenset({bn_id}))
    counts = counts if counts is not None else shared_key_counts(graph)
    if mode == Mode.ADJACENT:
        return find_adjacent(graph, bn_id, counts)
    if mode not in (Mode.OPTIMAL, Mode.REPARAM):
        raise ValueError(f"unknown mode {mode!r}; use one of {[str(m) for m in Mode]}")
    failures: list[Blocked] = []
    region: frozenset[str] = frozenset()
    for direction in ("backward", "forward"):
        d = find_fold(graph, bn_id, direction, counts)
        region |= d.region
        if d.folds:
            return Decision(d.step, (), region)
        failures.extend(d.blocked)
        r = d.blocked[0]
        if r.code in (Reason.BATCH_STATS,) or (r.code == Reason.SHARED_PARAMS and r.node == bn_id):
            break  # a property of the BN itself: the other direction fails the same way
    return Decision(None, tuple(failures), region)


def fold_one(graph: Graph, bn_id: str, mode: str = Mode.OPTIMAL) -> Graph | None:
    """The graph with ``bn_id`` folded, or None if it cannot fold now."""
    d = try_fold(graph, bn_id, mode)
    return apply_step(graph, d.step) if d.step is not None else None


def analyze_folds(graph: Graph, mode: str = Mode.OPTIMAL, exclude: Iterable[str] = ()) -> Analysis:
    """Verdicts for every BN of ``graph`` in ``mode`` (adjacent or optimal), folding to a fixed point.

    In ``optimal`` mode BNs whose regions overlap (they compete: folding one
    may block another) are grouped, and for groups of up to ``SEARCH_LIMIT``
    BNs every fold order is searched for the one removing the most BNs.
    ``exclude``: BN ids never to fold (used to roll back a fold whose
    verification failed). The input graph is never mutated.
    """
    mode = Mode(mode)
    if mode == Mode.REPARAM:
        raise ValueError("analyze_folds folds only; use driver.analyze for mode reparam")
    start = time.perf_counter()
    excluded = set(exclude)
    bn_ids = [n.id for n in graph.bn_nodes()]
    candidates = [b for b in bn_ids if b not in excluded]
    run = _Run(graph, mode)
    if mode == Mode.OPTIMAL:
        for b in candidates:  # decide every BN once on the original graph: fills the cache
            run.attempt(b)
        for group in group_by_region({b: run.cache[b].region for b in candidates}):
            if 1 < len(group) <= SEARCH_LIMIT:
                for step in best_sequence(run.current, group, mode, run.counts):
                    run.commit(step)
    # Greedy passes to a fixed point over whatever is left (large groups, and
    # BNs that an earlier fold made foldable); cached decisions are reused
    # while no fold touched their region.
    folded = {s.bn for s in run.steps}
    pending = [b for b in candidates if b not in folded]
    progress = True
    while progress and pending:
        progress = False
        for bn_id in list(pending):
            d = run.attempt(bn_id)
            if d.step is not None:
                run.commit(d.step)
                pending.remove(bn_id)
                progress = True
    failures = {b: list(run.cache[b].blocked) for b in pending}
    verdicts = _verdicts(graph, bn_ids, run.steps, failures, excluded)
    return Analysis(mode, graph, run.current, verdicts, run.steps, time.perf_counter() - start)


class _Run:
    """The current graph, its fold steps, and decisions cached with their regions."""

    def __init__(self, graph: Graph, mode: str) -> None:
        self.current, self.mode, self.steps = graph, mode, []
        self.counts = shared_key_counts(graph)
        self.cache: dict[str, Decision] = {}
        self.readers: dict[str, set[str]] = {}  # node id -> BNs whose cached decision read it

    def attempt(self, bn_id: str) -> Decision:
        if bn_id not in self.cache:
            decision = try_fold(self.current, bn_id, self.mode, self.counts)
            self.cache[bn_id] = decision
            for nid in decision.region:
                self.readers.setdefault(nid, set()).add(bn_id)
        return self.cache[bn_id]

    def commit(self, step: FoldStep) -> None:
        bn = self.current.node(step.bn)
        self.current = apply_step(self.current, step, weights=False)
        self.steps.append(step)
        for key in set(bn.param_keys.values()):  # the bypassed BN no longer uses its keys
            self.counts[key] -= 1
        for nid in {step.bn, *step.emitters, *step.absorbers}:
            for b in list(self.readers.get(nid, ())):
                self._forget(b)

    def _forget(self, bn_id: str) -> None:
        decision = self.cache.pop(bn_id)
        for nid in decision.region:
            self.readers[nid].discard(bn_id)


#: Largest group of competing BNs whose fold orders are searched exhaustively.
SEARCH_LIMIT = 8
#: Fold attempts allowed per group search before settling for the best found.
SEARCH_BUDGET = 400


def group_by_region(regions: dict[str, set[str]]) -> list[list[str]]:
    """BNs grouped by overlapping regions (union-find), in the given order.

    Two BNs whose regions overlap compete: folding one can change whether the
    other folds, so their fold order matters.
    """
    parent = {b: b for b in regions}

    def root(b: str) -> str:
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        return b

    owner: dict[str, str] = {}
    for b, region in regions.items():
        for nid in region:
            if nid in owner:
                parent[root(b)] = root(owner[nid])
            else:
                owner[nid] = b
    groups: dict[str, list[str]] = {}
    for b in regions:
        groups.setdefault(root(b), []).append(b)
    return list(groups.values())


def best_sequence(graph: Graph, group: list[str], mode: str,
                  counts: Mapping[str, int] | None = None) -> list[FoldStep]:
    """The fold order within ``group`` that removes the most BNs (memoised DFS,
    bounded by ``SEARCH_BUDGET`` fold attempts). ``counts``: ``shared_key_counts(graph)``
    when the caller keeps it (each attempt then costs the BN's region, not the graph)."""
    memo: dict[frozenset, list[FoldStep]] = {}
    budget = [SEARCH_BUDGET]
    base = counts if counts is not None else shared_key_counts(graph)
    keys = {b: set(graph.node(b).param_keys.values()) for b in group}

    def dfs(g: Graph, removed: frozenset) -> list[FoldStep]:
        if removed in memo:
            return memo[removed]
        # The bypassed BNs no longer use their keys (as shared_key_counts(g) would count).
        now = _Less(base, Counter(k for b in removed for k in keys[b])) if removed else base
        best: list[FoldStep] = []
        for b in group:
            if b in removed or budget[0] <= 0:
                continue
            budget[0] -= 1
            step = try_fold(g, b, mode, now).step
            if step is None:
                continue
            seq = [step, *dfs(apply_step(g, step, weights=False), removed | {b})]
            if len(seq) > len(best):
                best = seq
                if len(best) == len(group) - len(removed):
                    break  # cannot do better
        memo[removed] = best
        return best

    return dfs(graph, frozenset())


class _Less:
    """``base[k] - minus[k]``: key counts with a few uses taken away, without a copy."""

    def __init__(self, base: Mapping[str, int], minus: Counter) -> None:
        self.base, self.minus = base, minus

    def __getitem__(self, key: str) -> int:
        return self.base[key] - self.minus[key]


def _verdicts(graph, bn_ids, steps, failures, excluded) -> dict[str, Verdict]:
    verdicts = {}
    order = {s.bn: i for i, s in enumerate(steps)}
    step_of = {s.bn: s for s in steps}
    for bn_id in bn_ids:
        node = graph.node(bn_id)
        if bn_id in step_of:
            s = step_of[bn_id]
            verdicts[bn_id] = Verdict(
                bn_id, node.name, Status.FOLDED, s.direction, s.roots, s.leaves,
                reason=fold_reason(s.direction, [graph.node(r).name for r in s.roots],
                                   [graph.node(n).name for n in s.leaves if n != s.bn]),
                order=order[bn_id],
            )
        elif bn_id in excluded:
            verdicts[bn_id] = Verdict(
                bn_id, node.name, Status.NOT_FOLDABLE, reason_code=Reason.VERIFICATION_FAILED,
                reason=ROLLED_BACK,
            )
        else:
            verdicts[bn_id] = _failed_verdict(graph, bn_id, failures.get(bn_id, []))
    return verdicts


def _failed_verdict(graph: Graph, bn_id: str, failures: list[Blocked]) -> Verdict:
    node = graph.node(bn_id)
    if not failures:
        return Verdict(bn_id, node.name, Status.NOT_FOLDABLE, reason_code=Reason.CONFLICT,
                       reason=NOT_FOLDED)
    main = min(failures, key=lambda b: b.code.priority)  # the most specific reason
    sentence = blocked_reason([b.sentence for b in failures])
    return Verdict(
        bn_id, node.name, Status.NOT_FOLDABLE, reason_code=main.code, reason=sentence,
        blocking_node=main.node, details={"blocked": [(b.code.value, b.sentence, b.node) for b in failures]},
    )
