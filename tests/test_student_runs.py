"""Every course notebook's student version, untouched, as the grader runs it: zero points, runs to the end.

One execution per notebook (fast mode, the grader's environment, locked test cells with their hidden tests
restored as nbgrader does). The instructor version's conditions (every cell runs, every test cell earns its
points under nbgrader's rule) are checked on nbval's execution of it (tests/conftest.py), so the suite runs
each notebook twice. The nbgrader round trip itself is tested on the fixture and on notebook 01
(tests/test_grading.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from course_utils.tools import grading as G
from course_utils.tools import integrity
from course_utils.tools.run import kernel_manager_class


def _load(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.parametrize("path", G.course_notebooks(), ids=lambda p: p.stem)
def test_student_version_scores_zero_and_runs_to_the_end(path, student_dir, tmp_path):
    from nbclient import NotebookClient
    from nbgrader.utils import determine_grade
    ins, stu = _load(path), _load(student_dir / path.name)
    assert integrity.scan(stu, stu, ins) == []          # the untouched student version is not flagged
    nb = nbformat.reads(json.dumps(G.as_graded(stu, ins)), as_version=4)
    autos = [e for e in G.exercises(ins) if e.kind == "auto"]
    assert len(autos) >= (1 if path.name.startswith("00") else 3)
    kmc = kernel_manager_class()
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}},
                            **({"kernel_manager_class": kmc} if kmc else {}))
    client.execute(env=G.grading_env(full=False))
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "not every cell ran"
    errored = [c for c in code if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert all(c.metadata.get("nbgrader", {}).get("grade_id") for c in errored), \
        [c.source[:80] for c in errored if not c.metadata.get("nbgrader")]
    points = {c.metadata.nbgrader.grade_id: determine_grade(c)[0] for c in code
              if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata.nbgrader.get("solution")}
    assert points == {e.grade_id: 0 for e in autos}


@pytest.mark.slow
def test_nbval_run_applies_nbgrader_rule_to_test_cells(tmp_path):
    """The test of the suite's shortcut: a test cell of an instructor version that nbgrader would score 0
    (here: it writes to stderr, which nbval alone accepts) fails `make test`'s nbval run."""
    import subprocess
    import sys
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import sys\nprint('careful', file=sys.stderr)"),
                nbformat.v4.new_code_cell("print('fine')")]
    nb.cells[0].metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 2,
                                        "grade_id": "t1", "schema_version": 3}
    nbformat.write(nb, tmp_path / "98_rule.ipynb")
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                          "tests/test_checks.py::test_close_passes_and_prints", str(tmp_path / "98_rule.ipynb")],
                         cwd=repo, capture_output=True, text=True, timeout=300)
    assert "1 failed, 2 passed" in out.stdout, out.stdout[-2000:]
    assert "nbgrader would give this test cell of the instructor version 0/2 points" in out.stdout
