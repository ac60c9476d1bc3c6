"""The Fold page's before/after in a real Chromium (issue 16.1, 16.3): after a
``reparam`` fold of a RepVGG block, both graphs show the same region at the
same scale with labels of at least 11 px, no minimap, and no error box."""

from __future__ import annotations

import time

import pytest

from .browser import BROWSER_MARKS, CHROMIUM, CHROMIUM_ARGS, ROOT, streamlit_app

ARTIFACTS = ROOT / "test-artifacts"
pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")
READABLE_PX = 11

#: Per graph panel: label heights on screen (px), node ids, whether a minimap is drawn.
_PANELS = """() => {
  const found = [];
  const walk = (r) => { r.querySelectorAll('*').forEach((e) => { if (e.shadowRoot) walk(e.shadowRoot); });
    r.querySelectorAll('.bnfold-canvas > svg').forEach((s) => found.push(s)); };
  walk(document);
  return found.map((svg) => {
    const heights = Array.from(svg.querySelectorAll('g.node text'))
      .map((t) => t.getBoundingClientRect().height).filter((h) => h > 0).sort((a, b) => a - b);
    const mini = svg.closest('.bnfold-view').querySelector('.bnfold-mini svg');
    return { ids: Array.from(svg.querySelectorAll('g.node')).map((g) => g.id),
             min: heights.length ? heights[0] : 0,
             median: heights.length ? heights[Math.floor(heights.length / 2)] : 0,
             mini: !!(mini && mini.getBoundingClientRect().width > 0) };
  });
}"""


def test_before_after_of_a_reparam_fold_is_one_region_at_one_readable_scale():
    ARTIFACTS.mkdir(exist_ok=True)
    with streamlit_app() as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(150_000)
        page.goto(url)
        page.wait_for_selector('[data-testid="stApp"]')
        page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
        page.keyboard.type("repvgg")
        page.get_by_role("option", name="repvgg_block").first.click()
        page.locator("desc", has_text="sample:repvgg").first.wait_for(state="attached")
        page.get_by_role("link", name="Fold").click()
        page.get_by_role("radio", name="reparam").or_(page.get_by_role("button", name="reparam")).first.click()
        page.get_by_role("button", name="Apply folding").click()
        page.locator("strong", has_text="Verification passed").wait_for()
        assert "0 layers changed" not in page.content()
        page.get_by_role("tab", name="Before / after graph").click()
        deadline = time.time() + 120
        panels = []
        while time.time() < deadline:
            panels = [x for x in page.evaluate(_PANELS) if x["ids"]]
            if len(panels) == 2 and all(x["median"] for x in panels):
                break
            time.sleep(0.5)
        page.get_by_text("Before —").first.scroll_into_view_if_needed()
        time.sleep(0.5)
        page.screenshot(path=str(ARTIFACTS / "fold-before-after-reparam.png"))
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        before, after = panels
        print(f"\n[figure] before/after label heights: {before['median']:.1f} / {after['median']:.1f} px")
        assert min(before["min"], after["min"]) >= READABLE_PX - 0.5
        assert before["median"] == pytest.approx(after["median"], rel=0.02)  # one scale
        assert not before["mini"] and not after["mini"]
        assert any(i.startswith("merged:") for i in after["ids"])
        browser.close()
