"""The course in a real browser: JupyterLab driven by headless Chromium (issue 5).

Learners meet the widgets in JupyterLab, not in pytest. For each widget below this test starts
JupyterLab on a temporary copy of the notebooks (loopback, free port, random token, kernels
with COURSE_FAST=1 COURSE_OFFLINE=1), opens the notebook in Debian's Chromium, runs
Run → Run All Cells, and checks what a learner sees:

1. every code cell ran, no cell shows an error, "Error displaying widget" appears nowhere (nor a
   "Loading widget..." that never turns into the widget), and
   the widget is there with its sliders, its step button and its picture (a real PNG, shown
   once: no static copy next to the live widget);
2. moving a slider (keyboard arrows on the handle) and pressing the step button change the
   picture (decoded pixels of the <img>, before vs after);
3. the test of the test: after a cell that breaks the widget's callbacks (button handlers
   removed, ``refresh`` a no-op), pressing the step button must be reported as "no change".

Screenshots for a person to look at go to ``build/browser/``: ``<case>-notebook.png`` (the
notebook around the widget), ``<case>-notebook-full-<n>.png`` (the whole notebook after Run All, in pages),
``<case>-widget-before.png``, ``<case>-widget-after.png`` and ``<case>-widget-broken.png``.

Without Chromium the browser tests skip and say how to install it (``make browser``).
"""
from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import browser_support as bs

REPO = bs.REPO_ROOT


@dataclass(frozen=True)
class WidgetCase:
    """A widget as a learner finds it in a notebook."""
    id: str
    notebook: str            # file name in notebooks/ (or written into the copy: `harness`)
    module: str | None       # repo file the widget lives in (skip, naming it, if missing)
    marker: str              # CSS that identifies the widget's output area
    image: str               # CSS of the widget's picture (an <img>)
    step: str | None         # label of the button that advances the widget (None: it has none)
    slider: str              # label of the slider to move


HARNESS = WidgetCase("harness", "_browser_harness.ipynb", None, ".harness-image",
                     "img.harness-image", "Step", "freq")
CASES = [
    HARNESS,
    WidgetCase("playground", "06_keras_ann.ipynb", "course_utils/widgets/playground.py",
               ".playground-image", "img.playground-image", "Step", "Noise"),
    WidgetCase("neuron_explorer", "01_neurons_and_perceptron.ipynb",
               "course_utils/widgets/neuron_explorer.py", "img.widget-image", "img.widget-image",
               "perceptron epoch", "w1"),
    WidgetCase("augmentation_previewer", "10_data_pipelines_and_augmentation.ipynb",
               "course_utils/widgets/augmentation_previewer.py", "img.widget-image", "img.widget-image",
               None, "Rotation"),
    WidgetCase("convolution_explorer", "11_convolution_and_pooling.ipynb",
               "course_utils/widgets/convolution_explorer.py", ".convolution-explorer",
               "img.convolution-explorer-image", "Step", "position"),
    WidgetCase("unrolled_rnn", "15_recurrent_networks.ipynb", "course_utils/widgets/unrolled_rnn.py",
               ".unrolled-rnn", "img.unrolled-rnn-image", "Next step", "radius"),
]

# Run in the live kernel for the test of the test: every Button loses its click handlers and
# every Explorer's refresh becomes a no-op, i.e. the callbacks are broken.
SABOTAGE = (
    "import gc, ipywidgets as W; from course_utils.widgets.base import Explorer; "
    "_ex = [o for o in gc.get_objects() if isinstance(o, Explorer)]; "
    "_bt = [o for o in gc.get_objects() if isinstance(o, W.Button)]; "
    "[b._click_handlers.callbacks.clear() for b in _bt]; "
    "[setattr(o, 'refresh', lambda o=o: o.png) for o in _ex]; "
    "print(f'BROKEN {len(_ex)} explorer(s), {len(_bt)} button(s)')"
)


def write_harness_notebook(path: Path) -> Path:
    """A tiny notebook with an Explorer subclass shaped like the course widgets (a slider
    and a Step button; CSS classes like the playground's). It checks the harness itself, with
    nothing from the other notebooks, and that kernels get COURSE_FAST=1 COURSE_OFFLINE=1."""
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Browser harness: a tiny explorer"),
        nbformat.v4.new_code_cell(
            "import os\nimport numpy as np\nimport matplotlib.pyplot as plt\nimport ipywidgets as W\n"
            "import course_utils as cu\nfrom course_utils.widgets.base import Explorer\n"
            "assert cu.fast_mode() and cu.env.offline(), dict(os.environ)"),
        nbformat.v4.new_code_cell(
            "class Tiny(Explorer):\n"
            "    def _build_controls(self):\n"
            "        self.t = 0\n"
            "        self.freq = W.FloatSlider(value=1.0, min=0.5, max=5.0, step=0.5, description='freq')\n"
            "        self.button = W.Button(description='Step')\n"
            "        self.freq.observe(self._on_freq, names='value')\n"
            "        self.button.on_click(self._on_step)\n"
            "        self.controls = [self.freq, self.button]\n"
            "    def _on_freq(self, change):\n"
            "        self.refresh()\n"
            "    def _on_step(self, button):\n"
            "        self.step()\n"
            "    def step(self):\n"
            "        self.t += 1\n"
            "        self.refresh()\n"
            "    def render(self):\n"
            "        fig, ax = plt.subplots(figsize=(4, 2.5))\n"
            "        x = np.linspace(0, 2 * np.pi, 200)\n"
            "        ax.plot(x, np.sin(self.freq.value * x + 0.7 * self.t))\n"
            "        ax.set_title(f'freq = {self.freq.value:.1f}, steps = {self.t}')\n"
            "        fig.tight_layout()\n"
            "        return fig\n"
            "\n"
            "tiny = Tiny()\n"
            "tiny.ui.add_class('harness')\n"
            "tiny.image.add_class('harness-image')\n"
            "tiny"),
    ]
    nbformat.write(nb, str(path))
    return path


def _missing(case: WidgetCase) -> str | None:
    """Why ``case`` does not run in this checkout (a missing file), or None.

    The harness case checks the browser machinery on its own tiny notebook. It costs about
    half a minute, so by default it runs only when a widget case cannot (then the machinery,
    the test of the test included, is still exercised); COURSE_BROWSER_HARNESS=1 always runs
    it, COURSE_BROWSER_HARNESS=0 never.
    """
    if case is HARNESS:
        flag = os.environ.get("COURSE_BROWSER_HARNESS", "").strip()
        if flag == "1":
            return None
        if flag == "0":
            return "COURSE_BROWSER_HARNESS=0"
        if all(_missing(c) is None for c in CASES if c is not HARNESS):
            return ("every widget notebook is here and ran the same checks "
                    "(COURSE_BROWSER_HARNESS=1 runs the harness too)")
        return None
    if case.module and not (REPO / case.module).is_file():
        return f"{case.module} does not exist yet (the widget under test)"
    if case is not HARNESS and not (bs.NOTEBOOKS / case.notebook).is_file():
        return f"notebooks/{case.notebook} does not exist yet (the notebook that shows the widget)"
    return None


# -- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium():
    path = bs.find_chromium()
    if path is None:
        override = os.environ.get("COURSE_CHROMIUM")
        where = (f"COURSE_CHROMIUM={override} is not an executable" if override else
                 "looked for /usr/bin/chromium and chromium on PATH")
        pytest.skip(f"Chromium not found ({where}): {bs.INSTALL_HINT}")
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (make setup)")
    return path


@pytest.fixture(scope="module")
def lab(chromium):
    """JupyterLab on a temporary copy of the notebooks this module needs (+ the harness)."""
    names = [c.notebook for c in CASES if c is not HARNESS]
    server = bs.LabServer(names=names)
    root = server.copy_notebooks()
    if _missing(HARNESS) is None:
        write_harness_notebook(root / HARNESS.notebook)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(chromium, lab):
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory(prefix="course-chromium-") as profile:
        with sync_playwright() as pw:
            context = bs.launch_chromium(pw, chromium, Path(profile))
            context.set_default_timeout(60_000)
            try:
                yield context
            finally:
                context.close()


class Live:
    """One case's notebook, run all, in its own tab, and what the run left behind."""

    def __init__(self, case, nb, seconds, console):
        self.case, self.nb, self.seconds, self.console = case, nb, seconds, console
        self.step_seconds = None   # how long a working step took to show (test 2)
        self.widget = nb.widget(case.marker, case.image)

    def shot(self, what: str) -> Path:
        return bs.SCREENSHOTS / f"{self.case.id}-{what}.png"


@pytest.fixture(scope="module", params=CASES, ids=[c.id for c in CASES])
def live(request):
    case = request.param
    why = _missing(case)
    if why:
        pytest.skip(f"{case.id}: {why}" + ("" if case is HARNESS else "; this browser check runs once it lands"))
    server = request.getfixturevalue("lab")
    context = request.getfixturevalue("browser")
    for old in bs.SCREENSHOTS.glob(f"{case.id}-*.png"):
        old.unlink()   # the screenshots always show the latest run
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    try:
        nb = bs.NotebookPage(page, server, case.notebook).open()
        seconds = nb.run_all(timeout=240)
        yield Live(case, nb, seconds, console)
    finally:
        page.close()
        server.shutdown_kernel(case.notebook)


# -- the checks -----------------------------------------------------------------------------
@pytest.mark.browser
def test_runs_without_errors_and_shows_widget(live):
    nb, w, case = live.nb, live.widget, live.case
    stuck = nb.stuck_widgets()   # first: a widget still loading may turn into an error
    errors = nb.errors() + stuck
    missing = nb.unexecuted_cells()
    if errors or missing:
        nb.show_first_error()
        nb.screenshot(live.shot("error"))
    assert not errors, (f"{case.notebook}: a cell shows an error (screenshot {live.shot('error')}):\n"
                        + "\n---\n".join(errors))
    assert not missing, f"{case.notebook}: code cells {missing} did not run (prompts {nb.prompts()})"

    assert w.root.count() == 1, (
        f"{case.notebook}: no output shows the widget (looked for {case.marker!r} in an output "
        f"area); browser console errors: {live.console[-5:]}")
    w.root.scroll_into_view_if_needed()
    nb.screenshot(live.shot("notebook"))
    assert w.image.count() == 1, f"expected one {case.image} in the widget, found {w.image.count()}"
    slider = w.slider(case.slider)
    assert slider.count() == 1 and slider.first.is_visible(), (
        f"slider {case.slider!r} not shown; sliders: {w.sliders().all_inner_texts()}")
    if case.step:
        step = w.root.locator("button", has_text=re.compile(rf"^\s*{re.escape(case.step)}\s*$"))
        assert step.count() == 1 and step.first.is_visible(), (
            f"button {case.step!r} not shown; buttons: {w.root.locator('button').all_inner_texts()}")

    png = w.picture()
    from course_utils.widgets.base import is_png
    assert is_png(png), f"the widget's picture is not a PNG (starts {png[:8]!r})"
    box = w.image.first.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100, f"picture too small on screen: {box}"
    cell = nb.page.locator(".jp-Cell", has=w.root)
    static = cell.locator(".jp-RenderedImage").count()
    assert static == 0, (f"the widget's cell also shows {static} static picture(s) next to the live "
                         f"widget (duplicate image); see {live.shot('notebook')}")
    w.screenshot(live.shot("widget-before"))
    pages = nb.full_screenshots(bs.SCREENSHOTS / f"{case.id}-notebook-full")
    scale = nb.picture_scale(w.image.first)
    print(f"{case.id}: Run All Cells took {live.seconds:.1f} s (2 shared CPU cores); "
          f"picture shown at {scale:.2f}x its pixel size; {len(pages)} page(s) of notebook screenshots")


@pytest.mark.browser
def test_slider_and_step_change_the_picture(live):
    w, case = live.widget, live.case
    start = w.settle()
    slider = w.slider(case.slider)
    readout = w.readout(slider)
    w.move_slider(slider, presses=2)
    after_slider = w.wait_for_change(start, timeout=30)
    new_readout = w.readout(slider)
    assert new_readout != readout, f"slider {case.slider!r} did not move ({readout} → {new_readout})"
    assert after_slider.changed, f"moving {case.slider!r} ({readout} → {new_readout}): {after_slider}"
    live.step_seconds = after_slider.seconds
    after_step = "no step button"
    if case.step:
        before_step = w.settle()
        w.click(case.step)
        after_step = w.wait_for_change(before_step, timeout=60)
        assert after_step.changed, f"pressing {case.step!r}: {after_step}"
        live.step_seconds = max(live.step_seconds or 0, after_step.seconds)
    end = w.settle()
    assert bs.picture_difference(start, end) > 0
    w.screenshot(live.shot("widget-after"))
    print(f"{case.id}: slider {readout} → {new_readout}: {after_slider}; step: {after_step}")


@pytest.mark.browser
def test_broken_callback_is_detected(live):
    """The test of the test: with the callbacks broken, the same check reports no change."""
    w, case = live.widget, live.case
    out = live.nb.append_and_run(SABOTAGE)
    m = re.search(r"BROKEN (\d+) explorer", out)
    assert m and int(m.group(1)) >= 1, f"the sabotage cell found no explorer to break: {out!r}"
    before = w.settle()
    if case.step:
        w.click(case.step)
    else:   # a widget with sliders only: the same slider move as test 2
        w.move_slider(w.slider(case.slider), presses=2)
    # Wait well past the time a working step (or slider move) took to show (test 2), at least 4 s.
    wait = max(4.0, 2 * (live.step_seconds or 5.0))
    change = w.wait_for_change(before, timeout=wait)
    w.screenshot(live.shot("widget-broken"))
    assert not change.changed, f"step with a broken callback still changed the picture: {change}"
    assert "NO CHANGE" in str(change)


# -- the detector, without a browser --------------------------------------------------------
def _png(values, size=(40, 30)):
    import io

    import numpy as np
    from PIL import Image
    arr = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    for (x, y), v in values.items():
        arr[y, x] = v
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_picture_difference_detects_change_and_no_change():
    a = _png({(1, 1): 255})
    assert bs.picture_difference(a, a) == 0.0
    same_pixels = _png({(1, 1): 255})
    assert bs.picture_difference(a, same_pixels) == 0.0
    b = _png({(1, 1): 255, (5, 5): 200})
    assert bs.picture_difference(a, b) == pytest.approx(1 / (40 * 30))
    assert bs.picture_difference(a, _png({}, size=(41, 30))) == 1.0
    assert bs.picture_difference(a, _png({(1, 1): 250})) == 0.0  # within the tolerance


def test_find_chromium_honours_override(monkeypatch, tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("COURSE_CHROMIUM", str(fake))
    assert bs.find_chromium() == str(fake)
    monkeypatch.setenv("COURSE_CHROMIUM", str(tmp_path / "missing"))
    assert bs.find_chromium() is None


def test_harness_notebook_is_valid(tmp_path):
    import nbformat
    path = write_harness_notebook(tmp_path / "h.ipynb")
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    assert "harness-image" in nb.cells[-1].source


def test_error_pattern():
    assert bs.ERROR_PATTERN.search("---\nValueError    Traceback (most recent call last)")
    assert bs.ERROR_PATTERN.search('  Cell In[3], line 1\n    x = (\n        ^\nSyntaxError: incomplete input')
    assert not bs.ERROR_PATTERN.search("UserWarning: the error bars are wide\n  warnings.warn(")
