"""The app shows hostile names as text and never a traceback (issues 18.1, 19.1, 19.6).

AppTest runs the pages with an uploaded model whose node, tensor and file names
hold Markdown, HTML, ANSI and bidi tricks; every text the pages render as
Markdown is parsed (markdown-it, CommonMark) and must hold no link, image or
HTML. A file name with ``__`` used to crash the Inspect page, a 20,000-character
node name stopped the graph from drawing, and any error in a page showed a raw
traceback: now the error boundary says what went wrong in one line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from markdown_it import MarkdownIt  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.bad_inputs import corpus as C  # noqa: E402
from tests.bad_inputs import names as N  # noqa: E402

pytestmark = pytest.mark.slow  # Streamlit AppTests

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = ["inspector/ui/pages/inspect.py", "inspector/ui/pages/fold.py",
         "inspector/ui/pages/timing.py", "inspector/ui/pages/learn.py"]
_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _upload(name: str, data: bytes) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.radio(key="model_source").set_value("Upload").run()
    at.file_uploader(key="upload").set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def markdown_texts(at: AppTest) -> list[str]:
    """Every Markdown text on the page: bodies, labels and help of all elements."""
    out: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if type(proto).__name__ == "Html" or getattr(proto, "allow_html", False):
            # the app's own styles: raw HTML, so no name may ever be in it
            assert N.BEACON not in proto.body and "evil" not in proto.body
        elif proto is not None and hasattr(proto, "DESCRIPTOR"):
            for field in ("body", "label", "help"):
                if field in proto.DESCRIPTOR.fields_by_name and getattr(proto, field):
                    out.append(getattr(proto, field))
            if "expandable" in proto.DESCRIPTOR.fields_by_name and proto.HasField("expandable"):
                out.append(proto.expandable.label)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return out


def assert_inert(at: AppTest) -> list[str]:
    """No Markdown text on the page makes a link, an image or HTML; returns the texts."""
    texts = markdown_texts(at)
    assert texts
    for text in texts:
        tokens = [t for tok in _MD.parse(text) for t in (tok, *(tok.children or []))]
        bad = [t.type for t in tokens if t.type in ("link_open", "image", "html_inline", "html_block")]
        assert not bad, (text, bad)
    return texts


def _plain(md: str) -> str:
    return "".join(t.content for tok in _MD.parse(md) for t in (tok.children or [])
                   if t.type in ("text", "code_inline")).replace("\u200b", "")  # md_text's


def test_hostile_names_are_shown_as_text_on_every_page():
    at = _upload(N.FILE_NAME, N.hostile_names().SerializeToString())
    assert any(m.label == "BN layers" for m in at.metric) and not at.error
    assert_inert(at)
    key = next(b.key for b in at.selectbox if b.key and b.key.startswith("sel_bn::"))
    ids = list(at.session_state[f"bn_table_ids::{key[len('sel_bn::'):]}"])
    assert len(ids) == 2
    shown = []
    for bn_id in ids:
        at.selectbox(key=key).set_value(bn_id).run()
        assert not at.exception, [e.message for e in at.exception]
        shown += [_plain(t) for t in assert_inert(at)]
    from inspector.safe_text import visible

    # the BN panel heads with each BN's name, exactly (control characters made visible)
    assert visible(N.BN1) in shown and visible(N.BN2) in shown
    assert any(visible(N.RELU) in s for s in shown)  # the blocking node, in the explanation
    assert any(visible(N.FILE_NAME) in s for s in shown)  # the caption names the upload
    at.switch_page(PAGES[1]).run()
    at.button(key="fold_apply").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.success and "Verification passed" in at.success[0].value
    assert_inert(at)
    at.switch_page(PAGES[2]).run()
    assert not at.exception
    assert_inert(at)


def test_a_file_name_with_double_underscores_draws_every_page():
    at = _upload("resnet__v2.onnx", C.conv_bn().SerializeToString())
    assert at.get("bidi_component"), "no graph on the Inspect page"
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
    at.switch_page(PAGES[1]).run()
    at.button(key="fold_apply").click().run()
    assert not at.exception and len(at.get("bidi_component")) == 2  # before / after graphs


def test_a_node_name_over_16_kb_draws_with_a_short_label_and_the_full_name_kept():
    import json
    import xml.etree.ElementTree as ET

    model = N.hostile_names(long_name=20_000)
    long = model.graph.node[2].name
    at = _upload("long_name.onnx", model.SerializeToString())
    assert not at.error, [e.value for e in at.error]
    root = ET.fromstring(json.loads(at.get("bidi_component")[0].proto.json)["svg"])
    labels = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert labels and max(len(x) for x in labels) < 100  # shortened for display
    titles = [v for e in root.iter() for k, v in e.attrib.items() if k.endswith("title")]
    assert any(long in t for t in titles)  # the full name in the tooltip
    assert len(long.encode("utf-8")) > 16_384


def test_the_error_boundary_turns_any_page_error_into_one_line(monkeypatch):
    at = _upload("conv_bn.onnx", C.conv_bn().SerializeToString())
    from inspector.ui import state

    def broken():
        raise RuntimeError("something broke\nsecond line with /server/path")

    monkeypatch.setattr(state, "current", broken)
    for page in PAGES[:3]:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
        errors = [e.value for e in at.error]  # the model picker's and the page's
        assert errors and all("something broke" in e for e in errors), (page, errors)
        assert any("page" in e for e in errors)
        assert not any("second line" in e or "Traceback" in e for e in errors)
        assert not at.get("code"), "no traceback block"
