"""A float64 NumPy reference executor for the IR.

It runs any :class:`~inspector.ir.Graph` built from the documented op
vocabulary, following the layout conventions of :mod:`inspector.ir` exactly,
with no framework involved: the yardstick the folded IR is checked against.

    outputs = run_graph(graph, [x])          # one array per ``output`` node
    values = run_tensors(graph, {"x": x})    # every tensor, by name
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..ir import Graph, Node
from . import numpy_ops as ops

Inputs = Mapping[str, np.ndarray] | Sequence[np.ndarray]


def input_nodes(graph: Graph) -> list[Node]:
    return [n for n in graph.nodes if n.op == "input"]


def output_nodes(graph: Graph) -> list[Node]:
    return [n for n in graph.nodes if n.op == "output"]


def random_inputs(graph: Graph, seed: int = 0) -> list[np.ndarray]:
    """Seeded standard-normal float64 inputs, one per ``input`` node, in order."""
    rng = np.random.default_rng(seed)
    out = []
    for n in input_nodes(graph):
        shape = graph.shape(n.outputs[0])
        if shape is None:
            raise ValueError(f"input {n.name!r} has no recorded shape")
        out.append(rng.standard_normal(shape))
    return out


def run_graph(graph: Graph, inputs: Inputs, *, check_shapes: bool = False) -> list[np.ndarray]:
    """Run ``graph`` in float64; one array per ``output`` node, in graph order.

    ``inputs`` is a list (one array per ``input`` node, in graph order) or a
    dict keyed by input node id, node name or tensor name. With
    ``check_shapes`` every computed tensor must match its recorded shape.
    """
    values = run_tensors(graph, inputs, check_shapes=check_shapes)
    return [values[n.inputs[0]] for n in output_nodes(graph)]


def run_tensors(graph: Graph, inputs: Inputs, *,
                check_shapes: bool = False) -> dict[str, np.ndarray]:
    """Run ``graph`` in float64 and return the value of every tensor by name."""
    values: dict[str, np.ndarray] = dict(_bind_inputs(graph, inputs))
    for node in graph.nodes:
        if node.op in ("input", "output"):
            continue
        args = [values[t] for t in node.inputs]
        kernel = _KERNELS.get(node.op)
        if kernel is None:
            raise NotImplementedError(
                f"numpy executor cannot run node {node.name!r}: op {node.op!r} ({node.kind})")
        result = kernel(graph, node, args)
        outs = result if isinstance(result, list) else [result]
        if len(outs) != len(node.outputs):
            raise ValueError(f"node {node.name!r} produced {len(outs)} outputs, "
                             f"expected {len(node.outputs)}")
        for name, val in zip(node.outputs, outs):
            values[name] = np.asarray(val, dtype=np.float64)
            recorded = graph.shape(name)
            if check_shapes and recorded is not None and tuple(recorded) != val.shape:
                raise ValueError(f"node {node.name!r}: tensor {name!r} has shape {val.shape}, "
                                 f"recorded {tuple(recorded)}")
    return values


def _bind_inputs(graph: Graph, inputs: Inputs) -> dict[str, np.ndarray]:
    nodes = input_nodes(graph)
    if isinstance(inputs, Mapping):
        bound = {}
        for n in nodes:
            for key in (n.id, n.name, n.outputs[0]):
                if key in inputs:
                    bound[n.outputs[0]] = np.asarray(inputs[key], dtype=np.float64)
                    break
            else:
                raise KeyError(f"no value given for graph input {n.name!r}")
        return bound
    inputs = list(inputs)
    if len(inputs) != len(nodes):
        raise ValueError(f"graph has {len(nodes)} inputs, got {len(inputs)} arrays")
    return {n.outputs[0]: np.asarray(x, dtype=np.float64) for n, x in zip(nodes, inputs)}


# -- per-op adapters: (graph, node, input arrays) -> array | list of arrays -----
def _p(node: Node, key: str) -> np.ndarray | None:
    v = node.params.get(key)
    return None if v is None else np.asarray(v, dtype=np.float64)


def _target_shape(graph: Graph, node: Node, x: np.ndarray) -> tuple[int, ...]:
    """Recorded output shape, with the batch re-read from ``x`` if it changed."""
    shape = graph.shape(node.outputs[0])
    if shape is None:
        raise ValueError(f"node {node.name!r}: output shape unknown")
    if x.shape and shape and x.shape[0] != shape[0] and \
            int(np.prod(shape[1:])) * x.shape[0] == x.size:
        shape = (x.shape[0], *shape[1:])
    return tuple(shape)


def _conv(graph: Graph, node: Node, a: list[np.ndarray]) -> np.ndarray:
    at = node.attrs
    return ops.conv(a[0], _p(node, "weight"), _p(node, "bias"), stride=at.get("stride", 1),
                    padding=at.get("padding", 0), dilation=at.get("dilation", 1),
                    groups=at.get("groups", 1), padding_mode=at.get("padding_mode", "zeros"))


def _conv_transpose(graph: Graph, node: Node, a: list[np.ndarray]) -> np.ndarray:
    at = node.attrs
    return ops.conv_transpose(
        a[0], _p(node, "weight"), _p(node, "bias"), stride=at.get("stride", 1),
        padding=at.get("padding", 0), output_padding=at.get("output_padding", 0),
        dilation=at.get("dilation", 1), groups=at.get("groups", 1))


def _batch_norm(graph: Graph, node: Node, a: list[np.ndarray]) -> np.ndarray:
    params = {k: np.asarray(v, np.float64) for k, v in node.params.items()}
    return ops.batch_norm(a[0], params, int(node.attrs.get("axis", 1)),
                          float(node.attrs.get("eps", 1e-5)),
                          bool(node.attrs.get("uses_batch_stats", False)))


def _affine(graph: Graph, node: Node, a: list[np.ndarray]) -> np.ndarray:
    return ops.channel_affine(a[0], _p(node, "scale"), _p(node, "shift"),
                              int(node.attrs.get("axis", 1)))


def _split(graph: Graph, node: Node, a: list[np.ndarray]) -> list[np.ndarray]:
    axis = int(node.attrs.get("axis", 1))
    sizes = node.attrs.get("sizes")
    if sizes is None:
        sizes = [a[0].shape[axis] // len(node.outputs)] * len(node.outputs)
    cuts = np.cumsum(sizes)[:-1]
    return list(np.split(a[0], cuts, axis=axis))


def _slice(graph: Graph, node: Node, a: list[np.ndarray]) -> np.ndarray:
    at = node.attrs
    axis = int(at.get("axis", 1))
    index = [slice(None)] * a[0].ndim
    index[axis] = slice(at.get("start"), at.get("end"), at.get("step"))
    return a[0][tuple(index)]


def _pad(graph: Graph, node: Node, a: list[np.ndarray]) -> np.ndarray:
    at = node.attrs
    return ops.pad_array(a[0], [tuple(p) for p in at.get("pads", ())],
                         str(at.get("mode", "constant")), float(at.get("value", 0.0) or 0.0))


def _resize(graph: Graph, node: Node, a: list[np.ndarray]) -> np.ndarray:
    shape = list(_target_shape(graph, node, a[0]))
    shape[0] = a[0].shape[0]
    return ops.resize(a[0], shape, str(node.attrs.get("mode", "nearest")),
                      bool(node.attrs.get("align_corners", False)))


def _pool(kind: str) -> Callable[[Graph, Node, list[np.ndarray]], np.ndarray]:
    def run(graph: Graph, node: Node, a: list[np.ndarray]) -> np.ndarray:
        y = ops.pool(a[0], kind, node.attrs)
        shape = graph.shape(node.outputs[0])
        if node.attrs.get("global_pool") and shape is not None and len(shape) != y.ndim:
            y = y.reshape(y.shape[0], *shape[1:])  # global pool that drops the 1x1 axes
        return y
    return run


def _activation(graph: Graph, node: Node, a: list[np.ndarray]) -> np.ndarray:
    return ops.activation(a[0], str(node.attrs.get("kind", "")), node.attrs)


def _norm(graph: Graph, node: Node, a: list[np.ndarray]) -> np.ndarray:
    params = {k: np.asarray(v, np.float64) for k, v in node.params.items()}
    return ops.norm(a[0], str(node.attrs.get("kind", "")), node.attrs, params)


_KERNELS: dict[str, Callable[[Graph, Node, list[np.ndarray]], Any]] = {
    "conv": _conv,
    "conv_transpose": _conv_transpose,
    "linear": lambda g, n, a: ops.linear(a[0], _p(n, "weight"), _p(n, "bias")),
    "batch_norm": _batch_norm,
    "affine": _affine,
    "add": lambda g, n, a: a[0] + a[1],
    "sub": lambda g, n, a: a[0] - a[1],
    "mul": lambda g, n, a: a[0] * a[1],
    "concat": lambda g, n, a: np.concatenate(a, axis=int(n.attrs.get("axis", 1))),
    "split": _split,
    "slice": _slice,
    "pool_max": _pool("max"),
    "pool_avg": _pool("avg"),
    "reshape": lambda g, n, a: a[0].reshape(_target_shape(g, n, a[0])),
    "transpose": lambda g, n, a: np.transpose(a[0], tuple(n.attrs["perm"])),
    "pad": _pad,
    "resize": _resize,
    "identity": lambda g, n, a: a[0],
    "activation": _activation,
    "norm": _norm,
}
