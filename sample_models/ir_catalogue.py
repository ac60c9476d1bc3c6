"""The catalogue's cases as IR graphs (numpy only, no framework): one tiny graph per
folding rule and per failure reason, under the names of the PyTorch cases
(:mod:`sample_models.catalogue`) where both exist, plus a few only the IR writes
(a split, NHWC transposes, a padded average pool).

Each :class:`IRCase` states how many BNs each mode folds and, for a kept BN,
its reason code in ``optimal`` mode::

    graph = IR_CASES["leaf_conv"].build()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from inspector.builders import GraphBuilder
from inspector.ir import Graph


@dataclass(frozen=True)
class IRCase:
    """One IR case: how it writes its graph and what each mode folds."""

    name: str
    write: Callable[[GraphBuilder], None]
    adjacent: int  # BNs folded in mode adjacent
    optimal: int  # BNs folded in mode optimal
    reason: str | None = None  # reason code of a BN that optimal keeps
    post: Callable[[Graph], Graph] | None = None  # an edit after building (e.g. a zero gamma)

    def build(self, seed: int = 3) -> Graph:
        """The case's graph (seeded parameters; BN statistics far from identity)."""
        b = GraphBuilder(seed=seed, name=self.name)
        self.write(b)
        graph = b.build()
        return self.post(graph) if self.post is not None else graph


X = (1, 3, 6, 6)


# -- the cases: each writes its graph with a builder ``b`` ------------------------------


def conv_bn_relu(b):
    b.output(b.relu(b.bn(b.conv(b.input(X), 4, k=3, pad=1))))


def linear_bn1d(b):
    b.output(b.relu(b.bn(b.linear(b.input((2, 5)), 4))))


def convtranspose_grouped_bn(b):
    b.output(b.relu(b.bn(b.conv_transpose(b.input((1, 4, 5, 5)), 6, k=3, stride=2, groups=2))))


def depthwise_bn(b):
    b.output(b.relu(b.bn(b.conv(b.input((1, 4, 6, 6)), 4, k=3, pad=1, groups=4))))


def input_bn_conv(b):
    b.output(b.conv(b.bn(b.input(X)), 4, k=3))


def input_bn_depthwise(b):
    b.output(b.conv(b.bn(b.input((1, 4, 6, 6))), 8, k=3, groups=4))


def input_bn_padded_conv(b):
    b.output(b.conv(b.bn(b.input(X)), 4, k=3, pad=1))


def input_bn_reflect_conv(b):
    x = b.pad(b.bn(b.input(X)), [(0, 0), (0, 0), (1, 1), (1, 1)], mode="reflect")
    b.output(b.conv(x, 4, k=3))


def add_two_roots(b):
    x = b.input(X)
    b.output(b.relu(b.bn(b.add(b.conv(x, 4), b.conv(x, 4)))))


def leaf_conv(b):
    c = b.conv(b.input(X), 4)
    b.output(b.relu(b.bn(c)))
    b.output(b.conv(c, 5))


def leaf_padded_conv(b):
    c = b.conv(b.input(X), 4)
    b.output(b.relu(b.bn(c)))
    b.output(b.conv(c, 5, k=3, pad=1))


def relu_bn_conv(b):
    b.output(b.conv(b.bn(b.relu(b.conv(b.input(X), 4))), 4))


def bn_bn(b):
    b.output(b.relu(b.bn(b.bn(b.relu(b.conv(b.input(X), 4))))))


def maxpool_positive(b):
    b.output(b.relu(b.bn(b.maxpool(b.conv(b.input(X), 4)))))


def maxpool_negative(b):
    b.output(b.relu(b.bn(b.maxpool(b.conv(b.input(X), 4)), negative=True)))


def avgpool_bn(b):
    b.output(b.relu(b.bn(b.avgpool(b.conv(b.input(X), 4)))))


def avgpool_padded_bn(b):
    b.output(b.relu(b.bn(b.avgpool(b.conv(b.input(X), 4), k=3, stride=1, pad=1))))


def concat_bn(b):
    x = b.input(X)
    b.output(b.relu(b.bn(b.concat([b.conv(x, 4), b.conv(x, 2)]))))


def split_bn(b):
    y1, y2 = b.split(b.conv(b.input(X), 6), [2, 4])
    b.output(b.relu(b.bn(y2)))
    b.output(b.relu(y1))


def se_mul_bn(b):
    c = b.conv(b.input(X), 4)
    gate = b.act(b.conv(b.global_avgpool(c), 4), kind="sigmoid")
    b.output(b.relu(b.bn(b.mul(c, b.resize(gate, scale=6)))))


def flatten_bn_linear(b):
    b.output(b.linear(b.bn(b.flatten(b.input((1, 4, 3, 3)))), 5))


def levit_tokens(b):
    t = b.linear(b.input((1, 6, 8)), 8)
    flat = b.reshape(t, (6, 8))
    b.output(b.relu(b.reshape(b.bn(flat), (1, 6, 8))))


def transpose_nhwc_bn(b):
    nhwc = b.transpose(b.input(X), (0, 2, 3, 1))  # a converter's NHWC input
    t = b.transpose(b.conv(b.transpose(nhwc, (0, 3, 1, 2)), 4), (0, 2, 3, 1))
    b.output(b.relu(b.bn(b.transpose(t, (0, 3, 1, 2)))))


def linear_bn_output(b):
    b.output(b.bn(b.linear(b.input((2, 5)), 4)))


def bn_only(b):
    b.output(b.bn(b.input(X)))


def batch_stats_bn(b):
    b.output(b.relu(b.bn(b.conv(b.input(X), 4), batch_stats=True)))


def shared_conv(b):
    x = b.input(X)
    c1 = b.conv(x, 3, name="conv")
    b.output(b.relu(b.bn(c1)))
    b.output(b.conv(b.relu(x), 3, share_with="conv1", name="conv#2"))


def dense_block(b):
    feats = [b.conv(b.input(X), 4)]
    for _ in range(3):
        x = feats[0] if len(feats) == 1 else b.concat(feats)
        feats.append(b.conv(b.relu(b.bn(x)), 2))
    b.output(b.relu(b.bn(b.concat(feats))))


def preact_residual(b):
    x = b.conv(b.input(X), 4, k=3, pad=1)
    for _ in range(2):
        h = b.conv(b.relu(b.bn(x)), 4, k=3, pad=1)
        x = b.add(x, b.conv(b.relu(b.bn(h)), 4, k=3, pad=1))
    b.output(b.relu(b.bn(x)))


def zero_scale_leaf(b):
    c = b.conv(b.input(X), 4)
    y = b.bn(c)
    b.output(b.relu(y))
    b.output(b.conv(c, 5))


def _zero_first_gamma(graph: Graph) -> Graph:
    bn = graph.node("bn1")
    gamma = bn.params["gamma"].copy()
    gamma[0] = 0.0
    return graph.with_nodes({"bn1": replace(bn, params={**bn.params, "gamma": gamma})})


IR_CASES: dict[str, IRCase] = {c.name: c for c in (
    IRCase("conv_bn_relu", conv_bn_relu, 1, 1),
    IRCase("linear_bn1d", linear_bn1d, 1, 1),
    IRCase("convtranspose_grouped_bn", convtranspose_grouped_bn, 1, 1),
    IRCase("depthwise_bn", depthwise_bn, 1, 1),
    IRCase("input_bn_conv", input_bn_conv, 0, 1),
    IRCase("input_bn_depthwise", input_bn_depthwise, 0, 1),
    IRCase("input_bn_padded_conv", input_bn_padded_conv, 0, 0, "zero_padding"),
    IRCase("input_bn_reflect_conv", input_bn_reflect_conv, 0, 1),
    IRCase("add_two_roots", add_two_roots, 0, 1),
    IRCase("leaf_conv", leaf_conv, 0, 1),
    IRCase("leaf_padded_conv", leaf_padded_conv, 0, 0, "zero_padding"),
    IRCase("relu_bn_conv", relu_bn_conv, 0, 1),
    IRCase("bn_bn", bn_bn, 0, 1, "nonlinearity"),
    IRCase("maxpool_positive", maxpool_positive, 0, 1),
    IRCase("maxpool_negative", maxpool_negative, 0, 0, "negative_scale"),
    IRCase("avgpool_bn", avgpool_bn, 0, 1),
    IRCase("avgpool_padded_bn", avgpool_padded_bn, 0, 0, "zero_padding"),
    IRCase("concat_bn", concat_bn, 0, 1),
    IRCase("split_bn", split_bn, 0, 1),
    IRCase("se_mul_bn", se_mul_bn, 0, 0, "data_dependent_mul"),
    IRCase("flatten_bn_linear", flatten_bn_linear, 0, 1),
    IRCase("levit_tokens", levit_tokens, 0, 1),
    IRCase("transpose_nhwc_bn", transpose_nhwc_bn, 0, 1),
    IRCase("linear_bn_output", linear_bn_output, 1, 1),
    IRCase("bn_only", bn_only, 0, 0, "boundary"),
    IRCase("batch_stats_bn", batch_stats_bn, 0, 0, "batch_stats"),
    IRCase("zero_scale_leaf", zero_scale_leaf, 0, 0, "zero_scale", post=_zero_first_gamma),
    IRCase("shared_conv", shared_conv, 0, 0, "shared_params"),
    IRCase("dense_block", dense_block, 0, 1, "nonlinearity"),
    IRCase("preact_residual", preact_residual, 2, 3, "nonlinearity"),
)}
