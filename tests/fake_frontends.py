"""A fake frontend for verification tests where the 'framework model' is a plain
function of the inputs returning every tensor by name, so a test decides exactly what
each run of the original and of the folded model gives (a wrong shape, a value...)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from inspector.ir import Graph
from inspector.model import Adapter, LoadedModel
from tests.numpy_frontend import numpy_loaded

#: ``model(inputs) -> {tensor name: value}``: every tensor, outputs included.
TensorFn = Callable[[list[np.ndarray]], dict[str, np.ndarray]]


def function_model(graph: Graph, original: TensorFn, folded: TensorFn) -> LoadedModel:
    """``graph`` loaded as a model computing ``original``, whose write-back gives ``folded``."""
    outputs = [n.inputs[0] for n in graph.nodes if n.op == "output"]

    def run_tensors(model: TensorFn, inputs, loaded) -> tuple[list, dict]:
        values = model(list(inputs))
        return [values[t] for t in outputs], values

    adapter = Adapter(name="function", write_back=lambda *args: folded,
                      run=lambda model, inputs: run_tensors(model, inputs, None)[0],
                      run_tensors=run_tensors)
    loaded = numpy_loaded(graph, adapter)
    loaded.model = original
    return loaded
