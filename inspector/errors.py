"""One exception family. Messages say what went wrong and how to fix it."""

from __future__ import annotations


class InspectorError(Exception):
    """Base class: every error the library raises on purpose.

    The message is one line that ends with how to fix it. ``example`` holds a few
    lines of code that do (the CLI prints them, indented, under the error line);
    ``details`` what the line leaves out, e.g. the underlying tracebacks' messages
    (the CLI prints them with ``--verbose``); ``close_matches`` the names a mistyped
    one may have meant (the app offers them as buttons).
    """

    def __init__(self, *args: object, example: str | None = None,
                 details: str | None = None, close_matches: tuple[str, ...] = ()) -> None:
        super().__init__(*args)
        self.example = example
        self.details = details
        self.close_matches = tuple(close_matches)


class UnsupportedModelError(InspectorError):
    """The model (or one of its ops) cannot be loaded or traced."""


class UnsafeFileError(InspectorError):
    """A file would need unsafe deserialisation (e.g. arbitrary pickles)."""


class InvalidGraphError(InspectorError):
    """A graph or model file is malformed (not ONNX, corrupt, cyclic...)."""


class VerificationError(InspectorError):
    """The folded model does not compute the same function as the original."""


class MissingDependencyError(InspectorError):
    """An optional package or system tool is not installed."""


class ResourceLimitError(InspectorError):
    """A tensor, file or input would exceed the memory cap (``max_tensor_mb``)."""


class OutputError(InspectorError):
    """An output cannot be written (it is an input, a folder, a missing or read-only
    folder, or the disk is full); nothing partial is left behind."""


def first_line(exc: BaseException, limit: int = 400, *, with_type: bool = False) -> str:
    """The first line of an exception's message, for one-line error reports.

    The type name stands in for an empty message; ``with_type`` prefixes it
    always (``ValueError: bad shape``). Longer lines are cut to ``limit``
    characters, ending with an ellipsis.
    """
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ("" if with_type else type(exc).__name__)
    if with_type:
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[: limit - 1] + "…"
