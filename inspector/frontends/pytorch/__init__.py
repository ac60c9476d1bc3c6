"""PyTorch adapter: ``nn.Module`` / ``.pt2`` -> IR, and folded IR -> runnable model.

Every LoadedModel it creates holds :data:`ADAPTER` (write_back, run, save)::

    from inspector.frontends import pytorch
    loaded = pytorch.load_module(model, input_shape=(1, 3, 224, 224))
    folded_model = pytorch.write_back(loaded, folded_graph, removed, changed)

Capture uses ``torch.export.export(strict=False)`` on an eval-mode deep copy
(``capture``), falling back to ``torch.fx.symbolic_trace`` (``capture_fx``); the
op table is ``ops``/``ops_layout``; ``writeback`` writes a plan back; ``runtime``
runs and saves; ``archive`` checks ``.pt2`` files before torch reads them.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ...errors import (
    InspectorError,
    InvalidGraphError,
    ResourceLimitError,
    UnsupportedModelError,
    first_line,
)
from ...ir import Graph
from ...limits import cap_bytes, check_tensor
from ...model import Adapter, LoadedModel
from .archive import load_program
from .capture import graph_from_program
from .capture_errors import capture_failure
from .fusion import runtime_check
from .runtime import run, run_tensors, save
from .timing import SINGLE_SIZE_NOTE, other_sizes, time_runners
from .writeback import write_back as _write_back

name = "torch"
extensions = (".pt2",)
#: What ``save`` writes: torch.export archives, and ONNX through torch.onnx.export.
save_formats = (".pt2", ".onnx")


def _model_dtype(module: nn.Module) -> torch.dtype:
    return next((p.dtype for p in module.parameters() if p.is_floating_point()), torch.float32)


def _example_inputs(module: nn.Module, example_inputs: Any, input_shape: Any,
                    label: str, cap: int) -> tuple[torch.Tensor, ...]:
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
    for s in shapes:
        check_tensor(f"{label}: input {tuple(s)}", s,
                     torch.empty((), dtype=_model_dtype(module)).element_size(), cap)
    gen = torch.Generator().manual_seed(0)
    return tuple(torch.randn(tuple(s), generator=gen, dtype=_model_dtype(module)) for s in shapes)


def load_module(module: nn.Module, example_inputs: Any = None, *,
                input_shape: tuple | None = None, name: str | None = None,
                max_tensor_mb: float | None = None) -> LoadedModel:
    """Capture ``module`` (never mutated) into the IR.

    The module is analysed, folded and verified in eval mode (running
    statistics, as deployed); a module given in training mode gets a note
    saying so in ``LoadedModel.notes``.

    Args:
        module: any ``nn.Module``; a deep copy in eval mode is traced.
        example_inputs: a tensor or a tuple of tensors.
        input_shape: used when ``example_inputs`` is None: one shape
            ``(1, 3, 224, 224)`` or a tuple of shapes (one per input).
        name: display name (default: the class name).
        max_tensor_mb: cap on the generated example inputs (ResourceLimitError).

    Raises:
        UnsupportedModelError: neither ``torch.export`` nor ``symbolic_trace``
            can capture the forward, or no input shape is known.
    """
    label = name or type(module).__name__
    if not isinstance(module, nn.Module):
        raise UnsupportedModelError(f"{label} is not a torch.nn.Module.")
    inputs = _example_inputs(module, example_inputs, input_shape, label, cap_bytes(max_tensor_mb))
    try:
        work = copy.deepcopy(module).eval()
    except Exception as e:  # noqa: BLE001
        raise UnsupportedModelError(f"{label} cannot be copied ({first_line(e, with_type=True)}).") from e
    notes: list[str] = []
    if any(m.training for m in module.modules()):
        notes.append(f"{label} is in training mode; it is analysed, folded and verified in eval "
                     "mode (BN uses its running statistics). Call .eval() on it to silence this.")
    stage = "torch.export"
    try:
        with torch.no_grad():
            ep = torch.export.export(work, inputs, strict=False)
        stage = "translating the exported program"
        graph, record, specs = graph_from_program(ep, label, notes)
    except Exception as export_error:  # noqa: BLE001 - any capture failure -> fallback
        from .capture_fx import graph_from_fx

        notes.clear()  # notes of the failed translation no longer apply
        try:
            graph, record, specs = graph_from_fx(work, inputs, label, notes)
        except Exception as fx_error:  # noqa: BLE001
            raise capture_failure(label, work, inputs, stage, export_error, fx_error) from fx_error
        notes.append(f"{stage} failed ({first_line(export_error, with_type=True)}); captured with "
                     "torch.fx.symbolic_trace instead (module-level graph).")
    record = replace(record, example_inputs=inputs)
    return LoadedModel(label, graph, "torch", module, specs, ADAPTER, notes, record)


def load_pt2(path: str | Path, *, max_tensor_mb: float | None = None,
             name: str | None = None) -> LoadedModel:
    """Load a program saved by ``torch.export.save`` without running code from the file.

    The archive is checked and deserialized by ``archive.load_program``
    (never ``torch.export.load``, which unpickles). ``name`` is the display
    name (default: the file stem); errors name it too.

    Raises:
        InvalidGraphError: missing, corrupt or non-``torch.export`` file.
        UnsafeFileError: the archive holds pickles, unknown entries or
            non-ATen calls.
        ResourceLimitError: a tensor or input above ``max_tensor_mb``.
    """
    p = Path(path)
    label = name or p.stem
    if not p.is_file():
        raise InvalidGraphError(f"{p}: no such file. To fix this, check the path.")
    cap = cap_bytes(max_tensor_mb)
    notes: list[str] = []
    try:
        ep = load_program(p, max_tensor_bytes=cap, display=name, notes=notes)
        graph, record, specs = graph_from_program(ep, label, notes)
        for s in specs:
            check_tensor(f"input '{s.name}' {tuple(s.shape)}", s.shape, s.dtype, cap)
    except InspectorError:
        raise
    except MemoryError as e:
        raise ResourceLimitError(f"{name or p}: out of memory while loading it. To fix this, "
                                 "free memory, or lower --max-tensor-mb (library: "
                                 "max_tensor_mb=...) so that such files are refused.") from e
    except Exception as e:  # noqa: BLE001
        raise InvalidGraphError(
            f"{name or p} could not be loaded ({first_line(e, with_type=True)}). To fix this, re-save it with "
            "torch.export.save from the installed torch version.") from e
    return LoadedModel(label, graph, "torch", ep, specs, ADAPTER, notes, record)


def write_back(loaded: LoadedModel, folded: Graph, removed: Sequence[str],
               changed: Sequence[str], merges: Sequence[Any] = ()) -> nn.Module:
    """A new runnable model (see ``writeback``); ``loaded.model`` is untouched.
    ``merges`` (``MergeStep`` records) turn the result into a ``GraphModule``."""
    return _write_back(loaded, folded, removed, changed, merges)


def load_bytes(data: bytes, filename: str, *, input_shape: Any = None,
               max_tensor_mb: float | None = None) -> LoadedModel:
    """An uploaded ``.pt2`` archive, read with zipfile from a private copy (never unpickled);
    ``filename`` names the model. ``input_shape`` is unused: the archive holds its inputs."""
    with tempfile.TemporaryDirectory(prefix="bnfold-upload-") as tmp:
        path = Path(tmp) / "model.pt2"
        path.write_bytes(data)
        return load_pt2(path, max_tensor_mb=max_tensor_mb, name=filename)


def _load_file(path: str, *, name: str | None = None, input_shape: Any = None,
               max_tensor_mb: float | None = None) -> LoadedModel:
    return load_pt2(path, max_tensor_mb=max_tensor_mb, name=name)


def _load_object(module: nn.Module, *, name: str | None = None, input_shape: Any = None,
                 max_tensor_mb: float | None = None) -> LoadedModel:
    return load_module(module, input_shape=input_shape, name=name, max_tensor_mb=max_tensor_mb)


#: This format's entry points, held by every LoadedModel it creates.
ADAPTER = Adapter(
    name=name, label="PyTorch", extensions=extensions, save_formats=save_formats,
    write_back=write_back, run=run, save=save, run_tensors=run_tensors,
    load_file=_load_file, load_bytes=load_bytes, load_object=_load_object,
    accepts=lambda obj: isinstance(obj, nn.Module), supports_merges=True,
    other_sizes=other_sizes, single_size_note=SINGLE_SIZE_NOTE,
    timing_backends=("torch", "onnxruntime"), time_runners=time_runners, runtime_check=runtime_check,
    node_unit="graph nodes",  # torch graph operations; a fold's ONNX export: runtime.file_nodes
)
