"""The shared sidebar: pick a bundled sample, an uploaded file or a zoo name."""

from __future__ import annotations

import importlib.util

import streamlit as st

from . import state
from .errors import safe_call

SOURCES = ("Sample", "Upload", "Model zoo")
DEFAULT_SAMPLE = "resnet"
ZOO_PREFIXES = {"timm": "timm", "torchvision": "torchvision"}


def sample_options() -> tuple[list[str], dict[str, object]]:
    """Sample names (architectures first, then catalogue cases) and their records."""
    from sample_models import list_samples

    samples = list_samples("architecture") + list_samples("case")
    return [s.name for s in samples], {s.name: s for s in samples}


def default_sample(names: list[str], records: dict[str, object]) -> str:
    """``resnet`` when bundled, else the first architecture, else the first case."""
    if DEFAULT_SAMPLE in records:
        return DEFAULT_SAMPLE
    return names[0]


def zoo_packages() -> list[str]:
    """Installed model-zoo packages (``timm``, ``torchvision``)."""
    return [p for p in ZOO_PREFIXES if importlib.util.find_spec(p) is not None]


def render() -> state.ModelContext | None:
    """Draw the model picker, load the choice and publish it to ``state``."""
    ctx = None
    with st.sidebar:
        st.markdown("#### Model")
        source = st.radio("Source", SOURCES, key="model_source", horizontal=True,
                          label_visibility="collapsed")
        if source == "Sample":
            ctx = _sample_picker()
        elif source == "Upload":
            ctx = _upload_picker()
        else:
            ctx = _zoo_picker()
        if ctx is not None:
            _model_caption(ctx)
    state.set_context(ctx)
    return ctx


def _sample_picker() -> state.ModelContext | None:
    names, records = safe_call("Listing the bundled samples", sample_options) or ([], {})
    if not names:
        st.warning("No bundled samples found.")
        return None
    if st.session_state.get("sample_name") not in records:
        st.session_state["sample_name"] = default_sample(names, records)
    name = st.selectbox(
        "Bundled sample", names, key="sample_name",
        format_func=lambda n: f"{n}  ·  {records[n].kind}",
        help="Architectures are small real networks; cases are one-rule catalogue graphs.",
    )
    st.caption(records[name].description)
    with st.spinner(f"Loading sample {name}…"):
        return safe_call(f"Loading sample {name}", state.open_model, f"sample:{name}")


def _upload_picker() -> state.ModelContext | None:
    up = st.file_uploader(
        "ONNX or torch.export file", type=list(state.UPLOAD_TYPES), key="upload",
        max_upload_size=state.MAX_UPLOAD_MB,
        help="Read without running code: .pt2 archives are checked and never unpickled; "
             "ONNX files must be self-contained (no external data).",
    )
    st.caption(f"`.onnx` or `.pt2` (torch.export.save), up to {state.MAX_UPLOAD_MB} MB.")
    if up is None:
        st.info("Upload a model file to inspect it.")
        return None
    data = up.getvalue()
    if not data:
        st.error(f"{up.name} is empty.")
        return None
    key = state.content_key("upload", data, up.name)
    with st.spinner(f"Parsing {up.name}…"):
        return safe_call(f"Loading {up.name}", state.open_model, key, data, up.name)


def _zoo_picker() -> state.ModelContext | None:
    available = zoo_packages()
    if not available:
        st.info("Install `timm` or `torchvision` (pip install '.[zoo]') to load zoo models by name.")
        return None
    st.text_input(
        "Model name", key="zoo_name", placeholder=f"{available[0]}:resnet18",
        help="e.g. torchvision:densenet121, timm:resnet50 (random weights, BN statistics randomised).",
    )
    text = (st.session_state.get("zoo_name") or "").strip()
    if not text:
        st.caption("Installed: " + ", ".join(f"`{p}:`" for p in available))
        return None
    prefix = text.split(":", 1)[0]
    if ":" not in text or prefix not in ZOO_PREFIXES:
        st.error("Use `timm:NAME` or `torchvision:NAME`.")
        return None
    if prefix not in available:
        st.error(f"`{prefix}` is not installed. To fix this, pip install {prefix}.")
        return None
    with st.spinner(f"Building {text}… (large models take a few seconds)"):
        return safe_call(f"Loading {text}", state.open_model, text)


def _model_caption(ctx: state.ModelContext) -> None:
    g = ctx.graph
    st.caption(
        f"**{ctx.name}** · {ctx.loaded.framework} · {len(g)} nodes · {len(ctx.statuses)} BN · "
        f"analysed in {sum(a.seconds for a in ctx.analyses.values()):.2f} s"
    )
    for note in ctx.loaded.notes[:5]:
        st.caption(f"ℹ️ {note}")
