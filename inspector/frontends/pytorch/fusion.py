"""What onnxruntime makes of a PyTorch model: its ONNX file, as ``save`` writes it, optimised.

A PyTorch model is deployed through an export; the one this frontend writes is
``save(..., ".onnx")`` (the dynamo exporter, constant folding only). :func:`runtime_check`
exports the original and the folded model that way and compares onnxruntime's
optimised graphs with the ONNX frontend's check (``frontends/onnx/fusion.py``): node
counts, the fused ops the folded model lost, and the node counts of both exported
files. It costs two exports (the original's is cached), so it is skipped for models
over :data:`MAX_NODES` IR nodes or 2 GiB of weights: the check is advice on speed,
a skipped one never fails a fold.
"""

from __future__ import annotations

from typing import Any

from ...errors import InspectorError, first_line
from ...model import LoadedModel
from .runtime import example_args, export_onnx

__all__ = ["runtime_check", "MAX_NODES"]

#: Largest model (IR nodes) whose exports are compared: each export takes about
#: 15 ms per node on one CPU core.
MAX_NODES = 3000
#: Largest weight size (bytes): an ONNX file without external data holds at most 2 GiB.
MAX_BYTES = 2**31 - 1
#: id(loaded) -> (loaded, its model's ONNX export, onnxruntime's optimised ops of it).
_BASE: dict[int, tuple[Any, Any, Any]] = {}


def _export(model: Any, loaded: LoadedModel) -> Any:
    try:
        return export_onnx(model, example_args(model, loaded))
    except Exception as e:  # noqa: BLE001 - any exporter failure: the check is skipped
        raise InspectorError(f"the model could not be exported to ONNX for the runtime check: "
                             f"{first_line(e, with_type=True)}") from e


def _too_large(loaded: LoadedModel) -> str | None:
    nodes = len(loaded.graph.nodes)
    if nodes > MAX_NODES:
        return f"the model has {nodes} nodes (over {MAX_NODES}): exporting it twice would cost too long"
    size = sum(a.nbytes for n in loaded.graph.nodes for a in n.params.values())
    if size > MAX_BYTES:
        return "the model's weights are over 2 GiB: its ONNX export is not compared"
    return None


def runtime_check(loaded: LoadedModel, folded: Any) -> dict[str, Any]:
    """onnxruntime's optimised graphs of the ONNX exports of ``loaded.model`` and ``folded``.

    Returns the ONNX frontend's ``runtime_check`` result plus ``file_nodes``: ``[nodes of
    the original's export, nodes of the folded model's export]``.

    Raises:
        InspectorError: the model is too large for the check, or an export failed.
    """
    from ..onnx.fusion import optimised_ops
    from ..onnx.fusion import runtime_check as onnx_check

    why = _too_large(loaded)
    if why is not None:
        raise InspectorError(f"{why}; the runtime check is skipped")
    cached = _BASE.get(id(loaded))
    if cached is None or cached[0] is not loaded:
        proto = _export(loaded.model, loaded)
        cached = (loaded, proto, optimised_ops(proto))
        _BASE[id(loaded)] = cached
        while len(_BASE) > 4:
            _BASE.pop(next(iter(_BASE)))
    _, original, before = cached
    exported = _export(folded, loaded)
    out = onnx_check(original, exported, before=before)
    out["file_nodes"] = [len(original.graph.node), len(exported.graph.node)]
    return out
