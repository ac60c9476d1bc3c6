"""The Learn page: theorem text, engine-generated lesson prose, predict-then-reveal,
sliders that flip a verdict, and the quiz.

Expected verdicts are never written here: they come from the engine's analysis
of each lesson graph, and the tests check that what the page says agrees.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from inspector.analysis.verdict import Reason
from inspector.report import compare_modes
from inspector.ui.lesson_text import CHOICES, WHY, answer_of, blocking_codes, judge, narrate, why_of
from inspector.ui.lessons import BY_KEY, LESSONS, SLIDER_LESSONS, BNParams, bn_node_id, load_lesson
from inspector.ui.quiz import draw_item
from inspector.ui.theorem import CITATION, CLAUSES, REFERENCE_IMPL

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = "inspector/ui/pages/learn.py"


@pytest.fixture(scope="module")
def lessons():
    """key -> (loaded, analyses, focus BN id) for every lesson."""
    out = {}
    for lesson in LESSONS:
        loaded = load_lesson(lesson)
        out[lesson.key] = (loaded, compare_modes(loaded.graph), bn_node_id(loaded, lesson))
    return out


# -- engine-generated prose ----------------------------------------------------------
@pytest.mark.parametrize("key", [lesson.key for lesson in LESSONS])
def test_lesson_prose_names_every_bn_the_engine_folds_and_its_direction(lessons, key):
    loaded, analyses, focus = lessons[key]
    text = narrate(loaded.graph, analyses, focus)
    for step in analyses["optimal"].steps:
        name = loaded.graph.node(step.bn).name
        assert f"`{name}` folds {step.direction}**" in text
        for root in step.roots:
            assert f"`{loaded.graph.node(root).name}`" in text
    for v in analyses["optimal"].verdicts.values():
        if not v.folded:
            assert f"`{v.name}` cannot be folded" in text


def test_bn_into_bn_lesson_is_about_the_bn_the_engine_folds(lessons):
    loaded, analyses, focus = lessons["bn_bn"]
    folded = {loaded.graph.node(s.bn).name for s in analyses["optimal"].steps}
    assert loaded.graph.node(focus).name in folded
    survivors = [v.name for v in analyses["optimal"].verdicts.values() if not v.folded]
    text = narrate(loaded.graph, analyses, focus)
    assert survivors and all(f"`{s}` cannot be folded" in text for s in survivors)
    assert "re-analyses" in text


@pytest.mark.parametrize("key", [lesson.key for lesson in LESSONS])
def test_lesson_graphs_have_meaningful_node_names(lessons, key):
    loaded, _, _ = lessons[key]
    assert not [n.name for n in loaded.graph.nodes if re.fullmatch(r"\d+", n.name)]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda x: x.key)
def test_text_shown_before_the_prediction_gives_no_verdict_away(lesson):
    shown = f"{lesson.question} {lesson.setup}".lower()
    assert not any(word in shown for word in ("backward", "forward", "foldable", "folds"))


def test_add_lesson_names_the_implementation_it_refers_to():
    assert REFERENCE_IMPL in BY_KEY["add"].rule and "tensorflow-batchnorm-folding" in REFERENCE_IMPL


# -- feedback on predictions ---------------------------------------------------------
def test_right_direction_is_praised_and_wrong_one_corrected(lessons):
    loaded, analyses, focus = lessons["forward"]
    v = analyses["optimal"].verdicts[focus]
    assert judge(v, answer_of(v)).correct
    wrong = next(c for c in CHOICES if c != answer_of(v))
    fb = judge(v, wrong)
    assert not fb.correct and answer_of(v) in fb.text


def test_not_foldable_feedback_checks_the_reason(lessons):
    loaded, analyses, focus = lessons["nonlinearity"]
    v = analyses["optimal"].verdicts[focus]
    assert judge(v, "not foldable", why_of(v)).correct
    other = next(w for w, codes in WHY.items() if not codes & {v.reason_code})
    assert not judge(v, "not foldable", other).correct


# -- theorem ---------------------------------------------------------------------
def test_theorem_clauses_link_to_existing_lessons():
    assert all(c.lesson in BY_KEY for c in CLAUSES if c.lesson)


@pytest.mark.parametrize("topic", ["non-linearity", "zero padding", "max-pool", "graph input",
                                   "shared", "batch statistics", "re-analyse", "fixed point",
                                   "roots", "leaves", "backward", "forward"])
def test_theorem_states_every_part_of_the_condition(topic):
    assert topic in " ".join(f"{c.title} {c.text}" for c in CLAUSES).lower()


def test_citation_names_authors_title_and_venue():
    for part in ("Yvinec", "Dapogny", "Bailly", "To Fold or Not to Fold", "IJCAI 2022"):
        assert part in CITATION


# -- sliders flip the engine's verdict --------------------------------------------------
FLIPS = {  # lesson -> (params that keep it foldable, params that flip it, reason code)
    "maxpool": (BNParams(1.2, 0.3, 0.5, 1.0), BNParams(-0.5, 0.3, 0.5, 1.0), Reason.NEGATIVE_SCALE),
    "leaf": (BNParams(1.2, 0.3, 0.5, 1.0), BNParams(0.0, 0.3, 0.5, 1.0), Reason.ZERO_SCALE),
    "zero_padding": (BNParams(1.2, 0.0, 0.0, 1.0), BNParams(1.2, 0.3, 0.5, 1.0), Reason.ZERO_PADDING),
}


@pytest.mark.parametrize("key", sorted(FLIPS))
def test_slider_parameters_flip_the_lessons_status(key):
    assert set(FLIPS) == set(SLIDER_LESSONS)
    keep, flip, code = FLIPS[key]
    verdicts = []
    for params in (keep, flip):
        loaded = load_lesson(BY_KEY[key], params)
        verdicts.append(compare_modes(loaded.graph)["optimal"].verdicts[bn_node_id(loaded, BY_KEY[key])])
    assert verdicts[0].folded and not verdicts[1].folded and verdicts[1].reason_code == code


# -- quiz ---------------------------------------------------------------------------
def test_quiz_questions_are_reproducible_small_graphs_with_a_bn():
    a, b = draw_item(11), draw_item(11)
    assert a.graph.script == b.graph.script
    assert a.bn in a.analyses["optimal"].verdicts and len(a.graph) <= 14


# -- the page (AppTest) -----------------------------------------------------------------
def _learn():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page(PAGE).run()
    _ok(at)
    return at


def _ok(at) -> None:
    assert not at.exception, [e.message for e in at.exception]


def _status_lines(at) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**Status of")]


@pytest.mark.slow
def test_page_states_the_theorem_and_cites_the_paper():
    at = _learn()
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert all(f"{c.title}." in text for c in CLAUSES)
    assert "IJCAI 2022" in text and "Yvinec" in text


@pytest.mark.slow
def test_a_theorem_clause_opens_its_lesson():
    at = _learn()
    clause = next(c for c in CLAUSES if c.key == "padding")
    at.button(key=f"learn_clause::{clause.key}").click().run()
    _ok(at)
    assert at.radio(key="learn_lesson").value == clause.lesson


@pytest.mark.slow
def test_every_lesson_hides_the_verdict_until_the_prediction_is_revealed(lessons):
    at = _learn()
    for lesson in LESSONS:
        at.radio(key="learn_lesson").set_value(lesson.key).run()
        _ok(at)
        assert not _status_lines(at), f"{lesson.key}: verdict shown before the prediction"
        _, analyses, focus = lessons[lesson.key]
        v = analyses["optimal"].verdicts[focus]
        key = f"learn_predict::{lesson.key}"
        at.radio(key=f"{key}::choice").set_value(answer_of(v)).run()
        if not v.folded:
            at.selectbox(key=f"{key}::why").set_value(why_of(v)).run()
        at.button(key=f"{key}::reveal").click().run()
        _ok(at)
        assert any(s.value.startswith("Right") for s in at.success), lesson.key
        assert _status_lines(at), lesson.key
        prose = " ".join(m.value for m in at.markdown)
        assert f"`{v.name}` {'folds ' + v.direction if v.folded else 'cannot be folded'}" in prose


@pytest.mark.slow
def test_a_wrong_prediction_gets_corrected():
    at = _learn()
    at.radio(key="learn_lesson").set_value("bn_bn").run()
    at.radio(key="learn_predict::bn_bn::choice").set_value("folded backward").run()
    at.button(key="learn_predict::bn_bn::reveal").click().run()
    _ok(at)
    assert at.error and "Not quite" in at.error[0].value


def _slider_status(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**`bn`:"))


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(FLIPS))
def test_affine_sliders_flip_the_status_on_the_page(key):
    keep, flip, _ = FLIPS[key]
    at = _learn()
    at.segmented_control(key="learn_slider_lesson").set_value(key).run()
    for params, expect in ((keep, "folded"), (flip, "not foldable")):
        for name, value in zip(("gamma", "beta", "mean", "var"),
                               (params.gamma, params.beta, params.mean, params.var)):
            at.slider(key=f"learn_{name}").set_value(value)
        at.run()
        _ok(at)
        status = _slider_status(at)
        assert ("not foldable" in status) == (expect == "not foldable"), (key, params, status)


@pytest.mark.slow
def test_quiz_keeps_score():
    at = _learn()
    at.segmented_control(key="learn_mode").set_value("Quiz").run()
    _ok(at)
    seed = at.session_state["quiz_seed"]
    at.radio(key=f"quiz::{seed}::choice").set_value("not foldable").run()
    at.button(key=f"quiz::{seed}::reveal").click().run()
    _ok(at)
    assert at.session_state["quiz_score"]["total"] == 1
    assert any("Score: " in m.value and "/ 1" in m.value for m in at.markdown)
    at.button(key="quiz_next").click().run()
    _ok(at)
    assert at.session_state["quiz_seed"] != seed


@pytest.mark.slow
def test_folding_a_lesson_verifies():
    at = _learn()
    at.radio(key="learn_lesson").set_value("bn_bn").run()
    at.radio(key="learn_predict::bn_bn::choice").set_value("folded forward").run()
    at.button(key="learn_predict::bn_bn::reveal").click().run()
    at.button(key="learn_fold_btn::bn_bn").click().run()
    _ok(at)
    assert any("Verification passed" in s.value for s in at.success)


def test_merge_lesson_names_what_reparam_merges_and_the_merged_graph_is_equivalent():
    from inspector.ui.lesson_text import narrate_merges
    from inspector.verification.compare import output_errors
    from inspector.verification.numpy_exec import random_inputs, run_graph

    loaded = load_lesson(BY_KEY["merge"])
    reparam = compare_modes(loaded.graph, ("reparam",))["reparam"]
    assert reparam.merges
    text = narrate_merges(loaded.graph, reparam)
    for m in reparam.merges:
        assert all(f"`{loaded.graph.node(n).name}`" in text for n in m.nodes)
        assert f"`{reparam.folded.node(m.conv_id).name}`" in text
    inputs = random_inputs(loaded.graph, seed=1)
    _, rel = output_errors(run_graph(loaded.graph, inputs), run_graph(reparam.folded, inputs))
    assert rel < 1e-9


# -- issue 16.15: answers judged against the engine's reason, words that match the theorem
def test_a_reason_that_blocks_only_one_direction_is_half_right(lessons):
    """Zero padding: 'graph boundary' blocks backward, but the engine's reason is the padding."""
    loaded, analyses, focus = lessons["zero_padding"]
    v = analyses["optimal"].verdicts[focus]
    assert not v.folded
    assert judge(v, "not foldable", why_of(v)).correct
    one_direction = [w for w, codes in WHY.items()
                     if codes & blocking_codes(v) and v.reason_code not in codes]
    assert one_direction, "the lesson BN is blocked by two different reasons"
    fb = judge(v, "not foldable", one_direction[0])
    assert not fb.correct and v.reason_code.title in fb.text


def test_a_fold_without_leaves_says_no_leaves_not_the_bn_itself():
    """Theorem clause 3 speaks of every *other* layer: the BN itself is not a leaf to show."""
    from inspector.ui.lesson_text import narrate_bn

    loaded = load_lesson(BY_KEY["forward"], None)
    analyses = compare_modes(loaded.graph, ("adjacent", "optimal"))
    folded = [b for b, v in analyses["optimal"].verdicts.items()
              if v.folded and not [x for x in v.leaves if x != b]]
    assert folded
    text = narrate_bn(loaded.graph, analyses, folded[0])
    assert "only the BN itself" not in text and "no leaves" in text


def test_slider_graph_title_follows_the_parameters():
    from inspector.ui.pages.learn import slider_title

    title = slider_title("maxpool", BNParams(gamma=-0.5, beta=0.0, mean=0.0, var=1.0))
    assert "γ = -0.50" in title and "positive" not in title
