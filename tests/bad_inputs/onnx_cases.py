"""ONNX cases of the bad-input corpus from issues 18 (items 8, 9) and 19 (item 2).

* BNs inside local functions (``model.functions``), and functions that call
  each other until they expand to a billion nodes;
* If subgraphs nested deeper than protobuf's recursion limit (written as raw
  wire bytes: protobuf itself refuses to build them);
* sizes no estimate sees before onnxruntime builds the tensor: a shape from
  TopK, from a float initializer through Cast, from a com.microsoft op, Resize
  scales from TopK, and a ConstantOfShape inside an If branch. Each asked for
  4 to 15 GB before the bounded run.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT
I64 = TensorProto.INT64


def _vi(name, shape, elem=F):
    return helper.make_tensor_value_info(name, elem, shape)


def _t(name, value):
    return numpy_helper.from_array(np.asarray(value), name)


def _model(nodes, inputs, outputs, inits=(), functions=(), domains=()) -> onnx.ModelProto:
    opsets = [helper.make_opsetid("", 17), *(helper.make_opsetid(d, 1) for d in domains)]
    m = helper.make_model(helper.make_graph(nodes, "g", inputs, outputs, list(inits)),
                          opset_imports=opsets, functions=list(functions))
    m.ir_version = 8
    return m


# -- local functions (18.8) ------------------------------------------------------
def function_bn(calls: int = 2) -> onnx.ModelProto:
    """``calls`` calls of a local function ConvBn (Conv 3x3 -> BN -> Relu), named
    block0, block1 ...: 4 channels, a (1, 3, 8, 8) input."""
    rng = np.random.default_rng(3)
    f32 = np.float32
    fn = helper.make_function(
        "local", "ConvBn", ["x", "w", "g", "b", "m", "v"], ["y"],
        [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
         helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["n"], name="bn"),
         helper.make_node("Relu", ["n"], ["y"], name="relu")],
        [helper.make_opsetid("", 17)])
    nodes, inits, prev = [], [], "x"
    for i in range(calls):
        cin = 3 if i == 0 else 4
        inits += [_t(f"w{i}", rng.standard_normal((4, cin, 3, 3)).astype(f32)),
                  _t(f"g{i}", rng.uniform(0.5, 1.5, 4).astype(f32)),
                  _t(f"b{i}", rng.standard_normal(4).astype(f32)),
                  _t(f"m{i}", rng.standard_normal(4).astype(f32)),
                  _t(f"v{i}", rng.uniform(0.5, 2, 4).astype(f32))]
        nodes.append(helper.make_node("ConvBn", [prev, *(f"{p}{i}" for p in "wgbmv")], [f"h{i}"],
                                      domain="local", name=f"block{i}"))
        prev = f"h{i}"
    return _model(nodes, [_vi("x", [1, 3, 8, 8])], [_vi(prev, [1, 4, 8, 8])], inits,
                  functions=[fn], domains=["local"])


def function_bomb(levels: int = 30) -> onnx.ModelProto:
    """F0 = Relu; F(k) calls F(k-1) twice: one call of F(levels) is 2**levels nodes."""
    fns = [helper.make_function("local", "F0", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])],
                                [helper.make_opsetid("", 17)])]
    for k in range(1, levels + 1):
        fns.append(helper.make_function(
            "local", f"F{k}", ["a"], ["b"],
            [helper.make_node(f"F{k - 1}", ["a"], ["t"], domain="local"),
             helper.make_node(f"F{k - 1}", ["t"], ["b"], domain="local")],
            [helper.make_opsetid("", 17), helper.make_opsetid("local", 1)]))
    return _model([helper.make_node(f"F{levels}", ["x"], ["y"], domain="local")],
                  [_vi("x", [1, 3])], [_vi("y", [1, 3])], functions=fns, domains=["local"])


# -- nesting (18.9) ----------------------------------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _graph_attr(name: str, graph: bytes) -> bytes:
    """AttributeProto {name, type: GRAPH, g}."""
    return _field(1, name.encode()) + _varint(20 << 3) + _varint(onnx.AttributeProto.GRAPH) \
        + _field(6, graph)


def nested_if(levels: int) -> bytes:
    """``levels`` If nodes nested in each other's then-branch, each branch returning
    ``x``; serialised by hand (protobuf refuses to build more than ~31 levels)."""
    def graph(name: str, nodes: list[bytes], out: str) -> bytes:
        return (b"".join(_field(1, n) for n in nodes) + _field(2, name.encode())
                + _field(12, _vi(out, [1]).SerializeToString()))

    def node(op: str, inputs: list[str], output: str, attrs: list[bytes] = ()) -> bytes:
        return (b"".join(_field(1, i.encode()) for i in inputs) + _field(2, output.encode())
                + _field(4, op.encode()) + b"".join(_field(5, a) for a in attrs))

    body = graph(f"b{levels}", [node("Identity", ["x"], f"y{levels}")], f"y{levels}")
    for d in range(levels - 1, -1, -1):
        other = graph(f"e{d}", [node("Identity", ["x"], f"e{d}")], f"e{d}")
        if_node = node("If", ["c"], f"y{d}", [_graph_attr("then_branch", body),
                                              _graph_attr("else_branch", other)])
        body = graph(f"b{d}", [if_node], f"y{d}") if d else if_node
    top = _model([], [_vi("x", [1]), _vi("c", [], TensorProto.BOOL)], [_vi("y0", [1])])
    # A second GraphProto field merges into the first: the top If node is appended.
    return top.SerializeToString() + _field(7, _field(1, body))


# -- sizes no estimate sees (19.2) -----------------------------------------------------
def _ones(shape_name: str) -> list[onnx.NodeProto]:
    """ConstantOfShape(shape) summed into ``y`` = x + sum."""
    return [helper.make_node("ConstantOfShape", [shape_name], ["big"],
                             value=_t("one", np.array([1.0], np.float32))),
            helper.make_node("ReduceSum", ["big"], ["s"], keepdims=0),
            helper.make_node("Add", ["x", "s"], ["y"])]


_X, _Y = [_vi("x", [1])], [_vi("y", [1])]


def topk_bomb() -> onnx.ModelProto:
    """ConstantOfShape of the 3 largest of (1000, 1000, 1000, 3): 4 GB of ones."""
    return _model([helper.make_node("TopK", ["dv", "k"], ["d", "i"]), *_ones("d")], _X, _Y,
                  [_t("dv", np.array([1000, 1000, 1000, 3], np.int64)), _t("k", np.array([3], np.int64))])


def cast_bomb() -> onnx.ModelProto:
    """ConstantOfShape of a float initializer (1000, 1000, 1000) cast to int64."""
    return _model([helper.make_node("Cast", ["df"], ["d"], to=I64), *_ones("d")], _X, _Y,
                  [_t("df", np.array([1000, 1000, 1000], np.float32))])


def microsoft_bomb() -> onnx.ModelProto:
    """ConstantOfShape of (1000, 1001, 1002) passed through com.microsoft.ExpandDims."""
    return _model([helper.make_node("ExpandDims", ["dv", "ax"], ["e"], domain="com.microsoft"),
                   helper.make_node("Reshape", ["e", "flat"], ["d"]), *_ones("d")], _X, _Y,
                  [_t("dv", np.array([1000, 1001, 1002], np.int64)), _t("ax", np.array(0, np.int32)),
                   _t("flat", np.array([-1], np.int64))], domains=["com.microsoft"])


def resize_bomb() -> onnx.ModelProto:
    """Resize of a 2x2 image by scales (30000, 30000) that come out of TopK: 14 GB."""
    return _model([helper.make_node("TopK", ["sv", "k"], ["sc", "i"]),
                   helper.make_node("Resize", ["img", "", "sc"], ["big"]),
                   helper.make_node("ReduceSum", ["big"], ["s"], keepdims=0),
                   helper.make_node("Add", ["x", "s"], ["y"])],
                  [*_X, _vi("img", [1, 1, 2, 2])], _Y,
                  [_t("sv", np.array([1, 1, 30000, 30000], np.float32)), _t("k", np.array([4], np.int64))])


def constant_resize_bomb() -> onnx.ModelProto:
    """A 2x2 constant image resized by scales (30000, 30000) from TopK, in a model
    onnxruntime cannot run (a com.example op): shapes stay unknown and the constant
    folder, not onnxruntime, would build the 14 GB tensor."""
    return _model([helper.make_node("TopK", ["sv", "k"], ["sc", "i"]),
                   helper.make_node("Resize", ["img", "", "sc"], ["big"], name="resize"),
                   helper.make_node("ReduceSum", ["big"], ["s"], keepdims=0),
                   helper.make_node("Nope", ["x"], ["x2"], domain="com.example"),
                   helper.make_node("Add", ["x2", "s"], ["y"])], _X, _Y,
                  [_t("img", np.zeros((1, 1, 2, 2), np.float32)),
                   _t("sv", np.array([1, 1, 30000, 30000], np.float32)),
                   _t("k", np.array([4], np.int64))], domains=["com.example"])

def if_branch_bomb() -> onnx.ModelProto:
    """An If whose then-branch sums a (1000, 1000, 1000) ConstantOfShape: every
    top-level shape is known; the 4 GB tensor lives inside the branch."""
    dims = _t("dims", np.array([1000, 1000, 1000], np.int64))
    then = helper.make_graph(
        [helper.make_node("Constant", [], ["d"], value=dims),
         helper.make_node("ConstantOfShape", ["d"], ["big"], value=_t("one", np.array([1.0], np.float32))),
         helper.make_node("ReduceSum", ["big"], ["s"], keepdims=0)], "then", [], [_vi("s", [])])
    other = helper.make_graph([helper.make_node("Constant", [], ["z"], value=_t("z", np.float32(0)))],
                              "else", [], [_vi("z", [])])
    return _model([helper.make_node("Constant", [], ["c"], value=_t("c", np.array(True))),
                   helper.make_node("If", ["c"], ["s"], then_branch=then, else_branch=other),
                   helper.make_node("Add", ["x", "s"], ["y"])], _X, _Y)


def if_input_bomb() -> onnx.ModelProto:
    """:func:`if_branch_bomb` whose condition is a boolean input: a run on zeros takes
    the small branch, verification's random inputs (True) the 4 GB one."""
    model = if_branch_bomb()
    del model.graph.node[0]
    model.graph.input.append(_vi("c", [], TensorProto.BOOL))
    return model


def cases() -> list[tuple[str, bytes, str, str]]:
    """(file name, bytes, expected outcome, what) for ``corpus.cases``."""
    return [
        ("function_bn.onnx", function_bn().SerializeToString(), "ok",
         "two BNs inside calls of a local function"),
        ("function_bomb.onnx", function_bomb().SerializeToString(), "ResourceLimitError",
         "local functions calling each other twice, 30 levels: 2**30 nodes when inlined"),
        ("nested_if.onnx", nested_if(40), "InvalidGraphError",
         "If subgraphs nested 40 levels, beyond protobuf's recursion limit"),
        ("topk_bomb.onnx", topk_bomb().SerializeToString(), "ResourceLimitError",
         "ConstantOfShape of 4 GB whose shape comes from TopK"),
        ("cast_bomb.onnx", cast_bomb().SerializeToString(), "ResourceLimitError",
         "ConstantOfShape of 4 GB whose shape is a float initializer through Cast"),
        ("microsoft_bomb.onnx", microsoft_bomb().SerializeToString(), "ResourceLimitError",
         "ConstantOfShape of 4 GB whose shape goes through a com.microsoft op"),
        ("resize_bomb.onnx", resize_bomb().SerializeToString(), "ResourceLimitError",
         "Resize to 14 GB with scales from TopK"),
        ("if_branch_bomb.onnx", if_branch_bomb().SerializeToString(), "ResourceLimitError",
         "4 GB ConstantOfShape inside an If branch"),
        ("if_input_bomb.onnx", if_input_bomb().SerializeToString(), "ResourceLimitError",
         "4 GB ConstantOfShape inside the If branch a boolean input True selects"),
    ]
