"""The vocabularies of ``inspector.analysis.verdict``: one table per vocabulary,
so adding a reason or a status is one edit and every consumer sees it."""

from __future__ import annotations

import pytest

from inspector.analysis.verdict import (
    GROUPS,
    REASONS,
    WHY_OPTIONS,
    Mode,
    Reason,
    Status,
    Verdict,
    group_legend,
)
from inspector.render.status import STATUS_COLORS, reason_color_key


@pytest.mark.parametrize("code", list(Reason))
def test_every_reason_has_a_title_a_help_text_a_colour_group_and_a_quiz_answer(code):
    assert code in REASONS
    assert code.title and code.help.endswith(".") and code.group in GROUPS
    assert REASONS[code].quiz in WHY_OPTIONS


@pytest.mark.parametrize("code", list(Reason))
def test_every_reason_group_has_a_colour(code):
    assert reason_color_key(code) in STATUS_COLORS


def test_priorities_are_a_total_order_with_batch_stats_first():
    priorities = sorted(code.priority for code in Reason)
    assert priorities == list(range(len(Reason)))
    assert min(Reason, key=lambda c: c.priority) is Reason.BATCH_STATS


def test_a_specific_reason_outranks_a_generic_one():
    assert Reason.ZERO_PADDING.priority < Reason.NONLINEARITY.priority < Reason.BOUNDARY.priority


def test_every_status_has_its_own_words():
    assert len({s.words for s in Status}) == len(Status) and all(s.short for s in Status)


def test_a_report_writes_statuses_and_modes_as_their_codes():
    from inspector.report import to_json

    assert to_json({Mode.OPTIMAL: [Status.FOLDED, Reason.BOUNDARY]}) == \
        '{\n  "optimal": [\n    "folded",\n    "boundary"\n  ]\n}'


def test_a_verdict_is_folded_only_with_the_folded_status():
    assert Verdict("b", "b", Status.FOLDED).folded
    assert not Verdict("b", "b", Status.NOT_FOLDABLE, reason_code=Reason.BOUNDARY).folded


def test_every_quiz_option_stands_for_some_reason_and_every_reason_for_one_option():
    from inspector.ui.lesson_text import WHY

    assert list(WHY) == list(WHY_OPTIONS) and all(WHY.values())
    assert sorted(r for codes in WHY.values() for r in codes) == sorted(Reason)


@pytest.mark.parametrize("group", GROUPS)
def test_a_group_legend_names_the_legend_words_of_its_reasons(group):
    words = [info.legend for info in REASONS.values() if info.group == group and info.legend]
    assert all(w in group_legend(group) for w in words)


def test_the_blocking_legend_names_every_blocking_reason():
    blocking = [info for info in REASONS.values() if info.group == "blocking"]
    assert all(info.legend and info.legend in group_legend("blocking") for info in blocking)


def test_the_other_legend_says_other_for_reasons_without_legend_words():
    assert group_legend("other").endswith(", other")


@pytest.mark.parametrize("mode", list(Mode), ids=str)
def test_the_cli_accepts_every_mode(mode):
    from inspector.cli import _parser

    assert _parser().parse_args(["analyze", "m.onnx", "--mode", mode.value]).mode == mode.value
