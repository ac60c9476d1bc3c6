"""Turn every error into one line in the page; never a traceback.

``show_error`` writes the line (names in it shown as text, never Markdown);
``safe_call`` wraps one step of a page; ``boundary`` wraps a whole page (the
app's error boundary in ``app.py``). Unexpected errors are logged with their
traceback on the server, not shown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import streamlit as st

from ..errors import InspectorError, first_line
from ..safe_text import md_sentence, md_text

T = TypeVar("T")
log = logging.getLogger("bnfold.app")


def error_line(what: str, exc: BaseException) -> str:
    """The one-line message for ``exc`` raised while doing ``what`` (plain text)."""
    if isinstance(exc, InspectorError):
        return f"{what}: {first_line(exc)}"
    if isinstance(exc, MemoryError):
        return f"{what}: out of memory. To fix this, use a smaller model or input size."
    return f"{what} failed unexpectedly ({type(exc).__name__}): {first_line(exc)}"


def show_error(what: str, exc: BaseException) -> None:
    """``st.error`` with one line: what was being done (``what``, shown as text) and
    what went wrong. Unexpected errors are logged with their traceback."""
    expected = isinstance(exc, (InspectorError, MemoryError))
    if not expected:
        log.error("%s failed", what, exc_info=exc)
    tail = error_line(what, exc)[len(what):]  # the line starts with ``what``
    st.error(md_text(what) + md_sentence(tail), icon="⚠️" if expected else "🛑")


def safe_call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """``fn(*args, **kwargs)``, or None after showing the error in the page.

    Streamlit's rerun/stop exceptions derive from BaseException and pass through.
    """
    try:
        return fn(*args, **kwargs)
    except Exception as e:  # every error is shown, not raised
        show_error(what, e)
    return None


@contextmanager
def boundary(what: str) -> Iterator[None]:
    """Run a page (or the sidebar): any error it raises becomes one line below what
    it drew. Streamlit's rerun/stop exceptions (BaseException) pass through."""
    try:
        yield
    except Exception as e:
        show_error(what, e)
