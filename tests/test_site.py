"""The course website (`make site`), built from the notebooks `make test` executed (build/test-executed/).

`make test` runs this file in a second pytest, after the main suite has written build/test-executed/ (the
suite plugin in conftest.py). Run alone without it, it skips and says so. Checks: no solution, hidden test
or model answer on any built file; no broken internal link on any page; in headless Chromium: the front page,
a notebook page with a figure and rendered math, search, previous/next. Screenshots: build/site-screens/.
"""
from __future__ import annotations

import functools
import http.server
import os
import tempfile
import threading
from pathlib import Path

import nbformat
import pytest

import browser_support as bs
from course_utils.tools import site as S

EXECUTED = Path(os.environ.get("COURSE_TEST_EXECUTED") or S.REPO / "build" / "test-executed")
OUT = S.REPO / "build" / "site-test"
SCREENS = S.REPO / "build" / "site-screens"


@pytest.fixture(scope="module")
def site():
    if not any(EXECUTED.glob("*.ipynb")):
        pytest.skip(f"no executed notebooks in {EXECUTED}: run `make test` (its notebooks write them), "
                    "or `make site`")
    return Path(S.build(EXECUTED, OUT)["out"])


def test_no_solution_hidden_test_or_model_answer_on_any_page(site):
    secrets, public = [], []
    for path in sorted(EXECUTED.glob("*.ipynb")):
        nb = nbformat.read(str(S.REPO / "notebooks" / path.name), as_version=4)
        secrets += S.secrets(nb)
        public.append(S.public_text(nb))
    assert secrets, "no secrets found: the scan would prove nothing"
    assert S.scan_leaks(site, secrets, public) == []


def test_no_broken_internal_link(site):
    pages = list(site.rglob("*.html"))
    assert len(pages) > 5
    assert S.broken_links(site) == []


def test_pages_exist_and_are_student_facing(site):
    names = {p.stem for p in EXECUTED.glob("*.ipynb")}
    for stem in names:
        assert (site / "notebooks" / f"{stem}.html").exists()
    assert not (site / "_sources").exists()
    assert "One full cycle" in (site / "instructors.html").read_text()       # README's section, included
    assert "full mode" in (site / "benchmarks.html").read_text()
    syllabus = (site / "syllabus.html").read_text()
    assert "measured headline" in syllabus
    assert 'id="misc-' in "".join((site / "notebooks" / f"{s}.html").read_text() for s in names)
    assert "colab.research.google.com" in (site / "notebooks" / f"{sorted(names)[0]}.html").read_text()


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def page(served):
    chromium = bs.find_chromium()
    if chromium is None:
        pytest.skip(f"Chromium not found: {bs.INSTALL_HINT}")
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (make setup)")
    from playwright.sync_api import sync_playwright
    SCREENS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="course-site-chromium-") as profile:
        with sync_playwright() as pw:
            context = bs.launch_chromium(pw, chromium, Path(profile))
            context.set_default_timeout(30_000)
            p = context.new_page()
            p.set_viewport_size({"width": 1280, "height": 900})
            try:
                yield p
            finally:
                context.close()


def test_front_page(page, served):
    page.goto(served + "/index.html")
    assert "Hands-On Deep Learning" in page.title()
    assert page.locator("nav.bd-docs-nav a").count() >= 5           # the table of contents
    page.screenshot(path=str(SCREENS / "front.png"))
    page.goto(served + "/syllabus.html")
    assert page.locator("article table tr").count() >= 3
    page.screenshot(path=str(SCREENS / "syllabus.png"), full_page=True)


def test_notebook_page_has_figure_math_badge_and_prev_next(page, served):
    stem = min(p.stem for p in EXECUTED.glob("*.ipynb") if p.stem != "00_welcome")
    page.goto(f"{served}/notebooks/{stem}.html")
    page.wait_for_selector("mjx-container", state="attached", timeout=30_000)   # MathJax rendered (offline copy)
    assert page.locator("mjx-container").count() > 3
    assert "$$" not in page.locator("article").inner_text()
    figures = page.locator("article img[src*='_images']")
    assert figures.count() > 0
    assert figures.first.evaluate("i => i.complete && i.naturalWidth > 0")
    assert page.locator("a[href*='colab.research.google.com'] img").count() >= 1
    page.screenshot(path=str(SCREENS / "notebook.png"))
    figures.first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENS / "notebook-figure.png"))
    nxt = page.locator("a.right-next")
    assert nxt.count() == 1
    nxt.click()
    page.wait_for_load_state()
    assert page.url.split("/")[-1] != f"{stem}.html"
    page.locator("a.left-prev").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"{stem}.html")


def test_search_returns_a_result(page, served):
    page.goto(served + "/search.html?q=perceptron")
    page.wait_for_selector("ul.search li", timeout=30_000)
    assert page.locator("ul.search li").count() >= 1
    page.screenshot(path=str(SCREENS / "search.png"))


def test_misconception_index_links_resolve(page, served):
    page.goto(served + "/misconceptions.html")
    links = page.locator("article a.reference.internal")
    assert links.count() >= 3
    links.first.click()
    page.wait_for_load_state()
    anchor = page.url.split("#")[-1]
    assert anchor.startswith("misc-") and page.locator(f"[id='{anchor}']").count() == 1
    page.goto(served + "/misconceptions.html")
    page.screenshot(path=str(SCREENS / "misconceptions.png"), full_page=True)
