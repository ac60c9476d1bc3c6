"""Each exact fold rule on its own: emitters output s*y + t, absorbers undo s*x + t."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from inspector.analysis.result import Transform
from inspector.folding.apply import absorb, emit
from inspector.verification.numpy_exec import run_graph
from tests.graph_factory import GraphBuilder

rng = np.random.default_rng(7)


def single_layer(make, in_shape):
    b = GraphBuilder(seed=11)
    b.output(make(b, b.input(in_shape)))
    g = b.build()
    layer = next(n for n in g if n.op not in ("input", "output"))
    return g, layer


def run_with(graph, layer, params, x):
    return run_graph(graph.with_nodes({layer.id: replace(layer, params=params)}), [x])[0]


def channel_vec(n, negative=True):
    s = rng.uniform(0.5, 2.0, n) * (np.where(rng.random(n) < 0.5, -1, 1) if negative else 1)
    return s, rng.normal(0, 1, n)


def bcast(v, ndim, axis):
    shape = [1] * ndim
    shape[axis] = -1
    return v.reshape(shape)


LAYERS = {
    "conv": (lambda b, x: b.conv(x, 6, k=3, pad=0, stride=2), (1, 4, 7, 7)),
    "conv_grouped": (lambda b, x: b.conv(x, 6, k=3, groups=2, dilation=2), (1, 4, 9, 9)),
    "conv_depthwise": (lambda b, x: b.conv(x, 8, k=3, groups=4, bias=False), (1, 4, 6, 6)),
    "conv1d": (lambda b, x: b.conv(x, 5, k=3), (1, 4, 10)),
    "conv_transpose": (lambda b, x: b.conv_transpose(x, 6, k=3, stride=2), (1, 4, 5, 5)),
    "conv_transpose_grouped": (lambda b, x: b.conv_transpose(x, 6, k=2, stride=2, groups=2), (1, 4, 5, 5)),
    "linear": (lambda b, x: b.linear(x, 5), (3, 4)),
    "linear_tokens": (lambda b, x: b.linear(x, 5, bias=False), (1, 6, 4)),
    "batch_norm": (lambda b, x: b.bn(x), (1, 4, 5, 5)),
    "affine": (lambda b, x: b.affine(x), (1, 4, 5, 5)),
}


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_emitter_outputs_scaled_and_shifted(kind):
    make, shape = LAYERS[kind]
    graph, layer = single_layer(make, shape)
    x = rng.standard_normal(shape)
    y = run_graph(graph, [x])[0]
    axis = y.ndim - 1 if layer.op == "linear" else 1
    s, t = channel_vec(y.shape[axis])
    new = emit(layer, Transform(axis, s, t))
    np.testing.assert_allclose(run_with(graph, layer, new, x), bcast(s, y.ndim, axis) * y + bcast(t, y.ndim, axis), atol=1e-12)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_absorber_undoes_scale_and_shift(kind):
    make, shape = LAYERS[kind]
    graph, layer = single_layer(make, shape)
    x = rng.standard_normal(shape)
    y = run_graph(graph, [x])[0]
    axis = x.ndim - 1 if layer.op == "linear" else 1
    s, t = channel_vec(x.shape[axis])
    if layer.op == "conv_transpose":
        t = np.zeros_like(t)  # shifts are refused by the condition (borders)
    new = absorb(layer, Transform(axis, s, t))
    x_new = bcast(s, x.ndim, axis) * x + bcast(t, x.ndim, axis)
    np.testing.assert_allclose(run_with(graph, layer, new, x_new), y, atol=1e-10)


def test_absorbing_a_shift_through_zero_padding_is_inexact():
    """Why the condition refuses it: border outputs see the padding, not the shift."""
    graph, layer = single_layer(lambda b, x: b.conv(x, 3, k=3, pad=1), (1, 2, 5, 5))
    x = rng.standard_normal((1, 2, 5, 5))
    s, t = np.ones(2), np.array([1.0, -2.0])
    new = absorb(layer, Transform(1, s, t))
    err = np.abs(run_with(graph, layer, new, x + t[None, :, None, None]) - run_graph(graph, [x])[0])
    assert err[..., 2, 2].max() < 1e-10 and err[..., 0, 0].max() > 1e-3


def test_rules_compute_in_float64_and_leave_inputs_untouched():
    graph, layer = single_layer(lambda b, x: b.conv(x, 3), (1, 2, 4, 4))
    params32 = {k: v.astype(np.float32) for k, v in layer.params.items()}
    before = {k: v.copy() for k, v in params32.items()}
    new = emit(replace(layer, params=params32), Transform(1, np.ones(3) * 3, np.ones(3)))
    assert all(v.dtype == np.float64 for v in new.values())
    for k, v in params32.items():
        np.testing.assert_array_equal(v, before[k])


def test_missing_bias_is_created():
    graph, layer = single_layer(lambda b, x: b.conv(x, 3, bias=False), (1, 2, 4, 4))
    assert "bias" not in layer.params
    new = emit(layer, Transform(1, np.ones(3), np.array([1.0, 2.0, 3.0])))
    np.testing.assert_array_equal(new["bias"], [1.0, 2.0, 3.0])
