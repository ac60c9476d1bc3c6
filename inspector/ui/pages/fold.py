"""Fold: apply folding, verify it, show the weight changes, download the results."""

from __future__ import annotations

import re
import time

import streamlit as st

from inspector.analysis.verdict import Mode
from inspector.folding.pipeline import FoldResult
from inspector.report import mode_summary
from inspector.safe_text import md_names, md_text
from inspector.ui import exports, state
from inspector.ui.errors import safe_call
from inspector.ui.fold_views import before_after, weight_changes
from inspector.ui.quant_view import quantization_impact

#: The modes offered, in menu order.
MODES = tuple(m.value for m in (Mode.OPTIMAL, Mode.ADJACENT, Mode.REPARAM))
#: The mode control's help: each mode and what it does (the app's own words).
MODE_HELP = " · ".join(f"**{Mode(m).words}**".replace(" — ", "**: ", 1) for m in MODES)


def apply_controls(ctx: state.ModelContext) -> str:
    """Mode choice and the Apply button; returns the chosen mode."""
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    mode = c1.segmented_control("Mode", list(MODES), default=Mode.OPTIMAL.value, key="fold_mode",
                                required=True, help=MODE_HELP) or Mode.OPTIMAL.value
    if c2.button("Apply folding", type="primary", key="fold_apply", width="stretch"):
        result = fold_with_progress(ctx, mode)
        if result is not None:
            gone = result.analysis.folded_count + result.analysis.merged_count
            st.toast(f"Removed {gone} BN ({mode}); verification "
                     f"{'passed' if result.verification.passed else 'FAILED'}")
    return mode


def stage_of(message: str) -> str:
    """The stage line a progress message belongs to: the message itself, except that
    ``verifying: `` is dropped and every ``comparing tensor k of N: x`` of one run is
    one stage, ``comparing N shared tensors one by one``."""
    msg = message.removeprefix("verifying: ")
    m = re.match(r"comparing tensor \d+ of (\d+)", msg)
    return f"comparing {m.group(1)} shared tensors one by one" if m else msg


def fold_with_progress(ctx: state.ModelContext, mode: str) -> FoldResult | None:
    """Run the fold inside a status box: one line per stage (analysis, write-back,
    each verification run), a bar with what is being compared right now."""
    t0 = time.perf_counter()
    with st.status(f"Folding `{mode}`…", expanded=True) as box:
        bar = st.progress(0.0, text="starting…")
        seen: list[str] = []

        def progress(msg: str, frac: float) -> None:
            stage = stage_of(msg)
            if not seen or seen[-1] != stage:
                seen.append(stage)
                box.write(f"{time.perf_counter() - t0:5.1f} s · {md_text(stage)}")
            bar.progress(min(max(frac, 0.0), 1.0), text=md_text(msg))

        result = safe_call(f"Folding ({mode})", state.run_fold, ctx, mode, progress)
        bar.empty()
        took = time.perf_counter() - t0
        if result is None:
            box.update(label=f"Folding `{mode}` failed after {took:.1f} s", state="error")
        else:
            box.update(label=f"Folded `{mode}` in {took:.1f} s ({len(seen)} stages)",
                       state="complete", expanded=False)
    return result


def mode_table(ctx: state.ModelContext) -> None:
    """Every mode side by side: BNs folded/merged/left, nodes and convs before → after."""
    rows = []
    for mode in MODES:
        m = mode_summary(ctx.analyses[mode])
        rows.append({"mode": mode, "BN folded": m["folded"], "BN merged": m["merged"],
                     "BN left": m["remaining"],
                     "nodes": f"{m['nodes_before']} → {m['nodes_after']}",
                     "convs": f"{m['convs_before']} → {m['convs_after']}"})
    st.dataframe(rows, hide_index=True,
                 column_config={"nodes": st.column_config.TextColumn(
                     help="nodes of the deployed model (inputs, outputs and identities left by "
                          "folds not counted)")})


def summary(ctx: state.ModelContext, result: FoldResult) -> None:
    """Before/after counts and the verification verdict."""
    a = result.analysis
    m = mode_summary(a)
    removed = m["folded"] + m["merged"]
    bn0 = len(ctx.statuses)
    cols = st.columns(5)
    cols[0].metric("BN layers", f"{bn0} → {bn0 - removed}", delta=f"-{removed}" if removed else None,
                   delta_color="inverse" if removed else "off")
    cols[1].metric("Nodes", f"{m['nodes_before']} → {m['nodes_after']}",
                   help="nodes of the deployed model: folded BNs become identities and are "
                        "removed from the saved model; merged regions become one conv")
    cols[2].metric("Convs", f"{m['convs_before']} → {m['convs_after']}")
    v = result.verification
    cols[3].metric("Max abs error", f"{v.max_abs_error:.2e}")
    cols[4].metric("Max rel error", f"{v.max_rel_error:.2e}", help=f"tolerance {v.tolerance:.0e}")
    if v.passed:
        st.success(f"**Verification passed** — the folded model computes the same function "
                   f"(max relative error {v.max_rel_error:.2e} ≤ {v.tolerance:.0e}, "
                   f"{v.trials} random input sets).", icon=":material/check_circle:")
    else:
        st.error(f"**Verification FAILED** — max relative error {v.max_rel_error:.2e} > "
                 f"{v.tolerance:.0e}.", icon=":material/error:")
    for note in v.notes:  # noise-floor judgements, what was not compared and why (plain text)
        st.text(note)
    if result.rolled_back:
        st.warning(f"Rolled back {len(result.rolled_back)} fold(s) that did not verify: "
                   f"{md_names(ctx.graph.node(b).name for b in result.rolled_back)}")
    t = result.timings
    merged = f" ({m['merged']} merged)" if m["merged"] else ""
    st.caption(f"{removed} BN removed{merged} in mode `{result.mode}` · analysis {t.get('analyze_s', 0):.2f} s"
               f" · write-back and verification {t.get('fold_s', 0):.2f} s")


def downloads(ctx: state.ModelContext, result: FoldResult) -> None:
    """Folded model(s), JSON report, annotated SVG."""
    # Two rows of two: every label (the SVG's names the mode) fits at 1280 px.
    cols = [*st.columns(2), *st.columns(2)]
    for col, suffix in zip(cols, exports.model_formats(ctx)):
        with col:
            st.download_button(
                f"Folded model ({suffix})",
                data=lambda suffix=suffix: exports.model_bytes(result, suffix),
                file_name=f"{ctx.slug}-folded-{result.mode}{suffix}", mime=exports.MIME.get(suffix, exports.BINARY),
                key=f"dl_model{suffix}", icon=":material/download:", on_click="ignore",
            )
    with cols[2]:
        st.download_button("JSON report", data=lambda: exports.report_json(ctx, result),
                           file_name=f"{ctx.slug}-report.json", mime=exports.MIME[".json"],
                           key="dl_report", icon=":material/download:", on_click="ignore")
    with cols[3]:
        dot = safe_call("Building the SVG", exports.export_dot, ctx,
                       analysis=result.analysis)
        if dot is not None:
            exports.svg_download(ctx, dot, key="dl_svg", label=f"Annotated SVG ({result.mode})",
                                 name=f"{ctx.slug}-{result.mode}.svg")
    formats = exports.model_formats(ctx)
    if len(formats) == 1:
        st.caption(f"{ctx.loaded.frontend.display} input: the folded model is written as "
                   f"{formats[0]}.")


def render() -> None:
    ctx = state.current()
    st.title(":material/join_inner: Fold")
    if ctx is None:
        st.info("Pick a model in the sidebar first.")
        return
    st.caption(f"**{md_text(ctx.name)}** — fold the BNs, verify the result numerically and see "
               "exactly which weights changed.")
    mode = apply_controls(ctx)
    mode_table(ctx)
    result = state.get_fold(ctx, mode)
    if result is None:
        a = ctx.analyses[mode]
        n = a.folded_count + a.merged_count
        st.info(f"Mode `{mode}` would remove {n} of {len(ctx.statuses)} BN. Press **Apply folding**.")
        return
    summary(ctx, result)
    tabs = st.tabs(["Weight changes", "Before / after graph", "Downloads"])
    with tabs[0]:
        weight_changes(ctx, result)
    with tabs[1]:
        before_after(ctx, result)
    with tabs[2]:
        downloads(ctx, result)
    quantization_impact(ctx, result)


if __name__ == "__main__":
    render()
