"""Hostile names in a real browser: nothing leaves the machine (issue 18.1).

Uploads the hostile-names model (Markdown images and links, HTML, autolinks in
node, tensor and file names) into ``streamlit run app.py`` in Debian chromium,
selects each BN (the BN panel, explanations and properties show the names),
opens the Fold page and folds. Every request the page makes is recorded: any to
a host other than the local server fails the test, as does a link or image
built from a name.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.bad_inputs import names as N

from .browser import BROWSER_MARKS, CHROMIUM, CHROMIUM_ARGS, streamlit_app

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")
LOCAL = {"127.0.0.1", "localhost", ""}


def _foreign(urls: list[str]) -> list[str]:
    return [u for u in urls if urlparse(u).scheme not in ("data", "blob", "about")
            and urlparse(u).hostname not in LOCAL]


def _links(page) -> tuple[list[str], list[str]]:
    """Every link (with where it sits) and image source on the page."""
    return (page.locator("a[href]").evaluate_all(
        "els => els.map(e => e.href + ' in ' + (e.parentElement || e).outerHTML.slice(0, 300))"),
        page.locator("img[src]").evaluate_all("els => els.map(e => e.src)"))


def test_hostile_names_make_no_request_leave_the_machine():
    requests: list[str] = []
    with streamlit_app() as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 1100})
        context.on("request", lambda r: requests.append(r.url))
        page = context.new_page()
        page.set_default_timeout(300_000)
        page.goto(url)
        page.wait_for_selector('[data-testid="stApp"]')
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text("Upload", exact=True).click()
        page.locator('input[type="file"]').set_input_files(
            {"name": N.FILE_NAME, "mimeType": "application/octet-stream",
             "buffer": N.hostile_names().SerializeToString()})
        page.get_by_text("BN layers").first.wait_for()
        page.locator("g.node.bn").first.wait_for()
        for i in range(2):  # select each BN by clicking it on the graph
            page.locator("g.node.bn").nth(i).click()
            page.get_by_text("Node properties").first.wait_for()
            page.wait_for_timeout(1500)
        inspect_links = _links(page)
        page.get_by_role("link", name="Fold").click()
        page.get_by_role("button", name="Apply folding").click()
        page.get_by_text("Verification passed").first.wait_for()
        page.wait_for_timeout(1500)
        anchors, images = _links(page)
        anchors, images = anchors + inspect_links[0], images + inspect_links[1]
        shown = page.inner_text("body").replace("\u200b", "")
        browser.close()
    assert requests, "no request recorded at all"
    assert not _foreign(requests), _foreign(requests)
    assert not [a for a in anchors if N.BEACON in a or "evil.invalid" in a], anchors
    assert not [i for i in images if N.BEACON in i], images
    assert N.CONV in shown  # the name itself, as text (the Fold page's roots)
