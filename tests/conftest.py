"""Shared test setup: headless matplotlib, no downloads, repo paths, and what lets the suite scale.

* Every notebook executes twice in `make test`, not three times: its instructor version under nbval
  (every cell must run; a hook below also applies nbgrader's scoring rule to the test cells of that same
  execution, so "instructor full marks" needs no run of its own), and its student version once in
  tests/test_student_runs.py (zero points, every cell runs).
* Tests are scheduled by file (`--dist loadfile`): a notebook's nbval cells share a kernel and stay together.
* Student versions are made once per session for all workers (a file lock; nbgrader's
  generate_assignment takes seconds per notebook).
* `COURSE_TEST_TIMES=<file>` writes the time each notebook cost the suite (`make bench-tests`).
* Each course notebook (notebooks/) whose nbval cells all passed is written, with the outputs of that execution, to
  build/test-executed/<stem>.ipynb (`COURSE_TEST_EXECUTED=<dir>` elsewhere, empty: not at all): the
  course website's test (tests/test_site.py, run by `make test` after this suite) builds from them.
"""
import hashlib
import json
import os
import time
from pathlib import Path

import pytest

import matplotlib

matplotlib.use("Agg")  # in this process only: kernels started by tests keep the inline backend
os.environ["COURSE_OFFLINE"] = "1"  # nothing downloads in tests (the download test serves its own files)

REPO = Path(__file__).resolve().parents[1]
FIXTURE_NB = REPO / "tests" / "fixtures" / "grading" / "99_grading_fixture.ipynb"


@pytest.fixture
def repo():
    return REPO


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt
    plt.close("all")


# --------------------------------------------------------------------------- student versions, once

@pytest.fixture(scope="session")
def student_dir(tmp_path_factory):
    """Student versions of the grading fixture and of every course notebook, made once for all workers."""
    import fcntl

    from course_utils.tools import grading as G
    paths = [FIXTURE_NB] + G.course_notebooks()
    digest = hashlib.sha256()
    for p in paths + [REPO / "course_utils" / "tools" / "grading.py"]:
        digest.update(p.name.encode() + p.read_bytes())
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent            # the folder all workers of this session share
    out = shared / f"student-{digest.hexdigest()[:12]}"
    with open(shared / f"{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / ".done").exists():
            G.student_versions(out, paths)
            (out / ".done").write_text("ok\n")
    return out


# --------------------------------------------------------------------------- the suite plugin
# Registered on the plugin manager, not left as conftest hooks: conftest hooks that take an item only
# see items under tests/, and these must also see the notebooks/*.ipynb items nbval collects.

def _nbgrader_points(item):
    """(points, max) nbgrader would give the test cell nbval just ran, or None for other cells."""
    cell = getattr(item, "cell", None)
    outputs = getattr(item, "test_outputs", None)
    if cell is None or outputs is None or cell.get("cell_type") != "code":
        return None
    g = cell.get("metadata", {}).get("nbgrader", {})
    if not g.get("grade") or g.get("solution"):
        return None
    import nbformat
    from nbgrader.utils import determine_grade
    node = nbformat.from_dict({**cell, "outputs": outputs})
    return determine_grade(node)


def _cost_key(nodeid: str):
    """("03_backpropagation", "nbval"|"student") for a notebook's tests, ("other", module) for the rest."""
    path = nodeid.split("::")[0]
    if path.endswith(".ipynb") and path.startswith("notebooks/"):
        return Path(path).stem, "nbval"
    if path.endswith("test_student_runs.py") and "[" in nodeid:
        return nodeid.split("[", 1)[1].split("]")[0], "student"
    return "other", Path(path).stem


class _SuitePlugin:
    def __init__(self):
        self.times: dict = {}
        self.start = time.time()
        self.executed: dict = {}   # notebook path -> {"outs": {cell_num: outputs}, "failed": bool}

    def _capture(self, item, report):
        """Keep a notebook cell's outputs; write the notebook once its last code cell has passed."""
        nb = getattr(getattr(item, "parent", None), "nb", None)
        if nb is None or not hasattr(item, "cell_num"):
            return
        if Path(str(item.fspath)).resolve().parent != REPO / "notebooks":
            return   # the course's notebooks only: not the grading fixture nbval also runs under tests/
        folder = os.environ.get("COURSE_TEST_EXECUTED", str(REPO / "build" / "test-executed"))
        if not folder:
            return
        rec = self.executed.setdefault(str(item.fspath), {"outs": {}, "failed": False})
        rec["failed"] |= report.failed
        rec["outs"][item.cell_num] = list(getattr(item, "test_outputs", None) or [])
        code = [c for c in nb.cells if c.cell_type == "code"]
        if rec["failed"] or len(rec["outs"]) < len(code):
            return
        import copy
        import nbformat
        out = copy.deepcopy(nb)
        for num, cell in enumerate(c for c in out.cells if c.cell_type == "code"):
            cell.outputs = [nbformat.from_dict(o) for o in rec["outs"].get(num, [])]
            cell.execution_count = num + 1
        target = Path(folder) / Path(str(item.fspath)).name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(out, str(target) + ".tmp")
        os.replace(str(target) + ".tmp", target)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if Path(str(item.fspath)).suffix != ".ipynb":
            return
        if call.when == "call" and report.passed:
            self._score(item, report)
        if call.when == "call" or (call.when == "setup" and not report.passed):
            self._capture(item, report)   # after scoring: a cell nbgrader fails counts as failed

    @staticmethod
    def _score(item, report):
        graded = _nbgrader_points(item)
        if graded is not None and graded[0] is not None and graded[0] < graded[1]:
            streams = [o for o in item.test_outputs
                       if o.get("output_type") == "stream" and o.get("name") == "stderr"]
            text = "".join(o.get("text", "") for o in streams)[:500]
            report.outcome = "failed"
            report.longrepr = (f"nbgrader would give this test cell of the instructor version "
                               f"{graded[0]:g}/{graded[1]:g} points (a test cell must not write to stderr): {text!r}")

    def pytest_runtest_logreport(self, report):
        if os.environ.get("PYTEST_XDIST_WORKER"):
            return   # the controller gets every report; count each once
        key, part = _cost_key(report.nodeid.split("@")[0])
        self.times.setdefault(key, {}).setdefault(part, 0.0)
        self.times[key][part] += report.duration

    def pytest_sessionfinish(self, session, exitstatus):
        path = os.environ.get("COURSE_TEST_TIMES")
        if not path or os.environ.get("PYTEST_XDIST_WORKER"):
            return
        workers = getattr(session.config.option, "numprocesses", None) or 1
        data = {"wall_seconds": round(time.time() - self.start, 1), "workers": workers,
                "exitstatus": int(exitstatus), "date": time.strftime("%Y-%m-%d"),
                "notebooks": {k: {p: round(v, 1) for p, v in parts.items()}
                              for k, parts in sorted(self.times.items()) if k != "other"},
                "other": {p: round(v, 1) for p, v in sorted(self.times.get("other", {}).items())}}
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(data, indent=1) + "\n")


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("course-suite"):
        config.pluginmanager.register(_SuitePlugin(), "course-suite")
