"""Transparency rules: how a per-channel affine map crosses each transparent op.

Each rule is a small pure function ``solve(graph, node, known) -> dict | Blocked``.
``known`` maps some of the node's tensors (inputs or outputs) to the
:class:`Transform` they must carry; the rule returns the transform every other
tensor of the node must then carry (``x -> s*x + t`` along one axis), or a
:class:`Blocked` verdict when the map cannot cross exactly. The propagation in
``condition.py`` assigns these and detects conflicts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..ir import EXPRESSIVE_OPS, Graph, Node
from .result import Transform
from .verdict import Blocked, Reason

Known = dict[str, Transform]
Solved = dict[str, Transform]
Rule = Callable[[Graph, Node, Known], "Solved | Blocked"]


def is_identity(t: Transform) -> bool:
    try:  # ndarray methods: a tenth of np.all's cost on the propagation's small vectors
        return bool((t.scale == 1.0).all() and not t.shift.any())
    except AttributeError:  # plain Python numbers
        return bool(np.all(t.scale == 1.0) and np.all(t.shift == 0.0))


def _first(known: Known, names: tuple[str, ...]) -> tuple[str, Transform] | None:
    for n in names:
        if n in known:
            return n, known[n]
    return None


def _mapping_blocked(node: Node, why: str) -> Blocked:
    return Blocked(Reason.CHANNEL_MAPPING, f"cannot track the channel axis through `{node.name}` ({why})", node.id)


# -- ops that keep every axis and commute with the whole map -----------------
def solve_passthrough(graph: Graph, node: Node, known: Known) -> Solved | Blocked:
    """identity: y = f(x) with the same map on x and y."""
    hit = _first(known, (node.inputs[0], node.outputs[0]))
    assert hit is not None
    _, t = hit
    return {node.inputs[0]: t, node.outputs[0]: t}


def _channel_passthrough(
    graph: Graph, node: Node, known: Known, why: str
) -> tuple[Solved, Transform] | Blocked:
    """Spatial ops (pools, resize): the same map on input and output, on axis 1 only."""
    solved = solve_passthrough(graph, node, known)
    t = next(iter(solved.values()))
    if t.axis != 1:
        return _mapping_blocked(node, why)
    return solved, t


def solve_resize(graph: Graph, node: Node, known: Known) -> Solved | Blocked:
    """Interpolation weights sum to 1, so the map commutes if it is on the channel axis.

    That holds for nearest, linear and cubic (``exclude_outside`` 0 or 1, with or
    without antialiasing) under every coordinate mode, except for samples that fall
    outside the input: ``tf_crop_and_resize`` with an ROI beyond [0, 1] writes
    ``extrapolation_value`` v there, so, as for constant padding, ``s*v + t = v``
    must hold on every channel.
    """
    checked = _channel_passthrough(graph, node, known, "the map is on a resized axis")
    if isinstance(checked, Blocked):
        return checked
    solved, t = checked
    if node.attrs.get("extrapolates"):
        v = float(node.attrs.get("extrapolation_value", 0.0))
        if not np.allclose(t.scale * v + t.shift, v, rtol=0, atol=1e-12):
            return Blocked(
                Reason.EXTRAPOLATION,
                f"`{node.name}` fills samples outside its input with {v:g} (its ROI extrapolates), "
                "which the map does not preserve",
                node.id,
            )
    return solved


def solve_pool_max(graph: Graph, node: Node, known: Known) -> Solved | Blocked:
    """max(s*x + t) = s*max(x) + t only where s > 0 (a negative s turns max into min)."""
    checked = _channel_passthrough(graph, node, known, "the map is not on the channel axis")
    if isinstance(checked, Blocked):
        return checked
    solved, t = checked
    bad = int(np.sum(t.scale < 0))  # s = 0 is fine: max(0*x + t) = t
    if bad:
        return Blocked(
            Reason.NEGATIVE_SCALE,
            f"negative scale on {bad} channel{'s' * (bad > 1)} cannot cross max-pool `{node.name}`",
            node.id,
        )
    return solved


def solve_pool_avg(graph: Graph, node: Node, known: Known) -> Solved | Blocked:
    """Averages commute with s*x + t unless zero padding is counted in the mean."""
    checked = _channel_passthrough(graph, node, known, "the map is not on the channel axis")
    if isinstance(checked, Blocked):
        return checked
    solved, t = checked
    padded = any(p for pair in node.attrs.get("padding", ()) for p in pair)
    if padded and node.attrs.get("count_include_pad", True) and np.any(t.shift != 0):
        return Blocked(
            Reason.ZERO_PADDING,
            f"average pool `{node.name}` averages zero padding while the shift is non-zero",
            node.id,
        )
    return solved


def solve_pad(graph: Graph, node: Node, known: Known) -> Solved | Blocked:
    """reflect/replicate/circular copy values (commute); constant v needs s*v + t = v."""
    solved = solve_passthrough(graph, node, known)
    t = next(iter(solved.values()))
    pads = node.attrs.get("pads", ())
    if t.axis < len(pads) and any(pads[t.axis]):
        return _mapping_blocked(node, "it pads the channel axis")
    grows = any(p > 0 for pair in pads for p in pair)  # negative pads only crop
    if node.attrs.get("mode", "constant") == "constant" and grows:
        v = float(node.attrs.get("value", 0.0))
        if not np.allclose(t.scale * v + t.shift, v, rtol=0, atol=1e-12):
            return Blocked(
                Reason.ZERO_PADDING,
                f"`{node.name}` pads with the constant {v:g}, which the shifted map does not preserve",
                node.id,
            )
    return solved


# -- elementwise sum and difference: scales equal, shifts add (or subtract) -----
def solve_add(graph: Graph, node: Node, known: Known) -> Solved | Blocked:
    """z = x + y: all three carry scale s; shift(z) = shift(x) + shift(y) (counted once)."""
    return _solve_sum(graph, node, known, 1.0)


def solve_sub(graph: Graph, node: Node, known: Known) -> Solved | Blocked:
    """z = x - y: as linear as a sum. All three carry scale s and
    shift(z) = shift(x) - shift(y); ``x - x`` (always zero) carries no map."""
    if node.inputs[0] == node.inputs[1]:
        return _mapping_blocked(node, "a tensor minus itself")
    return _solve_sum(graph, node, known, -1.0)


def _solve_sum(graph: Graph, node: Node, known: Known, sign: float) -> Solved | Blocked:
    """z = x + sign * y (sign = +-1), so shift(z) = shift(x) + sign * shift(y)."""
    x, y = node.inputs[0], node.inputs[1]
    z = node.outputs[0]
    if graph.shape(x) != graph.shape(y):
        return _mapping_blocked(node, f"broadcasting {node.op}")
    ref = known.get(z) or known.get(x) or known.get(y)
    assert ref is not None
    zero = np.zeros_like(ref.shift)
    if x == y:
        tx = known.get(x)
        if tx is not None:
            return {x: tx, z: Transform(tx.axis, tx.scale, 2 * tx.shift)}
        tz = known[z]
        return {x: Transform(tz.axis, tz.scale, tz.shift / 2), z: tz}
    scales = [known[t].scale for t in (x, y, z) if t in known]
    if any(sc.shape != scales[0].shape or not np.allclose(sc, scales[0], rtol=1e-9, atol=1e-12)
           for sc in scales[1:]):
        return Blocked(Reason.CONFLICT, f"operands of `{node.name}` would need different scales", node.id)
    out: Solved = {}
    if z in known:
        tz = known[z]
        if x in known:
            out[y] = Transform(tz.axis, tz.scale, sign * (tz.shift - known[x].shift))
        elif y in known:
            out[x] = Transform(tz.axis, tz.scale, tz.shift - sign * known[y].shift)
        else:
            # Put the shift on one operand only; prefer a linear producer (a bias).
            first, second = (x, y) if _takes_bias(graph, x) or not _takes_bias(graph, y) else (y, x)
            out[first] = Transform(tz.axis, tz.scale, tz.shift * (sign if first == y else 1.0))
            out[second] = Transform(tz.axis, tz.scale, zero)
        return out
    if x in known and y in known:
        tx, ty = known[x], known[y]
        out[z] = Transform(tx.axis, tx.scale, tx.shift + sign * ty.shift)
        return out
    src, other = (x, y) if x in known else (y, x)
    ts = known[src]
    out[other] = Transform(ts.axis, ts.scale, zero)
    out[z] = ts if src == x else Transform(ts.axis, ts.scale, sign * ts.shift)
    return out


def _takes_bias(graph: Graph, tensor: str) -> bool:
    p = graph.producer(tensor)
    return p is not None and p.op in EXPRESSIVE_OPS


# -- layout ops ----------------------------------------------------------------
def solve_transpose(graph: Graph, node: Node, known: Known) -> Solved | Blocked:
    """Axis j of the output is axis perm[j] of the input; vectors are unchanged."""
    perm = list(node.attrs["perm"])
    x, y = node.inputs[0], node.outputs[0]
    if x in known:
        t = known[x]
        return {x: t, y: Transform(perm.index(t.axis), t.scale, t.shift)}
    t = known[y]
    return {x: Transform(perm[t.axis], t.scale, t.shift), y: t}


def solve_reshape(graph: Graph, node: Node, known: Known) -> Solved | Blocked:
    """Track the mapped axis through a reshape via prefix products.

    An axis of size n whose preceding dims multiply to P maps to the output axis
    with the same prefix product P: same size (kept), size n*m (merged with the
    following dims: each entry repeats m times, e.g. NCHW flatten) or size n/m
    (split: the vector must be constant in blocks of m).
    """
    x, y = node.inputs[0], node.outputs[0]
    sx, sy = graph.shape(x), graph.shape(y)
    if sx is None or sy is None:
        return _mapping_blocked(node, "unknown shapes")
    src, dst, s_src, s_dst = (x, y, sx, sy) if x in known else (y, x, sy, sx)
    t = known[src]
    mapped = _map_axis(tuple(s_src), tuple(s_dst), t)
    if mapped is None:
        return _mapping_blocked(node, f"shape {tuple(s_src)} -> {tuple(s_dst)}")
    return {src: t, dst: mapped}


def _map_axis(src: tuple[int, ...], dst: tuple[int, ...], t: Transform) -> Transform | None:
    n = src[t.axis]
    prefix = int(np.prod(src[: t.axis], dtype=np.int64))
    candidates = [j for j in range(len(dst)) if int(np.prod(dst[:j], dtype=np.int64)) == prefix]
    # Prefer an axis of the same size, then a merge, then a split.
    for j in candidates:
        if dst[j] == n:
            return Transform(j, t.scale, t.shift)
    for j in candidates:
        m, rem = divmod(dst[j], n)
        if n and rem == 0 and m > 1:
            return Transform(j, np.repeat(t.scale, m), np.repeat(t.shift, m))
    for j in candidates:
        if dst[j] == 0:
            continue
        m, rem = divmod(n, dst[j])
        if rem == 0 and m > 1:
            s, sh = t.scale.reshape(-1, m), t.shift.reshape(-1, m)
            if np.all(s == s[:, :1]) and np.all(sh == sh[:, :1]):
                return Transform(j, s[:, 0].copy(), sh[:, 0].copy())
    return None


def solve_concat(graph: Graph, node: Node, known: Known) -> Solved | Blocked:
    """Concat on the mapped axis slices the map; on another axis it is shared."""
    axis = node.attrs["axis"]
    ins, y = list(node.inputs), node.outputs[0]
    ref = known.get(y) or next(known[i] for i in ins if i in known)
    if ref.axis != axis:
        return {t: ref for t in (*ins, y)}
    sizes = [(graph.shape(i) or (None,) * (axis + 1))[axis] for i in ins]
    if any(s is None for s in sizes):
        return _mapping_blocked(node, "unknown operand sizes")
    if y in known:
        parts = _slices(node, ref, ins, sizes)
        return parts if isinstance(parts, Blocked) else {y: ref, **parts}
    parts = [known.get(i) or Transform(axis, np.ones(s), np.zeros(s)) for i, s in zip(ins, sizes)]
    out = {i: p for i, p in zip(ins, parts)}
    out[y] = Transform(
        axis, np.concatenate([p.scale for p in parts]), np.concatenate([p.shift for p in parts])
    )
    return out


def _slices(node: Node, t: Transform, names: list[str], sizes: list[int]) -> Solved | Blocked:
    """Slices of ``t`` per tensor in ``names``. A tensor listed twice
    (``cat([c, c])``) must get equal slices, else the map conflicts."""
    out: Solved = {}
    start = 0
    for name, size in zip(names, sizes):
        part = Transform(t.axis, t.scale[start : start + size], t.shift[start : start + size])
        if name in out and not _same(out[name], part):
            return Blocked(Reason.CONFLICT, f"`{node.name}` uses one tensor twice with different maps",
                           node.id)
        out[name] = part
        start += size
    return out


def _same(a: Transform, b: Transform) -> bool:
    return a.axis == b.axis and np.allclose(a.scale, b.scale, rtol=1e-9, atol=1e-12) and \
        np.allclose(a.shift, b.shift, rtol=1e-9, atol=1e-12)


def solve_split(graph: Graph, node: Node, known: Known) -> Solved | Blocked:
    """Split on the mapped axis gives each output its slice of the map."""
    axis = node.attrs["axis"]
    x, outs = node.inputs[0], list(node.outputs)
    ref = known.get(x) or next(known[o] for o in outs if o in known)
    if ref.axis != axis:
        return {t: ref for t in (x, *outs)}
    sizes = list(node.attrs["sizes"])
    full = ref
    if x not in known:
        parts = [known.get(o) or Transform(axis, np.ones(s), np.zeros(s)) for o, s in zip(outs, sizes)]
        full = Transform(
            axis, np.concatenate([p.scale for p in parts]), np.concatenate([p.shift for p in parts])
        )
    sliced = _slices(node, full, outs, sizes)
    return sliced if isinstance(sliced, Blocked) else {x: full, **sliced}


def solve_slice(graph: Graph, node: Node, known: Known) -> Solved | Blocked:
    """A slice on the mapped axis keeps the selected entries of the map.

    Backward, channels outside the slice are left unchanged (identity).
    """
    axis = node.attrs["axis"]
    x, y = node.inputs[0], node.outputs[0]
    ref = known.get(x) or known[y]
    if ref.axis != axis:
        return {x: ref, y: ref}
    shape = graph.shape(x)
    if shape is None:
        return _mapping_blocked(node, "unknown input shape")
    idx = np.arange(shape[axis])[slice(node.attrs.get("start", 0), node.attrs.get("end"), node.attrs.get("step", 1))]
    if x in known:
        return {x: ref, y: Transform(axis, ref.scale[idx], ref.shift[idx])}
    scale, shift = np.ones(shape[axis]), np.zeros(shape[axis])
    scale[idx], shift[idx] = ref.scale, ref.shift
    return {x: Transform(axis, scale, shift), y: ref}


RULES: dict[str, Rule] = {
    "identity": solve_passthrough,
    "resize": solve_resize,
    "pool_max": solve_pool_max,
    "pool_avg": solve_pool_avg,
    "pad": solve_pad,
    "add": solve_add,
    "sub": solve_sub,
    "transpose": solve_transpose,
    "reshape": solve_reshape,
    "concat": solve_concat,
    "split": solve_split,
    "slice": solve_slice,
}
