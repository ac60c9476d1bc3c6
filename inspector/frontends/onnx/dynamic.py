"""Dynamic dims of an ONNX graph: which input axes are dynamic, shapes with them
left symbolic, and which constants were computed from them (valid only at the
loaded size)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
from onnx import helper

from .inputs import data_inputs

SymShape = tuple[int | None, ...]


def dynamic_axes(model: onnx.ModelProto, weights: frozenset[str] = frozenset()) -> dict[int, list[int]]:
    """{data input index: axes declared dynamic (named, unknown or <= 0)} of ``model``."""
    out: dict[int, list[int]] = {}
    for i, vi in enumerate(data_inputs(model, weights)):
        tt = vi.type.tensor_type
        if not vi.type.HasField("tensor_type") or not tt.HasField("shape"):
            continue
        axes = [k for k, d in enumerate(tt.shape.dim) if not d.HasField("dim_value") or d.dim_value <= 0]
        if axes:
            out[i] = axes
    return out


def symbolic_shapes(work: onnx.ModelProto) -> dict[str, SymShape]:
    """Shapes inferred with the dynamic dims left symbolic: None where a dim depends on
    them (run on the skeleton before :func:`concrete_inputs` fixes the dims)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(work, data_prop=True)
    except Exception:  # noqa: BLE001 - unknown shapes are treated as dynamic
        return {}
    out: dict[str, SymShape] = {}
    g = inferred.graph
    for vi in (*g.input, *g.value_info, *g.output):
        tt = vi.type.tensor_type
        if vi.type.HasField("tensor_type") and tt.HasField("shape"):
            out[vi.name] = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                                 for d in tt.shape.dim)
    return out


def shape_derived(work: onnx.ModelProto, consts: Mapping[str, np.ndarray],
                  symbolic: Mapping[str, SymShape]) -> frozenset[str]:
    """Constants computed from a dynamic dim (Shape/Size of a tensor whose read dims are
    not static, and everything evaluated from them). Their values hold only at the
    loaded size, so nodes using them as parameters must not be folded."""
    tainted: set[str] = set()
    partial: dict[str, SymShape] = {}  # Shape outputs: which entries are dynamic (None)

    def dynamic(name: str) -> bool:
        return name in tainted or any(d is None for d in partial.get(name, ()))

    for node in work.graph.node:
        outs = [o for o in node.output if o and o in consts]
        if not outs:
            continue
        if node.op_type in ("Shape", "Size") and node.input and node.input[0] not in consts:
            shape = symbolic.get(node.input[0])
            if node.op_type == "Shape" and shape is not None:
                attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
                partial[outs[0]] = shape[slice(attrs.get("start", 0), attrs.get("end"))]
            elif shape is None or any(d is None for d in shape):
                tainted.update(outs)
            continue
        src = node.input[0] if node.input else ""
        if node.op_type == "Gather" and src in partial and len(node.input) > 1 \
                and node.input[1] in consts:  # shape[i]: dynamic only if dim i is
            dims = partial[src]
            idx = np.asarray(consts[node.input[1]]).reshape(-1)
            partial[outs[0]] = tuple(dims[int(i)] if -len(dims) <= int(i) < len(dims) else None
                                     for i in idx)
            continue
        if any(dynamic(i) for i in node.input if i):
            tainted.update(outs)
    return frozenset(tainted | {t for t, dims in partial.items() if any(d is None for d in dims)})
