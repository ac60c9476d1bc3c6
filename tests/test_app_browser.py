"""The app in a real headless Chromium (Debian ``chromium`` driven by Playwright).

Starts ``streamlit run app.py`` on a free local port, loads a sample with BNs
in every status, checks the server-rendered SVG (ids, classes, colours,
titles), selects a BN by clicking the graph, applies folding, sees the
verification pass and downloads the annotated SVG. Screenshots go to
``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from inspector.render.status import STATUS_COLORS

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed "
                       "(scripts/setup.sh installs it: apt-get install chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url():
    port = _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
           "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("streamlit did not become healthy in 60 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def page(app_url):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 1100},
                                      accept_downloads=True)
        pg = context.new_page()
        pg.set_default_timeout(60_000)
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
    _graph(page, "sample:resnet").locator("g.node.bn").first.wait_for()  # default sample
    # pick the densenet sample: BNs in every status
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.keyboard.type("densenet")
    page.keyboard.press("Enter")
    svg = _graph(page, "sample:densenet")
    svg.locator("g.node.bn.status-optimal_only").first.wait_for()
    page.locator("desc", has_text="sample:resnet").first.wait_for(state="detached")
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
    assert svg.locator("g.legend-item").count() >= 3  # the legend is drawn in the SVG
    page.screenshot(path=str(ARTIFACTS / "inspect-densenet.png"))

    # select a BN by clicking it on the graph
    target = by_status["optimal_only"]
    svg.locator(f'g.node[id="{target}"]').click()
    svg.locator(f'g.node.selected[id="{target}"]').wait_for()
    svg.locator("g.edge.fold-link").first.wait_for()
    assert page.get_by_text("Folds").first.is_visible()
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
