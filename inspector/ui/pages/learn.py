"""Learn: the folding theorem, lessons you predict before they are revealed, a quiz."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from inspector.analysis.condition import bn_affine
from inspector.explain import bn_rows
from inspector.folding.plan import Analysis
from inspector.ir import Node
from inspector.render import to_dot
from inspector.ui import graph_view
from inspector.ui.bn_panel import status_badge
from inspector.ui.errors import safe_call
from inspector.ui.lesson_text import CHOICES, WHY, judge, narrate, narrate_merges
from inspector.ui.lessons import (
    BY_KEY,
    LESSONS,
    SLIDER_LESSONS,
    BNParams,
    Lesson,
    bn_node_id,
    load_lesson,
)
from inspector.ui.quiz import draw_item
from inspector.ui.theorem import CITATION, CLAUSES

MODES = ("Lessons", "Quiz")


@st.cache_resource(max_entries=48, show_spinner=False)
def lesson_model(key: str, params: BNParams | None) -> tuple:
    """Loaded lesson model, both analyses and the statuses (shared, never mutated)."""
    from inspector.folding.driver import compare_modes
    from inspector.render.status import compute_statuses

    lesson = BY_KEY[key]
    loaded = load_lesson(lesson, params)
    modes = ("adjacent", "optimal", "reparam") if lesson.reparam else ("adjacent", "optimal")
    analyses = compare_modes(loaded.graph, modes)
    return loaded, analyses, compute_statuses(loaded.graph, analyses["optimal"], analyses["adjacent"])


@st.cache_resource(max_entries=16, show_spinner=False)
def quiz_item(seed: int):
    return draw_item(seed)


# -- the theorem ---------------------------------------------------------------
def _open_lesson(key: str) -> None:
    st.session_state["learn_mode"] = "Lessons"
    st.session_state["learn_lesson"] = key


def theorem() -> None:
    """The necessary and sufficient condition, clause by clause, each linked to its lesson."""
    st.markdown(f"The condition below is the theorem of {CITATION}: a BN can be folded "
                "**if and only if** every clause holds in at least one direction.")
    for i, clause in enumerate(CLAUSES):
        left, right = st.columns([6, 1], vertical_alignment="center")
        left.markdown(f"**{i + 1}. {clause.title}.** {clause.text}")
        if clause.lesson:
            number = [x.key for x in LESSONS].index(clause.lesson) + 1
            right.button(f"lesson {number}", key=f"learn_clause::{clause.key}",
                         on_click=_open_lesson, args=(clause.lesson,), type="tertiary",
                         icon=":material/arrow_forward:",
                         help=f"open lesson {number}: {BY_KEY[clause.lesson].question}")


# -- sliders that drive a lesson ---------------------------------------------
def _params() -> BNParams:
    cols = st.columns(4)
    gamma = cols[0].slider("γ", -2.0, 2.0, 1.2, 0.05, key="learn_gamma")
    beta = cols[1].slider("β", -2.0, 2.0, 0.3, 0.05, key="learn_beta")
    mean = cols[2].slider("μ (running mean)", -2.0, 2.0, 0.5, 0.05, key="learn_mean")
    var = cols[3].slider("σ² (running var)", 0.05, 4.0, 1.0, 0.05, key="learn_var")
    return BNParams(*(round(float(v), 2) for v in (gamma, beta, mean, var)))


def slider_title(key: str, p: BNParams) -> str:
    """The slider graph's title: the lesson's graph and the parameters it was built with
    (never a sample name like ``maxpool_positive`` that the sliders may contradict)."""
    return (f"{BY_KEY[key].question} with γ = {p.gamma:.2f}, β = {p.beta:.2f}, "
            f"μ = {p.mean:.2f}, σ² = {p.var:.2f}")


@st.fragment
def affine_lab() -> None:
    """BN(x) = a·x + c from the sliders, and the verdict of a lesson that uses them."""
    st.latex(r"\mathrm{BN}(x)_k=\gamma_k\frac{x_k-\mu_k}{\sqrt{\sigma_k^2+\varepsilon}}+\beta_k"
             r"=a_k\,x_k+c_k,\quad a_k=\frac{\gamma_k}{\sqrt{\sigma_k^2+\varepsilon}},\quad"
             r" c_k=\beta_k-a_k\,\mu_k")
    p = _params()
    node = Node("bn", "batch_norm", name="bn", attrs={"eps": 1e-5}, params={
        k: np.array([v]) for k, v in (("gamma", p.gamma), ("beta", p.beta), ("mean", p.mean),
                                      ("var", p.var))})
    a, c = bn_affine(node)
    st.markdown(f"→ channel 0: **a = {a[0]:.4f}**, **c = {c[0]:.4f}**. The sliders set channel 0 of "
                "the BN in the graph below (its other channels are the identity, a = 1 and c = 0), "
                "so they alone decide:")
    key = st.segmented_control("Graph", list(SLIDER_LESSONS), format_func=lambda k: (
        f"{BY_KEY[k].question} ({SLIDER_LESSONS[k]})"), default="maxpool", required=True,
        key="learn_slider_lesson") or "maxpool"
    got = safe_call("Loading the lesson graph", lesson_model, key, p)
    if got is None:
        return
    loaded, analyses, statuses = got
    bn = bn_node_id(loaded, BY_KEY[key])
    if bn in statuses:
        st.markdown(f"**`{loaded.graph.node(bn).name}`: {status_badge(statuses[bn])}**",
                    help="recomputed by the engine for these parameters")
    st.markdown(narrate(loaded.graph, analyses, bn))
    _graph(loaded.graph, analyses["optimal"], analyses["adjacent"], bn, slider_title(key, p),
           key=f"learn_slider_graph::{key}", height=220)


# -- predict, then reveal ---------------------------------------------------------
def _reveal(key: str, verdict, quiz: bool) -> None:
    choice = st.session_state.get(f"{key}::choice")
    why = st.session_state.get(f"{key}::why") if choice == "not foldable" else None
    feedback = judge(verdict, choice, why)
    st.session_state[f"{key}::revealed"] = feedback
    if quiz:
        score = st.session_state.setdefault("quiz_score", {"right": 0, "total": 0})
        score["total"] += 1
        score["right"] += int(feedback.correct)


def _reset(key: str) -> None:
    for suffix in ("choice", "why", "revealed"):
        st.session_state.pop(f"{key}::{suffix}", None)


def predict(key: str, verdict, quiz: bool = False):
    """The prediction widgets; returns the feedback once revealed, else None."""
    revealed = st.session_state.get(f"{key}::revealed")
    choice = st.radio(f"Your prediction for `{verdict.name}`", CHOICES, index=None, horizontal=True,
                      key=f"{key}::choice", disabled=revealed is not None)
    if choice == "not foldable":
        st.selectbox("Why not?", list(WHY), index=None, key=f"{key}::why",
                     placeholder="choose what blocks it", disabled=revealed is not None)
    if revealed is None:
        st.button("Reveal the verdict", key=f"{key}::reveal", type="primary",
                  disabled=choice is None, on_click=_reveal, args=(key, verdict, quiz),
                  help="choose a prediction first")
        return None
    (st.success if revealed.correct else st.error)(revealed.text)
    return revealed


def _graph(graph, optimal: Analysis, adjacent: Analysis | None, selected: str | None,
           title: str, *, key: str, height: int = 300) -> None:
    opts = graph_view.ViewOptions(rankdir="LR")
    dot = safe_call("Drawing the graph", graph_view.make_dot, graph, optimal, adjacent, opts,
                    selected=selected, title=title, legend=False)
    if dot:
        graph_view.show_graph(dot, key=key, selected=selected, height=height)


def _unrevealed(graph) -> Analysis:
    """An analysis with no verdicts: the graph is drawn without giving the answer away."""
    return Analysis("optimal", graph, graph, {})


def verdict_table(graph, statuses) -> None:
    """Every BN's verdict; a static table so long sentences wrap instead of being cut off."""
    rows = bn_rows(graph, statuses)
    st.table(pd.DataFrame(rows)[["name", "status", "direction", "roots", "leaves", "details"]]
             .set_index("name"))


def fold_demo(lesson: Lesson, loaded, analyses, params) -> None:
    """Fold the lesson's model on request and show the verification."""
    from inspector.folding.pipeline import fold

    key = f"learn_fold::{lesson.key}::{params}"
    if st.button("Fold it (optimal)", key=f"learn_fold_btn::{lesson.key}", type="primary"):
        st.session_state[key] = safe_call("Folding", fold, loaded, "optimal",
                                          analysis=analyses["optimal"])
    result = st.session_state.get(key)
    if result is None:
        return
    v = result.verification
    n = len(result.analysis.removed)
    if n == 0:
        st.info("Nothing to fold here: the model is unchanged.")
        return
    msg = (f"Folded {n} BN · max abs error {v.max_abs_error:.2e} · max rel error "
           f"{v.max_rel_error:.2e}")
    (st.success if v.passed else st.error)(
        f"{'Verification passed' if v.passed else 'Verification FAILED'} — {msg}")
    a = result.analysis
    dot = safe_call("Drawing the folded graph", to_dot, a.folded, a, None,
                    rankdir="LR", title=f"{loaded.name} — after folding", legend=False)
    if dot:
        graph_view.show_graph(dot, key=f"learn_after::{lesson.key}", height=260)


def merge_demo(lesson: Lesson, graph, reparam: Analysis) -> None:
    """Branch merging (mode ``reparam``): what merged, the graph after, and a float64
    check of the merged graph against the original with the NumPy reference executor."""
    from inspector.verification.compare import output_errors
    from inspector.verification.numpy_exec import random_inputs, run_graph

    st.markdown(narrate_merges(graph, reparam))
    if not reparam.merges:
        return
    inputs = random_inputs(graph, seed=0)
    abs_err, rel_err = output_errors(run_graph(graph, inputs), run_graph(reparam.folded, inputs))
    st.success(f"Same function: max abs error {abs_err:.2e}, max rel error {rel_err:.2e} "
               "(float64 NumPy reference executor, original vs merged graph).")
    dot = safe_call("Drawing the merged graph", to_dot, reparam.folded, reparam, None,
                    rankdir="LR", title=f"{graph.name} — after reparam", legend=False)
    if dot:
        graph_view.show_graph(dot, key=f"learn_merged::{lesson.key}", height=200)
    st.caption("Writing merged branches back to a PyTorch model is not supported yet; "
               "`bnfold fold MODEL.onnx --mode reparam` writes the merged ONNX model.")


@st.fragment
def lesson_view(lesson: Lesson) -> None:
    """Setup and graph, the learner's prediction, then verdict, engine prose and the fold."""
    got = safe_call("Loading the lesson graph", lesson_model, lesson.key, None)
    if got is None:
        return
    loaded, analyses, statuses = got
    bn = bn_node_id(loaded, lesson)
    verdict = analyses["optimal"].verdicts[bn]
    st.markdown(f"### {lesson.question}")
    st.markdown(lesson.setup)
    key = f"learn_predict::{lesson.key}"
    revealed = st.session_state.get(f"{key}::revealed") is not None
    if revealed:
        _graph(loaded.graph, analyses["optimal"], analyses["adjacent"], bn, loaded.name,
               key=f"learn_graph::{lesson.key}")
    else:
        _graph(loaded.graph, _unrevealed(loaded.graph), None, None, f"{loaded.name} — predict first",
               key=f"learn_graph_blind::{lesson.key}")
    if predict(key, verdict) is None:
        return
    st.markdown(f"#### Rule: {lesson.title}")
    st.markdown(f"**Status of `{verdict.name}`:** {status_badge(statuses[bn])}")
    st.markdown(narrate(loaded.graph, analyses, bn))
    st.markdown(lesson.rule)
    verdict_table(loaded.graph, statuses)
    if "reparam" in analyses:
        merge_demo(lesson, loaded.graph, analyses["reparam"])
    else:
        fold_demo(lesson, loaded, analyses, None)
    st.button("Try again", key=f"{key}::again", on_click=_reset, args=(key,))


# -- quiz -------------------------------------------------------------------------
def _next_question() -> None:
    _reset(f"quiz::{st.session_state.get('quiz_seed', 0)}")
    st.session_state["quiz_seed"] = int(np.random.default_rng().integers(0, 2**31))


@st.fragment
def quiz_view() -> None:
    """A random small graph and one of its BNs; predict, reveal, keep score."""
    seed = st.session_state.setdefault("quiz_seed", int(np.random.default_rng().integers(0, 2**31)))
    score = st.session_state.get("quiz_score", {"right": 0, "total": 0})
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.markdown(f"**Score: {score['right']} / {score['total']}** — random graphs from the "
                  "property-test generator, analysed by the same engine.")
    right.button("Next graph", key="quiz_next", on_click=_next_question, icon=":material/casino:")
    item = safe_call("Drawing a quiz graph", quiz_item, seed)
    if item is None:
        return
    g = item.graph
    key = f"quiz::{seed}"
    revealed = st.session_state.get(f"{key}::revealed") is not None
    if revealed:
        _graph(g, item.analyses["optimal"], item.analyses["adjacent"], item.bn,
               f"quiz graph #{seed}", key="quiz_graph")
    else:
        _graph(g, _unrevealed(g), None, item.bn, f"quiz graph #{seed} — predict first",
               key="quiz_graph_blind")
    verdict = item.analyses["optimal"].verdicts[item.bn]
    if predict(key, verdict, quiz=True) is None:
        return
    st.markdown(narrate(g, item.analyses, item.bn))


def render() -> None:
    st.title(":material/school: Learn")
    st.caption(f"How batch-norm folding works. The theorem is from {CITATION}. Every graph below "
               "is analysed and folded by this app's engine; the verdicts, roots, leaves and "
               "formulas you read are generated from that analysis.")
    with st.expander("The theorem on one screen", expanded=True, icon=":material/functions:"):
        theorem()
    with st.expander("The affine form of BN — sliders that flip a verdict", expanded=True):
        affine_lab()
    st.session_state.setdefault("learn_mode", MODES[0])
    mode = st.segmented_control("Mode", MODES, required=True, key="learn_mode") or MODES[0]
    if mode == "Quiz":
        quiz_view()
        return
    st.radio("Lesson", [lesson.key for lesson in LESSONS], horizontal=True, key="learn_lesson",
             format_func=lambda k: f"{[x.key for x in LESSONS].index(k) + 1}. {BY_KEY[k].question}")
    lesson_view(BY_KEY[st.session_state.get("learn_lesson") or LESSONS[0].key])


if __name__ == "__main__":
    render()
