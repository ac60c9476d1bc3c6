"""Properties of any node, as in Netron's side panel: op, attributes, tensors, parameters.

Plain data (lists of rows) that the app shows as tables; no Streamlit here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import Graph
from .styles import op_kind

#: Longest attribute text shown before it is cut.
MAX_ATTR_TEXT = 80


def shape_text(shape: tuple[int, ...] | None) -> str:
    """``1×64×56×56``, ``scalar`` for ``()``, ``?`` when unknown."""
    if shape is None:
        return "?"
    return "×".join(str(d) for d in shape) if shape else "scalar"


def _attr_text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array {shape_text(tuple(value.shape))} {value.dtype}"
    text = str(value)
    return text if len(text) <= MAX_ATTR_TEXT else text[: MAX_ATTR_TEXT - 1] + "…"


def param_stats(name: str, value: np.ndarray) -> dict[str, Any]:
    """Shape, dtype and min / max / mean / std of one parameter array."""
    arr = np.asarray(value)
    row: dict[str, Any] = {"parameter": name, "shape": shape_text(tuple(arr.shape)),
                           "dtype": str(arr.dtype)}
    if arr.size and np.issubdtype(arr.dtype, np.number):
        a = arr.astype(np.float64)
        row.update(min=float(a.min()), max=float(a.max()), mean=float(a.mean()),
                   std=float(a.std()))
    return row


def node_properties(graph: Graph, node_id: str) -> dict[str, Any]:
    """Everything the properties panel shows about ``node_id``.

    Returns ``{"name", "op", "kind", "scope", "attributes": [{"attribute", "value"}],
    "inputs"/"outputs": [{"tensor", "shape", "from"/"to"}], "parameters": [param_stats]}``.
    Raises KeyError for an unknown id.
    """
    node = graph.node(node_id)
    attrs = [{"attribute": k, "value": _attr_text(v)} for k, v in sorted(node.attrs.items())
             if k not in ("op_type", "kind")]
    inputs = []
    for t in node.inputs:
        p = graph.producer(t)
        inputs.append({"tensor": t, "shape": shape_text(graph.shape(t)),
                       "from": p.name if p is not None else "(constant or graph input)"})
    outputs = []
    for t in node.outputs:
        users = [c.name for c in graph.consumers(t)]
        outputs.append({"tensor": t, "shape": shape_text(graph.shape(t)),
                        "to": ", ".join(users[:6]) + (f" +{len(users) - 6}" if len(users) > 6
                                                       else "") or "(graph output)"})
    params = [param_stats(k, v) for k, v in node.params.items()]
    return {"name": node.name, "op": op_kind(node), "kind": node.op, "scope": node.scope,
            "attributes": attrs, "inputs": inputs, "outputs": outputs, "parameters": params}
