"""Drive JupyterLab in headless Chromium the way a learner uses it (tests/test_browser.py).

Three pieces, each usable on its own:

- :class:`LabServer` starts JupyterLab on 127.0.0.1, a free port and a random token, on a
  TEMPORARY copy of the notebooks (JupyterLab autosaves: the repository's notebooks are never
  touched), with the kernel environment ``COURSE_FAST=1 COURSE_OFFLINE=1``, and kills it on stop.
- :func:`launch_chromium` opens Debian's Chromium (``/usr/bin/chromium``) through Playwright's
  ``executable_path``; nothing downloads a browser.
- :class:`NotebookPage` and :class:`WidgetView` do what a learner does: open a notebook, run all
  cells from the Run menu, find a widget, move a slider with the keyboard, click a button, and
  read the picture the browser shows (the bytes behind the ``<img>``).

The change detector is :func:`picture_difference` (fraction of pixels that differ between two
PNGs) used by :meth:`WidgetView.wait_for_change`, which returns a :class:`Change` whose
``changed`` is False when the picture stayed the same: that is what the test of the test checks.
"""
from __future__ import annotations

import base64
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# COURSE_BROWSER_NOTEBOOKS points the browser test at another folder of notebooks (e.g. the
# student versions in build/student/); by default the repository's notebooks/.
NOTEBOOKS = Path(os.environ.get("COURSE_BROWSER_NOTEBOOKS") or REPO_ROOT / "notebooks").resolve()
SCREENSHOTS = REPO_ROOT / "build" / "browser"

# Flags that work headless as root on a CI container (Debian's chromium).
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
INSTALL_HINT = "install it with `make browser` (Debian's chromium via apt-get; needs root)"

# What a learner would call an error in a cell: an IPython traceback, or the last line of one
# (a SyntaxError has no "Traceback" header).
ERROR_PATTERN = re.compile(r"Traceback|^\s*\w*(Error|Exception)\b.*$", re.MULTILINE)
WIDGET_ERROR_TEXT = "Error displaying widget"
# What ipywidgets 8 shows while a widget's model is not there; if it stays after the run, the
# learner sees a widget that never appears (e.g. a model the kernel never sent).
WIDGET_LOADING_TEXT = "Loading widget..."

# JupyterLab user settings for the test server: all cells stay in the DOM (no windowing), no
# news or update checks (nothing leaves the machine), no autosave surprises.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


# -- machine ------------------------------------------------------------------------------
def find_chromium() -> str | None:
    """Path of a usable Chromium binary, or None.

    ``COURSE_CHROMIUM`` overrides the search; otherwise Debian's ``/usr/bin/chromium`` (or
    ``chromium``/``chromium-browser`` on PATH).
    """
    override = os.environ.get("COURSE_CHROMIUM")
    if override:
        return override if os.access(override, os.X_OK) else None
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- JupyterLab -----------------------------------------------------------------------------
class LabServer:
    """JupyterLab on loopback over a temporary copy of the notebooks.

    Parameters
    ----------
    notebooks : path of the folder to copy (default: the repository's ``notebooks/``).
    names : only these notebook file names are copied (default: all ``*.ipynb``).
    env : extra environment for the server and its kernels (COURSE_FAST=1 and
        COURSE_OFFLINE=1 are always set).

    Use as a context manager; ``stop()`` kills the whole process group, kernels included.
    """

    def __init__(self, notebooks: Path = NOTEBOOKS, names=None, env=None, startup_timeout=90.0):
        self.source = Path(notebooks)
        self.names = list(names) if names is not None else None
        self.extra_env = dict(env or {})
        self.startup_timeout = float(startup_timeout)
        self.port = None
        self.token = secrets.token_hex(16)
        self.proc = None
        self._tmp = None
        self.root = None
        self.log_path = None

    # The copy JupyterLab serves (and may autosave into).
    def copy_notebooks(self) -> Path:
        self._tmp = Path(tempfile.mkdtemp(prefix="course-browser-"))
        self.root = self._tmp / "notebooks"
        self.root.mkdir()
        if self.source.is_dir():
            for nb in sorted(self.source.glob("*.ipynb")):
                if self.names is None or nb.name in self.names:
                    shutil.copy2(nb, self.root / nb.name)
        return self.root

    def start(self) -> "LabServer":
        if self.root is None:
            self.copy_notebooks()
        settings = self._tmp / "lab-settings"
        for rel, content in LAB_SETTINGS.items():
            f = settings / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(content))
        for sub in ("runtime", "config", "data", "workspaces", "home"):
            (self._tmp / sub).mkdir(exist_ok=True)
        env = dict(os.environ)
        env.update({
            "COURSE_FAST": "1", "COURSE_OFFLINE": "1",
            "JUPYTER_RUNTIME_DIR": str(self._tmp / "runtime"),
            "JUPYTER_CONFIG_DIR": str(self._tmp / "config"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(self._tmp / "workspaces"),
            "IPYTHONDIR": str(self._tmp / "home" / ".ipython"),
            "PYTHONUNBUFFERED": "1",
        })
        # Inline plots in the kernel: a backend forced for headless pytest would hide figures.
        env.pop("MPLBACKEND", None)
        env.update(self.extra_env)
        self.port = free_port()
        cmd = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        self.log_path = self._tmp / "jupyterlab.log"
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + self.startup_timeout
        url = f"http://127.0.0.1:{self.port}/api/status?token={self.token}"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"JupyterLab not ready after {self.startup_timeout:.0f} s:\n{self.log_tail()}")

    def url(self, notebook: str, workspace: str | None = None) -> str:
        """URL that opens ``notebook`` (a file name in the copy) in JupyterLab.

        With ``workspace`` (a new name) it opens in that empty workspace, so notebooks opened
        earlier in the same server are not restored as extra tabs (with their own kernels).
        """
        ws = f"workspaces/{workspace}/" if workspace else ""
        return f"http://127.0.0.1:{self.port}/lab/{ws}tree/{notebook}?token={self.token}"

    def api(self, path: str):
        """GET ``/api/<path>`` of the server (JSON)."""
        url = f"http://127.0.0.1:{self.port}/api/{path}?token={self.token}"
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())

    def kernel_of(self, notebook: str) -> dict | None:
        """The kernel model of the session that ``notebook`` uses, or None (no session yet)."""
        for s in self.api("sessions"):
            if s.get("path", "").rsplit("/", 1)[-1] == notebook and s.get("kernel"):
                return s["kernel"]
        return None

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except (OSError, AttributeError):
            return "(no log)"
        return "\n".join(lines[-n:])

    def shutdown_kernel(self, notebook: str):
        """Shut down the session of ``notebook`` (frees the kernel's memory); quiet if none."""
        try:
            for sess in self.api("sessions"):
                if sess.get("path", "").rsplit("/", 1)[-1] == notebook:
                    req = urllib.request.Request(
                        f"http://127.0.0.1:{self.port}/api/sessions/{sess['id']}",
                        method="DELETE", headers={"Authorization": f"token {self.token}"})
                    urllib.request.urlopen(req, timeout=10).close()
        except (urllib.error.URLError, OSError):
            pass

    def stop(self):
        """Kill JupyterLab and its kernels (the whole process group) and remove the copy."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=5)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
        self.proc = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# -- Chromium -------------------------------------------------------------------------------
def launch_chromium(playwright, executable: str, user_data_dir: Path, viewport=(1280, 1000)):
    """A persistent (fresh profile) headless Chromium context from ``executable``."""
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir), executable_path=executable, headless=True, args=CHROMIUM_FLAGS,
        viewport={"width": viewport[0], "height": viewport[1]}, device_scale_factor=1,
    )


# -- pictures -------------------------------------------------------------------------------
def _pixels(png: bytes):
    import numpy as np
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def picture_difference(before: bytes, after: bytes) -> float:
    """Fraction of pixels (0..1) that differ between two images; 1.0 if the sizes differ.

    Compares decoded pixels, not bytes, so two encodings of the same picture count as equal.
    """
    a, b = _pixels(before), _pixels(after)
    if a.shape != b.shape:
        return 1.0
    return float((abs(a - b).max(axis=-1) > 8).mean())


@dataclass
class Change:
    """What :meth:`WidgetView.wait_for_change` saw."""
    changed: bool
    fraction: float      # share of pixels that differ between before and after
    seconds: float
    after: bytes = field(repr=False)

    def __str__(self):
        word = "changed" if self.changed else "NO CHANGE"
        return f"picture {word}: {100 * self.fraction:.2f}% of pixels differ after {self.seconds:.1f} s"


# -- the notebook as a learner sees it -------------------------------------------------------
class NotebookPage:
    """One notebook open in JupyterLab, driven through the page like a learner would."""

    def __init__(self, page, server: LabServer, notebook: str):
        self.page = page
        self.server = server
        self.notebook = notebook

    def open(self, timeout=90.0):
        workspace = "w" + re.sub(r"[^A-Za-z0-9]", "", Path(self.notebook).stem) + secrets.token_hex(3)
        self.page.goto(self.server.url(self.notebook, workspace), timeout=timeout * 1000)
        self.page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell",
                                    timeout=timeout * 1000)
        tabs = self.page.locator(".jp-NotebookPanel").count()
        if tabs != 1:
            raise AssertionError(f"expected one notebook open, found {tabs} (workspace restored?)")
        # The page says "idle" before any kernel exists: wait for the server's session, a
        # connected kernel, then the page's idle indicator.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            k = self.server.kernel_of(self.notebook)
            if k and k.get("connections", 0) >= 1 and k.get("execution_state") == "idle":
                break
            if self.page.locator(".jp-Dialog").count():
                raise AssertionError("JupyterLab shows a dialog instead of starting the kernel: "
                                     + (self.page.locator(".jp-Dialog").first.inner_text() or ""))
            self.page.wait_for_timeout(250)
        else:
            raise AssertionError(f"no kernel connected to {self.notebook} after {timeout:.0f} s:\n"
                                 + self.server.log_tail())
        self.wait_kernel_idle(timeout)
        return self

    # Toolbar kernel status ("Python 3 (ipykernel) | Idle") shown in the status bar.
    def kernel_status(self) -> str:
        return self.page.evaluate("""() => {
            const el = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
            return el ? (el.getAttribute('data-status') || '') : '';
        }""")

    def wait_kernel_idle(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.kernel_status() == "idle":
                return
            self.page.wait_for_timeout(200)
        raise AssertionError(f"kernel not idle after {timeout:.0f} s (status {self.kernel_status()!r})")

    def menu(self, top: str, item: str):
        """Click a menu-bar entry, then an item of its menu (e.g. Run → Run All Cells)."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{re.escape(top)}$")).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$")).first.click()

    def prompts(self) -> list[str]:
        """Input prompt of every code cell: '[3]:', '[*]:' or '[ ]:'."""
        return self.page.eval_on_selector_all(
            ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt",
            "els => els.map(e => e.textContent.trim())")

    def code_sources(self) -> list[str]:
        return self.page.eval_on_selector_all(
            ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-editor .cm-content",
            "els => els.map(e => Array.from(e.querySelectorAll('.cm-line')).map(l => l.textContent).join('\\n'))")

    def run_all(self, timeout=240.0) -> float:
        """Run → Run All Cells, wait until every code cell ran; returns the seconds it took."""
        t0 = time.monotonic()
        self.menu("Run", "Run All Cells")
        deadline = t0 + timeout
        # Done: nothing queued or running, the kernel idle, and either every non-empty code
        # cell has an execution count or a cell failed (Run All stops at the first error).
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(300)
            prompts = self.prompts()
            if any("*" in p for p in prompts) or self.kernel_status() != "idle":
                continue
            if not self.unexecuted_cells() or self.errors():
                break
        else:
            raise AssertionError(f"Run All Cells did not finish in {timeout:.0f} s; prompts: {self.prompts()}")
        return time.monotonic() - t0

    def unexecuted_cells(self) -> list[int]:
        """Indices of non-empty code cells without an execution count (skipped after an error)."""
        return [i for i, (p, src) in enumerate(zip(self.prompts(), self.code_sources()))
                if src.strip() and not re.search(r"\[\d+\]", p)]

    def show_first_error(self):
        """Scroll the first error output (or else the first cell that did not run) into view."""
        target = self.page.locator(
            '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        if not target.count():
            target = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell",
                                       has=self.page.locator(".jp-InputPrompt", has_text="[ ]"))
        if target.count():
            target.first.scroll_into_view_if_needed()

    def cell_tags(self) -> list[list[str]]:
        """Tags of every cell, read from the notebook file in the server's copy."""
        try:
            nb = json.loads((self.server.root / self.notebook).read_text())
        except (OSError, ValueError, TypeError):
            return []
        return [list(c.get("metadata", {}).get("tags", [])) for c in nb.get("cells", [])]

    def errors(self) -> list[str]:
        """Error outputs and tracebacks shown in cells (except cells tagged
        ``raises-exception``, which show an error on purpose), plus "Error displaying widget"
        anywhere on the page. Each item starts with the cell number (1-based)."""
        per_cell = self.page.eval_on_selector_all(
            ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook > .jp-Cell, "
            ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-WindowedPanel-viewport > .jp-Cell",
            """cells => cells.map(c => Array.from(c.querySelectorAll(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], ' +
                '.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]'))
                .map(e => e.textContent))""")
        tags = self.cell_tags()
        found = []
        for i, texts in enumerate(per_cell):
            if i < len(tags) and "raises-exception" in tags[i]:
                continue
            found += [f"cell {i + 1}: {t.strip()[:2000]}" for t in dict.fromkeys(texts)
                      if ERROR_PATTERN.search(t)]
        widget_errors = self.page.evaluate("""(text) => Array.from(document.querySelectorAll(
                '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')).flatMap((c, i) =>
                Array.from(c.querySelectorAll('.jp-OutputArea-output'))
                     .filter(o => o.innerText.includes(text))
                     .map(o => 'cell ' + (i + 1) + ': ' + o.innerText.trim().slice(0, 300)))""",
                                           WIDGET_ERROR_TEXT)
        found += widget_errors
        body = self.page.evaluate("() => document.body.innerText")
        if not widget_errors and WIDGET_ERROR_TEXT in body:   # outside any cell output
            i = body.index(WIDGET_ERROR_TEXT)
            found.append(body[i:i + 300])
        return found

    def stuck_widgets(self, grace: float = 10.0) -> list[str]:
        """Outputs that still say "Loading widget..." after ``grace`` seconds (cell numbers)."""
        js = """(text) => Array.from(document.querySelectorAll(
                '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')).flatMap((c, i) =>
                Array.from(c.querySelectorAll('.jp-OutputArea-output'))
                     .filter(o => o.innerText.trim() === text).map(() => 'cell ' + (i + 1)))"""
        deadline = time.monotonic() + grace
        while True:
            stuck = self.page.evaluate(js, WIDGET_LOADING_TEXT)
            if not stuck or time.monotonic() > deadline:
                return [f"{where}: {WIDGET_LOADING_TEXT!r} never turned into the widget" for where in stuck]
            self.page.wait_for_timeout(500)

    def append_and_run(self, code: str, timeout=60.0) -> str:
        """Add a code cell at the end (as a learner: select the last cell, Esc, B, type), run it
        with Ctrl+Enter and return its output text."""
        cells = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
        cells.last.locator(".jp-InputPrompt").click()
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("b")
        new = cells.nth(cells.count() - 1)
        new.locator(".cm-content").click()
        # insert_text: no per-key events, so no auto-closed brackets or auto-indent.
        self.page.keyboard.insert_text(code)
        self.page.keyboard.press("Control+Enter")
        deadline = time.monotonic() + timeout
        prompt = new.locator(".jp-InputPrompt")
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(200)
            if re.search(r"\[\d+\]", prompt.text_content() or "") and self.kernel_status() == "idle":
                return new.locator(".jp-OutputArea").inner_text()
        self.screenshot(SCREENSHOTS / "append-failed.png")
        raise AssertionError(f"appended cell did not run in {timeout:.0f} s (prompt "
                             f"{prompt.text_content()!r}; screenshot {SCREENSHOTS / 'append-failed.png'})")

    def screenshot(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))
        return path

    def full_screenshots(self, prefix: Path, page_height: int = 6000, max_pages: int = 8) -> list[Path]:
        """The whole notebook, top to bottom, in pages of ``page_height`` px:
        ``<prefix>-1.png``, ``<prefix>-2.png``, ... (old pages with that prefix are removed).
        The viewport is made tall for the shots, then restored."""
        prefix.parent.mkdir(parents=True, exist_ok=True)
        for old in prefix.parent.glob(prefix.name + "-*.png"):
            old.unlink()
        size = self.page.viewport_size
        scroller = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer").first
        paths = []
        try:
            self.page.set_viewport_size({"width": size["width"], "height": page_height})
            self.page.wait_for_timeout(300)
            total, view = scroller.evaluate("s => [s.scrollHeight, s.clientHeight]")
            # Content ends at the bottom of the last cell (the rest is JupyterLab's scroll-past-end).
            end = scroller.evaluate("""s => {
                const cells = s.querySelectorAll('.jp-Cell');
                if (!cells.length) return s.scrollHeight;
                return cells[cells.length - 1].getBoundingClientRect().bottom
                       - s.getBoundingClientRect().top + s.scrollTop + 20;
            }""")
            top = 0
            while top < min(end, total) and len(paths) < max_pages:
                scroller.evaluate("(s, y) => { s.scrollTop = y; }", top)
                self.page.wait_for_timeout(300)
                shown = scroller.evaluate("s => s.scrollTop")
                box = scroller.bounding_box()
                height = min(view, end - shown)
                path = prefix.parent / f"{prefix.name}-{len(paths) + 1}.png"
                self.page.screenshot(path=str(path), clip={
                    "x": box["x"], "y": box["y"], "width": box["width"], "height": max(1, height)})
                paths.append(path)
                top = shown + view
        finally:
            self.page.set_viewport_size(size)
        return paths

    def picture_scale(self, image_locator) -> float:
        """Shown width / natural width of an <img> (above 1: the browser upscales it)."""
        nat, shown = image_locator.evaluate("img => [img.naturalWidth, img.clientWidth]")
        return shown / nat if nat else float("nan")

    def widget(self, marker_css: str = "img.widget-image", image_css: str = "img.widget-image") -> "WidgetView":
        """The displayed widget: the (first) output area that contains ``marker_css``."""
        root = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output",
                                 has=self.page.locator(marker_css)).first
        return WidgetView(self, root, image_css)


class WidgetView:
    """A widget in the page: its controls and its picture."""

    def __init__(self, nb: NotebookPage, root, image_css: str = "img.widget-image"):
        self.nb = nb
        self.page = nb.page
        self.root = root
        self.image = root.locator(image_css)

    def sliders(self):
        return self.root.locator(".widget-slider")

    def buttons(self):
        return self.root.locator("button.widget-button, button.jupyter-button")

    def picture(self) -> bytes:
        """The bytes of the picture the browser shows (the data/blob URL behind the <img>)."""
        img = self.image.first
        img.wait_for(state="visible")
        data = img.evaluate("""async (img) => {
            if (!img.complete || img.naturalWidth === 0) {
                await new Promise((ok) => { img.onload = ok; img.onerror = ok; setTimeout(ok, 5000); });
            }
            if (img.naturalWidth === 0) return null;
            const r = await fetch(img.src);
            const buf = new Uint8Array(await r.arrayBuffer());
            let s = '';
            for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode.apply(null, buf.subarray(i, i + 0x8000));
            return btoa(s);
        }""")
        if data is None:
            raise AssertionError("the widget's <img> shows no picture (naturalWidth 0)")
        return base64.b64decode(data)

    def slider(self, label: str):
        """The slider whose description is ``label``."""
        return self.sliders().filter(
            has=self.page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")))

    @staticmethod
    def readout(slider) -> str:
        return (slider.locator(".widget-readout").text_content() or "").strip()

    def move_slider(self, slider, presses: int = 2, key: str = "ArrowRight"):
        """Focus the slider's handle and press an arrow key (what a keyboard user does)."""
        handle = slider.locator(".noUi-handle").first
        handle.scroll_into_view_if_needed()
        handle.focus()
        for _ in range(presses):
            handle.press(key)
            self.page.wait_for_timeout(100)

    def click(self, text: str):
        """Click the widget's button whose label is ``text``."""
        self.root.locator("button", has_text=re.compile(rf"^\s*{re.escape(text)}\s*$")).first.click()

    def wait_for_change(self, before: bytes, timeout: float = 20.0, min_fraction: float = 1e-4) -> Change:
        """Poll the picture until it differs from ``before`` (or ``timeout`` passes)."""
        t0 = time.monotonic()
        after, frac = before, 0.0
        while True:
            after = self.picture()
            frac = picture_difference(before, after)
            if frac >= min_fraction:
                return Change(True, frac, time.monotonic() - t0, after)
            if time.monotonic() - t0 > timeout:
                return Change(False, frac, time.monotonic() - t0, after)
            self.page.wait_for_timeout(250)

    def settle(self, quiet: float = 1.0, timeout: float = 30.0) -> bytes:
        """Wait until the kernel is idle and the picture stopped changing for ``quiet`` s."""
        self.nb.wait_kernel_idle(timeout)
        deadline = time.monotonic() + timeout
        last = self.picture()
        stable_since = time.monotonic()
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(250)
            now = self.picture()
            if now != last:
                last, stable_since = now, time.monotonic()
            elif time.monotonic() - stable_since >= quiet:
                return last
        return last

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.root.scroll_into_view_if_needed()
        self.root.screenshot(path=str(path))
        return path
