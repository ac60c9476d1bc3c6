"""Frontends: one adapter per input format, and ``load`` which picks one.

``load`` accepts an ``.onnx`` / ``.pt2`` path, ``sample:NAME``, ``timm:NAME``,
``torchvision:NAME``, ``package.module:callable``, an ``nn.Module`` or an
``onnx.ModelProto`` (or ONNX bytes).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import InvalidGraphError, UnsupportedModelError
from ..model import LoadedModel


def load(source: Any, *, input_shape: tuple[int, ...] | None = None, name: str | None = None,
         seed: int = 0) -> LoadedModel:
    """Load any supported model into a :class:`LoadedModel` (never mutates ``source``)."""
    if isinstance(source, LoadedModel):
        return source
    if isinstance(source, (bytes, bytearray)):
        from .onnx_graph import load_onnx

        return load_onnx(bytes(source), name=name or "uploaded.onnx", input_shape=input_shape)
    if isinstance(source, (str, os.PathLike)):
        return _load_text(str(source), input_shape=input_shape, name=name, seed=seed)
    if type(source).__name__ == "ModelProto":
        from .onnx_graph import load_onnx

        return load_onnx(source, name=name, input_shape=input_shape)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    if torch is not None and isinstance(source, torch.nn.Module):
        from .pytorch import load_module

        return load_module(source, input_shape=input_shape, name=name)
    raise UnsupportedModelError(
        f"cannot load an object of type {type(source).__name__}. To fix this, pass a path "
        "(.onnx/.pt2), 'sample:NAME', 'timm:NAME', 'torchvision:NAME' or an nn.Module."
    )


def _load_text(text: str, *, input_shape, name, seed) -> LoadedModel:
    if text.startswith("sample:"):
        return load_sample(text.split(":", 1)[1], input_shape=input_shape)
    suffix = Path(text).suffix.lower()
    if suffix in (".onnx", ".pt2") or os.path.exists(text):
        if not os.path.exists(text):
            raise InvalidGraphError(f"file not found: {text}. To fix this, check the path.")
        if suffix == ".onnx":
            from .onnx_graph import load_onnx

            return load_onnx(text, name=name or Path(text).name, input_shape=input_shape)
        if suffix == ".pt2":
            from .pytorch import load_pt2

            return load_pt2(text)
        raise InvalidGraphError(
            f"{text}: unsupported file type {suffix or '(none)'}. To fix this, give an .onnx file "
            "or a .pt2 file saved by torch.export.save."
        )
    if ":" in text:
        from .zoo import resolve_spec

        return resolve_spec(text, input_shape=input_shape, seed=seed)
    raise InvalidGraphError(
        f"cannot interpret {text!r}: not a file, and not sample:/timm:/torchvision:/module:callable. "
        "To fix this, run `bnfold samples` for bundled names or give a path."
    )


def load_sample(sample: str, *, input_shape: tuple[int, ...] | None = None) -> LoadedModel:
    """A bundled sample model (``sample_models``) as a LoadedModel (PyTorch)."""
    from sample_models import get_sample

    from .pytorch import load_module

    try:
        spec = get_sample(sample)
    except KeyError as e:
        raise UnsupportedModelError(str(e.args[0]) if e.args else str(e)) from e
    return load_module(spec.build(), input_shape=input_shape or spec.input_shape, name=f"sample:{sample}")
