"""The no-BN floor (``inspector.bench.floor``) used by the timing page and
benchmarks: every BN layer (BN-like affines included) bypassed, and the layers
a fold would give a bias get a zero one, so the comparison is fair. Built
through the ordinary write-back of each frontend."""

from __future__ import annotations

import numpy as np
import onnx
import torch
import torchvision
from torch import nn

from inspector.bench.floor import build_floor, floor_plan
from inspector.frontends import load, pytorch
from inspector.frontends import onnx as F
from inspector.sources import load_sample
from sample_models import onnx_path

from . import onnx_builders as B
from .graph_factory import GraphBuilder
from .test_frontend_pytorch import ConvBnRelu


def _op_types(m: onnx.ModelProto) -> list[str]:
    return [n.op_type for n in m.graph.node]


# -- the plan (IR only) -------------------------------------------------------------
def _two_bn_graph():
    b = GraphBuilder(seed=0)
    x = b.input((1, 3, 8, 8))
    y = b.bn(b.conv(x, 4, k=3, pad=1, bias=False))
    z = b.affine(b.conv_transpose(y, 4, k=3, bias=False), bn_like=True)
    b.output(b.relu(b.affine(z)))  # a plain affine (not BN-like) stays
    return b.build()


def test_floor_plan_removes_every_bn_layer_including_bn_like_affines():
    graph = _two_bn_graph()
    plan = floor_plan(graph)
    assert set(plan.removed) == {n.id for n in graph.bn_nodes()}
    assert {graph.node(i).op for i in plan.removed} == {"batch_norm", "affine"}
    assert all(graph.node(i).attrs.get("bn_like", True) for i in plan.removed)
    assert [n.op for n in plan.graph.nodes] == [n.op for n in graph.nodes]  # an edit, not a graph


def test_floor_plan_gives_a_zero_bias_only_to_biasless_layers_before_a_bn():
    graph = _two_bn_graph()
    plan = floor_plan(graph)
    assert {graph.node(i).op for i in plan.changed} == {"conv", "conv_transpose"}
    for nid in plan.changed:
        bias = plan.graph.node(nid).params["bias"]
        assert not np.any(bias) and bias.shape == (4,)
        assert "bias" not in graph.node(nid).params  # the input graph is untouched


# -- PyTorch ------------------------------------------------------------------------
def test_torch_floor_has_no_bn_and_zero_biases_where_folds_add_them():
    loaded = load_sample("resnet")
    floor = build_floor(loaded)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in floor.modules())
    original = dict(loaded.model.named_modules())
    biasless = [name for name, m in original.items() if isinstance(m, nn.Conv2d) and m.bias is None]
    assert biasless  # every conv of the sample feeds a BN
    for name in biasless:
        bias = floor.get_submodule(name).bias
        assert bias is not None and torch.count_nonzero(bias) == 0
        assert original[name].bias is None  # the user's model is untouched


def test_torch_floor_removes_frozen_batch_norm_too():
    net = nn.Sequential(ConvBnRelu(), nn.BatchNorm2d(4), torchvision.ops.FrozenBatchNorm2d(4))
    lm = pytorch.load_module(net, input_shape=(1, 3, 8, 8))
    floor = build_floor(lm)
    assert not any(isinstance(m, (nn.modules.batchnorm._BatchNorm,
                                  torchvision.ops.FrozenBatchNorm2d)) for m in floor.modules())
    again = pytorch.load_module(floor, input_shape=(1, 3, 8, 8))
    assert not again.graph.bn_nodes()
    assert len(list(lm.model.modules())) == len(list(net.modules()))


# -- ONNX ---------------------------------------------------------------------------
def test_onnx_floor_has_no_bn_and_every_conv_before_a_bn_has_a_bias():
    loaded = load(str(onnx_path("resnet")))
    floor = build_floor(loaded)
    assert "BatchNormalization" not in _op_types(floor)
    convs = [n for n in floor.graph.node if n.op_type == "Conv"]
    assert convs and all(len(n.input) == 3 and n.input[2] for n in convs)
    outputs = loaded.frontend.run(floor, loaded.random_inputs())
    assert outputs[0].shape[0] == 1


def test_onnx_floor_is_a_valid_model_without_the_bn_initializers():
    loaded = F.load_onnx(B.resnet_block())
    out = build_floor(loaded)
    assert "BatchNormalization" not in _op_types(out)
    onnx.checker.check_model(out, full_check=True)
    assert F.run(out, loaded.random_inputs())[0].shape == (1, 10)
    assert not any(t.name.startswith("/l1/bn") for t in out.graph.initializer)


def test_onnx_floor_removes_bn_like_affines():
    out = build_floor(F.load_onnx(B.decomposed_bn()))
    assert _op_types(out) == ["Conv", "Relu"]


def test_onnx_floor_of_two_bns_in_a_row_keeps_the_output_name():
    bn2, more = B.bn_node("bn2", "b", "y", 4, seed=7)
    base = B.conv_bn_relu(relu=False)
    base.graph.node[1].output[0] = "b"
    m = B.model([*base.graph.node, bn2], [B.vinfo("x", [1, 3, 8, 8])], ["y"],
                [*base.graph.initializer, *more])
    floor = build_floor(F.load_onnx(m))  # the last BN is a graph output
    # The conv now writes the output "y" itself: no renaming Identity is left (issue 15.2).
    assert _op_types(floor) == ["Conv"] and floor.graph.node[0].output[0] == "y" == floor.graph.output[0].name
