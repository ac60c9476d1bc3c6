"""A third input format, as a test of the adapter contract: a ``.ircase`` file names a
case of the IR catalogue (``sample_models.ir_catalogue``), and the 'framework model'
is the IR itself, run by the NumPy reference executor. This module plus one
``Frontend`` line in the registry is all a format needs."""

from __future__ import annotations

from pathlib import Path

from inspector.errors import InvalidGraphError
from inspector.ir import Graph
from inspector.model import Adapter, InputSpec, LoadedModel
from inspector.verification.numpy_exec import run_graph, run_tensors


def _loaded(text: str, name: str) -> LoadedModel:
    from sample_models.ir_catalogue import IR_CASES

    case = IR_CASES.get(text.strip())
    if case is None:
        raise InvalidGraphError(f"{name}: no IR case {text.strip()!r}. To fix this, name one of "
                                f"{', '.join(sorted(IR_CASES))}.")
    graph = case.build()
    specs = [InputSpec(n.outputs[0], graph.shape(n.outputs[0]), "float64")
             for n in graph.nodes if n.op == "input"]
    return LoadedModel(name, graph, "ircase", graph, specs, ADAPTER)


def _load_file(path, *, name=None, input_shape=None, max_tensor_mb=None) -> LoadedModel:
    return _loaded(Path(path).read_text(encoding="utf-8"), name or Path(path).name)


def _load_bytes(data: bytes, filename: str, *, input_shape=None, max_tensor_mb=None) -> LoadedModel:
    return _loaded(data.decode("utf-8", errors="replace"), filename)


def _write_back(loaded, folded: Graph, removed, changed, merges=()) -> Graph:
    return folded  # the folded IR (merges included) is the folded model


def _run_tensors(model: Graph, inputs, loaded) -> tuple[list, dict]:
    values = run_tensors(model, list(inputs))
    return [values[n.inputs[0]] for n in model.nodes if n.op == "output"], values


ADAPTER = Adapter(
    name="ircase", label="IR case", extensions=(".ircase",), save_formats=(),
    write_back=_write_back, run=lambda model, inputs: run_graph(model, list(inputs)),
    run_tensors=_run_tensors, load_file=_load_file, load_bytes=_load_bytes, supports_merges=True,
)
