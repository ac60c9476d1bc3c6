"""The session's model, its analyses, folds and per-model caches.

One session-state key (``CTX``) holds the model on screen. Everything computed
for it (folds, per-fold tables, the timing floor and ONNX exports, timing
results, widget state) is keyed by the model and evicted when the session opens
another model (``set_context``); Streamlit drops the session state when the
session ends. Uploads are parsed per session, never into a cache shared by all
sessions: a large upload is held once, by the session that uploaded it, and
freed when that session moves on or ends. Bundled samples and zoo names are
cached for every session (``st.cache_resource``, never mutated).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import streamlit as st

from ..analysis.verdict import Mode
from ..errors import InspectorError
from ..folding.pipeline import FoldResult
from ..folding.plan import Analysis
from ..frontends import SUFFIXES
from ..ir import Graph
from ..limits import DEFAULT_MAX_TENSOR_MB
from ..model import LoadedModel

T = TypeVar("T")

#: Session-state keys: the model on screen, its folds, its other caches.
CTX = "bnfold_ctx"
FOLDS = "bnfold_folds"
CACHES = "bnfold_model_caches"
#: Cap on any tensor the app creates for a model (timing inputs included), MB.
MAX_TENSOR_MB = DEFAULT_MAX_TENSOR_MB
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
    statuses: dict[str, Any]  # BN id -> statuses.BNStatus (optimal vs adjacent)
    #: Statuses of every mode against ``adjacent`` (computed once per model).
    mode_statuses: dict[str, dict[str, Any]] = field(default_factory=dict)

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


def _load_upload(data: bytes, filename: str) -> LoadedModel:
    """Load uploaded bytes as an untrusted file: no unpickling, no external data,
    tensors capped at ``MAX_TENSOR_MB``. Not cached across sessions: the session
    that uploaded it holds it (``CTX``) until it opens another model or ends."""
    from ..frontends import load_bytes

    return load_bytes(data, filename, max_tensor_mb=MAX_TENSOR_MB)


def _analyse(loaded: LoadedModel) -> tuple[dict[str, Analysis], dict[str, dict[str, Any]]]:
    """Every mode's analysis and, per mode, the BN statuses against ``adjacent``."""
    from ..folding.driver import compare_modes
    from ..statuses import compute_statuses

    analyses = compare_modes(loaded.graph, modes=MODES)
    statuses = {m: compute_statuses(loaded.graph, analyses[m], analyses["adjacent"])
                for m in MODES}
    return analyses, statuses


@st.cache_resource(max_entries=4, show_spinner=False)
def _analyse_spec(key: str, _loaded: LoadedModel) -> tuple[dict[str, Analysis], dict]:
    return _analyse(_loaded)


def open_model(key: str, data: bytes | None = None, filename: str | None = None) -> ModelContext:
    """Load and analyse a model (samples and zoo names cached for all sessions, an
    upload for this session only); raises InspectorError."""
    if data is not None:
        if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
            raise InspectorError(f"{filename} is larger than {MAX_UPLOAD_MB} MB")
        loaded = _load_upload(data, filename or "upload")
        analyses, statuses = _analyse(loaded)
    else:
        _check_spec(key)
        loaded = _load_spec(key)
        analyses, statuses = _analyse_spec(key, loaded)
    return ModelContext(key, loaded, analyses, statuses["optimal"], statuses)


def set_context(ctx: ModelContext | None) -> None:
    """Put ``ctx`` on screen; when it is another model than before, everything kept
    for the previous one is evicted (``evict``)."""
    old = st.session_state.get(CTX)
    if old is not None and (ctx is None or old.key != ctx.key):
        evict(old.key)
    st.session_state[CTX] = ctx


def evict(model_key: str) -> int:
    """Drop every session entry kept for ``model_key``: its folds, its caches
    (``model_cache``), ``per_result`` tables, timing results and the state of its
    widgets (keys ``<what>::<model key>...``). Returns how many were dropped."""
    dropped = 0
    store = st.session_state.get(FOLDS, {})
    for k in [k for k in store if k[0] == model_key]:
        del store[k]
        dropped += 1
    caches = st.session_state.get(CACHES, {})
    dropped += len(caches.pop(model_key, {}))
    marker = f"::{model_key}"
    for k in [k for k in st.session_state if isinstance(k, str) and marker in k]:
        del st.session_state[k]
        dropped += 1
    return dropped


def model_cache(ctx: ModelContext, name: str) -> dict:
    """A dict for ``name`` (e.g. ``onnx_cache``) kept in the session for this model
    only: dropped with everything else of the model by ``evict``."""
    caches = st.session_state.setdefault(CACHES, {})
    return caches.setdefault(ctx.key, {}).setdefault(name, {})


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
    cache = model_cache(ctx, "per_result")
    key = (what, result.mode)
    cached = cache.get(key)
    if cached is None or cached[0] is not result:
        cached = (result, compute(result.analysis))
        cache[key] = cached
    return cached[1]
