"""The course as a website (``make site``): Jupyter Book 1.x over the executed notebooks.

    python -m course_utils.tools.site build --from build/test-executed --out build/site

Each executed (instructor) notebook is made student-facing first (:func:`student_notebook`: nbgrader's
ClearSolutions / ClearHiddenTests / ClearMarkScheme, solution outputs cleared); the pages around them
(front page, syllabus, misconceptions, benchmarks, instructor guide) are written from the repository's own
files. MathJax 3 comes from npm (pinned in pyproject ``[tool.course] mathjax``) so math renders offline.
:func:`scan_leaks` and :func:`broken_links` check a built site (tests/test_site.py).
"""
from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGES = Path(__file__).with_name("site_pages")
MATHJAX_DIR = REPO / "build" / "site-mathjax"
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN MARK SCHEME",
           "END MARK SCHEME")
MISCONCEPTION = "> **Misconception:**"
LIVE_NOTE = ("*This widget is a picture here. To move its controls, run the notebook in JupyterLab or Colab "
             "(badge at the top), or open the widget gallery with `make gallery`.*")
NGRAM = 8
MATHJAX_PARTS = ("tex-mml-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "ui", "a11y")


def _src(cell) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


# --------------------------------------------------------------------------- pure parts

def headlines(bench_json: str | Path = REPO / "benchmarks" / "BENCHMARKS.json", mode: str = "full") -> dict:
    """{notebook file name: headline text} as ``make bench`` measured it (BENCHMARKS.json, one mode)."""
    data = json.loads(Path(bench_json).read_text())
    return {name: row.get("headline", "") for name, row in sorted(data.get(mode, {}).items())}


_CALLOUT = re.compile(r"^> \*\*Misconception:\*\*(.*(?:\n>.*)*)", re.M)


def misconceptions(nbs: dict) -> list[dict]:
    """Every ``> **Misconception:**`` callout of the notebooks ``{stem: nb}``, in order.

    Each item: stem, label (the MyST target :func:`student_notebook` puts before the callout), text (the
    callout's first sentence).
    """
    found = []
    for stem, nb in sorted(nbs.items()):
        k = 0
        for cell in nb.get("cells", []):
            if cell.get("cell_type") != "markdown":
                continue
            for m in _CALLOUT.finditer(_src(cell)):
                k += 1
                text = " ".join(m.group(1).replace("\n>", " ").split())
                first = re.split(r"(?<=[.!?])\s(?=[A-Z])", text, maxsplit=1)[0]
                found.append({"stem": stem, "label": f"misc-{stem[:2]}-{k}", "text": first})
    return found


def _label_callouts(text: str, stem: str, k: int) -> tuple[str, int]:
    def label(m):
        nonlocal k
        k += 1
        return f"(misc-{stem[:2]}-{k})=\n{m.group(0)}"
    return _CALLOUT.sub(label, text), k


def student_notebook(nb: dict, stem: str) -> dict:
    """The student-facing copy of an executed instructor notebook (a new notebook; ``nb`` is unchanged).

    Solution cells get nbgrader's student source (ClearSolutions) and no outputs; hidden-test blocks
    (ClearHiddenTests, and the outputs of their cells) and mark schemes (ClearMarkScheme) are removed; written answers' model answers become
    nbgrader's "YOUR ANSWER HERE". Misconception callouts get a MyST target (see :func:`misconceptions`),
    and each widget's picture a note on how to run it live.
    """
    import copy

    import nbformat
    from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions
    node = nbformat.from_dict(copy.deepcopy(dict(nb)))
    for cell in node.cells:   # a hidden test's outputs name its checks: they go with it
        if "BEGIN HIDDEN TESTS" in cell.source or "BEGIN MARK SCHEME" in cell.source:
            cell.outputs, cell.execution_count = [], None
    for pre in (ClearSolutions(), ClearHiddenTests(), ClearMarkScheme()):
        node, _ = pre.preprocess(node, {})
    cells, k = [], 0
    for cell in node.cells:
        g = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and g.get("solution"):
            cell.outputs, cell.execution_count = [], None
        if cell.cell_type == "markdown":
            cell.source, k = _label_callouts(cell.source, stem, k)
        cells.append(cell)
        widget = "application/vnd.jupyter.widget-view+json"
        views = [o for o in cell.get("outputs", []) if widget in o.get("data", {})]
        for o in views:   # no widget state on a static page: its picture (image/png) is what shows
            del o["data"][widget]
        if views:
            cells.append(nbformat.v4.new_markdown_cell(LIVE_NOTE))
    node.cells = cells
    node.metadata.pop("widgets", None)
    return node


def secrets(nb: dict) -> list[str]:
    """The texts an instructor notebook must not show learners: solution code, hidden tests, model answers."""
    out = []
    for cell in nb.get("cells", []):
        s, g = _src(cell), cell.get("metadata", {}).get("nbgrader", {})
        for begin, end in (("BEGIN SOLUTION", "END SOLUTION"), ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
                           ("BEGIN MARK SCHEME", "END MARK SCHEME")):
            out += [m.group(1) for m in re.finditer(rf"{begin}[^\n]*\n(.*?)\n[^\n]*{end}", s, re.S)]
        if cell.get("cell_type") == "markdown" and g.get("solution") and "BEGIN SOLUTION" not in s:
            out.append(s)   # a written answer's model answer: the whole cell
    return out


def public_text(nb: dict) -> str:
    """An instructor notebook's text with every :func:`secrets` part cut out: what learners may see anyway."""
    parts = []
    for cell in nb.get("cells", []):
        s, g = _src(cell), cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "markdown" and g.get("solution") and "BEGIN SOLUTION" not in s:
            continue
        for begin, end in (("BEGIN SOLUTION", "END SOLUTION"), ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
                           ("BEGIN MARK SCHEME", "END MARK SCHEME")):
            s = re.sub(rf"[^\n]*{begin}.*?{end}[^\n]*", "\n", s, flags=re.S)
        parts.append(s)
    return "\n".join(parts)


def _tokens(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9_]+", text)


def ngrams(text: str, n: int = NGRAM) -> set:
    """The runs of ``n`` consecutive words of ``text`` (punctuation, markup and spacing ignored) with at least
    half of them words (not numbers: runs of digits also occur in minified JavaScript)."""
    t = _tokens(text)
    runs = (t[i:i + n] for i in range(len(t) - n + 1))
    return {" ".join(r) for r in runs if sum(bool(re.search("[A-Za-z]", w)) for w in r) * 2 >= n}


def _page_text(path: Path) -> str:
    raw = path.read_text(errors="ignore")
    if path.suffix == ".html":
        raw = html.unescape(re.sub(r"<[^>]+>", " ", raw))
    return raw


def scan_leaks(site: str | Path, secret_texts: list[str], allowed_texts: list[str] = (),
               skip: tuple = ("mathjax",), marker_pages: tuple = ("instructors.html",)) -> list[str]:
    """Where a built site shows a solution marker or a secret text: a list of ``"file: what"`` (empty: clean).

    Every text file under ``site`` is read (HTML with its tags stripped; search index and other files raw),
    except the folders in ``skip`` (vendored MathJax). A secret counts as shown when a run of
    :data:`NGRAM` of its words appears (a secret of 4 to 7 words: all of them); runs that also occur in ``allowed_texts`` (what learners see anyway,
    e.g. the student notebooks) are not evidence. ``marker_pages`` may name the markers (the instructor guide
    explains the exercise format); their secrets are still checked.
    """
    allowed = set().union(*(ngrams(t) for t in allowed_texts)) if allowed_texts else set()
    wanted, short = {}, {}
    for s in secret_texts:
        t = _tokens(s)
        if 4 <= len(t) < NGRAM:   # a short secret counts whole
            short[" " + " ".join(t) + " "] = s.strip().splitlines()[0][:60]
        for g in ngrams(s) - allowed:
            wanted.setdefault(g, s.strip().splitlines()[0][:60])
    found = []
    for path in sorted(Path(site).rglob("*")):
        rel = path.relative_to(site)
        if not path.is_file() or (rel.parts and rel.parts[0] in skip):
            continue
        if path.suffix.lower() in {".png", ".jpg", ".jpeg", ".gif", ".svg", ".woff", ".woff2", ".ttf", ".eot",
                                   ".ico", ".pickle", ".doctree"}:
            continue
        text = _page_text(path)
        flat = " ".join(text.split())   # a marker split over tags (<span>BEGIN</span> <span>SOLUTION</span>)
        for m in MARKERS if str(rel) not in marker_pages else ():
            if m in flat:
                found.append(f"{rel}: marker {m!r}")
        t = _tokens(text)
        hits = {wanted[g] for g in (" ".join(t[i:i + NGRAM]) for i in range(len(t) - NGRAM + 1)) if g in wanted}
        joined = " " + " ".join(t) + " "
        hits |= {what for phrase, what in short.items() if phrase in joined}
        found += [f"{rel}: secret text from {h!r}" for h in sorted(hits)]
    return found


def broken_links(site: str | Path) -> list[str]:
    """Every relative href/src of every built HTML page whose file or ``#anchor`` does not exist."""
    site = Path(site)
    ids: dict = {}

    def anchors(p: Path) -> set:
        if p not in ids:
            text = p.read_text(errors="ignore") if p.suffix == ".html" else ""
            ids[p] = set(re.findall(r'\s(?:id|name)="([^"]+)"', text))
        return ids[p]

    bad = []
    for page in sorted(site.rglob("*.html")):
        if page.relative_to(site).parts[0] == "_static":
            continue   # the theme's template fragments, not pages
        text = page.read_text(errors="ignore")
        for link in re.findall(r'\s(?:href|src)="([^"]*)"', text):
            link = html.unescape(link)
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//", link) or link in ("", "#"):
                continue   # absolute (http:, mailto:, data:) or empty
            target, _, anchor = link.partition("#")
            target = target.split("?")[0]
            dest = (page.parent / target).resolve() if target else page
            if dest.is_dir():
                dest = dest / "index.html"
            if not dest.exists():
                bad.append(f"{page.relative_to(site)}: {link} (no file)")
            elif anchor and anchor not in anchors(dest):
                bad.append(f"{page.relative_to(site)}: {link} (no anchor)")
    return bad


# --------------------------------------------------------------------------- the pages

def notebook_title(path: Path) -> str:
    """A notebook's title: its first heading without the number (``Your first Keras ANN``)."""
    import nbformat
    for cell in nbformat.read(str(path), as_version=4).cells:
        m = re.search(r"^# (?:\d+\s*·\s*)?(.+)$", cell.source, re.M) if cell.cell_type == "markdown" else None
        if m:
            return m.group(1).strip()
    return path.stem[3:].replace("_", " ").capitalize()


def _syllabus(stems: list[str], executed: set, bench: dict) -> str:
    lines = ["# Syllabus", "", "Each notebook's headline as `make bench` measured it (full mode, "
             "`benchmarks/BENCHMARKS.json`).", "", "| # | notebook | measured headline |", "|---|---|---|"]
    for stem in stems:
        title = notebook_title(REPO / "notebooks" / f"{stem}.ipynb")
        link = f"[{title}](notebooks/{stem}.ipynb)" if stem in executed else f"{title} (not executed for this build)"
        head = bench.get(f"{stem}.ipynb", "").replace("|", "\\|") or "—"
        lines.append(f"| {stem[:2]} | {link} | {head} |")
    return "\n".join(lines) + "\n"


def _misconception_page(items: list[dict]) -> str:
    lines = ["# Misconceptions", "", "The misconceptions the course's source notes name, each linked to the "
             "callout in the notebook that corrects it.", ""]
    stem = None
    for it in items:
        if it["stem"] != stem:
            stem = it["stem"]
            lines += ["", f"## {stem[:2]} · {notebook_title(REPO / 'notebooks' / f'{stem}.ipynb')}", ""]
        text = re.sub(r"[*`]", "", it["text"]).replace("<", "&lt;").replace(">", "&gt;")
        lines.append(f"- {{ref}}`{text} <{it['label']}>`")
    return "\n".join(lines) + "\n"


def _course_setting(key: str, pyproject: Path = REPO / "pyproject.toml") -> str:
    import tomllib
    return tomllib.loads(pyproject.read_text())["tool"]["course"][key]


def mathjax_requirement() -> str:
    """The pinned MathJax npm package, e.g. ``mathjax@3.2.2`` (pyproject ``[tool.course] mathjax``)."""
    return _course_setting("mathjax")


def ensure_mathjax(prefix: Path = MATHJAX_DIR, log=print) -> Path:
    """MathJax's ``es5`` folder, installed with ``npm install --prefix`` into build/ if missing."""
    req = mathjax_requirement()
    es5 = prefix / "node_modules" / "mathjax" / "es5"
    stamp = prefix / ".installed"
    if not (es5 / "tex-mml-chtml.js").exists() or not stamp.exists() or stamp.read_text() != req:
        npm = shutil.which("npm")
        if not npm:
            raise RuntimeError("the site's math needs npm (Debian: apt-get install npm) to install " + req)
        log(f"Installing {req} into {prefix} (npm, once)...")
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", req], check=True,
                       capture_output=True, text=True)
        stamp.write_text(req)
    return es5


def write_source(executed: Path, src: Path) -> list[str]:
    """Write the Jupyter Book source of the site into ``src`` from the executed notebooks in ``executed``."""
    import nbformat

    from .grading import course_notebooks
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    stems = [p.stem for p in course_notebooks()]
    nbs = {}
    for stem in stems:
        path = executed / f"{stem}.ipynb"
        if path.exists():
            nbs[stem] = student_notebook(nbformat.read(str(path), as_version=4), stem)
    repo = _course_setting("repository")
    for nb in nbs.values():   # links to a notebook this build lacks go to the repository's copy
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = re.sub(r"\]\((\d\d_[a-z0-9_]+)\.ipynb(#[^)]*)?\)",
                                     lambda m: m.group(0) if m.group(1) in nbs else
                                     f"](https://github.com/{repo}/blob/main/notebooks/{m.group(1)}.ipynb)",
                                     cell.source)
    for stem, nb in nbs.items():
        nbformat.write(nb, str(src / "notebooks" / f"{stem}.ipynb"))
    shutil.copy(PAGES / "index.md", src / "index.md")
    shutil.copytree(PAGES / "img", src / "img", dirs_exist_ok=True) if (PAGES / "img").exists() else None
    (src / "syllabus.md").write_text(_syllabus(stems, set(nbs), headlines()))
    (src / "misconceptions.md").write_text(_misconception_page(misconceptions(nbs)))
    inc = src / "_include"   # included files must lie under the source folder
    inc.mkdir()
    for f in ("benchmarks/BENCHMARKS.md", "benchmarks/WIDGETS.md", "README.md"):
        shutil.copy(REPO / f, inc / Path(f).name)
    (src / "benchmarks.md").write_text(
        "# Benchmarks\n\n```{include} _include/BENCHMARKS.md\n:start-line: 1\n:heading-offset: 1\n```\n\n"
        "```{include} _include/WIDGETS.md\n:heading-offset: 1\n```\n")
    (src / "instructors.md").write_text(
        "# For instructors\n\nFrom the course's README.\n\n```{include} _include/README.md"
        "\n:start-after: <!-- instructor:begin -->\n:end-before: <!-- instructor:end -->\n```\n")
    toc = ["format: jb-book", "root: index", "parts:", "- caption: Course", "  chapters:",
           "  - file: syllabus", "  - file: misconceptions", "- caption: Notebooks", "  chapters:"]
    toc += [f"  - file: notebooks/{s}" for s in stems if s in nbs]
    toc += ["- caption: Reference", "  chapters:", "  - file: benchmarks", "  - file: instructors"]
    (src / "_toc.yml").write_text("\n".join(toc) + "\n")
    (src / "_config.yml").write_text(CONFIG)
    return sorted(nbs)


CONFIG = """\
title: Hands-On Deep Learning
author: the course's authors
copyright: "2026"
only_build_toc_files: true
execute:
  execute_notebooks: "off"
html:
  use_repository_button: false
  use_issues_button: false
  home_page_in_navbar: true
sphinx:
  config:
    html_copy_source: false
    html_show_sourcelink: false
    html_extra_path: ["mathjax"]
    mathjax_path: "../mathjax/tex-mml-chtml.js"
    myst_dmath_double_inline: true
    suppress_warnings: ["myst.header", "mystnb.unknown_mime_type", "misc.highlighting_failure"]
    html_theme_options:
      home_page_in_toc: true
      use_download_button: false
      use_fullscreen_button: true
      use_repository_button: false
parse:
  myst_enable_extensions: ["dollarmath", "amsmath", "colon_fence"]
"""


def build(executed: str | Path, out: str | Path, log=print) -> dict:
    """Build the site from the executed notebooks into ``out`` (its source beside it, ``out``-src)."""
    executed, out = Path(executed), Path(out)
    t0 = time.time()
    src = out.with_name(out.name + "-src")
    stems = write_source(executed, src)
    es5 = ensure_mathjax(log=log)
    for part in MATHJAX_PARTS:   # what tex-mml-chtml.js loads (about 3 MB of the package's 30)
        dest = src / "mathjax" / "mathjax" / part
        dest.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (es5 / part).is_dir() else shutil.copy)(es5 / part, dest)
    res = subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build", str(src), "--quiet"],
                         capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError(f"jupyter-book build failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(src / "_build" / "html", out)
    info = {"notebooks": stems, "seconds": round(time.time() - t0, 1), "out": str(out)}
    log(f"site: {len(stems)} notebooks into {out} in {info['seconds']} s")
    return info


def stale(executed: str | Path) -> list[str]:
    """Number prefixes (``["02", "06"]``) of the course notebooks with no executed copy in ``executed``, or
    one older than the notebook: what ``make site`` must execute before building."""
    from .grading import course_notebooks
    out = []
    for nb in course_notebooks():
        done = Path(executed) / nb.name
        if not done.exists() or done.stat().st_mtime < nb.stat().st_mtime:
            out.append(nb.stem[:2])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build the site from executed notebooks")
    b.add_argument("--from", dest="src", default="build/test-executed", help="folder of executed notebooks")
    b.add_argument("--out", default="build/site")
    st = sub.add_parser("stale", help="print the notebooks (04,06) a folder of executed notebooks lacks")
    st.add_argument("--from", dest="src", default="build/site-run")
    a = ap.parse_args(argv)
    if a.cmd == "stale":
        print(",".join(stale(a.src)))
        return 0
    if a.cmd == "build":
        if not any(Path(a.src).glob("*.ipynb")):
            print(f"site: no executed notebooks in {a.src} (make run, or make test, writes them)")
            return 2
        build(a.src, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
