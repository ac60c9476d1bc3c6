"""The float64 NumPy executor against PyTorch (float64), op by op, to 1e-10."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from inspector.verification import random_inputs, run_graph, run_tensors
from tests.graph_factory import GraphBuilder, random_dags

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = 1e-10


def _t(a: np.ndarray):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


def _single(shape, make, seed=0):
    """Build input -> make(b, x) -> output; return (graph, node, x, numpy output)."""
    b = GraphBuilder(seed=seed)
    x = b.input(shape)
    y = make(b, x)
    for t in (y if isinstance(y, list) else [y]):
        b.output(t)
    graph = b.build()
    node = graph.nodes[1]
    xv = np.random.default_rng(seed + 1).standard_normal(shape)
    outs = run_graph(graph, [xv], check_shapes=True)
    return graph, node, xv, outs if isinstance(y, list) else outs[0]


def _close(ours: np.ndarray, ref) -> None:
    ref = ref.detach().numpy() if hasattr(ref, "detach") else np.asarray(ref)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=TOL)


def _w(node):
    bias = node.params.get("bias")
    return _t(node.params["weight"]), (_t(bias) if bias is not None else None)


# -- conv --------------------------------------------------------------------------
CONV_CASES = [
    # (spatial shape, c_in, c_out, k, stride, pad, dilation, groups, bias)
    ((9,), 4, 6, 3, 1, 1, 1, 1, True),
    ((11,), 4, 4, 3, 2, 2, 2, 4, False),
    ((8, 8), 4, 6, 3, 1, 1, 1, 1, True),
    ((9, 7), 4, 6, 3, 2, 0, 1, 2, True),
    ((10, 10), 4, 8, 3, 1, 2, 2, 4, True),  # depthwise multiplier 2, dilated
    ((10, 9), 6, 3, (3, 2), (2, 1), 1, (1, 2), 3, False),
    ((32, 32), 4, 8, 5, 1, 2, 1, 1, True),
    ((11,), 3, 3, 3, 1, 1, 1, 3, True),  # depthwise fast path
    ((10, 10), 4, 4, 3, 2, 1, 2, 4, True),
    ((9, 8), 5, 5, (3, 2), (1, 2), 0, (2, 1), 5, False),
    ((5, 6, 7), 2, 2, 3, 2, 1, 1, 2, True),
    ((5, 6, 7), 2, 4, 3, 1, 1, 1, 1, True),
    ((6, 6, 6), 4, 4, 3, 2, 1, 2, 2, True),
]


@pytest.mark.parametrize("spatial,c_in,c_out,k,stride,pad,dil,groups,bias", CONV_CASES)
def test_conv_matches_torch(spatial, c_in, c_out, k, stride, pad, dil, groups, bias):
    _, node, x, y = _single(
        (2, c_in, *spatial),
        lambda b, x: b.conv(x, c_out, k=k, pad=pad, stride=stride, dilation=dil,
                            groups=groups, bias=bias))
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[len(spatial)]
    w, bb = _w(node)
    _close(y, fn(_t(x), w, bb, stride=stride, padding=pad, dilation=dil, groups=groups))


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_conv_padding_modes_match_torch(mode, dims):
    spatial = (7, 6, 5)[:dims]
    _, node, x, y = _single(
        (2, 4, *spatial), lambda b, x: b.conv(x, 4, k=3, pad=2, groups=2, padding_mode=mode))
    cls = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}[dims]
    m = cls(4, 4, 3, padding=2, groups=2, padding_mode=mode).double()
    with torch.no_grad():
        m.weight.copy_(_t(node.params["weight"]))
        m.bias.copy_(_t(node.params["bias"]))
    _close(y, m(_t(x)))


def test_conv_asymmetric_padding_matches_torch():
    pads = [(0, 2), (1, 0)]
    _, node, x, y = _single((1, 3, 6, 5), lambda b, x: b.conv(x, 2, k=3, pad=pads))
    w, bb = _w(node)
    xp = F.pad(_t(x), (1, 0, 0, 2))  # torch order: last axis first
    _close(y, F.conv2d(xp, w, bb))


# -- conv_transpose ----------------------------------------------------------------
CONVT_CASES = [
    # (spatial, c_in, c_out, k, stride, pad, output_padding, dilation, groups)
    ((7,), 4, 6, 3, 2, 1, 1, 1, 2),
    ((5,), 2, 3, 4, 3, 0, 2, 2, 1),
    ((5, 6), 4, 6, 3, 1, 1, 0, 1, 1),
    ((5, 4), 4, 6, 3, 2, 1, 1, 1, 2),
    ((4, 5), 6, 6, (3, 2), (2, 3), (0, 1), (1, 2), (2, 1), 3),
    ((6, 6), 4, 4, 3, 1, 0, 0, 1, 4),  # depthwise
    ((3, 4, 3), 2, 4, 3, 2, 1, 1, 1, 2),
]


@pytest.mark.parametrize("spatial,c_in,c_out,k,stride,pad,op,dil,groups", CONVT_CASES)
def test_conv_transpose_matches_torch(spatial, c_in, c_out, k, stride, pad, op, dil, groups):
    _, node, x, y = _single(
        (2, c_in, *spatial),
        lambda b, x: b.conv_transpose(x, c_out, k=k, stride=stride, pad=pad,
                                      output_padding=op, dilation=dil, groups=groups))
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[len(spatial)]
    w, bb = _w(node)
    ref = fn(_t(x), w, bb, stride=stride, padding=pad, output_padding=op, groups=groups,
             dilation=dil)
    _close(y, ref)


# -- linear, batch norm, affine -------------------------------------------------------
def test_linear_matches_torch():
    _, node, x, y = _single((2, 3, 5), lambda b, x: b.linear(x, 7))
    w, bb = _w(node)
    _close(y, F.linear(_t(x), w, bb))


@pytest.mark.parametrize("shape", [(3, 4), (2, 4, 5), (2, 4, 5, 6), (2, 4, 3, 3, 2)])
@pytest.mark.parametrize("batch_stats", [False, True])
def test_batch_norm_matches_torch(shape, batch_stats):
    _, node, x, y = _single(shape, lambda b, x: b.bn(x, negative=True, batch_stats=batch_stats))
    p = {k: _t(v) for k, v in node.params.items()}
    ref = F.batch_norm(_t(x), p["mean"].clone(), p["var"].clone(), p["gamma"], p["beta"],
                       training=batch_stats, eps=node.attrs["eps"])
    _close(y, ref)


def test_batch_norm_on_last_axis():
    _, node, x, y = _single((2, 5, 4), lambda b, x: b.bn(x, axis=2))
    p = {k: _t(v) for k, v in node.params.items()}
    ref = F.batch_norm(_t(x).transpose(1, 2), p["mean"], p["var"], p["gamma"], p["beta"],
                       eps=1e-5).transpose(1, 2)
    _close(y, ref)


def test_affine_on_axis():
    _, node, x, y = _single((2, 3, 4), lambda b, x: b.affine(x, axis=1))
    ref = x * node.params["scale"][:, None] + node.params["shift"][:, None]
    _close(y, ref)


# -- pooling ---------------------------------------------------------------------------
POOL_CASES = [
    # (spatial, k, stride, pad, ceil_mode)
    ((8, 8), 2, 2, 0, False),
    ((7, 9), 3, 2, 1, False),
    ((7, 9), 3, 2, 1, True),
    ((6, 6), 3, 1, 1, False),
    ((10, 7), 4, 3, 2, True),
    ((9,), 3, 2, 1, True),
    ((5, 6, 7), 2, 2, 1, False),
]


@pytest.mark.parametrize("spatial,k,stride,pad,ceil", POOL_CASES)
def test_max_pool_matches_torch(spatial, k, stride, pad, ceil):
    _, _, x, y = _single((2, 3, *spatial),
                         lambda b, x: b.maxpool(x, k, stride, pad=pad, ceil_mode=ceil))
    fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[len(spatial)]
    _close(y, fn(_t(x), k, stride, pad, ceil_mode=ceil))


@pytest.mark.parametrize("spatial,k,stride,pad,ceil", POOL_CASES)
@pytest.mark.parametrize("include_pad", [True, False])
def test_avg_pool_matches_torch(spatial, k, stride, pad, ceil, include_pad):
    _, _, x, y = _single((2, 3, *spatial), lambda b, x: b.avgpool(
        x, k, stride, pad=pad, ceil_mode=ceil, count_include_pad=include_pad))
    fn = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[len(spatial)]
    _close(y, fn(_t(x), k, stride, pad, ceil_mode=ceil, count_include_pad=include_pad))


def test_max_pool_dilation_matches_torch():
    _, _, x, y = _single((1, 2, 9, 9), lambda b, x: b.maxpool(x, 3, 1, pad=1, dilation=2))
    _close(y, F.max_pool2d(_t(x), 3, 1, 1, dilation=2))


def test_global_pools():
    _, _, x, y = _single((2, 3, 5, 4), lambda b, x: b.global_avgpool(x))
    _close(y, F.adaptive_avg_pool2d(_t(x), 1))
    b = GraphBuilder()
    xin = b.input((2, 3, 5, 4))
    b.output(b.global_avgpool(xin))
    graph = b.build()
    graph.nodes[1].op = "pool_max"
    xv = np.random.default_rng(3).standard_normal((2, 3, 5, 4))
    _close(run_graph(graph, [xv])[0], F.adaptive_max_pool2d(_t(xv), 1))


def test_global_pool_without_spatial_axes_in_output():
    b = GraphBuilder()
    x = b.input((2, 3, 5, 4))
    y = b.global_avgpool(x)
    b.output(y)
    b.shapes[y] = (2, 3)  # e.g. ONNX ReduceMean keepdims=0 recorded as a global pool
    graph = b.build()
    xv = np.random.default_rng(0).standard_normal((2, 3, 5, 4))
    _close(run_graph(graph, [xv])[0], xv.mean(axis=(2, 3)))


# -- pad, resize -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pads", [[(1, 1), (2, 2)], [(0, 2), (3, 1)], [(2, 0)]])
def test_pad_matches_torch(mode, pads):
    _, _, x, y = _single((2, 3, 5, 6), lambda b, x: b.pad(x, pads, mode=mode, value=0.5))
    full = [(0, 0)] * (2 - len(pads)) + list(pads)  # torch wants the last two axes
    flat = [v for b_e in reversed(full) for v in b_e]
    kw = {"value": 0.5} if mode == "constant" else {}
    _close(y, F.pad(_t(x), flat, mode=mode, **kw))


def test_pad_negative_crops():
    b = GraphBuilder()
    x = b.input((1, 2, 6, 6))
    y = b.pad(x, [(-1, 2), (0, -2)])
    b.output(y)
    xv = np.random.default_rng(0).standard_normal((1, 2, 6, 6))
    _close(run_graph(b.build(), [xv], check_shapes=True)[0],
           F.pad(_t(xv), [0, -2, -1, 2]))


@pytest.mark.parametrize("scale", [2, (2, 3), (1, 4)])
def test_resize_nearest_matches_torch(scale):
    _, _, x, y = _single((2, 3, 4, 5), lambda b, x: b.resize(x, scale))
    sf = (scale, scale) if isinstance(scale, int) else scale
    _close(y, F.interpolate(_t(x), scale_factor=sf, mode="nearest"))


def test_resize_nearest_1d_and_3d():
    _, _, x, y = _single((1, 2, 5), lambda b, x: b.resize(x, 3))
    _close(y, F.interpolate(_t(x), scale_factor=3, mode="nearest"))
    _, _, x, y = _single((1, 2, 3, 2, 4), lambda b, x: b.resize(x, (2, 1, 2)))
    _close(y, F.interpolate(_t(x), scale_factor=(2, 1, 2), mode="nearest"))


@pytest.mark.parametrize("align", [False, True])
def test_resize_linear_matches_torch(align):
    b = GraphBuilder()
    x = b.input((1, 2, 4, 5))
    y = b.resize(x, (2, 3), mode="linear")
    b.output(y)
    graph = b.build()
    graph.nodes[1].attrs["align_corners"] = align
    xv = np.random.default_rng(0).standard_normal((1, 2, 4, 5))
    ref = F.interpolate(_t(xv), scale_factor=(2, 3), mode="bilinear", align_corners=align)
    _close(run_graph(graph, [xv])[0], ref)


# -- activations and norms ------------------------------------------------------------------
ACTS = {
    "relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "silu": F.silu,
    "gelu": F.gelu, "relu6": F.relu6, "leaky_relu": F.leaky_relu, "hardswish": F.hardswish,
    "hardsigmoid": F.hardsigmoid,
}


@pytest.mark.parametrize("kind", sorted(ACTS))
def test_activation_matches_torch(kind):
    _, _, x, y = _single((2, 3, 4, 4), lambda b, x: b.act(x, kind))
    _close(y, ACTS[kind](_t(x)))
    # wide range: saturating branches
    b = GraphBuilder()
    b.output(b.act(b.input((200,)), kind))
    xv = np.linspace(-12, 12, 200)
    _close(run_graph(b.build(), [xv])[0], ACTS[kind](_t(xv)))


def test_activation_attrs():
    _, _, x, y = _single((2, 8), lambda b, x: b.act(x, "leaky_relu", negative_slope=0.2))
    _close(y, F.leaky_relu(_t(x), 0.2))
    _, _, x, y = _single((2, 8), lambda b, x: b.act(x, "gelu", approximate="tanh"))
    _close(y, F.gelu(_t(x), approximate="tanh"))


def test_unknown_activation_raises():
    b = GraphBuilder()
    b.output(b.act(b.input((2, 3)), "mish_v9"))
    with pytest.raises(NotImplementedError, match="mish_v9"):
        run_graph(b.build(), [np.zeros((2, 3))])


def test_other_op_raises_naming_the_op():
    b = GraphBuilder()
    b.output(b.other(b.input((2, 3)), op_type="Softmax"))
    with pytest.raises(NotImplementedError, match="Softmax"):
        run_graph(b.build(), [np.zeros((2, 3))])


def test_layer_norm_matches_torch():
    _, _, x, y = _single((2, 3, 7), lambda b, x: b.layer_norm(x))
    _close(y, F.layer_norm(_t(x), (7,)))


# -- structural ops -----------------------------------------------------------------------------
def test_structural_ops():
    b = GraphBuilder()
    x = b.input((2, 5, 3, 4))
    y = b.input((2, 5, 3, 4))
    s1, s2 = b.split(x, [2, 3])
    cat = b.concat([s2, s1, y])
    sl = b.slice(cat, 1, 9, 3)
    tr = b.transpose(sl, (0, 2, 3, 1))
    fl = b.flatten(b.identity(x))
    b.output(cat)
    b.output(sl)
    b.output(tr)
    b.output(fl)
    b.output(b.add(x, y))
    b.output(b.mul(x, y))
    rng = np.random.default_rng(0)
    xv, yv = rng.standard_normal((2, 2, 5, 3, 4))
    outs = run_graph(b.build(), {"input1": xv, "t2": yv}, check_shapes=True)
    ref_cat = np.concatenate([xv[:, 2:], xv[:, :2], yv], axis=1)
    for ours, ref in zip(outs, [ref_cat, ref_cat[:, 1:9:3], ref_cat[:, 1:9:3].transpose(0, 2, 3, 1),
                                xv.reshape(2, -1), xv + yv, xv * yv]):
        _close(ours, ref)


def test_inputs_by_name_and_errors():
    b = GraphBuilder()
    x = b.input((1, 2), name="image")
    b.output(b.identity(x))
    g = b.build()
    v = np.ones((1, 2))
    for key in ("input1", "image", x):
        _close(run_graph(g, {key: v})[0], v)
    with pytest.raises(KeyError):
        run_graph(g, {"nope": v})
    with pytest.raises(ValueError):
        run_graph(g, [v, v])


def test_reshape_follows_runtime_batch():
    b = GraphBuilder()
    x = b.input((1, 2, 3))
    b.output(b.flatten(x))
    xv = np.arange(24.0).reshape(4, 2, 3)
    _close(run_graph(b.build(), [xv])[0], xv.reshape(4, 6))


def test_run_tensors_returns_every_tensor():
    b = GraphBuilder()
    x = b.input((1, 2, 4, 4))
    c = b.conv(x, 3)
    b.output(b.relu(b.bn(c)))
    values = run_tensors(b.build(), [np.ones((1, 2, 4, 4))])
    assert set(values) == {"t1", "t2", "t3", "t4"}


# -- a whole network -----------------------------------------------------------------------------
def test_small_network_matches_torch():
    b = GraphBuilder(seed=5)
    x = b.input((2, 3, 12, 12))
    c1 = b.conv(x, 8, k=3, pad=1)
    r1 = b.relu(b.bn(c1, negative=True))
    p1 = b.maxpool(r1, 2)
    c2 = b.conv(p1, 8, k=3, pad=1, groups=8, padding_mode="reflect")
    s = b.add(b.bn(c2), p1)
    up = b.conv_transpose(s, 4, k=2, stride=2)
    g = b.avgpool(up, 3, 2, pad=1, count_include_pad=False)
    b.output(b.linear(b.flatten(g), 5))
    graph = b.build()
    n = {node.id: node for node in graph.nodes}

    def seq(xt):
        def bn(t, node):
            p = {k: _t(v) for k, v in n[node].params.items()}
            return F.batch_norm(t, p["mean"], p["var"], p["gamma"], p["beta"], eps=1e-5)
        h = F.conv2d(xt, *_w(n["conv1"]), padding=1)
        h = F.max_pool2d(F.relu(bn(h, "bn1")), 2)
        w2, b2 = _w(n["conv2"])
        h2 = F.conv2d(F.pad(h, (1, 1, 1, 1), mode="reflect"), w2, b2, groups=8)
        h = bn(h2, "bn2") + h
        h = F.conv_transpose2d(h, *_w(n["convT1"]), stride=2)
        h = F.avg_pool2d(h, 3, 2, 1, count_include_pad=False)
        return F.linear(h.flatten(1), *_w(n["fc1"]))

    xv = random_inputs(graph, seed=2)
    _close(run_graph(graph, xv, check_shapes=True)[0], seq(_t(xv[0])))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(random_dags() | random_dags(extended=True))
def test_random_dags_run_with_recorded_shapes(graph):
    outs = run_graph(graph, random_inputs(graph), check_shapes=True)
    assert len(outs) == sum(n.op == "output" for n in graph.nodes)
    assert all(np.isfinite(o).all() for o in outs)
