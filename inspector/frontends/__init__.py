"""Frontends: one adapter package per input format, a registry, and ``load`` which picks one.

Each package (``pytorch/``: ``nn.Module``, ``.pt2``; ``onnx/``: ``.onnx``)
defines one ``ADAPTER`` (:class:`inspector.model.Adapter`): how it loads files,
bytes and in-memory models, writes a fold back, runs, saves and times models.
Every LoadedModel it creates holds that adapter. :data:`FRONTENDS` registers
the packages; adding a format is one package plus one line there.

``load`` accepts an ``.onnx`` / ``.pt2`` path, file bytes plus a file name
(uploads), an ``nn.Module``, an ``onnx.ModelProto``, or a model source name
(``sample:NAME``, ``timm:NAME``, ``torchvision:NAME``, ``ultralytics:NAME``,
``package.module:callable``;
see ``inspector.sources``).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidGraphError, UnsafeFileError, UnsupportedModelError
from ..model import Adapter, LoadedModel


@dataclass(frozen=True)
class Frontend:
    """One registered input format: the package holding its ``ADAPTER`` (a sub-package of
    ``inspector.frontends``, or a dotted module path), and the file suffixes it reads
    and writes (known without importing the framework; they equal the adapter's
    ``extensions`` and ``save_formats``)."""

    package: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]


#: Every input format, in the order in-memory models are offered to them.
FRONTENDS: tuple[Frontend, ...] = (
    Frontend("onnx", reads=(".onnx",), writes=(".onnx",)),
    Frontend("pytorch", reads=(".pt2",), writes=(".pt2", ".onnx")),
)
#: File suffixes some frontend reads.
SUFFIXES = tuple(s for f in FRONTENDS for s in f.reads)
#: Checkpoints: refused with the way in, or unpickled with ``trust_pickle``.
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".pkl", ".tar", ".safetensors")
#: File suffixes some frontend writes.
OUTPUT_SUFFIXES = tuple(dict.fromkeys(s for f in FRONTENDS for s in f.writes))


def adapter(frontend: Frontend) -> Adapter:
    """The ``ADAPTER`` of a registered frontend (its package is imported on first use)."""
    package = frontend.package if "." in frontend.package else f"{__name__}.{frontend.package}"
    return importlib.import_module(package).ADAPTER


def adapter_for(suffix: str) -> Adapter | None:
    """The adapter reading files with ``suffix`` (``.onnx``), or None."""
    found = next((f for f in FRONTENDS if suffix.lower() in f.reads), None)
    return adapter(found) if found is not None else None


def _accepted() -> str:
    return " and ".join(SUFFIXES)


def load(source: Any, *, input_shape: tuple[int, ...] | None = None, name: str | None = None,
         seed: int = 0, max_tensor_mb: float | None = None,
         trust_pickle: bool = False) -> LoadedModel:
    """Load any supported model into a :class:`LoadedModel` (never mutates ``source``).

    Bytes are dispatched on the suffix of ``name`` (default ``.onnx``), so an
    upload is one call: ``load(data, name="model.pt2")``; bytes are treated as
    an untrusted upload (see :func:`load_bytes`). ``max_tensor_mb`` caps every
    tensor the tool creates for the model (computed constants, archive
    payloads, inputs; default ``limits.DEFAULT_MAX_TENSOR_MB``).

    ``package.module:callable`` imports and runs that code: only pass names
    you trust (the app never accepts them). A pickled checkpoint (``best.pt``)
    or a ``from_pretrained`` folder is refused with the callable that builds it;
    ``trust_pickle=True`` unpickles a checkpoint instead (``torch.load(
    weights_only=False)``: it runs the file's code; CLI ``--trust-pickle``).
    """
    if isinstance(source, LoadedModel):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        return load_bytes(bytes(source), name or "uploaded.onnx", input_shape=input_shape,
                          max_tensor_mb=max_tensor_mb)
    if isinstance(source, (str, os.PathLike)):
        return _load_text(str(source), input_shape=input_shape, name=name, seed=seed,
                          max_tensor_mb=max_tensor_mb, trust_pickle=trust_pickle)
    for frontend in FRONTENDS:
        found = adapter(frontend)
        if found.load_object is not None and found.accepts(source):
            return found.load_object(source, name=name, input_shape=input_shape,
                                     max_tensor_mb=max_tensor_mb)
    raise UnsupportedModelError(
        f"cannot load an object of type {type(source).__name__}. To fix this, pass a path "
        f"({'/'.join(SUFFIXES)}), 'sample:NAME', 'timm:NAME', 'torchvision:NAME' or an nn.Module."
    )


def load_bytes(data: bytes, filename: str, *, input_shape: tuple[int, ...] | None = None,
               max_tensor_mb: float | None = None) -> LoadedModel:
    """Load untrusted file contents (an upload); the format follows ``filename``'s suffix,
    which also names the model in the result and in every error message.

    Nothing in the bytes can run code or read other files: ``.pt2`` archives are
    checked and never unpickled, and ONNX models that keep weights in external
    files are refused (there is no folder they may come from).
    """
    found = adapter_for(Path(filename).suffix)
    if found is None or found.load_bytes is None:
        pickled = (" A pickled checkpoint runs code when it is loaded, so it is never opened."
                   if Path(filename).suffix.lower() in CHECKPOINT_SUFFIXES else "")
        raise UnsafeFileError(
            f"{filename}: only {_accepted()} (torch.export) files are accepted.{pickled} To fix "
            "this, export the model with torch.export.save or torch.onnx.export, or give the "
            "command line a package.module:callable that builds it."
        )
    return found.load_bytes(data, filename, input_shape=input_shape, max_tensor_mb=max_tensor_mb)


def _load_text(text: str, *, input_shape, name, seed, max_tensor_mb,
               trust_pickle: bool = False) -> LoadedModel:
    if text.startswith("sample:"):
        from ..sources import load_sample

        return load_sample(text.split(":", 1)[1], input_shape=input_shape,
                           max_tensor_mb=max_tensor_mb)
    suffix = Path(text).suffix.lower()
    if suffix in CHECKPOINT_SUFFIXES or os.path.isdir(text):
        return _load_checkpoint(Path(text), name or Path(text).name, input_shape=input_shape,
                                max_tensor_mb=max_tensor_mb, trust_pickle=trust_pickle)
    if suffix in SUFFIXES or os.path.exists(text):
        if not os.path.exists(text):
            raise InvalidGraphError(f"file not found: {text}. To fix this, check the path.")
        found = adapter_for(suffix)
        if found is not None and found.load_file is not None:
            return found.load_file(text, name=name, input_shape=input_shape,
                                   max_tensor_mb=max_tensor_mb)
        raise InvalidGraphError(
            f"{text}: unsupported file type {suffix or '(none)'}. To fix this, give an .onnx file "
            "or a .pt2 file saved by torch.export.save."
        )
    if ":" in text:
        from ..sources import resolve_spec

        return resolve_spec(text, input_shape=input_shape, seed=seed, max_tensor_mb=max_tensor_mb)
    raise InvalidGraphError(
        f"cannot interpret {text!r}: not a file, and not sample:/timm:/torchvision:/ultralytics:/"
        "module:callable. "
        "To fix this, run `bnfold samples` for bundled names or give a path."
    )


def _load_checkpoint(path: Path, label: str, *, input_shape, max_tensor_mb,
                     trust_pickle: bool) -> LoadedModel:
    """A pickled checkpoint or a ``from_pretrained`` folder: refused with the callable
    that builds it, or (``trust_pickle``, pickles only) unpickled."""
    from .pytorch import checkpoint

    if not path.exists():
        raise InvalidGraphError(f"file not found: {path}. To fix this, check the path.")
    if not trust_pickle or path.is_dir() or path.suffix.lower() not in checkpoint.PICKLE_SUFFIXES:
        raise checkpoint.refuse(path, label)
    from .pytorch import load_module

    module, shape, notes = checkpoint.load_trusted(path, label)
    shape = tuple(input_shape) if input_shape is not None else shape
    if shape is None:
        raise UnsupportedModelError(
            f"{label}: the input shape is unknown. To fix this, pass --input-shape "
            "(e.g. 1,3,224,224).")
    loaded = load_module(module, input_shape=shape, name=label, max_tensor_mb=max_tensor_mb)
    loaded.notes[:0] = notes
    return loaded
