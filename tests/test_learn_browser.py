"""The Learn page in a real headless Chromium: the theorem is on screen and a
lesson's verdict appears only after the learner's prediction is revealed."""

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

from inspector.ui.theorem import CLAUSES

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed "
                       "(scripts/setup.sh installs it: apt-get install chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def learn_page():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless",
           "true", "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(f"{url}/learn")
            page.get_by_text("Your prediction").first.wait_for(timeout=180_000)
            yield page
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


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
