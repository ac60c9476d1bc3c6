// The pan/zoom graph component (inspector/ui/graph_component.py); runs after
// the vendored svg-pan-zoom, which defines window.svgPanZoom.
const NATURAL = 4 / 3;  // Graphviz draws in pt: 1:1 is 4/3 CSS px per unit
const READABLE = 1.0;   // default zoom: 11-pt labels are >= 11 px on screen
const SVGNS = 'http://www.w3.org/2000/svg';

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

function parse(text) {
  const doc = new DOMParser().parseFromString(
    text || '<svg xmlns="http://www.w3.org/2000/svg"/>', 'image/svg+xml');
  return clean(doc.documentElement);
}

function realZoom(st) { return st.pz.getSizes().realZoom; }

function zoomToReal(st, target) {
  st.pz.zoomBy(target / realZoom(st));
}

function contentCentre(st, el) {
  // In the pan/zoom viewport's own coordinates. svg-pan-zoom applies a new
  // transform on the next animation frame, so screen rectangles can be stale:
  // the relative matrix between the viewport group and the node is not.
  const vp = st.svg.querySelector('.svg-pan-zoom_viewport');
  const b = el.getBBox();
  const m = vp.getCTM().inverse().multiply(el.getCTM());
  return new DOMPoint(b.x + b.width / 2, b.y + b.height / 2).matrixTransform(m);
}

function centreOn(st, el) {
  const p = contentCentre(st, el);
  const s = st.pz.getSizes();
  st.pz.pan({ x: s.width / 2 - p.x * s.realZoom, y: s.height / 2 - p.y * s.realZoom });
}

function inView(st, el) {
  const p = contentCentre(st, el);
  const s = st.pz.getSizes();
  const pan = st.pz.getPan();
  const x = p.x * s.realZoom + pan.x, y = p.y * s.realZoom + pan.y;
  return x > 0.1 * s.width && x < 0.9 * s.width && y > 0.1 * s.height && y < 0.9 * s.height;
}

function defaultView(st) {
  st.pz.resize();
  st.pz.fit();
  st.pz.center();
  if (st.zoom > 0) {
    // A fixed scale (side-by-side views compared at the same scale).
    zoomToReal(st, st.zoom);
    const el = (st.focus && st.nodes.get(st.focus)) || st.svg.querySelector('g.node');
    if (el) centreOn(st, el);
    keepInside(st);
    return;
  }
  const fit = realZoom(st);
  if (fit >= READABLE) {
    if (fit > NATURAL) zoomToReal(st, NATURAL);
    st.pz.center();
    return;
  }
  zoomToReal(st, READABLE);
  const target = (st.focus && st.nodes.get(st.focus)) || st.svg.querySelector('g.node.bn') ||
    st.svg.querySelector('g.node');
  if (target) centreOn(st, target);
  keepInside(st);
}

function keepInside(st) {
  // No empty band between the panel's edge and a graph bigger than the panel.
  const s = st.pz.getSizes();
  const p = st.pz.getPan();
  const w = s.viewBox.width * s.realZoom, h = s.viewBox.height * s.realZoom;
  const clamp = (v, size, view) => (size <= view ? v : Math.min(0, Math.max(view - size, v)));
  st.pz.pan({ x: clamp(p.x, w, s.width), y: clamp(p.y, h, s.height) });
}

function updateMini(st) {
  if (!st.vp) return;
  const s = st.pz.getSizes();
  const p = st.pz.getPan();
  st.vp.setAttribute('x', String(-p.x / s.realZoom));
  st.vp.setAttribute('y', String(-p.y / s.realZoom));
  st.vp.setAttribute('width', String(s.width / s.realZoom));
  st.vp.setAttribute('height', String(s.height / s.realZoom));
}

function buildMini(st, mini, source) {
  mini.replaceChildren();
  st.vp = null;
  if (!st.minimap) return;
  const copy = source.cloneNode(true);
  copy.querySelectorAll('[id]').forEach((e) => e.removeAttribute('id'));
  copy.querySelectorAll('title').forEach((e) => e.remove());
  copy.removeAttribute('width');
  copy.removeAttribute('height');
  copy.setAttribute('preserveAspectRatio', 'xMidYMid meet');
  copy.style.pointerEvents = 'none';
  const vp = document.createElementNS(SVGNS, 'rect');
  vp.setAttribute('class', 'bnfold-vp');
  vp.setAttribute('vector-effect', 'non-scaling-stroke');
  vp.setAttribute('stroke-width', '2');
  copy.appendChild(vp);
  mini.appendChild(copy);
  st.vp = vp;
  const move = (ev) => {
    const m = copy.getScreenCTM();
    if (!m) return;
    const pt = new DOMPoint(ev.clientX, ev.clientY).matrixTransform(m.inverse());
    const s = st.pz.getSizes();
    st.pz.pan({ x: s.width / 2 - pt.x * s.realZoom, y: s.height / 2 - pt.y * s.realZoom });
  };
  mini.onpointerdown = (ev) => {
    ev.preventDefault();
    ev.stopPropagation();
    move(ev);
    mini.setPointerCapture(ev.pointerId);
    mini.onpointermove = (e2) => move(e2);
  };
  mini.onpointerup = (ev) => {
    mini.onpointermove = null;
    try { mini.releasePointerCapture(ev.pointerId); } catch (e) { /* already released */ }
  };
}

function centre(el) {
  const b = el.getBBox();
  return [b.x + b.width / 2, b.y + b.height / 2];
}

function highlight(st, bn) {
  const names = st.roleNames || [];  // inspector.render.highlight.ROLES, sent with the data
  st.svg.querySelectorAll('g.node.hl').forEach((g) => g.classList.remove('hl', ...names));
  st.svg.querySelectorAll('g.fold-link.client').forEach((g) => g.remove());
  st.applied = bn || '';
  const roles = (st.roles || {})[bn];
  if (!roles) return;
  for (const role of names) {
    for (const id of roles[role] || []) {
      const el = st.nodes.get(id);
      if (el) el.classList.add('hl', role);
    }
  }
  const src = st.nodes.get((roles.selected || [])[0]);
  const layer = st.svg.querySelector('g.graph');
  if (!src || !layer) return;
  const [x1, y1] = centre(src);
  const bg = layer.querySelector(':scope > polygon');
  for (const role of ['root', 'leaf']) {
    for (const id of roles[role] || []) {
      const el = st.nodes.get(id);
      if (!el || el === src) continue;
      const [x2, y2] = centre(el);
      const g = document.createElementNS(SVGNS, 'g');
      g.setAttribute('class', `edge fold-link ${role}-link client`);
      const path = document.createElementNS(SVGNS, 'path');
      path.setAttribute('d', `M${x1},${y1} L${x2},${y2}`);
      path.setAttribute('fill', 'none');
      path.setAttribute('stroke', '#000000');
      path.setAttribute('stroke-width', '1.5');
      path.setAttribute('stroke-dasharray', '6 4');
      g.appendChild(path);
      layer.insertBefore(g, bg ? bg.nextSibling : layer.firstChild);
    }
  }
}

function setLegend(root, items) {
  const box = root.querySelector('.bnfold-legend');
  if (!box) return;
  box.replaceChildren();
  for (const it of items || []) {
    const span = document.createElement('span');
    const sw = document.createElement('span');
    sw.className = 'sw';
    sw.style.background = it.fill;
    sw.style.borderColor = it.edge;
    span.appendChild(sw);
    span.appendChild(document.createTextNode(`${it.label} (${it.count})`));
    box.appendChild(span);
  }
}

function mount(st, view, data) {
  const canvas = view.querySelector('.bnfold-canvas');
  const mini = view.querySelector('.bnfold-mini');
  if (st.pz) { try { st.pz.destroy(); } catch (e) { /* detached */ } }
  st.pz = null;
  const source = parse(data.svg);
  const svg = document.importNode(source, true);
  svg.removeAttribute('width');
  svg.removeAttribute('height');
  canvas.replaceChildren(svg);
  st.svg = svg;
  st.nodes = new Map(Array.from(svg.querySelectorAll('g.node')).map((g) => [g.id, g]));
  st.minimap = !!data.minimap;
  st.focus = data.focus || '';
  st.zoom = Number(data.zoom) || 0;
  st.hash = data.hash;
  st.ready = false;
  buildMini(st, mini, document.importNode(source, true));
  let down = null;
  svg.addEventListener('pointerdown', (ev) => { down = [ev.clientX, ev.clientY]; });
  svg.querySelectorAll('g.node').forEach((g) => {
    g.addEventListener('click', (ev) => {
      ev.preventDefault();
      ev.stopPropagation();
      const dragged = down && Math.hypot(ev.clientX - down[0], ev.clientY - down[1]) > 4;
      down = null;
      if (dragged) return;  // the end of a pan, not a click
      if ((st.roles || {})[g.id]) highlight(st, g.id);
      st.clicked = g.id;
      if (st.send) st.send('clicked', g.id);
    });
  });
}

function start(st, view) {
  // svg-pan-zoom needs the real size: wait until the panel is laid out.
  if (st.ready || !st.svg || view.clientWidth < 40 || view.clientHeight < 40) return;
  st.pz = window.svgPanZoom(st.svg, {
    zoomEnabled: true, panEnabled: true, controlIconsEnabled: false, fit: true, center: true,
    dblClickZoomEnabled: false, mouseWheelZoomEnabled: true, preventMouseEventsDefault: true,
    zoomScaleSensitivity: 0.25, minZoom: 0.5, maxZoom: 10,
    onZoom: () => updateMini(st), onPan: () => updateMini(st),
  });
  const fit = realZoom(st);
  st.pz.setMaxZoom(Math.max(10, (4 * NATURAL) / fit));
  st.pz.setMinZoom(Math.min(0.5, 0.05 / fit));
  st.ready = true;
  defaultView(st);
  highlight(st, st.applied);
  updateMini(st);
}

export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  const wrap = parentElement.querySelector('.bnfold-wrap');
  const view = parentElement.querySelector('.bnfold-view');
  if (!view || !data) return;
  const st = view._bnfold || (view._bnfold = { applied: '' });
  st.send = setTriggerValue;
  wrap.style.setProperty('--bnfold-h', data.height || '640px');
  const hint = parentElement.querySelector('.hint');
  if (hint) hint.textContent = data.hint || '';
  setLegend(parentElement, data.legend);
  st.roles = data.roles || {};
  st.roleNames = data.role_names || [];
  if (st.hash !== data.hash) {
    st.applied = data.selected || '';
    mount(st, view, data);
  }
  start(st, view);
  if (st.ready && (data.selected || '') !== st.applied) {
    highlight(st, data.selected || '');
    const el = st.nodes.get(data.selected || '');
    if (el && st.clicked !== data.selected && !inView(st, el)) centreOn(st, el);
  }
  st.clicked = '';
  const act = (kind) => {
    if (!st.ready) return;
    if (kind === 'in') st.pz.zoomIn();
    else if (kind === 'out') st.pz.zoomOut();
    else if (kind === 'fit') { st.pz.fit(); st.pz.center(); }
    else if (kind === 'one') zoomToReal(st, NATURAL);
  };
  parentElement.querySelectorAll('button[data-act]').forEach((b) => {
    b.onclick = () => act(b.getAttribute('data-act'));
  });
  wrap.onkeydown = (ev) => {
    const k = { '+': 'in', '=': 'in', '-': 'out', '_': 'out', '0': 'one', 'f': 'fit' }[ev.key];
    if (!k || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    ev.preventDefault();
    act(k);
  };
  view.onpointerdown = () => wrap.focus({ preventScroll: true });
  if (!st.observer && typeof ResizeObserver !== 'undefined') {
    st.observer = new ResizeObserver(() => {
      if (!st.ready) start(st, view);
      else { st.pz.resize(); updateMini(st); }
    });
    st.observer.observe(view);
  }
  return () => {
    if (st.observer) st.observer.disconnect();
    st.observer = null;
    // Called before a re-render too: only a view that left the page drops its pan-zoom.
    setTimeout(() => {
      if (view.isConnected || !st.pz) return;
      try { st.pz.destroy(); } catch (e) { /* already detached */ }
      st.pz = null;
      st.ready = false;
      st.hash = null;
    }, 0);
  };
}
