"""Identity arithmetic left out of a written-back ONNX model (issue 15, DESIGN §3.8).

``Add(x, 0)``, ``Sub(x, 0)``, ``Mul(x, 1)``, ``Div(x, 1)`` (a constant of zeros or
ones that changes neither the shape nor the dtype of ``x``) and ``Identity``
nodes compute nothing. Exporters leave them behind (timm MobileOne writes
``0 + branch`` when a block has no scale branch) and folding leaves an
``Identity`` where a removed BN's output was a graph output. The deployed file
should not carry them: :func:`drop_identities` removes them, re-pointing their
readers at the input. A graph output keeps its name: the node producing the
input is renamed to produce the output instead (when the input is a graph
input, an initializer or another graph output, the node stays).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
from onnx import numpy_helper

__all__ = ["drop_identities", "is_identity_arithmetic"]

#: Op -> (the neutral constant, whether the constant may come first).
_NEUTRAL = {"Add": (0.0, True), "Sub": (0.0, False), "Mul": (1.0, True), "Div": (1.0, False)}


def is_identity_arithmetic(node: onnx.NodeProto, const: Callable[[str], np.ndarray | None],
                           shape: Callable[[str], tuple | None]) -> str | None:
    """The data input of ``node`` when ``node`` returns it unchanged, else None.

    ``const(name)``: the value of a constant tensor (None for data); ``shape(name)``:
    a tensor's static shape (None when unknown: then the node stays)."""
    if node.domain not in ("", "ai.onnx"):
        return None
    if node.op_type == "Identity" and len(node.input) == 1 and len(node.output) == 1:
        return node.input[0]
    if node.op_type not in _NEUTRAL or len(node.input) != 2 or len(node.output) != 1:
        return None
    neutral, either = _NEUTRAL[node.op_type]
    a, b = (const(i) for i in node.input)
    if (a is None) == (b is None):
        return None
    if b is not None:
        x, k = node.input[0], b
    elif either:
        x, k = node.input[1], a
    else:
        return None
    xs = shape(x)
    if k.dtype.kind != "f" or k.size == 0 or not np.all(k == neutral) or xs is None:
        return None
    try:  # the output shape: x's, unless the constant broadcasts it larger
        same = np.broadcast_shapes(tuple(xs), k.shape) == tuple(xs)
    except ValueError:
        return None
    return x if same else None


def drop_identities(nodes: list[onnx.NodeProto], g: onnx.GraphProto,
                    shapes: dict[str, tuple]) -> list[onnx.NodeProto]:
    """``nodes`` without identity arithmetic (see the module docstring); readers, subgraphs
    included, read the input instead. ``shapes``: static shape per tensor name (a node
    whose data input has no known shape stays); not modified."""
    shapes = dict(shapes)
    consts = _constants(nodes, g)
    outputs = {o.name for o in g.output}
    fixed = {i.name for i in g.input} | {t.name for t in g.initializer} | outputs
    producer = {o: n for n in nodes for o in n.output}
    subst: dict[str, str] = {}
    rename: dict[str, str] = {}  # producer output -> graph output name
    gone: set[int] = set()

    def shape(name: str) -> tuple | None:
        return shapes.get(name)

    for n in nodes:
        x = is_identity_arithmetic(n, consts.get, shape)
        if x is None:
            continue
        if x in shapes:
            shapes[n.output[0]] = shapes[x]
        x = _resolve(subst, x)
        y = n.output[0]
        if y not in outputs:
            subst[y] = x
            gone.add(id(n))
        elif x not in fixed and x in producer and x not in rename:
            rename[x] = y
            gone.add(id(n))
    if not gone:
        return nodes
    for x, y in rename.items():
        subst[x] = y
    kept = [n for n in nodes if id(n) not in gone]
    for n in kept:
        for i, o in enumerate(n.output):
            if o in rename:
                n.output[i] = rename[o]
        _rename_inputs(n, lambda name: _resolve(subst, name))
    return kept


def _resolve(subst: dict[str, str], name: str) -> str:
    seen = set()
    while name in subst and name not in seen:
        seen.add(name)
        name = subst[name]
    return name


def _rename_inputs(node: onnx.NodeProto, resolve: Callable[[str], str]) -> None:
    for pos, name in enumerate(node.input):
        if name:
            node.input[pos] = resolve(name)
    for a in node.attribute:
        for sub in ([a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)):
            for inner in sub.node:
                _rename_inputs(inner, resolve)


def _constants(nodes: list[onnx.NodeProto], g: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Initializers (not graph inputs) and ``Constant`` node values, by tensor name."""
    inputs = {i.name for i in g.input}
    out = {t.name: numpy_helper.to_array(t) for t in g.initializer
           if t.name not in inputs and _small(t)}
    for n in nodes:
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx") and len(n.output) == 1:
            for a in n.attribute:
                if a.name == "value" and a.type == onnx.AttributeProto.TENSOR:
                    out[n.output[0]] = numpy_helper.to_array(a.t)
                elif a.name == "value_float":
                    out[n.output[0]] = np.asarray(a.f, dtype=np.float32)
    return out


def _small(t: onnx.TensorProto) -> bool:
    """Only small constants can be neutral broadcasts worth reading (no external data)."""
    return t.data_location != onnx.TensorProto.EXTERNAL and int(np.prod(t.dims or [1])) <= 1 << 16
