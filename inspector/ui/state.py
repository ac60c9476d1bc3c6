"""Cached models and analyses, and the per-session selection and folds.

Cached objects (``st.cache_resource``) are shared by every session: they are
never mutated. Folded models live in ``st.session_state`` only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import streamlit as st

from ..analysis.verdict import Mode
from ..errors import InspectorError
from ..folding.pipeline import FoldResult
from ..folding.plan import Analysis
from ..frontends import SUFFIXES
from ..ir import Graph
from ..model import LoadedModel

T = TypeVar("T")

#: Session-state keys.
CTX = "bnfold_ctx"
FOLDS = "bnfold_folds"
#: Largest accepted upload, in MB (also passed to ``st.file_uploader``).
MAX_UPLOAD_MB = 300
UPLOAD_TYPES = tuple(s.lstrip(".") for s in SUFFIXES)  # every registered frontend's files
#: Model names the app may load: never ``package.module:callable`` (that runs code).
APP_SPEC_PREFIXES = ("sample:", "timm:", "torchvision:")
#: Folding modes analysed for every model (``reparam`` also merges parallel branches).
MODES = tuple(m.value for m in Mode)


@dataclass(frozen=True)
class ModelContext:
    """The model the session works on, with every mode's analysis (``MODES``) and the
    statuses of the optimal/adjacent comparison."""

    key: str
    loaded: LoadedModel
    analyses: dict[str, Analysis]
    statuses: dict[str, Any]  # BN id -> render.status.BNStatus

    @property
    def graph(self) -> Graph:
        return self.loaded.graph

    @property
    def name(self) -> str:
        return self.loaded.name

    @property
    def optimal(self) -> Analysis:
        return self.analyses["optimal"]

    @property
    def adjacent(self) -> Analysis:
        return self.analyses["adjacent"]

    @property
    def reparam(self) -> Analysis:
        return self.analyses["reparam"]

    @property
    def slug(self) -> str:
        """A file-name-safe short name of the model."""
        base = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in self.name)
        return base.strip("_")[:60] or "model"


def content_key(prefix: str, data: bytes, filename: str) -> str:
    """Cache key of an upload: its content hash plus the (display) file name."""
    return f"{prefix}:{hashlib.sha256(data).hexdigest()[:20]}:{filename}"


def _check_spec(key: str) -> None:
    """Only sample/zoo names: ``package.module:callable`` and paths stay CLI/library-only."""
    if not key.startswith(APP_SPEC_PREFIXES) or "/" in key or "\\" in key:
        raise InspectorError(f"{key!r} is not a bundled sample or a timm:/torchvision: name. "
                             "To fix this, upload the model as a .onnx or .pt2 file.")


@st.cache_resource(max_entries=8, show_spinner=False)
def _load_spec(key: str) -> LoadedModel:
    from ..frontends import load

    _check_spec(key)
    return load(key)


@st.cache_resource(max_entries=8, show_spinner=False)
def _load_upload(key: str, _data: bytes, filename: str) -> LoadedModel:
    """Load uploaded bytes (the key carries the content hash) as an untrusted file:
    no unpickling, no external data, tensors capped at the default ``max_tensor_mb``."""
    from ..frontends import load_bytes

    return load_bytes(_data, filename)


@st.cache_resource(max_entries=8, show_spinner=False)
def _analyse(key: str, _loaded: LoadedModel) -> tuple[dict[str, Analysis], dict[str, Any]]:
    from ..folding.driver import compare_modes
    from ..render.status import compute_statuses

    analyses = compare_modes(_loaded.graph, modes=MODES)
    statuses = compute_statuses(_loaded.graph, analyses["optimal"], analyses["adjacent"])
    return analyses, statuses


def open_model(key: str, data: bytes | None = None, filename: str | None = None) -> ModelContext:
    """Load (cached) and analyse (cached) a model; raises InspectorError."""
    if data is not None:
        if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
            raise InspectorError(f"{filename} is larger than {MAX_UPLOAD_MB} MB")
        loaded = _load_upload(key, data, filename or "upload")
    else:
        _check_spec(key)
        loaded = _load_spec(key)
    analyses, statuses = _analyse(key, loaded)
    return ModelContext(key, loaded, analyses, statuses)


def set_context(ctx: ModelContext | None) -> None:
    st.session_state[CTX] = ctx


def current() -> ModelContext | None:
    """The model chosen in the sidebar this run (None if loading failed)."""
    return st.session_state.get(CTX)


# -- selection ---------------------------------------------------------------
def selection_key(ctx: ModelContext) -> str:
    """Widget key of the selected-BN selectbox (one per model)."""
    return f"sel_bn::{ctx.key}"


def select_bn(ctx: ModelContext, bn_id: str | None) -> None:
    """Set the selection (only call from callbacks or before the selectbox exists)."""
    if bn_id is None or bn_id in ctx.statuses:
        st.session_state[selection_key(ctx)] = bn_id


# -- folds -------------------------------------------------------------------
def folds() -> dict[tuple[str, str], FoldResult]:
    """(model key, mode) -> FoldResult, for this session."""
    return st.session_state.setdefault(FOLDS, {})


def get_fold(ctx: ModelContext, mode: str) -> FoldResult | None:
    return folds().get((ctx.key, mode))


def run_fold(ctx: ModelContext, mode: str, progress=None) -> FoldResult:
    """Fold (verified) and remember the result in the session."""
    from ..folding.pipeline import fold

    result = fold(ctx.loaded, mode, analysis=ctx.analyses[mode], progress=progress)
    store = folds()
    for k in [k for k in store if k[0] != ctx.key]:
        del store[k]  # keep only the current model's folds
    store[(ctx.key, mode)] = result
    return result


def per_result(ctx: ModelContext, result: FoldResult, what: str, compute: Callable[[Any], T]) -> T:
    """``compute(result.analysis)``, kept in the session while ``result`` is the current
    fold of this model and mode (charts and tables re-run without recomputing)."""
    key = f"{what}::{ctx.key}::{result.mode}"
    cached = st.session_state.get(key)
    if cached is None or cached[0] is not result:
        cached = (result, compute(result.analysis))
        st.session_state[key] = cached
    return cached[1]
