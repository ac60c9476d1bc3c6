"""Run and save PyTorch models (original or folded): eval mode, no gradients."""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.export import ExportedProgram

from ...errors import InspectorError, first_line
from ...model import LoadedModel
from .records import PROVENANCE, TorchCapture


@contextlib.contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    """Eval mode for the duration of a call; training flags restored afterwards."""
    flags = [(m, m.training) for m in module.modules()]
    for m, _ in flags:
        m.training = False
    try:
        yield
    finally:
        for m, flag in flags:
            m.training = flag


def _as_module(model: Any) -> nn.Module:
    if isinstance(model, ExportedProgram):
        return model.module()
    if not isinstance(model, nn.Module):
        raise InspectorError(f"cannot run a {type(model).__name__} with the torch frontend.")
    return model


def _float_dtype(module: nn.Module) -> torch.dtype | None:
    """The dtype of the first floating parameter or buffer (None: there is none)."""
    for t in (*module.parameters(), *module.buffers()):
        if t.is_floating_point():
            return t.dtype
    return None


def _to_tensor(x: np.ndarray, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A numpy input as a tensor. bfloat16 has no numpy dtype, so a bf16 model gets
    float arrays that are cast here; other dtypes are fed as given."""
    x = np.asarray(x)
    if x.dtype.name == "bfloat16":  # an ml_dtypes array: torch cannot read it directly
        x = x.astype(np.float32)
    t = torch.from_numpy(np.ascontiguousarray(x))
    if dtype == torch.bfloat16 and t.is_floating_point():
        t = t.to(dtype)
    return t


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    """A tensor as numpy (bfloat16, which numpy lacks, widened to float32)."""
    t = t.detach().cpu()
    return (t.float() if t.dtype == torch.bfloat16 else t).numpy().copy()


def run(model: Any, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Run in eval mode without gradients; tuple/list/dict outputs are flattened.

    Float inputs of a bfloat16 model are cast to bfloat16."""
    module = _as_module(model)
    dtype = _float_dtype(module)
    args = [_to_tensor(x, dtype) for x in inputs]
    with _eval_mode(module), torch.no_grad():
        out = module(*args)
    leaves = torch.utils._pytree.tree_leaves(out)
    return [_to_numpy(t) for t in leaves if isinstance(t, torch.Tensor)]


def _export(model: Any, args: tuple) -> ExportedProgram:
    if isinstance(model, ExportedProgram):
        return model
    module = copy.deepcopy(_as_module(model))
    with _eval_mode(module), torch.no_grad():
        return torch.export.export(module, args, strict=False)


def export_onnx(model: Any, args: tuple) -> Any:
    """``model`` as the ``onnx.ModelProto`` that ``save(..., ".onnx")`` writes: the dynamo
    exporter, constant folding only (the default optimizer would itself fold Conv+BN)."""
    import onnx
    from onnxscript import ir, optimizer

    target = model if isinstance(model, ExportedProgram) else copy.deepcopy(_as_module(model))
    with contextlib.redirect_stdout(io.StringIO()):
        if isinstance(target, nn.Module):
            with _eval_mode(target), torch.no_grad():
                program = torch.onnx.export(target, args, dynamo=True, optimize=False,
                                            verbose=False)
        else:
            program = torch.onnx.export(target, args, dynamo=True, optimize=False,
                                        verbose=False)
    optimizer.fold_constants(program.model)
    optimizer.remove_unused_nodes(program.model)
    proto = ir.serde.serialize_model(program.model)
    onnx.checker.check_model(proto)
    return proto


def example_args(model: Any, loaded: LoadedModel) -> tuple:
    """``loaded``'s seeded random inputs as tensors of ``model``'s float dtype."""
    dtype = _float_dtype(_as_module(model))
    return tuple(_to_tensor(x, dtype) for x in loaded.random_inputs())


def _save_onnx(model: Any, args: tuple, path: Path) -> None:
    import onnx

    onnx.save(export_onnx(model, args), str(path))


def save(model: Any, path: str | Path, loaded: LoadedModel) -> None:
    """Save as ``.pt2`` (``torch.export.save``) or ``.onnx`` (dynamo exporter).

    The ONNX file keeps every BN that the model still has (no exporter-side
    folding). Example inputs come from ``loaded.inputs``.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".pt2", ".onnx"):
        raise InspectorError(f"cannot save {p.name}: use a .pt2 or .onnx file name.")
    args = example_args(model, loaded)
    try:
        if suffix == ".pt2":
            torch.export.save(_export(model, args), str(p))
        else:
            _save_onnx(model, args, p)
    except InspectorError:
        raise
    except Exception as e:  # noqa: BLE001
        raise InspectorError(f"saving {p.name} failed: {first_line(e, with_type=True)}") from e


def run_tensors(model: Any, inputs: Sequence[np.ndarray],
                loaded: LoadedModel) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """Run ``model`` and also return the IR tensors of ``loaded.graph`` it computes.

    Values are named by provenance, never by a name a rewrite may reuse. An
    eager ``nn.Module`` (the user's model, or its folded copy) is observed with
    forward hooks on the module calls whose returned tensor the capture
    identified (``TorchCapture.returns``, matched by module path and call
    number; a module registered under several paths is skipped); a traced
    ``GraphModule`` / ``ExportedProgram`` runs under an FX interpreter that
    records every node under the IR tensor it computes (its
    :data:`PROVENANCE` meta in a folded graph, else its name). At the loaded
    input shapes a value whose shape is not its tensor's is dropped. Hooks and
    the interpreter are removed afterwards; the model is not modified."""
    wanted = set(loaded.graph.tensors)
    if isinstance(model, ExportedProgram) or isinstance(model, torch.fx.GraphModule):
        outs, found = _interpret(model.module() if isinstance(model, ExportedProgram) else model,
                                 inputs, wanted)
    else:
        outs, found = _hooked(_as_module(model), inputs, loaded)
    if all(tuple(np.shape(x)) == tuple(s.shape) for x, s in zip(inputs, loaded.inputs)):
        graph = loaded.graph
        found = {t: v for t, v in found.items()
                 if graph.shape(t) is None or tuple(graph.shape(t)) == v.shape}
    return outs, found


def _hooked(module: nn.Module, inputs: Sequence[np.ndarray],
            loaded: LoadedModel) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    owners = dict(loaded.capture.returns) if isinstance(loaded.capture, TorchCapture) else {}
    paths: dict[int, list[str]] = {}
    for fqn, m in module.named_modules(remove_duplicate=False):
        paths.setdefault(id(m), []).append(fqn)
    found: dict[str, np.ndarray] = {}
    calls: dict[str, int] = {}

    def hook(fqn: str):
        def record(mod: nn.Module, args: Any, out: Any) -> None:
            calls[fqn] = calls.get(fqn, 0) + 1
            name = owners.get((fqn, calls[fqn]))
            if name is not None and isinstance(out, torch.Tensor) and \
                    not any(out is a for a in args):
                found[name] = _to_numpy(out)
        return record

    fqns = {fqn for fqn, _ in owners}
    handles = []
    for names in paths.values():
        if len(names) == 1 and names[0] in fqns:  # one path: its calls are counted right
            handles.append(module.get_submodule(names[0]).register_forward_hook(hook(names[0])))
    try:
        outs = run(module, inputs)
    finally:
        for h in handles:
            h.remove()
    return outs, found


def _interpret(gm: torch.fx.GraphModule, inputs: Sequence[np.ndarray],
               wanted: set[str]) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    found: dict[str, np.ndarray] = {}
    tagged = any(PROVENANCE in n.meta for n in gm.graph.nodes)

    class Recorder(torch.fx.Interpreter):
        def run_node(self, n: torch.fx.Node) -> Any:
            out = super().run_node(n)
            name = n.meta.get(PROVENANCE) if tagged else n.name
            if name in wanted and n.op != "placeholder" and isinstance(out, torch.Tensor):
                found[name] = _to_numpy(out)
            return out

    dtype = _float_dtype(gm)
    args = [_to_tensor(x, dtype) for x in inputs]
    with _eval_mode(gm), torch.no_grad():
        out = Recorder(gm).run(*args)
    leaves = torch.utils._pytree.tree_leaves(out)
    return [_to_numpy(t) for t in leaves if isinstance(t, torch.Tensor)], found
