"""Run one benchmark job in a forked child: a crash, hang or OOM costs one row,
never the whole run. The parent must not run torch ops before forking."""

from __future__ import annotations

import multiprocessing as mp
import traceback
from collections.abc import Callable
from typing import Any


def _child(conn: Any, fn: Callable[..., dict], args: tuple) -> None:
    try:
        conn.send({"ok": True, "value": fn(*args)})
    except BaseException as e:  # report everything, including SystemExit
        tail = traceback.format_exc().strip().splitlines()[-3:]
        conn.send({"ok": False, "error": f"{type(e).__name__}: {str(e).strip()[:400]}", "trace": tail})
    finally:
        conn.close()


def run_isolated(fn: Callable[..., dict], *args: Any, timeout: float = 600.0) -> dict:
    """``fn(*args)`` in a child process; ``{"ok", "value"}`` or ``{"ok": False, "error"}``."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args), daemon=True)
    proc.start()
    child.close()
    result: dict | None = None
    if parent.poll(timeout):
        try:
            result = parent.recv()
        except EOFError:
            result = None
    proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return result or {"ok": False, "error": f"timed out after {timeout:.0f} s"}
    if result is None:
        return {"ok": False, "error": f"child process died (exit code {proc.exitcode})"}
    return result
