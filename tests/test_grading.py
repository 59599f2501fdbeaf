"""Instructor grading with nbgrader: student versions, autograding, gradebook, robustness.

Fast tests check naming rules, run folders and the submission checks. Slow tests run
kernels: a class of broken submissions of the fixture notebook, grading twice, and the
round trip (instructor version full marks, student version zero and runs to the end)
for every course notebook that exists at test time.
"""
from __future__ import annotations

import copy
import csv
import json
import os
import re
import time
from pathlib import Path

import pytest

from course_utils.tools import grading as G
from course_utils.tools.nbtools import lint_notebook

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "grading"
FIXTURE_NB = FIXTURES / "99_grading_fixture.ipynb"
STEM = FIXTURE_NB.stem
STEMS = ["01_perceptron", "02_mlp", "10_attention_basics"]


def _load(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _save(nb, path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(nb, indent=1), encoding="utf-8")


def _cell(nb, grade_id):
    return next(c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def _rows(run):
    with open(Path(run) / "gradebook.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _points(rows, learner, notebook=STEM):
    """{exercise: points} of the autograded exercises of one learner."""
    return {r["exercise"]: float(r["points"]) for r in rows
            if r["learner"] == learner and r["notebook"] == notebook and r["kind"] == "auto"}


# --------------------------------------------------------------------------- fast: naming, folders

@pytest.mark.parametrize("rel, expected", [
    ("ada__01_perceptron.ipynb", ("ada", "01_perceptron")),
    ("Ada Lovelace/01_perceptron.ipynb", ("ada-lovelace", "01_perceptron")),
    ("ada/Copy of 02_mlp.ipynb", ("ada", "02_mlp")),
    ("Ada Lovelace_123456_assignsubmission_file_01_perceptron.ipynb", ("ada-lovelace", "01_perceptron")),
    ("Ada Lovelace_123456_assignsubmission_file_/02_mlp.ipynb", ("ada-lovelace", "02_mlp")),
    ("lovelaceada_12345_678901_01_perceptron.ipynb", ("lovelaceada", "01_perceptron")),
    ("lovelaceada_LATE_12345_678901_10_attention_basics-1.ipynb", ("lovelaceada", "10_attention_basics")),
    ("week2/bob__02_mlp (1).ipynb", ("bob", "02_mlp")),
])
def test_parse_submission_name(rel, expected):
    assert G.parse_submission_name(rel, STEMS) == expected


@pytest.mark.parametrize("rel, message", [
    ("ada__notes.ipynb", "names none of the notebooks"),
    ("ada__01_perceptron_draft_notes.ipynb", "names none of the notebooks"),
    ("01_perceptron.ipynb", "cannot tell the learner"),
    ("ada__01_perceptron.txt", "not a .ipynb"),
])
def test_parse_submission_name_rejects(rel, message):
    with pytest.raises(ValueError, match=message):
        G.parse_submission_name(rel, STEMS)


def test_learner_id_validates_and_normalises():
    assert G.learner_id("  José  Núñez ") == "jose-nunez"
    assert G.learner_id("Smith_42_assignsubmission_onlinetext_") == "smith"
    with pytest.raises(TypeError, match="raw must be a str"):
        G.learner_id(42)


def test_find_submissions_keeps_newest_duplicate_and_reports(tmp_path):
    (tmp_path / "ada").mkdir()
    old, new = tmp_path / "ada" / "01_perceptron.ipynb", tmp_path / "ada__01_perceptron.ipynb"
    old.write_text("{}")
    new.write_text("{}")
    os.utime(old, (time.time() - 100, time.time() - 100))
    (tmp_path / "bob__02_mlp.ipynb").write_text("{}")
    (tmp_path / "notes.ipynb").write_text("{}")
    (tmp_path / "moodle.zip").write_bytes(b"PK")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "cy__02_mlp.ipynb").write_text("{}")
    subs, problems = G.find_submissions(tmp_path, STEMS)
    assert [(s.learner, s.notebook, s.file) for s in subs] == [
        ("ada", "01_perceptron", "ada__01_perceptron.ipynb"), ("bob", "02_mlp", "bob__02_mlp.ipynb")]
    text = "\n".join(problems)
    assert "ada/01_perceptron.ipynb" in text and "newer" in text
    assert "notes.ipynb" in text and "moodle.zip" in text and "unzip" in text
    assert "cy" not in text
    with pytest.raises(ValueError, match="does not exist"):
        G.find_submissions(tmp_path / "nope", STEMS)


def test_run_folders_and_csv_never_overwrite(tmp_path):
    import datetime as dt
    now = dt.datetime(2030, 1, 2, 3, 4, 5)
    a, b = G.new_run_dir(tmp_path, now), G.new_run_dir(tmp_path, now)
    assert a != b and a.is_dir() and b.is_dir() and b.name.startswith(a.name)
    G.write_csv(a / "gradebook.csv", [{"learner": "x"}], ["learner"])
    before = (a / "gradebook.csv").read_text()
    with pytest.raises(FileExistsError, match="never overwrites"):
        G.write_csv(a / "gradebook.csv", [{"learner": "y"}], ["learner"])
    assert (a / "gradebook.csv").read_text() == before
    G._point_latest(tmp_path, a)
    G._point_latest(tmp_path, b)
    assert (tmp_path / "LATEST.txt").read_text().strip() == b.name
    assert (tmp_path / "latest").resolve() == b.resolve()


def test_grade_refuses_a_folder_without_submissions(tmp_path):
    (tmp_path / "notes.ipynb").write_text("{}")
    with pytest.raises(ValueError, match="no submissions to grade(.|\n)*notes.ipynb"):
        G.grade(tmp_path, tmp_path / "out", [FIXTURE_NB], quiet=True)
    assert not (tmp_path / "out").exists()


def test_course_notebooks_selection(tmp_path):
    graded = json.dumps({"cells": [{"cell_type": "code", "source": "", "metadata": {"nbgrader": {"grade": True}}}]})
    for name in ("00_intro.ipynb", "01_a.ipynb", "02_b_c.ipynb", "notes.ipynb"):
        (tmp_path / name).write_text(graded)
    (tmp_path / "03_no_exercises.ipynb").write_text("{}")
    assert [p.name for p in G.course_notebooks(tmp_path)] == ["00_intro.ipynb", "01_a.ipynb", "02_b_c.ipynb"]
    assert [p.name for p in G.course_notebooks(tmp_path, "2")] == ["02_b_c.ipynb"]
    with pytest.raises(ValueError, match="nb='07' matches no notebook"):
        G.course_notebooks(tmp_path, "07")
    with pytest.raises(ValueError, match="does not exist"):
        G.course_notebooks(tmp_path / "missing")


def test_fixture_follows_the_exercise_format():
    assert lint_notebook(FIXTURE_NB) == []
    kinds = [(e.grade_id, e.kind, e.answer_id) for e in G.exercises(_load(FIXTURE_NB))]
    assert kinds == [("ex1_sigmoid_tests", "auto", "ex1_sigmoid"), ("ex2_mse_tests", "auto", "ex2_mse"),
                     ("ex3_softmax_tests", "auto", "ex3_softmax"), ("written_1", "written", None)]


def test_config_file_matches_the_config_object(tmp_path):
    from traitlets.config.loader import PyFileConfigLoader
    (tmp_path / "nbgrader_config.py").write_text(G.config_file_text(33, show_hidden_tests=False))
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    obj = G.nbgrader_config(None, 33)
    assert cfg.Execute.timeout == obj.Execute.timeout == 33
    assert cfg.OverwriteCells.add_missing_cells is obj.OverwriteCells.add_missing_cells is True
    names = [p if isinstance(p, str) else f"{p.__module__}.{p.__name__}" for p in cfg.GenerateFeedback.preprocessors]
    assert "nbgrader.preprocessors.ClearHiddenTests" in names
    from traitlets.utils.importstring import import_item
    assert import_item("course_utils.tools.grading.ShortTracebacks").__name__ == "ShortTracebacks"


# --------------------------------------------------------------------------- student versions (nbgrader, no kernel)

# student_dir (tests/conftest.py): student versions of the fixture and of every course notebook, made once.


def test_student_version_of_fixture(student_dir):
    nb = _load(student_dir / FIXTURE_NB.name)
    assert G.check_student_version(nb) == []
    text = json.dumps(nb)
    assert "### BEGIN SOLUTION" not in text and "tanh" not in _G_src(_cell(nb, "ex1_sigmoid"))
    assert "sigmoid on large inputs" not in text          # hidden test removed
    assert "YOUR ANSWER HERE" in _G_src(_cell(nb, "written_1"))
    for gid in ("ex1_sigmoid", "ex2_mse", "ex3_softmax"):
        src = _G_src(_cell(nb, gid))
        assert "raise NotImplementedError()" in src and src.startswith("def ")  # the def line stays
    assert [e.grade_id for e in G.exercises(nb)] == [e.grade_id for e in G.exercises(_load(FIXTURE_NB))]
    assert all(c.get("outputs", []) == [] for c in nb["cells"] if c["cell_type"] == "code")
    setup = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "%pip install" in _G_src(setup) and "google.colab" in _G_src(setup)


@pytest.mark.parametrize("path", G.course_notebooks(), ids=lambda p: p.stem)
def test_student_version_of_course_notebook(student_dir, path):
    nb = _load(student_dir / path.name)
    assert G.check_student_version(nb) == []
    assert [e.grade_id for e in G.exercises(nb)] == [e.grade_id for e in G.exercises(_load(path))]


def test_check_student_version_finds_leaks():
    nb = _load(FIXTURE_NB)
    problems = G.check_student_version(nb)
    assert any("BEGIN SOLUTION" in p for p in problems) and any("HIDDEN TESTS" in p for p in problems)


def _G_src(cell):
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


# --------------------------------------------------------------------------- submission checks (no kernel)

def test_inspect_submission_reports_broken_files(tmp_path, student_dir):
    release = _load(student_dir / FIXTURE_NB.name)
    bad = tmp_path / "bad.ipynb"
    bad.write_text('{"cells": [')
    sub = G.Submission("ivy", STEM, "bad.ipynb")
    assert G.inspect_submission(bad, release, sub) is None
    assert sub.status == "invalid" and "not valid JSON" in sub.error
    bad.write_text("[1, 2]")
    sub = G.Submission("ivy", STEM, "bad.ipynb")
    assert G.inspect_submission(bad, release, sub) is None and "not a Jupyter notebook" in sub.error

    nb = copy.deepcopy(release)
    nb["cells"].remove(_cell(nb, "ex2_mse_tests"))
    _cell(nb, "ex1_sigmoid_tests")["source"] = "pass"
    nb["cells"].remove(_cell(nb, "ex3_softmax"))
    path = tmp_path / "s.ipynb"
    _save(nb, path)
    sub = G.Submission("gil", STEM, "s.ipynb")
    assert G.inspect_submission(path, release, sub, _load(FIXTURE_NB)) is not None
    assert "edited" in sub.notes["ex1_sigmoid_tests"][0]
    assert "deleted" in sub.notes["ex2_mse_tests"][0]
    assert "'ex3_softmax' is missing" in sub.notes["ex3_softmax_tests"][0]

    # the instructor version (hidden tests included) is not an edit
    _save(_load(FIXTURE_NB), path)
    sub = G.Submission("ada", STEM, "s.ipynb")
    G.inspect_submission(path, release, sub, _load(FIXTURE_NB))
    assert sub.notes == {}


def test_synthetic_class(tmp_path, student_dir):
    expected = G.synthetic_class(FIXTURE_NB, student_dir / FIXTURE_NB.name, 6, tmp_path)
    assert expected == {"learner000": 0, "learner001": 2, "learner002": 4, "learner003": 7,
                        "learner004": 0, "learner005": 2}
    subs, problems = G.find_submissions(tmp_path, [STEM])
    assert len(subs) == 6 and problems == []
    nb = _load(tmp_path / f"learner002__{STEM}.ipynb")
    assert "NotImplementedError" not in _G_src(_cell(nb, "ex2_mse"))
    assert "NotImplementedError" in _G_src(_cell(nb, "ex3_softmax"))
    with pytest.raises(ValueError, match="n must be a positive int"):
        G.synthetic_class(FIXTURE_NB, student_dir / FIXTURE_NB.name, 0, tmp_path)


# --------------------------------------------------------------------------- slow: a class of broken submissions

SIG = "def sigmoid(z):\n    return 1 / (1 + np.exp(-np.clip(z, -5, 5)))\n"   # right on [-5, 5]: fails the hidden test
SIG_OK = "def sigmoid(z):\n    return np.exp(-np.logaddexp(0.0, -np.asarray(z, float)))\n"
SOFTMAX = ("def softmax(z):\n    e = np.exp(z - np.max(z, axis=-1, keepdims=True))\n"
           "    return e / e.sum(axis=-1, keepdims=True)\n")
MSE = "def mse(a, b):\n    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))\n"
CELL_LIMIT, SUBMISSION_LIMIT = 8, 90


def _class_folder(folder: Path, student: Path) -> dict:
    """Write the class; return {learner: expected {exercise: points}}."""
    stu, ins = _load(student), _load(FIXTURE_NB)

    def sub(learner, answers=None, edit=None, name=None):
        nb = copy.deepcopy(stu)
        for gid, src in (answers or {}).items():
            _cell(nb, gid)["source"] = src
        if edit:
            edit(nb)
        _save(nb, folder / (name or f"{learner}__{STEM}.ipynb"))

    _save(ins, folder / f"ada__{STEM}.ipynb")                                  # correct
    sub("bob", {"ex1_sigmoid": SIG, "ex2_mse": "def mse(a, b):\n    return float(np.sum((a - b) ** 2))\n",
                "ex3_softmax": SOFTMAX})                                     # partly wrong
    sub("cy", name=f"Cy Young_4242_assignsubmission_file_{STEM}.ipynb")        # blank, Moodle name
    sub("dee", {"ex1_sigmoid": SIG_OK,                                         # crashing
                "ex2_mse": "import os\nprint('CWD', os.getcwd())\nraise ValueError('boom')\n",
                "ex3_softmax": "import os\nos._exit(3)\n"})
    sub("eve", {"ex1_sigmoid": SIG_OK, "ex2_mse": "while True:\n    pass\n"})  # loops (interrupt works)
    sub("fay", {"ex1_sigmoid": SIG_OK, "ex2_mse": MSE,                         # hangs: ignores the interrupt
                "ex3_softmax": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"})
    sub("gus", {"ex1_sigmoid": "import signal\ndef sigmoid(z):\n    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                               "    while True:\n        pass\n", "ex2_mse": MSE})   # hangs inside the test cell

    def edit_tests(nb):
        _cell(nb, "ex1_sigmoid_tests")["source"] = "print('all good')"
        _cell(nb, "ex3_softmax_tests")["metadata"]["nbgrader"]["points"] = 30
    sub("gil", {"ex1_sigmoid": "def sigmoid(z):\n    return z\n", "ex2_mse": MSE, "ex3_softmax": SOFTMAX},
        edit=edit_tests)

    def delete_test(nb):
        nb["cells"].remove(_cell(nb, "ex2_mse_tests"))
    sub("hal", {"ex2_mse": "def mse(a, b):\n    return 0.0\n"}, edit=delete_test)
    (folder / f"ivy__{STEM}.ipynb").write_text('{"cells": [{"cell_type": "code"', encoding="utf-8")
    (folder / "readme.ipynb").write_text("{}", encoding="utf-8")
    zero = {"ex1_sigmoid_tests": 0, "ex2_mse_tests": 0, "ex3_softmax_tests": 0}
    return {
        "ada": {"ex1_sigmoid_tests": 2, "ex2_mse_tests": 2, "ex3_softmax_tests": 3},
        "bob": {**zero, "ex3_softmax_tests": 3},   # clip fails the hidden test; sum instead of mean
        "cy-young": zero,
        "dee": {**zero, "ex1_sigmoid_tests": 2},
        "eve": {**zero, "ex1_sigmoid_tests": 2},
        "fay": {**zero, "ex1_sigmoid_tests": 2, "ex2_mse_tests": 2},
        "gus": {**zero, "ex2_mse_tests": 2},
        "gil": {**zero, "ex2_mse_tests": 2, "ex3_softmax_tests": 3},   # not 30: the points edit is undone
        "hal": zero,
        "ivy": zero,
    }


@pytest.fixture(scope="module")
def class_run(tmp_path_factory, student_dir):
    folder = tmp_path_factory.mktemp("class")
    expected = _class_folder(folder, student_dir / FIXTURE_NB.name)
    out = tmp_path_factory.mktemp("grades")
    t0 = time.perf_counter()
    run = G.grade(folder, out, [FIXTURE_NB], cell_timeout=CELL_LIMIT, submission_timeout=SUBMISSION_LIMIT,
                  jobs=2, quiet=True)
    return run, expected, time.perf_counter() - t0, out


@pytest.mark.slow
def test_class_points(class_run):
    run, expected, _, _ = class_run
    rows = _rows(run)
    for learner, points in expected.items():
        assert _points(rows, learner) == points, learner
    assert {r["learner"] for r in rows} == set(expected)
    assert set(rows[0]) >= {"learner", "notebook", "exercise", "points", "max_points"}


@pytest.mark.slow
def test_class_report_says_what_happened(class_run):
    run, _, _, _ = class_run
    rows = {(r["learner"], r["exercise"]): r for r in _rows(run)}
    assert rows[("ada", "written_1")]["status"] == "needs manual grading"
    assert rows[("cy-young", "written_1")]["status"] == "no answer"
    assert "NotImplementedError" in rows[("cy-young", "ex1_sigmoid_tests")]["note"]
    assert "sigmoid on large inputs" in rows[("bob", "ex1_sigmoid_tests")]["note"]
    assert "ValueError: boom" in rows[("dee", "ex2_mse_tests")]["note"]
    assert "kernel died" in rows[("dee", "ex3_softmax_tests")]["note"]
    assert "time limit" in rows[("eve", "ex2_mse_tests")]["note"]
    assert "ignored the interrupt" in rows[("fay", "ex3_softmax_tests")]["note"]
    assert "ignored the interrupt" in rows[("gus", "ex1_sigmoid_tests")]["note"]
    assert "edited" in rows[("gil", "ex1_sigmoid_tests")]["note"]
    assert rows[("gil", "ex3_softmax_tests")]["max_points"] == "3"          # points edit undone
    assert "deleted" in rows[("hal", "ex2_mse_tests")]["note"]
    assert rows[("ivy", "ex1_sigmoid_tests")]["status"] == "not graded"
    assert "not valid JSON" in rows[("ivy", "ex1_sigmoid_tests")]["note"]
    report = (run / "report.md").read_text()
    assert "readme.ipynb" in report and "not valid JSON" in report and "disabled" in report
    with open(run / "summary.csv", encoding="utf-8") as fh:
        summary = {r["learner"]: r for r in csv.DictReader(fh)}
    assert summary["ada"]["auto_points"] == "7" and summary["ada"]["auto_max"] == "7"
    assert summary["cy-young"]["file"].startswith("Cy Young_4242")


@pytest.mark.slow
def test_class_feedback_and_formgrader_course(class_run):
    run, expected, _, _ = class_run
    for learner in expected:
        index = run / "feedback" / learner / "index.html"
        assert index.exists(), learner
    page = (run / "feedback" / "bob" / f"{STEM}.html").read_text(encoding="utf-8")
    assert "sigmoid on large inputs" in page                       # which hidden check failed...
    assert "np.array([-800., 800.])" not in page                   # ...but not the hidden test code
    assert "BEGIN HIDDEN TESTS" not in page
    assert "ValueError: boom" in (run / "feedback" / "dee" / "index.html").read_text(encoding="utf-8")
    course = run / "course"
    assert (course / "gradebook.db").exists() and (course / "nbgrader_config.py").exists()
    for d in ("source", "release", "submitted", "autograded", "feedback"):
        assert (course / d / STEM).exists() or (course / d).is_dir(), d


@pytest.mark.slow
def test_class_runs_outside_the_tree_and_in_bounded_time(class_run):
    run, expected, seconds, _ = class_run
    nb = _load(run / "course" / "autograded" / "dee" / STEM / f"{STEM}.ipynb")
    out = "".join(_G_src({"source": o.get("text", "")}) for c in nb["cells"] for o in c.get("outputs", [])
                  if o.get("name") == "stdout")
    cwd = re.search(r"CWD (\S+)", out).group(1)
    assert "hodl-grade-" in cwd and not cwd.startswith(str(REPO)) and not cwd.startswith(str(run))
    # two hanging kernels cost about a cell limit + 4 s each, not the whole submission limit
    assert seconds < len(expected) * 25 + 2 * SUBMISSION_LIMIT


@pytest.mark.slow
def test_grading_twice_keeps_the_earlier_gradebook(class_run, tmp_path, student_dir):
    run1, _, _, out = class_run
    first = (run1 / "gradebook.csv").read_bytes()
    folder = tmp_path / "again"
    _save(_load(student_dir / FIXTURE_NB.name), folder / f"zed__{STEM}.ipynb")
    run2 = G.grade(folder, out, [FIXTURE_NB], quiet=True)
    assert run2 != run1 and run1.is_dir()
    assert (run1 / "gradebook.csv").read_bytes() == first
    assert (out / "latest").resolve() == run2.resolve()
    assert _points(_rows(run2), "zed") == {"ex1_sigmoid_tests": 0, "ex2_mse_tests": 0, "ex3_softmax_tests": 0}
    exported = G.export(run1)
    assert exported.name.startswith("gradebook-") and (run1 / "gradebook.csv").read_bytes() == first
    assert _rows(run1) == [dict(r) for r in csv.DictReader(open(exported, encoding="utf-8"))]


@pytest.mark.slow
def test_manual_grade_flows_into_export(class_run, tmp_path):
    import shutil

    from nbgrader.api import Gradebook
    run1, _, _, _ = class_run
    run = tmp_path / "copy"
    shutil.copytree(run1, run)
    with Gradebook(f"sqlite:///{run / 'course' / 'gradebook.db'}", "hands-on-dl") as gb:
        g = gb.find_grade("written_1", STEM, STEM, "ada")
        g.manual_score = 1.5
        gb.db.commit()
        # a comment, as the formgrader saves it (on blur) into the gradebook
        c = gb.find_comment("written_1", STEM, STEM, "ada")
        c.manual_comment = "Right idea; say why the <loss> falls."
        gb.db.commit()
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and "gradebook.db" not in p.name}
    exported = G.export(run)
    rows = {(r["learner"], r["exercise"]): r for r in csv.DictReader(open(exported, encoding="utf-8"))}
    assert rows[("ada", "written_1")]["points"] == "1.5"
    assert rows[("ada", "written_1")]["status"] == "graded by hand"
    assert rows[("ada", "written_1")]["note"] == "instructor's comment: Right idea; say why the <loss> falls."
    # the learner gets the final points and the comment in new pages; nothing earlier changed
    assert {p: p.read_bytes() for p in before} == before
    fb = run / exported.name.replace("gradebook-", "feedback-").removesuffix(".csv")
    index = (fb / "ada" / "index.html").read_text(encoding="utf-8")
    assert "1.5 / " in index and "Right idea; say why the &lt;loss&gt; falls." in index
    assert "Final grades" in index
    old_index = (run / "feedback" / "ada" / "index.html").read_text(encoding="utf-8")
    assert "Right idea" not in old_index and "not in yet" in old_index
    page = (fb / "ada" / f"{STEM}.html").read_text(encoding="utf-8")
    assert "Right idea; say why the" in page   # nbgrader's own page (comments as markdown), from the gradebook
    # readable offline: math as MathML, no script or picture from the internet
    for p in (page, (run / "feedback" / "ada" / f"{STEM}.html").read_text(encoding="utf-8")):
        assert "<math" in p and "MathJax.Hub" not in p and not re.search(r"<script[^>]*mathjax", p, re.I)
        assert not re.search(r"<(script|img|link)[^>]+(src|href)=.https?://", p)
    # a second export leaves the first one alone
    second = G.export(run)
    assert second != exported and exported.exists()


def test_offline_markdown_turns_tex_into_mathml_and_leaves_code_alone():
    md = ("For $x \\in \\mathbb{R}$ the price is \\$5 and `$HOME` stays:\n\n$$a^2 + b^2$$\n\n"
          "```\ny = $z$\n```\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
          "(https://colab.research.google.com/x.ipynb) and $\\frac{1}{$")
    out = G.offline_markdown(md)
    assert out.count("<math") == 2 and 'display="block"' in out and 'display="inline"' in out
    assert "`$HOME`" in out and "y = $z$" in out and "\\$5" in out
    assert "[Open In Colab](https://colab.research.google.com/x.ipynb)" in out and "svg" not in out
    assert out.endswith("<code>\\frac{1}{</code>")   # TeX that does not convert: shown as code
    assert G.offline_markdown("$\\begin{nonsense}$").startswith("<code>")


def test_course_config_keeps_nbgrader_off_the_system_exchange(tmp_path):
    from traitlets.config.loader import PyFileConfigLoader
    (tmp_path / "nbgrader_config.py").write_text(G.config_file_text(30, False))
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    assert cfg.Exchange.root == str(tmp_path / "exchange")
    assert "course_utils.tools.grading.OfflineFeedback" in cfg.GenerateFeedback.preprocessors
    assert G.OfflineFeedback is G._offline_feedback_class()


# --------------------------------------------------------------------------- slow: the nbgrader round trip

@pytest.mark.slow
@pytest.mark.parametrize("path", [FIXTURE_NB], ids=lambda p: p.stem)
def test_round_trip(path, student_dir, tmp_path):
    """Through nbgrader's own autograde: instructor version full marks, no cell errors; student version,
    untouched, zero on every autograded exercise, every cell runs (errors only in exercise cells).

    For the course notebooks the same conditions are checked on the executions `make test` makes anyway
    (nbval's run of the instructor version, tests/test_student_runs.py for the student version), so that
    each notebook runs twice in the suite instead of four times; the integrity test below grades 01's
    instructor version through nbgrader too."""
    folder = tmp_path / "subs"
    _save(_load(path), folder / f"instructor__{path.stem}.ipynb")
    _save(_load(student_dir / path.name), folder / f"student__{path.stem}.ipynb")
    run = G.grade(folder, tmp_path / "grades", [path], quiet=True)
    rows = _rows(run)
    exs = [e for e in G.exercises(_load(path)) if e.kind == "auto"]
    assert len(exs) >= 3
    full = {e.grade_id: e.points for e in exs}
    assert _points(rows, "instructor", path.stem) == full
    assert _points(rows, "student", path.stem) == {k: 0 for k in full}
    for who in ("instructor", "student"):
        nb = _load(run / "course" / "autograded" / who / path.stem / path.name)
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(c.get("execution_count") for c in code), f"{who}: not every cell ran"
        errored = [c for c in code if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
        if who == "instructor":
            assert errored == [], [_G_src(c)[:80] for c in errored]
        else:
            assert all(c["metadata"].get("nbgrader", {}).get("grade_id") for c in errored), \
                [_G_src(c)[:80] for c in errored if not c["metadata"].get("nbgrader")]


@pytest.mark.slow
def test_submission_limit_kills_the_kernel_and_regrades(tmp_path, student_dir):
    """The per-submission wall limit is the backstop when the per-cell limit does not fire first."""
    nb = _load(student_dir / FIXTURE_NB.name)
    _cell(nb, "ex1_sigmoid")["source"] = SIG_OK
    _cell(nb, "ex2_mse")["source"] = "import time\ntime.sleep(300)\n" + MSE
    _save(nb, tmp_path / "subs" / f"kim__{STEM}.ipynb")
    t0 = time.perf_counter()
    run = G.grade(tmp_path / "subs", tmp_path / "grades", [FIXTURE_NB], cell_timeout=300,
                  submission_timeout=15, quiet=True)
    assert time.perf_counter() - t0 < 200
    rows = {r["exercise"]: r for r in _rows(run) if r["learner"] == "kim"}
    assert float(rows["ex1_sigmoid_tests"]["points"]) == 2 and float(rows["ex2_mse_tests"]["points"]) == 0
    assert "15 s limit for a whole submission" in rows["ex2_mse_tests"]["note"]


# --------------------------------------------------------------------------- slow: grading integrity

PATCH_CHECKS = ("import course_utils\n"
                "for _name in ('close', 'equal', 'shape', 'true', 'function', 'raises', 'not_implemented'):\n"
                "    setattr(course_utils.checks, _name, lambda *a, **k: None)\n")


def _dummies(ins):
    """Source that binds every name the instructor's answer cells bind to a do-nothing function."""
    import ast
    names = []
    for c in ins["cells"]:
        g = c.get("metadata", {}).get("nbgrader", {})
        if g.get("solution") and c["cell_type"] == "code":
            tree = ast.parse(_G_src(c))
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    names.append(node.name)
                elif isinstance(node, ast.Assign):
                    names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return "".join(f"{n} = lambda *a, **k: 0.0\n" for n in dict.fromkeys(names))


def _reference_caller(ins):
    """(answer grade_id, source) for the first exercise whose public test compares with a reference:
    an answer that only calls that reference."""
    import ast
    answer = None
    for c in ins["cells"]:
        g = c.get("metadata", {}).get("nbgrader", {})
        if g.get("solution") and c["cell_type"] == "code":
            answer = g["grade_id"]
        elif g.get("grade") and c["cell_type"] == "code" and answer:
            for node in ast.walk(ast.parse(_G_src(c).split("### BEGIN HIDDEN TESTS")[0])):
                if (isinstance(node, ast.Call) and ast.unparse(node.func).endswith("checks.function")
                        and len(node.args) >= 3 and isinstance(node.args[1], ast.Name)):
                    fn, ref = node.args[1].id, ast.unparse(node.args[2])
                    return answer, f"def {fn}(*args, **kwargs):\n    return {ref}(*args, **kwargs)\n"
    raise AssertionError("no exercise compares the answer with a reference via cu.checks.function")


def _integrity_class(folder, path, student):
    """Four learners: a reference caller (rest solved), a patch in an answer cell, a patch in an added
    cell, and an honest full solution. Returns {learner: expected points}."""
    ins, stu = _load(path), _load(student)
    stem = path.stem
    autos = [e for e in G.exercises(ins) if e.kind == "auto"]
    full = {e.grade_id: e.points for e in autos}
    ref_answer, ref_src = _reference_caller(ins)
    nb = copy.deepcopy(ins)
    _cell(nb, ref_answer)["source"] = ref_src
    _save(nb, folder / f"rita__{stem}.ipynb")
    nb = copy.deepcopy(stu)
    first = next(e.answer_id for e in autos if e.answer_id)
    _cell(nb, first)["source"] = PATCH_CHECKS + _dummies(ins)
    _save(nb, folder / f"pat__{stem}.ipynb")
    nb = copy.deepcopy(stu)
    pos = nb["cells"].index(_cell(nb, first))
    nb["cells"].insert(pos, {"cell_type": "code", "id": "added-by-learner", "metadata": {}, "execution_count": None, "outputs": [],
                             "source": "cu.checks.close = cu.checks.function = cu.checks.equal = print\n"
                                       + _dummies(ins)})
    _save(nb, folder / f"abe__{stem}.ipynb")
    _save(ins, folder / f"ana__{stem}.ipynb")
    ref_test = next(e.grade_id for e in autos if e.answer_id == ref_answer)
    return {"rita": {**full, ref_test: 0}, "pat": {k: 0 for k in full}, "abe": {k: 0 for k in full},
            "ana": full}, ref_test


@pytest.mark.slow
@pytest.mark.parametrize("path", [FIXTURE_NB] + G.course_notebooks(nb="01"), ids=lambda p: p.stem)
def test_integrity_reference_calls_and_patches_score_zero(path, student_dir, tmp_path):
    """A reference call scores 0 on its exercise; patching the checks (answer cell or added cell) scores 0 on
    every exercise; the report and the feedback say why; an honest solution keeps full marks."""
    expected, ref_test = _integrity_class(tmp_path / "subs", path, student_dir / path.name)
    run = G.grade(tmp_path / "subs", tmp_path / "grades", [path], jobs=2, quiet=True)
    rows = _rows(run)
    for learner, points in expected.items():
        assert _points(rows, learner, path.stem) == points, learner
    notes = {(r["learner"], r["exercise"]): r for r in rows}
    assert "calls the reference implementation" in notes[("rita", ref_test)]["note"]
    assert notes[("rita", ref_test)]["status"] == "failed (integrity)"
    for learner in ("pat", "abe"):
        assert all("patches the test machinery" in r["note"] for r in rows
                   if r["learner"] == learner and r["kind"] == "auto"), learner
    report = (run / "report.md").read_text()
    assert "patches the test machinery" in report and "calls the reference implementation" in report
    assert "patches the test machinery" in (run / "feedback" / "pat" / "index.html").read_text()
    executed = _load(run / "course" / "autograded" / "abe" / path.stem / path.name)
    assert any(G.DISABLED_MARK in _G_src(c) for c in executed["cells"])   # the patch never ran


@pytest.mark.slow
def test_integrity_attack_earns_points_without_the_scan(student_dir, tmp_path, monkeypatch):
    """The test of the test: with the scan switched off, the patching submission does earn points."""
    expected, _ = _integrity_class(tmp_path / "subs", FIXTURE_NB, student_dir / FIXTURE_NB.name)
    for f in (tmp_path / "subs").glob("*.ipynb"):
        if not f.name.startswith("pat__"):
            f.unlink()
    monkeypatch.setattr(G, "apply_integrity", lambda *a, **k: None)
    run = G.grade(tmp_path / "subs", tmp_path / "grades", [FIXTURE_NB], quiet=True)
    assert sum(_points(_rows(run), "pat").values()) > 0
