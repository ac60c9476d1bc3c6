"""Exported DOT and SVG with hostile names: nothing executes, nothing is embedded
(issue 18.3).

Names hold quotes, ``<script>``, ``</svg>``, entities and Graphviz attribute
smuggling (``" image="/etc/passwd"``). The DOT text is tokenised like Graphviz's
lexer reads it: every attribute key must be one the renderer writes (a smuggled
``image=``/``shapefile=`` would show up as a key). The SVG must parse as XML and
hold no script, image, foreignObject, event handler or link, nor any byte of
the files the names point at.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import xml.etree.ElementTree as ET

import pytest

import inspector
from inspector.render import build_view, render_view
from tests.bad_inputs import names as N

#: Attribute keys the renderer writes (graph, node, edge, cluster, legend).
ALLOWED_KEYS = {
    "id", "class", "label", "tooltip", "shape", "fontsize", "fillcolor", "fontcolor", "color",
    "style", "penwidth", "peripheries", "height", "width", "rankdir", "fontname", "bgcolor",
    "nodesep", "ranksep", "margin", "labelloc", "labeljust", "arrowsize", "arrowhead",
    "constraint", "splines", "newrank", "compound", "dir", "pos", "xlabel", "outputorder",
    "pad", "fixedsize", "rank", "ordering", "concentrate", "remincross", "lp", "bb", "weight",
    "minlen", "fontpath_never", "group", "headport", "tailport", "ltail", "lhead", "packmode",
    "clusterrank", "mclimit", "searchsize", "nslimit", "nslimit1", "fontcolor_never", "size",
    "ratio", "center", "layout", "overlap", "sep", "esep", "labelfontsize", "labelangle",
}
#: What a hostile name would try to set.
FORBIDDEN_KEYS = {"image", "shapefile", "imagepath", "fontpath", "URL", "href", "target",
                  "imagescale", "stylesheet", "svg_class_never"}

_TOKEN = re.compile(r'''
    (?P<str>"(?:\\.|[^"\\])*")
  | (?P<html><(?:[^<>]|<[^<>]*>)*>)
  | (?P<id>[A-Za-z_\x80-\U0010ffff][\w\x80-\U0010ffff]*|-?(?:\.\d+|\d+(?:\.\d*)?))
  | (?P<op>->|--|[{}\[\]=;,:+])
  | (?P<ws>\s+|//[^\n]*|/\*.*?\*/|\#[^\n]*)
''', re.VERBOSE | re.DOTALL)


def dot_tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) tokens of DOT, as Graphviz's lexer splits it; fails on a stray char."""
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m, f"DOT lexer would fail at {text[pos:pos + 40]!r}"
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group()))
        pos = m.end()
    return out


def attribute_keys(text: str) -> set[str]:
    """Every ``key`` of a ``key=value`` in the DOT text (keys are the token before ``=``)."""
    toks = dot_tokens(text)
    return {toks[i - 1][1].strip('"') for i, (k, v) in enumerate(toks) if v == "=" and k == "op"}


@pytest.fixture(scope="module")
def hostile():
    loaded = inspector.load(N.hostile_names())
    return loaded, inspector.compare_modes(loaded)


def _views(loaded, analyses):
    g, opt, adj = loaded.graph, analyses["optimal"], analyses["adjacent"]
    bn = next(n.id for n in g.nodes if n.name == N.BN2)
    folded = inspector.fold(loaded, "optimal", analysis=opt).analysis
    return {
        "whole": build_view(g, opt, adj, title=loaded.name),
        "selected": build_view(g, opt, adj, selected=bn, edge_shapes=True, title=N.FILE_NAME),
        "focus": build_view(g, opt, adj, focus=bn, hops=1, search=N.POOL[:10]),
        "collapsed": build_view(g, opt, adj, collapse=1, title=N.POOL),
        "after": build_view(folded.folded, folded, None, changed={bn: N.T_Z}, title=N.T_Y),
    }


def test_dot_attribute_keys_are_only_the_renderers_own(hostile):
    for name, view in _views(*hostile).items():
        keys = attribute_keys(view.dot)
        assert not keys & FORBIDDEN_KEYS, (name, keys & FORBIDDEN_KEYS)
        assert keys <= ALLOWED_KEYS, (name, keys - ALLOWED_KEYS)


def test_the_tokeniser_would_see_a_smuggled_attribute():
    broken = 'digraph { "a" [label="' + N.T_Y + '"] }'  # the name pasted without escaping
    assert "image" in attribute_keys(broken)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")
def test_svg_holds_no_script_image_link_or_local_file(hostile, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT\n")
    loaded, analyses = hostile
    for name, view in _views(loaded, analyses).items():
        dot = view.dot.replace("/etc/passwd", str(secret)).replace("/etc/hostname", str(secret))
        svg = render_view(dataclasses.replace(view, dot=dot))
        root = ET.fromstring(svg)  # well-formed: no name closed the document early
        tags = {el.tag.rsplit("}", 1)[-1] for el in root.iter()}
        assert not tags & {"script", "image", "foreignObject", "iframe", "object", "embed",
                           "use", "style"}, (name, tags)
        for el in root.iter():
            for key, value in el.attrib.items():
                local = key.rsplit("}", 1)[-1]
                assert not local.lower().startswith("on"), (name, key)
                assert local != "href", f"{name}: a link {value!r} in the SVG"
        assert "TOP-SECRET" not in svg and "root:x:" not in svg, name


def test_names_survive_intact_in_svg_ids_and_tooltips(hostile):
    loaded, analyses = hostile
    svg = render_view(_views(loaded, analyses)["whole"])
    root = ET.fromstring(svg)
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    titles = " ".join(v for el in root.iter() for k, v in el.attrib.items() if k.endswith("title"))
    for n in loaded.graph.nodes:
        if n.name in N.NAMES:
            # the id round-trips (clicks and highlights use it); XML cannot hold control
            # characters, so those (and only those) become U+FFFD
            assert re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "\ufffd", n.id) in ids
            assert n.name.replace("\\", "\u29f5")[:30] in titles or "\x1b" in n.name
