"""Each merge rule against a direct numpy computation (float64, 1e-12)."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.folding import merge_rules as R
from inspector.verification.numpy_ops import conv, pool

TOL = 1e-12
rng = np.random.default_rng(0)


def x_(c: int = 4, h: int = 7, w: int = 6) -> np.ndarray:
    return rng.standard_normal((2, c, h, w))


def w_(c_out: int, c_in_g: int, *k: int) -> np.ndarray:
    return rng.standard_normal((c_out, c_in_g, *k))


def close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and float(np.max(np.abs(a - b))) <= TOL * max(1.0, float(np.max(np.abs(b))))


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_identity_kernel_is_the_identity_for_any_grouping(groups):
    x = x_()
    assert close(conv(x, R.identity_kernel(4, groups, 2), groups=groups), x)


def test_avg_pool_kernel_equals_avg_pool_with_counted_padding():
    x = x_()
    want = pool(x, "avg", {"kernel": (3, 3), "stride": (2, 2), "padding": [(1, 1), (1, 1)],
                           "count_include_pad": True})
    got = conv(x, R.avg_pool_kernel(4, (3, 3)), stride=2, padding=1, groups=4)
    assert close(got, want)


def test_centred_kernel_padding_keeps_the_conv():
    x, w = x_(), w_(3, 4, 1, 1)
    assert close(conv(x, R.pad_kernel(w, (1, 1), (1, 1)), padding=1), conv(x, w))


def test_asymmetric_kernel_padding_per_axis():
    x, w = x_(), w_(3, 4, 1, 3)
    assert close(conv(x, R.pad_kernel(w, (1, 0), (1, 0)), padding=1), conv(x, w, padding=[(0, 0), (1, 1)]))


def test_scale_shift_absorbs_a_per_channel_affine_after_the_conv():
    x, w, b = x_(), w_(3, 4, 3, 3), rng.standard_normal(3)
    a, c = rng.uniform(-2, 2, 3), rng.standard_normal(3)
    w2, b2 = R.scale_shift(w, b, a, c)
    want = conv(x, w, b, padding=1) * a[None, :, None, None] + c[None, :, None, None]
    assert close(conv(x, w2, b2, padding=1), want)


@pytest.mark.parametrize("groups", [2, 4])
def test_expand_groups_writes_a_grouped_conv_densely(groups):
    x, w = x_(), w_(8, 4 // groups, 3, 3)
    dense = R.expand_groups(w, groups, 1)
    assert close(conv(x, dense, padding=1), conv(x, w, padding=1, groups=groups))


def test_expand_groups_to_an_intermediate_grouping():
    x, w = x_(), w_(8, 1, 3, 3)
    assert close(conv(x, R.expand_groups(w, 4, 2), padding=1, groups=2), conv(x, w, padding=1, groups=4))


@pytest.mark.parametrize(("g1", "g2"), [(1, 1), (1, 4), (4, 4), (2, 4)])
def test_parallel_sum_of_kernels_is_the_sum_of_convs(g1, g2):
    x = x_()
    w1, b1 = w_(4, 4 // g1, 3, 3), rng.standard_normal(4)
    w2, b2 = w_(4, 4 // g2, 3, 3), rng.standard_normal(4)
    w, b, g = R.add_parallel((w1, b1, g1), (w2, b2, g2))
    want = conv(x, w1, b1, padding=1, groups=g1) + conv(x, w2, b2, padding=1, groups=g2)
    assert close(conv(x, w, b, padding=1, groups=g), want)


@pytest.mark.parametrize(("g1", "g2"), [(1, 1), (4, 1), (4, 2), (2, 2)])
def test_kxk_then_1x1_is_one_kxk_conv(g1, g2):
    x = x_()
    w1, b1 = w_(4, 4 // g1, 3, 3), rng.standard_normal(4)
    w2, b2 = w_(6, 4 // g2, 1, 1), rng.standard_normal(6)
    w, b, g = R.then_pointwise((w1, b1, g1), (w2, b2, g2))
    want = conv(conv(x, w1, b1, padding=1, stride=2, groups=g1), w2, b2, groups=g2)
    assert close(conv(x, w, b, padding=1, stride=2, groups=g), want)


@pytest.mark.parametrize(("g1", "g2"), [(1, 1), (2, 1), (1, 2), (4, 4)])
def test_unbiased_1x1_then_padded_kxk_is_one_kxk_conv(g1, g2):
    x = x_()
    w1 = w_(4, 4 // g1, 1, 1)
    w2, b2 = w_(4, 4 // g2, 3, 3), rng.standard_normal(4)
    w, b, g = R.pointwise_then((w1, np.zeros(4), g1), (w2, b2, g2))
    want = conv(conv(x, w1, groups=g1), w2, b2, padding=1, groups=g2)
    assert close(conv(x, w, b, padding=1, groups=g), want)


def test_biased_1x1_then_unpadded_kxk_is_one_kxk_conv():
    x = x_()
    w1, b1 = w_(5, 4, 1, 1), rng.standard_normal(5)
    w2, b2 = w_(3, 5, 3, 3), rng.standard_normal(3)
    w, b, g = R.pointwise_then((w1, b1, 1), (w2, b2, 1))
    assert close(conv(x, w, b, groups=g), conv(conv(x, w1, b1), w2, b2))


def test_biased_1x1_then_padded_kxk_differs_at_the_border_only():
    """Why the region finder refuses it: the merged conv reads b1 where the original reads zeros."""
    x = x_()
    w1, b1 = w_(4, 4, 1, 1), rng.standard_normal(4) + 1.0
    w2 = w_(4, 4, 3, 3)
    w, b, g = R.pointwise_then((w1, b1, 1), (w2, np.zeros(4), 1))
    diff = np.abs(conv(x, w, b, padding=1) - conv(conv(x, w1, b1), w2, padding=1))
    assert float(np.max(diff[..., 1:-1, 1:-1])) <= 1e-12 and float(np.max(diff[..., 0, :])) > 1e-3
