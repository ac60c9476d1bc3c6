"""Turn library errors into one-line messages; never a raw traceback as main output."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from ..errors import InspectorError, first_line

T = TypeVar("T")


def show_error(what: str, exc: BaseException) -> None:
    """``st.error`` with one line; unexpected errors add a collapsed traceback."""
    if isinstance(exc, InspectorError):
        st.error(f"{what}: {first_line(exc)}", icon="⚠️")
        return
    st.error(f"{what} failed unexpectedly ({type(exc).__name__}): {first_line(exc)}", icon="🛑")
    with st.expander("Technical details (for a bug report)"):
        st.code("".join(traceback.format_exception(exc)), language="text")


def safe_call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """``fn(*args, **kwargs)``, or None after showing the error in the page.

    Streamlit's rerun/stop exceptions derive from BaseException and pass through.
    """
    try:
        return fn(*args, **kwargs)
    except InspectorError as e:
        show_error(what, e)
    except Exception as e:  # every other error is shown, not raised
        show_error(what, e)
    return None
