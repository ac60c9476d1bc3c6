"""PyTorch frontend: ``nn.Module`` / ``.pt2`` -> IR, and folded IR -> runnable model.

The module itself is the :class:`~inspector.model.Frontend` object::

    from inspector.frontends import pytorch
    loaded = pytorch.load_module(model, input_shape=(1, 3, 224, 224))
    folded_model = pytorch.write_back(loaded, folded_graph, removed, changed)

Capture uses ``torch.export.export(strict=False)`` on an eval-mode deep copy,
falling back to ``torch.fx.symbolic_trace``; see ``pytorch_capture`` and
``pytorch_fx`` for the op mapping and ``pytorch_writeback`` for write-back.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import sys
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.export import ExportedProgram

from ..errors import InspectorError, InvalidGraphError, UnsafeFileError, UnsupportedModelError
from ..ir import Graph
from ..model import LoadedModel
from .pytorch_capture import graph_from_program
from .pytorch_writeback import remove_all_bn as _remove_all_bn
from .pytorch_writeback import write_back as _write_back

name = "torch"
extensions = (".pt2",)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _model_dtype(module: nn.Module) -> torch.dtype:
    return next((p.dtype for p in module.parameters() if p.is_floating_point()), torch.float32)


def _example_inputs(module: nn.Module, example_inputs: Any, input_shape: Any,
                    label: str) -> tuple[torch.Tensor, ...]:
    if example_inputs is not None:
        inputs = (example_inputs,) if isinstance(example_inputs, torch.Tensor) else tuple(
            example_inputs)
        if not all(isinstance(t, torch.Tensor) for t in inputs):
            raise UnsupportedModelError(f"{label}: example inputs must be tensors.")
        return inputs
    if input_shape is None:
        raise UnsupportedModelError(
            f"{label}: the input shape is unknown. To fix this, pass --input-shape "
            "(e.g. 1,3,224,224) or example inputs.")
    shapes = [input_shape] if all(isinstance(s, int) for s in input_shape) else list(input_shape)
    gen = torch.Generator().manual_seed(0)
    return tuple(torch.randn(tuple(s), generator=gen, dtype=_model_dtype(module)) for s in shapes)


def load_module(module: nn.Module, example_inputs: Any = None, *,
                input_shape: tuple | None = None, name: str | None = None) -> LoadedModel:
    """Capture ``module`` (never mutated) into the IR.

    Args:
        module: any ``nn.Module``; a deep copy in eval mode is traced.
        example_inputs: a tensor or a tuple of tensors.
        input_shape: used when ``example_inputs`` is None: one shape
            ``(1, 3, 224, 224)`` or a tuple of shapes (one per input).
        name: display name (default: the class name).

    Raises:
        UnsupportedModelError: neither ``torch.export`` nor ``symbolic_trace``
            can capture the forward, or no input shape is known.
    """
    label = name or type(module).__name__
    if not isinstance(module, nn.Module):
        raise UnsupportedModelError(f"{label} is not a torch.nn.Module.")
    inputs = _example_inputs(module, example_inputs, input_shape, label)
    try:
        work = copy.deepcopy(module).eval()
    except Exception as e:  # noqa: BLE001
        raise UnsupportedModelError(f"{label} cannot be copied ({_first_line(e)}).") from e
    notes: list[str] = []
    stage = "torch.export"
    try:
        with torch.no_grad():
            ep = torch.export.export(work, inputs, strict=False)
        stage = "translating the exported program"
        graph, aux, specs = graph_from_program(ep, label)
    except Exception as export_error:  # noqa: BLE001 - any capture failure -> fallback
        from .pytorch_fx import graph_from_fx

        try:
            graph, aux, specs = graph_from_fx(work, inputs, label)
        except Exception as fx_error:  # noqa: BLE001
            raise UnsupportedModelError(
                f"cannot capture {label}: {stage} failed ({_first_line(export_error)}) "
                f"and torch.fx.symbolic_trace failed ({_first_line(fx_error)}). To fix this, "
                "pass example inputs / make the forward traceable (no data-dependent Python "
                "control flow).") from fx_error
        notes.append(f"{stage} failed ({_first_line(export_error)}); captured with "
                     "torch.fx.symbolic_trace instead (module-level graph).")
    aux["example_inputs"] = inputs
    return LoadedModel(label, graph, "torch", module, specs, sys.modules[__name__], notes, aux)


def _check_pt2(path: Path) -> None:
    """Refuse archives that are not ``torch.export`` files or that hold pickles."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if not any(n.endswith("archive_format") for n in names) or not any(
                    "/models/" in n or n.startswith("models/") for n in names):
                raise InvalidGraphError(
                    f"{path} is a zip file but not a torch.export archive. To fix this, save "
                    "the program with torch.export.save(ep, 'model.pt2').")
            for n in names:
                if n.endswith("_config.json") and "/data/" in f"/{n}":
                    for meta in json.loads(z.read(n)).get("config", {}).values():
                        if meta.get("use_pickle") or not str(meta.get("path_name", "")).startswith(
                                ("weight_", "tensor_")):
                            raise UnsafeFileError(f"{path} stores pickled objects ({n}).")
                elif "data/sample_inputs/" in n:
                    try:
                        torch.load(io.BytesIO(z.read(n)), weights_only=True)
                    except Exception as e:  # noqa: BLE001
                        raise UnsafeFileError(f"{path}: {n} needs unsafe unpickling.") from e
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise InvalidGraphError(
            f"{path} is not a valid .pt2 file ({_first_line(e)}). To fix this, save the program "
            "with torch.export.save(ep, 'model.pt2').") from e


def load_pt2(path: str | Path) -> LoadedModel:
    """Load a program saved by ``torch.export.save``.

    Raises:
        InvalidGraphError: missing, corrupt or non-``torch.export`` file.
        UnsafeFileError: the archive holds pickled objects.
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidGraphError(f"{p}: no such file. To fix this, check the path.")
    _check_pt2(p)
    try:
        ep = torch.export.load(str(p))
        graph, aux, specs = graph_from_program(ep, p.stem)
    except InspectorError:
        raise
    except Exception as e:  # noqa: BLE001
        raise InvalidGraphError(
            f"{p} could not be loaded ({_first_line(e)}). To fix this, re-save it with "
            "torch.export.save from the installed torch version.") from e
    return LoadedModel(p.stem, graph, "torch", ep, specs, sys.modules[__name__], [], aux)


def write_back(loaded: LoadedModel, folded: Graph, removed: Sequence[str],
               changed: Sequence[str], merges: Sequence[Any] = ()) -> nn.Module:
    """A new runnable model (see ``pytorch_writeback``); ``loaded.model`` is untouched.
    ``merges`` (``MergeStep`` records) turn the result into a ``GraphModule``."""
    return _write_back(loaded, folded, removed, changed, merges)


def remove_all_bn(loaded: LoadedModel) -> nn.Module:
    """The no-BN floor: every BN replaced by identity (not equivalent; for timing)."""
    return _remove_all_bn(loaded)


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
        raise InspectorError(f"saving {p.name} failed: {_first_line(e)}") from e
