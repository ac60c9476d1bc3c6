"""The vocabularies of ``inspector.analysis.verdict``: one table per vocabulary,
so adding a reason or a status is one edit and every consumer sees it."""

from __future__ import annotations

import pytest

from inspector.analysis.verdict import REASONS, Reason, Status, Verdict
from inspector.render.status import STATUS_COLORS, reason_color_key

GROUPS = {"blocking", "padding", "scale", "other"}


@pytest.mark.parametrize("code", list(Reason))
def test_every_reason_has_a_title_a_help_text_and_a_colour_group(code):
    assert code in REASONS
    assert code.title and code.help.endswith(".") and code.group in GROUPS


@pytest.mark.parametrize("code", list(Reason))
def test_every_reason_group_has_a_colour(code):
    assert reason_color_key(code) in STATUS_COLORS


def test_priorities_are_a_total_order_with_batch_stats_first():
    priorities = sorted(code.priority for code in Reason)
    assert priorities == list(range(len(Reason)))
    assert min(Reason, key=lambda c: c.priority) is Reason.BATCH_STATS


def test_a_specific_reason_outranks_a_generic_one():
    assert Reason.ZERO_PADDING.priority < Reason.NONLINEARITY.priority < Reason.BOUNDARY.priority


@pytest.mark.parametrize("status", list(Status))
def test_every_status_has_words_and_prints_as_its_code(status):
    assert status.words and str(status) == status.value and f"{status}" == status.value


def test_a_verdict_is_folded_only_with_the_folded_status():
    assert Verdict("b", "b", Status.FOLDED).folded
    assert not Verdict("b", "b", Status.NOT_FOLDABLE, reason_code=Reason.BOUNDARY).folded
