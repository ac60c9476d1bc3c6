"""Writing outputs without losing anything: never over an input, always atomically.

Every file the CLI writes goes through :func:`atomic_write`: the content is
written to a temporary file in the target folder and renamed over the target
only when complete, so a full disk or a crash never leaves a partial file and
never destroys the previous one. :func:`check_output` refuses targets that are
an input (also through a symlink or another spelling), a folder, or in a
missing folder, before any work is done.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .errors import OutputError


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists() and os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def check_output(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = (),
                 what: str = "output") -> Path:
    """The output path, checked: not an input, not a folder, its folder exists.

    Raises:
        OutputError: one line saying what is wrong and how to fix it.
    """
    out = Path(path)
    for src in inputs:
        if src and _same_file(out, Path(src)):
            raise OutputError(f"{what} {out} is the input file {src}; it would be overwritten. "
                              "To fix this, write to a different path.")
    if out.is_dir():
        raise OutputError(f"{what} {out} is a folder. To fix this, give a file name, "
                          f"e.g. {out / ('folded' + (out.suffix or '.onnx'))}.")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"cannot write {what} {out}: the folder {parent} does not exist. To "
                          "fix this, create it first or choose another path.")
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None],
                 what: str = "output") -> None:
    """Call ``write(tmp)`` with a temporary path in ``path``'s folder (same suffix), then
    rename it to ``path``. On any failure the temporary file is removed, ``path`` is
    left as it was, and OSErrors become one-line :class:`OutputError`.
    """
    out = Path(path)
    parent = out.parent if str(out.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(dir=parent, prefix=f".{out.name}.", suffix=out.suffix)
        os.close(fd)
    except OSError as e:
        raise OutputError(f"cannot write {what} {out}: {e.strerror or e}. To fix this, choose a "
                          "folder you can write to.") from e
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out)
    except OSError as e:
        raise OutputError(f"writing {what} {out} failed: {e.strerror or e}; nothing was "
                          "written. To fix this, free disk space or choose another folder.") from e
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def atomic_write_text(path: str | os.PathLike, text: str, what: str = "output") -> None:
    """:func:`atomic_write` for UTF-8 text."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), what)


@contextlib.contextmanager
def captured_output() -> Iterator[io.StringIO]:
    """Collect what libraries print or log (stdout, stderr, logging stream handlers,
    warnings) into a buffer instead of the terminal."""
    buf = io.StringIO()
    streams = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
    loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values()
                                      if isinstance(lg, logging.Logger))]
    swapped = []
    for lg in loggers:
        for h in lg.handlers:
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler) \
                    and any(h.stream is s for s in streams):
                swapped.append((h, h.stream))
                h.setStream(buf)
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            yield buf
    finally:
        for h, stream in swapped:
            h.setStream(stream)
