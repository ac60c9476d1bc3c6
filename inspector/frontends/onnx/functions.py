"""ONNX local functions (``model.functions``), inlined before the IR is built.

A node whose (domain, op_type, overload) names a local function stands for the
function's body; a BN inside it is a BN of the model. :func:`inline_functions`
replaces every call by its body with onnx's inliner, after counting what the
calls expand to (a function calling another twice, thirty levels deep, would
expand to a billion nodes from a few KB: refused before inlining). Inlined
nodes are named ``<caller name>/<node name in the function>``, so that their
scope is the call (``block0/bn`` -> scope ``block0``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import onnx

from ...errors import InvalidGraphError, ResourceLimitError, first_line

#: Most nodes the local functions of one model may expand to.
MAX_INLINED_NODES = 1_000_000

_Key = tuple[str, str, str]
_SUBGRAPH = (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)


def _key(node: onnx.NodeProto) -> _Key:
    return (node.domain, node.op_type, getattr(node, "overload", ""))


def _subgraphs(node: onnx.NodeProto) -> Iterator[onnx.GraphProto]:
    for a in node.attribute:
        if a.type == onnx.AttributeProto.GRAPH:
            yield a.g
        elif a.type == onnx.AttributeProto.GRAPHS:
            yield from a.graphs


class _Counter:
    """Nodes a node list expands to once every call is inlined (memoised per function)."""

    def __init__(self, funcs: dict[_Key, onnx.FunctionProto], label: str) -> None:
        self.funcs, self.label, self.memo = funcs, label, {}
        self.calls: dict[_Key, int] = {}

    def nodes(self, nodes: Sequence[onnx.NodeProto], stack: tuple[_Key, ...] = ()) -> int:
        total = 0
        for n in nodes:
            key = _key(n)
            if key in self.funcs:
                if not stack:
                    self.calls[key] = self.calls.get(key, 0) + 1
                total += self.function(key, stack)
            else:
                total += 1 + sum(self.nodes(g.node, stack) for g in _subgraphs(n))
            if total > MAX_INLINED_NODES:
                raise ResourceLimitError(
                    f"'{self.label}': its local functions expand to more than "
                    f"{MAX_INLINED_NODES:,} nodes when inlined (calls nested inside calls). "
                    "To fix this, export the model without functions or check it.")
        return total

    def function(self, key: _Key, stack: tuple[_Key, ...]) -> int:
        if key in stack:
            raise InvalidGraphError(f"'{self.label}': local function '{key[1]}' calls itself "
                                    "(through its body); ONNX functions must not be recursive. "
                                    "To fix this, re-export the model.")
        if key not in self.memo:
            self.memo[key] = self.nodes(self.funcs[key].node, (*stack, key))
        return self.memo[key]


def _expanded_names(nodes: Sequence[onnx.NodeProto], funcs: dict[_Key, onnx.FunctionProto],
                    prefix: str = "") -> Iterator[tuple[str, str]]:
    """(op_type, display name) of every node after inlining, in the inliner's order."""
    for i, n in enumerate(nodes):
        own = (n.name or f"{n.op_type}_{i}").strip("/")
        name = f"{prefix}/{own}" if prefix else n.name
        if _key(n) in funcs:
            yield from _expanded_names(funcs[_key(n)].node, funcs, name or own)
        else:
            yield n.op_type, name


def _light_copy(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` without initializer data (names, types and dims kept)."""
    light = onnx.ModelProto()
    for field in ("ir_version", "producer_name", "producer_version", "domain", "model_version",
                  "doc_string"):
        setattr(light, field, getattr(model, field))
    for part in ("opset_import", "metadata_props", "functions"):
        getattr(light, part).extend(getattr(model, part))
    src, g = model.graph, light.graph
    g.name = src.name
    g.doc_string = src.doc_string
    for part in ("node", "input", "output", "value_info", "sparse_initializer",
                 "quantization_annotation", "metadata_props"):
        getattr(g, part).extend(getattr(src, part))
    for t in src.initializer:
        g.initializer.add(name=t.name, data_type=t.data_type, dims=t.dims)
    return light


def inline_functions(model: onnx.ModelProto, label: str, notes: list[str]) -> onnx.ModelProto:
    """``model`` with every call of a local function replaced by the function's body
    (``model`` itself when it has no functions; never modified). Adds a note naming
    the functions inlined. Raises ResourceLimitError when the calls would expand to
    more than :data:`MAX_INLINED_NODES` nodes, InvalidGraphError for a recursive
    function or one the inliner refuses."""
    if not model.functions:
        return model
    funcs = {(f.domain, f.name, getattr(f, "overload", "")): f for f in model.functions}
    counter = _Counter(funcs, label)
    total = counter.nodes(model.graph.node)
    if not counter.calls:
        return model
    import onnx.inliner

    try:
        inlined = onnx.inliner.inline_local_functions(_light_copy(model))
    except Exception as e:  # the C++ inliner's ValidationError and friends
        raise InvalidGraphError(f"'{label}': its local functions cannot be inlined "
                                f"({first_line(e)}). To fix this, re-export the model.") from e
    weights = {t.name: t for t in model.graph.initializer}
    for t in inlined.graph.initializer:
        if t.name in weights:
            t.CopyFrom(weights[t.name])
    expected = list(_expanded_names(model.graph.node, funcs))
    if [op for op, _ in expected] == [n.op_type for n in inlined.graph.node]:
        for node, (_, name) in zip(inlined.graph.node, expected):
            node.name = name
    used = ", ".join(f"{k[1]}: {n}" for k, n in sorted(counter.calls.items()))
    notes.append(f"{sum(counter.calls.values())} calls of local functions ({used}) were inlined "
                 f"({total} nodes); the folded model is saved with them inlined.")
    return inlined
