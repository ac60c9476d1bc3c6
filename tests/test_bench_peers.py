"""Each peer counts the BN layers it leaves on tiny conv-bn models."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxoptimizer")
from torch import nn  # noqa: E402

from inspector.bench.peers import (  # noqa: E402
    count_bn_onnx,
    count_bn_torch,
    export_onnx_unfolded,
    ort_optimized,
    run_peers,
)

pytestmark = pytest.mark.slow  # exports to ONNX with every peer tool

X = torch.randn(1, 3, 8, 8)


def conv_bn() -> nn.Module:
    """conv -> bn: every peer folds it."""
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).eval()


def relu_bn() -> nn.Module:
    """conv -> relu -> bn -> conv: no adjacent producer, no peer folds it."""
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 1)).eval()


class DataDependent(nn.Module):
    """Python control flow on tensor values: fx symbolic tracing fails."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(self.conv(x))
        return y if y.sum() > 0 else -y


@pytest.fixture(scope="module")
def onnx_models() -> dict[str, object]:
    return {"conv_bn": export_onnx_unfolded(conv_bn(), X), "relu_bn": export_onnx_unfolded(relu_bn(), X)}


def test_count_bn_torch_modules_and_graph_modules() -> None:
    assert count_bn_torch(conv_bn()) == 1
    assert count_bn_torch(torch.fx.symbolic_trace(relu_bn())) == 1
    assert count_bn_torch(nn.Sequential(nn.Conv2d(3, 4, 1), nn.InstanceNorm2d(4))) == 0


def test_fx_fuse_trace_failure_is_none_with_reason() -> None:
    counts = run_peers(DataDependent().eval(), X, legacy=False)
    assert counts["fx_fuse"].left is None and "Error" in counts["fx_fuse"].reason


def test_unfolded_export_keeps_every_bn(onnx_models) -> None:
    assert count_bn_onnx(onnx_models["conv_bn"]) == 1
    assert count_bn_onnx(onnx_models["relu_bn"]) == 1


def test_onnxruntime_fuses_conv_bn_from_level_basic_on(onnx_models) -> None:
    assert count_bn_onnx(ort_optimized(onnx_models["conv_bn"], "basic")) == 0
    assert count_bn_onnx(ort_optimized(onnx_models["relu_bn"], "basic")) == 1


def test_run_peers_every_tool_folds_a_conv_bn() -> None:
    counts = run_peers(conv_bn(), X)
    assert {k: c.left for k, c in counts.items()} == {
        "fx_fuse": 0, "onnx_dynamo": 0, "onnx_legacy": 0, "onnx_input": 1,
        "onnxoptimizer": 0, "onnxruntime": 0,
    }


def test_run_peers_no_tool_folds_a_bn_after_a_relu() -> None:
    counts = run_peers(relu_bn(), X)
    assert {k: c.left for k, c in counts.items()} == {
        "fx_fuse": 1, "onnx_dynamo": 1, "onnx_legacy": 1, "onnx_input": 1,
        "onnxoptimizer": 1, "onnxruntime": 1,
    }
    assert all(c.seconds >= 0 for c in counts.values())
    assert all(c.rel_error is not None and c.rel_error < 1e-5 for c in counts.values())


class SharedConv(nn.Module):
    """One conv module called twice, once before a BN."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn = nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x))) + self.conv(torch.relu(x))


def test_output_check_catches_fx_fuse_on_shared_weights() -> None:
    """fx fuse scales the shared conv in place: the other call changes too."""
    model = SharedConv().eval()
    with torch.no_grad():
        model.bn.running_var.fill_(4.0)
        model.bn.running_mean.fill_(1.0)
    counts = run_peers(model, torch.randn(1, 4, 8, 8), legacy=False)
    assert counts["fx_fuse"].left == 0 and counts["fx_fuse"].rel_error > 1e-2
    assert counts["onnxruntime"].left == 0 and counts["onnxruntime"].rel_error < 1e-5
