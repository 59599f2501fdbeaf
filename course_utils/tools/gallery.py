"""The widget gallery (``make gallery``): every course widget as a standalone Voilà page.

``build`` writes ``build/gallery/``: one small notebook per widget (title, what it shows and what
to try, the notebook that teaches it, then the live widget) and ``index.ipynb`` whose output is
HTML cards (thumbnail + link to ``/voila/render/<name>.ipynb``). Widgets are built with the
factory that :data:`course_utils.tools.widget_bench.CASES` names (the one list of factories);
thumbnails are the widget's current picture, cached by the widget module's content hash.
``serve`` runs Voilà on 127.0.0.1 with kernel culling; Ctrl-C stops it and its kernels.

    python -m course_utils.tools.gallery serve [--port 8866] [--only NAME] [--browser]
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import html
import pkgutil
import signal
import subprocess
import sys
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parents[2]
OUT = REPO_ROOT / "build" / "gallery"
NOTEBOOKS = REPO_ROOT / "notebooks"
NOT_WIDGETS = {"__init__", "base", "playground_core"}
THUMB_WIDTH = 360
CULL = ["--MappingKernelManager.cull_idle_timeout=600", "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=True"]


def widget_names() -> list[str]:
    """Names of the widget modules in ``course_utils.widgets`` (all but base/playground_core), sorted."""
    import course_utils.widgets as pkg
    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name not in NOT_WIDGETS)


def factories() -> dict[str, object]:
    """``{widget name: factory}`` taken from the first widget_bench CASES row of each widget."""
    from course_utils.tools.widget_bench import CASES
    out: dict[str, object] = {}
    for case in CASES:
        out.setdefault(case.name, case)
    return out


def _module_doc(name: str) -> tuple[str, str]:
    """(title, 2-4 line description) from the module's docstring, read without importing it."""
    import ast
    src = (REPO_ROOT / "course_utils" / "widgets" / f"{name}.py").read_text()
    doc = ast.get_docstring(ast.parse(src)) or ""
    paras = [p.strip() for p in doc.split("\n\n") if p.strip()]
    first = paras[0].replace("\n", " ") if paras else name
    title = first.split(":")[0].split(" (notebook")[0].strip() or name
    body = " ".join(paras[:2]).replace("\n", " ")
    words = body.split()
    text = " ".join(words[:90]) + (" ..." if len(words) > 90 else "")
    return title, (text[:-1] + "." if text.endswith(":") else text) or first


def teaching_notebook(name: str) -> str | None:
    """File name of the first notebook in ``notebooks/`` that uses the widget module, or None."""
    for nb in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        if f"widgets.{name}" in nb.read_text(errors="ignore"):
            return nb.name
    import re
    m = re.search(r"notebook (\d\d)", (REPO_ROOT / "course_utils" / "widgets" / f"{name}.py").read_text())
    hits = sorted(NOTEBOOKS.glob(f"{m.group(1)}_*.ipynb")) if m else []
    return hits[0].name if hits else None


def module_hash(name: str) -> str:
    """Short sha256 of the widget module and base.py: the thumbnail cache key."""
    h = hashlib.sha256()
    for f in (f"{name}.py", "base.py"):
        h.update((REPO_ROOT / "course_utils" / "widgets" / f).read_bytes())
    return h.hexdigest()[:16]


def _build_code(case) -> str:
    f = case.factory if isinstance(case.factory, str) else f"{case.factory.__module__}:{case.factory.__name__}"
    module, attr = f.split(":")
    return (f"import os\nos.environ.setdefault('COURSE_OFFLINE', '1')\n"
            f"from {module} import {attr}\n"
            f"w = {attr}(*{case.args!r}, **{case.kwargs!r})\n"
            "w.image.layout.width = w.image.layout.width or 'min(100%, 900px)'\n"
            "w.image.layout.height = 'auto'\n"
            "display(getattr(w, 'ui', w))")


def page_notebook(name: str) -> nbformat.NotebookNode:
    """The Voilà page of one widget: a markdown cell (title, text, notebook) and a code cell."""
    title, text = _module_doc(name)
    nb_name = teaching_notebook(name)
    where = f"Taught in the notebook **{nb_name}**." if nb_name else "Part of the course widgets."
    md = f"# {title}\n\n{text}\n\n{where} [Back to the gallery](./index.ipynb)"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(md), nbformat.v4.new_code_cell(_build_code(factories()[name]))]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def thumbnail(name: str, cache: Path = OUT / "thumbs") -> bytes:
    """JPEG bytes of the widget's current picture (built headless, at most 720 px), cached by :func:`module_hash`."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{name}-{module_hash(name)}.jpg"
    if not path.exists():
        from course_utils.tools.widget_bench import _build, _png
        case = factories()[name]
        import io
        from PIL import Image
        im = Image.open(io.BytesIO(_png(_build(case.factory, case.args, case.kwargs))))
        im.thumbnail((2 * THUMB_WIDTH, 2 * THUMB_WIDTH))  # sharp on a 2x screen, small in the index
        im.convert("RGB").save(path, format="JPEG", quality=82)
    return path.read_bytes()


def index_notebook(names: list[str], thumbs: dict[str, bytes]) -> nbformat.NotebookNode:
    """The index: one code cell whose (stored) output is the HTML of a card per widget."""
    cards = []
    for n in names:
        title, _ = _module_doc(n)
        img = base64.b64encode(thumbs[n]).decode() if thumbs.get(n) else ""
        cards.append(
            f'<a class="card" href="/voila/render/{n}.ipynb" style="display:inline-block;width:{THUMB_WIDTH}px;'
            'margin:8px;padding:8px;border:1px solid #ccc;border-radius:6px;vertical-align:top;'
            f'text-decoration:none;color:inherit"><img alt="{n}" src="data:image/jpeg;base64,{img}" '
            f'style="width:100%"><div style="font-weight:bold">{html.escape(title)}</div></a>')
    body = "<h1>Hands-On Deep Learning: the widget gallery</h1><p>Open a widget, move its controls.</p>"
    body += "<div>" + "".join(cards) + "</div>"
    cell = nbformat.v4.new_code_cell("from IPython.display import HTML, display\n"
                                     f"display(HTML({body!r}))")
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def check_only(only: str | None) -> list[str]:
    """Widget names to build: all, or ``[only]``; raises ``SystemExit`` with a clear message if unknown."""
    names = widget_names()
    if only is None:
        return names
    if only not in names:
        raise SystemExit(f"gallery: unknown widget {only!r}; choose one of: {', '.join(names)}")
    return [only]


def build(only: str | None = None, out: Path = OUT, thumbs: bool = True) -> list[Path]:
    """Write the page notebooks and index.ipynb into ``out``; return the paths written."""
    names = check_only(only)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    pics = {}
    for n in names:
        p = out / f"{n}.ipynb"
        nbformat.write(page_notebook(n), p)
        written.append(p)
        if thumbs:
            try:
                pics[n] = thumbnail(n, out / "thumbs")
            except Exception as e:  # a broken widget still gets its card
                print(f"gallery: no thumbnail for {n}: {e}", file=sys.stderr)
    p = out / "index.ipynb"
    nbformat.write(index_notebook(names, pics), p)
    written.append(p)
    return written


def voila_command(port: int, out: Path = OUT, browser: bool = False) -> list[str]:
    """The Voilà command line: loopback only, the given port, kernel culling."""
    return [sys.executable, "-m", "voila", str(out), f"--port={port}", "--Voila.ip=127.0.0.1",
            "--no-browser" if not browser else "--Voila.open_browser=True"] + CULL


def check_widgets_version(version: str) -> None:
    """Raise ``SystemExit`` with a clear message if ipywidgets ``version`` is older than 8.

    Voilà 0.5's widget manager registers only ipywidgets 8's models (``@jupyter-widgets/controls`` 2.0): with an
    ipywidgets 7 kernel every page stays blank and the browser console says the 1.5 models are not registered.
    """
    if int(version.split(".")[0]) < 8:
        raise SystemExit(f"gallery: needs ipywidgets 8 (Voila 0.5 renders no ipywidgets 7 widget), this Python has "
                         f"ipywidgets {version}; run it from the course environment: `make gallery` (.venv)")


def serve(port: int = 8866, only: str | None = None, browser: bool = False) -> int:
    """Build, then run Voilà until Ctrl-C; kill its process tree; return its exit code."""
    import ipywidgets
    check_widgets_version(ipywidgets.__version__)
    build(only)
    from course_utils.tools.grading import kill_tree
    print(f"gallery: http://127.0.0.1:{port}/voila/render/index.ipynb  (Ctrl-C stops)", flush=True)
    proc = subprocess.Popen(voila_command(port, browser=browser), cwd=OUT, start_new_session=True)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        kill_tree(proc.pid)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="gallery", description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["build", "serve"])
    ap.add_argument("--port", type=int, default=8866)
    ap.add_argument("--only", default=None, help="one widget name")
    ap.add_argument("--browser", action="store_true", help="open a browser (default: no)")
    a = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if a.command == "build":
        for p in build(a.only):
            print(p)
        return 0
    return serve(a.port, a.only, a.browser)


if __name__ == "__main__":
    sys.exit(main())
