"""The shared sidebar: pick a bundled sample, an uploaded file or a zoo name."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import streamlit as st

from ..safe_text import md_code, md_sentence, md_text
from . import state
from .errors import safe_call, show_error

SOURCES = ("Sample", "Upload", "Model zoo")
DEFAULT_SAMPLE = "showcase"
ZOO_PREFIXES = {"timm": "timm", "torchvision": "torchvision"}


def sample_options() -> tuple[list[str], dict[str, object]]:
    """Sample names (architectures first, then catalogue cases) and their records."""
    from sample_models import list_samples

    samples = list_samples("architecture") + list_samples("case")
    return [s.name for s in samples], {s.name: s for s in samples}


def default_sample(names: list[str], records: dict[str, object]) -> str:
    """``showcase`` (every status on one screen) when bundled, else the first architecture, else the first case."""
    if DEFAULT_SAMPLE in records:
        return DEFAULT_SAMPLE
    return names[0]


def zoo_packages() -> list[str]:
    """Installed model-zoo packages (``timm``, ``torchvision``)."""
    return [p for p in ZOO_PREFIXES if importlib.util.find_spec(p) is not None]


#: Session keys: the last choice seen per source, the load error (the model on
#: screen is ``state.current()``).
SEEN = "bnfold_seen"
LOAD_ERROR = "bnfold_load_error"
KEEP_SAMPLE, KEEP_ZOO = "bnfold_keep_sample", "bnfold_keep_zoo"


@dataclass(frozen=True)
class Choice:
    """What a picker has selected: a label for messages and how to open it."""

    label: str
    key: str
    data: bytes | None = None
    filename: str | None = None


def close_matches(exc: BaseException) -> list[str]:
    """The model names a load error suggests (``InspectorError.close_matches`` of it or
    of an error it was raised from); may be empty."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        found = getattr(exc, "close_matches", ())
        if found:
            return list(found)
        exc = exc.__cause__ or exc.__context__
    return []


def render() -> state.ModelContext | None:
    """Draw the model picker, load the choice and publish it to ``state``.

    The model on screen only changes when the user chooses another one: switching
    the Source radio alone keeps it. A load error is shown in the sidebar and in
    the main area (with clickable close matches for a mistyped zoo name), and the
    previous model stays.
    """
    with st.sidebar:
        st.markdown("#### Model")
        source = st.radio("Source", SOURCES, key="model_source", horizontal=True,
                          label_visibility="collapsed")
        pickers = {"Sample": _sample_picker, "Upload": _upload_picker}
        choice = pickers.get(source, _zoo_picker)()
        ctx = _open(source, choice)
        if ctx is not None:
            _model_caption(ctx)
        _error_here(sidebar=True)
    _error_here(sidebar=False)
    state.set_context(ctx)
    return ctx


def _open(source: str, choice: Choice | None) -> state.ModelContext | None:
    """Open ``choice`` if it is new for ``source`` (or nothing is open); else keep the model."""
    seen = st.session_state.setdefault(SEEN, {})
    active = state.current()
    changed = choice is not None and seen.get(source) != choice.key
    if choice is not None and active is not None and not changed and active.key != choice.key:
        st.caption(f"Showing **{md_text(active.name)}**; the {source.lower()} choice is "
                   f"{md_code(choice.label)}.")
        if st.button(f"Open {md_text(choice.label)}", key=f"open_choice::{source}"):
            changed = True
    if choice is None or not (changed or active is None):
        return active
    seen[source] = choice.key
    st.session_state.pop(LOAD_ERROR, None)
    try:
        with st.spinner(f"Loading {md_text(choice.label)}… (large models take a few seconds)"):
            ctx = state.open_model(choice.key, choice.data, choice.filename)
    except Exception as e:  # shown in both places, the previous model stays
        st.session_state[LOAD_ERROR] = (f"Loading {choice.label}", e)
        return active
    state.set_context(ctx)
    return ctx


def _use_match(name: str) -> None:
    """Callback: put a suggested zoo name in the name box."""
    prefix = (st.session_state.get("zoo_name") or "").split(":", 1)[0] or "torchvision"
    st.session_state["zoo_name"] = f"{prefix}:{name}"
    st.session_state["model_source"] = "Model zoo"


def _error_here(*, sidebar: bool) -> None:
    err = st.session_state.get(LOAD_ERROR)
    if err is None:
        return
    what, exc = err
    show_error(what, exc)
    matches = close_matches(exc)
    if matches:
        st.caption("Close matches (click to load):")
        cols = st.columns(min(len(matches), 3))
        for i, name in enumerate(matches):
            cols[i % len(cols)].button(md_text(name), key=f"match::{'side' if sidebar else 'main'}::{name}",
                                       on_click=_use_match, args=(name,))


def _sample_picker() -> Choice | None:
    names, records = safe_call("Listing the bundled samples", sample_options) or ([], {})
    if not names:
        st.warning("No bundled samples found.")
        return None
    # Widget state is dropped while another source is shown: keep the choice apart.
    if st.session_state.get("sample_name") not in records:
        kept = st.session_state.get(KEEP_SAMPLE)
        st.session_state["sample_name"] = kept if kept in records else default_sample(names, records)
    name = st.selectbox(
        "Bundled sample", names, key="sample_name",
        format_func=lambda n: f"{n}  ·  {records[n].kind}",
        help="Architectures are small real networks; cases are one-rule catalogue graphs.",
    )
    st.session_state[KEEP_SAMPLE] = name
    st.caption(md_sentence(records[name].description))
    return Choice(f"sample {name}", f"sample:{name}")


def _upload_picker() -> Choice | None:
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
        st.error(f"{md_text(up.name)} is empty.")
        return None
    return Choice(up.name, state.content_key("upload", data, up.name), data, up.name)


#: Zoo models worth opening first (each shows something the inspector is about).
ZOO_SUGGESTED = ("torchvision:densenet121", "timm:repvgg_a2", "timm:mobileone_s0",
                 "torchvision:resnet50", "torchvision:mobilenet_v3_small", "timm:fastvit_t8",
                 "torchvision:efficientnet_b0", "timm:resnetv2_50")


@st.cache_data(show_spinner=False)
def zoo_names(packages: tuple[str, ...]) -> list[str]:
    """``prefix:name`` of every model the installed zoo packages list (suggested ones
    first); nothing is built or downloaded."""
    names: list[str] = []
    if "torchvision" in packages:
        import torchvision

        names += [f"torchvision:{n}" for n in torchvision.models.list_models()]
    if "timm" in packages:
        import timm

        names += [f"timm:{n}" for n in timm.list_models()]
    known = set(names)
    first = [n for n in ZOO_SUGGESTED if n in known]
    return first + sorted(known - set(first))


def _zoo_picker() -> Choice | None:
    available = zoo_packages()
    if not available:
        st.info("Install `timm` or `torchvision` (pip install '.[zoo]') to load zoo models by name.")
        return None
    options = safe_call("Listing the zoo models", zoo_names, tuple(available)) or []
    if "zoo_name" not in st.session_state and st.session_state.get(KEEP_ZOO):
        st.session_state["zoo_name"] = st.session_state[KEEP_ZOO]
    current = st.session_state.get("zoo_name")
    if current and current not in options:
        options = [current, *options]  # a name typed before stays selectable
    st.selectbox(
        "Model name", options, key="zoo_name", index=None, accept_new_options=True,
        placeholder=f"type to search {len(options)} names, e.g. densenet121",
        help="Type to filter the names of the installed zoos; any other `timm:NAME` or "
             "`torchvision:NAME` can be typed in (random weights, BN statistics randomised).",
    )
    text = (st.session_state.get("zoo_name") or "").strip()
    st.session_state[KEEP_ZOO] = text
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
    return Choice(text, text)


def _model_caption(ctx: state.ModelContext) -> None:
    from ..report import node_count

    st.caption(
        f"**{md_text(ctx.name)}** · {md_text(ctx.loaded.framework)} · {node_count(ctx.graph)} {md_text(ctx.loaded.frontend.node_unit)} · "
        f"{len(ctx.statuses)} BN · "
        f"analysed in {sum(a.seconds for a in ctx.analyses.values()):.2f} s"
    )
    for note in ctx.loaded.notes[:5]:
        st.caption(f"ℹ️ {md_sentence(note)}")
