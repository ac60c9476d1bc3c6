"""Reading ONNX files safely (the ONNX counterpart of ``pytorch/archive.py``).

:func:`read_source` turns a path, upload bytes or a ModelProto into a private
ModelProto copy with every tensor's data inline. External data (weights in side
files) is read only for a path, and only from files inside the model's own
folder (no absolute path, no ``..``, no symlink leading out, at most ``cap``
bytes each); bytes and ModelProtos have no folder, so external references are
refused and nothing is ever read from the working directory. :func:`skeleton`
is the light copy that checking and shape inference work on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import onnx
from onnx import helper

from ...errors import InvalidGraphError, ResourceLimitError, UnsafeFileError, first_line
from ...limits import mb
from .wire import PROTOBUF_MAX_DEPTH, nesting_depth

_BIG = 1024  # bytes; larger initializers are left out of the skeleton


def read_model(source: Any, name: str | None = None) -> tuple[onnx.ModelProto, str]:
    """Parse and check ``source``; returns (a private ModelProto copy, display name)."""
    model, label = read_source(source, name)
    check_model(skeleton(model)[0], label)
    return model, label


def read_source(source: Any, name: str | None, cap: int | None = None
                ) -> tuple[onnx.ModelProto, str]:
    """A private copy of the model with every tensor's data inline.

    External data (weights in side files) is read only for a path, and only
    from files inside the model's own folder (no absolute path, no ``..``, no
    symlink leading out, at most ``cap`` bytes each). Bytes (uploads) and
    ModelProtos have no folder: external references are refused, so nothing
    is ever read from the working directory.
    """
    if isinstance(source, onnx.ModelProto):
        model, label = onnx.ModelProto(), name or source.graph.name or "model"
        model.CopyFrom(source)
        _refuse_external(model, label, "an onnx.ModelProto; load it with onnx.load(path) so "
                         "that its weights are read in")
    elif isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "model"
        model = _parse(bytes(source), label)
        _refuse_external(model, label, "an upload; export it as one self-contained .onnx "
                         "file (onnx.save(model, path, save_as_external_data=False))")
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise InvalidGraphError(f"ONNX file not found: '{path}'. To fix this, check the path "
                                    "(it must name a .onnx file, not a folder).")
        label = name or path.stem
        if path.stat().st_size >= 2**31:
            raise InvalidGraphError(f"'{path.name}' is {path.stat().st_size / 2**30:.1f} GiB; an "
                                    "ONNX protobuf cannot exceed 2 GiB. To fix this, save the "
                                    "weights as external data (onnx.save(..., "
                                    "save_as_external_data=True)).")
        try:
            data = path.read_bytes()
        except OSError as e:
            raise InvalidGraphError(f"'{path.name}' cannot be read ({e.strerror or e}). To fix "
                                    "this, check the file's permissions.") from e
        model = _parse(data, path.name)
        _load_external(model, path, cap)
    else:
        raise InvalidGraphError(f"cannot load an ONNX model from an object of type {type(source).__name__}. "
                                "To fix this, pass a file path, bytes or an onnx.ModelProto.")
    return model, label


def _all_tensors(model: onnx.ModelProto) -> list[onnx.TensorProto]:
    """Every TensorProto of the model: initializers, sparse tensors, node attributes
    (also inside subgraphs and functions)."""
    out: list[onnx.TensorProto] = []

    def graph(g: onnx.GraphProto) -> None:
        out.extend(g.initializer)
        for sp in g.sparse_initializer:
            out.extend((sp.values, sp.indices))
        nodes(g.node)

    def nodes(ns) -> None:
        for n in ns:
            for a in n.attribute:
                if a.HasField("t"):
                    out.append(a.t)
                out.extend(a.tensors)
                if a.HasField("sparse_tensor"):
                    out.extend((a.sparse_tensor.values, a.sparse_tensor.indices))
                if a.HasField("g"):
                    graph(a.g)
                for sub in a.graphs:
                    graph(sub)

    graph(model.graph)
    for f in model.functions:
        nodes(f.node)
    return out


def _external(t: onnx.TensorProto) -> bool:
    return t.data_location == onnx.TensorProto.EXTERNAL or len(t.external_data) > 0


def _refuse_external(model: onnx.ModelProto, label: str, why: str) -> None:
    ext = [t for t in _all_tensors(model) if _external(t)]
    if ext:
        raise UnsafeFileError(f"'{label}' keeps {len(ext)} weight tensor(s) in external files "
                              f"('{ext[0].name}'), which cannot be read for {why}.")


def _load_external(model: onnx.ModelProto, path: Path, cap: int | None) -> None:
    """Read external tensor data from inside ``path``'s folder only, in place."""
    base = path.parent.resolve()
    for t in _all_tensors(model):
        if not _external(t):
            continue
        info = {e.key: e.value for e in t.external_data}
        loc = info.get("location", "")
        bad = (not loc or "\\" in loc or Path(loc).is_absolute() or ":" in loc
               or ".." in Path(loc).parts)
        target = (base / loc).resolve() if not bad else None
        if bad or target is None or not target.is_relative_to(base):
            raise UnsafeFileError(f"'{path.name}': tensor '{t.name}' points at {loc!r}, outside "
                                  "the model's folder; it is refused. To fix this, keep external "
                                  "weight files next to the .onnx file and refer to them by "
                                  "their bare file name.")
        try:
            offset = int(info.get("offset", 0))
            length = int(info["length"]) if "length" in info else None
            size = target.stat().st_size
            if offset < 0 or (length is not None and (length < 0 or offset + length > size)):
                raise ValueError(f"offset/length outside the {size}-byte file")
            n = (size - offset) if length is None else length
            if cap is not None and n > cap:
                raise ResourceLimitError(
                    f"'{path.name}': tensor '{t.name}' is {mb(n)} MB, above the "
                    f"{mb(cap)} MB limit. To fix this, raise --max-tensor-mb "
                    "(library: max_tensor_mb=...).")
            with open(target, "rb") as f:
                f.seek(offset)
                data = f.read(n)
        except (OSError, ValueError) as e:
            raise InvalidGraphError(f"'{path.name}' refers to external weight files ({loc!r}) that "
                                    f"cannot be read ({e}). To fix this, keep them next to the "
                                    ".onnx file.") from e
        t.raw_data = data
        del t.external_data[:]
        t.data_location = onnx.TensorProto.DEFAULT


def _parse(data: bytes, label: str) -> onnx.ModelProto:
    not_onnx = (f"'{label}' is not an ONNX model (its bytes do not parse as an ONNX "
                "ModelProto). To fix this, pass a file written by onnx.save or torch.onnx.export.")
    try:
        model = onnx.load_model_from_string(data)
    except Exception as e:  # protobuf raises DecodeError or RuntimeWarning-like errors
        depth, graphs = nesting_depth(data)
        if depth > PROTOBUF_MAX_DEPTH:
            what = (f"If/Loop/Scan subgraphs {graphs - 1}+ levels deep" if graphs > 2
                    else "type declarations (sequences of sequences ...) too deep")
            raise InvalidGraphError(
                f"'{label}' nests {what}: beyond protobuf's limit of {PROTOBUF_MAX_DEPTH} nested "
                "messages (about 31 levels of subgraphs), it cannot be read. To fix this, "
                "flatten the nesting (e.g. fewer If inside If) and export it again.") from e
        if data[:1] == b"\x08" and len(data) > 8:
            raise InvalidGraphError(f"'{label}' starts like an ONNX model but is truncated or "
                                    "corrupt (it cannot be parsed). To fix this, export it again "
                                    "or re-copy the complete file.") from e
        raise InvalidGraphError(not_onnx) from e
    if model.ir_version == 0 or not model.HasField("graph"):
        raise InvalidGraphError(not_onnx)
    return model


def check_model(model: onnx.ModelProto, label: str) -> None:
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        raise InvalidGraphError(f"'{label}' is not a valid ONNX model: {first_line(e)}. To fix this, "
                                "re-export the model (onnx.checker.check_model prints the full report).") from e
    except ValueError:  # > 2 GiB protos can only be checked from a path; accept them
        pass


def default_opset(model: onnx.ModelProto) -> int:
    """The opset version of the default ONNX domain."""
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return int(imp.version)
    return onnx.defs.onnx_opset_version()


def skeleton(model: onnx.ModelProto) -> tuple[onnx.ModelProto, frozenset[str]]:
    """A light copy for checking and shape inference (serialising 100 MB of weights
    twice would dominate loading): initializers above 1 KiB become typed graph
    inputs. Returns the copy and the names of the initializers moved."""
    skel = onnx.ModelProto()
    for field in ("ir_version", "producer_name", "producer_version", "domain", "model_version"):
        setattr(skel, field, getattr(model, field))
    skel.opset_import.extend(model.opset_import)
    skel.functions.extend(model.functions)
    src, g = model.graph, skel.graph
    g.name = src.name
    for part in ("node", "input", "output", "value_info", "sparse_initializer"):
        getattr(g, part).extend(getattr(src, part))
    declared = {vi.name for vi in src.input}
    moved = set()
    for t in src.initializer:
        if t.ByteSize() <= _BIG:
            g.initializer.append(t)
            continue
        moved.add(t.name)
        if t.name not in declared:
            g.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    return skel, frozenset(moved)
