"""How variants run while timed: onnxruntime sessions for any format (through the
adapter's ONNX export) or the format's own backend (``Adapter.time_runners``)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from ..errors import InspectorError, UnsupportedModelError, first_line
from ..frontends.onnx.runtime import ORT_LEVELS as _ORT_LEVELS
from ..model import LoadedModel
from .variants import input_arrays, input_specs

#: onnxruntime times every format (through the adapter's ONNX export).
ORT = "onnxruntime"
#: Every timing backend: onnxruntime, and the formats' own (``Adapter.timing_backends``).
BACKENDS = ("torch", ORT)
#: onnxruntime graph optimisation levels (``frontends.onnx.runtime``): "disabled"
#: shows what the folded model itself gains.
ORT_LEVELS = _ORT_LEVELS

Progress = Callable[[str, float], None]
Runner = Callable[[], Any]


@contextmanager
def runners(loaded, variants, backend, batch, size, threads, ort_level,
            say: Progress) -> Iterator[dict[str, Runner]]:
    """Zero-argument runners of every variant on ``backend`` (onnxruntime, or the format's
    own through ``Adapter.time_runners``), at the timing input shape."""
    if backend not in BACKENDS:
        raise InspectorError(f"unknown backend {backend!r}; use one of {BACKENDS}")
    if backend not in loaded.frontend.timing_backends:
        raise UnsupportedModelError(
            f"the {backend} backend cannot time {loaded.frontend.display} models. To fix this, "
            f"choose {' or '.join(loaded.frontend.timing_backends)}.")
    inputs = input_arrays(loaded, batch, size)
    say("preparing runtimes", 0.0)
    if backend == ORT:
        yield _ort_runners(loaded, variants, inputs, batch, size, threads, ort_level)
        return
    with loaded.frontend.time_runners(variants, inputs, threads) as found:
        yield found


def call(run: Runner, name: str) -> None:
    """Run one variant once; a runtime error becomes a one-line InspectorError."""
    try:
        run()
    except InspectorError:
        raise
    except Exception as e:  # runtime errors (shape mismatch ...) become one line
        raise InspectorError(
            f"running the {name} model failed: {first_line(e, 300)}. To fix this, keep the model's "
            "own batch size / input size (some exported models have fixed shapes)."
        ) from e


def _ort_runners(loaded, variants, inputs, batch, size, threads, ort_level) -> dict[str, Runner]:
    from ..frontends.onnx.runtime import make_session

    shaped = replace(loaded, inputs=input_specs(loaded, batch, size))
    runners = {}
    for name, model in variants.items():
        try:
            sess = make_session(onnx_bytes(shaped, model), ort_level, threads=threads)
        except InspectorError:
            raise
        except Exception as e:
            raise InspectorError(f"onnxruntime cannot load the {name} model: {str(e)[:300]}") from e
        feeds = {i.name: x for i, x in zip(sess.get_inputs(), inputs)}

        def run(sess=sess, feeds=feeds) -> Any:
            return sess.run(None, feeds)

        runners[name] = run
    return runners


def onnx_bytes(loaded: LoadedModel, model: Any) -> bytes:
    """Serialized ONNX of ``model`` (ONNX models as is; PyTorch models exported
    with ``loaded.frontend.save`` using ``loaded.inputs`` as example shapes)."""
    if hasattr(model, "SerializeToString"):
        return model.SerializeToString()
    if isinstance(model, (bytes, bytearray)):
        return bytes(model)
    with tempfile.TemporaryDirectory(prefix="bnfold-bench-") as tmp:
        path = os.path.join(tmp, "model.onnx")
        loaded.frontend.save(model, path, loaded)
        with open(path, "rb") as f:
            return f.read()
