"""ONNX capture: the IR of a model read by ``reader`` and shaped by ``inference``.

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
* ``Node.param_keys``: the initializer's name, except for an initializer that
  layers of different modules read (see :func:`separate_copies`):
  ``"<name>@<scope>"``; :func:`storage_name` gives the name back.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import onnx

from ...errors import InvalidGraphError
from ...ir import Graph, Node, Tensor
from ...model import InputSpec
from .ops import Item, OpView, Translation, fuse, translate

Shape = tuple[int, ...]


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


COPY_MARK = "@"


def storage_name(node: Node, key: str) -> str:
    """The initializer name behind one of ``node``'s param keys (see :func:`separate_copies`)."""
    suffix = f"{COPY_MARK}/{node.scope}"
    return key[:-len(suffix)] if node.scope and key.endswith(suffix) else key


def separate_copies(nodes: list[Node]) -> list[Node]:
    """Give each module its own key for an initializer that layers of different
    modules read.

    Exporters store equal tensors once (torch.onnx de-duplicates initializers, so two
    freshly initialised or deep-copied heads read one weight): that is storage, not one
    layer called twice, and the write-back gives a changed node its own initializer.
    A tensor read by nodes of one module (a layer called twice), or by nodes without a
    module path, stays shared, as the PyTorch frontend sees it.
    """
    readers: dict[str, list[Node]] = {}
    for n in nodes:
        for key in set(n.param_keys.values()):
            readers.setdefault(key, []).append(n)
    split = {key for key, ns in readers.items() if len(ns) > 1
             and all(n.scope for n in ns) and len({n.scope for n in ns}) == len(ns)}
    if not split:
        return nodes
    return [replace(n, param_keys={p: f"{k}{COPY_MARK}/{n.scope}" if k in split else k
                                   for p, k in n.param_keys.items()})
            if split.intersection(n.param_keys.values()) else n for n in nodes]


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
    extra = _constant_nodes_per_item(g, items)

    nodes = [Node(id=f"input:{s.name}", op="input", outputs=(s.name,), name=s.name) for s in specs]
    node_map: dict[str, list[int]] = {}
    for it in items:
        onnx_node = g.node[it.indices[0]]
        nid = ids[it.indices[0]]
        node_map[nid] = it.indices
        count, renames = extra.get(id(it), (0, 0))
        count += len(it.indices)
        attrs = {**it.t.attrs, "file_nodes": count} if count != 1 else dict(it.t.attrs)
        if renames:  # Identity nodes of constants: left out by the write-back
            attrs["deployed_nodes"] = count - renames
        nodes.append(Node(id=nid, op=it.t.op, inputs=it.inputs, outputs=it.outputs,
                          name=onnx_node.name or next(iter(it.outputs), nid), attrs=attrs,
                          params=it.t.params, param_keys=it.t.keys, scope=scope_of(onnx_node)))
    nodes = separate_copies(nodes)
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


def _constant_nodes_per_item(g: onnx.GraphProto, items: list[Item]) -> dict[int, tuple[int, int]]:
    """How many constant-only ONNX nodes (``Constant``, shape arithmetic folded at load)
    each item stands for besides its own, and how many of them are ``Identity`` nodes: a
    constant node counts for the first item that reads it, directly or through other
    constant nodes. With the items' own nodes this accounts for every node of the file
    (IR attrs ``file_nodes`` / ``deployed_nodes``, read by ``report``)."""
    owner: dict[int, int] = {}  # ONNX node index -> id(item)
    for it in items:
        for i in it.indices:
            owner[i] = id(it)
    readers: dict[str, list[int]] = {}
    for j, n in enumerate(g.node):
        for name in [i for i in n.input if i] + _subgraph_inputs(n):
            readers.setdefault(name, []).append(j)
    extra: dict[int, tuple[int, int]] = {}
    for i in range(len(g.node) - 1, -1, -1):  # readers come after producers
        if i in owner:
            continue
        first = min((j for o in g.node[i].output if o for j in readers.get(o, ()) if j in owner),
                    default=None)
        if first is not None:
            owner[i] = owner[first]
            count, renames = extra.get(owner[i], (0, 0))
            extra[owner[i]] = (count + 1, renames + (g.node[i].op_type == "Identity"))
    return extra
