"""Concrete shapes and dtypes of every tensor of an ONNX graph, within the size cap.

ONNX shape inference (with data propagation) gives most shapes and one
onnxruntime run with the missing tensors exposed gives the rest. Sizes are
refused before anything is allocated where they can be estimated: declared and
inferred shapes, and the outputs of ConstantOfShape/Expand/Tile/Range whose
sizes come from small constants.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import onnx
from onnx import helper

from ...errors import InvalidGraphError, first_line
from ...limits import cap_bytes, check_tensor
from ...model import InputSpec
from .inputs import dtype_of, random_feed, shape_of
from .probe import budget_for, probe_run
from .sizes import check_constant_sizes

Shape = tuple[int, ...]


def infer_shapes(work: onnx.ModelProto, model: onnx.ModelProto, specs: list[InputSpec],
                 notes: list[str], *, cap: int | None = None, given_shape: Any = None,
                 label: str = "model") -> tuple[dict[str, Shape | None], dict[str, str]]:
    """Shapes/dtypes of every tensor: ONNX inference on the skeleton ``work``, then one
    onnxruntime run of the full ``model`` if some are still missing or it has
    If/Loop/Scan bodies, in a child process whose memory is bounded by ``cap``
    (``probe``). Raises ResourceLimitError when a tensor would exceed ``cap`` bytes
    (checked before onnxruntime runs anything where sizes can be estimated) or the
    bounded run runs out of memory, InvalidGraphError when ``given_shape`` (the user's
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
    cap = cap_bytes(None) if cap is None else cap
    if missing:
        check_constant_sizes(work, model, shapes, cap)
    subgraphs = _has_subgraphs(work)
    if missing or subgraphs:  # sizes no estimate sees: run once, bounded
        _shapes_from_runtime(model, specs, missing, shapes, dtypes, notes, cap, label,
                             subgraphs=subgraphs)
        _check_sizes(shapes, dtypes, cap)
    return shapes, dtypes


def _has_subgraphs(work: onnx.ModelProto) -> bool:
    return any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
               for n in work.graph.node for a in n.attribute)


def _check_sizes(shapes: Mapping[str, Shape | None], dtypes: Mapping[str, str], cap: int) -> None:
    for name, shape in shapes.items():
        if shape is not None:
            check_tensor(f"tensor '{name}' {tuple(shape)}", shape, dtypes.get(name, "float32"), cap)


_MISMATCH = re.compile(r"mismatch|incompatible|invalid dim", re.IGNORECASE)


def _shapes_from_runtime(model: onnx.ModelProto, specs: list[InputSpec], missing: list[str],
                         shapes: dict, dtypes: dict, notes: list[str], cap: int,
                         label: str, subgraphs: bool = False) -> None:
    """One onnxruntime run of ``model`` exposing ``missing``, in a child process whose
    memory is bounded by the cap (``probe``): fills ``shapes``/``dtypes``. With
    If/Loop/Scan bodies and integer or boolean inputs, a second bounded run feeds
    them non-zero values as verification does (a branch taken only on ``True``)."""
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
    data = probe.SerializeToString()
    del probe
    budget = budget_for(len(data), cap)
    result = probe_run(data, random_feed(specs), budget, label)
    if subgraphs and any(np.dtype(s.dtype).kind != "f" for s in specs):
        probe_run(data, _nonzero_feed(specs), budget, label)  # raises if it needs too much
    if result.error:  # any runtime failure leaves the shapes unknown, never a crash
        if missing:
            notes.append(f"{len(missing)} tensor shapes are unknown: onnxruntime could not run "
                         f"the model ({result.error[:160]}); if an input has dynamic dims, pass "
                         "a valid input_shape.")
        return
    for name, shape in result.shapes.items():
        if shape is not None:
            shapes[name] = shape
            if name in result.dtypes:
                dtypes.setdefault(name, result.dtypes[name])


def _nonzero_feed(specs: list[InputSpec], seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs as verification draws them: N(0, 1), cast to each input's dtype (booleans
    are then True, integers small and mostly non-zero)."""
    rng = np.random.default_rng(seed)
    return {s.name: rng.standard_normal(s.shape).astype(np.dtype(s.dtype)) for s in specs}
