"""The bundled sample models: registry, determinism, expectations and pre-exported ONNX files."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from sample_models import Expected, Sample, get_sample, list_samples, onnx_path
from sample_models._build import bn_modules
from sample_models.registry import ONNX_DIR

SAMPLES = list_samples()
CASES = list_samples("case")
IDS = [s.name for s in SAMPLES]

REASON_CODES = {
    "nonlinearity", "data_dependent_mul", "normalization", "unknown_op", "boundary",
    "zero_padding", "negative_scale", "zero_scale", "batch_stats", "shared_params",
    "channel_mapping", "conflict", "roots_leaves_overlap", "not_adjacent",
    "extrapolation", "dynamic_params", "per_element_bn", "rename_not_fold",
}  # fmt: skip
STATUSES = {"folded", "not_foldable", None}

REQUIRED_CASES = {
    "conv_bn_relu", "linear_bn1d", "convtranspose_bn", "convtranspose_grouped_bn",
    "depthwise_bn", "input_bn_conv", "input_bn_padded_conv", "add_two_roots", "leaf_conv",
    "leaf_padded_conv", "relu_bn_conv", "bn_bn", "maxpool_positive", "maxpool_negative",
    "avgpool_bn", "concat_bn", "se_mul_bn", "flatten_bn_linear", "levit_tokens", "dense_block",
    "preact_residual", "linear_bn_output", "bn_only", "batch_stats_bn", "shared_conv",
    "repvgg_block", "repvgg_stride2", "mobileone_dw", "repmixer", "acnet_block", "dbb_avgpool",
    "misaligned_centres", "dilation_mismatch", "avgpool_exclude_pad", "biased_1x1_padded",
    "branch_read_outside",
}  # fmt: skip
REQUIRED_ARCHITECTURES = {
    "vgg_bn", "resnet", "preact_resnet", "densenet", "mobilenet_v2", "efficientnet", "mixnet",
    "levit", "inception", "repvgg", "mobileone", "unet", "audio1d",
}  # fmt: skip


def _outputs(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        y = model(x)
    return y if isinstance(y, tuple) else (y,)


# --- registry ------------------------------------------------------------------------------
def test_registry_contents() -> None:
    names = [s.name for s in SAMPLES]
    assert len(names) == len(set(names))
    assert REQUIRED_CASES <= {s.name for s in CASES}
    assert {s.name for s in list_samples("architecture")} >= REQUIRED_ARCHITECTURES
    assert all(isinstance(s, Sample) and s.kind in ("case", "architecture") for s in SAMPLES)
    assert all(isinstance(s.expected, Expected) and s.rule for s in CASES)
    assert all(s.expected is None for s in list_samples("architecture"))
    assert len(CASES) + len(list_samples("architecture")) == len(SAMPLES)
    with pytest.raises(ValueError):
        list_samples("nope")


def test_get_sample_key_error_lists_names() -> None:
    assert get_sample("conv_bn_relu").name == "conv_bn_relu"
    with pytest.raises(KeyError) as err:
        get_sample("no_such_model")
    message = str(err.value)
    assert "no_such_model" in message
    assert all(name in message for name in IDS)
    with pytest.raises(KeyError):
        onnx_path("no_such_model")


# --- every sample ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_sample_builds_runs_and_is_deterministic(sample: Sample) -> None:
    assert sample.description and "\n" not in sample.description
    assert sample.input_shape[0] == 1
    state = torch.random.get_rng_state()
    m1, m2 = sample.build(), sample.build()
    assert torch.equal(state, torch.random.get_rng_state()), "build() must not touch the global RNG"
    assert not m1.training and not any(m.training for m in m1.modules())
    x = sample.example_input()
    y1, y2 = _outputs(m1, x), _outputs(m2, x)
    for a, b in zip(y1, y2, strict=True):
        assert torch.isfinite(a).all()
        assert torch.equal(a, b)
    for (k1, v1), (k2, v2) in zip(m1.state_dict().items(), m2.state_dict().items(), strict=True):
        assert k1 == k2 and torch.equal(v1, v2)


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_bn_stats_are_non_trivial(sample: Sample) -> None:
    bns = bn_modules(sample.build())
    assert bns, "every sample has at least one BN"
    for name, bn in bns.items():
        if bn.running_mean is not None:
            assert bn.running_mean.abs().max() > 0.05, name
            assert (bn.running_var - 1).abs().max() > 0.05, name
        assert bn.affine, name
        assert (bn.weight - 1).abs().max() > 0.05 and bn.bias.abs().max() > 0.05, name


# --- catalogue expectations -----------------------------------------------------------------
@pytest.mark.parametrize("sample", CASES, ids=[s.name for s in CASES])
def test_case_expectations_are_consistent(sample: Sample) -> None:
    exp = sample.expected
    assert exp is not None
    bns = bn_modules(sample.build())
    assert set(exp.status) == set(bns), "status keys must be exactly the BN module FQNs"
    for adjacent, optimal in exp.status.values():
        assert adjacent in STATUSES and optimal in STATUSES
    for mode, count in (("adjacent", exp.adjacent), ("optimal", exp.optimal)):
        col = [st[0 if mode == "adjacent" else 1] for st in exp.status.values()]
        assert col.count("folded") <= count <= col.count("folded") + col.count(None), mode
    assert exp.adjacent <= exp.optimal
    for bn, code in exp.reasons.items():
        assert code in REASON_CODES, code
        assert exp.status[bn][1] == "not_foldable", bn


@pytest.mark.parametrize("sample", [s for s in CASES if s.expected.reparam is not None],
                         ids=lambda s: s.name)
def test_case_reparam_expectations_are_consistent(sample: Sample) -> None:
    from inspector.analysis.verdict import Reason

    exp = sample.expected
    assert set(exp.reparam_status) <= set(exp.status)
    assert set(exp.reparam_status.values()) <= {"folded", "merged", "not_foldable", None}
    removed = [s for s in exp.reparam_status.values() if s != "not_foldable"]
    assert exp.optimal <= exp.reparam and len(removed) <= exp.reparam
    for bn, code in exp.reparam_reasons.items():
        assert code in {r.value for r in Reason}, code
        assert exp.reparam_status[bn] == "not_foldable", bn
    assert exp.reparam_convs is not None and exp.reparam_convs >= 1


def test_case_parameter_tweaks() -> None:
    gamma = get_sample("maxpool_negative").build().bn.weight
    assert (gamma < 0).any() and (gamma > 0).any()
    assert (get_sample("maxpool_positive").build().bn.weight > 0).all()
    assert (get_sample("zero_scale_leaf").build().bn.weight == 0).any()
    bn = get_sample("batch_stats_bn").build().bn
    assert bn.running_mean is None and not bn.track_running_stats


# --- ONNX files -----------------------------------------------------------------------------
def test_onnx_files_exist_and_are_small() -> None:
    missing = [s.name for s in SAMPLES if not onnx_path(s.name).is_file()]
    assert not missing, f"run `python -m sample_models.export_onnx`; missing: {missing}"
    total = sum(p.stat().st_size for p in ONNX_DIR.glob("*.onnx"))
    assert total < 5 * 1024 * 1024


@pytest.mark.slow
@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_onnx_matches_torch_and_keeps_every_bn(sample: Sample) -> None:
    path = onnx_path(sample.name)
    proto = onnx.load(path)
    assert any(o.domain in ("", "ai.onnx") and o.version in (17, 18) for o in proto.opset_import)
    model = sample.build()
    bn_nodes = [n for n in proto.graph.node if n.op_type == "BatchNormalization"]
    # One BatchNormalization per BN module, named after the module FQN. (A BN module called
    # twice would give two nodes; no sample does that.)
    assert sorted(n.name for n in bn_nodes) == sorted(bn_modules(model))
    names = [n.name for n in proto.graph.node]
    assert len(names) == len(set(names))

    x = sample.example_input()
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    want = _outputs(model, x)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-4, atol=1e-5)


def test_onnx_batch_stats_bn_reads_computed_statistics() -> None:
    proto = onnx.load(onnx_path("batch_stats_bn"))
    inits = {i.name for i in proto.graph.initializer}
    (bn,) = [n for n in proto.graph.node if n.op_type == "BatchNormalization"]
    assert bn.input[3] not in inits and bn.input[4] not in inits  # mean/var are tensors
    assert bn.input[1] in inits and bn.input[2] in inits


def test_onnx_shared_conv_shares_one_weight() -> None:
    proto = onnx.load(onnx_path("shared_conv"))
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    assert [n.name for n in convs] == ["conv", "conv@1"]
    assert convs[0].input[1] == convs[1].input[1]


@pytest.mark.slow
def test_exporter_does_not_fuse_conv_bn() -> None:
    from sample_models.export_onnx import to_onnx

    sample = get_sample("conv_bn_relu")
    proto = to_onnx(sample.build(), sample.example_input())
    assert [n.op_type for n in proto.graph.node] == ["Conv", "BatchNormalization", "Relu"]
    assert [n.name for n in proto.graph.node] == ["conv", "bn", "relu"]
