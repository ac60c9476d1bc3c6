"""Learn: the affine form of BN and each folding rule on a tiny graph you can fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from inspector.analysis.condition import bn_affine
from inspector.explain import bn_rows
from inspector.ir import Node
from inspector.render import to_dot
from inspector.ui import graph_view
from inspector.ui.bn_panel import status_badge
from inspector.ui.errors import safe_call
from inspector.ui.lessons import BY_KEY, LESSONS, Lesson, bn_node_id, load_lesson


@st.cache_resource(max_entries=32, show_spinner=False)
def lesson_model(key: str, gamma0: float | None) -> tuple:
    """Loaded lesson model and both analyses (shared, never mutated)."""
    from inspector.folding.driver import compare_modes
    from inspector.render.status import compute_statuses

    loaded = load_lesson(BY_KEY[key], gamma0)
    analyses = compare_modes(loaded.graph)
    return loaded, analyses, compute_statuses(loaded.graph, analyses["optimal"], analyses["adjacent"])


@st.fragment
def affine_form() -> None:
    """BN(x) = a·x + c with live sliders (computed by the library's ``bn_affine``)."""
    st.markdown("At inference a BN layer is a fixed **per-channel affine map**:")
    st.latex(r"\mathrm{BN}(x)_k=\gamma_k\frac{x_k-\mu_k}{\sqrt{\sigma_k^2+\varepsilon}}+\beta_k"
             r"=a_k\,x_k+c_k,\quad a_k=\frac{\gamma_k}{\sqrt{\sigma_k^2+\varepsilon}},\quad"
             r" c_k=\beta_k-a_k\,\mu_k")
    cols = st.columns(4)
    gamma = cols[0].slider("γ", -2.0, 2.0, 1.2, 0.05, key="learn_gamma")
    beta = cols[1].slider("β", -2.0, 2.0, 0.3, 0.05, key="learn_beta")
    mean = cols[2].slider("μ (running mean)", -2.0, 2.0, 0.5, 0.05, key="learn_mean")
    var = cols[3].slider("σ² (running var)", 0.01, 4.0, 1.0, 0.01, key="learn_var")
    node = Node("bn", "batch_norm", name="bn", attrs={"eps": 1e-5}, params={
        k: np.array([v]) for k, v in (("gamma", gamma), ("beta", beta), ("mean", mean), ("var", var))})
    a, c = bn_affine(node)
    st.markdown(f"→ **a = {a[0]:.4f}**, **c = {c[0]:.4f}**: the BN multiplies by a and adds c. "
                "Folding writes these into a neighbouring linear layer so the BN disappears "
                "— exactly, when the rules below hold.")


def verdict_table(loaded, statuses) -> None:
    rows = bn_rows(loaded.graph, statuses)
    st.dataframe(pd.DataFrame(rows)[["name", "status", "direction", "roots", "leaves", "details"]],
                 hide_index=True, width="stretch")


def fold_demo(lesson: Lesson, loaded, analyses, gamma0) -> None:
    """Fold the lesson's model on request and show the verification."""
    from inspector.folding.pipeline import fold

    key = f"learn_fold::{lesson.key}::{gamma0}"
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


@st.fragment
def lesson_view(lesson: Lesson) -> None:
    st.markdown(f"### {lesson.title}")
    st.markdown(lesson.text)
    gamma0 = None
    if lesson.slider:
        gamma0 = st.slider("γ of channel 0", -1.5, 1.5, 1.0, 0.05, key="learn_maxpool_gamma",
                           help="a_0 has the sign of γ_0; a negative a_0 cannot cross MaxPool")
        gamma0 = round(float(gamma0), 2)
    got = safe_call("Loading the lesson graph", lesson_model, lesson.key, gamma0)
    if got is None:
        return
    loaded, analyses, statuses = got
    bn = bn_node_id(loaded, lesson)
    if bn is not None and bn in statuses:
        s = statuses[bn]
        st.markdown(f"**Status of `{loaded.graph.node(bn).name}`:** {status_badge(s)} — "
                    f"{s.sentence}")
    opts = graph_view.ViewOptions(rankdir="LR")
    dot = safe_call("Drawing the graph", graph_view.make_dot, loaded.graph, analyses["optimal"],
                    analyses["adjacent"], opts, selected=bn, title=loaded.name, legend=False)
    if dot:
        graph_view.show_graph(dot, key=f"learn_graph::{lesson.key}", selected=bn, height=300)
    verdict_table(loaded, statuses)
    fold_demo(lesson, loaded, analyses, gamma0)


def render() -> None:
    st.title(":material/school: Learn")
    st.caption("How batch-norm folding works, one rule at a time. Every graph below is a tiny "
               "case from the bundled catalogue, analysed and folded by the same engine.")
    with st.expander("The affine form of BN", expanded=True):
        affine_form()
    titles = {lesson.key: lesson.title for lesson in LESSONS}
    key = st.radio("Rule", list(titles), format_func=titles.get, horizontal=True,
                   key="learn_lesson")
    lesson_view(BY_KEY[key])


if __name__ == "__main__":
    render()
