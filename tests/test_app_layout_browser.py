"""The graph-first layout in a real Chromium at 1280×800 (issue 16.4–8, 16.11, 17.9).

One server and one browser session on ``sample:densenet`` (BNs blocked by far-away
nodes, a tall graph). Each test checks one behaviour that would fail if it came back:
the panel in the first screen, the sticky explanation, a selected BN centred in the
visible part, the left-right view starting at the input and filling the panel, the
dashed links on the nodes they join, the hideable minimap, find in the browser, "go to"
links, and the BN panel's status colour equal to the graph's.
"""

from __future__ import annotations

import os
import re
import time

import pytest

from inspector.render.status import STATUS_COLORS

from .browser import (
    BROWSER_MARKS,
    ROOT,
    graph_panels,
    launch,
    streamlit_app,
    truncated_texts,
    wait_idle,
)

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


def _open_densenet(pg) -> None:
    pg.locator(".bnfold-canvas svg g.node").first.wait_for(state="attached")
    side = pg.locator('[data-testid="stSidebar"]')
    side.locator('[data-testid="stSelectbox"]').first.click()
    pg.keyboard.type("densenet")
    pg.keyboard.press("Enter")
    pg.locator(".bnfold-canvas svg desc", has_text="sample:densenet").first.wait_for(
        state="attached")
    wait_idle(pg)


@pytest.fixture(scope="module")
def page():
    with streamlit_app(timeout=180) as url, sync_api.sync_playwright() as p:
        browser = launch(p)
        pg = browser.new_page(viewport={"width": 1280, "height": 800})
        pg.set_default_timeout(int(os.environ.get("BNFOLD_BROWSER_TIMEOUT_MS", 240_000)))
        pg.goto(url)
        _open_densenet(pg)
        yield pg
        browser.close()


def _select_bn(page, name: str) -> None:
    box = page.locator("[class*=\"st-key-sel_bn\"]").first
    box.click()
    page.keyboard.type(name)
    page.keyboard.press("Enter")
    wait_idle(page)
    page.wait_for_timeout(500)


def _node_box(page, node_id: str) -> dict:
    return page.locator(f'.bnfold-canvas g.node[id="{node_id}"]').first.bounding_box()


def _visible_panel(page) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the part of the pan/zoom view on screen."""
    v = page.locator(".bnfold-view").first.bounding_box()
    h = page.viewport_size["height"]
    return v["x"], max(v["y"], 0), v["x"] + v["width"], min(v["y"] + v["height"], h)


def test_graph_panel_is_in_the_first_screen(page):
    page.mouse.wheel(0, -2000)
    page.wait_for_timeout(300)
    box = graph_panels(page)[0]
    print(f"\n[figure] graph panel at 1280×800: y = {box['top']:.0f}–{box['bottom']:.0f} px")
    assert box["top"] <= 360 and box["bottom"] <= 800


def test_a_selected_far_bn_is_centred_in_the_visible_part(page):
    _select_bn(page, "norm5")  # the last BN, far from the first view
    page.locator('.bnfold-canvas g.node.hl.selected').first.wait_for(state="attached")
    page.wait_for_timeout(500)
    node_id = page.locator('.bnfold-canvas g.node.hl.selected').first.get_attribute("id")
    b = _node_box(page, node_id)
    left, top, right, bottom = _visible_panel(page)
    cx, cy = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2
    assert abs(cx - (left + right) / 2) < 0.15 * (right - left)
    assert abs(cy - (top + bottom) / 2) < 0.15 * (bottom - top)


def test_explanation_stays_beside_the_graph_while_the_page_scrolls(page):
    details = page.locator(".st-key-bnfold_details")
    page.mouse.move(640, 150)  # over the metrics: the wheel scrolls the page
    page.mouse.wheel(0, 350)
    page.wait_for_timeout(600)
    graph = graph_panels(page)[0]
    d = details.bounding_box()
    assert graph["top"] < 100  # the page did scroll
    assert 0 <= d["y"] < 150  # the explanation is still on screen, at the top


def test_far_blocker_has_a_go_to_link_that_brings_it_on_screen(page):
    page.mouse.wheel(0, -2000)
    _select_bn(page, "not foldable")  # the first kept BN (the options read "name — status")
    pill = page.locator(".st-key-bnfold_details").get_by_text("blocks it").first
    pill.wait_for()
    name = pill.inner_text().split(" · ")[0].strip().replace("\u200b", "")
    pill.click()
    wait_idle(page)
    target = page.locator(".bnfold-canvas g.node.goto").first
    target.wait_for(state="attached")
    page.wait_for_timeout(400)
    assert name in target.locator("title").text_content()
    b = target.bounding_box()
    left, top, right, bottom = _visible_panel(page)
    assert left <= b["x"] and b["x"] + b["width"] <= right and top <= b["y"] <= bottom
    assert not truncated_texts(page)  # the go-to links show whole names (issue 16.10)
    if os.environ.get("BNFOLD_SCREENSHOTS"):
        page.screenshot(path=str(ROOT / "docs" / "screenshots" / "inspect-blocked.png"))


def test_neither_direction_outlines_both_blockers(page):
    blockers = page.locator(".bnfold-canvas g.node.hl.blocking")
    text = page.locator(".st-key-bnfold_details").inner_text()
    if "Neither direction works" in text:
        assert blockers.count() == 2
    else:
        assert blockers.count() >= 1


def test_find_jumps_counts_and_dims_without_a_new_layout(page):
    page.locator(".bnfold-canvas svg").first.evaluate("s => { s.dataset.mark = 'kept'; }")
    find = page.locator(".bnfold-find").first
    page.locator(".bnfold-view").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+f")
    assert find.evaluate("e => e.getRootNode().activeElement === e")
    page.keyboard.type("relu")
    page.wait_for_timeout(300)
    count = page.locator(".bnfold-count").first
    n = page.locator(".bnfold-canvas g.node.match").count()
    assert n > 3 and count.inner_text() == f"1 / {n}"
    page.keyboard.press("Enter")
    assert count.inner_text() == f"2 / {n}"
    page.keyboard.press("Shift+Enter")
    assert count.inner_text() == f"1 / {n}"
    current = page.locator(".bnfold-canvas g.node.match-current").first.bounding_box()
    left, top, right, bottom = _visible_panel(page)
    assert left <= current["x"] <= right and top <= current["y"] <= bottom
    other = page.locator(".bnfold-canvas g.node:not(.match)").first
    assert float(other.evaluate("e => getComputedStyle(e).opacity")) < 0.5
    assert page.locator(".bnfold-canvas svg").first.evaluate("s => s.dataset.mark") == "kept"
    find.fill("")
    find.press("Escape")
    page.wait_for_timeout(200)
    assert page.locator(".bnfold-canvas g.node.match").count() == 0


def test_minimap_keeps_a_usable_size_and_can_be_hidden(page):
    mini = page.locator(".bnfold-mini").first
    if not mini.is_visible():
        page.locator('.bnfold-bar button[data-act="map"]').first.click()
    b = mini.bounding_box()
    assert b["width"] >= 72 and b["height"] >= 72 and b["y"] >= 0
    marker = page.locator(".bnfold-mini rect.bnfold-vp").first.bounding_box()
    assert marker["width"] >= 9 and marker["height"] >= 9
    page.locator('.bnfold-bar button[data-act="map"]').first.click()
    assert not mini.is_visible()
    page.locator('.bnfold-bar button[data-act="map"]').first.click()
    assert mini.is_visible()


def test_left_right_view_starts_at_the_input_and_fills_the_panel(page):
    page.reload()  # a new session: no BN selected (a selection is centred instead)
    _open_densenet(page)
    side = page.locator('[data-testid="stSidebar"]')
    side.get_by_role("radio", name="Left-right").click()
    wait_idle(page)
    deadline = time.time() + 120
    while time.time() < deadline:  # the new layout is wider than tall
        vb = page.locator(".bnfold-canvas svg").first.evaluate(
            "s => [s.viewBox.baseVal.width, s.viewBox.baseVal.height]")
        if vb[0] > vb[1]:
            break
        page.wait_for_timeout(500)
    page.wait_for_timeout(800)
    left, top, right, bottom = _visible_panel(page)
    inp = page.locator(".bnfold-canvas g.node.op-input").first.bounding_box()
    assert left <= inp["x"] < left + 0.25 * (right - left)  # the input end, on the left
    boxes = [b for b in (g.bounding_box() for g in page.locator(".bnfold-canvas g.node").all())
             if b and b["x"] < right and b["x"] + b["width"] > left]
    ys = [b["y"] for b in boxes] + [b["y"] + b["height"] for b in boxes]
    drawn = min(max(ys), bottom) - max(min(ys), top)
    print(f"\n[figure] left-right: nodes span {drawn:.0f} of {bottom - top:.0f} px of the panel")
    assert drawn >= 0.6 * (bottom - top) or (min(ys) - top > 10 and bottom - max(ys) > 10)


def test_dashed_links_join_the_centres_of_their_nodes(page):
    _select_bn(page, "denseblock1.denselayer1.norm2")
    links = page.locator(".bnfold-canvas g.fold-link.client path")
    links.first.wait_for(state="attached")
    ends = links.first.evaluate("""p => { const m = p.getScreenCTM(); const l = p.getTotalLength();
      const a = p.getPointAtLength(0).matrixTransform(m), b = p.getPointAtLength(l).matrixTransform(m);
      return [[a.x, a.y], [b.x, b.y]]; }""")
    sel = page.locator(".bnfold-canvas g.node.hl.selected").first.locator("path, polygon").first
    c = sel.bounding_box()
    centre = (c["x"] + c["width"] / 2, c["y"] + c["height"] / 2)
    assert min(abs(e[0] - centre[0]) + abs(e[1] - centre[1]) for e in ends) < 4


def test_bn_panel_colour_is_the_graph_colour_and_no_developer_noise(page):
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "colour #" not in text and "Deploy" not in page.locator("body").inner_text()
    swatch = page.locator(".st-key-bnfold_details .bnfold-swatch").first
    selected = page.locator(".bnfold-canvas g.node.hl.selected").first
    fill = selected.locator("path, polygon").first.get_attribute("fill").lower()
    colour = swatch.evaluate("e => getComputedStyle(e).backgroundColor")
    rgb = "rgb({}, {}, {})".format(*(int(fill[i:i + 2], 16) for i in (1, 3, 5)))
    assert colour == rgb
    assert fill in {c.fill.lower() for c in STATUS_COLORS.values()}


#: JS: for every code span and "go to" pill in ``root``, each place its text goes on
#: to a new line, as ``[text before, unmeasured text between, text after]`` (up to 20
#: characters each side), and
#: how many of them take more than one line. Characters are measured one by one
#: (Range.getClientRects); zero-width spaces and blanks are the break points, not
#: measured.
_LINE_BREAKS = """(root) => {
  const out = { breaks: [], multi: 0, spans: 0 };
  for (const el of root.querySelectorAll('code, button')) {
    const chars = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      for (let i = 0; i < n.data.length; i += 1) {
        const c = n.data[i];
        let top = null;
        if (!/[\\s\u200b]/.test(c)) {
          const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
          const rects = r.getClientRects();
          if (rects.length) top = rects[0].top;
        }
        chars.push([c, top]);
      }
    }
    out.spans += 1;
    const text = chars.map((c) => c[0]).join('');
    let last = null, lines = 1;
    chars.forEach(([c, top], i) => {
      if (top === null) return;
      if (last !== null && top > chars[last][1] + 2) {
        lines += 1;
        out.breaks.push([text.slice(Math.max(0, last - 19), last + 1), text.slice(last + 1, i),
                         text.slice(i, i + 20)]);
      }
      last = i;
    });
    if (lines > 1) out.multi += 1;
  }
  return out;
}"""


def _breaks_inside_a_word(breaks: list[list[str]]) -> list[str]:
    """Line breaks between two letters or digits of one word: not at a blank, not after
    ``.``/``_``/``/`` (``denselayer1.|relu1`` is fine, ``re|lu1`` is not)."""
    return [f"{before}|{after}" for before, between, after in breaks
            if not re.search(r"\s", between) and before[-1] not in "./_"
            and re.match(r"\w", before[-1]) and re.match(r"\w", after[0])]


def test_long_names_in_the_explanation_wrap_only_at_dots_and_underscores(page):
    page.mouse.wheel(0, -2000)
    _select_bn(page, "norm5")  # blocked by features.denseblock2.denselayer1.relu1, far up
    details = page.locator(".st-key-bnfold_details")
    details.locator("code", has_text="relu1").first.wait_for()
    props = details.get_by_text("Node properties").first
    if not details.get_by_text("Inputs", exact=True).first.is_visible():
        props.click()  # open: its tensor and node names are measured too
    details.get_by_text("Inputs", exact=True).first.wait_for()
    assert not details.locator('[data-testid="stDataFrame"]').count()  # text, not a canvas
    found = details.evaluate(_LINE_BREAKS)
    print(f"\n[figure] explanation column at 1280×800: {found['spans']} code spans/pills, "
          f"{found['multi']} on several lines, {len(found['breaks'])} line breaks")
    assert found["multi"] >= 1, "no long name wrapped: the check measured nothing"
    assert not _breaks_inside_a_word(found["breaks"]), _breaks_inside_a_word(found["breaks"])


def test_a_copied_name_has_no_wrap_points(page):
    code = page.locator(".st-key-bnfold_details code", has_text="relu1").first
    code.wait_for()
    copied = code.evaluate("""(c) => {
      const r = document.createRange(); r.selectNodeContents(c);
      const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(r);
      const dt = new DataTransfer();
      c.dispatchEvent(new ClipboardEvent('copy', { clipboardData: dt, bubbles: true, cancelable: true }));
      sel.removeAllRanges();
      return [c.textContent, dt.getData('text/plain')];
    }""")
    shown, text = copied
    assert "\u200b" in shown  # the page's code span holds the wrap points...
    assert text == shown.replace("\u200b", "") and "." in text  # ...the copy does not
