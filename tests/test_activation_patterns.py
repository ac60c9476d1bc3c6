"""Scalars of activations written out op by op stay where runtimes fuse them (issue 15.1)."""

from __future__ import annotations

import io
import math

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from inspector.analysis.patterns import activation_pattern
from inspector.analysis.verdict import Reason
from inspector.bn_stats import randomize_bn
from inspector.folding.driver import analyze
from inspector.folding.pipeline import fold
from inspector.frontends import pytorch
from inspector.frontends.onnx import load_onnx
from sample_models.catalogue_reparam import RepVGGBlock

C = 4


def gelu_written(x: torch.Tensor) -> torch.Tensor:
    """GELU as exporters write it: the 0.5 last (timm's FastViT under the legacy exporter)."""
    return x * (1.0 + torch.erf(x / math.sqrt(2.0))) * 0.5


class GeluThenRepVGG(nn.Module):
    """conv -> GELU written out -> RepVGG block: a merge would swallow the trailing 0.5."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(C, C, 3, padding=1)
        self.block = RepVGGBlock(C, C)

    def forward(self, x):
        return self.block(gelu_written(self.stem(x)))


class GeluThenBN(nn.Module):
    """conv -> GELU written out -> BN -> ReLU: the only place left for the BN is the 0.5."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(C, C, 3, padding=1)
        self.bn = nn.BatchNorm2d(C)

    def forward(self, x):
        return torch.relu(self.bn(gelu_written(self.conv(x))))


class HardSwishWritten(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(C, C, 1)

    def forward(self, x):
        y = self.conv(x)
        return y * torch.clamp(y + 3.0, 0.0, 6.0) / 6.0


class ScaledRelu(nn.Module):
    """A plain scalar after a ReLU is no activation pattern (it may fold)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(C, C, 1)

    def forward(self, x):
        return torch.relu(self.conv(x)) * 0.5


def _prepared(module: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    randomize_bn(module, seed=1)
    return module.eval()


def load_both(module: nn.Module, shape=(1, C, 8, 8)):
    """The module through the PyTorch frontend and its legacy ONNX export through ONNX."""
    module = _prepared(module)
    torch_loaded = pytorch.load_module(module, input_shape=shape, name=type(module).__name__)
    buf = io.BytesIO()
    torch.onnx.export(module, (torch.randn(shape),), buf, dynamo=False, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE, opset_version=17)
    return torch_loaded, load_onnx(onnx.load_from_string(buf.getvalue()), name="m.onnx")


def _patterns(graph) -> dict[str, str]:
    return {n.name: p for n in graph.nodes if (p := activation_pattern(graph, n))}


@pytest.mark.parametrize("frontend", [0, 1], ids=["pytorch", "onnx"])
def test_the_scalars_of_a_written_out_gelu_are_a_gelu_pattern(frontend):
    loaded = load_both(GeluThenRepVGG())[frontend]
    found = _patterns(loaded.graph)
    assert sorted(found.values()) == ["gelu"] * 3  # / √2, + 1, * 0.5


@pytest.mark.parametrize("frontend", [0, 1], ids=["pytorch", "onnx"])
def test_a_written_out_hardswish_is_a_gated_pattern(frontend):
    loaded = load_both(HardSwishWritten())[frontend]
    assert sorted(_patterns(loaded.graph).values()) == ["gated"] * 2  # + 3, / 6


@pytest.mark.parametrize("frontend", [0, 1], ids=["pytorch", "onnx"])
def test_a_scalar_after_a_plain_relu_is_no_pattern(frontend):
    loaded = load_both(ScaledRelu())[frontend]
    assert _patterns(loaded.graph) == {}


@pytest.mark.parametrize("frontend", [0, 1], ids=["pytorch", "onnx"])
def test_reparam_merges_the_block_but_leaves_the_gelu_scalar_alone(frontend):
    loaded = load_both(GeluThenRepVGG())[frontend]
    analysis = analyze(loaded.graph, "reparam")
    assert analysis.merges, "the RepVGG block still merges"
    swallowed = {i for m in analysis.merges for i in m.nodes}
    assert not swallowed & {n.id for n in loaded.graph.nodes if activation_pattern(loaded.graph, n)}
    result = fold(loaded, "reparam")
    assert result.verification.passed


def test_the_merged_onnx_file_keeps_the_gelu_half():
    loaded = load_both(GeluThenRepVGG())[1]
    model = fold(loaded, "reparam").model
    halves = [n for n in model.graph.node if n.op_type == "Mul"
              and any(_const(model, i) == 0.5 for i in n.input)]
    assert len(halves) == 1


@pytest.mark.parametrize("frontend", [0, 1], ids=["pytorch", "onnx"])
def test_a_bn_whose_only_target_is_a_gelu_scalar_is_kept_with_its_reason(frontend):
    loaded = load_both(GeluThenBN())[frontend]
    analysis = analyze(loaded.graph, "optimal")
    (verdict,) = analysis.verdicts.values()
    assert not verdict.removed
    codes = {Reason(code) for code, *_ in verdict.details.get("blocked", ())} | {verdict.reason_code}
    assert Reason.FUSED_ACTIVATION in codes
    assert "GELU" in verdict.reason


def _const(model: onnx.ModelProto, name: str) -> float | None:
    for t in model.graph.initializer:
        if t.name == name:
            v = onnx.numpy_helper.to_array(t)
            return float(v.ravel()[0]) if v.size == 1 else None
    for n in model.graph.node:
        if n.op_type == "Constant" and n.output[0] == name:
            v = onnx.numpy_helper.to_array(n.attribute[0].t)
            return float(np.ravel(v)[0]) if v.size == 1 else None
    return None


# -- the runtime check: a fold that breaks an onnxruntime fusion is refused -------------
def gelu_then_bn_without_shift() -> onnx.ModelProto:
    """Conv -> GELU written out (Div, Erf, Add, Mul, Mul 0.5) -> BN with c = 0 -> Relu.

    The BN's only fold is backward into the GELU's 0.5 (no shift to add: not a rename):
    a per-channel Mul there stops onnxruntime from fusing the GELU."""
    from onnx import helper

    from .onnx_builders import bn_stats, init, model, rand, vinfo

    stats = bn_stats(C, 3)
    stats["beta"][:] = stats["mean"][:] = 0.0  # c = beta - a * mean = 0
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="/conv", kernel_shape=[1, 1]),
             helper.make_node("Div", ["c", "sqrt2"], ["d"], name="/gelu/Div"),
             helper.make_node("Erf", ["d"], ["e"], name="/gelu/Erf"),
             helper.make_node("Add", ["e", "one"], ["p"], name="/gelu/Add"),
             helper.make_node("Mul", ["c", "p"], ["m"], name="/gelu/Mul"),
             helper.make_node("Mul", ["m", "half"], ["g"], name="/gelu/Mul_1"),
             helper.make_node("BatchNormalization", ["g", "s", "b", "mu", "v"], ["n"], name="/bn"),
             helper.make_node("Relu", ["n"], ["y"], name="/relu")]
    inits = [init("w", rand((C, C, 1, 1), 1)), init("sqrt2", np.float32(math.sqrt(2.0))),
             init("one", np.float32(1.0)), init("half", np.float32(0.5)), init("s", stats["gamma"]),
             init("b", stats["beta"]), init("mu", stats["mean"]), init("v", stats["var"])]
    return model(nodes, [vinfo("x", [1, C, 5, 5])], ["y"], inits)


def _detector_off(monkeypatch):
    """Simulate a pattern the detector does not know: only the runtime check is left."""
    import inspector.analysis.condition as condition
    import inspector.analysis.regions as regions

    monkeypatch.setattr(condition, "activation_pattern", lambda graph, node: None)
    monkeypatch.setattr(regions, "activation_pattern", lambda graph, node: None)


def test_without_the_detector_the_bn_folds_into_the_gelu_half(monkeypatch):
    _detector_off(monkeypatch)
    analysis = analyze(load_onnx(gelu_then_bn_without_shift()).graph, "optimal")
    assert analysis.folded_count == 1  # the fold the runtime check has to catch


def test_the_runtime_check_refuses_a_fold_that_breaks_the_gelu_fusion(monkeypatch):
    from inspector.report import build_report

    _detector_off(monkeypatch)
    loaded = load_onnx(gelu_then_bn_without_shift())
    result = fold(loaded, "optimal")
    assert result.fusion_refused == ["/bn"]
    (verdict,) = result.analysis.verdicts.values()
    assert not verdict.removed and verdict.reason_code == Reason.FUSED_ACTIVATION
    assert "Gelu 1 → 0" in verdict.reason
    assert result.runtime["fusions_lost"] == {}  # the folded file keeps the fusion
    assert result.runtime["nodes_after"] <= result.runtime["nodes_before"]
    report = build_report(result)
    assert report["fusion_refused"] == ["/bn"] and report["layers"][0]["reason_code"] == "fused_activation"


def test_with_the_detector_the_gelu_half_is_never_a_fold_target():
    result = fold(load_onnx(gelu_then_bn_without_shift()), "optimal")
    (verdict,) = result.analysis.verdicts.values()
    assert verdict.reason_code == Reason.FUSED_ACTIVATION and result.fusion_refused == []


def test_a_fold_that_keeps_every_fusion_is_checked_and_kept():
    from .onnx_builders import conv_bn_relu

    result = fold(load_onnx(conv_bn_relu()), "optimal")
    assert result.analysis.folded_count == 1 and result.fusion_refused == []
    assert result.runtime["fusions_lost"] == {}
    assert result.runtime["nodes_after"] <= result.runtime["nodes_before"]


class LayerNormWritten(nn.Module):
    """A LayerNorm over the last axis written out op by op (as many exporters do)."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(C, C)
        self.w = nn.Parameter(torch.rand(C) + 0.5)
        self.b = nn.Parameter(torch.randn(C))

    def forward(self, x):
        x = self.proj(x)
        d = x - x.mean(-1, keepdim=True)
        var = (d * d).mean(-1, keepdim=True)
        return d / torch.sqrt(var + 1e-5) * self.w + self.b


class AttentionScale(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.q, self.k = nn.Linear(C, C), nn.Linear(C, C)

    def forward(self, x):
        return torch.softmax(self.q(x) @ self.k(x).transpose(-1, -2) * 0.5, dim=-1)


@pytest.mark.parametrize("frontend", [0, 1], ids=["pytorch", "onnx"])
def test_the_eps_and_the_scale_of_a_written_out_layer_norm_are_a_layer_norm_pattern(frontend):
    loaded = load_both(LayerNormWritten(), shape=(1, 5, C))[frontend]
    found = _patterns(loaded.graph)
    assert "layer_norm" in found.values() and set(found.values()) == {"layer_norm"}
    eps = [n for n in loaded.graph.nodes if n.op == "affine" and np.allclose(n.params["shift"], 1e-5)]
    assert eps and all(n.name in found for n in eps)


@pytest.mark.parametrize("frontend", [0, 1], ids=["pytorch", "onnx"])
def test_an_attention_scale_is_an_attention_pattern(frontend):
    loaded = load_both(AttentionScale(), shape=(1, 5, C))[frontend]
    assert list(_patterns(loaded.graph).values()) == ["attention"]


def test_a_runtime_check_that_cannot_run_never_fails_the_fold():
    from dataclasses import replace as dc_replace

    from inspector.errors import InspectorError

    from .onnx_builders import conv_bn_relu

    def unavailable(loaded, folded):
        raise InspectorError("onnxruntime could not optimise the model: boom")

    loaded = load_onnx(conv_bn_relu())
    loaded = dc_replace(loaded, frontend=dc_replace(loaded.frontend, runtime_check=unavailable))
    result = fold(loaded, "optimal")
    assert result.verification.passed and result.analysis.folded_count == 1
    assert result.runtime == {"error": "onnxruntime could not optimise the model: boom"}
