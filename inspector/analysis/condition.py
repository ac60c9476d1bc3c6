"""The folding condition: propagate a BN's affine map to a fixed point.

This generalises the paper's roots/leaves closure to per-channel precision.
Removing BN ``B`` (``B(y) = a*y + c``) requires a transform on one tensor:

* backward: B's input must become ``a*y + c`` (then B is an identity);
* forward: B's output now carries B's input, i.e. ``(z - c) / a``.

From there each transformed tensor must be *realised* by its producer
(an expressive producer "emits" it by editing its weights; a transparent op
passes a requirement to its inputs) and *accepted* by every consumer (an
expressive consumer "absorbs" it; a transparent op passes it on). Emitters
and absorbers are the paper's roots and leaves. Any blocking node, graph
boundary, inexact rule or conflicting requirement stops the fold with a
:class:`Blocked` verdict naming the node.
"""

from __future__ import annotations

from collections import Counter, deque

import numpy as np

from ..ir import EXPRESSIVE_OPS, Graph, Node, is_bn
from .patterns import PATTERN_WORDS, activation_pattern
from .result import Decision, FoldStep, Transform
from .transparency import RULES, is_identity
from .verdict import Blocked, Reason

#: Why each blocking op (``ir.BLOCKING_OPS`` but the graph boundary) stops a fold, and its
#: words in the sentence ("reaches non-linearity `relu1`").
BLOCK_REASONS: dict[str, tuple[Reason, str]] = {
    "activation": (Reason.NONLINEARITY, "non-linearity"),
    "mul": (Reason.DATA_DEPENDENT_MUL, "data-dependent multiply"),
    "norm": (Reason.NORMALIZATION, "data-dependent normalisation"),
    "other": (Reason.UNKNOWN_OP, "unsupported op"),
}


def bn_affine(node: Node) -> tuple[np.ndarray, np.ndarray]:
    """``(a, c)`` with ``BN(x) = a*x + c`` per channel, in float64.

    a = gamma / sqrt(var + eps), c = beta - a * mean.
    """
    p = node.params
    if node.op == "affine":
        return p["scale"].astype(np.float64), p["shift"].astype(np.float64)
    a = p["gamma"].astype(np.float64) / np.sqrt(p["var"].astype(np.float64) + node.attrs.get("eps", 1e-5))
    return a, p["beta"].astype(np.float64) - a * p["mean"].astype(np.float64)


def shared_key_counts(graph: Graph) -> Counter:
    """How many nodes use each parameter storage key."""
    return Counter(k for n in graph.nodes for k in set(n.param_keys.values()))


def shares_params(node: Node, counts: Counter) -> bool:
    return any(counts[k] > 1 for k in set(node.param_keys.values()))


def channel_axis(graph: Graph, node: Node, tensor: str) -> int:
    """The axis of ``tensor`` that ``node`` treats as channels/features."""
    if node.op == "linear":
        shape = graph.shape(tensor)
        return len(shape) - 1 if shape else 1
    return int(node.attrs.get("axis", 1))


def check_candidate(graph: Graph, bn: Node, counts: Counter) -> Blocked | None:
    """Checks on the BN itself, common to every mode and direction."""
    if bn.op == "other":  # a BN layer the frontend could not map (see ir.is_bn)
        code = Reason(bn.attrs.get("bn_layer", Reason.UNKNOWN_OP.value))
        why = bn.attrs.get("bn_why") or "its form cannot be folded"
        return Blocked(code, f"`{bn.name}`: {why}", bn.id)
    if bn.attrs.get("uses_batch_stats"):
        return Blocked(Reason.BATCH_STATS, "uses batch statistics at inference", bn.id)
    if shares_params(bn, counts):
        return Blocked(Reason.SHARED_PARAMS, f"`{bn.name}` shares its parameters with another call", bn.id)
    return None


def find_fold(graph: Graph, bn_id: str, direction: str, counts: Counter | None = None) -> Decision:
    """Try to fold BN ``bn_id`` in ``direction`` ("backward" | "forward").

    The decision's region holds every node the map reached.
    """
    counts = counts if counts is not None else shared_key_counts(graph)
    bn = graph.node(bn_id)
    blocked = check_candidate(graph, bn, counts)
    if blocked:
        return Decision(None, (blocked,), frozenset({bn_id}))
    prop = _Propagation(graph, bn, direction, counts)
    result = prop.run()
    region = frozenset(prop.visited)
    if isinstance(result, Blocked):
        return Decision(None, (result,), region)
    return Decision(result, (), region)


class _Propagation:
    def __init__(self, graph: Graph, bn: Node, direction: str, counts: Counter) -> None:
        self.g, self.bn, self.direction, self.counts = graph, bn, direction, counts
        self.req: dict[str, Transform] = {}
        self.emitters: dict[str, Transform] = {}
        self.absorbers: dict[str, Transform] = {}
        self.queue: deque[str] = deque()
        self.known_count: dict[str, int] = {}  # node id -> how many of its tensors have a requirement
        self.solved_with: dict[str, int | None] = {}  # node id -> known_count when last solved
        self.visited: set[str] = {bn.id}  # every node the map reached (its region)

    def run(self) -> FoldStep | Blocked:
        bn, (a, c) = self.bn, bn_affine(self.bn)
        axis = channel_axis(self.g, bn, bn.inputs[0])
        x, z = bn.inputs[0], bn.outputs[0]
        n = len(a)
        if self.direction == "backward":
            start, fixed = (x, Transform(axis, a, c)), z
        else:
            if np.any(a == 0):
                k = int(np.sum(a == 0))
                return Blocked(Reason.ZERO_SCALE, f"zero scale on {k} channel(s) cannot be undone", bn.id)
            start, fixed = (z, Transform(axis, 1.0 / a, -c / a)), x
        self._set(fixed, Transform(axis, np.ones(n), np.zeros(n)))  # B's other side never changes
        self._assign(*start)
        while self.queue:
            blocked = self._process(self.queue.popleft())
            if blocked:
                return blocked
        return self._step(a, c)

    # -- bookkeeping --------------------------------------------------------
    def _assign(self, tensor: str, t: Transform) -> Blocked | None:
        old = self.req.get(tensor)
        if old is None:
            self._set(tensor, t)
            if not is_identity(t):
                self.queue.append(tensor)
            return None
        if old.axis != t.axis or not (_close(old.scale, t.scale) and _close(old.shift, t.shift)):
            where = self.g.producer(tensor)
            name = where.name if where else tensor
            return Blocked(Reason.CONFLICT, f"conflicting maps meet at `{name}`", where.id if where else None)
        return None

    def _set(self, tensor: str, t: Transform) -> None:
        self.req[tensor] = t
        known = self.known_count
        for nid in self.g.consumer_ids(tensor):
            known[nid] = known.get(nid, 0) + 1
        producer = self.g.producer_id(tensor)
        if producer is not None:
            known[producer] = known.get(producer, 0) + 1

    def _process(self, tensor: str) -> Blocked | None:
        t = self.req[tensor]
        producer = self.g.producer(tensor)
        if producer is not None and producer.id != self.bn.id:
            blocked = self._realise(producer, tensor, t)
            if blocked:
                return blocked
        for consumer in self.g.consumers(tensor):
            if consumer.id == self.bn.id:
                continue
            blocked = self._accept(consumer, tensor, t)
            if blocked:
                return blocked
        return None

    # -- the two sides of a transformed tensor --------------------------------
    def _realise(self, node: Node, tensor: str, t: Transform) -> Blocked | None:
        self.visited.add(node.id)
        if node.op in RULES:
            return self._solve(node)
        if _is_expressive(node):
            if node.id in self.absorbers:
                return _overlap(node)
            if (fused := _fused(self.g, node)) is not None:
                return fused
            return (self._check_layer(node, tensor, t) or _check_affine_ops(node, t, emit=True)
                    or self._record(self.emitters, node, t))
        if node.op == "input":
            return Blocked(Reason.BOUNDARY, f"reaches the graph input `{node.name}`", node.id)
        return _blocking(node)

    def _accept(self, node: Node, tensor: str, t: Transform) -> Blocked | None:
        self.visited.add(node.id)
        if node.op in RULES:
            return self._solve(node)
        if _is_expressive(node):
            if node.id in self.emitters:
                return _overlap(node)
            if (fused := _fused(self.g, node)) is not None:
                return fused
            return (
                self._check_layer(node, tensor, t)
                or _check_absorb(node, t)
                or _check_affine_ops(node, t, emit=False)
                or self._record(self.absorbers, node, t)
            )
        if node.op == "output":
            return Blocked(Reason.BOUNDARY, f"reaches the graph output `{node.name}`", node.id)
        blocked = _blocking(node)
        before = self.g.producer(tensor)
        if before is not None and before.attrs.get("folded_from"):
            blocked = Blocked(
                blocked.code,
                f"{blocked.sentence}, reached through `{before.name}`: that BN reads the same "
                "tensor and was folded first, so it can no longer undo this BN's map (of the "
                "BNs that read one tensor, only one can fold)",
                blocked.node,
            )
        return blocked

    def _solve(self, node: Node) -> Blocked | None:
        if self.solved_with.get(node.id) == self.known_count.get(node.id):
            return None  # nothing new since this node was last solved
        known = {t: self.req[t] for t in (*node.inputs, *node.outputs) if t in self.req}
        solved = RULES[node.op](self.g, node, known)
        if isinstance(solved, Blocked):
            return solved
        for name, tr in solved.items():
            if known.get(name) is tr:
                continue  # unchanged requirement handed back by the rule
            blocked = self._assign(name, tr)
            if blocked:
                return blocked
        self.solved_with[node.id] = self.known_count.get(node.id)
        return None

    def _check_layer(self, node: Node, tensor: str, t: Transform) -> Blocked | None:
        if node.attrs.get("uses_batch_stats"):
            return Blocked(Reason.BATCH_STATS, f"reaches `{node.name}` which uses batch statistics", node.id)
        if shares_params(node, self.counts):
            return Blocked(
                Reason.SHARED_PARAMS, f"`{node.name}` shares its parameters with another layer or call", node.id
            )
        if t.axis != channel_axis(self.g, node, tensor):
            return Blocked(
                Reason.CHANNEL_MAPPING,
                f"the map reaches `{node.name}` on axis {t.axis}, not its channel axis",
                node.id,
            )
        return None

    @staticmethod
    def _record(table: dict[str, Transform], node: Node, t: Transform) -> None:
        table[node.id] = t

    def _step(self, a: np.ndarray, c: np.ndarray) -> FoldStep:
        emit, absorb = tuple(self.emitters), tuple(self.absorbers)
        if self.direction == "backward":
            roots, leaves = emit, (*absorb, self.bn.id)
        else:
            roots, leaves = absorb, (*emit, self.bn.id)
        return FoldStep(self.bn.id, self.direction, a, c, dict(self.emitters), dict(self.absorbers), roots, leaves)


def _is_expressive(node: Node) -> bool:
    return node.op in EXPRESSIVE_OPS


def _fused(graph: Graph, node: Node) -> Blocked | None:
    """A scalar of an activation written out op by op is part of that activation (DESIGN §3.8)."""
    pattern = activation_pattern(graph, node)
    if pattern is None:
        return None
    return Blocked(Reason.FUSED_ACTIVATION,
                   f"reaches `{node.name}`, a scalar of {PATTERN_WORDS[pattern]} that runtimes fuse "
                   "into one op: folding into it would break the fusion", node.id)


def _check_absorb(node: Node, t: Transform) -> Blocked | None:
    """Exactness of undoing ``s*x + t`` at a consumer's input."""
    zero = 0 if t.scale.all() else int(np.count_nonzero(t.scale == 0))  # .all(): NaN counts as non-zero
    if zero:
        return Blocked(
            Reason.ZERO_SCALE, f"zero scale on {zero} channel(s) cannot be undone by `{node.name}`", node.id
        )
    if not t.shift.any():  # ndarray method: np.any's dispatch costs more than the test
        return None
    if node.op == "conv" and node.attrs.get("padding_mode", "zeros") == "zeros":
        pads = [p for pair in node.attrs.get("padding", ()) for p in pair]
        if any(pads):
            return Blocked(
                Reason.ZERO_PADDING,
                f"reaches `{node.name}` which zero-pads (padding={_fmt_pad(node)}) while the shift is non-zero",
                node.id,
            )
    if node.op == "conv_transpose":
        return Blocked(
            Reason.ZERO_PADDING,
            f"reaches transposed conv `{node.name}`, whose borders break a non-zero shift",
            node.id,
        )
    return None


def _check_affine_ops(node: Node, t: Transform, emit: bool) -> Blocked | None:
    """An affine that is not a BN keeps the ops it has (DESIGN §3.8).

    A part with no storage key (no Mul for ``scale``, no Add for ``shift``, or a
    fixed ``k - x``) must keep its value: a fold that needs it changed would write
    the BN's arithmetic back as a new per-channel Mul or Add, a rename, not a fold.
    Emitting ``s*y + t``: scale' = s*scale, shift' = s*shift + t; absorbing it:
    scale' = scale/s, shift' = shift - scale*t/s.
    """
    if node.op != "affine" or is_bn(node):
        return None
    scale = node.params["scale"].astype(np.float64)
    shift = node.params["shift"].astype(np.float64)
    if emit:
        new = {"scale": t.scale * scale, "shift": t.scale * shift + t.shift}
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            new = {"scale": scale / t.scale, "shift": shift - scale * t.shift / t.scale}
    old = {"scale": scale, "shift": shift}
    for part, op in (("scale", "multiply"), ("shift", "add")):
        if part not in node.param_keys and not _close(new[part], old[part]):
            return Blocked(
                Reason.RENAME,
                f"`{node.name}` has no per-channel {op} of its own: folding into it would "
                "add one back, moving the BN's arithmetic instead of removing it",
                node.id,
            )
    return None


def _fmt_pad(node: Node) -> str:
    pads = node.attrs.get("padding", ())
    flat = {p for pair in pads for p in pair}
    return str(flat.pop()) if len(flat) == 1 else str([tuple(p) for p in pads])


def _blocking(node: Node) -> Blocked:
    if node.attrs.get("shape_derived"):
        return Blocked(Reason.SHAPE_DEPENDENT, f"reaches `{node.name}` ({node.attrs.get('op_type')}),"
                       " whose constant is computed from a dynamic input size", node.id)
    code, what = BLOCK_REASONS.get(node.op, (Reason.UNKNOWN_OP, "unsupported op"))
    return Blocked(code, f"reaches {what} `{node.name}` ({node.kind})", node.id)


def _overlap(node: Node) -> Blocked:
    return Blocked(Reason.OVERLAP, f"roots and leaves overlap at `{node.name}`", node.id)


def _close(x: np.ndarray, y: np.ndarray) -> bool:
    if x is y:
        return True
    if x.shape != y.shape:
        return False
    diff = np.abs(x - y)
    return bool((diff <= 1e-12 + 1e-9 * np.abs(y)).all())


__all__ = ["bn_affine", "find_fold", "check_candidate", "channel_axis", "shared_key_counts", "is_bn"]
