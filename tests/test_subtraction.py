"""Subtraction of two tensors is as linear as addition (issue 14.12): a BN's map
crosses ``x - y`` with shift(x - y) = shift(x) - shift(y), through both frontends.

timm's FastViT computes ``x + layer_scale * (mixer(x) - norm(x))``; before this rule
8 of its BNs were refused through the PyTorch frontend ("unknown op: sub")."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from inspector.analysis.result import Transform
from inspector.analysis.transparency import RULES
from inspector.analysis.verdict import Blocked, Reason
from inspector.folding.driver import analyze
from inspector.folding.pipeline import fold
from inspector.frontends import load
from inspector.ir import Graph, Node
from inspector.sources import randomize_bn

SCALE = np.array([2.0, 0.5, 3.0])
SHIFT_X = np.array([1.0, -1.0, 0.25])
SHIFT_Y = np.array([0.5, 2.0, -1.0])
SHAPES = {t: (1, 3, 4, 4) for t in ("x", "y", "z")}


def sub_graph(producers: tuple[str, str] = ("input", "input"), same: bool = False) -> tuple[Graph, Node]:
    """``z = x - y`` (or ``x - x``) with x and y produced by ``producers``."""
    nodes = [Node("s", "input", (), ("src",))]
    for t, kind in zip(("x", "y"), producers):
        params = {"weight": np.ones((3, 3, 1, 1))} if kind == "conv" else {}
        nodes.append(Node(f"p{t}", kind, ("src",) if kind != "input" else (), (t,), params=params))
    node = Node("n", "sub", ("x", "x" if same else "y"), ("z",))
    nodes += [node, Node("o", "output", ("z",))]
    return Graph.from_nodes(nodes, {**SHAPES, "src": (1, 3, 4, 4)}), node


def test_sub_of_two_mapped_operands_subtracts_their_shifts():
    g, n = sub_graph()
    out = RULES["sub"](g, n, {"x": Transform(1, SCALE, SHIFT_X), "y": Transform(1, SCALE, SHIFT_Y)})
    np.testing.assert_array_equal(out["z"].scale, SCALE)
    np.testing.assert_array_equal(out["z"].shift, SHIFT_X - SHIFT_Y)


def test_sub_backward_gives_the_subtrahend_the_negated_shift_when_it_takes_the_bias():
    g, n = sub_graph(producers=("input", "conv"))
    out = RULES["sub"](g, n, {"z": Transform(1, SCALE, SHIFT_X)})
    np.testing.assert_array_equal(out["y"].shift, -SHIFT_X)
    np.testing.assert_array_equal(out["x"].shift, np.zeros(3))
    np.testing.assert_array_equal(out["x"].scale, SCALE)


def test_sub_from_a_mapped_subtrahend_negates_its_shift_on_the_difference():
    g, n = sub_graph()
    out = RULES["sub"](g, n, {"y": Transform(1, SCALE, SHIFT_Y)})
    np.testing.assert_array_equal(out["z"].shift, -SHIFT_Y)
    np.testing.assert_array_equal(out["x"].shift, np.zeros(3))


def test_a_tensor_minus_itself_carries_no_map():
    g, n = sub_graph(same=True)
    out = RULES["sub"](g, n, {"x": Transform(1, SCALE, SHIFT_X)})
    assert isinstance(out, Blocked) and out.code == Reason.CHANNEL_MAPPING


class BnAfterDifference(nn.Module):
    """``bn(conv1(x) - conv2(x))``: only a backward fold through the difference
    removes the BN; ``conv3(relu(bn0(h)) - y)`` needs the forward one."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 6, 3, padding=1)
        self.conv1 = nn.Conv2d(6, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 6, 1)
        self.bn = nn.BatchNorm2d(6)
        self.conv3 = nn.Conv2d(6, 4, 1)
        self.conv4 = nn.Conv2d(6, 6, 1)
        self.bn2 = nn.BatchNorm2d(6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.stem(x))
        d = torch.relu(self.bn(self.conv1(h) - self.conv2(h)))
        return self.conv3(self.bn2(d) - self.conv4(d))


def _module() -> nn.Module:
    torch.manual_seed(0)
    return randomize_bn(BnAfterDifference(), seed=1)


def _both_frontends():
    from inspector.bench.peers import export_onnx_unfolded

    module = _module()
    torch_side = load(module, input_shape=(1, 3, 8, 8))
    onnx_side = load(export_onnx_unfolded(module, (torch.randn(1, 3, 8, 8),)), name="sub")
    return torch_side, onnx_side


def test_bns_fold_through_a_difference_in_both_frontends():
    for loaded in _both_frontends():
        assert "sub" in [n.op for n in loaded.graph.nodes]
        assert analyze(loaded.graph, "adjacent").folded_count == 0
        assert analyze(loaded.graph, "optimal").folded_count == 2, loaded.framework


@pytest.mark.parametrize("side", [0, 1], ids=["torch", "onnx"])
def test_folding_through_a_difference_computes_the_same_function(side):
    loaded = _both_frontends()[side]
    result = fold(loaded, "optimal")
    assert result.analysis.folded_count == 2 and result.verification.passed
    x = np.random.default_rng(3).standard_normal((1, 3, 8, 8)).astype(np.float32)
    before = loaded.frontend.run(loaded.model, [x])[0]
    after = loaded.frontend.run(result.model, [x])[0]
    np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-5 * np.abs(before).max())


class ReversedDifference(nn.Module):
    """``torch.rsub(a, b)`` is ``b - a``: the BN after it folds into both convs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 1)
        self.conv2 = nn.Conv2d(3, 4, 1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(torch.rsub(self.conv1(x), self.conv2(x))))


def test_a_reversed_difference_is_a_difference_with_its_operands_swapped():
    loaded = load(randomize_bn(ReversedDifference(), seed=3), input_shape=(1, 3, 6, 6))
    (sub,) = [n for n in loaded.graph.nodes if n.op == "sub"]
    producers = [loaded.graph.producer(t).name for t in sub.inputs]
    assert producers == ["conv2", "conv1"]
    result = fold(loaded, "optimal")
    assert result.analysis.folded_count == 1 and result.verification.passed
