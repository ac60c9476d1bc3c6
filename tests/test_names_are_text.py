"""Names from a model are text, never Markdown or terminal control (issue 18.1, 18.2).

The helpers (``inspector.safe_text``) against every trick a name can hold, and a
scan of the app's code: every text a Streamlit call renders as Markdown is either
the author's own words, a number, or goes through ``md_text`` / ``md_code`` /
``md_sentence`` (or is in ``ALLOWED`` with the reason it is safe).
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from inspector.safe_text import (
    ZWSP,
    md_code,
    md_sentence,
    md_text,
    terminal_safe,
    visible,
    wrap_points,
)

ROOT = Path(__file__).resolve().parents[1]

HOSTILE = [
    "![x](http://198.51.100.7/pixel.png)",
    "[click](https://evil.invalid/)",
    "<img src=http://198.51.100.7/i.png>",
    "<http://198.51.100.7/auto>",
    "www.evil.invalid and https://evil.invalid/x",
    "`a` **b** _c_ :red[d] $x^2$ ~~s~~ # h",
    "``a`b``` ![y](http://198.51.100.7/y.png)",
    "&lt;script&gt; &#x3C;b&#x3E;",
    "1. item\n- item\n> quote\n[r]: http://198.51.100.7/ref\n![r][r]",
    "\x1b[2J\x1b]0;pwned\x07\x1b[32mverification PASS\x1b[0m",
    "bn\u202egnp.exe",
    "x\\",
    "mail me@evil.invalid or WWW.EVIL.INVALID or mailto:x@y.z",
]


def _tokens(md: str):
    """Every inline token of ``md`` (CommonMark plus tables and strikethrough)."""
    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    out = []
    for t in parser.parse(md):
        out.append(t)
        out.extend(t.children or [])
    return out


def _plain(md: str) -> str:
    """The text a reader sees in ``md``: text and code contents only."""
    return "".join(t.content for t in _tokens(md) if t.type in ("text", "code_inline"))


def _assert_inert(md: str) -> None:
    kinds = {t.type for t in _tokens(md)}
    bad = kinds & {"link_open", "image", "html_inline", "html_block", "em_open", "strong_open",
                   "s_open", "heading_open", "bullet_list_open", "ordered_list_open",
                   "blockquote_open", "code_block", "fence", "table_open", "softbreak",
                   "hardbreak"}
    assert not bad, (md, bad)


def _every_punctuation_escaped(md: str) -> bool:
    """No GFM autolink (``www.``, ``http:``), directive (``:red[``) or math (``$``) can
    start where every ASCII punctuation character is backslash-escaped."""
    i = 0
    while i < len(md):
        if md[i] == "\\":
            i += 2
            continue
        if md[i] in string.punctuation:
            return False
        i += 1
    return True


@pytest.mark.parametrize("name", HOSTILE)
def test_md_text_shows_the_name_literally_and_nothing_else(name):
    md = md_text(name)
    _assert_inert(md)
    assert _every_punctuation_escaped(md)
    shown = _plain(md)
    assert shown.replace("\u200b", "") == visible(name)
    for literal in ("http:", "https:", "www.", "WWW.", "mailto:"):  # GFM autolinks: in text
        assert literal not in shown, shown
    assert not re.search("@(?!\u200b)", shown), shown  # e-mail autolinks


@pytest.mark.parametrize("name", HOSTILE)
def test_md_code_is_one_code_span_holding_the_name(name):
    md = md_code(name)
    _assert_inert(md)
    codes = [t for t in _tokens(md) if t.type == "code_inline"]
    assert len(codes) == 1 and codes[0].content.replace(ZWSP, "").strip() == visible(name).strip()


@pytest.mark.parametrize("name", HOSTILE)
def test_md_sentence_keeps_quoted_names_as_code_and_stays_inert(name):
    md = md_sentence(f"negative scale at max-pool `{name}`; see {name} and `pool`")
    _assert_inert(md)
    assert "pool" in [t.content for t in _tokens(md) if t.type == "code_inline"]


def test_md_sentence_quotes_an_ordinary_name_as_code():
    md = md_sentence("cannot cross `layer1.pool` (max-pool)")
    assert [t.content for t in _tokens(md) if t.type == "code_inline"] == [f"layer1.{ZWSP}pool"]
    assert _plain(md).replace(ZWSP, "") == "cannot cross layer1.pool (max-pool)"


@pytest.mark.parametrize("name, shown", [
    ("features.denseblock3.denselayer12.norm1", "features.|denseblock3.|denselayer12.|norm1"),
    ("features.stage3.blocks.2.conv_kxk.0.bn", "features.|stage3.|blocks.|2.|conv_|kxk.|0.|bn"),
    ("relu__1", "relu__|1"), ("/model/Conv_3", "/|model/|Conv_|3"), ("bn.", "bn."), ("relu1", "relu1"),
])
def test_names_wrap_only_after_dots_underscores_and_slashes(name, shown):
    assert wrap_points(name).replace(ZWSP, "|") == shown
    code = [t for t in _tokens(md_code(name)) if t.type == "code_inline"][0].content
    assert code.replace(ZWSP, "|") == shown
    assert _plain(md_text(name, wrap=True)).replace(ZWSP, "|") == shown


@pytest.mark.parametrize("name", HOSTILE)
def test_wrapped_names_stay_inert_and_show_the_name(name):
    md = md_text(name, wrap=True)
    _assert_inert(md)
    assert _every_punctuation_escaped(md)
    assert _plain(md).replace(ZWSP, "") == visible(name)
    assert md_code(name, wrap=False) != md_code(name) or not re.search(r"[./_][^./_]", visible(name))


def test_terminal_safe_escapes_ansi_osc_and_bidi_but_keeps_lines():
    text = terminal_safe("a\x1b[2J\x1b]0;t\x07 bn\u202egnp.exe\u2066\r\x9b\nnext\tcol")
    assert text == "a\\u001b[2J\\u001b]0;t\\u0007 bn\\u202egnp.exe\\u2066\\u000d\\u009b\nnext\tcol"
    assert visible("a\nb\tc") == "a\\u000ab\\u0009c"


# -- the scan of the app's code ------------------------------------------------
#: Streamlit calls whose text arguments are rendered as Markdown.
MARKDOWN_CALLS = {
    "markdown", "caption", "info", "warning", "error", "success", "toast", "write", "title",
    "header", "subheader", "expander", "button", "download_button", "metric", "tabs", "popover",
    "status", "spinner", "radio", "selectbox", "multiselect", "toggle", "checkbox",
    "text_input", "slider", "segmented_control", "pills", "number_input", "select_slider",
    "link_button", "page_link", "form_submit_button", "file_uploader", "text_area"}
#: Keyword arguments rendered as Markdown (positional ones: the first, and every
#: positional of ``markdown``/``caption``/``write``).
MARKDOWN_KEYWORDS = {"body", "label", "help", "value", "delta"}
#: Calls whose result is safe Markdown (escape helpers; numbers).
SAFE_CALLS = {"md_text", "md_code", "md_sentence", "md_names", "html_text", "len", "mb", "int", "float", "round", "sum",
              "abs", "min", "max", "status_badge", "error_line_md", "node_count"}
#: Expressions (as ``ast.unparse`` writes them) known to be the author's words or
#: numbers, with why.
ALLOWED = {
    # explain() paragraphs: every name escaped inside inspector.explain
    "paragraph",
    # bn_panel.properties_panel: lines built by _tensor_line/_param_line (md_code/md_text)
    "prop_line",
    # numbers
    "info['channels']", "info['negative']", "info['zero']", "removed", "gone", "n", "v.trials",
    "c[OPTIMAL_ONLY]", "c[BOTH]", "cfg.warmup", "max_batch", "run.get('rounds', '?')", "shape",
    "spec.shape if spec else '?'", "own", "state.MAX_UPLOAD_MB", "base[OPTIMAL_ONLY]", "base[BOTH]",
    "need", "run.get('rounds')",
    # fold_views.weight_changes: "parts" are the page's own sentences with counts
    "parts", "hops", "before",  # the slider's number; the page's own sentence
    # timing.offer_more: variant labels (VARIANT_LABELS) and the page's own sentence
    "labels", "enough",
    # the app's own words: modes, views, formats, backends, section titles
    "title", "merged", "mode", "result.mode", "suffix", "formats[0]", "opts.view",
    "ctx.loaded.frontend.display", "backends[0]", "source.lower()", "p", "prefix",
    "cfg.threads or 'default'", "text", "label",  # text: timing warnings_for (variant labels)
}
#: Files that never show a name from a user's model, with why.
ALLOWED_FILES = {
    "inspector/ui/pages/learn.py": "lesson and quiz graphs are built by the app itself",
}


def _safe(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) or ast.unparse(node) in ALLOWED:
        return True
    if isinstance(node, ast.Name) and node.id.isupper():
        return True  # a module constant: the author's words
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(_safe(e) for e in node.elts)
    if isinstance(node, ast.BoolOp):
        return all(_safe(e) for e in node.values)
    if isinstance(node, ast.JoinedStr):
        return all(_safe_value(v) for v in node.values if isinstance(v, ast.FormattedValue))
    if isinstance(node, ast.BinOp):
        return _safe(node.left) and _safe(node.right) if isinstance(node.op, ast.Add) else True
    if isinstance(node, ast.IfExp):
        return _safe(node.body) and _safe(node.orelse)
    if isinstance(node, ast.Call):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        if name in SAFE_CALLS:
            return True
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id.isupper():
            return True  # CONSTANT_TABLE.get(...): the author's words
        if name == "join" and isinstance(f, ast.Attribute):
            return _safe(f.value) and all(_safe_iter(a) for a in node.args)
    return ast.unparse(node) in ALLOWED


def _safe_iter(node: ast.AST) -> bool:
    if isinstance(node, (ast.GeneratorExp, ast.ListComp)):
        return _safe(node.elt)
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(_safe(e) for e in node.elts)
    return ast.unparse(node) in ALLOWED


def _safe_value(v: ast.FormattedValue) -> bool:
    if v.format_spec is not None and v.conversion == -1:
        return True  # a formatted number (:.2f, :,)
    return _safe(v.value)


def _markdown_args(call: ast.Call):
    f = call.func
    if not isinstance(f, ast.Attribute) or f.attr not in MARKDOWN_CALLS:
        return
    positional = call.args if f.attr in ("markdown", "caption", "write") else call.args[:1]
    yield from positional
    yield from (k.value for k in call.keywords if k.arg in MARKDOWN_KEYWORDS)


def unsafe_markdown(path: Path) -> list[str]:
    """``file:line: expression`` of every Markdown argument not known to be safe."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for arg in _markdown_args(node):
                if not _safe(arg):
                    out.append(f"{path.relative_to(ROOT)}:{arg.lineno}: {ast.unparse(arg)}")
    return out


UI_FILES = sorted([ROOT / "app.py", *(ROOT / "inspector" / "ui").rglob("*.py")])


def test_the_scan_finds_an_unescaped_name():
    tree = ast.parse('st.caption(f"**{ctx.name}** · {n:,} nodes")\nst.markdown(md_text(x))')
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and getattr(n.func, "attr", "") in MARKDOWN_CALLS]
    assert [_safe(next(_markdown_args(c))) for c in calls] == [False, True]


def test_every_markdown_text_in_the_app_is_escaped_or_the_authors_own():
    problems = [p for f in UI_FILES if str(f.relative_to(ROOT)) not in ALLOWED_FILES
                for p in unsafe_markdown(f)]
    assert not problems, "\n".join(problems)


# -- the CLI (18.2) --------------------------------------------------------------
_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def hostile_file(tmp_path) -> Path:
    """The hostile-names model, in a file whose own name sets the terminal title."""
    from tests.bad_inputs import names as N

    path = tmp_path / "\x1b]0;pwned\x07bn\u202egnp.onnx"
    path.write_bytes(N.hostile_names().SerializeToString())
    return path


@pytest.mark.parametrize("command", ["analyze", "fold", "svg"])
def test_cli_prints_no_control_or_bidi_character_from_a_name(hostile_file, capsys, command):
    from inspector.cli import main
    from tests.bad_inputs import names as N

    argv = {"analyze": ["analyze", str(hostile_file)],
            "fold": ["fold", str(hostile_file), "-o", str(hostile_file.parent / "f.onnx")],
            "svg": ["svg", str(hostile_file), "-o", str(hostile_file.parent / "g.svg")]}[command]
    assert main(argv) == 0
    out = capsys.readouterr()
    printed = out.out + out.err
    assert not _RAW.findall(printed), _RAW.findall(printed)
    assert "\\u001b]0;pwned\\u0007bn\\u202egnp.onnx" in printed  # shown, made visible
    if command != "svg":
        assert terminal_safe(N.RELU) in out.out  # the summary names the blocking ReLU


def test_cli_json_on_stdout_keeps_the_raw_names(hostile_file, capsys):
    import json

    from inspector.cli import main
    from tests.bad_inputs import names as N

    assert main(["analyze", str(hostile_file), "--json", "-"]) == 0
    out = capsys.readouterr()
    assert not _RAW.findall(out.out + out.err)
    report = json.loads(out.out)
    assert report["model"] == hostile_file.name  # the raw names, after JSON decoding
    assert {N.BN1, N.BN2} <= {layer["name"] for layer in report["layers"]}


def test_cli_error_lines_escape_names_too(tmp_path, capsys):
    import onnx
    from onnx import TensorProto, helper

    from inspector.cli import main

    evil = "\x1b[2J\x1b[32mverification PASS\x1b[0m\u202e"
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3]) for n in ("x", "y")]
    model = helper.make_model(helper.make_graph(
        [helper.make_node(evil, ["x"], ["y"], name=evil)], "g", vi[:1], vi[1:]),
        opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / f"{evil}.onnx"
    onnx.save(model, str(path))
    assert main(["analyze", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("bnfold: error:") == 1 and not _RAW.findall(err), err
    assert "\\u001b[32mverification PASS" in err
