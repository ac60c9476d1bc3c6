"""Identity arithmetic is left out of the written-back ONNX file (issue 15.2)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import pytest
from onnx import helper

from inspector.folding.pipeline import fold
from inspector.frontends.onnx import load_onnx, run

from .onnx_builders import bn_node, init, model, rand, vinfo

C = 4


def _const_node(name: str, value) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], name=name,
                            value=onnx.numpy_helper.from_array(np.asarray(value, np.float32), name))


def identities_model() -> onnx.ModelProto:
    """x -> Conv -> BN -> Add 0 (Constant) -> Relu -> Mul ones(1,C,1,1) -> Sub 0 -> Div 1
    -> Identity -> y: every node after the Relu computes nothing."""
    bn, bn_inits = bn_node("/bn", "c", "b", C, 1)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="/conv", kernel_shape=[3, 3], pads=[1] * 4),
        bn,
        _const_node("zero", 0.0),
        helper.make_node("Add", ["zero", "b"], ["a0"], name="/add0"),
        helper.make_node("Relu", ["a0"], ["r"], name="/relu"),
        helper.make_node("Mul", ["r", "ones"], ["m1"], name="/mul1"),
        helper.make_node("Sub", ["m1", "zeros"], ["s0"], name="/sub0"),
        helper.make_node("Div", ["s0", "one"], ["d1"], name="/div1"),
        helper.make_node("Identity", ["d1"], ["y"], name="/id"),
    ]
    inits = [init("w", rand((C, C, 3, 3), 2)), init("ones", np.ones((1, C, 1, 1), np.float32)),
             init("zeros", np.zeros((C, 1, 1), np.float32)), init("one", np.float32(1.0)), *bn_inits]
    return model(nodes, [vinfo("x", [1, C, 6, 6])], ["y"], inits)


def _ops(m: onnx.ModelProto) -> Counter:
    return Counter(n.op_type for n in m.graph.node)


@pytest.mark.parametrize("mode", ["adjacent", "optimal", "reparam"])
def test_identity_arithmetic_is_gone_from_the_saved_file(mode):
    loaded = load_onnx(identities_model())
    out = fold(loaded, mode).model
    assert _ops(out) == Counter({"Conv": 1, "Relu": 1})
    assert [o.name for o in out.graph.output] == ["y"]
    onnx.checker.check_model(out)
    x = np.random.default_rng(0).standard_normal((1, C, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(run(out, [x])[0], run(loaded.model, [x])[0], rtol=1e-5, atol=1e-6)


def test_a_bn_at_the_graph_output_leaves_no_identity_behind():
    bn, inits = bn_node("/bn", "c", "y", C, 1)
    m = model([helper.make_node("Conv", ["x", "w"], ["c"], name="/conv", kernel_shape=[1, 1]), bn],
              [vinfo("x", [1, C, 5, 5])], ["y"], [init("w", rand((C, C, 1, 1), 3)), *inits])
    out = fold(load_onnx(m), "optimal").model
    assert _ops(out) == Counter({"Conv": 1})
    assert out.graph.node[0].output[0] == "y" and out.graph.output[0].name == "y"


def test_an_identity_of_the_graph_input_stays_to_keep_both_names():
    m = model([helper.make_node("Identity", ["x"], ["y"], name="/id")], [vinfo("x", [1, C, 3, 3])], ["y"])
    out = fold(load_onnx(m), "optimal").model
    assert _ops(out) == Counter({"Identity": 1})


def test_a_neutral_constant_that_broadcasts_to_a_larger_shape_stays():
    m = model([helper.make_node("Add", ["x", "z"], ["y"], name="/add")], [vinfo("x", [1, C, 1, 1])], ["y"],
              [init("z", np.zeros((1, C, 3, 3), np.float32))])
    out = fold(load_onnx(m), "optimal").model
    assert _ops(out) == Counter({"Add": 1})


def test_a_non_neutral_constant_stays():
    m = model([helper.make_node("Conv", ["x", "w"], ["c"], name="/conv", kernel_shape=[1, 1]),
               helper.make_node("Mul", ["c", "k"], ["y"], name="/mul")],
              [vinfo("x", [1, C, 3, 3])], ["y"], [init("w", rand((C, C, 1, 1), 3)), init("k", np.float32(1.5))])
    out = fold(load_onnx(m), "optimal").model
    assert _ops(out)["Mul"] == 1


# -- the PyTorch frontend: a GraphModule (graph surgery) leaves them out too ------------
def test_a_folded_graph_module_carries_no_identity_arithmetic():
    from torch import nn

    from sample_models.catalogue_reparam import RepVGGBlock

    class ZeroPlus(nn.Module):  # timm MobileOne writes 0 + branch when there is no scale branch
        def __init__(self) -> None:
            super().__init__()
            self.block, self.conv = RepVGGBlock(C, C), nn.Conv2d(C, C, 1)

        def forward(self, x):
            y = 0
            y = y + self.block(x)
            return self.conv(y * 1.0) - 0

    _assert_folded_without(ZeroPlus(), ("aten.add", "aten.sub", "aten.mul"))


def test_in_place_identity_arithmetic_leaves_a_folded_graph_module_too():
    """``out += 0`` (timm's MobileOne blocks without a scale branch) is an ``aten.add_``."""
    from torch import nn

    from sample_models.catalogue_reparam import RepVGGBlock

    class InPlaceZero(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block, self.conv = RepVGGBlock(C, C), nn.Conv2d(C, C, 1)
            self.act = nn.ReLU(inplace=True)  # an in-place write no identity's input sees

        def forward(self, x):
            y = self.conv(self.block(x)) + 0
            y += 0
            y *= 1
            return self.act(y)

    _assert_folded_without(InPlaceZero(), ("aten.add", "aten.mul"))


def _assert_folded_without(module, ops: tuple[str, ...]) -> None:
    """Folded in ``reparam`` through PyTorch: no call to ``ops`` left, same outputs."""
    import torch

    from inspector.bn_stats import randomize_bn
    from inspector.frontends import pytorch

    torch.manual_seed(0)
    randomize_bn(module, seed=1)
    loaded = pytorch.load_module(module.eval(), input_shape=(1, C, 6, 6))
    result = fold(loaded, "reparam")
    targets = [str(n.target) for n in result.model.graph.nodes if n.op == "call_function"]
    assert not [t for t in targets if t.startswith(ops)], targets
    x = torch.randn(1, C, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(result.model(x), module(x), rtol=1e-4, atol=1e-5)
