"""Render DOT text to SVG with the Graphviz ``dot`` executable.

Graphviz writes each node as ``<g id="<node id>" class="node ..."><title>name``
and the tooltip as ``<a xlink:title=...>``. ``render_svg`` keeps ids and
classes, copies each tooltip into the element's ``<title>`` (so any SVG viewer
shows the reason sentence on hover) and adds a ``<desc>`` with the caption.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET

from ..errors import InvalidGraphError, MissingDependencyError
from .layout import too_many_units

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
DOT_MISSING = (
    "Graphviz 'dot' was not found. To fix this, install it: apt-get install graphviz "
    "(Debian/Ubuntu) or brew install graphviz."
)


def find_dot() -> str | None:
    """Path of the ``dot`` executable on PATH, or None."""
    return shutil.which("dot")


def dot_available() -> bool:
    """True when Graphviz ``dot`` can be run to make SVG files."""
    return find_dot() is not None


def render_view(view, *, timeout: float = 120.0) -> str:
    """SVG of a :class:`~inspector.render.dot.DotView`, fast on very large views.

    Views with a ``skeleton`` are placed by ``dot`` on the skeleton, then drawn
    whole by ``neato -n2`` at those positions with straight edges; others go
    through :func:`render_svg`. Raises as :func:`render_svg`, and
    InvalidGraphError before any layout work when the view has more than
    ``layout.MAX_DRAWN_UNITS`` drawn units.
    """
    refusal = too_many_units(len(set(view.units.values())))
    if refusal:
        raise InvalidGraphError(refusal)
    if view.skeleton is None:
        return render_svg(view.dot, timeout=timeout)
    placed = json.loads(_run(["-Tjson"], view.skeleton, timeout))
    # Names come back as the DOT lexer read them: re-quote without re-escaping.
    pins = ['  "' + o["name"].replace('"', '\\"') + f'" [pos="{o["pos"]}!"]'
            for o in placed.get("objects", []) if "pos" in o and "nodes" not in o]
    body = view.dot.rstrip().rstrip("}")
    text = body + "\n  graph [splines=line outputorder=edgesfirst]\n" + "\n".join(pins) + "\n}\n"
    return annotate_svg(_run(["-Kneato", "-n2", "-Tsvg"], text, timeout))


def render_svg(dot_text: str, *, timeout: float = 120.0) -> str:
    """Lay out ``dot_text`` with ``dot -Tsvg``; returns the SVG document.

    Raises:
        MissingDependencyError: Graphviz is not installed.
        InvalidGraphError: Graphviz rejected the DOT text or ran past ``timeout``.
    """
    return annotate_svg(_run(["-Tsvg"], dot_text, timeout))


def _run(args: list[str], dot_text: str, timeout: float) -> str:
    """``dot ARGS`` on ``dot_text``; its standard output as text."""
    exe = find_dot()
    if exe is None:
        raise MissingDependencyError(DOT_MISSING)
    try:
        proc = subprocess.run(
            [exe, *args], input=dot_text.encode("utf-8"), capture_output=True,
            timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise InvalidGraphError(
            f"Graphviz took more than {timeout:.0f} s to lay out the graph. To fix this, "
            "draw a collapsed view (collapse=True) or a focus view (focus=<node id>)."
        ) from e
    except OSError as e:
        raise MissingDependencyError(f"{DOT_MISSING} (running {exe} failed: {e})") from e
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()[:500]
        raise InvalidGraphError(
            f"Graphviz could not lay out the graph: {err}. To fix this, pass DOT text "
            "made by inspector.render.to_dot."
        )
    return proc.stdout.decode("utf-8", "replace")


def annotate_svg(svg: str) -> str:
    """Copy tooltips into ``<title>`` and add a ``<desc>`` caption (ids kept)."""
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    try:
        root = ET.fromstring(svg)
    except ET.ParseError as e:
        raise InvalidGraphError(f"Graphviz wrote an SVG that does not parse: {e}") from e
    tag = f"{{{SVG_NS}}}"
    graph_title = None
    for g in root.iter(f"{tag}g"):
        classes = (g.get("class") or "").split()
        title = g.find(f"{tag}title")
        if title is None:
            continue
        if "graph" in classes and graph_title is None:
            graph_title = title.text or ""
        anchor = g.find(f".//{tag}a")
        tip = anchor.get(f"{{{XLINK_NS}}}title") if anchor is not None else None
        if tip and ({"node", "edge", "cluster"} & set(classes)):
            title.text = tip
    if graph_title:
        desc = ET.Element(f"{tag}desc")
        desc.text = graph_title
        root.insert(0, desc)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + body + "\n"
