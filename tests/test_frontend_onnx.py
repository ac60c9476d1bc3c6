"""ONNX frontend: ONNX -> IR translation, shapes, errors and write-back."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import onnx
import pytest
from onnx import helper

from inspector.errors import InspectorError, InvalidGraphError
from inspector.folding.pipeline import fold
from inspector.frontends import onnx as F
from inspector.ir import bypass

from . import onnx_builders as B


def ops(loaded) -> list[str]:
    return [n.op for n in loaded.graph.nodes]


def ort(m: onnx.ModelProto, *xs: np.ndarray) -> list[np.ndarray]:
    return F.run(m, list(xs))


# -- translation ------------------------------------------------------------------
def test_conv_bn_relu_maps_to_conv_batch_norm_activation():
    m = B.conv_bn_relu()
    loaded = F.load_onnx(m, name="cbr")
    assert ops(loaded) == ["input", "conv", "batch_norm", "activation", "output"]
    conv, bn, act = (loaded.graph.node(i) for i in ("/conv/Conv", "/bn/BatchNormalization", "/relu/Relu"))
    w = onnx.numpy_helper.to_array(m.graph.initializer[0])
    np.testing.assert_array_equal(conv.params["weight"], w)
    assert conv.params["bias"].shape == (4,)
    assert conv.attrs == {"groups": 1, "stride": (1, 1), "dilation": (1, 1), "padding": [(1, 1), (1, 1)],
                          "kernel": (3, 3), "padding_mode": "zeros"}
    assert conv.param_keys == {"weight": "conv.weight", "bias": "conv.bias"}
    assert conv.scope == "conv" and conv.name == "/conv/Conv"
    np.testing.assert_array_equal(bn.params["gamma"], B.bn_stats(4)["gamma"])
    assert bn.attrs["axis"] == 1 and not bn.attrs["uses_batch_stats"]
    assert bn.attrs["eps"] == pytest.approx(1e-5)
    assert act.attrs["kind"] == "relu"
    assert loaded.inputs[0].shape == (1, 3, 8, 8) and loaded.frontend is F.ADAPTER
    assert loaded.graph.framework == "onnx" and loaded.name == "cbr"


@pytest.mark.parametrize("opset", [11, 13, 15, 17, 18, 21])
def test_opsets_load_with_attribute_and_input_forms(opset):
    loaded = F.load_onnx(B.opset_mix(opset))
    assert ops(loaded)[1:-1] == ["conv", "batch_norm", "activation", "split", "slice",
                                 "concat", "pad", "pool_avg", "reshape"]
    g = loaded.graph
    assert g.node("split").attrs == {"axis": 1, "sizes": [2, 4]}
    assert g.node("slice").attrs == {"axis": 1, "start": 1, "end": 3, "step": 1}
    assert g.node("pad").attrs["pads"] == [(0, 0), (0, 0), (1, 1), (1, 1)]
    assert g.node("pad").attrs["mode"] == "reflect"
    assert g.node("mean").attrs["global_pool"] is True


def test_auto_pad_same_upper_becomes_explicit_pads():
    loaded = F.load_onnx(B.conv_same_upper(size=8, stride=2))
    conv = loaded.graph.node("conv")
    assert conv.attrs["padding"] == [(0, 1), (0, 1)]
    explicit = B.model([helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2], pads=[0, 0, 1, 1])],
                       [B.vinfo("x", [1, 2, 8, 8])], ["y"], [B.init("w", conv.params["weight"])])
    x = B.rand((1, 2, 8, 8), 3)
    np.testing.assert_array_equal(ort(explicit, x)[0], ort(loaded.model, x)[0])


def test_same_lower_puts_the_extra_pad_first():
    conv = F.load_onnx(B.conv_same_upper(size=8, stride=2, auto_pad="SAME_LOWER")).graph.node("conv")
    assert conv.attrs["padding"] == [(1, 0), (1, 0)]


def test_conv_transpose_grouped_layout_and_attrs():
    node = F.load_onnx(B.conv_transpose_grouped(groups=2)).graph.node("deconv")
    assert node.op == "conv_transpose"
    assert node.params["weight"].shape == (4, 3, 3, 3)  # (C_in, C_out/groups, k, k)
    assert node.attrs["groups"] == 2 and node.attrs["stride"] == (2, 2)
    assert node.attrs["output_padding"] == (1, 1) and node.attrs["padding"] == [(1, 1), (1, 1)]


@pytest.mark.parametrize("auto_pad", [None, "SAME_UPPER", "SAME_LOWER"])
def test_conv_transpose_output_shape_becomes_explicit_pads(auto_pad):
    m = B.conv_transpose_grouped(groups=2, output_shape=[10, 10])
    if auto_pad:
        m.graph.node[0].attribute.append(helper.make_attribute("auto_pad", auto_pad))
    loaded = F.load_onnx(m)
    node = loaded.graph.node("deconv")
    assert loaded.graph.shape(node.outputs[0]) == (1, 6, 10, 10)
    (pb, pe), _ = node.attrs["padding"]
    assert pb + pe == 1  # stride*(in-1) + (k-1) + 1 - out = 8 + 3 - 10
    explicit = B.model([helper.make_node("ConvTranspose", ["x", "w", "b"], ["t"], group=2, strides=[2, 2],
                                         pads=[pb, pb, pe, pe])],
                       [B.vinfo("x", [1, 4, 5, 5])], ["t"], m.graph.initializer[:3])
    alone = B.model(m.graph.node[:1], [B.vinfo("x", [1, 4, 5, 5])], ["t"], m.graph.initializer[:3])
    x = B.rand((1, 4, 5, 5), 3)
    np.testing.assert_array_equal(ort(explicit, x)[0], ort(alone, x)[0])


@pytest.mark.parametrize("trans_b", [0, 1])
def test_gemm_weight_is_out_by_in_with_alpha_and_beta(trans_b):
    m = B.gemm(trans_b=trans_b, alpha=0.5, beta=2.0)
    fc = F.load_onnx(m).graph.node("fc")
    assert fc.op == "linear" and fc.params["weight"].shape == (4, 5)
    x = B.rand((2, 5), 7)
    np.testing.assert_allclose(x @ fc.params["weight"].T + fc.params["bias"], ort(m, x)[0], rtol=1e-5)


def test_gemm_with_trans_a_is_other():
    m = B.gemm()
    m.graph.node[0].attribute.append(helper.make_attribute("transA", 1))
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 5
    m.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 2
    assert F.load_onnx(m).graph.node("fc").op == "other"


def test_matmul_then_bias_add_is_one_linear():
    loaded = F.load_onnx(B.matmul_add())
    assert ops(loaded) == ["input", "linear", "output"]
    fc = loaded.graph.node("/fc/MatMul")
    assert fc.params["weight"].shape == (4, 5) and fc.param_keys == {"weight": "W", "bias": "bias"}
    assert fc.outputs == ("y",) and loaded.capture.node_map["/fc/MatMul"] == [0, 1]


def test_matmul_output_read_twice_is_not_fused():
    loaded = F.load_onnx(B.matmul_add(extra_reader=True))
    assert ops(loaded) == ["input", "linear", "affine", "output", "output"]
    assert "bias" not in loaded.graph.node("/fc/MatMul").params


def test_constant_mul_then_add_is_one_bn_like_affine():
    loaded = F.load_onnx(B.decomposed_bn())
    assert ops(loaded) == ["input", "conv", "affine", "activation", "output"]
    aff = loaded.graph.node("/bn/Mul")
    a, c = B.bn_affine(B.bn_stats(4))
    assert aff.attrs == {"axis": 1, "bn_like": True, "file_nodes": 2} and aff in loaded.graph.bn_nodes()
    np.testing.assert_allclose(aff.params["scale"], a, rtol=1e-6)
    np.testing.assert_allclose(aff.params["shift"], c, rtol=1e-6)


def test_non_per_channel_constant_is_other():
    m = B.decomposed_bn()
    m.graph.initializer[2].CopyFrom(B.init("s", B.rand((1, 4, 6, 6), 9)))
    loaded = F.load_onnx(m)
    assert loaded.graph.node("/bn/Mul").op == "other"
    assert loaded.graph.node("/bn/Add").op == "affine"  # alone: not BN-like
    assert not loaded.graph.node("/bn/Add").attrs.get("bn_like")


def test_integer_constant_arithmetic_is_not_affine():
    nodes = [helper.make_node("Add", ["x", "one"], ["y"], name="add")]
    m = B.model(nodes, [B.vinfo("x", [2, 3], onnx.TensorProto.INT64)], ["y"],
                [B.init("one", np.array(1, np.int64))])
    assert F.load_onnx(m).graph.node("add").op == "other"


def test_conv1d_and_bn_on_3d_tensors():
    bn, more = B.bn_node("bn", "c", "y", 4)
    m = B.model([helper.make_node("Conv", ["x", "w"], ["c"], name="conv", strides=[2], pads=[1, 1]), bn],
                [B.vinfo("x", [1, 3, 9])], ["y"], [B.init("w", B.rand((4, 3, 3), 1)), *more])
    g = F.load_onnx(m).graph
    assert g.node("conv").attrs["padding"] == [(1, 1)] and g.node("conv").attrs["stride"] == (2,)
    assert g.shape("y") == (1, 4, 5) and g.node("bn").op == "batch_norm"


def test_cast_like_of_a_constant_is_folded():
    nodes = [helper.make_node("CastLike", ["b64", "x"], ["b"], name="castlike"),
             helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv")]
    m = B.model(nodes, [B.vinfo("x", [1, 3, 4, 4])], ["y"],
                [B.init("w", B.rand((2, 3, 1, 1), 1)), B.init("b64", np.ones(2))])
    conv = F.load_onnx(m).graph.node("conv")
    assert conv.params["bias"].dtype == np.float32 and conv.inputs == ("x",)


def test_training_mode_bn_uses_batch_stats():
    bn = F.load_onnx(B.training_bn()).graph.node("bn")
    assert bn.op == "batch_norm" and bn.attrs["uses_batch_stats"] is True


def test_nhwc_input_with_transpose():
    loaded = F.load_onnx(B.nhwc_input())
    g = loaded.graph
    assert ops(loaded)[1:-1] == ["transpose", "conv", "batch_norm", "activation", "transpose"]
    assert g.node("model/conv/Conv2D__6").attrs["perm"] == (0, 3, 1, 2)
    assert g.shape("t") == (1, 3, 8, 8) and loaded.inputs[0].shape == (1, 8, 8, 3)
    assert g.node("model/conv/Conv2D").scope == "model/conv"


def test_explicit_pad_before_conv_with_constant_node_pads():
    loaded = F.load_onnx(B.pad_conv(opset=11))
    assert ops(loaded) == ["input", "pad", "conv", "output"]  # the Constant is folded away
    pad = loaded.graph.node("pad")
    # file_nodes: the Pad and the Constant holding its pads (counted as in the file)
    assert pad.attrs == {"mode": "constant", "pads": [(0, 0), (0, 0), (1, 1), (1, 1)], "value": 0.0,
                         "file_nodes": 2}
    assert loaded.graph.node("conv").attrs["padding"] == [(0, 0), (0, 0)]


def test_conv_weight_from_constant_node():
    conv = F.load_onnx(B.conv_bn_relu(const_weights=True)).graph.node("/conv/Conv")
    assert conv.params["weight"].shape == (4, 3, 3, 3) and conv.param_keys["weight"] == "conv.weight"


@pytest.mark.parametrize("opset", [11, 13])
def test_split_sizes_from_attribute_or_input(opset):
    split = F.load_onnx(B.opset_mix(opset)).graph.node("split")
    assert split.attrs["sizes"] == [2, 4] and split.outputs == ("s1", "s2")


def test_unknown_ops_are_kept_as_other():
    loaded = F.load_onnx(B.unknown_ops())
    g = loaded.graph
    assert ops(loaded) == ["input", "other", "activation", "other", "output"]
    assert g.node("cumsum").attrs["op_type"] == "CumSum" and g.node("cumsum").inputs == ("x",)
    assert g.node("custom").attrs == {"op_type": "MyOp", "domain": "my.domain"}
    assert any("onnxruntime" in n for n in loaded.notes)


def test_shape_subgraph_is_folded_away():
    loaded = F.load_onnx(B.shape_subgraph())
    assert ops(loaded) == ["input", "conv", "batch_norm", "reshape", "output"]
    assert loaded.graph.shape("y") == (1, 144)


def test_resnet_block_shapes_are_concrete():
    loaded = F.load_onnx(B.resnet_block())
    assert all(t.shape is not None for t in loaded.graph.tensors.values())
    assert loaded.graph.shape("y") == (1, 10) and loaded.graph.shape("gap") == (1, 8, 1, 1)
    assert "other" not in ops(loaded)
    assert loaded.notes == ["input 'x': dynamic dims ['batch'] set to 1; pass input_shape=... "
                            "to load_onnx to choose them."]


def test_input_shape_overrides_dynamic_dims():
    loaded = F.load_onnx(B.resnet_block(), input_shape=(2, 3, 32, 32))
    assert loaded.inputs[0].shape == (2, 3, 32, 32) and loaded.graph.shape("y") == (2, 10)
    with pytest.raises(InvalidGraphError, match="rank"):
        F.load_onnx(B.resnet_block(), input_shape=(2, 3))


def test_shapes_onnx_cannot_infer_come_from_onnxruntime():
    nodes = [helper.make_node("NonZero", ["x"], ["nz"], name="nz"),
             helper.make_node("Transpose", ["nz"], ["y"], name="t", perm=[1, 0])]
    m = B.model(nodes, [B.vinfo("x", [2, 3])], [B.vinfo("y", ["n", 2], onnx.TensorProto.INT64)])
    g = F.load_onnx(m).graph
    assert g.shape("nz") is not None and g.shape("nz")[0] == 2 and g.tensors["nz"].dtype == "int64"


def test_loads_from_path_and_bytes(tmp_path):
    path = tmp_path / "cbr.onnx"
    onnx.save(B.conv_bn_relu(), str(path))
    assert F.load_onnx(str(path)).name == "cbr"
    assert ops(F.load_onnx(path.read_bytes())) == ops(F.load_onnx(path))


def test_loads_external_data_next_to_the_file(tmp_path):
    path = tmp_path / "ext.onnx"
    onnx.save(B.resnet_block(), str(path), save_as_external_data=True, location="ext.data",
              size_threshold=0)
    conv = F.load_onnx(path).graph.node("/l1/conv1/Conv")
    assert conv.params["weight"].shape == (8, 8, 3, 3)
    (tmp_path / "ext.data").unlink()
    with pytest.raises(InvalidGraphError, match="external weight files"):
        F.load_onnx(path)


def test_source_model_is_not_modified():
    m = B.resnet_block()
    before = m.SerializeToString()
    loaded = F.load_onnx(m)
    assert m.SerializeToString() == before and loaded.model is not m


# -- errors -----------------------------------------------------------------------
def test_missing_file_is_invalid_graph_error(tmp_path):
    with pytest.raises(InvalidGraphError, match="not found"):
        F.load_onnx(tmp_path / "nope.onnx")


def test_random_bytes_are_not_an_onnx_model(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\x01" + np.random.default_rng(0).bytes(500))
    with pytest.raises(InvalidGraphError, match="is not an ONNX model"):
        F.load_onnx(path)


def test_truncated_file_says_truncated(tmp_path):
    data = B.resnet_block().SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidGraphError, match="truncated or corrupt"):
        F.load_onnx(path)


def test_model_failing_the_checker_is_invalid():
    m = B.conv_bn_relu()
    m.graph.node[0].input[0] = "undefined_tensor"
    with pytest.raises(InvalidGraphError, match="not a valid ONNX model"):
        F.load_onnx(m)


def test_corrupt_initializer_data_is_invalid():
    m = B.resnet_block()
    w = next(t for t in m.graph.initializer if t.name == "c1.w")
    w.raw_data = w.raw_data[:100]
    with pytest.raises(InvalidGraphError, match="c1.w"):
        F.load_onnx(m)


# -- write-back -------------------------------------------------------------------
def fold_conv_bn(loaded, conv_id: str, bn_id: str):
    """Hand-made backward fold of ``bn_id`` into ``conv_id`` (float64), BN bypassed."""
    g = loaded.graph
    conv, bn = g.node(conv_id), g.node(bn_id)
    a, c = B.bn_affine(bn.params, bn.attrs["eps"])
    w = conv.params["weight"].astype(np.float64)
    b = conv.params.get("bias", np.zeros(w.shape[0])).astype(np.float64)
    shape = (-1,) + (1,) * (w.ndim - 1)
    params = {"weight": w * a.reshape(shape), "bias": b * a + c}
    return g.with_nodes({conv_id: replace(conv, params=params), bn_id: bypass(bn)})


def check_equivalent(loaded, folded_model, rtol=1e-5):
    onnx.checker.check_model(folded_model, full_check=True)
    x = loaded.random_inputs(seed=1)
    np.testing.assert_allclose(ort(folded_model, *x)[0], ort(loaded.model, *x)[0], rtol=rtol, atol=1e-5)


def op_types(m: onnx.ModelProto) -> list[str]:
    return [n.op_type for n in m.graph.node]


def test_write_back_conv_bn_fold_is_equivalent_and_leaves_original():
    loaded = F.load_onnx(B.conv_bn_relu())
    before = loaded.model.SerializeToString()
    folded = fold_conv_bn(loaded, "/conv/Conv", "/bn/BatchNormalization")
    out = F.write_back(loaded, folded, ["/bn/BatchNormalization"], ["/conv/Conv"])
    assert op_types(out) == ["Conv", "Relu"]
    check_equivalent(loaded, out)
    assert loaded.model.SerializeToString() == before
    names = {t.name for t in out.graph.initializer}
    assert names == {"conv.weight", "conv.bias"}  # BN params dropped, conv edited in place


def test_write_back_creates_bias_for_biasless_conv():
    loaded = F.load_onnx(B.conv_bn_relu(bias=False))
    folded = fold_conv_bn(loaded, "/conv/Conv", "/bn/BatchNormalization")
    out = F.write_back(loaded, folded, ["/bn/BatchNormalization"], ["/conv/Conv"])
    assert len(out.graph.node[0].input) == 3
    check_equivalent(loaded, out)


def test_write_back_conv_weights_from_constant_node():
    loaded = F.load_onnx(B.conv_bn_relu(const_weights=True))
    folded = fold_conv_bn(loaded, "/conv/Conv", "/bn/BatchNormalization")
    out = F.write_back(loaded, folded, ["/bn/BatchNormalization"], ["/conv/Conv"])
    assert op_types(out) == ["Conv", "Relu"]  # the unused Constant node is dropped
    check_equivalent(loaded, out)


def test_write_back_bn_output_is_graph_output():
    loaded = F.load_onnx(B.conv_bn_relu(relu=False))
    folded = fold_conv_bn(loaded, "/conv/Conv", "/bn/BatchNormalization")
    out = F.write_back(loaded, folded, ["/bn/BatchNormalization"], ["/conv/Conv"])
    # The conv is renamed to produce the output: no renaming Identity is left (issue 15.2).
    assert op_types(out) == ["Conv"] and out.graph.output[0].name == "y" == out.graph.node[0].output[0]
    check_equivalent(loaded, out)


def test_write_back_does_not_edit_shared_initializer():
    loaded = F.load_onnx(B.shared_weight_convs())
    folded = fold_conv_bn(loaded, "conv1", "bn")
    out = F.write_back(loaded, folded, ["bn"], ["conv1"])
    conv1, conv2 = out.graph.node[0], out.graph.node[1]
    assert conv2.input[1:] == ["w", "bias"] and conv1.input[1] not in ("w", "bias")
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in out.graph.initializer}
    np.testing.assert_array_equal(inits["w"], loaded.graph.node("conv2").params["weight"])
    check_equivalent(loaded, out)


def test_an_initializer_read_by_two_modules_is_a_stored_copy_and_folds():
    # torch.onnx stores equal tensors once (YOLO26's deep-copied heads read one weight):
    # each module's conv is its own layer, and the write-back un-shares what it changes.
    loaded = F.load_onnx(B.shared_weight_convs(names=("/head_a/conv/Conv", "/head_b/conv/Conv")))
    result = fold(loaded, "optimal")
    assert result.analysis.folded_count == 1 and result.verification.passed
    conv_a, conv_b = result.model.graph.node[0], result.model.graph.node[1]
    assert conv_b.input[1:] == ["w", "bias"] and conv_a.input[1] != "w"
    check_equivalent(loaded, result.model)


@pytest.mark.parametrize("names", [("/head/conv/Conv", "/head/conv/Conv_1"), ("conv1", "conv2")],
                         ids=["one module called twice", "no module path"])
def test_an_initializer_read_twice_by_one_module_stays_a_shared_layer(names):
    loaded = F.load_onnx(B.shared_weight_convs(names=names))
    analysis = fold(loaded, "optimal").analysis
    assert analysis.folded_count == 0
    assert analysis.verdicts["bn"].reason_code.value == "shared_params"


def test_write_back_decomposed_bn_affine_removal():
    loaded = F.load_onnx(B.decomposed_bn())
    g = loaded.graph
    conv, aff = g.node("/conv/Conv"), g.node("/bn/Mul")
    a, c = aff.params["scale"].astype(np.float64), aff.params["shift"].astype(np.float64)
    params = {"weight": conv.params["weight"] * a[:, None, None, None], "bias": conv.params["bias"] * a + c}
    folded = g.with_nodes({conv.id: replace(conv, params=params), aff.id: bypass(aff)})
    out = F.write_back(loaded, folded, [aff.id], [conv.id])
    assert op_types(out) == ["Conv", "Relu"]
    check_equivalent(loaded, out)


def test_write_back_changed_affine_is_rebuilt_as_mul_add():
    loaded = F.load_onnx(B.decomposed_bn())
    aff = loaded.graph.node("/bn/Mul")
    params = {"scale": aff.params["scale"] * 2.0, "shift": aff.params["shift"] + 1.0}
    out = F.write_back(loaded, loaded.graph.with_nodes({aff.id: replace(aff, params=params)}), [], [aff.id])
    onnx.checker.check_model(out, full_check=True)
    x = loaded.random_inputs(seed=2)
    pre = ort(B.model([loaded.model.graph.node[0]], [B.vinfo("x", [1, 3, 6, 6])], ["c"],
                      loaded.model.graph.initializer[:2]), *x)[0]
    expected = np.maximum(pre * params["scale"].reshape(4, 1, 1) + params["shift"].reshape(4, 1, 1), 0)
    np.testing.assert_allclose(ort(out, *x)[0], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["gemm", "matmul"])
def test_write_back_dense_bn_fold(kind):
    loaded = F.load_onnx(B.dense_bn(kind))
    fc, bn = loaded.graph.node("fc"), loaded.graph.node("bn")
    a, c = B.bn_affine(bn.params, bn.attrs["eps"])
    bias = fc.params.get("bias", np.zeros(4)).astype(np.float64)
    params = {"weight": fc.params["weight"] * a[:, None], "bias": bias * a + c}
    folded = loaded.graph.with_nodes({"fc": replace(fc, params=params), "bn": bypass(bn)})
    out = F.write_back(loaded, folded, ["bn"], ["fc"])
    assert "BatchNormalization" not in op_types(out)
    check_equivalent(loaded, out)


def test_write_back_matmul_add_linear_updates_the_add_constant():
    loaded = F.load_onnx(B.matmul_add())
    fc = loaded.graph.node("/fc/MatMul")
    params = {"weight": fc.params["weight"] * 2.0, "bias": fc.params["bias"] - 1.0}
    out = F.write_back(loaded, loaded.graph.with_nodes({fc.id: replace(fc, params=params)}), [], [fc.id])
    assert op_types(out) == ["MatMul", "Add"]
    x = loaded.random_inputs(seed=3)[0]
    np.testing.assert_allclose(ort(out, x)[0], x @ params["weight"].T + params["bias"], rtol=1e-5, atol=1e-6)


def test_write_back_bn_into_bn_and_chained_removal():
    bn2, more = B.bn_node("bn2", "b", "y", 4, seed=7)
    base = B.conv_bn_relu(relu=False)
    base.graph.node[1].output[0] = "b"
    m = B.model([*base.graph.node, bn2], [B.vinfo("x", [1, 3, 8, 8])], ["y"], [*base.graph.initializer, *more])
    loaded = F.load_onnx(m)
    g = loaded.graph
    bn1, second = g.node("/bn/BatchNormalization"), g.node("bn2")
    a2, c2 = B.bn_affine(second.params, second.attrs["eps"])
    params = {**bn1.params, "gamma": a2 * bn1.params["gamma"], "beta": a2 * bn1.params["beta"] + c2}
    folded = g.with_nodes({bn1.id: replace(bn1, params=params), "bn2": bypass(second)})
    out = F.write_back(loaded, folded, ["bn2"], [bn1.id])
    assert op_types(out) == ["Conv", "BatchNormalization"]  # bn1 now writes the output "y"
    check_equivalent(loaded, out)


def test_save_only_onnx_suffix(tmp_path):
    loaded = F.load_onnx(B.conv_bn_relu())
    F.save(loaded.model, str(tmp_path / "m.onnx"), loaded)
    assert F.load_onnx(tmp_path / "m.onnx").graph.bn_nodes()
    with pytest.raises(InspectorError, match=r"\.onnx"):
        F.save(loaded.model, str(tmp_path / "m.pt2"), loaded)


# -- never silent ------------------------------------------------------------------
def test_a_rule_that_fails_keeps_the_node_as_other_and_says_so(monkeypatch):
    from inspector.frontends.onnx import ops

    def broken(view):
        raise ValueError("malformed attribute")

    monkeypatch.setitem(ops.RULES, "Relu", broken)
    loaded = F.load_onnx(B.conv_bn_relu())
    relu = loaded.graph.node("/relu/Relu")
    assert relu.op == "other" and relu.attrs["op_type"] == "Relu"
    (note,) = [n for n in loaded.notes if "/relu/Relu" in n]
    assert "unknown op" in note and "ValueError: malformed attribute" in note


def test_a_tensor_listed_twice_among_the_outputs_is_one_output_node():
    """YOLOv10 exports list feature maps twice among the graph outputs: valid ONNX
    (the checker and onnxruntime accept it), so it loads, folds and verifies."""
    import inspector

    m = B.conv_bn_relu()
    m.graph.output.append(m.graph.output[0])
    onnx.checker.check_model(m)
    loaded = F.load_onnx(m, name="twice")
    assert [n.inputs for n in loaded.graph.nodes if n.op == "output"] == [("y",)]
    result = inspector.fold(loaded, mode="optimal")
    assert result.verification.passed
    assert [o.name for o in result.model.graph.output] == ["y", "y"]
    assert op_types(result.model) == ["Conv", "Relu"]


@pytest.mark.parametrize("raised, says", [
    (MemoryError(), "not enough memory to load"),
    (RuntimeError("Failed to serialize proto"), "not enough memory to load"),
    (RuntimeError("[ONNXRuntimeError] : 10 : INVALID_GRAPH"), "onnxruntime cannot load the model"),
], ids=["MemoryError", "protobuf out of memory", "invalid graph"])
def test_a_session_that_cannot_be_made_says_whether_memory_or_the_model_is_why(monkeypatch, raised, says):
    from inspector.frontends.onnx import runtime

    def fail(*args, **kwargs):
        raise raised

    runtime.release_sessions()
    monkeypatch.setattr(runtime, "make_session", fail)
    model = B.conv_bn_relu()
    with pytest.raises(InspectorError, match=says):
        runtime.run(model, [np.zeros((1, 3, 8, 8), np.float32)])


def test_reduce_mean_without_kept_dims_passes_a_bn_on_to_the_classifier():
    # SwiftFormer's head: BN -> x.flatten(2).mean(-1) -> Linear, exported as ReduceMean
    # keepdims=0; the BN folds forward into the Gemm as it does through the PyTorch frontend.
    bn, more = B.bn_node("bn", "r", "b", 4)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("Relu", ["c"], ["r"], name="relu"), bn,
             helper.make_node("Reshape", ["b", "flat"], ["f"], name="flatten"),
             helper.make_node("ReduceMean", ["f"], ["m"], name="mean", axes=[-1], keepdims=0),
             helper.make_node("Gemm", ["m", "fc.w", "fc.b"], ["y"], name="fc", transB=1)]
    inits = [B.init("w", B.rand((4, 3, 3, 3), 1)), B.init("flat", np.array([1, 4, -1])),
             B.init("fc.w", B.rand((5, 4), 2)), B.init("fc.b", B.rand((5,), 3)), *more]
    loaded = F.load_onnx(B.model(nodes, [B.vinfo("x", [1, 3, 8, 8])], ["y"], inits, opset=17))
    assert loaded.graph.node("mean").op == "pool_avg"
    result = fold(loaded, "optimal")
    assert result.analysis.folded_count == 1 and result.verification.passed
    assert "BatchNormalization" not in op_types(result.model)
    check_equivalent(loaded, result.model)
