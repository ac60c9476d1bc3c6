"""Merges beyond plain sums (issue 15.3/15.4, DESIGN §3.7), each checked against a
single conv (or linear) built by hand in numpy: a zero ``pad`` in front of an unpadded
conv, a k×k conv → BN → 1×1 conv → BN sequence with no sum after it, and parallel
linear heads summed and halved. IR level here; through the frontends in
``test_merge_beyond_sums_frontends.py``."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.analysis.regions import find_regions
from inspector.analysis.taps import affine_of
from inspector.builders.graph import GraphBuilder
from inspector.folding.driver import analyze
from inspector.ir import Graph
from inspector.report import deployed_counts
from inspector.verification.numpy_exec import random_inputs, run_graph


def _error(a: Graph, b: Graph) -> float:
    xs = random_inputs(a, seed=1)
    return max(float(np.max(np.abs(p - q))) for p, q in zip(run_graph(a, xs), run_graph(b, xs, check_shapes=True)))


def _direct_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, pads: list[tuple[int, int]]) -> np.ndarray:
    """A dense stride-1 2-D conv written out tap by tap (independent of the tool's executor)."""
    xp = np.pad(x, [(0, 0), (0, 0), *pads])
    kh, kw = w.shape[2:]
    h, wd = xp.shape[2] - kh + 1, xp.shape[3] - kw + 1
    out = np.zeros((x.shape[0], w.shape[0], h, wd)) + b[None, :, None, None]
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("oc,nchw->nohw", w[:, :, i, j], xp[:, :, i:i + h, j:j + wd])
    return out


def _params(graph: Graph, nid: str) -> tuple[np.ndarray, np.ndarray]:
    node = graph.node(nid)
    w = np.asarray(node.params["weight"], np.float64)
    b = node.params.get("bias")
    return w, np.zeros(w.shape[0]) if b is None else np.asarray(b, np.float64)


def _only_weighted(graph: Graph):
    (node,) = [n for n in graph.nodes if n.op in ("conv", "linear")]
    return node


# -- zero Pad in front of an unpadded conv ----------------------------------------------
def _padded_repvgg(value: float = 0.0, seed: int = 1) -> tuple[Graph, dict[str, str]]:
    """relu -> [pad(0,1) -> 2×2 conv -> BN] + [1×1 conv -> BN] + BN(x) -> relu (an exporter's
    'same' padding of an even kernel)."""
    b = GraphBuilder(seed=seed)
    x = b.relu(b.input((1, 4, 7, 7)))
    p = b.pad(x, [(0, 1), (0, 1)], value=value)
    ids = {"c2": "conv1", "bn2": "bn1", "c1": "conv2", "bn1": "bn2", "bnid": "bn3"}
    y = b.add(b.add(b.bn(b.conv(p, 4, 2, 0, bias=False)), b.bn(b.conv(x, 4, 1, 0, bias=False))), b.bn(x))
    b.output(b.relu(y))
    return b.build(), ids


def test_zero_pad_before_an_even_kernel_merges_with_the_block_and_its_identity_bn():
    graph, ids = _padded_repvgg()
    a = analyze(graph, "reparam")
    assert a.remaining_count == 0 and a.merged_count == 1  # the identity BN goes too
    assert a.verdicts[ids["bnid"]].status == "merged"
    assert deployed_counts(a.folded) == (3, 1)  # relu, conv, relu
    # the conv built by hand: BN-scaled 2×2 kernel, 1×1 and identity on the (0, 0) tap
    s2, c2 = affine_of(graph.node(ids["bn2"]))
    s1, c1 = affine_of(graph.node(ids["bn1"]))
    si, ci = affine_of(graph.node(ids["bnid"]))
    w = _params(graph, ids["c2"])[0] * s2[:, None, None, None]
    w[:, :, 0, 0] += _params(graph, ids["c1"])[0][:, :, 0, 0] * s1[:, None]
    w[np.arange(4), np.arange(4), 0, 0] += si
    conv = _only_weighted(a.folded)
    np.testing.assert_allclose(conv.params["weight"], w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(conv.params["bias"], c2 + c1 + ci, rtol=0, atol=1e-12)
    assert [tuple(p) for p in conv.attrs["padding"]] == [(0, 1), (0, 1)]
    x = np.random.default_rng(3).standard_normal((1, 4, 7, 7))
    direct = _direct_conv(np.maximum(x, 0), w, c2 + c1 + ci, [(0, 1), (0, 1)])
    np.testing.assert_allclose(run_graph(a.folded, [x])[0], np.maximum(direct, 0), rtol=0, atol=1e-12)


def test_lone_zero_pad_is_absorbed_by_the_conv_after_it():
    b = GraphBuilder(seed=4)
    x = b.relu(b.input((1, 3, 6, 6)))
    b.output(b.relu(b.bn(b.conv(b.pad(x, [(1, 2), (0, 1)]), 5, (4, 2), 0))))
    graph = b.build()
    a = analyze(graph, "reparam")
    conv = _only_weighted(a.folded)
    assert not any(n.op == "pad" for n in a.folded.nodes)
    assert [tuple(p) for p in conv.attrs["padding"]] == [(1, 2), (0, 1)]
    assert _error(graph, a.folded) < 1e-12


def test_pad_with_a_nonzero_value_stops_the_merge():
    graph, ids = _padded_repvgg(value=1.0)
    a = analyze(graph, "reparam")
    assert any(n.op == "pad" for n in a.folded.nodes)
    assert a.verdicts[ids["bnid"]].status == "not_foldable"
    assert _error(graph, a.folded) < 1e-12


def test_pad_after_a_biased_pointwise_conv_is_not_merged_into_it():
    b = GraphBuilder(seed=6)
    x = b.relu(b.input((1, 4, 6, 6)))
    y = b.conv(b.pad(b.conv(x, 4, 1, 0, bias=True), [(1, 1), (1, 1)]), 4, 3, 0)
    b.output(b.relu(y))
    graph = b.build()
    regions, refusals = find_regions(graph)
    (refusal,) = refusals  # the whole 1×1 → pad → 3×3 chain ...
    assert refusal.blocked.code.value == "merge_biased_pointwise" and len(refusal.nodes) == 3
    assert [r.nodes for r in regions] == [("pad1", "conv2")]  # ... but the pad still joins its conv
    assert _error(graph, analyze(graph, "reparam").folded) < 1e-12


# -- k×k conv → BN → 1×1 conv → BN ------------------------------------------------------
def _sequence(c_mid: int, c_out: int, seed: int = 2) -> Graph:
    b = GraphBuilder(seed=seed)
    x = b.relu(b.input((1, 6, 7, 7)))
    y = b.bn(b.conv(b.bn(b.conv(x, c_mid, 3, 1, bias=False)), c_out, 1, 0, bias=False))
    b.output(b.relu(y))
    return b.build()


def test_conv_bn_pointwise_bn_sequence_becomes_one_kxk_conv_with_the_pointwise_outputs():
    graph = _sequence(8, 4)
    a = analyze(graph, "reparam")
    assert a.remaining_count == 0
    assert deployed_counts(graph)[1] == 2 and deployed_counts(a.folded)[1] == 1
    s1, c1 = affine_of(graph.node("bn1"))
    s2, c2 = affine_of(graph.node("bn2"))
    w1, w2 = _params(graph, "conv1")[0], _params(graph, "conv2")[0][:, :, 0, 0]
    w = s2[:, None, None, None] * np.einsum("om,mikl->oikl", w2, s1[:, None, None, None] * w1)
    bias = s2 * (w2 @ c1) + c2
    conv = _only_weighted(a.folded)
    assert conv.params["weight"].shape == (4, 6, 3, 3)
    np.testing.assert_allclose(conv.params["weight"], w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(conv.params["bias"], bias, rtol=0, atol=1e-12)
    x = np.random.default_rng(5).standard_normal((1, 6, 7, 7))
    direct = np.maximum(_direct_conv(np.maximum(x, 0), w, bias, [(1, 1), (1, 1)]), 0)
    np.testing.assert_allclose(run_graph(a.folded, [x])[0], direct, rtol=0, atol=1e-12)


def test_sequence_that_widens_is_refused_by_the_weight_size_rule():
    graph = _sequence(4, 16)  # 16·6·9 = 864 weights merged > 4·6·9 + 16·4 = 280
    a = analyze(graph, "reparam")
    assert deployed_counts(a.folded)[1] == 2 and a.merges == []
    _, refusals = find_regions(a.folded)
    (refusal,) = refusals
    assert refusal.blocked.code.value == "merge_sequence"
    assert "864 weights, more than the region's convs (280)" in refusal.blocked.sentence


def test_sequence_of_equal_size_merges():
    graph = _sequence(6, 6)  # 6·6·9 = 324 <= 324 + 36
    a = analyze(graph, "reparam")
    assert deployed_counts(a.folded)[1] == 1 and _error(graph, a.folded) < 1e-12


def test_conv_read_outside_the_sequence_is_not_merged():
    b = GraphBuilder(seed=3)
    x = b.relu(b.input((1, 4, 6, 6)))
    mid = b.bn(b.conv(x, 4, 3, 1))
    b.output(b.relu(b.conv(mid, 2, 1, 0)))
    b.output(b.relu(mid))
    graph = b.build()
    a = analyze(graph, "reparam")
    assert deployed_counts(a.folded)[1] == 2 and _error(graph, a.folded) < 1e-12


# -- parallel linear heads ---------------------------------------------------------------
def _heads(shape: tuple[int, ...] = (2, 8), seed: int = 3) -> Graph:
    """(head(x) + head_dist(x)) / 2, each head BN1d -> Linear (timm RepViT's classifier)."""
    b = GraphBuilder(seed=seed)
    x = b.relu(b.input(shape))
    b.output(b.affine(b.add(b.linear(b.bn(x), 5), b.linear(b.bn(x), 5)), scalar=0.5))
    return b.build()


def test_parallel_linear_heads_and_the_halving_become_one_linear():
    graph = _heads()
    a = analyze(graph, "reparam")
    assert deployed_counts(a.folded) == (2, 0)  # relu and one linear
    lin = _only_weighted(a.folded)
    assert lin.op == "linear" and lin.inputs == (graph.node("relu1").outputs[0],)
    weights, biases = [], []
    for bn, fc in (("bn1", "fc1"), ("bn2", "fc2")):
        s, c = affine_of(graph.node(bn))
        w, bias = _params(graph, fc)
        weights.append(w * s[None, :])
        biases.append(w @ c + bias)
    w, bias = 0.5 * (weights[0] + weights[1]), 0.5 * (biases[0] + biases[1])
    np.testing.assert_allclose(lin.params["weight"], w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(lin.params["bias"], bias, rtol=0, atol=1e-12)
    x = np.random.default_rng(7).standard_normal((2, 8))
    np.testing.assert_allclose(run_graph(a.folded, [x])[0], np.maximum(x, 0) @ w.T + bias, rtol=0, atol=1e-12)


def test_channels_last_linears_are_not_merged_as_heads():
    graph = _heads((2, 3, 8))  # (N, T, C): a linear maps the last axis, not axis 1
    a = analyze(graph, "reparam")
    assert a.merges == [] and deployed_counts(a.folded)[1] == 0
    assert sum(n.op == "linear" for n in a.folded.nodes) == 2
    assert _error(graph, a.folded) < 1e-12


# -- properties --------------------------------------------------------------------------
@st.composite
def beyond_sums(draw: st.DrawFn) -> Graph:
    """A random padded even-kernel block, conv sequence or pair of heads."""
    b = GraphBuilder(seed=draw(st.integers(0, 2**16)), name="beyond")
    kind = draw(st.sampled_from(["pad", "sequence", "heads"]))
    c = draw(st.sampled_from([2, 4]))
    if kind == "heads":
        x = b.relu(b.input((2, c)))
        hs = [b.linear(b.bn(x) if draw(st.booleans()) else x, 3, bias=draw(st.booleans())) for _ in range(2)]
        y = b.add(*hs) if draw(st.booleans()) else b.sub(*hs)
        b.output(b.affine(y, scalar=draw(st.sampled_from([0.5, -2.0]))) if draw(st.booleans()) else y)
        return b.build()
    x = b.relu(b.input((1, c, draw(st.integers(4, 7)), draw(st.integers(4, 7)))))
    if kind == "pad":
        k = draw(st.sampled_from([2, 3, 4]))
        before, s = draw(st.integers(0, k - 1)), draw(st.sampled_from([1, 2]))
        t = b.conv(b.pad(x, [(before, k - 1 - before)] * 2), c, k, 0, stride=s, bias=draw(st.booleans()))
        branches = [b.bn(t) if draw(st.booleans()) else t]
        if draw(st.booleans()):
            branches.append(b.bn(b.conv(x, c, 1, 0, stride=s)))
        if s == 1 and draw(st.booleans()):
            branches.append(b.bn(x))
        y = branches[0]
        for t in branches[1:]:
            y = b.add(y, t)
    else:
        y = b.conv(x, draw(st.integers(2, 6)), draw(st.sampled_from([1, 3])), draw(st.sampled_from([0, 1])),
                   stride=draw(st.sampled_from([1, 2])), bias=draw(st.booleans()))
        y = b.bn(y) if draw(st.booleans()) else y
        y = b.conv(y, draw(st.integers(2, 6)), 1, 0, bias=draw(st.booleans()))
        y = b.bn(y) if draw(st.booleans()) else y
    b.output(b.relu(y))
    return b.build()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(beyond_sums())
def test_reparam_beyond_sums_is_exact_and_never_adds_weights(graph):
    a = analyze(graph, "reparam")
    assert _error(graph, a.folded) < 1e-9
    weights = [sum(int(np.prod(n.params["weight"].shape)) for n in g.nodes if n.op in ("conv", "linear"))
               for g in (graph, a.folded)]
    assert weights[1] <= weights[0]
    assert deployed_counts(a.folded)[0] <= deployed_counts(graph)[0]


def test_merge_narration_calls_merged_heads_a_linear_layer():
    from inspector.ui.lesson_text import narrate_merges

    graph = _heads()
    text = narrate_merges(graph, analyze(graph, "reparam"))
    assert "into one linear layer `merged:affine1`" in text and " conv" not in text
