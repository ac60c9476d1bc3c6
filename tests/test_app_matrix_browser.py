"""Every page × every mode in a real Chromium at 1280×800 (issue 16, "Done when").

One streamlit server and one browser for the module. Models: the opening
sample (``sample:showcase``), a RepVGG block (``sample:repvgg_block``, merges in
``reparam``), a DenseNet-like model (``sample:densenet``) and an uploaded ONNX
file (MobileOne-like, ``sample_models/onnx/mobileone.onnx``). For each: Inspect
coloured by ``optimal`` and ``reparam``, Fold applied in ``adjacent``,
``optimal`` and ``reparam``, Timing and Learn. Every state fails the test on an
error box, a cut label, a request leaving the machine, two figures for one
count, "0 layers changed" after BNs were removed, or (Inspect) a graph panel
that is not in the first screen. All problems of a model are listed at once.

``BNFOLD_SCREENSHOTS=1`` writes the main views to ``docs/screenshots/``.
"""

from __future__ import annotations

import os
import re
from collections import Counter

import pytest

from .browser import (
    BROWSER_MARKS,
    ROOT,
    error_boxes,
    graph_panels,
    launch,
    leaving_machine,
    streamlit_app,
    truncated_texts,
    wait_idle,
    wide_tables,
)

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")

VIEWPORT = {"width": 1280, "height": 800}
SHOTS = ROOT / "docs" / "screenshots"
MODELS = ("sample:showcase", "sample:repvgg_block", "sample:densenet", "upload:mobileone.onnx")
#: The graph panel starts in the top ~45 % of the first screen and fits in it.
PANEL_TOP_MAX, PANEL_BOTTOM_MAX = 360, 800


@pytest.fixture(scope="module")
def app():
    with streamlit_app(timeout=180) as url, sync_api.sync_playwright() as p:
        browser = launch(p)
        yield url, browser
        browser.close()


@pytest.fixture
def session(app):
    """A fresh browser session (a new Streamlit session) at 1280×800, recording requests."""
    url, browser = app
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(int(os.environ.get("BNFOLD_BROWSER_TIMEOUT_MS", 240_000)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"]')
    page.locator(".bnfold-canvas svg g.node").first.wait_for(state="attached")
    wait_idle(page)
    yield page, url, requests
    context.close()


def _shot(page, name: str) -> None:
    if os.environ.get("BNFOLD_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"))


def _open_model(page, model: str) -> None:
    side = page.locator('[data-testid="stSidebar"]')
    if model.startswith("upload:"):
        side.get_by_text("Upload", exact=True).click()
        path = ROOT / "sample_models" / "onnx" / model.split(":", 1)[1]
        side.locator('input[type="file"]').set_input_files(str(path))
        name = path.name
    else:
        name = model
        if "sample:showcase" == model:
            return  # the opening sample
        side.locator('[data-testid="stSelectbox"]').first.click()
        page.keyboard.type(model.split(":", 1)[1])
        page.keyboard.press("Enter")
    page.locator(".bnfold-canvas svg desc", has_text=name).first.wait_for(state="attached")
    wait_idle(page)


def _goto_page(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    page.locator("h1", has_text=title).first.wait_for()
    wait_idle(page)


def _click_option(page, key: str, option: str) -> None:
    """Click ``option`` of the segmented control with widget key ``key``."""
    page.locator(f".st-key-{key}").get_by_role(
        "radio", name=re.compile(rf"^{re.escape(option)}\b")).first.click()
    wait_idle(page)


def _metrics(page) -> dict[str, str]:
    out = {}
    for m in page.locator('[data-testid="stMain"] [data-testid="stMetric"]').all():
        label = m.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        out[label] = m.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return out


def _common(page, url: str, requests: list[str], where: str, problems: list[str]) -> None:
    for text in error_boxes(page):
        problems.append(f"{where}: error box: {text}")
    for text in truncated_texts(page):
        problems.append(f"{where}: cut text: {text!r}")
    for table in wide_tables(page):
        problems.append(f"{where}: table wider than the page (a column is out of sight): {table}")
    for u in leaving_machine(requests, url):
        problems.append(f"{where}: request leaving the machine: {u}")


def _count(pattern: str, text: str) -> int | None:
    m = re.search(pattern, text)
    return int(m.group(1)) if m else None


def _inspect_checks(page, mode: str, where: str, problems: list[str]) -> None:
    panels = graph_panels(page)
    if not panels:
        problems.append(f"{where}: no graph panel")
        return
    box = panels[0]
    if box["top"] > PANEL_TOP_MAX or box["bottom"] > PANEL_BOTTOM_MAX:
        problems.append(f"{where}: graph panel at y={box['top']:.0f}–{box['bottom']:.0f}, "
                        f"not in the first screen (top ≤ {PANEL_TOP_MAX}, bottom ≤ {PANEL_BOTTOM_MAX})")
    m = _metrics(page)
    caption, legend = box["caption"], box["legend"]
    counts = Counter()
    for row in legend:
        label, n = row.rsplit("(", 1)
        counts["not foldable" if label.startswith("not foldable") else label.strip()] += int(n.rstrip(")"))
    figures = {
        "BN layers": [m.get("BN layers"), _count(r"— (\d+) BN", caption), sum(counts.values())],
        "not foldable": [m.get("Not foldable"), _count(r"(\d+) not foldable", caption),
                         counts.get("not foldable", 0)],
    }
    if mode == "optimal":
        figures["folded by adjacent"] = [m.get("Folded by adjacent"),
                                         _count(r"(\d+) folded by adjacent", caption)]
        figures["folded by optimal"] = [m.get("Folded by optimal"), _count(r"(\d+) by optimal", caption)]
    for what, values in figures.items():
        seen = {int(v) for v in values if v is not None and str(v).strip().isdigit()}
        if len(seen) > 1:
            problems.append(f"{where}: two figures for {what!r}: {values} "
                            f"(metrics {m}, caption {caption!r}, legend {legend})")


def _fold_checks(page, where: str, problems: list[str]) -> None:
    text = page.locator('[data-testid="stMain"]').inner_text()
    m = _metrics(page)
    bn = m.get("BN layers", "")
    removed = re.match(r"(\d+)\s*→\s*(\d+)", bn)
    gone = int(removed.group(1)) - int(removed.group(2)) if removed else None
    if gone and re.search(r"\b0 layers? changed", text):
        problems.append(f"{where}: '0 layers changed' although {gone} BN were removed")
    caption = _count(r"(\d+) BN removed", text)
    if gone is not None and caption is not None and caption != gone:
        problems.append(f"{where}: two figures for BNs removed: metric {bn!r}, caption {caption}")


@pytest.mark.parametrize("model", MODELS)
def test_every_page_and_mode_at_1280x800(session, model):
    page, url, requests = session
    problems: list[str] = []
    _open_model(page, model)
    slug = model.split(":", 1)[1].replace(".onnx", "")
    for mode in ("optimal", "reparam"):
        _click_option(page, "inspect_mode", mode)
        page.locator(".bnfold-canvas svg g.node").first.wait_for(state="attached")
        page.wait_for_timeout(600)
        where = f"{model} · Inspect · {mode}"
        _common(page, url, requests, where, problems)
        _inspect_checks(page, mode, where, problems)
        if model == "sample:showcase" and mode == "optimal":
            _shot(page, "inspect")
        if model == "sample:repvgg_block" and mode == "reparam":
            _shot(page, "inspect-reparam")
    _goto_page(page, "Fold")
    for mode in ("adjacent", "optimal", "reparam"):
        _click_option(page, "fold_mode", mode)
        page.get_by_role("button", name="Apply folding").click()
        page.locator("strong", has_text="Verification").first.wait_for()
        wait_idle(page)
        where = f"{model} · Fold · {mode}"
        _common(page, url, requests, where, problems)
        _fold_checks(page, where, problems)
        for tab in ("Before / after graph", "Downloads", "Weight changes"):
            page.get_by_role("tab", name=tab).click()
            page.wait_for_timeout(500)
            _common(page, url, requests, f"{where} · {tab}", problems)
        if model == "sample:densenet" and mode == "optimal":
            _shot(page, "fold")
    _goto_page(page, "Timing")
    _common(page, url, requests, f"{model} · Timing", problems)
    if model == "sample:showcase":
        _shot(page, "timing")
        _goto_page(page, "Learn")
        _common(page, url, requests, f"{model} · Learn", problems)
        _shot(page, "learn")
    assert not problems, f"{len(problems)} problem(s) on {slug}:\n" + "\n".join(problems)
