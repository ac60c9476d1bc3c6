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

_SESSIONS: OrderedDict[int, tuple[onnx.ModelProto, Any]] = OrderedDict()
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
    key = id(model)
    if key not in _SESSIONS or _SESSIONS[key][0] is not model:
        try:
            _SESSIONS[key] = (model, make_session(model))
        except Exception as e:
            raise InspectorError(f"onnxruntime cannot load the model: {str(e).splitlines()[0]}. "
                                 "To fix this, check it with onnx.checker.check_model.") from e
        while len(_SESSIONS) > 4:
            _SESSIONS.popitem(last=False)
    _SESSIONS.move_to_end(key)
    session = _SESSIONS[key][1]
    metas = session.get_inputs()
    if len(metas) != len(inputs):
        raise InspectorError(f"the model takes {len(metas)} inputs but {len(inputs)} were given. "
                             f"To fix this, pass one array per input ({[m.name for m in metas]}).")
    feed = {m.name: np.asarray(x, dtype=_ORT_TYPES.get(m.type)) for m, x in zip(metas, inputs)}
    return [np.asarray(v) for v in session.run(None, feed)]


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
