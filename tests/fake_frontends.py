"""Duck-typed frontends for verification tests: the 'framework model' is a plain
function of the inputs, so a test decides exactly what each run returns."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from inspector.ir import Graph
from inspector.model import InputSpec, LoadedModel

#: ``model(inputs) -> {tensor name: value}``: every tensor, outputs included.
TensorFn = Callable[[list[np.ndarray]], dict[str, np.ndarray]]


class FunctionFrontend:
    """Runs a :data:`TensorFn`; ``write_back`` returns the ``folded`` function it was given.

    ``per_tensor``: also return the intermediate tensors (else outputs only);
    ``hidden``: tensors ``run_tensors`` never returns (not observable)."""

    name = "fake"
    extensions = ()
    other_sizes = None
    single_size_note = None
    supports_merges = False

    def __init__(self, graph: Graph, folded: TensorFn, *, per_tensor: bool = True,
                 hidden: frozenset[str] = frozenset()) -> None:
        self.graph, self.folded, self.hidden = graph, folded, hidden
        if not per_tensor:
            self.run_tensors = None

    def write_back(self, loaded, folded, removed, changed):
        return self.folded

    def _outputs(self, values: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [values[n.inputs[0]] for n in self.graph.nodes if n.op == "output"]

    def run(self, model: TensorFn, inputs) -> list[np.ndarray]:
        return self._outputs(model(list(inputs)))

    def run_tensors(self, model: TensorFn, inputs, loaded):
        values = model(list(inputs))
        return self._outputs(values), {t: v for t, v in values.items() if t not in self.hidden}


def function_model(graph: Graph, original: TensorFn, folded: TensorFn, **kwargs) -> LoadedModel:
    """``graph`` loaded as a model computing ``original``, whose write-back gives ``folded``."""
    specs = [InputSpec(n.outputs[0], graph.shape(n.outputs[0]), "float32")
             for n in graph.nodes if n.op == "input"]
    frontend = FunctionFrontend(graph, folded, **kwargs)
    return LoadedModel(graph.name, graph, "fake", original, specs, frontend)
