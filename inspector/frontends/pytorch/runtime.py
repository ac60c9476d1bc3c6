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

from ...errors import InspectorError
from ...model import LoadedModel


def first_line(exc: BaseException) -> str:
    """``TypeName: first line of the message`` (for one-line errors)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


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


def run(model: Any, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Run in eval mode without gradients; tuple/list/dict outputs are flattened."""
    module = _as_module(model)
    args = [torch.from_numpy(np.ascontiguousarray(x)) for x in inputs]
    with _eval_mode(module), torch.no_grad():
        out = module(*args)
    leaves = torch.utils._pytree.tree_leaves(out)
    return [t.detach().cpu().numpy() for t in leaves if isinstance(t, torch.Tensor)]


def _export(model: Any, args: tuple) -> ExportedProgram:
    if isinstance(model, ExportedProgram):
        return model
    module = copy.deepcopy(_as_module(model))
    with _eval_mode(module), torch.no_grad():
        return torch.export.export(module, args, strict=False)


def _save_onnx(model: Any, args: tuple, path: Path) -> None:
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
    # Constant folding only: the default optimizer would itself fold Conv+BN.
    optimizer.fold_constants(program.model)
    optimizer.remove_unused_nodes(program.model)
    proto = ir.serde.serialize_model(program.model)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def save(model: Any, path: str | Path, loaded: LoadedModel) -> None:
    """Save as ``.pt2`` (``torch.export.save``) or ``.onnx`` (dynamo exporter).

    The ONNX file keeps every BN that the model still has (no exporter-side
    folding). Example inputs come from ``loaded.inputs``.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".pt2", ".onnx"):
        raise InspectorError(f"cannot save {p.name}: use a .pt2 or .onnx file name.")
    args = tuple(torch.from_numpy(x) for x in loaded.random_inputs())
    try:
        if suffix == ".pt2":
            torch.export.save(_export(model, args), str(p))
        else:
            _save_onnx(model, args, p)
    except InspectorError:
        raise
    except Exception as e:  # noqa: BLE001
        raise InspectorError(f"saving {p.name} failed: {first_line(e)}") from e
