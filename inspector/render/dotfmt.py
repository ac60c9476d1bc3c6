"""Safe DOT text: quoting of names that come from uploaded models.

Graphviz treats attribute strings differently (checked on Graphviz 2.43):

* node names and ``id`` / ``class``: the DOT lexer only unescapes ``\\"``; ``id``
  also turns ``\\\\`` into ``\\``; XML entities pass through to the SVG.
* ``label``: an escString (``\\n`` is a line break, ``\\N`` the node name...),
  entities are decoded then re-escaped in the SVG.
* ``tooltip``: unescaped twice (``\\\\N`` still expands to the node name), so a
  backslash is shown as the look-alike ``⧵`` (U+29F5) there.

Every writer below escapes ``&``, ``<`` and ``>`` as entities, so no name can
produce a raw entity, tag or invalid character reference in the SVG, and
replaces control characters (not allowed in XML 1.0) with U+FFFD.

Graphviz's lexer refuses a quoted string over 16,384 bytes (a 16 KB node name
stopped the graph from drawing): longer strings are written as DOT's
concatenation ``"part" + "part"``, split between escape sequences, so ids and
tooltips keep the full name (labels show it shortened, ``shorten``).
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))


def _clean(text: object) -> str:
    s = str(text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("\ufffd", s)


#: Bytes per quoted DOT string part (Graphviz's lexer stops at 16,384).
QUOTED_MAX_BYTES = 8000
_TOKEN = re.compile(r"\\.|&#?[A-Za-z0-9]+;|.", re.DOTALL)


def _quoted(escaped: str) -> str:
    """``"escaped"``, or ``"a" + "b" + ...`` when longer than ``QUOTED_MAX_BYTES``
    (never splitting a backslash escape or an entity)."""
    if len(escaped.encode("utf-8")) <= QUOTED_MAX_BYTES:
        return f'"{escaped}"'
    parts, current, size = [], [], 0
    for tok in _TOKEN.findall(escaped):
        n = len(tok.encode("utf-8"))
        if size + n > QUOTED_MAX_BYTES:
            parts.append("".join(current))
            current, size = [], 0
        current.append(tok)
        size += n
    parts.append("".join(current))
    return " + ".join(f'"{p}"' for p in parts)


def _entities(s: str) -> str:
    for raw, ent in _ENTITIES:
        s = s.replace(raw, ent)
    return s


def q_id(text: object) -> str:
    """A quoted DOT node/graph name (also safe for ``id`` and ``class`` values).

    Newlines become ``&#10;`` so the SVG ``id`` equals the original text.
    """
    s = _entities(_clean(text).replace("\\", "\\\\").replace('"', '\\"'))
    return _quoted(s.replace("\n", "&#10;").replace("\t", "&#9;"))


def q_label(text: object) -> str:
    """A quoted label; newlines in ``text`` become centred line breaks."""
    s = _entities(_clean(text).replace("\\", "\\\\").replace('"', '\\"'))
    return _quoted(s.replace("\n", "\\n"))


def q_tooltip(text: object) -> str:
    """A quoted tooltip (backslashes shown as ``⧵``; newlines kept)."""
    s = _entities(_clean(text).replace("\\", "\u29f5").replace('"', '\\"'))
    return _quoted(s.replace("\n", "\\n"))


def q_title(text: object) -> str:
    """A quoted graph name (written verbatim as the SVG graph ``<title>``)."""
    s = _clean(text).replace("\\", "\u29f5").replace('"', '\\"').replace("\n", " ")
    return _quoted(_entities(s))


_LABEL_KEYS = frozenset({"label", "xlabel"})
_TOOLTIP_KEYS = frozenset({"tooltip"})


def attrs(**kv: object) -> str:
    """``[k="v" ...]`` with each value quoted by its kind; None values dropped.

    Keys ending in ``_`` lose it (``class_`` -> ``class``).
    """
    parts = []
    for key, value in kv.items():
        if value is None:
            continue
        key = key.rstrip("_")
        if key in _LABEL_KEYS:
            val = q_label(value)
        elif key in _TOOLTIP_KEYS:
            val = q_tooltip(value)
        else:
            val = q_id(value)
        parts.append(f"{key}={val}")
    return "[" + " ".join(parts) + "]"


def shorten(text: str, limit: int = 40) -> str:
    """``text`` cut to at most ``limit`` characters, keeping its distinguishing end.

    Names are cut at ``/`` or ``.`` boundaries so whole trailing path segments
    survive (they tell layers apart); a single over-long segment keeps its end.
    Example: ``shorten("/features/denseblock1/denselayer1/norm1/BatchNormalization")``
    gives ``"…/denselayer1/norm1/BatchNormalization"``.
    """
    if len(text) <= limit:
        return text
    tail = text[-(limit - 1):]
    cut = next((i for i, ch in enumerate(tail) if ch in "./"), None)
    if cut is not None:
        tail = tail[cut:]
    return "…" + tail
