"""The changed-layers table says in a few words why each layer changed."""

from __future__ import annotations

from inspector.diffs import LayerDiff, role_summary


def _diff(*roles: str, merged_from: tuple[str, ...] = ()) -> LayerDiff:
    return LayerDiff("id", "conv", "conv", list(roles), merged_from=merged_from)


def test_a_root_of_one_bn_says_so():
    assert role_summary(_diff("root of bn1 (backward)")) == "root of 1 BN"


def test_a_leaf_of_several_bns_counts_them():
    assert role_summary(_diff("leaf of bn1 (forward)", "leaf of bn2 (forward)")) == "leaf of 2 BNs"


def test_a_root_and_leaf_gives_both_counts():
    assert role_summary(_diff("root of a (backward)", "leaf of b (forward)")) == "root of 1 · leaf of 1"


def test_a_merged_conv_counts_the_convs_it_replaced():
    assert role_summary(_diff("merged region: a, b", merged_from=("a", "b"))) == "merged: 2 convs"


def test_a_layer_with_no_role_is_edited():
    assert role_summary(_diff()) == "edited"
