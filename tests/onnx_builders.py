"""Small ONNX graphs built with onnx.helper, shared by the ONNX tests.

Every builder returns a checked ``onnx.ModelProto`` with seeded random weights
and BN statistics far from the identity (gamma ~ U(0.5, 1.5), var ~ U(0.5, 2)).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT = TensorProto.FLOAT


def rand(shape, seed: int = 0, scale: float = 0.5) -> np.ndarray:
    """Seeded float32 normal array."""
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def bn_stats(c: int, seed: int = 0) -> dict[str, np.ndarray]:
    """gamma, beta, mean, var for ``c`` channels, far from the identity map."""
    rng = np.random.default_rng(seed + 1000)
    return {
        "gamma": rng.uniform(0.5, 1.5, c).astype(np.float32),
        "beta": (rng.standard_normal(c) * 0.5).astype(np.float32),
        "mean": (rng.standard_normal(c) * 0.5).astype(np.float32),
        "var": rng.uniform(0.5, 2.0, c).astype(np.float32),
    }


def bn_affine(stats: dict[str, np.ndarray], eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """(a, c) of BN(x) = a*x + c, in float64."""
    a = stats["gamma"].astype(np.float64) / np.sqrt(stats["var"].astype(np.float64) + eps)
    return a, stats["beta"] - a * stats["mean"]


def init(name: str, value) -> TensorProto:
    return numpy_helper.from_array(np.asarray(value), name)


def vinfo(name: str, shape, elem: int = FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def model(nodes, inputs, outputs, inits=(), opset: int = 17, name: str = "g",
          extra_opsets=()) -> onnx.ModelProto:
    """Assemble, check and return a model; outputs given by name are typed by inference."""
    outs = [o if isinstance(o, onnx.ValueInfoProto) else onnx.ValueInfoProto(name=o) for o in outputs]
    graph = helper.make_graph(list(nodes), name, list(inputs), outs, list(inits))
    imports = [helper.make_opsetid("", opset), *(helper.make_opsetid(d, v) for d, v in extra_opsets)]
    m = helper.make_model(graph, opset_imports=imports)
    m.ir_version = min(m.ir_version, 8) if opset <= 17 else m.ir_version
    if not all(o.HasField("type") for o in outs):  # output types come from shape inference
        typed = onnx.shape_inference.infer_shapes(m)
        del m.graph.output[:]
        m.graph.output.extend(typed.graph.output)
    onnx.checker.check_model(m)
    return m


def bn_node(name: str, x: str, y: str, c: int, seed: int = 0, **attrs):
    """A BatchNormalization node and its four initializers."""
    stats = bn_stats(c, seed)
    names = [f"{name}.{k}" for k in ("gamma", "beta", "mean", "var")]
    node = helper.make_node("BatchNormalization", [x, *names], [y], name=name, epsilon=1e-5, **attrs)
    return node, [init(n, stats[k]) for n, k in zip(names, ("gamma", "beta", "mean", "var"))]


def conv_bn_relu(opset: int = 17, c_in: int = 3, c_out: int = 4, bias: bool = True,
                 relu: bool = True, const_weights: bool = False, batch="N") -> onnx.ModelProto:
    """x -> Conv(3x3, pad 1) -> BN -> (Relu) -> y, named like a torch export."""
    inits = []
    nodes = []
    w, b = rand((c_out, c_in, 3, 3), 1), rand((c_out,), 2)
    if const_weights:
        nodes.append(helper.make_node("Constant", [], ["conv.weight"], name="/conv/Constant",
                                      value=numpy_helper.from_array(w)))
    else:
        inits.append(init("conv.weight", w))
    conv_in = ["x", "conv.weight"] + (["conv.bias"] if bias else [])
    if bias:
        inits.append(init("conv.bias", b))
    nodes.append(helper.make_node("Conv", conv_in, ["c"], name="/conv/Conv", pads=[1, 1, 1, 1],
                                  kernel_shape=[3, 3]))
    bn, bn_inits = bn_node("/bn/BatchNormalization", "c", "b" if relu else "y", c_out)
    nodes.append(bn)
    if relu:
        nodes.append(helper.make_node("Relu", ["b"], ["y"], name="/relu/Relu"))
    return model(nodes, [vinfo("x", [batch, c_in, 8, 8])], ["y"], inits + bn_inits, opset)


def decomposed_bn(c: int = 4) -> onnx.ModelProto:
    """x -> Conv -> Mul(C,1,1) -> Add(C,1,1) -> Relu: a BN split into Mul and Add."""
    a, sh = bn_affine(bn_stats(c))
    inits = [init("w", rand((c, 3, 1, 1), 1)), init("b", rand((c,), 2)),
             init("s", a.astype(np.float32).reshape(c, 1, 1)),
             init("t", sh.astype(np.float32).reshape(1, c, 1, 1))]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="/conv/Conv"),
             helper.make_node("Mul", ["c", "s"], ["m"], name="/bn/Mul"),
             helper.make_node("Add", ["m", "t"], ["a"], name="/bn/Add"),
             helper.make_node("Relu", ["a"], ["y"], name="/relu/Relu")]
    return model(nodes, [vinfo("x", [1, 3, 6, 6])], ["y"], inits)


def resnet_block(c: int = 8, opset: int = 17) -> onnx.ModelProto:
    """Conv-BN-Relu-Conv-BN + identity skip, Relu, GAP, Flatten, Gemm (dynamic batch)."""
    inits = [init("stem.w", rand((c, 3, 3, 3), 1)), init("c1.w", rand((c, c, 3, 3), 2)),
             init("c2.w", rand((c, c, 3, 3), 3)), init("fc.w", rand((10, c), 4)),
             init("fc.b", rand((10,), 5))]
    nodes = [helper.make_node("Conv", ["x", "stem.w"], ["s"], name="/stem/Conv", pads=[1] * 4, strides=[2, 2])]
    for name, x, y, seed in (("/stem_bn", "s", "s_bn", 0), ("/l1/bn1", "c1", "c1_bn", 1),
                             ("/l1/bn2", "c2", "c2_bn", 2)):
        bn, more = bn_node(name + "/BatchNormalization", x, y, c, seed)
        inits += more
        if name == "/stem_bn":
            nodes += [bn, helper.make_node("Relu", ["s_bn"], ["r0"], name="/stem_relu/Relu"),
                      helper.make_node("Conv", ["r0", "c1.w"], ["c1"], name="/l1/conv1/Conv", pads=[1] * 4)]
        elif name == "/l1/bn1":
            nodes += [bn, helper.make_node("Relu", ["c1_bn"], ["r1"], name="/l1/relu/Relu"),
                      helper.make_node("Conv", ["r1", "c2.w"], ["c2"], name="/l1/conv2/Conv", pads=[1] * 4)]
        else:
            nodes.append(bn)
    nodes += [helper.make_node("Add", ["c2_bn", "r0"], ["sum"], name="/l1/Add"),
              helper.make_node("Relu", ["sum"], ["r2"], name="/l1/relu_1/Relu"),
              helper.make_node("GlobalAveragePool", ["r2"], ["gap"], name="/pool/GlobalAveragePool"),
              helper.make_node("Flatten", ["gap"], ["flat"], name="/Flatten"),
              helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["y"], name="/fc/Gemm", transB=1)]
    return model(nodes, [vinfo("x", ["batch", 3, 16, 16])], ["y"], inits, opset)


def opset_mix(opset: int) -> onnx.ModelProto:
    """Conv-BN-Relu, then Split / Slice / Pad / ReduceMean / Squeeze in the given opset's form."""
    c = 6
    inits = [init("w", rand((c, 3, 3, 3), 1))]
    bn, more = bn_node("bn", "c", "b", c)
    inits += more
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1] * 4), bn,
             helper.make_node("Relu", ["b"], ["r"], name="relu")]
    if opset < 13:
        nodes.append(helper.make_node("Split", ["r"], ["s1", "s2"], name="split", axis=1, split=[2, 4]))
    else:
        inits.append(init("split_sizes", np.array([2, 4], np.int64)))
        nodes.append(helper.make_node("Split", ["r", "split_sizes"], ["s1", "s2"], name="split", axis=1))
    inits += [init("sl_starts", np.array([1], np.int64)), init("sl_ends", np.array([3], np.int64)),
              init("sl_axes", np.array([1], np.int64)), init("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))]
    nodes += [helper.make_node("Slice", ["s2", "sl_starts", "sl_ends", "sl_axes"], ["sl"], name="slice"),
              helper.make_node("Concat", ["s1", "sl"], ["cat"], name="concat", axis=1),
              helper.make_node("Pad", ["cat", "pads"], ["pad"], name="pad", mode="reflect")]
    if opset < 18:
        nodes.append(helper.make_node("ReduceMean", ["pad"], ["gap"], name="mean", axes=[2, 3], keepdims=1))
    else:
        inits.append(init("mean_axes", np.array([2, 3], np.int64)))
        nodes.append(helper.make_node("ReduceMean", ["pad", "mean_axes"], ["gap"], name="mean", keepdims=1))
    if opset < 13:
        nodes.append(helper.make_node("Squeeze", ["gap"], ["y"], name="squeeze", axes=[2, 3]))
    else:
        inits.append(init("sq_axes", np.array([2, 3], np.int64)))
        nodes.append(helper.make_node("Squeeze", ["gap", "sq_axes"], ["y"], name="squeeze"))
    return model(nodes, [vinfo("x", [1, 3, 8, 8])], ["y"], inits, opset)


def shared_weight_convs(c: int = 4, names: tuple[str, str] = ("conv1", "conv2")) -> onnx.ModelProto:
    """Two convs reading the same weight initializer; only the first feeds a BN.
    ``names``: the convs' node names (a ``/``-path gives them a module scope)."""
    bn, more = bn_node("bn", "c1", "b1", c)
    nodes = [helper.make_node("Conv", ["x", "w", "bias"], ["c1"], name=names[0]), bn,
             helper.make_node("Conv", ["x", "w", "bias"], ["c2"], name=names[1]),
             helper.make_node("Add", ["b1", "c2"], ["y"], name="add")]
    inits = [init("w", rand((c, 3, 3, 3), 1)), init("bias", rand((c,), 2)), *more]
    return model(nodes, [vinfo("x", [1, 3, 8, 8])], ["y"], inits)


def dense_bn(kind: str = "gemm", c_in: int = 5, c_out: int = 4) -> onnx.ModelProto:
    """x (N, c_in) -> Gemm(transB=0, alpha=0.5) | MatMul (no bias) -> BN -> y."""
    bn, more = bn_node("bn", "h", "y", c_out)
    if kind == "gemm":
        node = helper.make_node("Gemm", ["x", "B", "C"], ["h"], name="fc", alpha=0.5, beta=2.0)
        inits = [init("B", rand((c_in, c_out), 1)), init("C", rand((1, c_out), 2))]
    else:
        node = helper.make_node("MatMul", ["x", "B"], ["h"], name="fc")
        inits = [init("B", rand((c_in, c_out), 1))]
    return model([node, bn], [vinfo("x", [2, c_in])], ["y"], inits + more)


def conv_same_upper(size: int = 8, stride: int = 2, auto_pad: str = "SAME_UPPER") -> onnx.ModelProto:
    """A 3x3 Conv with ``auto_pad`` (pads are implicit)."""
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", auto_pad=auto_pad,
                            strides=[stride, stride], kernel_shape=[3, 3])
    return model([node], [vinfo("x", [1, 2, size, size])], ["y"], [init("w", rand((4, 2, 3, 3), 1))])


def conv_transpose_grouped(groups: int = 2, output_shape=None) -> onnx.ModelProto:
    """ConvTranspose(C_in=4, C_out=6, groups, stride 2, output_padding 1) -> BN."""
    attrs = {"group": groups, "strides": [2, 2], "kernel_shape": [3, 3]}
    attrs.update({"output_shape": output_shape} if output_shape else
                 {"pads": [1, 1, 1, 1], "output_padding": [1, 1]})
    bn, more = bn_node("bn", "t", "y", 6)
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["t"], name="deconv", **attrs)
    inits = [init("w", rand((4, 6 // groups, 3, 3), 1)), init("b", rand((6,), 2)), *more]
    return model([node, bn], [vinfo("x", [1, 4, 5, 5])], ["y"], inits)


def gemm(trans_b: int = 1, alpha: float = 0.5, beta: float = 2.0, c_shape=(1, 4)) -> onnx.ModelProto:
    """x (2, 5) -> Gemm(B, C) with the given transB / alpha / beta."""
    b = rand((4, 5) if trans_b else (5, 4), 1)
    node = helper.make_node("Gemm", ["x", "B", "C"], ["y"], name="fc", transB=trans_b,
                            alpha=alpha, beta=beta)
    return model([node], [vinfo("x", [2, 5])], ["y"], [init("B", b), init("C", rand(c_shape, 2))])


def matmul_add(extra_reader: bool = False) -> onnx.ModelProto:
    """x (1, 3, 5) -> MatMul(5x4) -> Add(bias) -> y; optionally the MatMul output is also an output."""
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"], name="/fc/MatMul"),
             helper.make_node("Add", ["bias", "h"], ["y"], name="/fc/Add")]
    outs = ["y", "h"] if extra_reader else ["y"]
    return model(nodes, [vinfo("x", [1, 3, 5])], outs,
                 [init("W", rand((5, 4), 1)), init("bias", rand((4,), 2))])


def training_bn(opset: int = 15) -> onnx.ModelProto:
    """Conv -> BN(training_mode=1) with its running-stat outputs."""
    bn, more = bn_node("bn", "c", "y", 4)
    bn.attribute.append(helper.make_attribute("training_mode", 1))
    bn.output.extend(["run_mean", "run_var"])
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"), bn]
    return model(nodes, [vinfo("x", [2, 3, 6, 6])], ["y"], [init("w", rand((4, 3, 1, 1), 1)), *more], opset)


def nhwc_input() -> onnx.ModelProto:
    """tf2onnx style: NHWC input -> Transpose -> Conv -> BN -> Relu -> Transpose back."""
    bn, more = bn_node("model/bn/FusedBatchNormV3", "c", "b", 4)
    nodes = [helper.make_node("Transpose", ["x"], ["t"], name="model/conv/Conv2D__6", perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["t", "w"], ["c"], name="model/conv/Conv2D", pads=[1] * 4),
             bn, helper.make_node("Relu", ["b"], ["r"], name="model/relu/Relu"),
             helper.make_node("Transpose", ["r"], ["y"], name="model/out__7", perm=[0, 2, 3, 1])]
    return model(nodes, [vinfo("x", ["unk__1", 8, 8, 3])], ["y"], [init("w", rand((4, 3, 3, 3), 1)), *more], 13)


def pad_conv(opset: int = 11) -> onnx.ModelProto:
    """Explicit zero Pad (pads from a Constant node) before an unpadded Conv."""
    pads = np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)
    nodes = [helper.make_node("Constant", [], ["pads"], name="pads", value=numpy_helper.from_array(pads)),
             helper.make_node("Pad", ["x", "pads"], ["p"], name="pad", mode="constant"),
             helper.make_node("Conv", ["p", "w"], ["y"], name="conv")]
    return model(nodes, [vinfo("x", [1, 3, 8, 8])], ["y"], [init("w", rand((4, 3, 3, 3), 1))], opset)


def unknown_ops() -> onnx.ModelProto:
    """A standard op without a rule (CumSum) and a custom-domain op nobody can run."""
    nodes = [helper.make_node("CumSum", ["x", "axis"], ["cs"], name="cumsum"),
             helper.make_node("Relu", ["cs"], ["r"], name="relu"),
             helper.make_node("MyOp", ["r"], ["y"], name="custom", domain="my.domain")]
    return model(nodes, [vinfo("x", [1, 4, 5])], [vinfo("y", [1, 4, 5])],
                 [init("axis", np.array(1, np.int64))], 17, extra_opsets=[("my.domain", 1)])


def shape_subgraph() -> onnx.ModelProto:
    """Conv -> BN -> Reshape whose target shape is computed by Shape/Gather/Concat."""
    bn, more = bn_node("bn", "c", "b", 4)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"), bn,
             helper.make_node("Shape", ["b"], ["shp"], name="shape"),
             helper.make_node("Gather", ["shp", "zero"], ["n"], name="gather", axis=0),
             helper.make_node("Unsqueeze", ["n", "zero1"], ["n1"], name="unsq"),
             helper.make_node("Concat", ["n1", "minus1"], ["target"], name="cat", axis=0),
             helper.make_node("Reshape", ["b", "target"], ["y"], name="reshape")]
    inits = [init("w", rand((4, 3, 3, 3), 1)), init("zero", np.array(0, np.int64)),
             init("zero1", np.array([0], np.int64)), init("minus1", np.array([-1], np.int64)), *more]
    return model(nodes, [vinfo("x", ["N", 3, 8, 8])], ["y"], inits)
