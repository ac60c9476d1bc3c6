"""A clickable SVG graph: server-rendered Graphviz SVG, node clicks sent back.

Built on ``st.components.v2.component`` (inline HTML/CSS/JS, no build step).
The SVG is parsed with ``DOMParser`` and stripped of scripts, ``foreignObject``
and event-handler attributes before it is inserted, although
``inspector.render`` already escapes every name that comes from a model.
"""

from __future__ import annotations

import hashlib

import streamlit as st

_CSS = """
.bnfold-wrap { border: 1px solid #d0d0d0; border-radius: 6px; background: #ffffff; }
.bnfold-bar { display: flex; gap: 6px; align-items: center; padding: 4px 6px;
  border-bottom: 1px solid #e4e4e4; font: 12px sans-serif; color: #333; }
.bnfold-bar button { border: 1px solid #bbb; background: #f6f6f6; border-radius: 4px;
  padding: 1px 8px; cursor: pointer; color: #222; }
.bnfold-bar .hint { margin-left: auto; color: #666; }
.bnfold-view { overflow: auto; max-height: var(--bnfold-h, 640px); }
.bnfold-view svg { display: block; }
.bnfold-view g.node { cursor: pointer; }
.bnfold-view g.node:hover polygon, .bnfold-view g.node:hover path,
.bnfold-view g.node:hover ellipse { stroke-width: 3px; }
"""

_HTML = """
<div class="bnfold-wrap">
  <div class="bnfold-bar">
    <button data-zoom="in" title="zoom in">+</button>
    <button data-zoom="out" title="zoom out">−</button>
    <button data-zoom="fit" title="fit to width">fit</button>
    <button data-zoom="one" title="natural size">1:1</button>
    <span class="hint"></span>
  </div>
  <div class="bnfold-view"></div>
</div>
"""

_JS = """
function clean(svg) {
  svg.querySelectorAll('script, foreignObject, iframe').forEach((e) => e.remove());
  svg.querySelectorAll('*').forEach((el) => {
    for (const a of Array.from(el.attributes)) {
      const v = (a.value || '').trim().toLowerCase();
      if (/^on/i.test(a.name) || (/href$/i.test(a.name) && v.startsWith('javascript:'))) {
        el.removeAttribute(a.name);
      }
    }
  });
  return svg;
}

function natural(svg) {
  if (!svg.dataset.natW) {
    svg.dataset.natW = String(parseFloat(svg.getAttribute('width')) || 800);
    svg.dataset.natH = String(parseFloat(svg.getAttribute('height')) || 600);
  }
  return [parseFloat(svg.dataset.natW), parseFloat(svg.dataset.natH)];
}

function zoomTo(view, z) {
  const svg = view.querySelector('svg');
  if (!svg) return;
  const [w, h] = natural(svg);
  view.dataset.zoom = String(z);
  svg.setAttribute('width', (w * z).toFixed(1) + 'pt');
  svg.setAttribute('height', (h * z).toFixed(1) + 'pt');
}

function fitZoom(view) {
  const svg = view.querySelector('svg');
  if (!svg) return 1;
  const [w] = natural(svg);
  return Math.min(1, Math.max(0.05, (view.clientWidth - 4) / (w * 4 / 3)));
}

function autoFit(view) {
  // Fit to width until the user zooms; re-fit when the panel gets its real width
  // (a graph mounted in a hidden tab starts with width 0).
  if (view.dataset.manual === '1' || view.clientWidth < 40) return;
  if (Math.abs((parseFloat(view.dataset.fitW) || 0) - view.clientWidth) < 24) return;
  view.dataset.fitW = String(view.clientWidth);
  zoomTo(view, fitZoom(view));
}

export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  const view = parentElement.querySelector('.bnfold-view');
  const wrap = parentElement.querySelector('.bnfold-wrap');
  if (!view || !data) return;
  wrap.style.setProperty('--bnfold-h', (data.height || 640) + 'px');
  const hint = parentElement.querySelector('.hint');
  if (hint) hint.textContent = data.hint || '';
  if (view.dataset.hash !== data.hash) {
    const doc = new DOMParser().parseFromString(data.svg || '<svg xmlns="http://www.w3.org/2000/svg"/>', 'image/svg+xml');
    const svg = clean(doc.documentElement);
    view.replaceChildren(document.importNode(svg, true));
    view.dataset.hash = data.hash;
    view.dataset.fitW = '';
    if (view.dataset.manual === '1') zoomTo(view, parseFloat(view.dataset.zoom) || 1);
  }
  const svg = view.querySelector('svg');
  if (!svg) return;
  autoFit(view);
  if (!view._bnfoldObserver && typeof ResizeObserver !== 'undefined') {
    view._bnfoldObserver = new ResizeObserver(() => autoFit(view));
    view._bnfoldObserver.observe(view);
  }
  parentElement.querySelectorAll('button[data-zoom]').forEach((b) => {
    b.onclick = () => {
      const z = parseFloat(view.dataset.zoom) || 1;
      const kind = b.getAttribute('data-zoom');
      view.dataset.manual = kind === 'fit' ? '' : '1';
      view.dataset.fitW = '';
      zoomTo(view, kind === 'in' ? z * 1.25 : kind === 'out' ? z / 1.25 : kind === 'fit' ? fitZoom(view) : 1);
    };
  });
  svg.querySelectorAll('g.node').forEach((g) => {
    g.onclick = (ev) => {
      ev.preventDefault();
      ev.stopPropagation();
      setTriggerValue('clicked', g.id);
    };
  });
  if (data.selected) {
    const el = Array.from(svg.querySelectorAll('g.node')).find((g) => g.id === data.selected);
    if (el) {
      const r = el.getBoundingClientRect();
      const v = view.getBoundingClientRect();
      if (r.top < v.top || r.bottom > v.bottom || r.left < v.left || r.right > v.right) {
        view.scrollTop += r.top - v.top - v.height / 2 + r.height / 2;
        view.scrollLeft += r.left - v.left - v.width / 2 + r.width / 2;
      }
    }
  }
  return () => {
    if (view._bnfoldObserver) view._bnfoldObserver.disconnect();
    view._bnfoldObserver = null;
  };
}
"""

_COMPONENT = None


def _component():
    global _COMPONENT
    if _COMPONENT is None:
        _COMPONENT = st.components.v2.component("bnfold_graph", html=_HTML, css=_CSS, js=_JS)
    return _COMPONENT


def clickable_svg(svg: str, *, key: str, selected: str | None = None, height: int = 640,
                  on_click=None, hint: str = "") -> str | None:
    """Show ``svg``; returns the id of the node clicked in this run (or None).

    ``on_click`` (a callback without arguments) runs before the rerun; read the
    value with :func:`clicked_value` inside it.
    """
    digest = hashlib.sha1(svg.encode("utf-8")).hexdigest()
    result = _component()(
        key=key,
        data={"svg": svg, "hash": digest, "selected": selected or "", "height": height,
              "hint": hint},
        on_clicked_change=on_click or (lambda: None),
    )
    value = getattr(result, "clicked", None) if result is not None else None
    return value or None


def clicked_value(key: str) -> str | None:
    """Inside an ``on_click`` callback: the clicked node id."""
    value = st.session_state.get(key)
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get("clicked") or None
    return getattr(value, "clicked", None) or None
