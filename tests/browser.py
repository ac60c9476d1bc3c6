"""Shared set-up of the real-browser tests: Debian chromium, a streamlit server on a free
local port (see ../shared/UI-NOTES.md for the flags)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

#: Marks for a module of browser tests: skipped cleanly without Debian chromium.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed "
                       "(scripts/setup.sh installs it: apt-get install chromium)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_app(timeout: float = 60.0) -> Iterator[str]:
    """``streamlit run app.py`` on a free port; yields its URL once healthy, stops it after."""
    port = _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
           "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"]
    # usage statistics and the toolbar come from .streamlit/config.toml, as for a user
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"streamlit did not become healthy in {timeout:.0f} s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


# -- what a user sees: checks shared by the browser tests -----------------------------
#: JS prefix: every element of the page, shadow roots included.
ALL_ELEMENTS = """const all = []; const walk = (r) => { r.querySelectorAll('*').forEach((e) => {
  all.push(e); if (e.shadowRoot) walk(e.shadowRoot); }); }; walk(document);"""

#: JS: texts a user must read that are cut: an ellipsis, or text wider than a box (its
#: own or an ancestor's within eight levels) that clips it. Visually hidden text (the
#: "skip to content" link), canvas tables and the drawings themselves are left out.
_TRUNCATED = "() => {" + ALL_ELEMENTS + """
  const out = [];
  // any box that does not show what overflows it (hidden, clip, or a scroller the user
  // would have to find) cuts the text
  const clips = (st) => st.overflowX !== 'visible' || st.textOverflow === 'ellipsis';
  for (const e of all) {
    if (!e.getClientRects().length || e.closest('[data-testid="stDataFrame"], svg, .bnfold-mini, '
        + '[data-testid="stCode"], pre, textarea, input, select, .katex')) continue;
    const own = Array.from(e.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const r = e.getBoundingClientRect();
    if (r.width <= 2 || r.height <= 2) continue;
    let cut = e.scrollWidth > e.clientWidth + 1 && clips(getComputedStyle(e));
    let a = e.parentElement;
    for (let depth = 0; a && depth < 8 && !cut; depth += 1, a = a.parentElement) {
      if (!clips(getComputedStyle(a))) continue;
      const ar = a.getBoundingClientRect();
      cut = r.right > ar.right + 1 || r.left < ar.left - 1;
    }
    if (cut) out.push(e.textContent.trim().slice(0, 80));
  }
  return out;
}"""

#: JS: error boxes and exceptions on the page.
_ERRORS = "() => {" + ALL_ELEMENTS + """
  return all.filter((e) => ['stException', 'stAlertContentError'].includes(e.dataset && e.dataset.testid))
    .map((e) => e.textContent.trim().slice(0, 200));
}"""

#: JS: the graph panel (pan/zoom component) rectangles on the page.
_PANELS = "() => {" + ALL_ELEMENTS + """
  return all.filter((e) => e.classList && e.classList.contains('bnfold-wrap')).map((w) => {
    const r = w.getBoundingClientRect(); const v = w.querySelector('.bnfold-view').getBoundingClientRect();
    return { top: r.top, bottom: r.bottom, left: r.left, right: r.right, view_top: v.top,
             view_bottom: v.bottom,
             caption: (w.querySelector('.bnfold-caption') || {}).textContent || '',
             legend: Array.from(w.querySelectorAll('.bnfold-legend > span')).map((s) => s.textContent) };
  });
}"""


#: JS: canvas tables (``st.dataframe``) whose columns are wider than the table, so that
#: some column is off to the side (the columns are sized to their text: see
#: inspector/ui/tables.py); each as its column headers (from the grid's DOM mirror).
#: Only the tables with a column headed by one of ``marks``.
_WIDE_TABLES = "(marks) => {" + ALL_ELEMENTS + """
  const heads = (t) => Array.from(t.querySelectorAll('th, [role="columnheader"]')).map((h) => h.textContent.trim());
  return all.filter((e) => e.dataset && e.dataset.testid === 'stDataFrame' && e.getClientRects().length)
    .filter((t) => heads(t).some((h) => marks.includes(h)))
    .filter((t) => { const s = t.querySelector('.dvn-scroller');
                     return s && s.scrollWidth > s.clientWidth + 1; })
    .map((t) => Array.from(t.querySelectorAll('th, [role="columnheader"]')).map((h) => h.textContent.trim())
      .join(' | ').slice(0, 160) || 'a table');
}"""


#: A column header of each canvas table sized to its text (issue 16.10): the
#: quantization table (inspector/ui/quant_view.py), the BN table (bn_panel.py) and the
#: changed-layers table (fold_views.py).
FITTED_TABLES = ["per-tensor dB", "leaves", "role"]


def wide_tables(page, marks: list[str] = FITTED_TABLES) -> list[str]:
    """Canvas tables (those with a column headed by one of ``marks``) with a column
    pushed out of sight (a horizontal scroll)."""
    return page.evaluate(_WIDE_TABLES, marks)


def truncated_texts(page) -> list[str]:
    """Texts on screen cut by an ellipsis or clipped (tables drawn on canvas excepted)."""
    return page.evaluate(_TRUNCATED)


def error_boxes(page) -> list[str]:
    """Texts of ``st.error`` boxes and exceptions on the page."""
    return page.evaluate(_ERRORS)


def graph_panels(page) -> list[dict]:
    """Rectangles (viewport px), caption and legend rows of the graph panels."""
    return page.evaluate(_PANELS)


def leaving_machine(urls: list[str], base: str) -> list[str]:
    """Requests to anything but the app's own server (``blob:``/``data:`` stay local)."""
    local = (base, "blob:", "data:", "about:", "http://127.0.0.1", "http://localhost",
             "ws://127.0.0.1", "ws://localhost")
    return sorted({u for u in urls if not u.startswith(local)})


def launch(p):
    """Debian chromium with the flags that keep it quiet (no background requests)."""
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def wait_idle(page, seconds: float = 240.0) -> None:
    """Wait until Streamlit has finished the current run (no running indicator)."""
    deadline = time.time() + seconds
    page.wait_for_timeout(400)
    while time.time() < deadline:
        running = page.locator('[data-testid="stStatusWidget"]').count()
        if not running:
            page.wait_for_timeout(300)
            if not page.locator('[data-testid="stStatusWidget"]').count():
                return
        page.wait_for_timeout(300)
    pytest.fail(f"the app was still running after {seconds:.0f} s")
