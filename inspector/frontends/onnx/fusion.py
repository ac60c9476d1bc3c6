"""What onnxruntime makes of a model: its optimised graph, and the fusions a fold broke.

A fold is only worth doing if the deployed model gets cheaper, and what is
deployed is what the runtime makes of the file (DESIGN §3.8). onnxruntime
(``ORT_ENABLE_EXTENDED``, CPU) rewrites a graph before running it: it fuses
GELU / LayerNorm / attention patterns written out op by op into one kernel.
:func:`runtime_check` optimises the original and the folded model, counts the
nodes of both optimised graphs, and lists the fused ops (op types onnxruntime
created, not in either file) the folded model has fewer of: a fold that moved a
scalar out of such a pattern. The pipeline refuses such folds
(``folding.pipeline``).
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from typing import Any

import onnx

from ...errors import InspectorError, first_line
from ...model import LoadedModel
from .runtime import make_session

__all__ = ["optimised_ops", "runtime_check", "check_loaded", "LEVEL"]

#: The onnxruntime optimisation level compared (the one that fuses activations; "all"
#: adds hardware-specific layout nodes on top).
LEVEL = "extended"
#: id(model) -> (model, its optimised ops): the original is compared many times.
_BASE: dict[int, tuple[onnx.ModelProto, Counter]] = {}
#: Ops onnxruntime creates that are not activation fusions: conv/gemm + activation fusions
#: and layout changes come and go with the number of convs a merge leaves; a FusedMatMul
#: (a MatMul with a transpose or scale folded in) lost to a BN fold costs less than the BN
#: (FastViT-SA12: its 2 such folds ran at 0.994x the latency, 20 interleaved rounds).
_NOT_FUSIONS = frozenset({"FusedConv", "FusedGemm", "FusedMatMul", "ReorderInput", "ReorderOutput",
                          "MemcpyToHost", "MemcpyFromHost"})


def optimised_ops(model: onnx.ModelProto, level: str = LEVEL) -> Counter:
    """Op types (with their counts) of the graph onnxruntime runs for ``model`` at ``level``."""
    if model.ByteSize() > 2**31 - 1:
        raise InspectorError("the model is over 2 GiB: onnxruntime's optimised graph is not compared")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "optimised.onnx")
        try:
            make_session(model, level, optimized_path=path)
            graph = onnx.load(path, load_external_data=False).graph
        except Exception as e:  # onnxruntime raises its own types
            raise InspectorError(f"onnxruntime could not optimise the model: {first_line(e)}") from e
    return Counter(n.op_type for n in graph.node)


def runtime_check(original: onnx.ModelProto, folded: onnx.ModelProto,
                  before: Counter | None = None) -> dict[str, Any]:
    """onnxruntime's optimised graphs of ``original`` and ``folded`` compared.

    Returns ``{"runtime", "level", "nodes_before", "nodes_after", "fusions_lost"}``:
    node counts of both optimised graphs and ``{op type: [count before, count after]}``
    for every fused op the folded model has fewer of. ``before``: the original's
    :func:`optimised_ops`, when already known."""
    if before is None:
        cached = _BASE.get(id(original))
        before = cached[1] if cached is not None and cached[0] is original else optimised_ops(original)
        _BASE[id(original)] = (original, before)
        while len(_BASE) > 4:
            _BASE.pop(next(iter(_BASE)))
    after = optimised_ops(folded)
    in_files = {n.op_type for m in (original, folded) for n in m.graph.node}
    fused = {op for op in (*before, *after) if op not in in_files and op not in _NOT_FUSIONS}
    lost = {op: [before[op], after[op]] for op in sorted(fused) if after[op] < before[op]}
    return {"runtime": "onnxruntime", "level": LEVEL, "nodes_before": sum(before.values()),
            "nodes_after": sum(after.values()), "fusions_lost": lost}


def check_loaded(loaded: LoadedModel, folded: onnx.ModelProto) -> dict[str, Any]:
    """The adapter's ``runtime_check``: :func:`runtime_check` of ``loaded.model`` and ``folded``."""
    return runtime_check(loaded.model, folded)
