"""A navigable, clickable SVG graph: pan/zoom, minimap, client-side highlight.

Built on ``st.components.v2.component`` (inline HTML/CSS/JS, no build step):
the script and styles live in ``assets/graph/``; pan and zoom come from the
vendored ``svg-pan-zoom`` 3.6.2 (``assets/vendor/svg-pan-zoom``, BSD-2-Clause).
Both are read from disk and inlined: nothing is fetched at run time. The SVG is parsed with ``DOMParser``
and stripped of scripts, ``foreignObject`` and event-handler attributes before
it is inserted, although ``inspector.render`` already escapes every name that
comes from a model.

Find (Ctrl+F in the panel's box) runs in the browser: it outlines the matches,
dims the rest, counts them and jumps between them (Enter / Shift+Enter), with no
new layout. The minimap appears when the graph is bigger than the panel and can
be hidden (``map``).

The browser keeps the laid-out SVG while only the selection changes: a BN's
roots, leaves and blocking node (``data.roles``, from
``inspector.render.highlight``) are applied as CSS classes, and dashed links
to them are drawn as straight lines; nothing is laid out again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from ..render.highlight import ROLES

ASSETS = Path(__file__).resolve().parents[2] / "assets"
VENDOR = ASSETS / "vendor" / "svg-pan-zoom"
#: Default graph height: follows the browser window (the Inspect page's panel
#: starts about 250 px down: the whole panel fits in the first screen).
VIEWPORT_HEIGHT = "max(360px, calc(100vh - 420px))"

_HTML = """
<div class="bnfold-wrap" tabindex="0">
  <div class="bnfold-bar">
    <button data-act="in" title="zoom in (+)">+</button>
    <button data-act="out" title="zoom out (−)">−</button>
    <button data-act="fit" title="whole graph (f)">fit</button>
    <button data-act="one" title="natural size (0)">1:1</button>
    <button data-act="map" title="show or hide the minimap (m)">map</button>
    <span class="bnfold-search">
      <input class="bnfold-find" type="search" aria-label="Find in the graph"
             placeholder="Find (Ctrl+F): name or op" spellcheck="false">
      <span class="bnfold-count" aria-live="polite"></span>
      <button data-act="prev" title="previous match (Shift+Enter)">↑</button>
      <button data-act="next" title="next match (Enter)">↓</button>
    </span>
    <span class="hint" title="">?</span>
  </div>
  <div class="bnfold-caption"></div>
  <div class="bnfold-legend"></div>
  <div class="bnfold-view"><div class="bnfold-canvas"></div><div class="bnfold-mini hidden"></div></div>
</div>
"""


def _asset(path: Path) -> str:
    return path.read_text(encoding="utf-8")


_COMPONENT = None


def _component():
    global _COMPONENT
    if _COMPONENT is None:
        # svg-pan-zoom first: it defines window.svgPanZoom for graph.js.
        js = _asset(VENDOR / "svg-pan-zoom.min.js") + "\n" + _asset(ASSETS / "graph" / "graph.js")
        _COMPONENT = st.components.v2.component(
            "bnfold_graph", html=_HTML, css=_asset(ASSETS / "graph" / "graph.css"), js=js)
    return _COMPONENT


def component_key(key: str) -> str:
    """The widget key given to the component for ``key``: Streamlit refuses a
    component key holding ``__`` (an upload named ``resnet__v2.onnx`` is in the
    page's keys), so such a key is replaced by a digest of it."""
    if "__" not in key:
        return key
    return "bnfold-graph-" + hashlib.sha1(key.encode("utf-8")).hexdigest()


def clickable_svg(svg: str, *, key: str, selected: str | None = None,
                  height: int | str = VIEWPORT_HEIGHT, on_click=None, hint: str = "",
                  roles: dict | None = None, legend: list[dict] | None = None,
                  focus: str | None = None, minimap: bool | None = None,
                  zoom: float | None = None, index: dict[str, str] | None = None,
                  rankdir: str = "TB", goto: dict | None = None) -> str | None:
    """Show ``svg`` with pan/zoom; returns the id of the node clicked in this run (or None).

    Args:
        svg: a document from ``inspector.render.render_svg``.
        key: widget key (one per graph on the page).
        selected: the selected BN; its roles (from ``roles``) are highlighted.
        height: CSS height (px number or CSS text); default follows the window.
        on_click: a callback without arguments, run before the rerun; read the
            value with :func:`clicked_value` inside it.
        roles: ``inspector.render.highlight.highlight_map`` of this drawing.
        legend: rows ``{"label", "count", "fill", "font", "edge"}`` shown in HTML.
        focus: the node the first view is centred on (default: ``selected``,
            else the first BN).
        minimap: draw the minimap (default: when the graph is bigger than the
            panel); the user can hide or show it either way (``map`` button, ``m``).
        index: drawn unit -> extra text the in-browser find searches (names, op
            types, the members of a collapsed box); titles and ids are searched too.
        rankdir: the layout direction (the first view starts at the input end).
        goto: ``{"id": unit, "n": nonce}``: centre on that unit once per nonce.
        zoom: a fixed first scale (1.0: 11-pt labels are 11 CSS px) centred on
            ``focus``, instead of fitting the panel (views compared side by side).
    """
    digest = hashlib.sha1(svg.encode("utf-8")).hexdigest()
    mini = "auto" if minimap is None else ("on" if minimap else "off")
    result = _component()(
        key=component_key(key),
        data={"svg": svg, "hash": digest, "selected": selected or "",
              "height": f"{height}px" if isinstance(height, int) else height, "hint": hint,
              "roles": roles or {}, "role_names": list(ROLES), "legend": legend or [],
              "focus": focus or selected or "", "minimap": mini, "index": index or {},
              "rankdir": rankdir, "goto": goto, "zoom": float(zoom) if zoom else 0.0},
        on_clicked_change=on_click or (lambda: None),
    )
    value = getattr(result, "clicked", None) if result is not None else None
    return value or None


def clicked_value(key: str) -> str | None:
    """Inside an ``on_click`` callback: the clicked node id."""
    value = st.session_state.get(component_key(key))
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get("clicked") or None
    return getattr(value, "clicked", None) or None
