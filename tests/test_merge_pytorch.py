"""PyTorch write-back of merged regions (``reparam``): one convolution per region in a GraphModule."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from inspector.bn_stats import randomize_bn
from inspector.folding.pipeline import fold
from inspector.frontends import pytorch
from inspector.frontends.pytorch.capture import op_name
from inspector.frontends.pytorch.writeback import _symmetric_padding
from sample_models.catalogue_reparam import RepVGGBlock, conv_bn


def load(module: nn.Module, shape=(1, 4, 8, 8)):
    torch.manual_seed(0)
    randomize_bn(module, seed=1)
    return pytorch.load_module(module.eval(), input_shape=shape, name=type(module).__name__)


def calls(model: torch.fx.GraphModule) -> Counter:
    """aten op names called by the graph module (call_module targets by class name)."""
    out: Counter = Counter()
    for n in model.graph.nodes:
        if n.op == "call_function":
            out[op_name(n.target)] += 1
        elif n.op == "call_module":
            out[type(model.get_submodule(n.target)).__name__] += 1
    return out


class EvenKernel(nn.Module):
    """bn(conv2x2 'same') + bn(conv1x1): merges into a 2x2 kernel with padding (0, 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.even = conv_bn(4, 4, 2, padding="same")
        self.one = conv_bn(4, 4, 1)

    def forward(self, x):
        return torch.relu(self.even(x) + self.one(x))


@torch.library.custom_op("bnfold_test::opaque_merge", mutates_args=())
def _opaque(x: torch.Tensor) -> torch.Tensor:  # no fake kernel: torch.export fails
    return x.clone()


class OpaqueRepVGG(RepVGGBlock):
    def forward(self, x):
        return _opaque(super().forward(x))


def test_merged_repvgg_block_is_one_convolution_in_a_graph_module():
    result = fold(load(RepVGGBlock()), "reparam")
    assert isinstance(result.model, torch.fx.GraphModule)
    ops = calls(result.model)
    assert ops["convolution"] == 1 and ops["conv2d"] == 0
    assert not any("batch_norm" in op for op in ops)
    assert ops["add"] == 0
    assert result.verification.max_rel_error <= 1e-5


def test_merged_graph_module_carries_only_the_merged_weights():
    result = fold(load(RepVGGBlock()), "reparam")
    shapes = sorted(tuple(t.shape) for t in result.model.state_dict().values())
    assert shapes == [(4,), (4, 4, 3, 3)]


def test_write_back_leaves_the_user_model_unchanged():
    loaded = load(RepVGGBlock())
    before = {k: v.clone() for k, v in loaded.model.state_dict().items()}
    fold(loaded, "reparam")
    after = loaded.model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert isinstance(loaded.model.identity, nn.BatchNorm2d)


def test_strided_merge_uses_symmetric_padding_without_a_pad_op():
    result = fold(load(RepVGGBlock(4, 8, stride=2)), "reparam")
    assert [s.conv.attrs["padding"] for s in result.analysis.merges] == [[(1, 1), (1, 1)]]
    ops = calls(result.model)
    assert ops["convolution"] == 1 and ops["constant_pad_nd"] == 0
    assert result.verification.max_rel_error <= 1e-5


def test_asymmetric_merged_padding_gets_a_pad_op_and_stays_exact():
    result = fold(load(EvenKernel()), "reparam")
    assert [s.conv.attrs["padding"] for s in result.analysis.merges] == [[(0, 1), (0, 1)]]
    ops = calls(result.model)
    assert ops["constant_pad_nd"] == 1 and ops["convolution"] == 1
    assert result.verification.max_rel_error <= 1e-5


@pytest.mark.parametrize(("padding", "size", "kernel", "stride", "want"), [
    ([(1, 0)], 8, 3, 2, [(1, 1)]),  # the extra end zero is never read: 4 outputs either way
    ([(0, 1)], 8, 2, 1, [(0, 1)]),  # 'same' 2x2: the end zero is read
    ([(1, 1)], 8, 3, 1, [(1, 1)]),
])
def test_symmetric_padding_only_when_the_output_size_is_unchanged(padding, size, kernel, stride, want):
    assert _symmetric_padding(padding, (1, 4, size), (kernel,), (stride,), (1,)) == want


@pytest.mark.slow
def test_merged_model_saves_as_pt2_and_onnx(tmp_path):
    loaded = load(RepVGGBlock())
    result = fold(loaded, "reparam")
    pytorch.save(result.model, tmp_path / "m.pt2", loaded)
    pytorch.save(result.model, tmp_path / "m.onnx", loaded)
    ops = Counter(n.op_type for n in onnx.load(str(tmp_path / "m.onnx")).graph.node)
    assert ops["Conv"] == 1 and ops["BatchNormalization"] == 0 and ops["Add"] == 0
    again = pytorch.load_pt2(tmp_path / "m.pt2")
    assert Counter(n.op for n in again.graph.nodes)["conv"] == 1
    x = loaded.random_inputs()
    np.testing.assert_allclose(pytorch.run(again.model, x)[0], pytorch.run(loaded.model, x)[0],
                               rtol=1e-4, atol=1e-4)


def test_merge_writes_back_on_the_symbolic_trace_fallback():
    loaded = load(OpaqueRepVGG())
    assert loaded.capture.method == "fx"
    result = fold(loaded, "reparam")
    assert [v.status for v in result.analysis.verdicts.values()].count("merged") >= 1
    ops = calls(result.model)
    assert ops["convolution"] == 1 and ops["Conv2d"] == 0 and ops["BatchNorm2d"] == 0
    assert result.verification.max_rel_error <= 1e-5


def test_timing_can_include_the_reparam_variant():
    from inspector.bench.timing import build_variants, time_variants

    loaded = load(RepVGGBlock())
    variants = build_variants(loaded, modes=("optimal", "reparam"), floor=False)
    assert list(variants) == ["original", "optimal", "reparam"]
    assert calls(variants["reparam"])["convolution"] == 1
    times = time_variants(loaded, variants, backend="torch", repeats=2, warmup=0)
    assert set(times) == set(variants) and all(len(t) == 2 for t in times.values())
