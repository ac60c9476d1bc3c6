"""The app in a real headless Chromium (Debian ``chromium`` driven by Playwright).

Starts ``streamlit run app.py`` on a free local port (one server and one browser
for the whole module), loads a sample with BNs in every status, checks the
server-rendered SVG (ids, classes, colours, titles), selects a BN by clicking
the graph, applies folding, sees the verification pass and downloads the
annotated SVG. Then, on ``torchvision:densenet121`` (433 nodes), measures what
a user sees: on-screen label heights, wheel zoom and drag pan, the minimap, the
left-right layout's drawn height, click-to-highlight, and the whole-graph
export. Figures are printed (``pytest -s``); screenshots go to
``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import shutil
import time

import pytest

from inspector.render.status import STATUS_COLORS

from .browser import BROWSER_MARKS, CHROMIUM, CHROMIUM_ARGS, ROOT, streamlit_app

ARTIFACTS = ROOT / "test-artifacts"
pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def app_url():
    with streamlit_app() as url:
        yield url


@pytest.fixture(scope="module")
def page(app_url):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 1100},
                                      accept_downloads=True)
        pg = context.new_page()
        pg.set_default_timeout(300_000)  # a shared 2-core machine can be slow
        pg.goto(app_url)
        pg.wait_for_selector('[data-testid="stApp"]')
        yield pg
        browser.close()


def _graph(page, model: str):
    """The rendered graph SVG of ``model`` (its <desc> caption names the model)."""
    return page.locator("svg", has=page.locator("desc", has_text=model))


def _fill_of(svg, node_id: str) -> str:
    return svg.locator(f'g.node[id="{node_id}"]').locator("polygon, path").first.get_attribute(
        "fill")


def test_inspect_fold_and_download_in_a_real_browser(page, tmp_path):
    _graph(page, "sample:showcase").locator("g.node.bn").first.wait_for(state="attached")
    # pick the densenet sample: BNs in every status
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.keyboard.type("densenet")
    page.keyboard.press("Enter")
    svg = _graph(page, "sample:densenet")
    svg.locator("g.node.bn.status-optimal_only").first.wait_for(state="attached")
    page.locator("desc", has_text="sample:showcase").first.wait_for(state="detached")
    nodes = svg.locator("g.node.bn").evaluate_all(
        "els => els.map(e => [e.id, e.getAttribute('class'), "
        "e.querySelector('title').textContent])")
    classes = " ".join(c for _i, c, _t in nodes)
    for status in ("status-both", "status-optimal_only", "status-not_foldable"):
        assert status in classes
    assert all(title.strip() for _i, _c, title in nodes), "every BN has a tooltip title"
    by_status = {c.split("status-")[1].split()[0]: i for i, c, _t in nodes}
    for status in ("both", "optimal_only"):
        assert _fill_of(svg, by_status[status]).lower() == STATUS_COLORS[status].fill.lower()
    not_foldable_fills = {c.fill.lower() for k, c in STATUS_COLORS.items()
                          if k.startswith("not_foldable")}
    assert _fill_of(svg, by_status["not_foldable"]).lower() in not_foldable_fills
    assert page.locator(".bnfold-legend .sw").count() >= 3  # the legend is HTML beside it
    page.screenshot(path=str(ARTIFACTS / "inspect-densenet.png"))

    # select a BN by clicking it on the graph (after "fit": every node on screen)
    page.locator(".bnfold-bar button[data-act=fit]").first.click()
    time.sleep(0.5)
    target = _in_view(page, "g.node.bn.status-optimal_only")
    assert target is not None
    svg.locator(f'g.node[id="{target}"]').click()
    svg.locator(f'g.node.selected[id="{target}"]').wait_for(state="attached")
    svg.locator("g.edge.fold-link").first.wait_for(state="attached")
    page.get_by_text("Folds").first.wait_for()  # the explanation after the rerun
    page.screenshot(path=str(ARTIFACTS / "inspect-selected.png"))

    # fold
    page.get_by_role("link", name="Fold").click()
    page.get_by_role("button", name="Apply folding").click()
    page.locator("strong", has_text="Verification passed").wait_for()
    page.screenshot(path=str(ARTIFACTS / "fold-verified.png"))

    # download the annotated SVG
    page.get_by_role("tab", name="Downloads").click()
    with page.expect_download() as info:
        page.get_by_role("button", name="Annotated SVG").click()
    path = tmp_path / "graph.svg"
    info.value.save_as(path)
    svg = path.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "status-optimal_only" in svg and "<title>" in svg and "legend" in svg
    shutil.copy(path, ARTIFACTS / "densenet-annotated.svg")


# -- DenseNet-121 at real scale ---------------------------------------------------
DENSENET = "torchvision:densenet121"
#: Smallest readable label height on screen, in CSS px.
READABLE_PX = 11
#: JS: the graph SVGs on the page (the graph may sit in a shadow root: walk them).
_FIND_SVGS = """function graphSvgs() {
  const found = [];
  const walk = (r) => { r.querySelectorAll('*').forEach((e) => { if (e.shadowRoot) walk(e.shadowRoot); });
    r.querySelectorAll('.bnfold-canvas > svg').forEach((s) => found.push(s)); };
  walk(document);
  return found;
}
"""
#: Page-side measurements.
_MEASURE = """() => {
  const found = graphSvgs();
  const svg = found[0];
  if (!svg) return null;
  const box = svg.getBoundingClientRect();
  const inside = (r) => r.bottom > box.top && r.top < box.bottom && r.right > box.left && r.left < box.right;
  const heights = Array.from(svg.querySelectorAll('g.node text')).map((t) => t.getBoundingClientRect())
    .filter((r) => r.height > 0 && inside(r)).map((r) => r.height).sort((a, b) => a - b);
  const vp = svg.querySelector('.svg-pan-zoom_viewport');
  const mini = svg.closest('.bnfold-view').querySelector('.bnfold-mini rect.bnfold-vp');
  const content = vp.getBoundingClientRect();
  return { nodes: svg.querySelectorAll('g.node').length, labels: heights.length,
           median: heights.length ? heights[Math.floor(heights.length / 2)] : 0,
           transform: vp.getAttribute('transform') || '', width: box.width, height: box.height,
           content_w: content.width, content_h: content.height,
           mini: mini ? [Number(mini.getAttribute('width')), Number(mini.getAttribute('height'))] : null,
           desc: (svg.querySelector('desc') || {}).textContent || '' };
}"""


def _measure(page) -> dict:
    return page.evaluate(_MEASURE)


_IN_VIEW = """(sel) => {
  const found = graphSvgs();
  const svg = found[0];
  if (!svg) return null;
  const box = svg.getBoundingClientRect();
  for (const g of svg.querySelectorAll(sel)) {
    const r = g.getBoundingClientRect();
    if (r.width > 0 && r.left >= box.left && r.right <= box.right && r.top >= box.top &&
        r.bottom <= box.bottom) return g.id;
  }
  return null;
}"""


_CLICK_MS = """(id) => {
  const found = graphSvgs();
  const g = Array.from(found[0].querySelectorAll('g.node')).find((e) => e.id === id);
  const t0 = performance.now();
  g.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true }));
  return g.classList.contains('selected') ? performance.now() - t0 : -1;
}"""
_MEASURE, _IN_VIEW, _CLICK_MS = (js.replace("=> {\n", "=> {\n" + _FIND_SVGS, 1)
                                 for js in (_MEASURE, _IN_VIEW, _CLICK_MS))


def _in_view(page, selector: str) -> str | None:
    """Id of the first node matching ``selector`` that is inside the pan/zoom viewport."""
    return page.evaluate(_IN_VIEW, selector)


def _wait_graph(page, model: str, seconds: float = 400) -> dict:
    """Wait until the pan/zoom graph of ``model`` is drawn and measured."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        m = _measure(page)
        if m and model in m["desc"] and m["transform"] and m["labels"]:
            return m
        time.sleep(0.5)
    pytest.fail(f"the graph of {model} was not drawn in {seconds:.0f} s")


@pytest.fixture(scope="module")
def densenet(page):
    """The Inspect page showing DenseNet-121; prints the time to first graph."""
    page.get_by_role("link", name="Inspect").click()
    page.get_by_text("Model zoo").click()
    page.locator(".st-key-zoo_name [data-testid='stSelectbox']").click()
    page.keyboard.type(DENSENET)  # the searchable zoo list (the name is one of its options)
    t0 = time.perf_counter()
    page.keyboard.press("Enter")
    m = _wait_graph(page, DENSENET)
    print(f"\n[figure] time to first graph, {DENSENET} default view: "
          f"{time.perf_counter() - t0:.1f} s (load + analysis + layout)")
    return m


def test_default_view_of_densenet121_has_readable_labels_and_a_minimap(page, densenet):
    m = _measure(page)
    print(f"\n[figure] default view: {m['nodes']} nodes, median label {m['median']:.1f} px")
    assert m["nodes"] >= 400  # the full graph, not a handful of collapsed boxes
    assert m["median"] >= READABLE_PX
    assert m["content_h"] > m["height"]  # not a fit-to-page thumbnail: pan reaches the rest
    assert m["mini"] is not None and m["mini"][0] > 0 and m["mini"][1] > 0
    page.screenshot(path=str(ARTIFACTS / "densenet121-default.png"))


def test_wheel_zoom_and_drag_pan_change_the_view(page, densenet):
    canvas = page.locator(".bnfold-canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    # the middle of the part of the graph that is on screen (the panel can be taller)
    top, bottom = max(box["y"], 0), min(box["y"] + box["height"], page.viewport_size["height"])
    cx, cy = box["x"] + box["width"] / 2, (top + bottom) / 2
    before = _measure(page)
    page.mouse.move(cx, cy)
    page.mouse.wheel(0, -300)
    time.sleep(0.5)
    zoomed = _measure(page)
    assert zoomed["transform"] != before["transform"]
    assert zoomed["median"] > before["median"]  # zoomed in at the cursor
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 120, cy + 80, steps=6)
    page.mouse.up()
    time.sleep(0.5)
    panned = _measure(page)
    assert panned["transform"] != zoomed["transform"]
    assert panned["median"] == pytest.approx(zoomed["median"], rel=0.01)  # pan, not zoom
    page.locator(".bnfold-wrap").first.focus()
    page.keyboard.press("0")
    time.sleep(0.5)
    assert _measure(page)["median"] >= READABLE_PX  # 1:1 is readable


def test_clicking_a_bn_highlights_it_in_place(page, densenet):
    svg_before = _measure(page)
    bn_id = _in_view(page, "g.node.bn.status-not_foldable")
    assert bn_id is not None, "the default view shows a not-foldable BN near the first BN"
    t0 = time.perf_counter()
    page.locator(f'.bnfold-canvas g.node[id="{bn_id}"]').click()
    page.locator(f'.bnfold-canvas g.node.hl.selected[id="{bn_id}"]').wait_for(state="attached")
    print(f"\n[figure] click to highlight: {1000 * (time.perf_counter() - t0):.0f} ms")
    stroke = page.locator(f'.bnfold-canvas g.node.hl.selected[id="{bn_id}"] path').first.evaluate(
        "p => [getComputedStyle(p).stroke, getComputedStyle(p).strokeWidth]")
    assert stroke == ["rgb(0, 0, 0)", "5px"]  # the selected BN is outlined on screen
    page.get_by_text("Not foldable").first.wait_for()
    other = _in_view(page, f'g.node.bn:not([id="{bn_id}"])')
    ms = page.evaluate(_CLICK_MS, other)
    print(f"[figure] click to highlight inside the browser (event to restyled SVG): {ms:.1f} ms")
    assert ms >= 0
    after = _measure(page)
    assert after["nodes"] == svg_before["nodes"]  # same drawing, restyled
    page.screenshot(path=str(ARTIFACTS / "densenet121-selected.png"))


def test_whole_graph_svg_has_every_node(page, densenet, tmp_path):
    drawn = _measure(page)["nodes"]
    with page.expect_download(timeout=300_000) as info:
        page.get_by_role("button", name="Whole graph (SVG)").click()
    path = tmp_path / "whole.svg"
    info.value.save_as(path)
    text = path.read_text(encoding="utf-8")
    nodes = text.count('class="node') - text.count('class="node legend-item')
    assert nodes == drawn  # every node of the Full view, none collapsed
    assert "<title>" in text and "status-not_foldable" in text and "legend-item" in text


def test_left_right_layout_is_not_a_strip(page, densenet):
    page.get_by_text("Left-right", exact=True).first.click()
    deadline = time.time() + 400
    while time.time() < deadline:
        m = _measure(page)
        if m and m["labels"] and m["content_w"] > m["content_h"]:  # laid out left to right
            break
        time.sleep(0.5)
    m = _measure(page)
    print(f"\n[figure] left-right view: graph panel {m['height']:.0f} px tall, "
          f"median label {m['median']:.1f} px")
    assert m["height"] >= 400  # the panel follows the window, not the graph's aspect
    assert m["median"] >= READABLE_PX
    page.screenshot(path=str(ARTIFACTS / "densenet121-left-right.png"))
