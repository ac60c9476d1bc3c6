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
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import external_data_helper

from ...errors import InvalidGraphError
from ...ir import Graph, Node, Tensor
from ...model import InputSpec
from .ops import Item, OpView, fuse, translate
from .shapes import skeleton

Shape = tuple[int, ...]


# -- reading and checking ---------------------------------------------------
def read_model(source: Any, name: str | None = None) -> tuple[onnx.ModelProto, str]:
    """Parse and check ``source``; returns (a private ModelProto copy, display name)."""
    model, label = read_source(source, name)
    check_model(skeleton(model)[0], label)
    return model, label


def read_source(source: Any, name: str | None) -> tuple[onnx.ModelProto, str]:
    if isinstance(source, onnx.ModelProto):
        model, label = onnx.ModelProto(), name or source.graph.name or "model"
        model.CopyFrom(source)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "model"
        model = _parse(bytes(source), label)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise InvalidGraphError(f"ONNX file not found: '{path}'. To fix this, check the path "
                                    "(it must name a .onnx file, not a folder).")
        label = name or path.stem
        model = _parse(path.read_bytes(), path.name)
        try:  # a no-op unless some tensors live in side files
            external_data_helper.load_external_data_for_model(model, str(path.parent))
        except (OSError, ValueError, onnx.checker.ValidationError) as e:
            raise InvalidGraphError(f"'{path.name}' refers to external weight files that "
                                    f"cannot be read ({e}). To fix this, keep them next to "
                                    "the .onnx file.") from e
    else:
        raise InvalidGraphError(f"cannot load an ONNX model from an object of type {type(source).__name__}. "
                                "To fix this, pass a file path, bytes or an onnx.ModelProto.")
    return model, label


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
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InvalidGraphError(f"'{label}' is not a valid ONNX model: {first}. To fix this, "
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


def build_graph(work: onnx.ModelProto, specs: list[InputSpec], consts: dict[str, np.ndarray],
                 shapes: Mapping[str, Shape | None], dtypes: Mapping[str, str], opset: int,
                 label: str) -> tuple[Graph, dict[str, list[int]]]:
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
        items.append(Item([idx], inputs, tuple(o for o in node.output if o), translate(view), view))
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
    nodes += [Node(id=f"output:{vi.name}", op="output", inputs=(vi.name,), name=vi.name)
              for vi in g.output]
    draft = Graph.from_nodes(nodes)
    tensors = {t: Tensor(t, shapes.get(t), dtypes.get(t, "float32")) for t in draft.tensors}
    float_inputs = [s.dtype for s in specs if np.dtype(s.dtype).kind == "f"]
    graph = Graph(nodes=draft.nodes, tensors=tensors, name=label, framework="onnx",
                  dtype=float_inputs[0] if float_inputs else "float32")
    return graph, node_map
