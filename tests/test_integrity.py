"""The grader's integrity scan (course_utils.tools.integrity): reference calls and machinery patches.

Static tests, no kernels: crafted submissions of the grading fixture and of every course notebook are
scanned against their student versions. The end-to-end scoring of such submissions is in
tests/test_grading.py (test_integrity_*).
"""
from __future__ import annotations

import ast
import copy
import json
from pathlib import Path

import pytest

from course_utils.tools import grading as G
from course_utils.tools import integrity as I
from course_utils.tools.nbtools import _nbg, _src

REPO = Path(__file__).resolve().parents[1]
FIXTURE_NB = REPO / "tests" / "fixtures" / "grading" / "99_grading_fixture.ipynb"


def _load(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _student(nb):
    """A student version made without nbgrader: solutions stubbed, hidden tests dropped (enough for the scan)."""
    out = copy.deepcopy(nb)
    for c in out["cells"]:
        g = _nbg(c)
        src = _src(c)
        if g.get("solution") and c["cell_type"] == "code":
            c["source"] = "# YOUR CODE HERE\nraise NotImplementedError()"
        elif g.get("grade") and "### BEGIN HIDDEN TESTS" in src:
            c["source"] = src.split("### BEGIN HIDDEN TESTS")[0]
    return out


def _answer(nb, grade_id):
    return next(c for c in nb["cells"] if _nbg(c).get("grade_id") == grade_id)


def _add_cell(nb, index, source):
    nb["cells"].insert(index, {"cell_type": "code", "metadata": {}, "source": source, "outputs": [],
                               "execution_count": None})


def _kinds(findings):
    return sorted({(f.kind, f.answer) for f in findings})


@pytest.fixture(scope="module")
def fixture():
    ins = _load(FIXTURE_NB)
    return ins, _student(ins)


def test_instructor_version_is_clean(fixture):
    ins, stu = fixture
    assert I.scan(ins, stu, ins) == []
    assert I.scan(stu, stu, ins) == []


@pytest.mark.parametrize("path", G.course_notebooks(), ids=lambda p: p.stem)
def test_course_solutions_are_clean(path):
    """Every model solution obeys the rule it grades by: no reference call, no forbidden import, no patching."""
    ins = _load(path)
    found = I.scan(ins, _student(ins), ins)
    assert found == [], [f.message() for f in found]


def test_course_names_finds_aliases_and_check_references(fixture):
    ins, _ = fixture
    names = I.course_names(ins)
    assert names["cu"] == "course_utils"
    assert names["ref_sigmoid"] == "reference:ref_sigmoid"          # passed to cu.checks.function
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source":
                     "import course_utils as cu\nS = cu.scratch\nf = S.neuron\ndigits = cu.data.load('digits')\n"
                     "from course_utils.scratch import relu as r\n"}]}
    names = I.course_names(nb)
    assert names["S"] == "course_utils.scratch" and names["f"] == "course_utils.scratch.neuron"
    assert names["r"] == "course_utils.scratch.relu" and "digits" not in names   # a call binds data


@pytest.mark.parametrize("answer, what", [
    ("def sigmoid(z):\n    return ref_sigmoid(z)\n", "ref_sigmoid"),
    ("sigmoid = ref_sigmoid\n", "ref_sigmoid"),
    ("def sigmoid(z):\n    return cu.scratch.sigmoid(z)\n", "cu.scratch"),
    ("import course_utils.scratch as T\ndef sigmoid(z):\n    return T.sigmoid(z)\n", "import course_utils.scratch"),
    ("def sigmoid(z):\n    f = getattr(cu, 'scr' + 'atch')\n    return f.sigmoid(z)\n", "cu"),
])
def test_reference_call_in_the_answer(fixture, answer, what):
    ins, stu = fixture
    sub = copy.deepcopy(stu)
    _answer(sub, "ex1_sigmoid")["source"] = answer
    found = I.scan(sub, stu, ins)
    assert _kinds(found) == [("reference", "ex1_sigmoid")], [f.message() for f in found]
    assert any(f.what.startswith(what) for f in found), [f.what for f in found]
    assert "calls the reference implementation" in found[0].message()


def test_reference_reached_through_the_learners_own_cells(fixture):
    """An alias or a helper defined in an added cell carries the reference into the answer."""
    ins, stu = fixture
    sub = copy.deepcopy(stu)
    _add_cell(sub, 7, "T = cu\nhelper = lambda z: T.scratch.sigmoid(z)\n")
    _add_cell(sub, 8, "def also(z):\n    return helper(z)\n")
    _answer(sub, "ex1_sigmoid")["source"] = "def sigmoid(z):\n    return also(z)\n"
    _answer(sub, "ex3_softmax")["source"] = "import numpy as np\ndef softmax(z):\n    e = np.exp(z)\n    return e / e.sum(-1, keepdims=True)\n"
    found = I.scan(sub, stu, ins)
    assert _kinds(found) == [("reference", "ex1_sigmoid")], [f.message() for f in found]
    assert found[0].what == "also"


def test_exploring_with_the_reference_outside_answers_is_allowed(fixture):
    ins, stu = fixture
    sub = copy.deepcopy(stu)
    _add_cell(sub, 9, "print(ref_sigmoid(0.0), cu.checks.close('mine', 0.5, 0.5))\nw = 3\n%timeit ref_sigmoid(1.0)\n")
    _answer(sub, "ex1_sigmoid")["source"] = _src(_answer(ins, "ex1_sigmoid"))
    assert I.scan(sub, stu, ins) == []


@pytest.mark.parametrize("code, where", [
    ("import course_utils\nsetattr(course_utils.checks, 'function', lambda *a, **k: None)\n", "answer"),
    ("cu.checks.close = lambda *a, **k: None\n", "added"),
    ("import course_utils.checks as C\nC.function = lambda *a, **k: None\n", "added"),
    ("np.testing.assert_allclose = lambda *a, **k: None\n", "answer"),
    ("t = np.testing\nt.assert_allclose = print\n", "added"),
    ("get_ipython().showtraceback = lambda *a, **k: None\n", "added"),
    ("%load_ext something\n", "added"),
    ("vars(cu.checks)['close'] = print\n", "answer"),
    ("ref_sigmoid.__code__ = (lambda z: z).__code__\n", "added"),
    ("exec('cu.checks.close = print')\n", "answer"),
    ("import sys\nsys.modules['course_utils.checks'].close = print\n", "added"),
])
def test_machinery_patch(fixture, code, where):
    ins, stu = fixture
    sub = copy.deepcopy(stu)
    if where == "answer":
        _answer(sub, "ex2_mse")["source"] = code + "def mse(a, b):\n    return 0.0\n"
    else:
        _add_cell(sub, 5, code)
    found = I.scan(sub, stu, ins)
    assert "tamper" in {f.kind for f in found}, [f.message() for f in found]
    assert "patches the test machinery" in next(f for f in found if f.kind == "tamper").message()


def test_imports_answers_may_not_use(fixture):
    ins, stu = fixture
    sub = copy.deepcopy(stu)
    _answer(sub, "ex1_sigmoid")["source"] = "import os\ndef sigmoid(z):\n    return os.getpid()\n"
    _answer(sub, "ex2_mse")["source"] = "from sklearn.datasets import load_digits\ndef mse(a, b):\n    return 0.0\n"
    _answer(sub, "ex3_softmax")["source"] = ("import scipy.special, re, html\ndef softmax(z):\n"
                                             "    return scipy.special.softmax(z, -1)\n")
    found = I.scan(sub, stu, ins)
    assert _kinds(found) == [("import", "ex1_sigmoid"), ("import", "ex2_mse")], [f.message() for f in found]


def test_locked_test_cells_and_unchanged_cells_are_not_the_learners(fixture):
    ins, stu = fixture
    sub = copy.deepcopy(stu)
    # an edited locked test cell is restored by nbgrader before it runs: not scanned
    _answer(sub, "ex1_sigmoid_tests")["source"] = "cu.checks.close = print\n"
    assert I.scan(sub, stu, ins) == []
    assert [label for label, _, _ in I.learner_cells(sub, stu)] == ["ex1_sigmoid", "ex2_mse", "ex3_softmax"]


def test_a_syntax_error_is_left_to_the_kernel(fixture):
    ins, stu = fixture
    sub = copy.deepcopy(stu)
    _answer(sub, "ex1_sigmoid")["source"] = "def sigmoid(z:\n"
    assert I.scan(sub, stu, ins) == []


def test_scan_refuses_what_is_not_a_notebook():
    with pytest.raises(TypeError, match="notebook dicts"):
        I.scan("x.ipynb", {})


def test_finding_messages_name_the_cell_and_line():
    f = I.Finding("reference", "ex1", "ex1", "S.neuron", 3)
    assert f.message().startswith("calls the reference implementation (S.neuron, ex1, line 3)")
    assert f.as_dict()["message"] == f.message()
    ast.parse("x = 1")   # the module's parser is the standard one
