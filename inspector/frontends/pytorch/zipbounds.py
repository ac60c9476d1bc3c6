"""Reading a zip archive within fixed bounds, whatever its headers claim.

A ``.pt2`` file is a zip, and a zip's headers are just numbers the writer
chose. Measured on crafted files: a 2.7 MB archive whose three deflated
entries inflate to 900 MB each, a 300 KB one holding a 300 MB JSON, a 23 MB
one holding 200,000 tiny entries (``zipfile`` alone needs seconds to list
them). So, in this order:

1. :func:`open_zip` reads the end-of-central-directory record and the
   central directory's raw bytes first, and refuses more than
   :data:`MAX_ENTRIES` entries (counted by their signatures, before
   ``zipfile`` builds an object per entry) and duplicate names;
2. :func:`check_declared` applies every entry's cap to its *declared*
   uncompressed size, and caps what decompression adds in total (the
   uncompressed sizes beyond the compressed ones), before anything is
   decompressed;
3. :func:`read_entry` reads one entry in bounded chunks into a buffer of
   the declared size and stops at the cap even if the header lied.

Memory for an archive is therefore at most its file size plus ``cap``.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from ...errors import InvalidGraphError, ResourceLimitError
from ...limits import mb

#: At most this many entries. ``torch.export.save`` writes ten fixed entries plus one
#: per weight or constant tensor (ResNet-50: 330, DenseNet-121: 736).
MAX_ENTRIES = 20_000
#: Uncompressed bytes of one JSON entry (``models/model.json`` takes about 1.1 KB per
#: graph node: DenseNet-121's 1,160 nodes, 1.3 MB) and its deepest nesting (torch: 10).
MAX_METADATA_BYTES = 64 * 2**20
MAX_JSON_DEPTH = 64
#: The one-line text entries (``archive_format``, ``byteorder`` ...).
MAX_TEXT_BYTES = 4096
#: Bytes of central directory read (46-byte header + name + extra fields per entry).
_MAX_DIRECTORY_BYTES = MAX_ENTRIES * 1024
_CENTRAL_SIGNATURE = b"PK\x01\x02"
_CHUNK = 1 << 20
_NOT_TORCH = "To fix this, check that the file is the archive torch.export.save wrote."
_RAISE_CAP = "To fix this, raise --max-tensor-mb (library: max_tensor_mb=...) if you trust the file."


def open_zip(path: Path, label: str) -> zipfile.ZipFile:
    """``zipfile.ZipFile(path)`` once its directory is known to be small and free of
    duplicate names.

    Raises:
        InvalidGraphError: not a zip, or more than :data:`MAX_ENTRIES` entries.
        UnsafeFileError: two entries with the same name (torch reads the first
            copy, Python the last: they would not read the same archive).
    """
    from ...errors import UnsafeFileError

    _check_directory(path, label)
    z = zipfile.ZipFile(path)
    names = Counter(i.filename for i in z.infolist())
    dupes = sorted(n for n, k in names.items() if k > 1)
    if dupes:
        z.close()
        raise UnsafeFileError(f"{label} has duplicate zip entries ({dupes[0]}); torch and Python "
                              "would read different data. To fix this, save the program with "
                              "torch.export.save(ep, 'model.pt2').")
    return z


def _check_directory(path: Path, label: str) -> None:
    """Count the central directory's entries from its raw bytes (a bounded read)."""
    with open(path, "rb") as f:
        try:
            end = zipfile._EndRecData(f)  # the same record zipfile itself trusts
        except OSError:
            return  # zipfile reports it
        if not end:
            return  # not a zip: zipfile.ZipFile raises BadZipFile with its own words
        size = end[zipfile._ECD_SIZE]
        if size > _MAX_DIRECTORY_BYTES:
            raise InvalidGraphError(
                f"{label} has a {mb(size)} MB zip directory, room for far more than the "
                f"{MAX_ENTRIES:,} entries read (torch.export.save writes about one per "
                f"tensor). {_NOT_TORCH}")
        zip64 = end[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64
        start = end[zipfile._ECD_LOCATION] - size - (
            zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator if zip64 else 0)
        if start < 0:
            return  # malformed: zipfile reports it
        f.seek(start)
        count = f.read(size).count(_CENTRAL_SIGNATURE)  # >= the real count, whatever the
    if count > MAX_ENTRIES:                            # end record declares
        raise InvalidGraphError(
            f"{label} has {count:,} entries in its zip directory; torch.export.save writes "
            f"about one per tensor and at most {MAX_ENTRIES:,} are read. {_NOT_TORCH}")


#: What an entry holds decides its limit: tensor bytes (``payload``, the tensor cap),
#: JSON (``metadata``) or a one-line ``text``.
KINDS = ("payload", "metadata", "text")


def limit_for(kind: str, cap: int) -> int:
    """The largest uncompressed size read for an entry of ``kind`` (bytes)."""
    return {"payload": cap, "metadata": MAX_METADATA_BYTES, "text": MAX_TEXT_BYTES}[kind]


def check_declared(entries: Iterable[tuple[str, zipfile.ZipInfo, str]], label: str,
                   cap: int) -> None:
    """Before decompressing anything: every entry's declared uncompressed size is within
    the limit of its kind, and decompression adds at most ``cap`` bytes over the whole
    archive. ``entries`` holds (name shown in messages, entry, kind)."""
    inflation = 0
    for rel, info, kind in entries:
        if info.file_size > limit_for(kind, cap):
            raise _over(label, rel, info.file_size, kind, cap)
        inflation += max(info.file_size - info.compress_size, 0)
    if inflation > cap:
        raise ResourceLimitError(
            f"{label}: its compressed entries inflate to {mb(inflation)} MB more than their "
            f"size in the file, above the {mb(cap)} MB limit (torch.export.save stores "
            f"entries uncompressed). {_RAISE_CAP}")


def read_entry(z: zipfile.ZipFile, info: zipfile.ZipInfo, rel: str, label: str, kind: str,
               cap: int) -> bytearray:
    """The entry's bytes, read in 1 MB chunks into a buffer of its declared size; reading
    stops with ResourceLimitError as soon as more than its kind's limit comes out."""
    limit = limit_for(kind, cap)
    if info.file_size > limit:
        raise _over(label, rel, info.file_size, kind, cap)
    buf = bytearray(info.file_size)
    view = memoryview(buf)
    pos = 0
    with z.open(info) as f:
        while pos < len(buf):
            n = f.readinto(view[pos:pos + _CHUNK])
            if not n:
                break
            pos += n
        extra = f.read(1)  # zipfile stops at the declared size; never trust that alone
    view.release()
    if extra:
        raise _over(label, rel, pos + 1, kind, cap, at_least=True)
    if pos < len(buf):
        raise InvalidGraphError(f"{label}: entry {rel} is shorter than its header says "
                                f"({pos:,} of {info.file_size:,} bytes); the file is truncated. "
                                "To fix this, copy the complete file again.")
    return buf


def check_json_depth(data: bytes | bytearray, rel: str, label: str) -> None:
    """Refuse JSON nested deeper than :data:`MAX_JSON_DEPTH` before parsing it (deep
    nesting makes recursive readers fail or crawl). Brackets inside strings are counted
    too (an upper bound, exact for torch's files); only a file over the limit is
    measured again with its strings removed."""
    import numpy as np

    if _depth(np.frombuffer(data, np.uint8)) <= MAX_JSON_DEPTH:
        return
    stripped = re.sub(rb'"(?:[^"\\]|\\.)*"', b'""', bytes(data))
    depth = _depth(np.frombuffer(stripped, np.uint8))
    if depth > MAX_JSON_DEPTH:
        raise InvalidGraphError(
            f"{label}: {rel} nests {depth:,} levels deep; torch.export writes about 10 and at "
            f"most {MAX_JSON_DEPTH} are read. {_NOT_TORCH}")


def _depth(chars) -> int:
    import numpy as np

    step = (np.isin(chars, _OPEN).astype(np.int8) - np.isin(chars, _CLOSE).astype(np.int8))
    return int(np.cumsum(step, dtype=np.int64).max(initial=0))


_OPEN = (ord("["), ord("{"))
_CLOSE = (ord("]"), ord("}"))


def _over(label: str, rel: str, size: int, kind: str, cap: int, *, at_least: bool = False
          ) -> ResourceLimitError:
    limit = limit_for(kind, cap)
    fix = _RAISE_CAP if kind == "payload" else (
        "torch.export writes about 1 KB of JSON per graph node, so this allows programs of "
        "about 50,000 nodes; to fix this, export a smaller program." if kind == "metadata"
        else f"torch.export.save writes a few bytes there. {_NOT_TORCH}")
    more = "more than " if at_least else ""
    return ResourceLimitError(f"{label}: entry {rel} holds {more}{mb(size)} MB uncompressed, "
                              f"above the {mb(limit)} MB limit for {kind}. {fix}")
