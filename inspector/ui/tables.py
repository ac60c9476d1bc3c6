"""Column widths that fit their content: ``st.dataframe`` draws on a canvas, where a
column narrower than its text cuts it (no wrap, no ellipsis the DOM can see)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

#: Glyph widths (px) of the table font, Source Sans 14 px semi-bold, measured in
#: Chromium with canvas ``measureText``: the widest glyph of each group.
_GROUPS = ((" !'(),-.:;I[]ijl|{}f/\\", 4.8), ("rt", 5.2), ("ETVZXSAbdnopquhCP`", 8.1),
           ("BKRDGHNUOQ&", 9.4), ("MmWw%@", 12.2))
_WIDTH = {c: w for chars, w in _GROUPS for c in chars}
#: Any other ASCII character (digits are 7.2 px); any other character (``→`` 8.7,
#: ``⚠`` 12.6, ``…`` 13.5).
ASCII_PX, OTHER_PX = 7.3, 13.5
#: Cell padding (8 px a side) plus a little room.
PAD_PX = 24
#: Width of the main column at 1280 × 800 with the sidebar open.
MAIN_PX = 820


def text_px(text: str) -> int:
    """On-screen width of ``text`` in the table font, rounded up (never less)."""
    return int(sum(_WIDTH.get(c, ASCII_PX if c < "\x7f" else OTHER_PX) for c in text)) + 1


def fit_widths(rows: Sequence[Mapping[str, object]], formats: Mapping[str, str] | None = None
               ) -> dict[str, int]:
    """Pixel width per column: the longest of its header and its values (numbers
    written with ``formats[column]``, e.g. ``"%.1f"``), plus padding."""
    formats = formats or {}
    out: dict[str, int] = {}
    for col in (rows[0] if rows else {}):
        fmt = formats.get(col)
        texts = [col] + [fmt % v if fmt and isinstance(v, (int, float)) else str(v)
                         for v in (r[col] for r in rows) if v is not None]
        out[col] = max(text_px(t) for t in texts) + PAD_PX
    return out


def fitted_config(rows: Sequence[Mapping[str, object]], *, pinned: str | None = None,
                  formats: Mapping[str, str] | None = None, help: Mapping[str, str] | None = None
                  ) -> dict[str, object]:
    """``st.dataframe`` column config: every column as wide as its longest text
    (:func:`fit_widths`), numbers formatted with ``formats``, ``pinned`` kept in sight."""
    formats, help = formats or {}, help or {}
    config: dict[str, object] = {}
    for col, width in fit_widths(rows, formats).items():
        kind = st.column_config.NumberColumn if col in formats else st.column_config.TextColumn
        extra = {"format": formats[col]} if col in formats else {}
        config[col] = kind(col, width=width, pinned=col == pinned, help=help.get(col), **extra)
    return config
