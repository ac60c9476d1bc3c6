"""Run and save ONNX models with onnxruntime (CPU, graph optimisations off)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from ...errors import InspectorError, MissingDependencyError, first_line
from ...model import LoadedModel

#: Recently used sessions, shared by every thread (an app serves several users at
#: once): only touched under ``_LOCK``; a session itself may run in several threads.
_SESSIONS: OrderedDict[Any, tuple[onnx.ModelProto, Any, int]] = OrderedDict()
_LOCK = threading.Lock()
#: Model bytes the cached sessions may hold beyond one fold's working set (the
#: original and the folded model, plain and per-tensor): an app serving large
#: uploads kept 6 sessions, 4.9 GB, after its users had moved on (issue 19.4).
SESSION_BUDGET_BYTES = 1 << 30
_ORT_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64,
              "tensor(float16)": np.float16, "tensor(int64)": np.int64, "tensor(int32)": np.int32}


#: onnxruntime graph optimisation levels, by name. ORT's own optimiser already
#: fuses Conv+BN (the ``adjacent`` rule) from "basic" on.
ORT_LEVELS = ("disabled", "basic", "extended", "all")


def make_session(model: onnx.ModelProto | bytes, level: str = "disabled", *,
                 threads: int | None = None, optimized_path: str | None = None) -> Any:
    """An onnxruntime CPU session, quiet, by default with graph optimisations off
    (so the graph runs as given: no hidden BN fusion).

    Args:
        model: a ModelProto or its serialised bytes.
        level: one of :data:`ORT_LEVELS`.
        threads: intra-op threads (onnxruntime's default when None).
        optimized_path: where onnxruntime saves the graph it optimised.
    """
    try:
        import onnxruntime as ort
    except ImportError as e:  # pragma: no cover - a hard dependency
        raise MissingDependencyError("onnxruntime is not installed. To fix this, "
                                     "pip install onnxruntime.") from e
    if level not in ORT_LEVELS:
        raise InspectorError(f"unknown onnxruntime level {level!r}; use one of {ORT_LEVELS}")
    levels = ort.GraphOptimizationLevel
    opts = ort.SessionOptions()
    opts.graph_optimization_level = {"disabled": levels.ORT_DISABLE_ALL, "basic": levels.ORT_ENABLE_BASIC,
                                     "extended": levels.ORT_ENABLE_EXTENDED,
                                     "all": levels.ORT_ENABLE_ALL}[level]
    opts.log_severity_level = 4  # errors come back as exceptions: no coloured log
    if threads:
        opts.intra_op_num_threads = int(threads)
    if optimized_path:
        opts.optimized_model_filepath = optimized_path
    data = model if isinstance(model, bytes) else model.SerializeToString()
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


def run(model: onnx.ModelProto, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Run ``model`` on CPU with onnxruntime; inputs in graph-input order."""
    return _run(model, lambda: model, id(model), inputs)


def run_tensors(model: onnx.ModelProto, inputs: Sequence[np.ndarray],
                loaded: LoadedModel) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """Run ``model`` and also return every IR tensor of ``loaded.graph`` it computes.

    A copy of the model exposes those tensors as extra graph outputs (the model
    itself is untouched); returns (the model's own outputs, {name: value})."""
    produced = {o for n in model.graph.node for o in n.output if o}
    own = [o.name for o in model.graph.output]
    wanted = [t for t in loaded.graph.tensors if t in produced and t not in own]

    def probe() -> onnx.ModelProto:
        copy = onnx.ModelProto()
        copy.CopyFrom(model)
        copy.graph.output.extend(onnx.ValueInfoProto(name=t) for t in wanted)
        return copy

    values = _run(model, probe, (id(model), "tensors"), inputs, keep_sequences=True)
    # A sequence (SplitToSequence ...) is no tensor to compare: left out.
    return values[:len(own)], {t: v for t, v in zip(wanted, values[len(own):])
                               if isinstance(v, np.ndarray)}


def release_sessions() -> None:
    """Drop every cached session (``Adapter.release``: a fold calls it once verified,
    so large models' sessions are not kept for users who have moved on)."""
    with _LOCK:
        _SESSIONS.clear()


_OUT_OF_MEMORY = ("bad_alloc", "Failed to serialize proto", "Failed to allocate")


def _load_error(e: Exception, model: onnx.ModelProto) -> InspectorError:
    """Why a session could not be made: memory (the process ran out: protobuf reports it as a
    failed serialisation) or the model itself."""
    if isinstance(e, MemoryError) or any(m in str(e) for m in _OUT_OF_MEMORY):
        return InspectorError(
            f"not enough memory to load the {model.ByteSize() / 2**20:,.0f} MB model into "
            "onnxruntime (each session holds a copy of it, and verification runs two). To fix "
            "this, free memory or raise the process's memory limit.")
    return InspectorError(f"onnxruntime cannot load the model: {first_line(e)}. "
                          "To fix this, check it with onnx.checker.check_model.")


def _run(owner: onnx.ModelProto, build: Any, key: Any, inputs: Sequence[np.ndarray],
         keep_sequences: bool = False) -> list[np.ndarray]:
    """Run ``build()`` with a session cached under ``key`` while ``owner`` lives;
    ``keep_sequences``: sequence values stay lists (else every value is an array)."""
    session = _cached(owner, key)
    if session is None:  # built outside the lock: a large model takes seconds
        try:
            entry = (owner, make_session(build()), owner.ByteSize())
        except Exception as e:
            raise _load_error(e, owner) from e
        session = entry[1]  # held here: a concurrent release cannot take it away mid-run
        with _LOCK:
            _SESSIONS[key] = entry
            _SESSIONS.move_to_end(key)
            # Keep 4 sessions of this size (original + folded, plain and per-tensor) and
            # older ones only within the budget: another model's sessions go first.
            budget = max(SESSION_BUDGET_BYTES, 4 * entry[2])
            while len(_SESSIONS) > 6 or (len(_SESSIONS) > 1 and
                                         sum(e[2] for e in _SESSIONS.values()) > budget):
                _SESSIONS.popitem(last=False)
    metas = session.get_inputs()
    if len(metas) != len(inputs):
        raise InspectorError(f"the model takes {len(metas)} inputs but {len(inputs)} were given. "
                             f"To fix this, pass one array per input ({[m.name for m in metas]}).")
    feed = {m.name: np.asarray(x, dtype=_ORT_TYPES.get(m.type)) for m, x in zip(metas, inputs)}
    try:
        outputs = session.run(None, feed)
    except Exception as e:  # onnxruntime raises its own types: one line for the CLI/app
        raise InspectorError(f"onnxruntime failed to run the model: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}. "
                             "To fix this, check the model and the input shapes "
                             "(onnx.checker.check_model, --input-shape).") from e
    return [v if keep_sequences and isinstance(v, list) else np.asarray(v) for v in outputs]


def _cached(owner: onnx.ModelProto, key: Any) -> Any:
    """The cached session for ``key`` if it was built for ``owner`` (else None)."""
    with _LOCK:
        entry = _SESSIONS.get(key)
        if entry is None or entry[0] is not owner:
            return None
        _SESSIONS.move_to_end(key)
        return entry[1]


def save(model: onnx.ModelProto, path: str, loaded: LoadedModel) -> None:
    """Save as ``.onnx`` (weights go to a side file above 2 GiB)."""
    target = Path(path)
    if target.suffix.lower() != ".onnx":
        raise InspectorError(f"cannot save an ONNX model as '{target.suffix or target.name}'. "
                             "To fix this, use the suffix .onnx (the only format for models "
                             "loaded from ONNX).")
    large = model.ByteSize() > 2**31 - 1
    onnx.save_model(model, str(target), save_as_external_data=large,
                    location=target.name + ".data" if large else None)
