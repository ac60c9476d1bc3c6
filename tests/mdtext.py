"""What a reader sees in a Markdown text (the app escapes names: ``conv\\_bn\\.onnx``)."""

from __future__ import annotations

from markdown_it import MarkdownIt

_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def plain(md: str) -> str:
    """The text and code of ``md``, without its markup and escapes."""
    return "".join(t.content for tok in _MD.parse(md) for t in (tok.children or [])
                   if t.type in ("text", "code_inline", "softbreak")).replace("\u200b", "")
