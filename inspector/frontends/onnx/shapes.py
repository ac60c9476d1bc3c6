"""Concrete shapes and constant values for an ONNX graph.

Dynamic input dims become 1 (or the user's ``input_shape``); ONNX shape
inference (with data propagation) gives most shapes and one onnxruntime run
with the missing tensors exposed gives the rest. Constant sub-graphs are
evaluated once so that they can disappear from the IR.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ...errors import InvalidGraphError, ResourceLimitError, UnsupportedModelError, first_line
from ...limits import check_tensor, mb
from ...model import InputSpec
from .runtime import make_session

Shape = tuple[int, ...]
_RANDOM_OPS = frozenset({"RandomNormal", "RandomUniform", "RandomNormalLike",
                         "RandomUniformLike", "Multinomial", "Bernoulli"})
_SUBGRAPH = (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)


_BIG = 1024  # bytes; larger initializers are left out of the skeleton


def skeleton(model: onnx.ModelProto) -> tuple[onnx.ModelProto, frozenset[str]]:
    """A light copy for checking and shape inference (serialising 100 MB of weights
    twice would dominate loading): initializers above 1 KiB become typed graph
    inputs. Returns the copy and the names of the initializers moved."""
    skel = onnx.ModelProto()
    for field in ("ir_version", "producer_name", "producer_version", "domain", "model_version"):
        setattr(skel, field, getattr(model, field))
    skel.opset_import.extend(model.opset_import)
    skel.functions.extend(model.functions)
    src, g = model.graph, skel.graph
    g.name = src.name
    for part in ("node", "input", "output", "value_info", "sparse_initializer"):
        getattr(g, part).extend(getattr(src, part))
    declared = {vi.name for vi in src.input}
    moved = set()
    for t in src.initializer:
        if t.ByteSize() <= _BIG:
            g.initializer.append(t)
            continue
        moved.add(t.name)
        if t.name not in declared:
            g.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    return skel, frozenset(moved)


def data_inputs(model: onnx.ModelProto, weights: frozenset[str] = frozenset()) -> list[onnx.ValueInfoProto]:
    """Graph inputs that are neither initializers nor ``weights`` (the real inputs)."""
    inits = {t.name for t in model.graph.initializer} | weights
    return [vi for vi in model.graph.input if vi.name not in inits]


def shape_of(vi: onnx.ValueInfoProto) -> Shape | None:
    """The declared shape if every dim is a number, else None."""
    tt = vi.type.tensor_type
    if not vi.type.HasField("tensor_type") or not tt.HasField("shape"):
        return None
    dims = tt.shape.dim
    return tuple(d.dim_value for d in dims) if all(d.HasField("dim_value") for d in dims) else None


def dtype_of(vi: onnx.ValueInfoProto) -> str | None:
    """The numpy dtype name of a tensor value info (None if untyped)."""
    elem = vi.type.tensor_type.elem_type if vi.type.HasField("tensor_type") else 0
    return np.dtype(helper.tensor_dtype_to_np_dtype(elem)).name if elem else None


def concrete_inputs(work: onnx.ModelProto, weights: frozenset[str], input_shape: Any,
                    notes: list[str], *, cap: int | None = None) -> list[InputSpec]:
    """Give the data inputs of ``work`` (a skeleton, edited in place) concrete dims,
    clear its stale shapes, and return the input specs (each at most ``cap`` bytes)."""
    inputs = data_inputs(work, weights)
    try:
        given = _given_shapes(input_shape, inputs)
    except (TypeError, ValueError) as e:
        raise InvalidGraphError(f"input_shape {input_shape!r} is not a shape. To fix this, pass a "
                                "tuple of ints such as (1, 3, 224, 224), or {input_name: shape}.") from e
    for vi in inputs:
        if not vi.type.HasField("tensor_type"):
            raise UnsupportedModelError(f"input '{vi.name}' is not a tensor (sequence/map inputs "
                                        "are not supported). To fix this, export the model with "
                                        "tensor inputs.")
        tt = vi.type.tensor_type
        if vi.name in given:
            dims = given[vi.name]
            if tt.HasField("shape") and len(tt.shape.dim) != len(dims):
                raise InvalidGraphError(f"input_shape {tuple(dims)} has rank {len(dims)} but input "
                                        f"'{vi.name}' has rank {len(tt.shape.dim)}. To fix this, "
                                        "pass a shape with one entry per dimension.")
            tt.ClearField("shape")
            tt.shape.dim.extend(onnx.TensorShapeProto.Dimension(dim_value=int(d)) for d in dims)
        elif not tt.HasField("shape"):
            raise InvalidGraphError(f"input '{vi.name}' has no declared shape. To fix this, "
                                    "pass input_shape=(...) to load_onnx.")
        else:
            dynamic = [d for d in tt.shape.dim if not d.HasField("dim_value") or d.dim_value <= 0]
            if dynamic:
                notes.append(f"input '{vi.name}': dynamic dims "
                             f"{[d.dim_param or '?' for d in dynamic]} set to 1; pass "
                             "input_shape=... to load_onnx to choose them.")
            for d in dynamic:
                d.Clear()
                d.dim_value = 1
    del work.graph.value_info[:]
    for vi in work.graph.output:
        if vi.type.HasField("tensor_type"):
            vi.type.tensor_type.ClearField("shape")
    specs = [InputSpec(vi.name, shape_of(vi) or (), dtype_of(vi) or "float32") for vi in inputs]
    if cap is not None:
        for s in specs:
            check_tensor(f"input '{s.name}' {tuple(s.shape)}", s.shape, s.dtype, cap)
    return specs


def _given_shapes(input_shape: Any, inputs: list[onnx.ValueInfoProto]) -> dict[str, tuple]:
    """``input_shape`` as {name: shape}: one shape (first input), a list or a dict."""
    if input_shape is None:
        return {}
    if isinstance(input_shape, Mapping):
        unknown = set(input_shape) - {vi.name for vi in inputs}
        if unknown:
            raise InvalidGraphError(f"input_shape names unknown inputs {sorted(unknown)}. To fix "
                                    f"this, use the model's input names {[vi.name for vi in inputs]}.")
        return {k: tuple(v) for k, v in input_shape.items()}
    shapes = list(input_shape)
    if shapes and all(isinstance(d, Sequence) for d in shapes):  # one shape per input
        return {vi.name: tuple(int(d) for d in s) for vi, s in zip(inputs, shapes)}
    return {inputs[0].name: tuple(int(d) for d in shapes)} if inputs else {}


def random_feed(specs: Sequence[InputSpec], seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded inputs: normal floats, zero integers and booleans."""
    rng = np.random.default_rng(seed)
    feed = {}
    for s in specs:
        dt = np.dtype(s.dtype)
        feed[s.name] = (rng.standard_normal(s.shape).astype(dt) if dt.kind == "f"
                        else np.zeros(s.shape, dtype=dt))
    return feed


def infer_shapes(work: onnx.ModelProto, model: onnx.ModelProto, specs: list[InputSpec],
                 notes: list[str], *, cap: int | None = None, given_shape: Any = None
                 ) -> tuple[dict[str, Shape | None], dict[str, str]]:
    """Shapes/dtypes of every tensor: ONNX inference on the skeleton ``work``, then one
    onnxruntime run of the full ``model`` if some are still missing. Raises
    ResourceLimitError when a tensor would exceed ``cap`` bytes (checked before
    onnxruntime runs anything), InvalidGraphError when ``given_shape`` (the user's
    input_shape) makes strict shape inference report a dimension mismatch."""
    if given_shape is not None:
        try:
            onnx.shape_inference.infer_shapes(work, data_prop=True, strict_mode=True)
        except Exception as e:  # noqa: BLE001 - only mismatches are the user's input shape
            first = first_line(e, 300)
            if _MISMATCH.search(first):
                raise InvalidGraphError(
                    f"input_shape {given_shape} does not fit the model: {first}. To fix "
                    "this, change only the model's dynamic dimensions.") from e
    try:
        inferred = onnx.shape_inference.infer_shapes(work, data_prop=True)
    except Exception as e:  # inference is best effort; onnxruntime fills the gaps
        notes.append(f"ONNX shape inference failed ({type(e).__name__}); shapes come from onnxruntime.")
        inferred = work
    shapes: dict[str, Shape | None] = {}
    dtypes: dict[str, str] = {}
    g = inferred.graph
    for vi in (*g.input, *g.value_info, *g.output):
        shapes[vi.name] = shape_of(vi)
        if (dt := dtype_of(vi)) is not None:
            dtypes[vi.name] = dt
    for t in model.graph.initializer:
        shapes[t.name] = tuple(t.dims)
        dtypes[t.name] = np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).name
    if cap is not None:
        _check_sizes(shapes, dtypes, cap)
    missing = [o for n in work.graph.node for o in n.output if o and shapes.get(o) is None]
    if missing and cap is not None:
        _check_constant_sizes(work, model, shapes, cap)
    if missing:
        _shapes_from_runtime(model, specs, missing, shapes, dtypes, notes)
        if cap is not None:
            _check_sizes(shapes, dtypes, cap)
    return shapes, dtypes


def _check_sizes(shapes: Mapping[str, Shape | None], dtypes: Mapping[str, str], cap: int) -> None:
    for name, shape in shapes.items():
        if shape is not None:
            check_tensor(f"tensor '{name}' {tuple(shape)}", shape, dtypes.get(name, "float32"), cap)


_MISMATCH = re.compile(r"mismatch|incompatible|invalid dim", re.IGNORECASE)
_SIZE_OPS = frozenset({"ConstantOfShape", "Expand", "Tile", "Range"})


def _check_constant_sizes(work: onnx.ModelProto, model: onnx.ModelProto,
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
                value = _constant_value(node)
            except Exception:  # noqa: BLE001 - malformed constants are reported later
                value = None
            if value is not None and value.size <= 64:
                consts[node.output[0]] = value
        elif node.op_type in _SHAPE_ARITHMETIC and node.output and node.input and all(
                i in consts for i in node.input if i):
            _eval_small(node, consts)
        if node.op_type not in _SIZE_OPS or not node.output:
            continue
        _refuse_large(node, _size_estimate(node, consts, shapes), cap)


def _refuse_large(node: onnx.NodeProto, elements: int | None, cap: int) -> None:
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


def _size_estimate(node: onnx.NodeProto, consts: Mapping[str, np.ndarray],
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


def _shapes_from_runtime(model: onnx.ModelProto, specs: list[InputSpec], missing: list[str],
                         shapes: dict, dtypes: dict, notes: list[str]) -> None:
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    given = {s.name: s.shape for s in specs}
    for vi in probe.graph.input:
        if vi.name in given:
            vi.type.tensor_type.ClearField("shape")
            vi.type.tensor_type.shape.dim.extend(
                onnx.TensorShapeProto.Dimension(dim_value=d) for d in given[vi.name])
    del probe.graph.value_info[:]
    for vi in probe.graph.output:
        vi.type.tensor_type.ClearField("shape")
    present = {o.name for o in probe.graph.output}
    probe.graph.output.extend(onnx.ValueInfoProto(name=t) for t in missing if t not in present)
    try:
        session = make_session(probe)
        values = session.run(None, random_feed(specs))
    except Exception as e:  # any runtime failure leaves the shapes unknown, never a crash
        reason = first_line(e, 160)
        notes.append(f"{len(missing)} tensor shapes are unknown: onnxruntime could not run the "
                     f"model ({reason}); if an input has dynamic dims, pass a valid input_shape.")
        return
    for out, value in zip(session.get_outputs(), values):
        if isinstance(value, np.ndarray):
            shapes[out.name] = tuple(value.shape)
            dtypes.setdefault(out.name, value.dtype.name)


# -- constants ----------------------------------------------------------------
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
        if node.op_type == "Constant" and (value := _constant_value(node)) is not None:
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
            _refuse_large(node, _size_estimate(node, consts, shapes), cap)
            for out in node.output:
                if out and shapes.get(out) is not None:
                    check_tensor(f"constant '{out}'", shapes[out], dtypes.get(out, "float32"), cap)
        try:
            values = ReferenceEvaluator(node, opsets={"": opset}).run(None, {i: consts[i] for i in ins})
        except Exception as e:  # keep the node in the IR rather than guess its value
            notes.append(f"could not evaluate constant node '{node.name or node.op_type}' ({type(e).__name__}).")
            continue
        for out, value in zip(node.output, values):
            if out:
                consts[out] = np.asarray(value)
    return consts


_CONSTANT_DTYPES = {"value_float": np.float32, "value_floats": np.float32,
                    "value_int": np.int64, "value_ints": np.int64}


def _constant_value(node: onnx.NodeProto) -> np.ndarray | None:
    """A Constant node's value without the reference evaluator (None: sparse/strings)."""
    for a in node.attribute:
        if a.name == "value":
            return numpy_helper.to_array(a.t)
        if a.name in _CONSTANT_DTYPES:
            return np.array(helper.get_attribute_value(a), dtype=_CONSTANT_DTYPES[a.name])
    return None


def _shape_value(node: onnx.NodeProto, shape: Shape) -> np.ndarray:
    if node.op_type == "Size":
        return np.array(int(np.prod(shape)), dtype=np.int64)
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return np.array(shape[slice(attrs.get("start", 0), attrs.get("end"))], dtype=np.int64)


# -- IR assembly --------------------------------------------------------------


# -- dynamic dims -------------------------------------------------------------
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
