"""Input specs of an ONNX graph: declared shapes and dtypes, the user's
``input_shape``, dynamic dims set to 1, and seeded random inputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper

from ...errors import InvalidGraphError, UnsupportedModelError
from ...limits import check_tensor
from ...model import InputSpec

Shape = tuple[int, ...]


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

