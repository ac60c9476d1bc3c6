"""One table per vocabulary, and the tables agree: every op kind of the IR is handled by
the reference executor and by the condition, every reason has its quiz and legend
wording, and every registered frontend declares what its registry line says."""

from __future__ import annotations

import pytest

from inspector.analysis.condition import BLOCK_REASONS
from inspector.analysis.transparency import RULES
from inspector.analysis.verdict import GROUPS, REASONS, WHY_OPTIONS, Mode, Reason, group_legend
from inspector.folding.apply import ABSORB, EMIT
from inspector.ir import BLOCKING_OPS, EXPRESSIVE_OPS, OP_KINDS, TRANSPARENT_OPS
from inspector.verification.numpy_exec import _KERNELS

#: Ops the condition treats as the graph's boundary (no kernel: they hold the graph's I/O).
BOUNDARY = {"input", "output"}


@pytest.mark.parametrize("op", sorted(OP_KINDS))
def test_every_op_kind_has_a_reference_kernel(op):
    assert op in _KERNELS or op in BOUNDARY | {"other"}  # `other` is unknown: nothing runs it


@pytest.mark.parametrize("op", sorted(OP_KINDS))
def test_every_op_kind_is_transparent_expressive_or_blocking_with_a_reason(op):
    roles = [op in RULES, op in EXPRESSIVE_OPS, op in BLOCK_REASONS, op in BOUNDARY]
    assert roles.count(True) == 1


def test_transparent_ops_are_the_ops_with_a_transparency_rule():
    assert TRANSPARENT_OPS == set(RULES)


def test_blocking_ops_are_the_ops_with_a_block_reason_or_the_boundary():
    assert BLOCKING_OPS == set(BLOCK_REASONS) | BOUNDARY


def test_expressive_ops_have_an_emit_and_an_absorb_rule():
    assert set(EMIT) == set(ABSORB) == EXPRESSIVE_OPS


def test_every_reason_has_a_row():
    assert set(REASONS) == set(Reason)


@pytest.mark.parametrize("reason", list(Reason), ids=str)
def test_every_reason_names_a_quiz_option_and_a_colour_group(reason):
    assert REASONS[reason].quiz in WHY_OPTIONS and reason.group in GROUPS


def test_every_quiz_option_stands_for_some_reason():
    from inspector.ui.lesson_text import WHY

    assert list(WHY) == list(WHY_OPTIONS) and all(WHY.values())
    assert sorted(r for codes in WHY.values() for r in codes) == sorted(Reason)


@pytest.mark.parametrize("group", GROUPS)
def test_a_group_legend_names_every_reason_with_legend_words(group):
    label = group_legend(group)
    for info in REASONS.values():
        if info.group == group and info.legend:
            assert info.legend in label


def test_the_blocking_legend_names_every_blocking_reason():
    label = group_legend("blocking")
    assert all(info.legend and info.legend in label for info in REASONS.values()
               if info.group == "blocking")


@pytest.mark.parametrize("mode", list(Mode), ids=str)
def test_the_cli_accepts_every_mode(mode):
    from inspector.cli import _parser

    assert _parser().parse_args(["analyze", "m.onnx", "--mode", mode.value]).mode == mode.value


def test_every_registered_frontend_declares_its_registry_line():
    from inspector.frontends import FRONTENDS, adapter

    for frontend in FRONTENDS:
        found = adapter(frontend)
        assert found.extensions == frontend.reads and found.save_formats == frontend.writes
