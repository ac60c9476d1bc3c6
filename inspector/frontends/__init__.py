"""Frontends: one adapter package per input format, and ``load`` which picks one.

``pytorch/`` (``nn.Module``, ``.pt2``) and ``onnx/`` (``.onnx``) each expose
``capture`` (load -> IR), ``ops`` (the op table), ``writeback`` and ``runtime``
modules, and an ``ADAPTER`` that every LoadedModel they create holds.

``load`` accepts an ``.onnx`` / ``.pt2`` path, file bytes plus a file name
(uploads), an ``nn.Module``, an ``onnx.ModelProto``, or a model source name
(``sample:NAME``, ``timm:NAME``, ``torchvision:NAME``, ``ultralytics:NAME``,
``package.module:callable``;
see ``inspector.sources``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from ..errors import InvalidGraphError, UnsafeFileError, UnsupportedModelError
from ..model import LoadedModel

#: File suffixes each adapter reads.
SUFFIXES = (".onnx", ".pt2")
#: Checkpoints: refused with the way in, or unpickled with ``trust_pickle``.
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".pkl", ".tar", ".safetensors")


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
    if type(source).__name__ == "ModelProto":
        from .onnx import load_onnx

        return load_onnx(source, name=name, input_shape=input_shape, max_tensor_mb=max_tensor_mb)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    if torch is not None and isinstance(source, torch.nn.Module):
        from .pytorch import load_module

        return load_module(source, input_shape=input_shape, name=name, max_tensor_mb=max_tensor_mb)
    raise UnsupportedModelError(
        f"cannot load an object of type {type(source).__name__}. To fix this, pass a path "
        "(.onnx/.pt2), 'sample:NAME', 'timm:NAME', 'torchvision:NAME' or an nn.Module."
    )


def load_bytes(data: bytes, filename: str, *, input_shape: tuple[int, ...] | None = None,
               max_tensor_mb: float | None = None) -> LoadedModel:
    """Load untrusted file contents (an upload); the format follows ``filename``'s suffix,
    which also names the model in the result and in every error message.

    Nothing in the bytes can run code or read other files: ``.pt2`` archives are
    checked and never unpickled, and ONNX models that keep weights in external
    files are refused (there is no folder they may come from).
    """
    suffix = Path(filename).suffix.lower()
    if suffix == ".onnx":
        from .onnx import load_onnx

        return load_onnx(data, name=filename, input_shape=input_shape,
                         max_tensor_mb=max_tensor_mb)
    if suffix == ".pt2":
        from .pytorch import load_pt2

        # The archive is read with zipfile from this private copy; torch never opens it.
        with tempfile.TemporaryDirectory(prefix="bnfold-upload-") as tmp:
            path = Path(tmp) / "model.pt2"
            path.write_bytes(data)
            return load_pt2(path, max_tensor_mb=max_tensor_mb, name=filename)
    pickled = " A pickled checkpoint runs code when it is loaded, so it is never opened." \
        if suffix in CHECKPOINT_SUFFIXES else ""
    raise UnsafeFileError(
        f"{filename}: only .onnx and .pt2 (torch.export) files are accepted.{pickled} To fix "
        "this, export the model with torch.export.save or torch.onnx.export, or give the "
        "command line a package.module:callable that builds it."
    )


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
        if suffix == ".onnx":
            from .onnx import load_onnx

            return load_onnx(text, name=name or Path(text).name, input_shape=input_shape,
                             max_tensor_mb=max_tensor_mb)
        if suffix == ".pt2":
            from .pytorch import load_pt2

            return load_pt2(text, max_tensor_mb=max_tensor_mb, name=name)
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
