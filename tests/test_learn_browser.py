"""The Learn page in a real headless Chromium: the theorem is on screen and a
lesson's verdict appears only after the learner's prediction is revealed."""

from __future__ import annotations

import pytest

from inspector.ui.theorem import CLAUSES

from .browser import BROWSER_MARKS, CHROMIUM, CHROMIUM_ARGS, streamlit_app

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def learn_page():
    with streamlit_app() as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{url}/learn")
        page.get_by_text("Your prediction").first.wait_for(timeout=180_000)
        yield page
        browser.close()


def test_theorem_clauses_are_visible(learn_page):
    for clause in CLAUSES:
        title = learn_page.get_by_text(f"{clause.title}.", exact=False).first
        title.wait_for(state="visible", timeout=30_000)
        assert title.is_visible()


def test_verdict_appears_only_after_reveal(learn_page):
    assert learn_page.get_by_text("Rule: Backward fold").count() == 0
    learn_page.get_by_text("folded backward", exact=True).first.click()
    learn_page.get_by_role("button", name="Reveal the verdict").click()
    learn_page.get_by_text("Rule: Backward fold").first.wait_for(timeout=60_000)
    assert learn_page.get_by_text("Right:", exact=False).first.is_visible()
