"""Names from a model are data: shown as text, never as markup or terminal control.

Node, tensor and file names come from untrusted files. Two places could give
them meaning:

* a terminal (the CLI): ANSI/OSC escape sequences clear the screen, set the
  title, colour a fake "PASS" or hide a hyperlink; Unicode bidi overrides
  reorder what is read (``bn\\u202egnp.exe``). :func:`terminal_safe` writes every
  such character as a visible ``\\uXXXX`` escape (valid inside a JSON string,
  so JSON printed to a terminal still decodes to the raw name);
* Markdown (the app): ``![x](http://host/p.png)`` makes the browser fetch a URL,
  ``[t](https://…)`` becomes a link. :func:`md_text`, :func:`md_code` and
  :func:`md_sentence` turn any text into Markdown that shows exactly that text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

__all__ = ["UNSAFE_CHARS", "terminal_safe", "visible", "wrap_points", "md_text", "md_code", "md_sentence", "md_names", "html_text",
           "SafeStream"]

#: C0 controls (but tab and newline), DEL, C1 controls, bidi embeddings, overrides,
#: isolates and marks, zero-width characters, line/paragraph separators, BOM.
UNSAFE_CHARS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
#: The same, plus tab and newline (for one-line display).
_UNSAFE_ONE_LINE = re.compile(UNSAFE_CHARS.pattern[:-1] + "\t\n]")


def _escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


def terminal_safe(text: object, *, one_line: bool = False) -> str:
    """``text`` with every control, escape, bidi and invisible formatting character
    written as ``\\uXXXX`` (newlines and tabs kept unless ``one_line``)."""
    pattern = _UNSAFE_ONE_LINE if one_line else UNSAFE_CHARS
    return pattern.sub(_escape, str(text))


def visible(text: object) -> str:
    """One line of ``text`` in which nothing is invisible or reorders the line."""
    return terminal_safe(text, one_line=True)


#: Every ASCII punctuation character (CommonMark lets each be backslash-escaped).
_MD_PUNCT = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")


#: Where GitHub-flavoured Markdown would turn plain text into a link: GFM finds
#: ``http://``, ``www.`` and e-mail addresses in the parsed text, so backslash
#: escapes do not stop it (checked in Chromium): a zero-width space goes there.
_AUTOLINK = re.compile(r"(?i)(?<=https)(?=:)|(?<=http)(?=:)|(?<=ftp)(?=:)|(?<=mailto)(?=:)"
                       r"|(?<=xmpp)(?=:)|(?<=www)(?=\.)|(?<=@)")
ZWSP = "\u200b"


#: Where a long name may wrap on screen: after each run of ``.``, ``_`` or ``/``
#: (``denseblock3.`` | ``denselayer12.`` | ``norm1``), never inside a word.
_WRAP_AFTER = re.compile(r"(?<=[./_])(?=[^./_])")


def wrap_points(text: str) -> str:
    """``text`` with a zero-width space after each run of ``.``/``_``/``/``: the only
    places a browser may break it (the app's copy handler drops them again)."""
    return _WRAP_AFTER.sub(ZWSP, text)


def md_text(text: object, *, wrap: bool = False) -> str:
    """Markdown that displays ``text`` literally: no link, image, emphasis, code,
    HTML, math, colour directive or autolink can come out of it (an invisible
    zero-width space breaks ``http:``, ``www.`` and ``@`` for the autolinker).
    ``wrap``: a name that breaks only after ``.``/``_``/``/`` (:func:`wrap_points`)."""
    s = visible(text)
    return _MD_PUNCT.sub(r"\\\1", _AUTOLINK.sub(ZWSP, wrap_points(s) if wrap else s))


def md_code(text: object, *, wrap: bool = True) -> str:
    """``text`` as a Markdown code span, whatever backticks it holds; with ``wrap``
    a long name breaks only after ``.``/``_``/``/`` (:func:`wrap_points`)."""
    s = visible(text)
    if wrap:
        s = wrap_points(s)
    longest = max((len(r) for r in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def md_sentence(text: object) -> str:
    """A library sentence (names in ``backticks``) as safe Markdown: quoted parts
    become code spans, the rest literal text. A name holding a backtick may shift
    the quoting, but nothing outside text and code spans can be produced."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # an unmatched backtick: the last part stays text
        parts[-2:] = [parts[-2] + "`" + parts[-1]]
    out = [md_code(p) if i % 2 and p else md_text("``" if i % 2 else p)
           for i, p in enumerate(parts)]
    return "".join(out)


def md_names(names: Iterable[object], *, limit: int | None = None, empty: str = "—") -> str:
    """Names as Markdown code spans joined by commas (``a, b and 3 more``), ``empty``
    when there are none."""
    shown = [md_code(n) for n in names]
    more = ""
    if limit is not None and len(shown) > limit:
        shown, more = shown[:limit], f" and {len(shown) - limit} more"
    return ", ".join(shown) + more if shown else md_text(empty)


def html_text(text: object) -> str:
    """``text`` for a place that reads HTML-like markup (Plotly titles, legends and
    hover text understand ``<a href>``, ``<b>``...): entities, one line."""
    return html.escape(visible(text), quote=True)


class SafeStream:
    """A text stream that writes control, escape and bidi characters as ``\\uXXXX``."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(terminal_safe(text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str):
        return getattr(self.stream, name)
