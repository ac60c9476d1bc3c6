"""Sizes known before anything is allocated: the outputs of ConstantOfShape, Expand,
Tile and Range whose sizes come from small constants (evaluated on the side with
the reference evaluator), refused above the cap before onnxruntime or the
constant folder would build them."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ...errors import ResourceLimitError
from ...limits import mb

Shape = tuple[int, ...]
SIZE_OPS = frozenset({"ConstantOfShape", "Expand", "Tile", "Range"})


def check_constant_sizes(work: onnx.ModelProto, model: onnx.ModelProto,
                          shapes: Mapping[str, Shape | None], cap: int) -> None:
    """Before onnxruntime runs the model: outputs of ConstantOfShape/Expand/Tile/Range
    whose size comes from an initializer or Constant, estimated without running them."""
    consts: dict[str, np.ndarray] = {}
    for t in model.graph.initializer:
        if t.data_type == onnx.TensorProto.INT64 and len(t.dims) <= 1 and t.ByteSize() < 4096:
            consts[t.name] = numpy_helper.to_array(t)
    for node in work.graph.node:
        if node.op_type == "Constant" and node.output:
            try:
                value = constant_value(node)
            except Exception:  # noqa: BLE001 - malformed constants are reported later
                value = None
            if value is not None and value.size <= 64:
                consts[node.output[0]] = value
        elif node.op_type in _SHAPE_ARITHMETIC and node.output and node.input and all(
                i in consts for i in node.input if i):
            _eval_small(node, consts)
        if node.op_type not in SIZE_OPS or not node.output:
            continue
        refuse_large(node, size_estimate(node, consts, shapes), cap)


def refuse_large(node: onnx.NodeProto, elements: int | None, cap: int) -> None:
    """ResourceLimitError if ``elements`` (8 bytes each, the widest common dtype) exceed ``cap``."""
    if elements is not None and elements * 8 > cap:
        raise ResourceLimitError(
            f"{node.op_type} '{node.name or node.output[0]}' would create {elements:,} elements, "
            f"above the {mb(cap)} MB limit. To fix this, check the model or raise "
            "--max-tensor-mb (library: max_tensor_mb=...).")


#: Ops whose output is no larger than their (small) inputs broadcast together: safe to
#: evaluate on tiny constants while looking for the sizes of ConstantOfShape & co.
_SHAPE_ARITHMETIC = frozenset({
    "Abs", "Neg", "Add", "Sub", "Mul", "Div", "Mod", "Max", "Min", "Floor", "Ceil", "Cast",
    "Concat", "Gather", "Slice", "Squeeze", "Unsqueeze", "Reshape", "Identity", "ReduceProd",
    "ReduceSum", "ReduceMax", "ReduceMin", "Equal", "Where", "Sqrt", "Relu", "Clip"})


def _eval_small(node: onnx.NodeProto, consts: dict[str, np.ndarray]) -> None:
    from onnx.reference import ReferenceEvaluator

    ins = [i for i in node.input if i]
    if any(consts[i].size > 64 for i in ins):
        return
    try:
        values = ReferenceEvaluator(node).run(None, {i: consts[i] for i in ins})
    except Exception:  # noqa: BLE001 - best effort; the node is evaluated later anyway
        return
    for out, value in zip(node.output, values):
        if out and np.asarray(value).size <= 64:
            consts[out] = np.asarray(value)


def size_estimate(node: onnx.NodeProto, consts: Mapping[str, np.ndarray],
                   shapes: Mapping[str, Shape | None]) -> int | None:
    ins = list(node.input)
    try:
        if node.op_type == "ConstantOfShape" and ins and ins[0] in consts:
            return int(np.prod([max(int(d), 0) for d in consts[ins[0]].ravel()], dtype=object))
        if node.op_type == "Expand" and len(ins) > 1 and ins[1] in consts:
            return int(np.prod([max(int(d), 1) for d in consts[ins[1]].ravel()], dtype=object))
        if node.op_type == "Tile" and len(ins) > 1 and ins[1] in consts and shapes.get(ins[0]):
            reps = [max(int(r), 0) for r in consts[ins[1]].ravel()]
            return int(np.prod(shapes[ins[0]], dtype=object) * np.prod(reps, dtype=object))
        if node.op_type == "Range" and len(ins) > 2 and all(i in consts for i in ins[:3]):
            start, limit, delta = (float(consts[i].ravel()[0]) for i in ins[:3])
            return max(int(np.ceil((limit - start) / delta)), 0) if delta else None
    except (ValueError, TypeError, OverflowError, IndexError):
        return None
    return None



#: Ops whose output has the broadcast shape of their inputs.
_BROADCAST = frozenset({
    "Abs", "Neg", "Add", "Sub", "Mul", "Div", "Mod", "Pow", "Max", "Min", "Sum", "Mean",
    "Floor", "Ceil", "Round", "Sign", "Sqrt", "Reciprocal", "Exp", "Log", "Sigmoid", "Tanh",
    "Erf", "Relu", "LeakyRelu", "Clip", "Cast", "CastLike", "Not", "And", "Or", "Xor", "Equal",
    "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Where", "IsNaN", "IsInf", "Softmax",
    "Identity", "Dropout"})
#: Ops whose output is no larger than their first input.
_NO_LARGER = frozenset({
    "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Transpose", "Slice", "Shape", "Size",
    "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ArgMax", "ArgMin",
    "TopK", "Split", "CumSum"})


def output_bound(node: onnx.NodeProto, consts: Mapping[str, np.ndarray]) -> int | None:
    """Most elements one output of ``node`` can have, its inputs being the constants
    ``consts`` (None: no bound known, e.g. Resize, Gather, MatMul, a com.microsoft op)."""
    ins = [consts[i] for i in node.input if i and i in consts]
    if node.domain not in ("", "ai.onnx") or len(ins) != len([i for i in node.input if i]):
        return None
    if node.op_type in _BROADCAST:
        try:
            return int(np.prod(np.broadcast_shapes(*(a.shape for a in ins)), dtype=object))
        except ValueError:
            return None
    if node.op_type == "Concat":
        return sum(int(a.size) for a in ins)
    if node.op_type in _NO_LARGER and ins:
        return int(ins[0].size)
    if node.op_type == "NonZero" and ins:
        return int(ins[0].size) * max(ins[0].ndim, 1)
    return None


_CONSTANT_DTYPES = {"value_float": np.float32, "value_floats": np.float32,
                    "value_int": np.int64, "value_ints": np.int64}


def constant_value(node: onnx.NodeProto) -> np.ndarray | None:
    """A Constant node's value without the reference evaluator (None: sparse/strings)."""
    for a in node.attribute:
        if a.name == "value":
            return numpy_helper.to_array(a.t)
        if a.name in _CONSTANT_DTYPES:
            return np.array(helper.get_attribute_value(a), dtype=_CONSTANT_DTYPES[a.name])
    return None


