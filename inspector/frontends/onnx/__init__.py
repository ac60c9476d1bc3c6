"""ONNX adapter: ``.onnx`` files -> IR, and folded IR -> a new ModelProto.

Every LoadedModel it creates holds :data:`ADAPTER` (write_back, run, save).
Loading is a pipeline of one-job modules: ``reader`` reads and checks the file
(external data only from the model's folder); ``functions`` inlines local
functions; ``inputs`` gives the inputs
concrete shapes; ``inference`` gives every tensor a shape within the size cap
(``sizes`` estimates sizes before anything is allocated); ``constants`` evaluates
constant sub-graphs; ``dynamic`` marks what depends on dynamic dims; ``capture``
builds the IR (naming rules there) with the op table ``ops`` (+ ``optypes``,
``ops_layout``). ``writeback`` writes a plan back; ``runtime`` runs models with
onnxruntime and saves them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ...limits import cap_bytes
from ...model import Adapter, LoadedModel
from .capture import OnnxCapture, build_graph
from .constants import fold_constants
from .dynamic import dynamic_axes, shape_derived, symbolic_shapes
from .functions import inline_functions
from .fusion import check_loaded
from .inference import infer_shapes
from .inputs import concrete_inputs
from .reader import check_model, default_opset, read_model, read_source, skeleton
from .runtime import release_sessions, run, run_tensors, save
from .writeback import write_back

__all__ = ["name", "extensions", "save_formats", "load_onnx", "load", "read_model", "write_back",
           "run", "save", "ADAPTER"]

name = "onnx"
extensions = (".onnx",)
save_formats = (".onnx",)


def load_onnx(source: Any, *, name: str | None = None,
              input_shape: Sequence[int] | Sequence[Sequence[int]] | Mapping[str, Sequence[int]]
              | None = None, max_tensor_mb: float | None = None) -> LoadedModel:
    """Load an ONNX model (path, bytes or ``onnx.ModelProto``) as a LoadedModel.

    Dynamic input dims become 1 unless ``input_shape`` gives them (a shape for
    the first input, one shape per input, or ``{input_name: shape}``); they are
    recorded in ``LoadedModel.dynamic_axes`` (verification also runs other sizes),
    and nodes whose parameters are computed from them are not folded. The model
    passed in is copied, never modified. Raises InvalidGraphError for missing,
    corrupt or invalid files, UnsafeFileError for external data outside the
    model's folder (or any external data in bytes), ResourceLimitError when an
    input, weight or computed constant exceeds ``max_tensor_mb``.

    Example::

        loaded = load_onnx("resnet18.onnx", input_shape=(1, 3, 224, 224))
        loaded.graph.bn_nodes()  # the BN layers, as IR nodes
    """
    cap = cap_bytes(max_tensor_mb)
    model, label = read_source(source, name, cap)
    work, weights = skeleton(model)
    check_model(work, label)
    notes: list[str] = []
    if model.functions:
        model = inline_functions(model, label, notes)
        work, weights = skeleton(model)
    opset = default_opset(model)
    dynamic = dynamic_axes(work, weights)
    symbolic = symbolic_shapes(work) if dynamic else {}
    specs = concrete_inputs(work, weights, input_shape, notes, cap=cap)
    shapes, dtypes = infer_shapes(work, model, specs, notes, cap=cap, given_shape=input_shape,
                                  label=label)
    consts = fold_constants(work, model, shapes, dtypes, opset, notes, cap=cap)
    derived = shape_derived(work, consts, symbolic) if dynamic else frozenset()
    graph, node_map = build_graph(work, specs, consts, shapes, dtypes, opset, label, notes,
                                  shape_derived=derived)
    return LoadedModel(name=label, graph=graph, framework="onnx", model=model, inputs=specs,
                       frontend=ADAPTER, notes=notes, capture=OnnxCapture(node_map, opset),
                       dynamic_axes=dynamic)


load = load_onnx


def _load_file(path: str, *, name: str | None = None, input_shape: Any = None,
               max_tensor_mb: float | None = None) -> LoadedModel:
    return load_onnx(path, name=name or Path(path).name, input_shape=input_shape,
                     max_tensor_mb=max_tensor_mb)


def _load_bytes(data: bytes, filename: str, *, input_shape: Any = None,
                max_tensor_mb: float | None = None) -> LoadedModel:
    return load_onnx(data, name=filename, input_shape=input_shape, max_tensor_mb=max_tensor_mb)


def _accepts(obj: Any) -> bool:
    return type(obj).__name__ == "ModelProto"


#: This format's entry points, held by every LoadedModel it creates.
ADAPTER = Adapter(
    name=name, label="ONNX", extensions=extensions, save_formats=save_formats,
    write_back=write_back, run=run, save=save, run_tensors=run_tensors,
    load_file=_load_file, load_bytes=_load_bytes, load_object=load_onnx, accepts=_accepts,
    supports_merges=True, runtime_check=check_loaded, release=release_sessions,
)
