"""Merges beyond plain sums through both frontends (issue 15.3/15.4): the written-back
model (ONNX ``Conv`` / ``Gemm``; FX ``aten.convolution`` / ``aten.linear``) against the
original computed directly in numpy from its weights."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from onnx import helper
from torch import nn

from inspector.folding.pipeline import fold
from inspector.frontends import pytorch
from inspector.frontends.onnx import load_onnx, run

from .onnx_builders import bn_affine, bn_node, bn_stats, init, model, rand, vinfo
from .test_merge_beyond_sums import _direct_conv
from .test_merge_pytorch import calls as _calls
from .test_merge_pytorch import load as _load


def _ops(m) -> Counter:
    return Counter(n.op_type for n in m.graph.node)


def _bn(name: str, x: str, y: str, c: int, seed: int):
    node, inits = bn_node(name, x, y, c, seed)
    return node, inits, bn_affine(bn_stats(c, seed))


def _chw(v: np.ndarray) -> np.ndarray:
    return v[None, :, None, None]


# -- ONNX ------------------------------------------------------------------------------
def test_onnx_zero_pad_node_before_an_even_kernel_merges_into_one_conv():
    c = 4
    w2, w1 = rand((c, c, 2, 2), 1), rand((c, c, 1, 1), 2)
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="/Relu"),
             helper.make_node("Pad", ["r", "pads"], ["p"], name="/Pad", mode="constant"),
             helper.make_node("Conv", ["p", "w2"], ["c2"], name="/conv2/Conv", kernel_shape=[2, 2]),
             helper.make_node("Conv", ["r", "w1"], ["c1"], name="/conv1/Conv", kernel_shape=[1, 1])]
    inits = [init("w2", w2), init("w1", w1), init("pads", np.array([0, 0, 0, 0, 0, 0, 1, 1], np.int64))]
    affines = []
    for name, src, seed in (("/bn2", "c2", 3), ("/bn1", "c1", 4), ("/bnid", "r", 5)):
        node, its, aff = _bn(name, src, name + "_out", c, seed)
        nodes.append(node)
        inits += its
        affines.append(aff)
    nodes += [helper.make_node("Add", ["/bn2_out", "/bn1_out"], ["s"], name="/Add"),
              helper.make_node("Add", ["s", "/bnid_out"], ["s2"], name="/Add_1"),
              helper.make_node("Relu", ["s2"], ["y"], name="/Relu_1")]
    loaded = load_onnx(model(nodes, [vinfo("x", [1, c, 7, 7])], ["y"], inits))
    result = fold(loaded, "reparam")
    after = _ops(result.model)
    assert (after["Conv"], after["Pad"], after["BatchNormalization"], after["Add"]) == (1, 0, 0, 0)
    assert result.analysis.remaining_count == 0 and result.verification.passed
    x = np.random.default_rng(0).standard_normal((1, c, 7, 7)).astype(np.float32)
    r = np.maximum(x, 0).astype(np.float64)
    (s2, c2), (s1, c1), (si, ci) = affines
    want = (_chw(s2) * _direct_conv(r, w2.astype(np.float64), np.zeros(c), [(0, 1), (0, 1)]) + _chw(c2)
            + _chw(s1) * _direct_conv(r, w1.astype(np.float64), np.zeros(c), [(0, 0), (0, 0)]) + _chw(c1)
            + _chw(si) * r + _chw(ci))
    np.testing.assert_allclose(run(result.model, [x])[0], np.maximum(want, 0), rtol=1e-4, atol=1e-4)


def test_onnx_conv_bn_pointwise_bn_sequence_becomes_one_conv():
    w3, w1 = rand((8, 6, 3, 3), 1), rand((4, 8, 1, 1), 2)
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="/Relu"),
             helper.make_node("Conv", ["r", "w3"], ["a"], name="/c3/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    n1, i1, (s1, c1) = _bn("/bn1", "a", "a_bn", 8, 3)
    nodes += [n1, helper.make_node("Conv", ["a_bn", "w1"], ["b"], name="/c1/Conv", kernel_shape=[1, 1])]
    n2, i2, (s2, c2) = _bn("/bn2", "b", "b_bn", 4, 4)
    nodes += [n2, helper.make_node("Relu", ["b_bn"], ["y"], name="/Relu_1")]
    loaded = load_onnx(model(nodes, [vinfo("x", [1, 6, 7, 7])], ["y"], [init("w3", w3), init("w1", w1), *i1, *i2]))
    result = fold(loaded, "reparam")
    after = _ops(result.model)
    assert (after["Conv"], after["BatchNormalization"]) == (1, 0) and result.verification.passed
    (conv,) = [n for n in result.model.graph.node if n.op_type == "Conv"]
    weight = next(t for t in result.model.graph.initializer if t.name == conv.input[1])
    assert list(weight.dims) == [4, 6, 3, 3]
    x = np.random.default_rng(1).standard_normal((1, 6, 7, 7)).astype(np.float32)
    r = np.maximum(x, 0).astype(np.float64)
    a = _chw(s1) * _direct_conv(r, w3.astype(np.float64), np.zeros(8), [(1, 1), (1, 1)]) + _chw(c1)
    b = _chw(s2) * _direct_conv(a, w1.astype(np.float64), np.zeros(4), [(0, 0), (0, 0)]) + _chw(c2)
    np.testing.assert_allclose(run(result.model, [x])[0], np.maximum(b, 0), rtol=1e-4, atol=1e-4)


def test_onnx_parallel_gemm_heads_and_the_division_become_one_gemm():
    c, k = 8, 5
    wa, ba, wb, bb = rand((k, c), 1), rand((k,), 2), rand((k, c), 3), rand((k,), 4)
    nodes, inits, affs = [helper.make_node("Relu", ["x"], ["r"], name="/Relu")], [], []
    for i, (w, b) in enumerate(((wa, ba), (wb, bb))):
        node, its, aff = _bn(f"/head{i}/bn", "r", f"n{i}", c, 10 + i)
        nodes += [node, helper.make_node("Gemm", [f"n{i}", f"w{i}", f"b{i}"], [f"h{i}"],
                                         name=f"/head{i}/l/Gemm", transB=1)]
        inits += [*its, init(f"w{i}", w), init(f"b{i}", b)]
        affs.append(aff)
    nodes += [helper.make_node("Add", ["h0", "h1"], ["s"], name="/Add"),
              helper.make_node("Div", ["s", "two"], ["y"], name="/Div")]
    inits.append(init("two", np.array(2.0, np.float32)))
    loaded = load_onnx(model(nodes, [vinfo("x", [2, c])], ["y"], inits))
    result = fold(loaded, "reparam")
    after = _ops(result.model)
    assert (after["Gemm"], after["Add"], after["Div"], after["BatchNormalization"]) == (1, 0, 0, 0)
    assert len(result.model.graph.node) == 2 and result.verification.passed
    x = np.random.default_rng(2).standard_normal((2, c)).astype(np.float32)
    r = np.maximum(x, 0).astype(np.float64)
    heads = [(s * r + t) @ w.T.astype(np.float64) + b for (s, t), w, b in zip(affs, (wa, wb), (ba, bb))]
    np.testing.assert_allclose(run(result.model, [x])[0], (heads[0] + heads[1]) / 2, rtol=1e-4, atol=1e-4)


# -- PyTorch (FX write-back) --------------------------------------------------------------
def _affine(bn: nn.BatchNorm1d | nn.BatchNorm2d) -> tuple[np.ndarray, np.ndarray]:
    s = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().double().numpy()
    return s, bn.bias.detach().double().numpy() - s * bn.running_mean.double().numpy()


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


class PaddedRepVGG(nn.Module):
    """F.pad 'same' of a 2×2 kernel, plus 1×1 and identity branches."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.conv2, self.bn2 = nn.Conv2d(c, c, 2, bias=False), nn.BatchNorm2d(c)
        self.conv1, self.bn1 = nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c)
        self.bnid = nn.BatchNorm2d(c)

    def forward(self, x):
        x = torch.relu(x)
        y = self.bn2(self.conv2(F.pad(x, (0, 1, 0, 1)))) + self.bn1(self.conv1(x)) + self.bnid(x)
        return torch.relu(y)


class Sequence(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv3, self.bn1 = nn.Conv2d(6, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.conv1, self.bn2 = nn.Conv2d(8, 4, 1, bias=False), nn.BatchNorm2d(4)

    def forward(self, x):
        return torch.relu(self.bn2(self.conv1(self.bn1(self.conv3(torch.relu(x))))))


class DistilledHeads(nn.Module):
    """timm RepViT's classifier at inference: ``(head(x) + head_dist(x)) / 2``."""

    def __init__(self, c: int = 8, k: int = 5) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.BatchNorm1d(c), nn.Linear(c, k))
        self.head_dist = nn.Sequential(nn.BatchNorm1d(c), nn.Linear(c, k))

    def forward(self, x):
        x = x.mean((2, 3))
        return (self.head(x) + self.head_dist(x)) / 2


def test_pytorch_fpad_before_an_even_kernel_merges_into_one_convolution():
    loaded = _load(PaddedRepVGG(), (1, 4, 7, 7))
    result = fold(loaded, "reparam")
    ops = _calls(result.model)
    assert ops["convolution"] == 1 and ops["add"] == 0 and not any("batch_norm" in o for o in ops)
    assert ops["constant_pad_nd"] + ops["pad"] == 1  # the merged conv's asymmetric padding
    assert result.analysis.remaining_count == 0 and result.verification.max_rel_error <= 1e-5
    m = loaded.model
    x = torch.randn(1, 4, 7, 7)
    r = np.maximum(_np(x), 0)
    (s2, c2), (s1, c1), (si, ci) = _affine(m.bn2), _affine(m.bn1), _affine(m.bnid)
    want = (_chw(s2) * _direct_conv(r, _np(m.conv2.weight), np.zeros(4), [(0, 1), (0, 1)]) + _chw(c2)
            + _chw(s1) * _direct_conv(r, _np(m.conv1.weight), np.zeros(4), [(0, 0), (0, 0)]) + _chw(c1)
            + _chw(si) * r + _chw(ci))
    with torch.no_grad():
        got = result.model(x).double().numpy()
    np.testing.assert_allclose(got, np.maximum(want, 0), rtol=1e-4, atol=1e-4)


def test_pytorch_conv_bn_pointwise_bn_sequence_becomes_one_convolution():
    loaded = _load(Sequence(), (1, 6, 7, 7))
    result = fold(loaded, "reparam")
    ops = _calls(result.model)
    assert ops["convolution"] + ops["conv2d"] + ops["Conv2d"] == 1
    assert tuple(result.analysis.merges[0].conv.params["weight"].shape) == (4, 6, 3, 3)
    m = loaded.model
    x = torch.randn(1, 6, 7, 7)
    (s1, c1), (s2, c2) = _affine(m.bn1), _affine(m.bn2)
    a = _chw(s1) * _direct_conv(np.maximum(_np(x), 0), _np(m.conv3.weight), np.zeros(8), [(1, 1), (1, 1)]) + _chw(c1)
    b = _chw(s2) * _direct_conv(a, _np(m.conv1.weight), np.zeros(4), [(0, 0), (0, 0)]) + _chw(c2)
    with torch.no_grad():
        got = result.model(x).double().numpy()
    np.testing.assert_allclose(got, np.maximum(b, 0), rtol=1e-4, atol=1e-4)


def test_pytorch_distilled_heads_become_one_linear():
    loaded = _load(DistilledHeads(), (2, 8, 3, 3))
    result = fold(loaded, "reparam")
    ops = _calls(result.model)
    assert ops["linear"] == 1 and ops["add"] == 0 and ops["div"] == 0 and ops["Linear"] == 0
    assert not any("batch_norm" in o for o in ops) and result.verification.max_rel_error <= 1e-5
    m = loaded.model
    x = torch.randn(2, 8, 3, 3)
    pooled = _np(x).mean((2, 3))
    heads = []
    for head in (m.head, m.head_dist):
        s, t = _affine(head[0])
        heads.append((s * pooled + t) @ _np(head[1].weight).T + _np(head[1].bias))
    with torch.no_grad():
        got = result.model(x).double().numpy()
    np.testing.assert_allclose(got, (heads[0] + heads[1]) / 2, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_pytorch_merged_heads_save_as_onnx_with_one_gemm(tmp_path):
    import onnx

    loaded = _load(DistilledHeads(), (2, 8, 3, 3))
    result = fold(loaded, "reparam")
    pytorch.save(result.model, tmp_path / "m.onnx", loaded)
    ops = _ops(onnx.load(str(tmp_path / "m.onnx")))
    assert ops["Gemm"] + ops["MatMul"] == 1 and ops["Add"] <= 1 and ops["Div"] == 0
