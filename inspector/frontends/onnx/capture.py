"""ONNX capture: read and check a model, give every tensor a shape, build the IR.

Naming rules:

* ``Node.id``: the ONNX node name, or ``"<op_type>_<index>"`` when the name is
  empty or used by several nodes (index = position in ``graph.node``). Graph
  inputs and outputs are ``"input:<tensor>"`` / ``"output:<tensor>"``.
* ``Node.name``: the ONNX node name (or its first output name).
* ``Node.scope``: the node name split on ``/`` without its last segment, e.g.
  ``"/layer1/layer1.0/conv1/Conv"`` -> ``"layer1/layer1.0/conv1"`` (torch and
  tf2onnx both name nodes by module path); ``""`` for names without ``/``.
  torch.export-based exports name nodes ``node_conv2d``; their module path is
  read from the ``pkg.torch.onnx.name_scopes`` metadata, joined the same way.
* Constant sub-graphs (Constant, Shape of a known shape, Gather/Concat/... on
  constants) are evaluated once and disappear from the IR; their values are
  params of the nodes that use them, keyed by tensor name.
"""

from __future__ import annotations

import ast
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from ...errors import InvalidGraphError, ResourceLimitError, UnsafeFileError, first_line
from ...ir import Graph, Node, Tensor
from ...limits import mb
from ...model import InputSpec
from .ops import Item, OpView, Translation, fuse, translate
from .shapes import skeleton

Shape = tuple[int, ...]


# -- reading and checking ---------------------------------------------------
@dataclass(frozen=True)
class OnnxCapture:
    """What write-back needs from an ONNX capture.

    Attributes:
        node_map: IR node id -> indices (in ``model.graph.node``) of the ONNX
            nodes it stands for (a MatMul + Add linear, a Mul/Add affine ...).
        opset: the model's default-domain opset.
    """

    node_map: dict[str, list[int]] = field(default_factory=dict)
    opset: int = 0


def read_model(source: Any, name: str | None = None) -> tuple[onnx.ModelProto, str]:
    """Parse and check ``source``; returns (a private ModelProto copy, display name)."""
    model, label = read_source(source, name)
    check_model(skeleton(model)[0], label)
    return model, label


def read_source(source: Any, name: str | None, cap: int | None = None
                ) -> tuple[onnx.ModelProto, str]:
    """A private copy of the model with every tensor's data inline.

    External data (weights in side files) is read only for a path, and only
    from files inside the model's own folder (no absolute path, no ``..``, no
    symlink leading out, at most ``cap`` bytes each). Bytes (uploads) and
    ModelProtos have no folder: external references are refused, so nothing
    is ever read from the working directory.
    """
    if isinstance(source, onnx.ModelProto):
        model, label = onnx.ModelProto(), name or source.graph.name or "model"
        model.CopyFrom(source)
        _refuse_external(model, label, "an onnx.ModelProto; load it with onnx.load(path) so "
                         "that its weights are read in")
    elif isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "model"
        model = _parse(bytes(source), label)
        _refuse_external(model, label, "an upload; export it as one self-contained .onnx "
                         "file (onnx.save(model, path, save_as_external_data=False))")
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise InvalidGraphError(f"ONNX file not found: '{path}'. To fix this, check the path "
                                    "(it must name a .onnx file, not a folder).")
        label = name or path.stem
        if path.stat().st_size >= 2**31:
            raise InvalidGraphError(f"'{path.name}' is {path.stat().st_size / 2**30:.1f} GiB; an "
                                    "ONNX protobuf cannot exceed 2 GiB. To fix this, save the "
                                    "weights as external data (onnx.save(..., "
                                    "save_as_external_data=True)).")
        try:
            data = path.read_bytes()
        except OSError as e:
            raise InvalidGraphError(f"'{path.name}' cannot be read ({e.strerror or e}). To fix "
                                    "this, check the file's permissions.") from e
        model = _parse(data, path.name)
        _load_external(model, path, cap)
    else:
        raise InvalidGraphError(f"cannot load an ONNX model from an object of type {type(source).__name__}. "
                                "To fix this, pass a file path, bytes or an onnx.ModelProto.")
    return model, label


def _all_tensors(model: onnx.ModelProto) -> list[onnx.TensorProto]:
    """Every TensorProto of the model: initializers, sparse tensors, node attributes
    (also inside subgraphs and functions)."""
    out: list[onnx.TensorProto] = []

    def graph(g: onnx.GraphProto) -> None:
        out.extend(g.initializer)
        for sp in g.sparse_initializer:
            out.extend((sp.values, sp.indices))
        nodes(g.node)

    def nodes(ns) -> None:
        for n in ns:
            for a in n.attribute:
                if a.HasField("t"):
                    out.append(a.t)
                out.extend(a.tensors)
                if a.HasField("sparse_tensor"):
                    out.extend((a.sparse_tensor.values, a.sparse_tensor.indices))
                if a.HasField("g"):
                    graph(a.g)
                for sub in a.graphs:
                    graph(sub)

    graph(model.graph)
    for f in model.functions:
        nodes(f.node)
    return out


def _external(t: onnx.TensorProto) -> bool:
    return t.data_location == onnx.TensorProto.EXTERNAL or len(t.external_data) > 0


def _refuse_external(model: onnx.ModelProto, label: str, why: str) -> None:
    ext = [t for t in _all_tensors(model) if _external(t)]
    if ext:
        raise UnsafeFileError(f"'{label}' keeps {len(ext)} weight tensor(s) in external files "
                              f"('{ext[0].name}'), which cannot be read for {why}.")


def _load_external(model: onnx.ModelProto, path: Path, cap: int | None) -> None:
    """Read external tensor data from inside ``path``'s folder only, in place."""
    base = path.parent.resolve()
    for t in _all_tensors(model):
        if not _external(t):
            continue
        info = {e.key: e.value for e in t.external_data}
        loc = info.get("location", "")
        bad = (not loc or "\\" in loc or Path(loc).is_absolute() or ":" in loc
               or ".." in Path(loc).parts)
        target = (base / loc).resolve() if not bad else None
        if bad or target is None or not target.is_relative_to(base):
            raise UnsafeFileError(f"'{path.name}': tensor '{t.name}' points at {loc!r}, outside "
                                  "the model's folder; it is refused. To fix this, keep external "
                                  "weight files next to the .onnx file and refer to them by "
                                  "their bare file name.")
        try:
            offset = int(info.get("offset", 0))
            length = int(info["length"]) if "length" in info else None
            size = target.stat().st_size
            if offset < 0 or (length is not None and (length < 0 or offset + length > size)):
                raise ValueError(f"offset/length outside the {size}-byte file")
            n = (size - offset) if length is None else length
            if cap is not None and n > cap:
                raise ResourceLimitError(
                    f"'{path.name}': tensor '{t.name}' is {mb(n)} MB, above the "
                    f"{mb(cap)} MB limit. To fix this, raise --max-tensor-mb "
                    "(library: max_tensor_mb=...).")
            with open(target, "rb") as f:
                f.seek(offset)
                data = f.read(n)
        except (OSError, ValueError) as e:
            raise InvalidGraphError(f"'{path.name}' refers to external weight files ({loc!r}) that "
                                    f"cannot be read ({e}). To fix this, keep them next to the "
                                    ".onnx file.") from e
        t.raw_data = data
        del t.external_data[:]
        t.data_location = onnx.TensorProto.DEFAULT


def _parse(data: bytes, label: str) -> onnx.ModelProto:
    not_onnx = (f"'{label}' is not an ONNX model (its bytes do not parse as an ONNX "
                "ModelProto). To fix this, pass a file written by onnx.save or torch.onnx.export.")
    try:
        model = onnx.load_model_from_string(data)
    except Exception as e:  # protobuf raises DecodeError or RuntimeWarning-like errors
        if data[:1] == b"\x08" and len(data) > 8:
            raise InvalidGraphError(f"'{label}' starts like an ONNX model but is truncated or "
                                    "corrupt (it cannot be parsed). To fix this, export it again "
                                    "or re-copy the complete file.") from e
        raise InvalidGraphError(not_onnx) from e
    if model.ir_version == 0 or not model.HasField("graph"):
        raise InvalidGraphError(not_onnx)
    return model


def check_model(model: onnx.ModelProto, label: str) -> None:
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        raise InvalidGraphError(f"'{label}' is not a valid ONNX model: {first_line(e)}. To fix this, "
                                "re-export the model (onnx.checker.check_model prints the full report).") from e
    except ValueError:  # > 2 GiB protos can only be checked from a path; accept them
        pass


def default_opset(model: onnx.ModelProto) -> int:
    """The opset version of the default ONNX domain."""
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return int(imp.version)
    return onnx.defs.onnx_opset_version()


# -- IR assembly --------------------------------------------------------------
def node_ids(nodes: Sequence[onnx.NodeProto]) -> list[str]:
    """Unique ids: the node name, else ``<op_type>_<index>`` (empty or duplicate names)."""
    counts = Counter(n.name for n in nodes)
    used: set[str] = set()
    ids = []
    for i, n in enumerate(nodes):
        candidate = n.name if n.name and counts[n.name] == 1 else f"{n.op_type}_{i}"
        while candidate in used or (candidate != n.name and counts.get(candidate)):
            candidate += "_"
        used.add(candidate)
        ids.append(candidate)
    return ids


def scope_of(node: onnx.NodeProto) -> str:
    """Module path of a node (see the module docstring); torch.export-based exports
    carry it in the ``pkg.torch.onnx.name_scopes`` metadata instead of the name."""
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            try:
                parts = [p for p in ast.literal_eval(prop.value) if p]
            except (ValueError, SyntaxError):
                break
            return "/".join(parts[:-1])
    parts = [p for p in node.name.split("/") if p]
    return "/".join(parts[:-1]) if "/" in node.name else ""


def _subgraph_inputs(node: onnx.NodeProto) -> list[str]:
    """Outer-scope tensors read inside a node's subgraphs (If/Loop/Scan bodies)."""
    names: list[str] = []
    for a in node.attribute:
        if a.type not in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
            continue
        for g in ([a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)):
            local = {i.name for i in (*g.input, *g.initializer)} | {o for n in g.node for o in n.output}
            for n in g.node:
                names += [i for i in (*n.input, *_subgraph_inputs(n)) if i and i not in local]
    return names


#: Ops whose transparency depends on amounts read from constant inputs.
_SIZE_SENSITIVE = frozenset({"Pad", "Slice", "Resize", "Upsample", "Expand", "Tile"})


def build_graph(work: onnx.ModelProto, specs: list[InputSpec], consts: dict[str, np.ndarray],
                 shapes: Mapping[str, Shape | None], dtypes: Mapping[str, str], opset: int,
                 label: str, notes: list[str] | None = None,
                 shape_derived: frozenset[str] = frozenset()) -> tuple[Graph, dict[str, list[int]]]:
    """The IR of ``work`` and the ONNX node indices of every IR node; nodes kept
    as ``other`` because their rule failed are listed in ``notes``; nodes whose
    parameters come from a dynamic size (``shape_derived``) are ``other`` too."""
    g = work.graph
    ids = node_ids(g.node)
    uses = Counter(o.name for o in g.output)
    items: list[Item] = []
    for idx, node in enumerate(g.node):
        implicit = _subgraph_inputs(node)
        uses.update([i for i in node.input if i] + implicit)
        if node.output and all(not o or o in consts for o in node.output):
            continue
        inputs = tuple(i for i in node.input if i and i not in consts)
        inputs += tuple(i for i in dict.fromkeys(implicit) if i not in consts and i not in inputs)
        view = OpView(node, consts, shapes, opset)
        t = translate(view, notes)
        if (t.params or t.op == "identity" or node.op_type in _SIZE_SENSITIVE) and any(
                i in shape_derived for i in node.input):
            # The parameter (or pad/slice/resize amount, or the `x * 1` that makes it an
            # identity at the loaded size) holds only at the loaded size.
            t = Translation("other", {"op_type": node.op_type, "shape_derived": True})
        items.append(Item([idx], inputs, tuple(o for o in node.output if o), t, view))
    items = fuse(items, uses)

    nodes = [Node(id=f"input:{s.name}", op="input", outputs=(s.name,), name=s.name) for s in specs]
    node_map: dict[str, list[int]] = {}
    for it in items:
        onnx_node = g.node[it.indices[0]]
        nid = ids[it.indices[0]]
        node_map[nid] = it.indices
        nodes.append(Node(id=nid, op=it.t.op, inputs=it.inputs, outputs=it.outputs,
                          name=onnx_node.name or next(iter(it.outputs), nid), attrs=it.t.attrs,
                          params=it.t.params, param_keys=it.t.keys, scope=scope_of(onnx_node)))
    # A tensor listed twice among the outputs (YOLOv10's exports) is one output node.
    nodes += [Node(id=f"output:{out}", op="output", inputs=(out,), name=out)
              for out in dict.fromkeys(vi.name for vi in g.output)]
    draft = Graph.from_nodes(nodes)
    tensors = {t: Tensor(t, shapes.get(t), dtypes.get(t, "float32")) for t in draft.tensors}
    float_inputs = [s.dtype for s in specs if np.dtype(s.dtype).kind == "f"]
    graph = Graph(nodes=draft.nodes, tensors=tensors, name=label, framework="onnx",
                  dtype=float_inputs[0] if float_inputs else "float32")
    check_bn_channels(graph, label)
    check_conv_channels(graph, label)
    return graph, node_map


def check_conv_channels(graph: Graph, label: str) -> None:
    """Refuse a Conv whose input has a channel count its weight cannot take (a wrong
    input_shape or a malformed model): onnxruntime would fail later, in verification."""
    for node in graph.nodes:
        if node.op != "conv" or "weight" not in node.params or not node.inputs:
            continue
        shape = graph.shape(node.inputs[0])
        w = np.asarray(node.params["weight"])
        need = w.shape[1] * int(node.attrs.get("groups", 1))
        if shape is not None and len(shape) == w.ndim and shape[1] != need:
            raise InvalidGraphError(
                f"'{label}': Conv '{node.name}' takes {need} input channels but its input "
                f"{node.inputs[0]!r} has shape {tuple(shape)}. To fix this, pass an input shape "
                "that fits the model (only its dynamic dimensions may change).")


def check_bn_channels(graph: Graph, label: str) -> None:
    """Refuse a malformed model whose BN parameters do not match its input's channels
    (onnxruntime refuses to run it; folding it would fail or write nonsense)."""
    for node in graph.bn_nodes():
        sizes = {k: int(np.asarray(v).size) for k, v in node.params.items()
                 if k in ("gamma", "beta", "mean", "var")}
        shape = graph.shape(node.inputs[0]) if node.inputs else None
        axis = int(node.attrs.get("axis", 1))
        channels = shape[axis] if shape is not None and len(shape) > axis else None
        expected = channels if channels is not None else next(iter(sizes.values()), None)
        bad = {k: n for k, n in sizes.items() if n != expected}
        if bad:
            k, n = next(iter(bad.items()))
            raise InvalidGraphError(
                f"'{label}': BatchNormalization '{node.name}' has {n} values in {k} but its "
                f"input has {expected} channels; the model is malformed. To fix this, "
                "re-export it (onnx.checker does not catch this).")
