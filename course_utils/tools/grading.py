"""Instructor tools: student versions and autograding with nbgrader (``make student``, ``make grade``).

Everything runs through nbgrader 0.9 in a *temporary* nbgrader course directory
(``source/ release/ submitted/ autograded/ feedback/``, SQLite ``gradebook.db``), so an
instructor who knows nbgrader recognises every step; the finished course directory is
copied into the run folder, where ``jupyter lab`` + nbgrader's formgrader can grade the
written answers by hand.

Command line::

    python -m course_utils.tools.grading student --out build/student [--nb 04]
    python -m course_utils.tools.grading grade SUBMISSIONS --out build/grades [--nb 04] [--jobs 2]
    python -m course_utils.tools.grading export build/grades/latest     # after manual grading

Submission names (README, "For instructors"): ``<learner>__<NN_slug>.ipynb`` or
``<learner>/<NN_slug>.ipynb``; LMS downloads (Moodle, Canvas) are recognised by the
``NN_slug`` anywhere in the file name, the learner being what comes before it without
the LMS decoration (see :func:`parse_submission_name`).

Robustness: each submission is checked before it runs (invalid JSON, deleted or edited
test cells are reported; nbgrader restores locked test cells from its database); it
runs in fast mode with a per-cell timeout (the kernel is interrupted and the rest of
the notebook still runs) and a per-submission wall limit (a kernel that ignores the
interrupt or dies is killed, the cell that was running is disabled and the submission
is graded again); every run writes a new timestamped folder, never over an earlier one.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import functools
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .nbtools import _nbg, _src, select_notebooks

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO_ROOT / "notebooks"
DEFAULT_CELL_TIMEOUT = 120        # seconds one cell may run before the kernel is interrupted
DEFAULT_SUBMISSION_TIMEOUT = 600  # seconds one submission may take in all before its kernel is killed
MAX_RETRIES = 2                   # times a submission is re-run after disabling a cell that hung/killed the kernel
DISABLED_MARK = "# grader: this cell was disabled"
CSV_FIELDS = ["learner", "notebook", "exercise", "kind", "points", "max_points", "status", "note"]
SUMMARY_FIELDS = ["learner", "notebook", "auto_points", "auto_max", "written_points", "written_max",
                  "status", "file"]


# --------------------------------------------------------------------------- notebooks

def course_notebooks(folder: str | Path = NOTEBOOKS, nb: str | None = None) -> list[Path]:
    """Instructor notebooks with exercises (nbgrader cells) in ``folder``: ``NN_slug.ipynb``, sorted.

    ``nb`` selects some of them like ``make run``: ``"04"``, ``"04,06"`` or a name prefix.
    Raises ``ValueError`` naming ``nb`` if it matches nothing.
    """
    from .nbtools import load
    return [p for p in select_notebooks(folder, nb, first=0)
            if any(_nbg(c).get("grade") for c in load(p).get("cells", []))]


@dataclass
class Exercise:
    """One graded cell of a notebook: an autograded test cell or a written answer."""
    grade_id: str
    kind: str            # "auto" (locked test cell) or "written" (markdown answer graded by hand)
    points: float
    answer_id: str | None = None   # the answer cell an auto exercise tests


def exercises(nb: dict) -> list[Exercise]:
    """The graded cells of an instructor or student notebook, in order."""
    out, last_answer = [], None
    for cell in nb.get("cells", []):
        g = _nbg(cell)
        if not g:
            continue
        if g.get("solution") and not g.get("grade") and cell.get("cell_type") == "code":
            last_answer = g.get("grade_id")
        elif g.get("grade") and cell.get("cell_type") == "code":
            out.append(Exercise(g["grade_id"], "auto", float(g.get("points", 0)), last_answer))
            last_answer = None
        elif g.get("grade") and g.get("solution") and cell.get("cell_type") == "markdown":
            out.append(Exercise(g["grade_id"], "written", float(g.get("points", 0))))
    return out


# --------------------------------------------------------------------------- nbgrader course

def nbgrader_config(root: str | Path | None, cell_timeout: int = DEFAULT_CELL_TIMEOUT,
                    show_hidden_tests: bool = False):
    """The traitlets ``Config`` used for every nbgrader step (``root=None``: the current directory)."""
    from traitlets.config import Config
    c = Config()
    if root is not None:
        c.CourseDirectory.root = str(root)
        c.Exchange.root = str(Path(root) / "exchange")   # not used; keeps nbgrader off /usr/local/share
    c.CourseDirectory.course_id = "hands-on-dl"
    c.Execute.timeout = int(cell_timeout)
    c.Execute.interrupt_on_timeout = True
    c.OverwriteCells.add_missing_cells = True
    if not show_hidden_tests:
        from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
        from nbgrader.preprocessors import ClearHiddenTests, GetGrades
        ShortTracebacks = _short_tracebacks_class()
        c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, ShortTracebacks,
                                            _offline_feedback_class(), CSSHTMLHeaderPreprocessor]
    else:
        from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
        from nbgrader.preprocessors import GetGrades
        c.GenerateFeedback.preprocessors = [GetGrades, _offline_feedback_class(),
                                            CSSHTMLHeaderPreprocessor]
    return c


@functools.lru_cache(maxsize=1)
def _short_tracebacks_class():
    from nbconvert.preprocessors import Preprocessor
    from traitlets import Bool

    class ShortTracebacks(Preprocessor):
        """Feedback preprocessor: in test cells, an error shows only ``Name: message``.

        IPython's traceback quotes the source around the failing line, which would show
        the hidden tests that ``ClearHiddenTests`` just removed from the cell.
        """
        enabled = Bool(True).tag(config=True)

        def preprocess_cell(self, cell, resources, index):
            if _nbg(cell).get("grade") and cell.get("cell_type") == "code":
                for o in cell.get("outputs", []):
                    if o.get("output_type") == "error":
                        o["traceback"] = [f"{o.get('ename', 'Error')}: {o.get('evalue', '')}"]
            return cell, resources

    return ShortTracebacks


_DISPLAY_MATH = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?![\s$])((?:\\\$|[^$\n])+?)(?<![\s\\])\$(?!\$)")
_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)
_WEB_IMAGE = re.compile(r"!\[([^\]]*)\]\(https?://[^)\s]+\)")


def offline_markdown(text: str) -> str:
    """A markdown cell made readable with no internet: TeX (``$...$``, ``$$...$$``) becomes
    MathML, which browsers draw by themselves (no MathJax from a CDN), and a picture from
    the web (the Colab badge) becomes its alt text (a link around it stays a link). TeX that
    does not convert is shown as code. Code spans and fenced blocks are left alone."""
    from latex2mathml.converter import convert

    def mathml(tex: str, display: str) -> str:
        try:
            return convert(tex.strip(), display=display).replace("\n", "")
        except Exception:  # noqa: BLE001 - anything latex2mathml cannot read is shown as code
            return f"<code>{html.escape(tex.strip())}</code>"

    parts = _CODE.split(text)
    for i in range(0, len(parts), 2):   # even parts are outside code
        s = _DISPLAY_MATH.sub(lambda m: mathml(m.group(1), "block"), parts[i])
        s = _INLINE_MATH.sub(lambda m: mathml(m.group(1), "inline"), s)
        parts[i] = _WEB_IMAGE.sub(lambda m: m.group(1) or "image", s)
    return "".join(parts)


_MATHJAX_BLOCK = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)


def strip_mathjax(page: str) -> str:
    """nbconvert's MathJax loader (a script from a CDN) taken out of a feedback page whose math
    :func:`offline_markdown` already turned into MathML."""
    return _MATHJAX_BLOCK.sub("<!-- math is MathML: no MathJax needed -->", page)


@functools.lru_cache(maxsize=1)
def _offline_feedback_class():
    from nbconvert.preprocessors import Preprocessor
    from traitlets import Bool

    class OfflineFeedback(Preprocessor):
        """Feedback preprocessor: markdown cells readable offline (:func:`offline_markdown`)."""
        enabled = Bool(True).tag(config=True)

        def preprocess_cell(self, cell, resources, index):
            if cell.get("cell_type") == "markdown":
                cell.source = offline_markdown(cell.source)
            return cell, resources

    return OfflineFeedback


def __getattr__(name):
    # nbconvert is imported only when the class is asked for (the config file names it).
    if name == "ShortTracebacks":
        return _short_tracebacks_class()
    if name == "OfflineFeedback":
        return _offline_feedback_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def config_file_text(cell_timeout: int, show_hidden_tests: bool) -> str:
    """``nbgrader_config.py`` for the course folder (formgrader reads it from the current directory)."""
    lines = [
        "# Written by `python -m course_utils.tools.grading` for this grading run.",
        "# Start the formgrader from this folder: `jupyter lab`, then Nbgrader > Formgrader.",
        "c = get_config()  # noqa: F821",
        "c.CourseDirectory.course_id = 'hands-on-dl'",
        f"c.Execute.timeout = {int(cell_timeout)}",
        "c.Execute.interrupt_on_timeout = True",
        "c.OverwriteCells.add_missing_cells = True",
        "# nbgrader's exchange (for JupyterHub) is not used: a folder of this course, so that the",
        "# formgrader does not warn about /usr/local/share/nbgrader/exchange",
        "import os  # noqa: E402",
        "c.Exchange.root = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'exchange')",
    ]
    # Feedback pages read offline (math as MathML, no CDN); by default they show which hidden
    # check failed, not the hidden test code.
    pre = ["nbgrader.preprocessors.GetGrades"]
    if not show_hidden_tests:
        pre += ["nbgrader.preprocessors.ClearHiddenTests", "course_utils.tools.grading.ShortTracebacks"]
    pre += ["course_utils.tools.grading.OfflineFeedback", "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
    lines += ["c.GenerateFeedback.preprocessors = [" + ",\n    ".join(repr(x) for x in pre) + "]"]
    return "\n".join(lines) + "\n"


def _bin_on_path() -> None:
    """nbgrader runs the ``alembic`` script by name: put this interpreter's bin folder on PATH."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def _api(root: Path, cell_timeout: int = DEFAULT_CELL_TIMEOUT, show_hidden_tests: bool = False,
         extra=None):
    import logging
    _bin_on_path()

    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    cfg = nbgrader_config(root, cell_timeout, show_hidden_tests)
    if extra:
        cfg.merge(extra)
    api = NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)
    api.log.setLevel(logging.WARNING)
    return api


def make_course(root: str | Path, notebooks: list[Path], cell_timeout: int = DEFAULT_CELL_TIMEOUT,
                show_hidden_tests: bool = False) -> dict[str, Path]:
    """Create an nbgrader course in ``root`` with one assignment per notebook (same name as the stem).

    Runs ``generate_assignment`` (which also records the test cells, hidden tests included,
    in ``gradebook.db``) and returns ``{stem: release notebook path}``.
    """
    root = Path(root)
    (root / "exchange").mkdir(parents=True, exist_ok=True)   # unused, but nbgrader's API checks it
    (root / "nbgrader_config.py").write_text(config_file_text(cell_timeout, show_hidden_tests))
    api = _api(root, cell_timeout, show_hidden_tests)
    released = {}
    for path in notebooks:
        stem = path.stem
        src = root / "source" / stem
        src.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, src / path.name)
        res = api.generate_assignment(stem, force=True, create=True)
        if not res.get("success"):
            raise RuntimeError(f"nbgrader generate_assignment failed for {path.name}:\n"
                               f"{res.get('error', '')}\n{res.get('log', '')}")
        released[stem] = root / "release" / stem / path.name
    return released


def student_versions(out: str | Path = "build/student", notebooks: list[Path] | None = None) -> list[Path]:
    """Write the student version of each notebook to ``out/<NN_slug>.ipynb``.

    Solutions become ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` stubs, hidden
    tests are removed, outputs stripped; the Colab install cell stays. Each result is checked.
    """
    from .nbtools import load, save, strip_notebook
    notebooks = course_notebooks() if notebooks is None else list(notebooks)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="hodl-student-") as tmp:
        released = make_course(Path(tmp) / "course", notebooks)
        for path in notebooks:
            nb = load(released[path.stem])
            strip_notebook(nb)
            problems = check_student_version(nb)
            if problems:
                raise RuntimeError(f"student version of {path.name} is not clean: {problems}")
            save(nb, out / path.name)
            written.append(out / path.name)
    return written


def check_student_version(nb: dict) -> list[str]:
    """What is wrong with a student version (empty list: clean)."""
    problems = []
    for i, cell in enumerate(nb.get("cells", [])):
        s = _src(cell)
        for marker in ("### BEGIN SOLUTION", "### END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            if marker in s:
                problems.append(f"cell {i} still contains {marker!r}")
        if cell.get("cell_type") == "code" and (cell.get("outputs") or cell.get("execution_count")):
            problems.append(f"cell {i} has outputs")
    code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    if not code or "google.colab" not in _src(code[0]) or "%pip install" not in _src(code[0]):
        problems.append("the first code cell lost the Colab install line")
    return problems


# --------------------------------------------------------------------------- submissions

_MOODLE = re.compile(r"_\d+_assignsubmission_[a-z]+_?$", re.I)
_CANVAS = re.compile(r"(?:_late)?_\d+_\d+_?$", re.I)
_COPY_OF = re.compile(r"^(copy of|kopie von|copie de)(\s+|$)", re.I)
_SUFFIX_OK = re.compile(r"^(?:[ _-]*(?:\(\d+\)|\d+|v\d+|copy|late|final|submission))*[ _-]*$", re.I)


def learner_id(raw: str) -> str:
    """Normalise a learner name to an nbgrader student id: ``"Ada Lovelace"`` -> ``"ada-lovelace"``."""
    if not isinstance(raw, str):
        raise TypeError(f"raw must be a str, got {type(raw).__name__}")
    import unicodedata
    s = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()   # José -> Jose
    s = _COPY_OF.sub("", s.strip())
    s = _MOODLE.sub("", s)
    s = _CANVAS.sub("", s)
    s = re.sub(r"[^A-Za-z0-9]+", "-", s).strip("-").lower()
    return s


def parse_submission_name(relpath: str | Path, stems: list[str]) -> tuple[str, str]:
    """``(learner, notebook stem)`` for a submitted file, relative to the submissions folder.

    Rules, in order:

    1. The notebook is the longest known ``NN_slug`` found in the file name (its last
       occurrence); after it only LMS copy marks may follow (``-1``, `` (2)``, ``_late``).
    2. The learner is what comes before it, without a separator (``ada__``), Moodle's
       ``_<id>_assignsubmission_file_``, Canvas's ``[_late]_<userid>_<submissionid>_`` and
       Colab's ``Copy of``; if that leaves nothing, the learner is the folder the file is in
       (``ada/01_x.ipynb``, or Moodle's ``Ada Lovelace_123_assignsubmission_file_/01_x.ipynb``).
    3. Names are normalised to lower-case ``a-z0-9-`` (``Ada Lovelace`` -> ``ada-lovelace``).

    Raises ``ValueError`` saying why when the notebook or the learner cannot be told.
    """
    rel = Path(relpath)
    if rel.suffix != ".ipynb":
        raise ValueError(f"{rel}: not a .ipynb file")
    name = rel.stem
    best = None
    for stem in sorted(stems, key=len, reverse=True):
        pos = name.lower().rfind(stem)
        if pos >= 0 and _SUFFIX_OK.match(name[pos + len(stem):]):
            best = (pos, stem)
            break
    if best is None:
        raise ValueError(f"{rel}: the file name names none of the notebooks being graded "
                         f"({', '.join(stems)}); expected e.g. <learner>__{stems[0] if stems else 'NN_slug'}.ipynb")
    pos, stem = best
    learner = learner_id(name[:pos])
    if not learner:
        for parent in reversed(rel.parent.parts):
            learner = learner_id(parent)
            if learner:
                break
    if not learner:
        raise ValueError(f"{rel}: cannot tell the learner; name it <learner>__{stem}.ipynb "
                         f"or put it in a folder named after the learner")
    return learner, stem


@dataclass
class Submission:
    """One learner's submitted notebook and what happened to it."""
    learner: str
    notebook: str                      # NN_slug
    file: str                          # path relative to the submissions folder
    status: str = "pending"            # graded | not graded | invalid
    error: str = ""
    notes: dict = field(default_factory=dict)   # grade_id (or "*") -> list of notes
    seconds: float = 0.0
    retries: int = 0
    detail: str = ""                   # the end of nbgrader's log when grading failed
    findings: list = field(default_factory=list)   # integrity findings (integrity.Finding.as_dict())

    def note(self, key: str, text: str) -> None:
        self.notes.setdefault(key, [])
        if text not in self.notes[key]:
            self.notes[key].append(text)


def find_submissions(folder: str | Path, stems: list[str]) -> tuple[list[Submission], list[str]]:
    """Submissions under ``folder`` (recursively) and the problems met (unknown names, duplicates).

    Of two files for the same learner and notebook the newer (modification time) is kept.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"submissions folder {str(folder)!r} does not exist or is not a folder")
    problems, found = [], {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_dir() or any(p.startswith(".") for p in rel.parts):
            continue
        if path.suffix != ".ipynb":
            if path.suffix.lower() == ".zip":
                problems.append(f"{rel}: a zip archive; unzip the LMS download first")
            continue
        try:
            learner, stem = parse_submission_name(rel, stems)
        except ValueError as exc:
            problems.append(f"ignored {exc}")
            continue
        sub = Submission(learner, stem, str(rel))
        key = (learner, stem)
        if key in found:
            old = found[key]
            newer, older = ((sub, old) if path.stat().st_mtime >= (folder / old.file).stat().st_mtime
                            else (old, sub))
            problems.append(f"ignored {older.file}: {learner} also submitted {newer.file} (newer), "
                            f"which is graded")
            found[key] = newer
        else:
            found[key] = sub
    return sorted(found.values(), key=lambda s: (s.notebook, s.learner)), problems


def inspect_submission(path: Path, release_nb: dict, sub: Submission, source_nb: dict | None = None):
    """Read a submitted notebook and compare it with the student version.

    ``source_nb`` is the instructor version (a test cell equal to it, hidden tests included,
    is not "edited"). Returns the parsed notebook (``None`` if unreadable, with ``sub.status = "invalid"``)
    and records in ``sub.notes`` which test cells were deleted or edited (nbgrader
    restores them from the gradebook before running) and which answer cells are missing.
    """
    import nbformat
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        sub.status, sub.error = "invalid", f"not valid JSON ({exc}); nothing in it was graded"
        return None
    try:
        nb = nbformat.reads(json.dumps(raw), as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("no list of cells")
    except Exception as exc:  # nbformat raises several types for a broken notebook
        sub.status, sub.error = "invalid", f"not a Jupyter notebook ({type(exc).__name__}: {exc})"
        return None
    submitted = {}
    for cell in nb.cells:
        gid = _nbg(cell).get("grade_id")
        if gid:
            submitted.setdefault(gid, cell)
    originals = {_nbg(c).get("grade_id"): _src(c).strip() for c in (source_nb or {}).get("cells", [])
                 if _nbg(c).get("grade_id")}
    for ex in exercises(release_nb):
        ref = next(c for c in release_nb["cells"] if _nbg(c).get("grade_id") == ex.grade_id)
        got = submitted.get(ex.grade_id)
        if got is None:
            if ex.kind == "auto":
                sub.note(ex.grade_id, "the locked test cell was deleted (or its nbgrader metadata removed); "
                                      "nbgrader put the instructor's copy back and ran it")
            else:
                sub.note(ex.grade_id, "the written-answer cell was deleted")
        elif ex.kind == "auto" and (_src(got).strip() not in (_src(ref).strip(), originals.get(ex.grade_id))
                                    or got.get("cell_type") != ref.get("cell_type")):
            sub.note(ex.grade_id, "the locked test cell was edited; nbgrader restored the instructor's "
                                  "version (hidden tests included) before running it")
        if ex.answer_id and ex.answer_id not in submitted:
            sub.note(ex.grade_id, f"the answer cell {ex.answer_id!r} is missing (deleted, or its nbgrader "
                                  f"metadata removed); the test ran without it")
    return nb


def synthetic_class(instructor_nb: str | Path, student_nb: str | Path, n: int, folder: str | Path) -> dict:
    """Write ``n`` submissions of one notebook to ``folder`` for timing and tests.

    Learner ``k`` (``learner000``...) starts from the student version and pastes the
    instructor's solution into the first ``k % (E + 1)`` answer cells (E answer cells), so
    the class spans blank to fully solved. Returns ``{learner: expected autograded points}``.
    """
    from .nbtools import load, save
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    ins, stu = load(Path(instructor_nb)), load(Path(student_nb))
    stem = Path(instructor_nb).stem
    solutions = {_nbg(c)["grade_id"]: _src(c) for c in ins["cells"]
                 if _nbg(c).get("solution") and not _nbg(c).get("grade") and c.get("cell_type") == "code"}
    exs = [e for e in exercises(stu) if e.kind == "auto"]
    order = [e.answer_id for e in exs if e.answer_id in solutions]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for k in range(n):
        solved = set(order[: k % (len(order) + 1)])
        nb = json.loads(json.dumps(stu))
        for c in nb["cells"]:
            gid = _nbg(c).get("grade_id")
            if gid in solved and not _nbg(c).get("grade"):
                c["source"] = solutions[gid]
        learner = f"learner{k:03d}"
        save(nb, folder / f"{learner}__{stem}.ipynb")
        expected[learner] = sum(e.points for e in exs if e.answer_id in solved)
    return expected


# --------------------------------------------------------------------------- worker (runs learner code)

def _kill_kernels() -> int:
    """Kill every process started by this one (the kernels); return how many."""
    return kill_tree(os.getpid(), include_root=False)


def _disable_cell(nb_path: Path, cell: dict, why: str) -> str:
    """Replace the submitted cell matching ``cell`` by a stub that raises; return a note.

    A test cell is locked (nbgrader would restore it), so when a test cell hung, the answer
    cell before it is the one disabled.
    """
    import nbformat
    nb = nbformat.read(nb_path, as_version=4)
    cells = nb.cells
    idx = None
    if cell.get("id"):
        idx = next((i for i, c in enumerate(cells) if c.get("id") == cell["id"]), None)
    if idx is None:
        idx = next((i for i, c in enumerate(cells) if _src(c) == _src(cell)), None)
    g = _nbg(cell)
    if g.get("grade") and not g.get("solution"):
        # the learner's code runs inside a locked test cell: disable the answer cell before it
        start = idx if idx is not None else next(
            (i for i, c in enumerate(cells) if _nbg(c).get("grade_id") == g.get("grade_id")), len(cells))
        idx = next((i for i in range(start - 1, -1, -1)
                    if _nbg(cells[i]).get("solution") and cells[i].cell_type == "code"), None)
    if idx is None:
        return ""
    target = cells[idx]
    label = _nbg(target).get("grade_id") or f"cell {idx}"
    target.source = (f"{DISABLED_MARK}: {why}\n"
                     f"raise RuntimeError('this cell was disabled by the grader: {why}')")
    nbformat.write(nb, nb_path)
    return label


def worker(course: Path, assignment: str, learners: list[str], cell_timeout: int, submission_timeout: int,
           show_hidden_tests: bool, result_file: Path) -> None:
    """Autograde ``learners`` one after another (run in a subprocess by :func:`grade`).

    A watchdog kills the kernel when a submission runs past ``submission_timeout``; when a
    kernel hangs (ignores the interrupt) or dies, the cell it was running is disabled and
    the submission is graded again (at most ``MAX_RETRIES`` times). One JSON line per
    learner goes to ``result_file``.
    """
    from traitlets.config import Config
    current: dict = {}

    def on_cell_execute(cell=None, cell_index=None, **_):
        current["cell"] = dict(cell) if cell is not None else None
        current["index"] = cell_index

    extra = Config()
    extra.Execute.on_cell_execute = on_cell_execute
    if os.name == "posix":
        # Unix sockets in a folder of this worker: parallel workers starting kernels at the same
        # moment cannot race for the same TCP port (a kernel that loses such a race dies at start).
        ipc = Path(tempfile.mkdtemp(prefix="hodl-ipc-"))   # short path: Unix socket names are limited
        extra.KernelManager.transport = "ipc"
        extra.KernelManager.ip = str(ipc / "kernel")
    api = _api(course, cell_timeout, show_hidden_tests, extra)
    try:
        _worker_loop(api, course, assignment, learners, cell_timeout, submission_timeout, result_file, current)
    finally:
        if os.name == "posix":
            shutil.rmtree(ipc, ignore_errors=True)


def _worker_loop(api, course, assignment, learners, cell_timeout, submission_timeout, result_file, current):
    for learner in learners:
        t0 = time.perf_counter()
        rec = {"learner": learner, "success": False, "error": "", "disabled": [], "retries": 0}
        nb_path = course / "submitted" / learner / assignment / f"{assignment}.ipynb"
        for attempt in range(MAX_RETRIES + 1):
            current.clear()
            killed = threading.Event()

            def watchdog():
                killed.set()
                _kill_kernels()

            timer = threading.Timer(submission_timeout, watchdog)
            timer.daemon = True
            timer.start()
            try:
                res = api.autograde(assignment, learner, force=True, create=True)
            finally:
                timer.cancel()
            if res.get("success"):
                rec.update(success=True, error="", detail="")
                break
            err = (res.get("error") or "") + "\n" + (res.get("log") or "")
            if "database is locked" in err and attempt < MAX_RETRIES:
                time.sleep(2.0)
                continue
            if killed.is_set():
                why = f"the notebook ran past the {submission_timeout} s limit for a whole submission"
            elif "Timeout waiting for IOPub" in err or "CellTimeoutError" in err:
                why = f"it ran past the {cell_timeout} s cell limit and ignored the interrupt"
            elif "DeadKernelError" in err or "Kernel died" in err:
                why = "the kernel died while it ran (crash, os._exit or out of memory)"
            else:
                why = ""
            rec["error"] = _last_error_line(err) if not why else f"kernel stopped: {why}"
            rec["detail"] = err.strip()[-2000:]
            cell = current.get("cell")
            if why and cell is None and attempt < MAX_RETRIES:
                # the kernel died before running any cell (start-up failure): try again as it is
                rec["retries"] = attempt + 1
                _kill_kernels()
                continue
            if not why or cell is None or attempt == MAX_RETRIES:
                break
            label = _disable_cell(nb_path, cell, why)
            if not label:
                break
            rec["disabled"].append({"cell": label, "why": why})
            rec["retries"] = attempt + 1
            _kill_kernels()
        rec["seconds"] = round(time.perf_counter() - t0, 2)
        with open(result_file, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec) + "\n")


def _last_error_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    for ln in reversed(lines):
        if re.match(r"^[\w.]+(Error|Exception)\b", ln):
            return ln[:300]
    return lines[-1][:300] if lines else "unknown error"


# --------------------------------------------------------------------------- grade

def grading_env(full: bool = False) -> dict[str, str]:
    """The environment learner code runs in: fast mode unless ``full``, offline, no plots shown, no warnings
    (nbgrader counts anything on stderr in a test cell as a failure)."""
    env = dict(os.environ)
    env.update({"COURSE_FAST": "0" if full else "1", "COURSE_OFFLINE": "1", "MPLBACKEND": "Agg",
                "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore", "NBGRADER_EXECUTION": "autograde"})
    env.pop("COURSE_RESULTS", None)
    return env


def as_graded(student_nb: dict, instructor_nb: dict) -> dict:
    """The student notebook as nbgrader's autograde runs it: locked test cells replaced by the instructor's
    (hidden tests included), everything else as submitted. A copy; the inputs are not changed."""
    nb = json.loads(json.dumps(student_nb))
    tests = {_nbg(c)["grade_id"]: _src(c) for c in instructor_nb.get("cells", [])
             if _nbg(c).get("grade") and not _nbg(c).get("solution") and c.get("cell_type") == "code"}
    for cell in nb["cells"]:
        gid = _nbg(cell).get("grade_id")
        if gid in tests:
            cell["source"] = tests[gid]
    return nb


def _run_workers(course: Path, assignment: str, learners: list[str], opts: dict, jobs: int,
                 log) -> dict[str, dict]:
    """Run worker subprocesses over ``learners`` (``jobs`` at once); return learner -> record."""
    env = grading_env(opts["full"])
    chunks = [learners[i::jobs] for i in range(jobs) if learners[i::jobs]]
    results: dict[str, dict] = {}
    lock = threading.Lock()

    def run_chunk(chunk: list[str]) -> None:
        remaining = list(chunk)
        while remaining:
            fd, rf = tempfile.mkstemp(suffix=".jsonl", dir=course)
            os.close(fd)
            cmd = [sys.executable, "-m", "course_utils.tools.grading", "_worker", str(course), assignment,
                   "--cell-timeout", str(opts["cell_timeout"]),
                   "--submission-timeout", str(opts["submission_timeout"]), "--result", rf]
            if opts["show_hidden_tests"]:
                cmd.append("--show-hidden-tests")
            cmd += remaining
            limit = len(remaining) * (MAX_RETRIES + 1) * (opts["submission_timeout"] + 60) + 120
            proc = subprocess.Popen(cmd, cwd=course, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True, start_new_session=True)
            try:
                _, stderr = proc.communicate(timeout=limit)
            except subprocess.TimeoutExpired:
                kill_tree(proc.pid)
                _, stderr = proc.communicate()
            with open(rf, encoding="utf-8") as fh:
                done = [json.loads(line) for line in fh if line.strip()]
            os.unlink(rf)
            with lock:
                for rec in done:
                    results[rec["learner"]] = rec
                    log(f"  {assignment}  {rec['learner']:<24} "
                        f"{'ok' if rec['success'] else 'FAILED: ' + rec['error']}  ({rec['seconds']:.1f} s)")
            finished = {r["learner"] for r in done}
            remaining = [x for x in remaining if x not in finished]
            if remaining and proc.returncode != 0 and not done:
                # the worker died before finishing anyone: give up on the first, go on with the rest
                bad = remaining.pop(0)
                tail = (stderr or "").strip().splitlines()[-1:] or ["no output"]
                with lock:
                    results[bad] = {"learner": bad, "success": False, "retries": 0, "disabled": [],
                                    "seconds": 0.0, "error": f"grading worker stopped: {tail[0][:300]}"}
                    log(f"  {assignment}  {bad:<24} FAILED: grading worker stopped")

    with ThreadPoolExecutor(max_workers=max(1, len(chunks))) as pool:
        list(pool.map(run_chunk, chunks))
    return results


def kill_tree(pid: int, include_root: bool = True) -> int:
    """Kill process ``pid``'s descendants (and ``pid`` itself if ``include_root``); return how many."""
    import psutil
    try:
        parent = psutil.Process(pid)
    except psutil.Error:
        return 0
    return kill_processes(parent.children(recursive=True) + ([parent] if include_root else []))


def kill_processes(procs: list) -> int:
    """Kill each of ``procs`` (``psutil.Process``; gone ones are skipped), wait up to 5 s; return how many."""
    import psutil
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)
    return len(procs)


def new_run_dir(out: str | Path, now: dt.datetime | None = None) -> Path:
    """Create ``out/<timestamp>`` (``-2``, ``-3``... if taken); never reuses an existing folder."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = (now or dt.datetime.now()).strftime("%Y-%m-%d_%H%M%S")
    for k in range(1, 1000):
        run = out / (stamp if k == 1 else f"{stamp}-{k}")
        try:
            run.mkdir()
            return run
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a new run folder in {out}")


def _point_latest(out: Path, run: Path) -> None:
    """``out/latest`` -> run (a symlink where possible) and ``out/LATEST.txt`` with its name."""
    (out / "LATEST.txt").write_text(run.name + "\n")
    link = out / "latest"
    tmp = out / f".latest-{os.getpid()}"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(run.name, target_is_directory=True)
        os.replace(tmp, link)
    except OSError:  # no symlinks (some Windows setups): LATEST.txt is the pointer
        pass


def grade(submissions: str | Path, out: str | Path = "build/grades", notebooks: list[Path] | None = None,
          cell_timeout: int = DEFAULT_CELL_TIMEOUT, submission_timeout: int = DEFAULT_SUBMISSION_TIMEOUT,
          jobs: int = 1, full: bool = False, show_hidden_tests: bool = False, quiet: bool = False) -> Path:
    """Autograde a folder of submissions; return the new run folder.

    The run folder holds ``gradebook.csv`` (one row per learner, notebook and exercise),
    ``summary.csv``, ``report.md``, ``feedback/<learner>/`` (HTML) and ``course/`` (the
    nbgrader course with ``gradebook.db`` for the formgrader). Learner code runs in a
    temporary copy of the course, in fast mode unless ``full``.
    """
    for name, val in (("cell_timeout", cell_timeout), ("submission_timeout", submission_timeout), ("jobs", jobs)):
        if not isinstance(val, int) or isinstance(val, bool) or val < 1:
            raise ValueError(f"{name} must be a positive int, got {val!r}")
    log = (lambda *_: None) if quiet else (lambda msg: print(msg, flush=True))
    notebooks = course_notebooks() if notebooks is None else list(notebooks)
    by_stem = {p.stem: p for p in notebooks}
    subs, problems = find_submissions(submissions, sorted(by_stem))
    if not subs:
        raise ValueError(f"no submissions to grade in {submissions} (naming rules: README, 'For instructors')"
                         + "".join(f"\n  {p}" for p in problems))
    t_start = time.perf_counter()
    out = Path(out)
    run = new_run_dir(out)
    log(f"Grading {len(subs)} submission(s) of {len({s.notebook for s in subs})} notebook(s) from {submissions} "
        f"into {run}/ ({'full' if full else 'fast'} mode, cell limit {cell_timeout} s, "
        f"submission limit {submission_timeout} s, {jobs} job(s))")
    for p in problems:
        log(f"  ! {p}")
    opts = {"cell_timeout": cell_timeout, "submission_timeout": submission_timeout, "full": full,
            "show_hidden_tests": show_hidden_tests}
    with tempfile.TemporaryDirectory(prefix="hodl-grade-") as tmp:
        course = Path(tmp) / "course"
        stems = sorted({s.notebook for s in subs})
        released = make_course(course, [by_stem[s] for s in stems], cell_timeout, show_hidden_tests)
        from .nbtools import load
        release_nbs = {s: load(released[s]) for s in stems}
        for stem in stems:
            todo = []
            for sub in (s for s in subs if s.notebook == stem):
                nb = inspect_submission(Path(submissions) / sub.file, release_nbs[stem], sub,
                                        load(by_stem[stem]))
                if nb is None:
                    log(f"  {stem}  {sub.learner:<24} NOT GRADED: {sub.error}")
                    continue
                import nbformat
                apply_integrity(nb, release_nbs[stem], load(by_stem[stem]), sub)
                dest = course / "submitted" / sub.learner / stem / f"{stem}.ipynb"
                dest.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, dest)
                todo.append(sub)
            if not todo:
                continue
            recs = _run_workers(course, stem, [s.learner for s in todo], opts, jobs, log)
            for sub in todo:
                rec = recs.get(sub.learner, {"success": False, "error": "no result from the grading worker"})
                sub.seconds, sub.retries = rec.get("seconds", 0.0), rec.get("retries", 0)
                sub.status = "graded" if rec["success"] else "not graded"
                sub.error = "" if rec["success"] else rec.get("error", "")
                sub.detail = rec.get("detail", "")
                for d in rec.get("disabled", []):
                    sub.note("*", f"cell {d['cell']} was disabled and the notebook graded again: {d['why']}")
            _zero_integrity(course, todo, release_nbs[stem])
            api = _api(course, cell_timeout, show_hidden_tests)
            res = api.generate_feedback(stem, force=True)
            if not res.get("success"):
                problems.append(f"feedback HTML for {stem} failed: {_last_error_line(res.get('error', ''))}")
        _zero_failed(course, subs)
        shutil.copytree(course, run / "course", symlinks=False,
                        ignore=shutil.ignore_patterns("*.jsonl", ".ipynb_checkpoints"))
    meta = {"submissions": str(Path(submissions).resolve()), "created": dt.datetime.now().isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - t_start, 1), "mode": "full" if full else "fast",
            "cell_timeout": cell_timeout, "submission_timeout": submission_timeout, "jobs": jobs,
            "show_hidden_tests": show_hidden_tests,
            "problems": problems, "submissions_graded": [asdict(s) for s in subs]}
    (run / "grading.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
    rows, summary = collect(run)
    write_csv(run / "gradebook.csv", rows, CSV_FIELDS)
    write_csv(run / "summary.csv", summary, SUMMARY_FIELDS)
    write_feedback(run, rows, summary)
    (run / "report.md").write_text(report(run, rows, summary, meta), encoding="utf-8")
    _point_latest(out, run)
    log(f"\n{len(subs)} submission(s) in {meta['seconds']:.0f} s. Gradebook: {run / 'gradebook.csv'}; "
        f"report: {run / 'report.md'}; feedback: {run / 'feedback'}/")
    return run


def apply_integrity(nb: dict, release_nb: dict, source_nb: dict, sub: Submission) -> None:
    """Scan the learner's code (:mod:`.integrity`) and record what it found on ``sub``.

    A cell that patches the test machinery is disabled in ``nb`` before it runs (so the patch never
    exists in the kernel); the points are taken away after the run by :func:`_zero_integrity`.
    """
    from . import integrity
    findings = integrity.scan(nb, release_nb, source_nb)
    sub.findings = [f.as_dict() for f in findings]
    for f in findings:
        if f.kind != "tamper":
            continue
        for i, cell in enumerate(nb["cells"]):
            if (f.answer and _nbg(cell).get("grade_id") == f.answer) or f.cell == f"cell {i + 1}":
                why = f"it patches the test machinery ({f.what})".replace("'", "")
                cell["source"] = f"{DISABLED_MARK}: {why}\nraise RuntimeError('this cell was disabled by the grader: {why}')"


def _zero_integrity(course: Path, subs: list[Submission], release_nb: dict) -> None:
    """Give 0 points in gradebook.db to what the integrity scan found, and say why in the notes.

    A reference call (or a forbidden import) in an answer cell zeroes the exercise that tests it;
    patching the machinery anywhere zeroes every autograded exercise of the submission.
    """
    flagged = [s for s in subs if s.findings and s.status == "graded"]
    if not flagged:
        return
    from nbgrader.api import Gradebook, MissingEntry
    autos = [e for e in exercises(release_nb) if e.kind == "auto"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "hands-on-dl") as gb:
        for s in flagged:
            zero: dict[str, list[str]] = {}
            tamper = [f for f in s.findings if f["kind"] == "tamper"]
            for f in s.findings:
                targets = autos if f["kind"] == "tamper" else [e for e in autos if e.answer_id == f["answer"]]
                for e in targets:
                    zero.setdefault(e.grade_id, []).append(f["message"])
            if tamper:
                s.note("*", "no autograded points: the submission patches the test machinery "
                            f"({'; '.join(sorted({f['what'] for f in tamper}))}); the cells that do were disabled")
            try:
                nb = gb.find_submission_notebook(s.notebook, s.notebook, s.learner)
            except MissingEntry:
                continue
            grades = {g.name: g for g in nb.grades}
            for gid, messages in zero.items():
                for m in messages:
                    s.note(gid, m)
                g = grades.get(gid)
                if g is not None:
                    g.auto_score, g.needs_manual_grade = 0.0, False
        gb.db.commit()


def _zero_failed(course: Path, subs: list[Submission]) -> None:
    """Give 0 autograded points in gradebook.db to submissions nbgrader could not grade."""
    from nbgrader.api import Gradebook, MissingEntry
    db = course / "gradebook.db"
    if not db.exists():
        return
    with Gradebook(f"sqlite:///{db}", "hands-on-dl") as gb:
        for s in subs:
            if s.status != "not graded":
                continue
            try:
                nb = gb.find_submission_notebook(s.notebook, s.notebook, s.learner)
            except MissingEntry:
                continue
            for g in nb.grades:
                if g.cell.cell_type == "code" and g.auto_score is None:
                    g.auto_score, g.needs_manual_grade = 0.0, False
        gb.db.commit()


# --------------------------------------------------------------------------- results

def _cell_errors(nb: dict) -> dict[str, str]:
    """grade_id -> short description of the error its cell raised, for an executed notebook."""
    out = {}
    for cell in nb.get("cells", []):
        gid = _nbg(cell).get("grade_id")
        if not gid or cell.get("cell_type") != "code":
            continue
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                ename, evalue = o.get("ename", "Error"), str(o.get("evalue", "")).strip()
                if ename == "CellTimeoutError" or (ename == "KeyboardInterrupt"):
                    out[gid] = "ran past the per-cell time limit and was interrupted"
                elif ename == "NotImplementedError":
                    out[gid] = "NotImplementedError: not solved yet"
                else:
                    lines = [ln.strip() for ln in evalue.splitlines() if ln.strip()][:3]
                    out[gid] = f"{ename}: {' / '.join(lines)}"[:300]
                break
            if o.get("output_type") == "stream" and o.get("name") == "stderr" and gid not in out:
                out[gid] = "wrote to stderr (nbgrader counts that as failed): " + str(o.get("text", "")).strip()[:200]
    return out


def collect(run: Path) -> tuple[list[dict], list[dict]]:
    """Gradebook rows (learner, notebook, exercise...) and per-submission totals for a run folder.

    Reads ``course/gradebook.db`` (so manual grades given in the formgrader are included)
    and ``grading.json`` (what happened to each submission).
    """
    from nbgrader.api import Gradebook, MissingEntry

    from .nbtools import load
    meta = json.loads((run / "grading.json").read_text())
    course = run / "course"
    rows, summary = [], []
    db = course / "gradebook.db"
    gb = Gradebook(f"sqlite:///{db}", "hands-on-dl") if db.exists() else None
    try:
        for s in meta["submissions_graded"]:
            release = course / "release" / s["notebook"] / f"{s['notebook']}.ipynb"
            exs = exercises(load(release)) if release.exists() else []
            grades, comments = {}, {}
            if gb is not None and s["status"] in ("graded", "not graded"):
                try:
                    snb = gb.find_submission_notebook(s["notebook"], s["notebook"], s["learner"])
                    grades = {g.name: g for g in snb.grades}
                    # what the instructor wrote in the formgrader (per cell: the answer cell of
                    # an autograded exercise, the cell itself for a written answer)
                    comments = {c.name: c.manual_comment.strip() for c in snb.comments
                                if c.manual_comment and c.manual_comment.strip()}
                except MissingEntry:
                    grades, comments = {}, {}
            executed = course / "autograded" / s["learner"] / s["notebook"] / f"{s['notebook']}.ipynb"
            errors = _cell_errors(load(executed)) if executed.exists() else {}
            tot = {"auto": [0.0, 0.0], "written": [0.0, 0.0]}
            pending = False
            for ex in exs:
                g = grades.get(ex.grade_id)
                notes = list(s["notes"].get(ex.grade_id, []))
                if s["status"] != "graded":
                    points = 0.0 if ex.kind == "auto" else None
                    status = "not graded"
                    notes.insert(0, s["error"])
                elif ex.kind == "auto":
                    points = float(g.score) if g is not None else 0.0
                    status = ("passed" if points >= ex.points else "partial" if points > 0 else "failed")
                    if status == "failed" and any(m.startswith(("calls the reference", "patches the test",
                                                                 "uses ")) for m in notes):
                        status = "failed (integrity)"
                    if g is not None and g.manual_score is not None:
                        status += " (hand-adjusted)"
                    if ex.answer_id and ex.answer_id in errors and points < ex.points:
                        notes.append(f"answer cell: {errors[ex.answer_id]}")
                    if ex.grade_id in errors and points < ex.points:
                        notes.append(errors[ex.grade_id])
                else:
                    if g is not None and g.manual_score is not None:
                        points, status = float(g.score), "graded by hand"
                    elif g is not None and g.auto_score is not None and not g.needs_manual_grade:
                        points, status = float(g.auto_score), "no answer"
                    else:
                        points, status = None, "needs manual grading"
                        pending = True
                said = [comments[k] for k in dict.fromkeys((ex.grade_id, ex.answer_id)) if k in comments]
                notes += [f"instructor's comment: {c}" for c in said]
                if points is not None:
                    tot[ex.kind][0] += points
                tot[ex.kind][1] += ex.points
                rows.append({"learner": s["learner"], "notebook": s["notebook"], "exercise": ex.grade_id,
                             "kind": ex.kind, "points": "" if points is None else _num(points),
                             "max_points": _num(ex.points), "status": status,
                             "note": "; ".join(n for n in notes if n)})
            if not exs:
                rows.append({"learner": s["learner"], "notebook": s["notebook"], "exercise": "*", "kind": "",
                             "points": 0, "max_points": "", "status": s["status"], "note": s["error"]})
            general = "; ".join(s["notes"].get("*", []))
            status = s["status"] if s["status"] != "graded" else (
                "graded, written answers to grade by hand" if pending else "graded")
            summary.append({"learner": s["learner"], "notebook": s["notebook"],
                            "auto_points": _num(tot["auto"][0]), "auto_max": _num(tot["auto"][1]),
                            "written_points": _num(tot["written"][0]), "written_max": _num(tot["written"][1]),
                            "status": status + (f" ({general})" if general else "")
                            + (f": {s['error']}" if s["error"] and s["status"] != "graded" else ""),
                            "file": s["file"]})
    finally:
        if gb is not None:
            gb.close()
    return rows, summary


def _num(x: float):
    return int(x) if float(x).is_integer() else round(float(x), 3)


def write_csv(path: Path, rows: list[dict], fields: list[str]) -> None:
    """Write ``rows`` to a new CSV file; refuses to replace an existing one."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; grading never overwrites an earlier gradebook")
    with open(path, "x", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


def write_feedback(run: Path, rows: list[dict], summary: list[dict], folder: str = "feedback",
                   final: str | None = None) -> Path:
    """``<folder>/<learner>/index.html`` (points and notes per exercise) + nbgrader's notebook
    HTML (from ``course/<folder>/``), readable offline. ``final``: the export's time stamp, for
    pages with the grades after hand grading (the autograder's pages say that written answers
    are still to be graded)."""
    fb_root = run / folder
    for learner in sorted({s["learner"] for s in summary}):
        d = fb_root / learner
        d.mkdir(parents=True, exist_ok=True)
        parts = [f"<!doctype html><meta charset='utf-8'><title>Feedback: {html.escape(learner)}</title>",
                 "<style>body{font-family:sans-serif;margin:2em;max-width:60em}td,th{padding:4px 8px;"
                 "border-bottom:1px solid #ddd;text-align:left;vertical-align:top}.passed{color:green}"
                 ".failed,.not{color:#b00}</style>", f"<h1>Feedback for {html.escape(learner)}</h1>",
                 (f"<p>Final grades, hand-graded answers and the instructor's comments included "
                  f"(exported {html.escape(final)}).</p>" if final else
                  "<p>Autograded. Written answers are graded by hand later; their points are not in yet.</p>")]
        for s in (x for x in summary if x["learner"] == learner):
            nb = s["notebook"]
            src = run / "course" / folder / learner / nb / f"{nb}.html"
            link = ""
            if src.exists():
                (d / f"{nb}.html").write_text(strip_mathjax(src.read_text(encoding="utf-8")),
                                              encoding="utf-8")
                link = f" (<a href='{html.escape(nb)}.html'>your notebook, run and graded</a>)"
            parts.append(f"<h2>{html.escape(nb)}{link}</h2><p>Autograded: <b>{s['auto_points']} / {s['auto_max']}"
                         f"</b> points; written answers: {s['written_points']} / {s['written_max']}. "
                         f"Status: {html.escape(s['status'])}.</p>")
            parts.append("<table><tr><th>exercise</th><th>points</th><th>status</th><th>what happened</th></tr>")
            for r in (r for r in rows if r["learner"] == learner and r["notebook"] == nb):
                cls = r["status"].split()[0]
                parts.append(f"<tr><td>{html.escape(r['exercise'])}</td><td>{r['points']} / {r['max_points']}</td>"
                             f"<td class='{html.escape(cls)}'>{html.escape(r['status'])}</td>"
                             f"<td>{html.escape(r['note'])}</td></tr>")
            parts.append("</table>")
        (d / "index.html").write_text("\n".join(parts), encoding="utf-8")
    return fb_root


def report(run: Path, rows: list[dict], summary: list[dict], meta: dict) -> str:
    """The run's ``report.md``: totals per submission, then every note and problem."""
    lines = [f"# Grading run {run.name}", "",
             f"Submissions from `{meta['submissions']}`, {meta['mode']} mode, cell limit {meta['cell_timeout']} s, "
             f"submission limit {meta['submission_timeout']} s, {meta['jobs']} job(s), {meta['seconds']} s in all.",
             "", "| learner | notebook | autograded | written | status | file |", "|---|---|---|---|---|---|"]
    for s in summary:
        lines.append(f"| {s['learner']} | {s['notebook']} | {s['auto_points']} / {s['auto_max']} | "
                     f"{s['written_points']} / {s['written_max']} | {s['status']} | {s['file']} |")
    noted = [r for r in rows if r["note"]]
    if noted:
        lines += ["", "## What happened, per exercise", ""]
        lines += [f"- {r['learner']} · {r['notebook']} · {r['exercise']}: {r['points']}/{r['max_points']}, "
                  f"{r['status']}: {r['note']}" for r in noted]
    if meta["problems"]:
        lines += ["", "## Files not graded", ""] + [f"- {p}" for p in meta["problems"]]
    lines += ["", "Written answers: grade them in the formgrader (README, \"For instructors\"), then "
              f"`python -m course_utils.tools.grading export {run}` writes a new CSV with them.", ""]
    return "\n".join(lines)


def export(run: str | Path, feedback: bool = True) -> Path:
    """After hand grading: ``gradebook-<timestamp>.csv`` from the run's gradebook.db (hand
    grades, and the instructor's comments in the ``note`` column) and, with ``feedback``,
    ``feedback-<timestamp>/<learner>/`` with the final points and comments (nbgrader's notebook
    pages made again from the gradebook). Earlier files are never overwritten: the
    autograder's ``gradebook.csv`` and ``feedback/`` stay as they were. Returns the CSV's path.
    """
    run = Path(run).resolve()
    if not (run / "grading.json").exists():
        raise ValueError(f"{run} is not a grading run folder (no grading.json)")
    rows, summary = collect(run)
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H%M%S")
    k, suffix = 2, ""
    while (run / f"gradebook-{stamp}{suffix}.csv").exists() or (run / f"feedback-{stamp}{suffix}").exists():
        suffix, k = f"-{k}", k + 1
    path = run / f"gradebook-{stamp}{suffix}.csv"
    write_csv(path, rows, CSV_FIELDS)
    if feedback:
        meta = json.loads((run / "grading.json").read_text())
        folder = f"feedback-{stamp}{suffix}"
        course = run / "course"
        from traitlets.config import Config
        extra = Config()
        extra.CourseDirectory.feedback_directory = folder   # next to nbgrader's own feedback/
        api = _api(course, meta.get("cell_timeout", DEFAULT_CELL_TIMEOUT),
                   meta.get("show_hidden_tests", False), extra)
        for nb in sorted({s["notebook"] for s in summary}):
            res = api.generate_feedback(nb, force=True)
            if not res.get("success"):
                raise RuntimeError(f"nbgrader generate_feedback failed for {nb}: "
                                   f"{_last_error_line(res.get('error', ''))}")
        write_feedback(run, rows, summary, folder=folder, final=stamp.replace("_", " "))
    return path


# --------------------------------------------------------------------------- CLI

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m course_utils.tools.grading", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    st = sub.add_parser("student", help="write student versions")
    st.add_argument("--out", default="build/student")
    st.add_argument("--nb", help="only these notebooks: 04 or 04,06")
    st.add_argument("--notebooks", default=str(NOTEBOOKS), help="folder of instructor notebooks")
    gr = sub.add_parser("grade", help="autograde a folder of submissions")
    gr.add_argument("submissions")
    gr.add_argument("--out", default="build/grades")
    gr.add_argument("--nb", help="only these notebooks: 04 or 04,06")
    gr.add_argument("--notebooks", default=str(NOTEBOOKS), help="folder of instructor notebooks")
    gr.add_argument("--cell-timeout", type=int, default=DEFAULT_CELL_TIMEOUT, help="seconds per cell")
    gr.add_argument("--submission-timeout", type=int, default=DEFAULT_SUBMISSION_TIMEOUT,
                    help="seconds per submission before its kernel is killed")
    gr.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    gr.add_argument("--full", action="store_true", help="grade in full mode (default: fast mode)")
    gr.add_argument("--show-hidden-tests", action="store_true", help="feedback HTML shows hidden test code")
    sy = sub.add_parser("synthetic", help="write a synthetic class of N submissions of one notebook")
    sy.add_argument("folder")
    sy.add_argument("--nb", required=True, help="the notebook: 01 or a name prefix")
    sy.add_argument("-n", type=int, default=100, help="number of learners (default 100)")
    sy.add_argument("--notebooks", default=str(NOTEBOOKS), help="folder of instructor notebooks")
    ex = sub.add_parser("export", help="new gradebook CSV from a run folder (after manual grading)")
    ex.add_argument("run")
    ex.add_argument("--no-feedback", action="store_true", help="the CSV only, no new feedback pages")
    wk = sub.add_parser("_worker")
    wk.add_argument("course")
    wk.add_argument("assignment")
    wk.add_argument("learners", nargs="+")
    wk.add_argument("--cell-timeout", type=int, required=True)
    wk.add_argument("--submission-timeout", type=int, required=True)
    wk.add_argument("--result", required=True)
    wk.add_argument("--show-hidden-tests", action="store_true")
    args = ap.parse_args(argv)
    try:
        if args.command == "student":
            nbs = course_notebooks(args.notebooks, args.nb)
            if not nbs:
                print(f"no notebooks with exercises in {args.notebooks}")
                return 1
            for p in student_versions(args.out, nbs):
                print(f"student version: {p}")
        elif args.command == "grade":
            nbs = course_notebooks(args.notebooks, args.nb)
            if not nbs:
                print(f"no notebooks with exercises in {args.notebooks}")
                return 1
            grade(args.submissions, args.out, nbs, args.cell_timeout, args.submission_timeout, args.jobs,
                  args.full, args.show_hidden_tests)
        elif args.command == "synthetic":
            nbs = course_notebooks(args.notebooks, args.nb)[:1]
            if not nbs:
                print(f"no notebooks with exercises in {args.notebooks}")
                return 1
            with tempfile.TemporaryDirectory(prefix="hodl-synth-") as tmp:
                stu = student_versions(tmp, nbs)[0]
                expected = synthetic_class(nbs[0], stu, args.n, args.folder)
            print(f"{len(expected)} submissions of {nbs[0].stem} in {args.folder} "
                  f"(expected autograded points: {sorted(set(expected.values()))})")
        elif args.command == "export":
            path = export(args.run, feedback=not args.no_feedback)
            print(f"gradebook written: {path}")
            if not args.no_feedback:
                fb = path.parent / path.name.replace("gradebook-", "feedback-").removesuffix(".csv")
                print(f"feedback with the final grades and comments: {fb}/<learner>/index.html")
        else:
            worker(Path(args.course), args.assignment, args.learners, args.cell_timeout,
                   args.submission_timeout, args.show_hidden_tests, Path(args.result))
    except (ValueError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
