"""Random small IR DAGs (property tests, the Learn page's quiz).

:func:`random_dag` takes its random choices from a :class:`Draw`:
:class:`RngDraw` (a seeded numpy generator) here, a hypothesis ``draw`` in
the tests (``tests.graph_factory.random_dags``, so that hypothesis can shrink
the graphs). Numpy only.

    graph = random_dag(RngDraw(seed=3), min_ops=3, max_ops=7)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from ..ir import is_bn
from .graph import GraphBuilder
from .script import ScriptedGraph


class Draw(Protocol):
    """The random choices :func:`random_dag` makes (inclusive integer bounds)."""

    def integers(self, lo: int, hi: int) -> int: ...

    def sampled_from(self, options: Sequence[Any]) -> Any: ...

    def booleans(self) -> bool: ...

    def subset(self, options: Sequence[Any], min_size: int, max_size: int) -> list[Any]: ...


class RngDraw:
    """:class:`Draw` from a seeded numpy generator."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def integers(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))

    def sampled_from(self, options: Sequence[Any]) -> Any:
        return options[int(self.rng.integers(len(options)))]

    def booleans(self) -> bool:
        return bool(self.rng.integers(2))

    def subset(self, options: Sequence[Any], min_size: int, max_size: int) -> list[Any]:
        options = list(dict.fromkeys(options))
        k = min(self.integers(min_size, max_size), len(options))
        idx = self.rng.choice(len(options), size=k, replace=False)
        return [options[int(i)] for i in idx]


#: Op menu for ``random_dag``; "bn" is listed first (hypothesis shrinks towards it)
#: and several times (BNs are drawn often).
_MENU = ("bn", "conv", "bn", "relu", "conv", "add", "concat", "bn", "maxpool", "avgpool",
         "split", "identity", "conv_transpose")
#: More ops for ``random_dag(extended=True)``: padding modes and values, strides, resize,
#: slices (steps, negative too), ceil-mode pools, BN-like affines, channels-last linear
#: layers, flatten heads, blocking ops, and what ``reparam`` merges beyond sums: a zero
#: pad before an unpadded even kernel, conv → BN → 1×1 conv → BN, parallel linear heads.
_EXTRA_MENU = ("pad", "resize", "slice", "conv_mode", "conv_s2", "convT_s2", "avgpool_pad",
               "affine", "channels_last", "head", "act", "mul", "pool_ceil",
               "pad_conv", "conv_seq", "heads")
MAX_CHANNELS = 8
MAX_SPATIAL = 8


def random_dag(d: Draw, min_ops: int = 3, max_ops: int = 12, max_bns: int = 6,
               extended: bool = False) -> ScriptedGraph:
    """Random IR DAGs over conv/conv_transpose/bn/relu/add/concat/pools/split/identity.

    One input (1, C, 6, 6), C in 2..4; ``min_ops``..``max_ops`` ops each reading
    one or two earlier tensors of compatible shape; 1..``max_bns`` BNs (some
    with negative gammas); 1..2 chosen outputs plus every unconsumed tensor.
    ``extended`` adds the ops of ``_EXTRA_MENU``.
    """
    b = GraphBuilder(seed=d.integers(0, 2**16), name="random_dag")
    c = d.integers(2, 4)
    pool = [b.input((1, c, 6, 6))]
    state = {"bn": 0}
    menu = _MENU + _EXTRA_MENU if extended else _MENU

    def pick(ok: Callable[[tuple[int, ...]], bool] = lambda s: True) -> str | None:
        """A tensor satisfying ``ok``: unconsumed ones first, newest first (shrinks there)."""
        used = {t for n in b.nodes for t in n.inputs}
        cands = [t for t in pool if ok(b.shape(t))]
        cands = [t for t in cands if t in used] + [t for t in cands if t not in used]
        if not cands:
            return None
        branch = d.integers(0, 2) == 2  # one time in three: any earlier tensor
        return cands[-1 - (d.integers(0, len(cands) - 1) if branch else 0)]

    def bn(x: str, axis: int = 1) -> str:
        state["bn"] += 1
        return b.bn(x, negative=d.integers(0, 3) == 0, axis=axis)

    n_ops = d.integers(min_ops, max_ops)
    for _ in range(n_ops):
        op = d.sampled_from(menu)
        if op in ("bn", "affine") and state["bn"] >= max_bns:
            op = "identity"
        x = pick()
        pool.extend(_draw_op(d, b, op, x, pick, bn, state["bn"] < max_bns))
        state["bn"] = sum(is_bn(n) for n in b.nodes)  # BN-like affines count too
    if state["bn"] == 0:
        pool.append(bn(pick()))
    chosen = d.subset(pool[1:] or pool, 1, 2)
    for t in chosen:
        b.output(t)
    for t in b.dangling():
        if t not in chosen:
            b.output(t)
    if pool[0] not in {t for n in b.nodes for t in n.inputs}:
        b.output(pool[0])
    return b.build()


def _draw_op(d: Draw, b: GraphBuilder, op: str, x: str, pick: Callable,
             bn: Callable, bn_left: bool) -> list[str]:
    """Add one random op reading ``x`` (and maybe another tensor); the new NCHW tensors."""
    _, cx, h, w = b.shape(x)
    small, grow = min(h, w), max(h, w) + 2 <= MAX_SPATIAL
    if op == "bn":
        return [bn(x)]
    if op == "conv":
        kinds = ["1x1", "3x3p1", "3x3p0"] if small >= 3 else ["1x1", "3x3p1"]
        k, pad = {"1x1": (1, 0), "3x3p1": (3, 1), "3x3p0": (3, 0)}[d.sampled_from(kinds)]
        if d.booleans():
            return [b.conv(x, d.integers(2, 4), k=k, pad=pad)]
        return [b.conv(x, cx, k=k, pad=pad, groups=cx)]
    if op == "conv_transpose":
        k, pad = d.sampled_from([(1, 0), (3, 1)] + ([(3, 0)] if grow else []))
        return [b.conv_transpose(x, d.integers(2, 4), k=k, pad=pad)]
    if op == "relu":
        return [b.relu(x)]
    if op == "add":
        sx = b.shape(x)
        return [b.add(x, pick(lambda s, sx=sx: s == sx))]
    if op == "mul":
        sx = b.shape(x)
        return [b.mul(x, pick(lambda s, sx=sx: s == sx))]
    if op == "concat":
        y = pick(lambda s, hw=(h, w), cx=cx: s[2:] == hw and s[1] + cx <= MAX_CHANNELS)
        return [b.concat([x, y])] if y is not None else [b.identity(x)]
    if op == "maxpool":
        if small >= 2 and d.booleans():
            return [b.maxpool(x, 2, 2)]
        return [b.maxpool(x, 3, 1, pad=1)]
    if op == "avgpool":
        return [b.avgpool(x, 2, 2)] if small >= 2 else [b.identity(x)]
    if op == "split" and cx >= 2:
        first = d.integers(1, cx - 1)
        return b.split(x, [first, cx - first])
    # -- extended vocabulary --
    if op == "pad" and grow and small >= 2:
        mode = d.sampled_from(["constant", "reflect", "replicate", "circular"])
        value = d.sampled_from([0.0, 0.0, 1.5]) if mode == "constant" else 0.0
        return [b.pad(x, [(1, 1), (1, 1)], mode=mode, value=value)]
    if op == "resize" and 2 * max(h, w) <= MAX_SPATIAL:
        return [b.resize(x, 2)]
    if op == "slice" and cx >= 2:
        step = d.sampled_from([1, 1, 2, -1, -2])
        if step < 0:  # from ``start`` down to channel 0 (a flip when start = cx - 1)
            return [b.slice(x, d.integers(1, cx - 1), None, step)]
        start = d.integers(0, cx - 2)
        return [b.slice(x, start, d.integers(start + 1, cx), step)]
    if op == "pool_ceil" and small >= 3:  # ceil_mode: partial windows at the border
        pad = d.integers(0, 1)
        if d.booleans():
            return [b.maxpool(x, 3, 2, pad=pad, ceil_mode=True)]
        return [b.avgpool(x, 3, 2, pad=pad, ceil_mode=True, count_include_pad=d.booleans())]
    if op == "conv_mode" and small >= 2:
        mode = d.sampled_from(["reflect", "replicate", "circular"])
        groups = d.sampled_from([1, cx])
        return [b.conv(x, cx, k=3, pad=1, groups=groups, padding_mode=mode)]
    if op == "conv_s2" and small >= 2:
        return [b.conv(x, d.integers(2, 4), k=3, pad=1, stride=2)]
    if op == "convT_s2" and 2 * max(h, w) <= MAX_SPATIAL:
        if d.booleans():
            return [b.conv_transpose(x, d.integers(2, 4), k=2, stride=2)]
        return [b.conv_transpose(x, d.integers(2, 4), k=3, stride=2, pad=1,
                                 output_padding=1)]
    if op == "avgpool_pad":
        return [b.avgpool(x, 3, 1, pad=1, count_include_pad=d.booleans())]
    if op == "affine":
        return [b.affine(x, bn_like=True, negative=d.integers(0, 3) == 0)]
    if op == "channels_last":
        y = b.transpose(x, (0, 2, 3, 1))
        if bn_left and d.booleans():
            y = bn(y, axis=3)
        y = b.linear(y, d.integers(2, 4))
        return [b.transpose(y, (0, 3, 1, 2))]
    if op == "head":
        y = b.flatten(x)
        if bn_left and d.booleans():
            y = bn(y)
        b.output(b.linear(y, 3))
        return []
    if op == "pad_conv" and grow:  # exporters' 'same' padding of an even kernel
        k = d.sampled_from([2, 4]) if max(h, w) + 3 <= MAX_SPATIAL else 2
        y = b.conv(b.pad(x, [(k // 2 - 1, k // 2)] * 2), cx, k=k, pad=0)
        if bn_left and d.booleans():
            y = bn(y)
        return [b.add(y, b.conv(x, cx, 1)) if d.booleans() else y]
    if op == "conv_seq":  # k×k conv → BN → 1×1 conv → BN, no sum after it
        y = b.conv(x, d.integers(2, 4), k=3, pad=1, bias=d.booleans())
        if bn_left and d.booleans():
            y = bn(y)
        return [b.conv(y, d.integers(2, 4), k=1)]
    if op == "heads":  # (head(x) + head_dist(x)) / 2 on a flattened tensor
        y = b.flatten(x)
        heads = [b.linear(bn(y) if bn_left and d.booleans() else y, 3) for _ in range(2)]
        b.output(b.affine(b.add(*heads), scalar=0.5))
        return []
    if op == "act":
        return [b.act(x, d.sampled_from(["silu", "sigmoid", "leaky_relu"]))]
    return [b.identity(x)]
