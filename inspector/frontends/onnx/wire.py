"""How deep an ONNX file's messages nest, read from the protobuf wire format.

protobuf refuses to parse messages nested more than 100 levels deep, so a file
with If/Loop/Scan subgraphs nested about 32 levels (each level is a node, an
attribute and a graph) cannot be read at all. :func:`nesting_depth` walks the
raw bytes without parsing them (no recursion, length-delimited fields outside
the schema below are skipped) to tell that apart from a truncated file.
"""

from __future__ import annotations

#: Message fields that hold messages, by message: field number -> message type.
_SCHEMA: dict[str, dict[int, str]] = {
    "Model": {7: "Graph", 25: "Function", 20: "Training"},
    "Training": {1: "Graph", 2: "Graph"},
    "Graph": {1: "Node", 5: "Tensor", 15: "Sparse", 11: "Value", 12: "Value", 13: "Value"},
    "Node": {5: "Attr"},
    "Attr": {5: "Tensor", 6: "Graph", 22: "Sparse", 14: "Type", 10: "Tensor", 11: "Graph",
             23: "Sparse", 15: "Type"},
    "Function": {7: "Node", 11: "Attr", 12: "Value"},
    "Value": {2: "Type"},
    "Type": {1: "TensorType", 8: "TensorType", 4: "Sequence", 5: "Map", 9: "Optional"},
    "TensorType": {2: "Shape"},
    "Sequence": {1: "Type"}, "Map": {2: "Type"}, "Optional": {1: "Type"},
    "Shape": {1: "Dim"}, "Dim": {},
    "Tensor": {3: "Segment"}, "Segment": {}, "Sparse": {1: "Tensor", 2: "Tensor"},
}

#: Deepest nesting protobuf parses (its default recursion limit), the model included.
PROTOBUF_MAX_DEPTH = 100


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while pos < end and shift < 64:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
    raise ValueError("bad varint")


def nesting_depth(data: bytes) -> tuple[int, int]:
    """(deepest message nesting, the model being 1; most graphs on one path, the main
    graph being 1) of serialised ONNX ``data``, read as far as it is well formed.
    The walk stops once the nesting passes :data:`PROTOBUF_MAX_DEPTH` (memory and
    time stay bounded: one entry per level, each byte read once)."""
    deepest = graphs = 0
    stack = [["Model", 0, len(data), 0]]  # kind, position, end, graphs on the path
    while stack and deepest <= PROTOBUF_MAX_DEPTH:
        top = stack[-1]
        kind, pos, end, g = top
        if len(stack) > deepest or g > graphs:
            deepest, graphs = max(deepest, len(stack)), max(graphs, g)
        if pos >= end:
            stack.pop()
            continue
        try:
            tag, pos = _varint(data, pos, end)
            wire = tag & 7
            if wire == 2:
                n, pos = _varint(data, pos, end)
                top[1] = pos + n
                if (sub := _SCHEMA[kind].get(tag >> 3)) is not None:
                    stack.append([sub, pos, min(pos + n, end), g + (sub == "Graph")])
                continue
            if wire not in (0, 1, 5):  # groups are not used by ONNX: not a model
                raise ValueError("unexpected wire type")
            top[1] = _varint(data, pos, end)[1] if wire == 0 else pos + (8 if wire == 1 else 4)
        except ValueError:
            stack.pop()
    return deepest, graphs
