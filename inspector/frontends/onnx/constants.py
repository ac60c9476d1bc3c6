"""Constant sub-graphs of an ONNX graph, evaluated once (Constant, Shape of a known
shape, Gather/Concat/... on constants) so that they can disappear from the IR."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ...errors import InvalidGraphError
from ...limits import check_tensor
from .sizes import SIZE_OPS, constant_value, output_bound, refuse_large, size_estimate

Shape = tuple[int, ...]
_RANDOM_OPS = frozenset({"RandomNormal", "RandomUniform", "RandomNormalLike",
                         "RandomUniformLike", "Multinomial", "Bernoulli"})
_SUBGRAPH = (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)


def fold_constants(work: onnx.ModelProto, model: onnx.ModelProto, shapes: Mapping[str, Shape | None],
                   dtypes: Mapping[str, str], opset: int, notes: list[str], *,
                   cap: int | None = None) -> dict[str, np.ndarray]:
    """Values of the initializers of ``model`` and of every node of ``work`` computed
    from constants only (Shape, Size and CastLike need only the shape or dtype of
    their data input). A node whose output would exceed ``cap`` bytes raises
    ResourceLimitError before it is evaluated."""
    from onnx.reference import ReferenceEvaluator

    consts = {}
    for t in model.graph.initializer:
        try:
            consts[t.name] = numpy_helper.to_array(t)
        except Exception as e:  # data size not matching the dims, unknown dtype...
            raise InvalidGraphError(f"initializer '{t.name}' is corrupt ({e}). To fix this, "
                                    "re-export the model or copy the complete file.") from e
    outputs = {o.name for o in work.graph.output}
    for node in work.graph.node:
        if (node.domain not in ("", "ai.onnx") or node.op_type in _RANDOM_OPS
                or any(a.type in _SUBGRAPH for a in node.attribute)
                or any(o in outputs for o in node.output)):
            continue
        if node.op_type == "Constant" and (value := constant_value(node)) is not None:
            consts[node.output[0]] = value
            continue
        if node.op_type in ("Shape", "Size") and node.input[0] not in consts:
            shape = shapes.get(node.input[0])
            if shape is not None:
                consts[node.output[0]] = _shape_value(node, shape)
            continue
        if node.op_type == "CastLike" and node.input[0] in consts and node.input[1] in dtypes:
            consts[node.output[0]] = consts[node.input[0]].astype(dtypes[node.input[1]])
            continue
        ins = [i for i in node.input if i]
        if not node.output or not all(i in consts for i in ins):
            continue
        if cap is not None:
            refuse_large(node, size_estimate(node, consts, shapes), cap)
            for out in node.output:
                if out and shapes.get(out) is not None:
                    check_tensor(f"constant '{out}'", shapes[out], dtypes.get(out, "float32"), cap)
            if any(o and shapes.get(o) is None for o in node.output) \
                    and node.op_type not in SIZE_OPS:
                # Its size is unknown (onnxruntime could not run the model): evaluated only
                # when bounded by its inputs, else kept in the IR rather than risk gigabytes.
                bound = output_bound(node, consts)
                if bound is None:
                    notes.append(f"constant node '{node.name or node.op_type}' was not evaluated: "
                                 "its output size is unknown.")
                    continue
                refuse_large(node, bound, cap)
        try:
            values = ReferenceEvaluator(node, opsets={"": opset}).run(None, {i: consts[i] for i in ins})
        except Exception as e:  # keep the node in the IR rather than guess its value
            notes.append(f"could not evaluate constant node '{node.name or node.op_type}' ({type(e).__name__}).")
            continue
        for out, value in zip(node.output, values):
            if out:
                consts[out] = np.asarray(value)
    return consts


def _shape_value(node: onnx.NodeProto, shape: Shape) -> np.ndarray:
    if node.op_type == "Size":
        return np.array(int(np.prod(shape)), dtype=np.int64)
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return np.array(shape[slice(attrs.get("start", 0), attrs.get("end"))], dtype=np.int64)


