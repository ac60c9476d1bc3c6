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

function visibleCentre(st) {
  // The centre of the part of the panel that is on screen (the panel can be
  // taller than the window, or scrolled partly out of it), in panel pixels.
  const s = st.pz.getSizes();
  const r = st.svg.getBoundingClientRect();
  const top = Math.max(r.top, 0), bottom = Math.min(r.bottom, window.innerHeight);
  const left = Math.max(r.left, 0), right = Math.min(r.right, window.innerWidth);
  if (bottom - top < 40 || right - left < 40) return { x: s.width / 2, y: s.height / 2 };
  return { x: (left + right) / 2 - r.left, y: (top + bottom) / 2 - r.top };
}

function centreOn(st, el) {
  const p = contentCentre(st, el);
  const s = st.pz.getSizes();
  const c = visibleCentre(st);
  st.pz.pan({ x: c.x - p.x * s.realZoom, y: c.y - p.y * s.realZoom });
}

function inView(st, el) {
  const p = contentCentre(st, el);
  const s = st.pz.getSizes();
  const pan = st.pz.getPan();
  const x = p.x * s.realZoom + pan.x, y = p.y * s.realZoom + pan.y;
  const c = visibleCentre(st);
  const r = st.svg.getBoundingClientRect();
  const top = Math.max(0, -r.top), bottom = Math.min(s.height, window.innerHeight - r.top);
  return Math.abs(x - c.x) < 0.4 * s.width && y > top + 0.1 * (bottom - top) &&
    y < bottom - 0.1 * (bottom - top);
}

function startAtInput(st) {
  // No selection: show the graph's input end (top for top-down, left for
  // left-right), centred across on the first input node.
  const s = st.pz.getSizes();
  const first = st.svg.querySelector('g.node.op-input') || st.svg.querySelector('g.node');
  const vb = s.viewBox;
  const p = first ? contentCentre(st, first) : { x: vb.width / 2, y: vb.height / 2 };
  if (st.rankdir === 'LR') st.pz.pan({ x: 8, y: s.height / 2 - p.y * s.realZoom });
  else st.pz.pan({ x: s.width / 2 - p.x * s.realZoom, y: 8 });
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
  // Readable labels; and where the graph is narrower than the panel across the
  // flow (a left-right graph is short), zoom until it fills that side.
  const s = st.pz.getSizes();
  const across = st.rankdir === 'LR' ? s.height / s.viewBox.height : s.width / s.viewBox.width;
  zoomToReal(st, Math.min(NATURAL, Math.max(READABLE, across)));
  const target = st.focus && st.nodes.get(st.focus);
  if (target) centreOn(st, target);
  else startAtInput(st);
  keepInside(st);
}

function keepInside(st) {
  // No empty band between the panel's edge and a graph bigger than the panel;
  // a graph smaller than the panel on one side is centred on that side.
  const s = st.pz.getSizes();
  const p = st.pz.getPan();
  const w = s.viewBox.width * s.realZoom, h = s.viewBox.height * s.realZoom;
  const clamp = (v, size, view) => (size <= view ? (view - size) / 2 : Math.min(0, Math.max(view - size, v)));
  st.pz.pan({ x: clamp(p.x, w, s.width), y: clamp(p.y, h, s.height) });
}

//: Minimap box: at most MINI_W x MINI_H px; no side under MINI_MIN px (a very
//: tall or wide graph is stretched across, so the overview stays usable).
const MINI_W = 200, MINI_H = 240, MINI_MIN = 72, MARKER_MIN = 10;

function updateMini(st) {
  if (!st.vp || !st.pz) return;
  const s = st.pz.getSizes();
  const p = st.pz.getPan();
  let w = s.width / s.realZoom, h = s.height / s.realZoom;
  let x = -p.x / s.realZoom, y = -p.y / s.realZoom;
  // a marker never smaller than MARKER_MIN px on the minimap, grown about its centre
  const minW = MARKER_MIN / st.miniScale[0], minH = MARKER_MIN / st.miniScale[1];
  if (w < minW) { x -= (minW - w) / 2; w = minW; }
  if (h < minH) { y -= (minH - h) / 2; h = minH; }
  st.vp.setAttribute('x', String(x));
  st.vp.setAttribute('y', String(y));
  st.vp.setAttribute('width', String(w));
  st.vp.setAttribute('height', String(h));
}

function miniWanted(st) {
  // 'auto': only when the graph at the current zoom is bigger than the panel
  if (st.miniMode === 'off' || !st.pz) return false;
  if (st.miniMode === 'on') return true;
  const s = st.pz.getSizes();
  return s.viewBox.width * s.realZoom > 1.2 * s.width || s.viewBox.height * s.realZoom > 1.2 * s.height;
}

function showMini(st, root) {
  const mini = root.querySelector('.bnfold-mini');
  const btn = root.querySelector('button[data-act=map]');
  const want = miniWanted(st) && !st.miniHidden;
  if (mini) mini.classList.toggle('hidden', !want);
  if (btn) {
    btn.classList.toggle('on', want);
    btn.setAttribute('aria-pressed', want ? 'true' : 'false');
    btn.title = want ? 'hide the minimap (m)' : 'show the minimap (m)';
  }
}

function buildMini(st, mini, source) {
  mini.replaceChildren();
  st.vp = null;
  const copy = source.cloneNode(true);
  copy.querySelectorAll('[id]').forEach((e) => e.removeAttribute('id'));
  copy.querySelectorAll('title, text, desc').forEach((e) => e.remove());  // a picture only
  const vb = (copy.getAttribute('viewBox') || '0 0 100 100').split(/[ ,]+/).map(Number);
  const gw = vb[2] || 1, gh = vb[3] || 1;
  const scale = Math.min(MINI_W / gw, MINI_H / gh);
  const bw = Math.max(MINI_MIN, Math.min(MINI_W, gw * scale));
  const bh = Math.max(MINI_MIN, Math.min(MINI_H, gh * scale));
  st.miniScale = [bw / gw, bh / gh];
  mini.style.width = `${bw}px`;
  mini.style.height = `${bh}px`;
  copy.removeAttribute('width');
  copy.removeAttribute('height');
  copy.setAttribute('preserveAspectRatio', 'none');
  copy.style.pointerEvents = 'none';
  const vp = document.createElementNS(SVGNS, 'rect');
  vp.setAttribute('class', 'bnfold-vp');
  vp.setAttribute('vector-effect', 'non-scaling-stroke');
  vp.setAttribute('stroke-width', '2');
  // the marker lives in the same coordinates as the pan/zoom viewport group
  const holder = document.createElementNS(SVGNS, 'g');
  holder.appendChild(vp);
  copy.appendChild(holder);
  mini.appendChild(copy);
  st.vp = vp;
  const move = (ev) => {
    const m = copy.getScreenCTM();
    if (!m) return;
    const pt = new DOMPoint(ev.clientX, ev.clientY).matrixTransform(m.inverse());
    const s = st.pz.getSizes();
    const c = visibleCentre(st);
    st.pz.pan({ x: c.x - pt.x * s.realZoom, y: c.y - pt.y * s.realZoom });
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

// -- find in the graph (like Netron's Ctrl+F): jump, next/previous, count, dim the rest
function searchText(st, g) {
  const t = g.querySelector('title');
  return `${g.id} ${(st.index || {})[g.id] || ''} ${t ? t.textContent : ''}`.toLowerCase();
}

function runSearch(st, root, text) {
  const q = (text || '').trim().toLowerCase();
  st.query = q;
  st.svg.querySelectorAll('g.node.match').forEach((g) => g.classList.remove('match', 'match-current'));
  st.matches = [];
  st.matchAt = -1;
  st.svg.classList.toggle('searching', !!q);
  if (q) {
    for (const g of st.nodes.values()) {
      if (g.classList.contains('legend-item')) continue;
      if (searchText(st, g).includes(q)) { g.classList.add('match'); st.matches.push(g); }
    }
  }
  if (st.matches.length) stepSearch(st, root, 1);
  else setCount(st, root);
}

function setCount(st, root) {
  const out = root.querySelector('.bnfold-count');
  if (!out) return;
  if (!st.query) out.textContent = '';
  else if (!st.matches.length) out.textContent = 'no match';
  else out.textContent = `${st.matchAt + 1} / ${st.matches.length}`;
}

function stepSearch(st, root, delta) {
  const n = st.matches.length;
  if (!n || !st.ready) { setCount(st, root); return; }
  if (st.matchAt >= 0) st.matches[st.matchAt].classList.remove('match-current');
  st.matchAt = ((st.matchAt + delta) % n + n) % n;
  const el = st.matches[st.matchAt];
  el.classList.add('match-current');
  if (realZoom(st) < READABLE) zoomToReal(st, READABLE);
  centreOn(st, el);
  setCount(st, root);
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
  // The drawing's caption (model, counts, view) goes above the panel as HTML: it
  // wraps there instead of being cut off by the pan.
  const layer0 = svg.querySelector('g.graph');
  const lines = layer0 ? Array.from(layer0.querySelectorAll(':scope > text')) : [];
  const caption = view.parentElement.querySelector('.bnfold-caption');
  if (caption) caption.textContent = lines.map((t) => t.textContent).join(' · ');
  lines.forEach((t) => t.remove());
  canvas.replaceChildren(svg);
  st.svg = svg;
  st.nodes = new Map(Array.from(svg.querySelectorAll('g.node')).map((g) => [g.id, g]));
  st.miniMode = data.minimap || 'auto';
  st.rankdir = data.rankdir || 'TB';
  st.focus = data.focus || '';
  st.zoom = Number(data.zoom) || 0;
  st.hash = data.hash;
  st.ready = false;
  st.matches = [];
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

function start(st, view, root) {
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
  showMini(st, root);
  updateMini(st);
  const input = root.querySelector('.bnfold-find');
  if (input && input.value) runSearch(st, root, input.value);
}

function goTo(st, id) {
  const el = st.nodes.get(id);
  if (!el || !st.ready) return false;
  if (realZoom(st) < READABLE) zoomToReal(st, READABLE);
  centreOn(st, el);
  el.classList.remove('goto');
  void el.getBBox();  // restart the flash
  el.classList.add('goto');
  setTimeout(() => el.classList.remove('goto'), 2500);
  return true;
}

const FINDERS = (window.__bnfoldFinders = window.__bnfoldFinders || new Set());
if (!window.__bnfoldCtrlF) {
  // Ctrl+F / Cmd+F finds in the graph on screen (the browser's own find when none is).
  window.__bnfoldCtrlF = true;
  document.addEventListener('keydown', (ev) => {
    if (!(ev.ctrlKey || ev.metaKey) || ev.altKey || (ev.key !== 'f' && ev.key !== 'F')) return;
    const input = Array.from(FINDERS).find((i) => i.isConnected && i.getClientRects().length);
    if (!input) return;
    ev.preventDefault();
    input.focus();
    input.select();
  }, true);
}

if (!window.__bnfoldCopy) {
  // Names wrap at zero-width spaces after '.', '_' and '/' (inspector.safe_text.wrap_points):
  // a name copied from the page is the name, without them.
  window.__bnfoldCopy = true;
  document.addEventListener('copy', (ev) => {
    const text = String(window.getSelection() || '');
    if (!text.includes('\u200b') || !ev.clipboardData) return;
    ev.clipboardData.setData('text/plain', text.replace(/\u200b/g, ''));
    ev.preventDefault();
  }, true);
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
  if (hint) hint.title = data.hint || '';
  setLegend(parentElement, data.legend);
  st.roles = data.roles || {};
  st.roleNames = data.role_names || [];
  st.index = data.index || {};
  st.miniHidden = (() => { try { return localStorage.getItem('bnfold-minimap') === 'hidden'; } catch (e) { return false; } })();
  if (st.hash !== data.hash) {
    st.applied = data.selected || '';
    mount(st, view, data);
  }
  start(st, view, parentElement);
  if (st.ready && (data.selected || '') !== st.applied) {
    highlight(st, data.selected || '');
    const el = st.nodes.get(data.selected || '');
    if (el && st.clicked !== data.selected && !inView(st, el)) centreOn(st, el);
  }
  const jump = data.goto || null;
  if (st.ready && jump && jump.n !== st.gotoN) {
    st.gotoN = jump.n;
    goTo(st, jump.id);
  }
  st.clicked = '';
  const input = parentElement.querySelector('.bnfold-find');
  if (input) {
    FINDERS.add(input);
    input.oninput = () => runSearch(st, parentElement, input.value);
    input.onkeydown = (ev) => {
      if (ev.key === 'Enter') { ev.preventDefault(); stepSearch(st, parentElement, ev.shiftKey ? -1 : 1); }
      else if (ev.key === 'Escape') { input.value = ''; runSearch(st, parentElement, ''); wrap.focus({ preventScroll: true }); }
      ev.stopPropagation();
    };
  }
  const act = (kind) => {
    if (!st.ready) return;
    if (kind === 'in') st.pz.zoomIn();
    else if (kind === 'out') st.pz.zoomOut();
    else if (kind === 'fit') { st.pz.fit(); st.pz.center(); }
    else if (kind === 'one') zoomToReal(st, NATURAL);
    else if (kind === 'next') stepSearch(st, parentElement, 1);
    else if (kind === 'prev') stepSearch(st, parentElement, -1);
    else if (kind === 'map') {
      const shown = miniWanted(st) && !st.miniHidden;
      if (!shown && !miniWanted(st)) st.miniMode = 'on';
      st.miniHidden = shown;
      try { localStorage.setItem('bnfold-minimap', shown ? 'hidden' : 'shown'); } catch (e) { /* private mode */ }
    }
    showMini(st, parentElement);
    updateMini(st);
  };
  parentElement.querySelectorAll('button[data-act]').forEach((b) => {
    b.onclick = () => act(b.getAttribute('data-act'));
  });
  wrap.onkeydown = (ev) => {
    if (ev.target && ev.target.tagName === 'INPUT') return;
    const k = { '+': 'in', '=': 'in', '-': 'out', '_': 'out', '0': 'one', 'f': 'fit', 'm': 'map',
      'n': 'next', 'N': 'prev' }[ev.key];
    if (!k || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    ev.preventDefault();
    act(k);
  };
  view.onpointerdown = () => wrap.focus({ preventScroll: true });
  if (!st.observer && typeof ResizeObserver !== 'undefined') {
    st.observer = new ResizeObserver(() => {
      if (!st.ready) start(st, view, parentElement);
      else { st.pz.resize(); showMini(st, parentElement); updateMini(st); }
    });
    st.observer.observe(view);
  }
  return () => {
    if (st.observer) st.observer.disconnect();
    st.observer = null;
    if (input) FINDERS.delete(input);
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
