"""The widget gallery (course_utils/tools/gallery.py): generated pages, index, and Voilà in Chromium."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from course_utils.tools import gallery

REPO_ROOT = Path(__file__).resolve().parents[1]
SCREENS = REPO_ROOT / "build" / "gallery-screens"


def test_every_widget_module_has_a_page():
    mods = sorted(p.stem for p in (REPO_ROOT / "course_utils" / "widgets").glob("*.py")
                  if p.stem not in {"__init__", "base", "playground_core"})
    assert gallery.widget_names() == mods
    missing = set(mods) - set(gallery.factories())
    assert not missing, f"widgets without a widget_bench CASES row (their gallery page): {missing}"


def test_generated_notebooks_are_valid(tmp_path):
    written = gallery.build(out=tmp_path, thumbs=False)
    names = gallery.widget_names()
    assert {p.stem for p in written} == set(names) | {"index"}
    for n in names:
        nb = nbformat.read(tmp_path / f"{n}.ipynb", as_version=4)
        nbformat.validate(nb)
        assert [c.cell_type for c in nb.cells] == ["markdown", "code"]
        assert nb.cells[0].source.startswith("# ")
        assert "display(" in nb.cells[1].source
    index = nbformat.read(tmp_path / "index.ipynb", as_version=4)
    nbformat.validate(index)
    for n in names:
        assert f'href="/voila/render/{n}.ipynb"' in index.cells[0].source


def test_unknown_only_name_is_a_clear_error():
    with pytest.raises(SystemExit, match="unknown widget 'nope'; choose one of: activation_lab"):
        gallery.check_only("nope")
    assert gallery.check_only("unrolled_rnn") == ["unrolled_rnn"]


def test_ipywidgets_7_is_a_clear_error():
    with pytest.raises(SystemExit, match="needs ipywidgets 8 .* has ipywidgets 7.7.1; run it from the course"):
        gallery.check_widgets_version("7.7.1")
    gallery.check_widgets_version("8.1.9")


def test_voila_listens_on_loopback_with_culling():
    cmd = gallery.voila_command(9999)
    assert "--Voila.ip=127.0.0.1" in cmd and "--no-browser" in cmd
    assert any("cull_idle_timeout" in a for a in cmd)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.browser
@pytest.mark.slow
def _settle(page, quiet_s=1.5, limit_s=30.0):
    """Wait until the widget's picture has not changed for `quiet_s` seconds (at most `limit_s`)."""
    src, since, start = None, time.monotonic(), time.monotonic()
    while time.monotonic() - start < limit_s:
        now = page.eval_on_selector(".widget-image", "i => i.src")
        if now != src:
            src, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        page.wait_for_timeout(250)


def test_gallery_in_chromium():
    from browser_support import find_chromium, CHROMIUM_FLAGS, INSTALL_HINT
    chromium = find_chromium()
    if not chromium:
        pytest.skip(f"no Chromium: {INSTALL_HINT}")
    pw = pytest.importorskip("playwright.sync_api")
    import psutil
    from course_utils.tools.grading import kill_tree
    light = ["neuron_explorer", "unrolled_rnn"]
    port = _free_port()
    # `make gallery` as a learner runs it; SIGINT at the end is the Ctrl-C.
    proc = subprocess.Popen([sys.executable, "-m", "course_utils.tools.gallery", "serve", f"--port={port}"],
                            cwd=REPO_ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/voila/render/"
    SCREENS.mkdir(parents=True, exist_ok=True)
    pids = []
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/voila/", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with pw.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(base + "index.ipynb", timeout=120_000)
            page.wait_for_selector("a.card", timeout=120_000)
            page.screenshot(path=str(SCREENS / "index.png"), full_page=True)
            hrefs = page.eval_on_selector_all("a.card", "els => els.map(e => e.getAttribute('href'))")
            assert sorted(hrefs) == [f"/voila/render/{n}.ipynb" for n in gallery.widget_names()]
            imgs = page.eval_on_selector_all("a.card img", "els => els.map(e => e.naturalWidth)")
            assert len(imgs) == len(hrefs) and all(w > 0 for w in imgs), imgs
            for n in light:
                page.goto(base + f"{n}.ipynb", timeout=180_000)
                img = page.wait_for_selector(".widget-image", timeout=180_000)
                page.wait_for_function("() => { const i = document.querySelector('.widget-image');"
                                       " return i && i.src && i.naturalWidth > 0; }", timeout=60_000)
                before = img.get_attribute("src")
                slider = page.wait_for_selector(".widget-slider .ui-slider-handle, .slider-container input, "
                                                ".noUi-handle", timeout=30_000)
                slider.focus()
                for _ in range(3):
                    page.keyboard.press("ArrowRight")
                page.wait_for_function(
                    "(b) => document.querySelector('.widget-image').src !== b", arg=before, timeout=60_000)
                _settle(page)   # the three key presses each draw a frame: the screenshot shows the last one
                page.screenshot(path=str(SCREENS / f"{n}.png"), full_page=True)
                assert "Traceback" not in page.inner_text("body")
            browser.close()
        pids = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        assert pids, "no Voila server or kernel under the gallery process"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        kill_tree(proc.pid)
    assert proc.poll() is not None
    assert not [q for q in pids if psutil.pid_exists(q) and psutil.Process(q).status() != psutil.STATUS_ZOMBIE]
