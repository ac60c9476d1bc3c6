"""Run and save ONNX models with onnxruntime (CPU, graph optimisations off)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from ...errors import InspectorError
from ...model import LoadedModel

_SESSIONS: OrderedDict[Any, tuple[onnx.ModelProto, Any]] = OrderedDict()
_ORT_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64,
              "tensor(float16)": np.float16, "tensor(int64)": np.int64, "tensor(int32)": np.int32}


def make_session(model: onnx.ModelProto) -> Any:
    """An onnxruntime CPU session with graph optimisations off (no hidden BN fusion)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


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

    values = _run(model, probe, (id(model), "tensors"), inputs)
    return values[:len(own)], dict(zip(wanted, values[len(own):]))


def _run(owner: onnx.ModelProto, build: Any, key: Any,
         inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Run ``build()`` with a session cached under ``key`` while ``owner`` lives."""
    if key not in _SESSIONS or _SESSIONS[key][0] is not owner:
        try:
            _SESSIONS[key] = (owner, make_session(build()))
        except Exception as e:
            raise InspectorError(f"onnxruntime cannot load the model: {str(e).splitlines()[0]}. "
                                 "To fix this, check it with onnx.checker.check_model.") from e
        while len(_SESSIONS) > 6:  # original + folded, plain and per-tensor
            _SESSIONS.popitem(last=False)
    _SESSIONS.move_to_end(key)
    session = _SESSIONS[key][1]
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
    return [np.asarray(v) for v in outputs]


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
