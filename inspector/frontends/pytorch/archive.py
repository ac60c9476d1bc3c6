"""``.pt2`` archives, read without ever running code from the file.

``torch.export.load`` is not safe on untrusted files: it unpickles legacy
entries (``data/weights/model.pt``, ``data/constants/model.pt``), pickled
payloads (``use_pickle``), custom and opaque objects and the sample inputs
(``torch.load(weights_only=False)`` as a fallback), loads AOTInductor shared
libraries, resolves node targets by ``getattr`` from ``torch`` (so a node can
call ``torch.os.system``) and parses symbolic shapes with ``sympy.sympify``
(``eval``). Python's ``zipfile`` and torch's reader also disagree on duplicate
entry names (last copy vs first copy).

So torch never reads the file here. :func:`load_program` reads the zip with
``zipfile`` and accepts only what ``torch.export.save`` writes (torch 2.14,
``torch/export/pt2_archive``): one root folder holding ``archive_format``,
``archive_version``, ``byteorder``, ``.data/version``,
``.data/serialization_id``, ``models/model.json``, the weights and constants
configs with raw tensor payloads (``weight_N``, ``tensor_N``), the sample
inputs (checked with ``torch.load(weights_only=True)``, then dropped) and
``extra/`` text files (never read). Every other entry,
duplicate names, pickled payloads, operator targets outside ``torch.ops.aten``
(and a few ``_operator``/``math``/``torch.sym_*`` scalar functions) and
symbolic expressions with anything but symbols, numbers and torch's sympy
functions are refused, and pytree specs are rebuilt from tuples, lists and dicts
(``archive_json``). Tensors are built from the raw bytes and handed to
torch's deserializer as plain dicts, with no sample inputs.
"""

from __future__ import annotations

import io
import json
import re
import traceback
import zipfile
import zlib
from pathlib import Path
from typing import Any

import torch

from ...errors import InvalidGraphError, ResourceLimitError, UnsafeFileError, first_line
from ...limits import cap_bytes, mb
from . import zipbounds
from .archive_json import BadTreeSpec, is_plain_expression, plain_module_call_specs

_FIX = "To fix this, save the program with torch.export.save(ep, 'model.pt2')."
_FIXED = {"archive_format", "archive_version", "byteorder", ".data/version",
          ".data/serialization_id", "models/model.json",
          "data/weights/model_weights_config.json",
          "data/constants/model_constants_config.json", "data/sample_inputs/model.pt"}
_PAYLOAD = re.compile(r"(data/weights/weight_|data/constants/tensor_)\d+")
_EXTRA = re.compile(r"extra/[A-Za-z0-9_.\-/]+")
_ATEN = re.compile(r"torch\.ops\.aten\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+")
_SCALAR_FUNCTIONS = frozenset(
    [f"_operator.{n}" for n in ("getitem", "add", "sub", "mul", "floordiv", "truediv", "mod",
                                 "neg", "pow", "eq", "ne", "lt", "le", "gt", "ge", "and_",
                                 "or_", "not_")]
    + [f"math.{n}" for n in ("ceil", "floor", "trunc", "sqrt")]
    + [f"torch.sym_{n}" for n in ("float", "int", "max", "min", "not", "ite", "sqrt", "sum")])


def load_program(path: str | Path, *, max_tensor_bytes: int | None = None,
                 display: str | None = None,
                 notes: list[str] | None = None) -> torch.export.ExportedProgram:
    """Check ``path`` and deserialize it without ``torch.export.load`` (nothing unpickled,
    nothing imported).

    ``display`` names the file in error messages (default: its file name). Inputs and
    outputs held in a library's container (a Hugging Face ``ModelOutput``) are read as
    tuples of the same tensors; ``notes`` says so. On failure,
    what the load allocated (entries, parsed JSON) is released before the error leaves:
    the error's traceback keeps no local variables."""
    try:
        return _load(Path(path), max_tensor_bytes, display, notes)
    except MemoryError as e:
        _release(e)
        raise ResourceLimitError(f"{display or Path(path).name}: out of memory while reading "
                                 "the archive. To fix this, free memory, or lower "
                                 "--max-tensor-mb (library: max_tensor_mb=...) so that such "
                                 "files are refused before they are read.") from e
    except BaseException as e:
        _release(e)
        raise


def _release(error: BaseException | None) -> None:
    """Clear the finished frames of ``error``'s traceback and of its causes (their local
    variables can hold gigabytes: the archive's entries, a parsed JSON)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        traceback.clear_frames(error.__traceback__)
        error = error.__cause__ or error.__context__


def _load(p: Path, max_tensor_bytes: int | None, display: str | None,
          notes: list[str] | None) -> torch.export.ExportedProgram:
    from torch._export.serde import schema
    from torch._export.serde.serialize import ExportedProgramDeserializer, _dict_to_dataclass

    files, model_json = _read_archive(p, max_tensor_bytes, display)
    try:
        replaced = plain_module_call_specs(model_json)
    except BadTreeSpec as e:
        error = UnsafeFileError if e.unsafe else InvalidGraphError
        raise error(f"{display or p.name}: {e}; it is refused. {_FIX}") from e
    if replaced and notes is not None:
        notes.append(f"the program's inputs/outputs of type {', '.join(replaced)} are read as plain tuples "
                     "of the same tensors (the file's types are not imported)")
    try:
        state_dict = _tensors(files, "data/weights/", "data/weights/model_weights_config.json",
                              max_tensor_bytes, params=True)
        constants = _tensors(files, "data/constants/",
                             "data/constants/model_constants_config.json", max_tensor_bytes,
                             params=False)
        serialized = _dict_to_dataclass(schema.ExportedProgram, model_json)
        return ExportedProgramDeserializer(None).deserialize(serialized, state_dict, constants,
                                                             None)
    except (UnsafeFileError, ResourceLimitError, InvalidGraphError, MemoryError):
        raise
    except Exception as e:  # noqa: BLE001 - any malformed field -> one line
        raise InvalidGraphError(f"{display or p.name} could not be loaded ({first_line(e, with_type=True)}). To fix this, "
                                "re-save it with torch.export.save from the installed torch "
                                "version.") from e


# -- reading and checking ----------------------------------------------------
def _read_archive(path: Path, cap: int | None, display: str | None
                  ) -> tuple[dict[str, bytes], dict]:
    """The archive's entries (relative to its root folder) and its parsed model JSON."""
    label = display or path.name
    cap = cap if cap is not None else cap_bytes(None)
    try:
        with zipbounds.open_zip(path, label) as z:
            infos = z.infolist()
            names = [i.filename for i in infos]
            roots = {n.split("/", 1)[0] for n in names}
            if len(roots) != 1 or not any(n.endswith("/archive_format") for n in names):
                raise InvalidGraphError(f"{label} is a zip file but not a torch.export archive. "
                                        f"{_FIX}")
            root = roots.pop() + "/"
            wanted = []
            for info in infos:
                rel = info.filename[len(root):]
                if info.is_dir():
                    continue
                _check_name(label, rel)
                if not rel.startswith("extra/"):  # extra/: free text, never read
                    wanted.append((rel, info, _kind(rel)))
            zipbounds.check_declared(wanted, label, cap)
            files: dict[str, bytes] = {
                rel: zipbounds.read_entry(z, info, rel, label, kind, cap)
                for rel, info, kind in wanted}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError,
            NotImplementedError, RuntimeError, zlib.error) as e:
        raise InvalidGraphError(f"{label} is not a valid .pt2 file ({first_line(e, with_type=True)}). "
                                f"{_FIX}") from e
    if files.get("archive_format", b"").strip() != b"pt2":
        raise InvalidGraphError(f"{label} is not a torch.export archive (archive_format). {_FIX}")
    if files.get("archive_version", b"").strip() != b"0":
        raise InvalidGraphError(f"{label} was written by an unsupported torch.export archive "
                                f"version. {_FIX}")
    if files.get("byteorder", b"little").strip() != b"little":
        raise InvalidGraphError(f"{label} stores big-endian tensors, which are not supported. "
                                f"{_FIX}")
    _check_sample_inputs(label, files.pop("data/sample_inputs/model.pt", None))
    for needed in ("models/model.json", "data/weights/model_weights_config.json",
                   "data/constants/model_constants_config.json"):
        if needed not in files:
            raise InvalidGraphError(f"{label} has no {needed}; it is not a complete "
                                    f"torch.export archive. {_FIX}")
    for config in ("data/weights/model_weights_config.json",
                   "data/constants/model_constants_config.json"):
        _check_config(label, config, _json(label, files, config), files)
    model_json = _json(label, files, "models/model.json")
    _check_program(label, model_json)
    return files, model_json


def _kind(rel: str) -> str:
    """Which of ``zipbounds.KINDS`` limits an entry's size."""
    if rel.endswith(".json"):
        return "metadata"
    return "payload" if _PAYLOAD.fullmatch(rel) or rel.endswith(".pt") else "text"


def _check_name(label: str, rel: str) -> None:
    if rel in _FIXED or _PAYLOAD.fullmatch(rel) or (_EXTRA.fullmatch(rel) and ".." not in rel):
        return
    if rel.endswith(".pt") or "aotinductor" in rel or rel.startswith(("data/mtia",
                                                                      "data/executorch")):
        raise UnsafeFileError(f"{label} holds {rel}, an entry that torch would unpickle or "
                              f"execute; it is refused. {_FIX}")
    raise UnsafeFileError(f"{label} holds {rel}, which torch.export.save never writes; the "
                          f"archive is refused. {_FIX}")


def _check_sample_inputs(label: str, data: bytes | None) -> None:
    """torch.export.load would unpickle these with ``weights_only=False`` if the safe
    loader fails; they are never used here, but a file that needs it is refused."""
    if data is None:
        return
    try:
        torch.load(io.BytesIO(data), weights_only=True)  # restricted unpickler: no code
    except Exception as e:  # noqa: BLE001
        raise UnsafeFileError(f"{label}: its sample inputs (data/sample_inputs/model.pt) need "
                              f"unsafe unpickling ({first_line(e, with_type=True)[:120]}); it is refused. "
                              f"{_FIX}") from e


def _json(label: str, files: dict[str, bytes], rel: str) -> Any:
    zipbounds.check_json_depth(files[rel], rel, label)
    try:
        return json.loads(files[rel])
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidGraphError(f"{label}: {rel} is not valid JSON ({first_line(e, with_type=True)}). "
                                f"{_FIX}") from e


def _check_config(label: str, rel: str, config: Any, files: dict[str, bytes]) -> None:
    entries = config.get("config") if isinstance(config, dict) else None
    if not isinstance(entries, dict):
        raise InvalidGraphError(f"{label}: {rel} is malformed. {_FIX}")
    folder = rel.rsplit("/", 1)[0] + "/"
    for fqn, meta in entries.items():
        path_name = meta.get("path_name") if isinstance(meta, dict) else None
        if not isinstance(meta, dict) or meta.get("use_pickle") or not isinstance(
                meta.get("tensor_meta"), dict) or not isinstance(path_name, str):
            raise UnsafeFileError(f"{label} stores {fqn!r} as a pickled object ({rel}); it is "
                                  f"refused. {_FIX}")
        if not _PAYLOAD.fullmatch(folder + path_name):
            raise UnsafeFileError(f"{label}: {fqn!r} points at {path_name!r} ({rel}), which is "
                                  f"not a raw tensor payload; it is refused. {_FIX}")


def _check_program(label: str, node: Any) -> None:
    """Every operator target and symbolic expression in the model JSON is harmless."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            target = item.get("target")
            if isinstance(target, str) and not (_ATEN.fullmatch(target)
                                                or target in _SCALAR_FUNCTIONS):
                raise UnsafeFileError(f"{label} calls {target[:80]!r}, which is not an ATen "
                                      f"operator; it is refused. {_FIX}")
            expr = item.get("expr_str")
            if isinstance(expr, str) and not is_plain_expression(expr):
                raise UnsafeFileError(f"{label} holds a symbolic shape {expr[:80]!r} that is not "
                                      f"a plain expression; it is refused. {_FIX}")
            stack.extend(item.values())


# -- tensors from raw bytes --------------------------------------------------
def _tensors(files: dict[str, bytes], folder: str, rel: str, cap: int | None, *,
             params: bool) -> dict[str, torch.Tensor]:
    """Tensors of a weights/constants config, built from raw payloads (no torch reader)."""
    from torch._export.serde import schema
    from torch._export.serde.serialize import (
        _dict_to_dataclass,
        deserialize_scalar_type,
        deserialize_size,
        deserialize_storage_offset,
        deserialize_stride,
    )

    config = _dict_to_dataclass(schema.PayloadConfig, json.loads(files[rel]))
    storages: dict[str, torch.Tensor] = {}
    out: dict[str, torch.Tensor] = {}
    for fqn, meta in config.config.items():
        tm = meta.tensor_meta
        dtype = deserialize_scalar_type(tm.dtype)
        size = deserialize_size(tm.sizes)
        stride = deserialize_stride(tm.strides)
        offset = deserialize_storage_offset(tm.storage_offset)
        if any(d < 0 for d in size) or any(s < 0 for s in stride) or offset < 0:
            raise InvalidGraphError(f"tensor {fqn!r} has a negative size, stride or offset.")
        item = torch.empty((), dtype=dtype).element_size()
        span = (offset + sum((d - 1) * s for d, s in zip(size, stride)) + 1
                if all(d > 0 for d in size) else 0)
        if cap is not None and span * item > cap:
            raise ResourceLimitError(
                f"tensor {fqn!r} would take {mb(span * item)} MB, above the "
                f"{mb(cap)} MB limit. To fix this, raise --max-tensor-mb "
                "(library: max_tensor_mb=...).")
        name = meta.path_name
        if name not in storages:
            data = files.get(folder + name)
            if data is None:
                raise InvalidGraphError(f"tensor {fqn!r}: payload {name} is missing.")
            if len(data) % item:
                raise InvalidGraphError(f"tensor {fqn!r}: payload size {len(data)} is not a "
                                        f"multiple of {item} bytes ({dtype}).")
            buffer = data if isinstance(data, bytearray) else bytearray(data)  # no copy
            storages[name] = (torch.frombuffer(buffer, dtype=dtype) if data
                              else torch.zeros(span, dtype=dtype))
        flat = storages[name]
        if flat.numel() < span:
            raise InvalidGraphError(f"tensor {fqn!r}: payload {name} is shorter than its shape "
                                    "needs.")
        tensor = torch.as_strided(flat, size, stride, offset)
        if params and meta.is_param:
            tensor = torch.nn.Parameter(tensor, requires_grad=tm.requires_grad)
        out[fqn] = tensor
    return out
