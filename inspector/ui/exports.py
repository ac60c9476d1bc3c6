"""Download payloads: annotated SVG, JSON report, folded model files.

Each builder is called lazily by ``st.download_button(data=callable)``.
"""

from __future__ import annotations

import os
import tempfile

import streamlit as st

from ..folding.pipeline import FoldResult
from ..folding.plan import Analysis
from ..render import dot_available, render_svg, to_dot
from ..render.svg import DOT_MISSING
from ..report import build_report, to_json
from .state import ModelContext

#: The MIME type of a model file in any format without one of its own below.
BINARY = "application/octet-stream"
MIME = {".onnx": BINARY, ".pt2": BINARY,
        ".svg": "image/svg+xml", ".json": "application/json", ".dot": "text/vnd.graphviz"}


def export_dot(ctx: ModelContext, selected: str | None = None,
               analysis: Analysis | None = None) -> str:
    """DOT of the whole-graph export: every node, uncollapsed, statuses, tooltips, legend;
    BNs coloured by ``analysis`` (default ``optimal``; on the Fold page the applied
    fold's, so that merged BNs show as merged in ``reparam``), compared with ``adjacent``."""
    analysis = analysis or ctx.optimal
    title = ctx.name if analysis.mode == "optimal" else f"{ctx.name} (mode {analysis.mode})"
    return to_dot(ctx.graph, analysis, ctx.adjacent, selected=selected, title=title, rankdir="TB")


def svg_bytes(dot: str) -> bytes:
    return render_svg(dot).encode("utf-8")


def report_json(ctx: ModelContext, result: FoldResult | None = None) -> bytes:
    """The JSON report of the fold ``result``, else of the model's analyses."""
    report = build_report(result if result is not None else ctx.loaded, ctx.analyses)
    return to_json(report).encode("utf-8")


def model_bytes(result: FoldResult, suffix: str) -> bytes:
    """The folded model as the bytes of a ``suffix`` file (``FoldResult.save``, as the CLI)."""
    with tempfile.TemporaryDirectory(prefix="bnfold-export-") as tmp:
        return result.save(os.path.join(tmp, f"model{suffix}")).read_bytes()


def model_formats(ctx: ModelContext) -> list[str]:
    """Download formats: what the model's format saves (``.onnx`` for ONNX inputs,
    ``.pt2`` and ``.onnx`` for PyTorch)."""
    return list(ctx.loaded.frontend.save_formats)


def svg_download(ctx: ModelContext, dot: str, *, key: str, label: str = "Download annotated SVG",
                 name: str | None = None) -> None:
    """An SVG download button, or a DOT download plus how to enable SVG."""
    if dot_available():
        st.download_button(label, data=lambda: svg_bytes(dot), file_name=name or f"{ctx.slug}.svg",
                           mime=MIME[".svg"], key=key, icon=":material/download:",
                           on_click="ignore")
    else:
        st.download_button("Download DOT (SVG export needs Graphviz)", data=dot.encode("utf-8"),
                           file_name=f"{ctx.slug}.dot", mime=MIME[".dot"], key=key,
                           on_click="ignore")
        st.caption(DOT_MISSING)
