"""The no-BN floor used by the timing page and benchmarks: no BN left, and the
layers a fold would give a bias get a zero one, so the comparison is fair."""

from __future__ import annotations

import torch
from torch import nn

from inspector.frontends import load
from inspector.sources import load_sample
from sample_models import onnx_path


def test_torch_floor_has_no_bn_and_zero_biases_where_folds_add_them():
    loaded = load_sample("resnet")
    floor = loaded.frontend.remove_all_bn(loaded)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in floor.modules())
    original = dict(loaded.model.named_modules())
    biasless = [name for name, m in original.items() if isinstance(m, nn.Conv2d) and m.bias is None]
    assert biasless  # every conv of the sample feeds a BN
    for name in biasless:
        bias = floor.get_submodule(name).bias
        assert bias is not None and torch.count_nonzero(bias) == 0
        assert original[name].bias is None  # the user's model is untouched


def test_onnx_floor_has_no_bn_and_every_conv_before_a_bn_has_a_bias():
    loaded = load(str(onnx_path("resnet")))
    floor = loaded.frontend.remove_all_bn(loaded)
    assert not [n for n in floor.graph.node if n.op_type == "BatchNormalization"]
    convs = [n for n in floor.graph.node if n.op_type == "Conv"]
    assert convs and all(len(n.input) == 3 and n.input[2] for n in convs)
    outputs = loaded.frontend.run(floor, loaded.random_inputs())
    assert outputs[0].shape[0] == 1
