"""Which tensors verification compares: not those a fold is meant to change, and
not those behind a discrete choice that float32 noise flipped.

* :func:`changed_tensors`: the tensors the folds and merges are *meant* to
  change (between a BN's emitters and its absorbers, inside merged regions).
* :func:`discrete_tensors`: the outputs of discontinuous ops (TopK, ArgMax,
  NonMaxSuppression, a comparison, Round ...) that read float data. A change of
  1e-7 in their input can flip their result (another box, another class), and
  everything computed from a flipped result differs by design.
  :func:`behind` maps every tensor computed from them to the op that decides.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from ..ir import Graph, Node

#: float -> float ops whose result jumps (rounding, sign, modulo).
STEP_OPS = frozenset({"round", "floor", "ceil", "sign", "trunc", "mod", "fmod", "remainder",
                      "floor_divide", "floordiv"})
#: Ops choosing indices or making a decision (used when output dtypes are unknown).
CHOICE_OPS = frozenset({
    "topk", "sort", "argsort", "argmax", "argmin", "nonmaxsuppression", "nms", "kthvalue",
    "mode", "median", "unique", "nonzero", "bucketize", "searchsorted", "isin",
    "greater", "less", "equal", "greaterorequal", "lessorequal", "gt", "lt", "ge", "le", "eq",
    "ne", "greater_equal", "less_equal", "not_equal"})
#: Ops that read the shape of their input, never its values.
SHAPE_OPS = frozenset({"shape", "size", "sym_size", "sym_numel", "numel", "sym_stride",
                       "stride", "dim"})
_PREFIXES = ("aten.", "torchvision.", "torch.ops.", "prims.", "ai.onnx.")


def op_key(node: Node) -> str:
    """An ``other`` node's op type, lower case, namespace and overload stripped
    (``aten.topk.default`` -> ``topk``, ``TopK`` -> ``topk``)."""
    name = str(node.attrs.get("op_type", "")).lower()
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
    return name.split(".", 1)[0]


def _is_discrete_dtype(dtype: str) -> bool:
    return bool(dtype) and not dtype.startswith(("float", "bfloat", "complex"))


def discrete_tensors(graph: Graph) -> dict[str, Node]:
    """Tensor -> the discontinuous op producing it, for ops that read float data.

    An ``other`` node is discontinuous when it turns float input into integer or
    boolean output (indices, masks, a cast to int) or is a step function
    (:data:`STEP_OPS`); its integer/boolean outputs are the discrete ones (TopK's
    values are continuous, its indices are not). Shape readers never are."""
    out: dict[str, Node] = {}
    for node in graph.nodes:
        if node.op != "other":
            continue
        key = op_key(node)
        if key in SHAPE_OPS or not any(_reads_floats(graph, t) for t in node.inputs):
            continue
        for t in node.outputs:
            dtype = graph.tensors[t].dtype if t in graph.tensors else ""
            if _is_discrete_dtype(dtype) or key in STEP_OPS or (not dtype and key in CHOICE_OPS):
                out[t] = node
    return out


def _reads_floats(graph: Graph, tensor: str) -> bool:
    t = graph.tensors.get(tensor)
    return t is None or not _is_discrete_dtype(t.dtype)


def behind(graph: Graph, sources: Iterable[str]) -> dict[str, str]:
    """Every tensor computed from ``sources`` (themselves included) -> the source it
    comes from (the nearest one, breadth first)."""
    origin: dict[str, str] = {}
    queue = deque((t, t) for t in sources)
    while queue:
        t, src = queue.popleft()
        if t in origin:
            continue
        origin[t] = src
        for consumer in graph.consumers(t):
            if consumer.op != "output":
                queue.extend((o, src) for o in consumer.outputs)
    return origin


def changed_tensors(graph: Graph, steps: Sequence[Any], merges: Sequence[Any] = ()) -> set[str]:
    """Tensors that the folds are *meant* to change (never compared).

    For every step: the outputs of its emitters and of its BN, and every tensor
    downstream of them up to (not including) the outputs of the absorbers,
    which undo the transform. Removed BN outputs are in the set too. For every
    merge (``MergeStep``): the tensors inside the region (its output is kept;
    a merged conv that a later fold edits stands for the region output).
    """
    out: set[str] = set()
    merged_output = {m.conv_id: m.output for m in merges}
    for m in merges:
        inside = [t for nid in m.nodes if graph.has_node(nid) for t in graph.node(nid).outputs]
        inside += [merged_output[nid] for nid in m.nodes if nid in merged_output]  # nested
        out.update(t for t in inside if t != m.output)
    for step in steps:
        if not graph.has_node(step.bn):
            continue
        bn_outputs = graph.node(step.bn).outputs
        # Backward: the BN undoes nothing but is bypassed, so its output takes the
        # emitters' (already mapped) value: downstream of it nothing changes.
        stop = (set(step.absorbers) - set(step.emitters)) | (
            {step.bn} if step.direction == "backward" else set())
        out.update(bn_outputs)
        seeds = [t for nid in step.emitters if graph.has_node(nid) for t in graph.node(nid).outputs]
        seeds += [merged_output[nid] for nid in step.emitters if nid in merged_output]
        if step.direction != "backward":
            seeds += list(bn_outputs)
        queue, seen = deque(seeds), set()
        while queue:
            t = queue.popleft()
            if t in seen:
                continue
            seen.add(t)
            out.add(t)
            for consumer in graph.consumers(t):
                if consumer.id not in stop and consumer.op != "output":
                    queue.extend(consumer.outputs)
    return out
