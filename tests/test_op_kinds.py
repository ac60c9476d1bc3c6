"""The op tables agree: every op kind of the IR has a reference kernel and one role in
the condition (a transparency rule, emit and absorb rules, or a block reason)."""

from __future__ import annotations

import pytest

from inspector.analysis.condition import BLOCK_REASONS
from inspector.analysis.transparency import RULES
from inspector.folding.apply import ABSORB, EMIT
from inspector.ir import BLOCKING_OPS, EXPRESSIVE_OPS, OP_KINDS, TRANSPARENT_OPS
from inspector.verification.numpy_exec import _KERNELS

#: Ops the condition treats as the graph's boundary (no kernel: they hold the graph's I/O).
BOUNDARY = {"input", "output"}


@pytest.mark.parametrize("op", sorted(OP_KINDS))
def test_every_op_kind_has_a_reference_kernel(op):
    assert op in _KERNELS or op in BOUNDARY | {"other"}  # `other` is unknown: nothing runs it


@pytest.mark.parametrize("op", sorted(OP_KINDS))
def test_every_op_kind_is_transparent_expressive_or_blocking(op):
    roles = [op in TRANSPARENT_OPS, op in EXPRESSIVE_OPS, op in BLOCKING_OPS]
    assert roles.count(True) == 1


def test_transparent_ops_are_the_ops_with_a_transparency_rule():
    assert TRANSPARENT_OPS == set(RULES)


def test_every_blocking_op_but_the_boundary_has_a_block_reason():
    assert BLOCKING_OPS - BOUNDARY <= set(BLOCK_REASONS)


def test_block_reasons_name_only_blocking_ops():
    assert set(BLOCK_REASONS) <= BLOCKING_OPS - BOUNDARY


def test_expressive_ops_have_an_emit_and_an_absorb_rule():
    assert set(EMIT) == set(ABSORB) == EXPRESSIVE_OPS
