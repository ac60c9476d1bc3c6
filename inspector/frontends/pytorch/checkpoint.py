"""Checkpoints (``best.pt``, ``model.pth``, a ``from_pretrained`` folder): the way in.

A pickled checkpoint runs code when it is loaded, so it is refused by default
(:func:`refuse`), with the route that works: a ``package.module:callable`` that
builds the model in the user's own code, shown as a three-line example fitted
to what the file holds. What it holds is read from the pickle's opcodes
(:mod:`pickletools` parses, it never executes): the classes it names tell an
ultralytics checkpoint, a pickled ``nn.Module`` and a plain ``state_dict`` apart.

For files the user trusts, :func:`load_trusted` (CLI ``--trust-pickle``, library
``load(..., trust_pickle=True)``, never the app) calls
``torch.load(weights_only=False)`` and takes the module it finds (the object
itself, or ``ckpt["ema"]`` / ``ckpt["model"]`` as ultralytics saves them).
"""

from __future__ import annotations

import pickletools
import zipfile
from pathlib import Path
from typing import Any

from ...errors import InvalidGraphError, UnsafeFileError, UnsupportedModelError, first_line

#: Suffixes of pickled PyTorch checkpoints (``torch.save``).
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".pkl", ".tar")
#: Weights-only formats: they hold no architecture.
WEIGHT_SUFFIXES = (".safetensors",)
_PLAIN_MODULES = ("torch._utils", "torch", "collections", "__builtin__", "builtins", "_codecs",
                  "numpy", "numpy.core.multiarray", "numpy._core.multiarray", "torch._tensor")
_MAX_PICKLE_BYTES = 64 << 20


def pickled_classes(path: Path) -> list[str] | None:
    """``module.Name`` of every global a ``torch.save`` zip names, read with
    :mod:`pickletools` (nothing runs); None if the file is not such a zip."""
    try:
        with zipfile.ZipFile(path) as z:
            entry = next((i for i in z.infolist() if i.filename.endswith("/data.pkl")
                          or i.filename == "data.pkl"), None)
            if entry is None or entry.file_size > _MAX_PICKLE_BYTES:
                return None
            data = z.read(entry)
        names: list[str] = []
        strings: list[str] = []
        for op, arg, _ in pickletools.genops(data):
            if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                strings.append(str(arg))
            elif op.name == "GLOBAL":
                names.append(str(arg).replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                names.append(".".join(strings[-2:]))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, KeyError):
        return None
    return list(dict.fromkeys(names))


def describe(path: Path) -> str:
    """What a checkpoint holds: ``ultralytics``, ``transformers``, ``module`` (a
    pickled ``nn.Module``), ``state_dict`` or ``unknown``."""
    classes = pickled_classes(path)
    if classes is None:
        return "unknown"
    for library in ("ultralytics", "transformers"):
        if any(c.startswith(library + ".") for c in classes):
            return library
    own = [c for c in classes if c.rsplit(".", 1)[0] not in _PLAIN_MODULES]
    return "module" if own else "state_dict"


def _example(kind: str, file: str, shape: str) -> str:
    """Three lines of ``mynet.py`` that build the model, and the command that reads it."""
    head, body = {
        "ultralytics": ("from ultralytics import YOLO", f'return YOLO("{file}").model.float()'),
        "transformers": ("from transformers import AutoModelForImageClassification",
                         f'return AutoModelForImageClassification.from_pretrained("{file}")'),
        "module": ("import torch",
                   f'return torch.load("{file}", weights_only=False)  # runs the file: trust it'),
        "safetensors": ("from safetensors.torch import load_file; from mypackage import MyNet",
                        f'net = MyNet(); net.load_state_dict(load_file("{file}")); return net'),
    }.get(kind) or ("import torch; from mypackage import MyNet  # your architecture",
                    f'net = MyNet(); net.load_state_dict(torch.load("{file}")); return net')
    return "\n".join(["# mynet.py, in the current folder:", head, "def model():", f"    {body}",
                      f"# then: bnfold analyze mynet:model --input-shape {shape}"])


def refuse(path: Path, label: str) -> UnsafeFileError | UnsupportedModelError:
    """Why a checkpoint / ``from_pretrained`` folder is not opened, and the way in."""
    if path.is_dir():
        if (path / "config.json").is_file():
            return UnsupportedModelError(
                f"{label} is a from_pretrained folder: its architecture is code in the library "
                "that saved it. To fix this, build it in a function and name it as "
                "package.module:callable (see the example below).",
                example=_example("transformers", str(path), "1,3,224,224"))
        return InvalidGraphError(f"{label} is a folder. To fix this, give a model file "
                                 "(.onnx, .pt2) or a package.module:callable.")
    if path.suffix.lower() in WEIGHT_SUFFIXES:
        return UnsupportedModelError(
            f"{label} holds weights only; the architecture is code. To fix this, build the "
            "model in a function that loads these weights and name it as "
            "package.module:callable (see the example below).",
            example=_example("safetensors", path.name, "1,3,224,224"))
    kind = describe(path)
    shape = "1,3,640,640" if kind == "ultralytics" else "1,3,224,224"
    if kind == "state_dict":
        return UnsupportedModelError(
            f"{label} is a PyTorch state_dict: it holds weights only; the architecture is code. "
            "To fix this, build the model in a function that loads these weights and name it as "
            "package.module:callable (see the example below).",
            example=_example(kind, path.name, shape))
    holds = {"ultralytics": " (an ultralytics model)", "module": " (a pickled nn.Module)",
             "transformers": " (a transformers model)"}.get(kind, "")
    trust = " or, for a file you trust, add --trust-pickle (it runs the file's code)"
    return UnsafeFileError(
        f"{label} is a pickled PyTorch checkpoint{holds}: loading it runs code from the file, "
        "so it is not opened. To fix this, build the model in a function and name it as "
        f"package.module:callable (see the example below){trust}.",
        example=_example(kind, path.name, shape))


def load_trusted(path: Path, label: str) -> tuple[Any, tuple[int, ...] | None, list[str]]:
    """``torch.load(path, weights_only=False)`` (runs the file's code: trusted files
    only) and the ``nn.Module`` in it; returns (module, input shape or None, notes)."""
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - anything the file's code raises
        raise InvalidGraphError(f"{label} could not be loaded ({first_line(e, with_type=True)}). "
                                "To fix this, load it in Python to see the full error.") from e
    notes = [f"{label} was unpickled (--trust-pickle): its code ran."]
    module, shape = obj, None
    if isinstance(obj, dict):
        args = obj.get("train_args") if isinstance(obj.get("train_args"), dict) else {}
        size = args.get("imgsz")
        shape = (1, 3, size, size) if isinstance(size, int) else None
        module = next((obj[k] for k in ("ema", "model", "module", "net")
                       if isinstance(obj.get(k), torch.nn.Module)), None)
    if not isinstance(module, torch.nn.Module):
        raise UnsupportedModelError(
            f"{label} holds no nn.Module (a {type(obj).__name__}: weights only?); the "
            "architecture is code. To fix this, build the model in a function that loads these "
            "weights and name it as package.module:callable (see the example below).",
            example=_example("state_dict", path.name, "1,3,224,224"))
    if any(p.dtype in (torch.float16, torch.bfloat16) for p in module.parameters()):
        module = module.float()
        notes.append(f"{label} stores half-precision weights; it is analysed and folded in "
                     "float32 (as it runs on a CPU).")
    shape = getattr(module, "input_shape", None) or shape
    return module.eval(), tuple(shape) if shape is not None else None, notes
