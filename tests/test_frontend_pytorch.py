"""PyTorch frontend: capture -> IR mapping, write-back, .pt2 / .onnx round trips."""

from __future__ import annotations

import zipfile
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inspector.bn_stats import randomize_bn
from inspector.errors import InspectorError, InvalidGraphError, UnsupportedModelError
from inspector.frontends import pytorch
from inspector.frontends.pytorch.optypes import StorageTransform
from inspector.ir import bypass

timm = pytest.importorskip("timm")
torchvision = pytest.importorskip("torchvision")


def load(module: nn.Module, shape=(1, 3, 8, 8), **kw):
    return pytorch.load_module(randomize_bn(module, seed=1), input_shape=shape, **kw)


def ops(loaded) -> list[str]:
    return [n.op for n in loaded.graph.nodes if n.op not in ("input", "output")]


def only(loaded, op: str):
    (node,) = [n for n in loaded.graph.nodes if n.op == op]
    return node


def fold_into_producer(loaded, bn_id: str):
    """Fold BN ``bn_id`` into the conv/linear feeding it (numpy, float64)."""
    g = loaded.graph
    bn = g.node(bn_id)
    (prod,) = g.predecessors(bn)
    p = bn.params
    a = p["gamma"] / np.sqrt(p["var"] + bn.attrs["eps"])
    c = p["beta"] - a * p["mean"]
    w = prod.params["weight"]
    bias = prod.params.get("bias", np.zeros(w.shape[0]))
    new = replace(prod, params={"weight": w * a.reshape(-1, *([1] * (w.ndim - 1))),
                                "bias": bias * a + c})
    return g.with_nodes({prod.id: new, bn.id: bypass(bn)}), [bn.id], [prod.id]


def assert_same(loaded, model, rtol=1e-5, atol=1e-5):
    x = loaded.random_inputs(seed=3)
    for got, want in zip(pytorch.run(model, x), pytorch.run(loaded.model, x)):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


class ConvBnRelu(nn.Module):
    def __init__(self, bias=True):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=bias)
        self.bn = nn.BatchNorm2d(4, eps=1e-3)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


# -- mapping ---------------------------------------------------------------
def test_conv_bn_relu_maps_to_conv_batch_norm_activation():
    lm = load(ConvBnRelu())
    assert ops(lm) == ["conv", "batch_norm", "activation"]
    conv, bn, act = (only(lm, k) for k in ("conv", "batch_norm", "activation"))
    assert (conv.name, bn.name, act.name) == ("conv", "bn", "relu")
    assert conv.attrs == {"groups": 1, "stride": [1, 1], "padding": [(1, 1), (1, 1)],
                          "dilation": [1, 1], "padding_mode": "zeros"}
    assert conv.param_keys == {"weight": "conv.weight", "bias": "conv.bias"}
    np.testing.assert_array_equal(conv.params["weight"], lm.model.conv.weight.detach().numpy())
    assert bn.attrs == {"eps": 1e-3, "axis": 1, "uses_batch_stats": False}
    assert bn.param_keys == {"gamma": "bn.weight", "beta": "bn.bias",
                             "mean": "bn.running_mean", "var": "bn.running_var"}
    np.testing.assert_allclose(bn.params["var"], lm.model.bn.running_var.numpy())
    assert act.attrs["kind"] == "relu" and bn.inputs == conv.outputs
    assert lm.graph.shape(bn.outputs[0]) == (1, 4, 8, 8)
    assert [s.shape for s in lm.inputs] == [(1, 3, 8, 8)]


@pytest.mark.parametrize("bn_cls, shape", [(nn.BatchNorm1d, (2, 3, 5)), (nn.BatchNorm1d, (2, 3)),
                                           (nn.BatchNorm2d, (1, 3, 4, 4)),
                                           (nn.BatchNorm3d, (1, 3, 2, 4, 4)),
                                           (nn.SyncBatchNorm, (1, 3, 4, 4))])
def test_batch_norm_variants_map_to_batch_norm_on_axis_1(bn_cls, shape):
    lm = load(nn.Sequential(bn_cls(3)), shape)
    bn = only(lm, "batch_norm")
    assert bn.name == "0" and bn.attrs["axis"] == 1 and not bn.attrs["uses_batch_stats"]
    assert bn.params["gamma"].shape == (3,) and bn.param_keys["var"] == "0.running_var"


def test_frozen_batch_norm_is_one_batch_norm_node():
    fz = torchvision.ops.FrozenBatchNorm2d(4, eps=1e-4)
    lm = load(nn.Sequential(nn.Conv2d(3, 4, 1), fz))
    assert ops(lm) == ["conv", "batch_norm"]
    bn = only(lm, "batch_norm")
    assert bn.name == "1" and bn.attrs["eps"] == pytest.approx(1e-4)
    assert bn.param_keys == {"gamma": "1.weight", "beta": "1.bias", "mean": "1.running_mean",
                             "var": "1.running_var"}
    np.testing.assert_allclose(bn.params["mean"], fz.running_mean.numpy())


def test_timm_batch_norm_act_gives_batch_norm_then_activation():
    lm = load(nn.Sequential(nn.Conv2d(3, 4, 1), timm.layers.BatchNormAct2d(4, act_layer=nn.SiLU)))
    assert ops(lm) == ["conv", "batch_norm", "activation"]
    bn, act = only(lm, "batch_norm"), only(lm, "activation")
    assert bn.name == "1" and bn.param_keys["gamma"] == "1.weight"
    assert act.name == "1.act" and act.attrs["kind"] == "silu" and act.scope == "1.act"


class FunctionalBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.register_buffer("mean", torch.randn(4))
        self.register_buffer("var", torch.rand(4) + 0.5)
        self.gamma = nn.Parameter(torch.rand(4) + 0.5)

    def forward(self, x):
        return F.batch_norm(self.conv(x), self.mean, self.var, self.gamma, None, False, 0.1, 1e-4)


def test_functional_batch_norm_maps_with_state_dict_keys():
    lm = load(FunctionalBN())
    bn = only(lm, "batch_norm")
    assert bn.param_keys == {"gamma": "gamma", "mean": "mean", "var": "var"}
    assert bn.attrs["eps"] == pytest.approx(1e-4) and not bn.attrs["uses_batch_stats"]
    np.testing.assert_array_equal(bn.params["beta"], np.zeros(4))


def test_batch_norm_without_running_stats_uses_batch_stats():
    lm = load(nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4, track_running_stats=False)))
    bn = only(lm, "batch_norm")
    assert bn.attrs["uses_batch_stats"] and "mean" not in bn.param_keys


def test_batch_norm_affine_false_has_identity_gamma_beta_without_keys():
    lm = load(nn.Sequential(nn.BatchNorm2d(3, affine=False)))
    bn = only(lm, "batch_norm")
    assert set(bn.param_keys) == {"mean", "var"}
    np.testing.assert_array_equal(bn.params["gamma"], np.ones(3))
    np.testing.assert_array_equal(bn.params["beta"], np.zeros(3))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv_padding_mode_becomes_pad_node_then_unpadded_conv(mode):
    lm = load(nn.Sequential(nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode=mode)))
    assert ops(lm) == ["pad", "conv"]
    pad, conv = only(lm, "pad"), only(lm, "conv")
    assert pad.attrs["mode"] == mode and pad.attrs["pads"] == [(0, 0), (0, 0), (1, 1), (2, 2)]
    assert conv.attrs["padding"] == [(0, 0), (0, 0)] and conv.name == "0"


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_same_padding_becomes_explicit_begin_end():
    lm = load(nn.Sequential(nn.Conv2d(3, 4, (4, 3), padding="same", dilation=(1, 2))))
    assert only(lm, "conv").attrs["padding"] == [(1, 2), (2, 2)]


def test_grouped_depthwise_dilated_strided_conv_attrs():
    lm = load(nn.Sequential(nn.Conv2d(3, 6, 3, groups=3, stride=2, dilation=2, padding=2),
                            nn.Conv2d(6, 4, 1, groups=2)), (1, 3, 9, 9))
    dw, grouped = [n for n in lm.graph.nodes if n.op == "conv"]
    assert dw.attrs["groups"] == 3 and dw.attrs["stride"] == [2, 2]
    assert dw.attrs["dilation"] == [2, 2] and dw.attrs["padding"] == [(2, 2), (2, 2)]
    assert dw.params["weight"].shape == (6, 1, 3, 3) and grouped.attrs["groups"] == 2


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_grouped_conv_transpose_keeps_in_channels_first_layout(nd):
    cls = [nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d][nd - 1]
    lm = load(nn.Sequential(cls(4, 6, 2, stride=2, groups=2, output_padding=1, padding=1)),
              (1, 4) + (3,) * nd)
    ct = only(lm, "conv_transpose")
    assert ct.params["weight"].shape == (4, 3) + (2,) * nd
    assert ct.attrs["groups"] == 2 and ct.attrs["output_padding"] == [1] * nd
    assert ct.attrs["padding"] == [(1, 1)] * nd and ct.attrs["stride"] == [2] * nd


class MatmulHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(5, 4)
        self.w = nn.Parameter(torch.randn(4, 3))

    def forward(self, x):
        return self.fc(x) @ self.w


def test_linear_and_matmul_with_constant_weight_map_to_linear():
    lm = load(MatmulHead(), (2, 5))
    fc, mm = [n for n in lm.graph.nodes if n.op == "linear"]
    assert fc.params["weight"].shape == (4, 5) and fc.param_keys["bias"] == "fc.bias"
    assert mm.params["weight"].shape == (3, 4) and mm.param_keys == {"weight": "w"}
    assert lm.capture.transforms[mm.id] == {"weight": StorageTransform.TRANSPOSE}


class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3))

    def forward(self, x):
        return self.block(self.block(x))


def test_module_called_twice_gives_two_nodes_with_equal_param_keys():
    lm = load(Twice())
    bns = [n for n in lm.graph.nodes if n.op == "batch_norm"]
    assert [n.name for n in bns] == ["block.1", "block.1#2"]
    assert bns[0].param_keys == bns[1].param_keys and bns[0].id != bns[1].id


def test_tied_weights_share_param_keys():
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4))
    net[2].weight = net[0].weight
    lm = load(net, (2, 4))
    a, b = [n for n in lm.graph.nodes if n.op == "linear"]
    assert a.param_keys["weight"] == b.param_keys["weight"]


class Shapes(nn.Module):
    def forward(self, x):  # x: (1, 6, 4, 4)
        a, b = torch.split(x, [2, 4], dim=1)
        c = torch.cat([b, a], dim=-3)
        d, e = c.chunk(2, dim=1)
        f = d.permute(0, 2, 3, 1).reshape(1, 4, -1)
        return torch.flatten(e, 1), f, x[:, 1:5:2]


def test_concat_split_chunk_flatten_permute_reshape_shapes():
    lm = load(Shapes(), (1, 6, 4, 4))
    g = lm.graph
    assert ops(lm) == ["split", "concat", "split", "transpose", "reshape", "reshape", "slice"]
    split, chunk = [n for n in g.nodes if n.op == "split"]
    assert split.attrs == {"axis": 1, "sizes": [2, 4]} and len(split.outputs) == 2
    assert chunk.attrs == {"axis": 1, "sizes": [3, 3]}
    assert only(lm, "concat").attrs == {"axis": 1}
    assert only(lm, "transpose").attrs == {"perm": [0, 2, 3, 1]}
    assert only(lm, "slice").attrs == {"axis": 1, "start": 1, "end": 5, "step": 2}
    assert [g.shape(n.inputs[0]) for n in g.nodes if n.op == "output"] == [
        (1, 48), (1, 4, 12), (1, 2, 4, 4)]


class Misc(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.rand(1, 3, 1, 1) + 0.5)

    def forward(self, x):
        y = torch.flip(x, [2]) * self.scale - 1.0
        y = F.max_pool2d(y, 2) + F.avg_pool2d(y, 2, count_include_pad=False)
        return F.adaptive_avg_pool2d(y, 1), F.interpolate(y, scale_factor=2.0), y.mean((2, 3))


def test_unknown_op_is_kept_as_other_and_common_ops_are_mapped():
    lm = load(Misc())
    g = lm.graph
    flip = only(lm, "other")
    assert flip.attrs["op_type"] == "aten.flip" and flip.inputs == ("x",)
    mul, sub = [n for n in g.nodes if n.op == "affine"]
    assert mul.param_keys["scale"] == "scale" and "shift" not in mul.param_keys
    np.testing.assert_allclose(sub.params["shift"], -np.ones(3))
    assert {n.op for n in g.nodes} >= {"pool_max", "pool_avg", "add", "resize", "reshape"}
    glob = [n for n in g.nodes if n.op == "pool_avg" and n.attrs["global_pool"]]
    assert len(glob) == 2 and only(lm, "resize").attrs["mode"] == "nearest"


def test_untraceable_module_raises_unsupported_model_error():
    class DataDependent(nn.Module):
        def forward(self, x):
            return x * 2 if x.sum() > 0 else x

    with pytest.raises(UnsupportedModelError, match="DataDependent.*To fix this"):
        pytorch.load_module(DataDependent(), torch.ones(1, 3))


def test_missing_input_shape_asks_for_it():
    with pytest.raises(UnsupportedModelError, match="--input-shape"):
        pytorch.load_module(ConvBnRelu())


@torch.library.custom_op("bnfold_test::opaque", mutates_args=())
def _opaque(x: torch.Tensor) -> torch.Tensor:  # no fake kernel: torch.export fails
    return x.clone()


class Opaque(ConvBnRelu):
    def forward(self, x):
        return _opaque(super().forward(x))


def test_export_failure_falls_back_to_symbolic_trace_and_still_writes_back():
    lm = load(Opaque())
    assert lm.capture.method == "fx" and "symbolic_trace" in lm.notes[0]
    assert ops(lm)[:3] == ["conv", "batch_norm", "activation"] and ops(lm)[3] == "other"
    assert only(lm, "batch_norm").name == "bn"
    assert_same(lm, pytorch.write_back(lm, *fold_into_producer(lm, only(lm, "batch_norm").id)))


# -- write-back --------------------------------------------------------------
def test_write_back_of_conv_bn_fold_matches_and_leaves_original_unchanged():
    lm = load(ConvBnRelu())
    before = {k: v.clone() for k, v in lm.model.state_dict().items()}
    folded = pytorch.write_back(lm, *fold_into_producer(lm, "batch_norm"))
    assert isinstance(folded.bn, nn.Identity) and isinstance(lm.model.bn, nn.BatchNorm2d)
    assert all(torch.equal(before[k], v) for k, v in lm.model.state_dict().items())
    assert_same(lm, folded)


def test_write_back_creates_a_missing_bias():
    lm = load(ConvBnRelu(bias=False))
    assert "bias" not in only(lm, "conv").param_keys
    folded = pytorch.write_back(lm, *fold_into_producer(lm, "batch_norm"))
    assert isinstance(folded.conv.bias, nn.Parameter) and lm.model.conv.bias is None
    assert_same(lm, folded)


def test_write_back_of_batch_norm_act_keeps_the_activation():
    lm = load(nn.Sequential(nn.Conv2d(3, 4, 1), timm.layers.BatchNormAct2d(4)))
    folded = pytorch.write_back(lm, *fold_into_producer(lm, only(lm, "batch_norm").id))
    assert isinstance(folded[1], nn.Sequential) and isinstance(folded[1][1], nn.ReLU)
    assert_same(lm, folded)


def test_write_back_of_functional_batch_norm_uses_graph_surgery():
    lm = load(FunctionalBN())
    folded = pytorch.write_back(lm, *fold_into_producer(lm, "batch_norm"))
    assert isinstance(folded, torch.fx.GraphModule)
    assert not any("batch_norm" in str(n.target) for n in folded.graph.nodes)
    assert_same(lm, folded)


def test_write_back_of_frozen_batch_norm():
    lm = load(nn.Sequential(nn.Conv2d(3, 4, 3), torchvision.ops.FrozenBatchNorm2d(4)))
    folded = pytorch.write_back(lm, *fold_into_producer(lm, only(lm, "batch_norm").id))
    assert isinstance(folded[1], nn.Identity)
    assert_same(lm, folded)


# -- files -------------------------------------------------------------------
@pytest.mark.parametrize("bias", [True, False])
def test_pt2_round_trip_save_load_fold_run(tmp_path, bias):
    lm = load(ConvBnRelu(bias=bias))
    path = tmp_path / "m.pt2"
    pytorch.save(lm.model, path, lm)
    lp = pytorch.load_pt2(path)
    assert ops(lp) == ops(lm) and only(lp, "batch_norm").name == "bn"
    x = lm.random_inputs()
    np.testing.assert_allclose(pytorch.run(lp.model, x)[0], pytorch.run(lm.model, x)[0], rtol=1e-6)
    folded = pytorch.write_back(lp, *fold_into_producer(lp, only(lp, "batch_norm").id))
    np.testing.assert_allclose(pytorch.run(folded, x)[0], pytorch.run(lm.model, x)[0],
                               rtol=1e-5, atol=1e-5)
    pytorch.save(folded, tmp_path / "folded.pt2", lp)
    assert "batch_norm" not in ops(pytorch.load_pt2(tmp_path / "folded.pt2"))


def test_load_pt2_rejects_missing_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(InvalidGraphError, match="no such file"):
        pytorch.load_pt2(tmp_path / "nope.pt2")
    (tmp_path / "bad.pt2").write_bytes(b"not a zip")
    with pytest.raises(InvalidGraphError, match="not a valid"):
        pytorch.load_pt2(tmp_path / "bad.pt2")
    with zipfile.ZipFile(tmp_path / "other.pt2", "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(InvalidGraphError, match="torch.export"):
        pytorch.load_pt2(tmp_path / "other.pt2")


@pytest.mark.slow
def test_save_onnx_keeps_bn_and_matches_onnxruntime(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    lm = load(ConvBnRelu())
    path = tmp_path / "m.onnx"
    pytorch.save(lm.model, path, lm)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    assert "BatchNormalization" in {n.op_type for n in proto.graph.node}
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = lm.random_inputs()
    got = sess.run(None, {sess.get_inputs()[0].name: x[0]})[0]
    np.testing.assert_allclose(got, pytorch.run(lm.model, x)[0], rtol=1e-5, atol=1e-5)


def test_save_with_unknown_suffix_raises(tmp_path):
    lm = load(ConvBnRelu())
    with pytest.raises(InspectorError, match=r"\.pt2 or \.onnx"):
        pytorch.save(lm.model, tmp_path / "m.h5", lm)


def test_run_restores_training_mode():
    net = ConvBnRelu()
    lm = load(net)
    net.train()
    pytorch.run(net, lm.random_inputs())
    assert net.training and net.bn.training


class ScaledBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return self.bn(self.conv(x)) * 2.0


def test_write_back_into_a_constant_affine_uses_graph_surgery():
    lm = load(ScaledBN())
    g = lm.graph
    bn, aff = only(lm, "batch_norm"), only(lm, "affine")
    p = bn.params
    a = p["gamma"] / np.sqrt(p["var"] + bn.attrs["eps"])
    c = p["beta"] - a * p["mean"]
    new_aff = replace(aff, params={"scale": aff.params["scale"] * a,
                                   "shift": aff.params["scale"] * c})
    folded = g.with_nodes({aff.id: new_aff, bn.id: bypass(bn)})
    model = pytorch.write_back(lm, folded, [bn.id], [aff.id])
    assert isinstance(model, torch.fx.GraphModule)
    assert_same(lm, model)


def test_write_back_through_transposed_storage():
    lm = load(MatmulHead(), (2, 5))
    mm = [n for n in lm.graph.nodes if n.op == "linear"][1]
    new = replace(mm, params={"weight": mm.params["weight"] * 3.0})
    model = pytorch.write_back(lm, lm.graph.with_nodes({mm.id: new}), [], [mm.id])
    torch.testing.assert_close(model.w, lm.model.w * 3.0)


def test_float64_model_keeps_its_dtype():
    lm = load(ConvBnRelu().double())
    assert lm.inputs[0].dtype == "float64" and lm.graph.dtype == "float64"
    folded = pytorch.write_back(lm, *fold_into_producer(lm, "batch_norm"))
    assert folded.conv.weight.dtype == torch.float64
    assert_same(lm, folded, rtol=1e-12, atol=1e-12)


def test_removing_one_call_of_a_shared_bn_falls_back_to_graph_surgery():
    lm = load(Twice())
    first, second = [n.id for n in lm.graph.nodes if n.op == "batch_norm"]
    model = pytorch.write_back(lm, lm.graph, [first], [])
    assert isinstance(model, torch.fx.GraphModule)
    assert sum("batch_norm" in str(n.target) for n in model.graph.nodes) == 1
    both = pytorch.write_back(lm, lm.graph, [first, second], [])
    assert isinstance(both.block[1], nn.Identity)


class ScaledBatchNorm(nn.BatchNorm2d):
    def forward(self, x):
        return super().forward(x) * 2.0


def test_batch_norm_subclass_doing_more_is_not_replaced_by_identity():
    lm = load(nn.Sequential(nn.Conv2d(3, 4, 1), ScaledBatchNorm(4)))
    folded = pytorch.write_back(lm, *fold_into_producer(lm, only(lm, "batch_norm").id))
    assert isinstance(folded, torch.fx.GraphModule)
    assert_same(lm, folded)


class PreActInplace(nn.Module):
    """BN -> ReLU(inplace) whose BN input is also the shortcut (timm ResNetV2 style)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 1)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(4, 4, 1)
        self.post = nn.BatchNorm2d(4)

    def forward(self, x):
        x = self.stem(x)
        return self.post(x + self.conv(self.relu(self.bn(x))))


def test_removed_bn_does_not_let_an_inplace_op_overwrite_a_shared_input():
    from inspector.folding.pipeline import fold

    loaded = pytorch.load_module(randomize_bn(PreActInplace(), seed=1), input_shape=(1, 3, 5, 5))
    result = fold(loaded, "optimal")
    assert result.analysis.verdicts["batch_norm"].folded and result.rolled_back == []
    assert result.verification.max_rel_error < 1e-5
    assert loaded.model.relu.inplace  # the user's module is untouched


# -- never silent ------------------------------------------------------------------
def test_a_handler_that_fails_keeps_the_node_as_other_and_says_so(monkeypatch):
    from inspector.frontends.pytorch import ops as torch_ops

    def broken(call):
        raise ValueError("unexpected argument")

    monkeypatch.setitem(torch_ops.HANDLERS, "relu", broken)
    lm = load(ConvBnRelu())
    assert ops(lm) == ["conv", "batch_norm", "other"]
    (note,) = [n for n in lm.notes if "unknown op" in n]
    assert "aten.relu" in note and "ValueError: unexpected argument" in note


def test_a_chain_of_specs_reads_its_predecessor_and_keeps_its_params():
    from inspector.frontends.pytorch.optypes import Spec
    from inspector.frontends.pytorch.records import chain_nodes

    weight = np.ones((4, 3, 3, 3))
    pad = Spec("pad", ("x",), {"mode": "reflect"})
    conv = Spec("conv", ("ignored",), {"groups": 1}, {"weight": weight}, {"weight": "conv.weight"})
    (pid, pspec, pouts), (cid, cspec, couts) = chain_nodes("n", [pad, conv], ("y",))
    assert (pid, pouts, cid, couts) == ("n:0", ("n:0",), "n", ("y",))
    assert pspec.inputs == ("x",) and cspec.inputs == ("n:0",)
    assert cspec.params["weight"] is weight and cspec.keys == {"weight": "conv.weight"}
