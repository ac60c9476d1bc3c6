"""A fake frontend for pipeline and verification tests: the 'framework model' is the IR
itself, run in float64 by the reference executor. One :class:`~inspector.model.Adapter`
like the real ones; each test passes the write-back it needs."""

from __future__ import annotations

from collections.abc import Callable

from inspector.ir import Graph
from inspector.model import Adapter, InputSpec, LoadedModel
from inspector.verification.numpy_exec import run_graph, run_tensors


def _run(model: Graph, inputs) -> list:
    return run_graph(model, list(inputs))


def _run_tensors(model: Graph, inputs, loaded) -> tuple[list, dict]:
    values = run_tensors(model, list(inputs))
    outs = [values[n.inputs[0]] for n in model.nodes if n.op == "output"]
    return outs, values


def numpy_adapter(write_back: Callable, *, per_tensor: bool = True) -> Adapter:
    """An adapter running IR graphs; ``per_tensor``: it also returns every tensor."""
    return Adapter(name="numpy", write_back=write_back, run=_run,
                   run_tensors=_run_tensors if per_tensor else None)


def numpy_loaded(graph: Graph, adapter: Adapter, dtype: str = "float32") -> LoadedModel:
    """``graph`` as a loaded model of the numpy frontend (inputs of ``dtype``)."""
    specs = [InputSpec(n.outputs[0], graph.shape(n.outputs[0]), dtype)
             for n in graph.nodes if n.op == "input"]
    return LoadedModel(graph.name, graph, "numpy", graph, specs, adapter)
