"""Every notebook follows CONVENTIONS.md, and the lint catches the breakages it should."""
import copy
import json
import re

import pytest

from course_utils.tools import nbtools

from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert any(p.name == "00_welcome.ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_conventions(path):
    problems = nbtools.lint_notebook(path)
    assert not problems, f"{path.name} breaks CONVENTIONS.md:\n  " + "\n  ".join(problems)


def test_welcome_syllabus_links_every_notebook():
    nb = nbtools.load(REPO / "notebooks" / "00_welcome.ipynb")
    text = "\n".join(nbtools._src(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    linked = set(re.findall(r"\]\((\d\d_[a-z0-9_]+\.ipynb)\)", text))
    present = {p.name for p in NOTEBOOKS}
    assert present <= linked | {"00_welcome.ipynb"}, f"not in the 00 syllabus: {present - linked}"
    assert linked <= present, f"00 links notebooks that do not exist: {linked - present}"


# ---- the lint itself fails where it should --------------------------------------------

@pytest.fixture
def good(tmp_path):
    """A copy of 00_welcome (a notebook known to pass) to break in different ways."""
    src = nbtools.load(REPO / "notebooks" / "00_welcome.ipynb")
    def write(nb, name="00_welcome.ipynb"):
        p = tmp_path / name
        p.write_text(json.dumps(nb))
        return p
    assert nbtools.lint_notebook(write(src)) == []
    return src, write


def test_lint_fails_on_outputs(good):
    nb, write = good
    nb = copy.deepcopy(nb)
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi"}]
    cell["execution_count"] = 1
    assert any("outputs" in p for p in nbtools.lint_notebook(write(nb)))
    assert nbtools.strip_notebook(nb) is True
    assert nbtools.lint_notebook(write(nb)) == []


def test_lint_fails_on_a_lost_latex_backslash(good):
    nb, write = good
    nb = copy.deepcopy(nb)
    cell = [c for c in nb["cells"] if c["cell_type"] == "markdown"][-1]   # not the intro cells
    cell["source"] = "The step is $\\eta \approx 0.1$ and $\frac{1}{2}$.\n"   # BEL and form feed
    problems = nbtools.lint_notebook(write(nb))
    assert any("control character '\\x07'" in p and "pprox" in p for p in problems), problems
    cell["source"] = "The step is $\\eta \\approx 0.1$\tand a tab.\n"   # escaped properly: clean
    assert nbtools.lint_notebook(write(nb)) == []


def test_lint_fails_on_a_link_to_a_notebook_not_written_yet(good):
    nb, write = good
    nb = copy.deepcopy(nb)
    cell = [c for c in nb["cells"] if c["cell_type"] == "markdown"][-1]
    cell["source"] = "More in [99](99_not_written_yet.ipynb) and [01](01_neurons_and_perceptron.ipynb#top).\n"
    problems = nbtools.lint_notebook(write(nb))
    assert len(problems) == 1 and "links to 99_not_written_yet.ipynb" in problems[0], problems


def test_lint_fails_without_parameters_cell(good):
    nb, write = good
    nb = copy.deepcopy(nb)
    for c in nb["cells"]:
        c.get("metadata", {}).pop("tags", None)
    assert any("parameters" in p for p in nbtools.lint_notebook(write(nb)))


def test_lint_fails_when_fast_does_not_default_from_env(good):
    nb, write = good
    nb = copy.deepcopy(nb)
    p = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    p["source"] = nbtools._src(p).replace("FAST = cu.fast_mode()", "FAST = False")
    assert any("COURSE_FAST" in p for p in nbtools.lint_notebook(write(nb)))


def test_lint_fails_without_badge(good):
    nb, write = good
    nb = copy.deepcopy(nb)
    nb["cells"][0]["source"] = nbtools.BADGE_RE.sub("", nbtools._src(nb["cells"][0]))
    assert any("badge" in p for p in nbtools.lint_notebook(write(nb)))


def test_lint_fails_on_bad_name_and_title(good):
    nb, write = good
    assert any("NN_slug" in p for p in nbtools.lint_notebook(write(nb, "Welcome.ipynb")))
    assert any("does not match" in p for p in nbtools.lint_notebook(write(nb, "01_welcome.ipynb")))


def test_lint_requires_exercises_from_01_on(good):
    nb, write = good
    nb = copy.deepcopy(nb)
    nb["cells"] = [c for c in nb["cells"] if not nbtools._nbg(c)]     # 00 may hold a practice exercise
    probs = nbtools.lint_notebook(write(nb, "01_welcome.ipynb"))
    assert any("autograded exercises" in p for p in probs)
    assert any("written answer" in p for p in probs)


def test_lint_checks_exercise_structure(good):
    nb, write = good
    nb = copy.deepcopy(nb)
    nb["cells"][0]["source"] = nbtools._src(nb["cells"][0]).replace("# 00 ·", "# 01 ·").replace(
        "00_welcome.ipynb", "01_welcome.ipynb")
    meta = lambda **kw: {"nbgrader": {"schema_version": 3, "locked": False, "task": False, **kw}}  # noqa: E731
    answer = {"cell_type": "code", "execution_count": None, "outputs": [], "source": "def f(x):\n    return x\n",
              "metadata": meta(grade=False, solution=True, grade_id="ex1")}
    tests = {"cell_type": "code", "execution_count": None, "outputs": [], "source": "assert f(1) == 1\n",
             "metadata": meta(grade=True, solution=False, grade_id="ex1_tests", points=1, locked=True)}
    nb["cells"] += [answer, tests]
    probs = nbtools.lint_notebook(write(nb, "01_welcome.ipynb"), min_exercises=1, min_written=0)
    assert any("BEGIN SOLUTION" in p for p in probs)
    assert any("cu.checks" in p for p in probs)
    assert any("HIDDEN TESTS" in p for p in probs)
    answer["source"] = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
    tests["source"] = ("cu.checks.equal('f', f(1), 1)\n### BEGIN HIDDEN TESTS\n"
                       "cu.checks.equal('f', f(2), 2)\n### END HIDDEN TESTS\n")
    probs = nbtools.lint_notebook(write(nb, "01_welcome.ipynb"), min_exercises=1, min_written=0)
    if not any("open-ended" in c.get("metadata", {}).get("tags", []) for c in nb["cells"]):
        assert any("open-ended exercise" in p for p in probs)
        tests["metadata"]["tags"] = ["open-ended"]
    assert nbtools.lint_notebook(write(nb, "01_welcome.ipynb"), min_exercises=1, min_written=0) == []
    tests["metadata"]["nbgrader"]["locked"] = False
    assert any("locked test cell" in p for p in
               nbtools.lint_notebook(write(nb, "01_welcome.ipynb"), min_exercises=1, min_written=0))


def test_sync_rewrites_badge_and_install_line_from_the_one_setting(good, tmp_path):
    nb, write = good
    nb = copy.deepcopy(nb)
    fork = {"repository": "someone/fork", "release": "v9.9.9"}
    assert nbtools.sync_notebook(nb, "00_welcome.ipynb", fork) is True
    text = json.dumps(nb)
    assert "github/someone/fork/blob/v9.9.9/notebooks/00_welcome.ipynb" in text
    assert "git+https://github.com/someone/fork@v9.9.9" in text
    assert "hands-on-dl/hands-on-deep-learning" not in text
    assert nbtools.lint_notebook(write(nb), setting=fork) == []
    assert any("badge" in p for p in nbtools.lint_notebook(write(nb)))  # the real setting disagrees now
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.course]\nrepository = "someone/fork"\nrelease = "v9.9.9"\n')
    assert nbtools.course_setting(pyproject) == fork


def test_course_setting_validation(tmp_path):
    p = tmp_path / "pyproject.toml"
    p.write_text('[tool.course]\nrepository = "no-slash"\nrelease = "v1"\n')
    with pytest.raises(ValueError, match="owner/name"):
        nbtools.course_setting(p)


def test_cli_lint_and_strip(good, tmp_path, capsys):
    nb, write = good
    nb = copy.deepcopy(nb)
    next(c for c in nb["cells"] if c["cell_type"] == "code")["execution_count"] = 3
    path = write(nb)
    assert nbtools.main(["lint", str(path)]) == 1
    assert nbtools.main(["strip", str(path)]) == 0
    assert nbtools.main(["lint", str(path)]) == 0
    assert "1/1 notebooks follow" in capsys.readouterr().out


# ---- one sitting, Going further, revealable answers, open-ended, leaks (issue 9) ----------------

def _md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _heading_index(nb, start):
    return next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown"
                and any(ln.startswith(start) for ln in nbtools._src(c).splitlines()))


def test_lint_requires_a_study_time_of_one_sitting(good):
    nb, write = good
    nb = copy.deepcopy(nb)
    intro = next(c for c in nb["cells"][:3] if "**Study time:**" in nbtools._src(c))
    text = nbtools._src(intro)
    intro["source"] = re.sub(r"\*\*Study time:\*\*\s*about\s+\d+", "**Study time:** about 150", text)
    assert any("more than one sitting" in p for p in nbtools.lint_notebook(write(nb)))
    intro["source"] = re.sub(r"\*\*Study time:\*\*[^\n]*", "", text)
    assert any("Study time" in p for p in nbtools.lint_notebook(write(nb)))


def test_lint_limits_the_main_path_and_keeps_going_further_last(good):
    nb, write = good
    nb = copy.deepcopy(nb)
    long = _md("## Fine print\n\n" + "word " * (nbtools.MAX_MAIN_WORDS + 1))
    nb["cells"].insert(3, long)
    assert any("words of prose" in p for p in nbtools.lint_notebook(write(nb)))
    nb["cells"].remove(long)
    nb["cells"].append(_md("## Going further: fine print\n\n" + "word " * (nbtools.MAX_MAIN_WORDS + 1)))
    assert nbtools.lint_notebook(write(nb)) == []        # optional reading does not count
    nb["cells"].append(_md("## Another section"))
    assert any("must come last" in p for p in nbtools.lint_notebook(write(nb)))
    nb["cells"].pop()
    nb["cells"].insert(_heading_index(nb, "## Check your understanding"), _md("## Going further: too early"))
    assert any("after 'Check your understanding'" in p for p in nbtools.lint_notebook(write(nb)))
    nb = copy.deepcopy(good[0])
    for k in range(nbtools.MAX_MAIN_CELLS):
        nb["cells"].insert(3, _md(f"cell {k}"))
    assert any("cells (at most" in p for p in nbtools.lint_notebook(write(nb)))


def test_lint_requires_revealable_answers_to_the_questions(good):
    nb, write = good
    nb = copy.deepcopy(nb)
    i = _heading_index(nb, "## Check your understanding")
    for c in nb["cells"][i:]:
        if c["cell_type"] == "markdown":
            c["source"] = nbtools.DETAILS_RE.sub("", nbtools._src(c))
    assert any("revealable answers" in p for p in nbtools.lint_notebook(write(nb)))


def test_lint_finds_an_answer_printed_before_the_exercise(good):
    nb, write = good
    nb = copy.deepcopy(nb)
    sol = "    total = np.sum(values ** 2)\n    return float(np.sqrt(total / len(values)))\n"
    meta = lambda **kw: {"nbgrader": {"schema_version": 3, "locked": False, "task": False, **kw}}  # noqa: E731
    answer = {"cell_type": "code", "execution_count": None, "outputs": [],
              "source": "def rms(values):\n    ### BEGIN SOLUTION\n" + sol + "    ### END SOLUTION\n",
              "metadata": meta(grade=False, solution=True, grade_id="ex_rms")}
    tests = {"cell_type": "code", "execution_count": None, "outputs": [], "metadata": {
             **meta(grade=True, solution=False, grade_id="ex_rms_tests", points=1, locked=True), "tags": ["open-ended"]},
             "source": "cu.checks.close('rms', rms(np.ones(3)), 1.0)\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n"}
    at = _heading_index(nb, "## Summary")
    nb["cells"][at:at] = [answer, tests]
    assert not any("printed in cell" in p for p in nbtools.lint_notebook(write(nb)))
    nb["cells"].insert(at, _md("Hint: `total = np.sum(values ** 2)` then `return float(np.sqrt(total / len(values)))`"))
    assert any("the solution of 'ex_rms' is printed in cell" in p for p in nbtools.lint_notebook(write(nb)))


# ---- the Measured line: header numbers come from the benchmark table ------------------

def test_measured_line_comes_from_the_benchmark_table(good, tmp_path):
    nb, write = good
    bench = {"full": {"00_welcome.ipynb": {"seconds": 15.8, "headline": "accuracy = 97.2% ✓", "date": "2026-12-02",
                                           "machine": "2 cores (x), 24 GiB RAM", "status": "ok"}},
             "fast": {"00_welcome.ipynb": {"seconds": 12.7}}}
    line = nbtools.measured_line("00_welcome.ipynb", bench)
    assert line == ("**Measured** (`make bench`, 2026-12-02, 2 CPU cores): accuracy = 97.2% ✓. "
                    "Time to run: full run 16 s, fast mode 13 s.")
    assert nbtools.measured_line("07_new.ipynb", bench) is None          # not benchmarked yet: nothing to check
    busy = copy.deepcopy(bench)   # measured while other work shared the 2 cores: the CPU time is given too
    busy["full"]["00_welcome.ipynb"].update(cpu_seconds=11.0, load=6.2)
    busy["fast"]["00_welcome.ipynb"].update(cpu_seconds=9.0, load=1.5)
    assert nbtools.measured_line("00_welcome.ipynb", busy).endswith(
        "full run 16 s (11 s CPU; machine busy, load 6.2), fast mode 13 s.")
    nb = copy.deepcopy(nb)
    nb["cells"][0]["source"] = nbtools.MEASURED_RE.sub("", nbtools._src(nb["cells"][0]))
    assert nbtools.sync_notebook(nb, "00_welcome.ipynb", bench=bench) is True
    head = nbtools._src(nb["cells"][0])
    assert line in head and head.index("**Headline:**") < head.index("**Measured**")
    assert nbtools.sync_notebook(nb, "00_welcome.ipynb", bench=bench) is False   # idempotent
    bench["full"]["00_welcome.ipynb"]["headline"] = "accuracy = 97.9% ✓"         # a new bench run
    assert nbtools.sync_notebook(nb, "00_welcome.ipynb", bench=bench) is True
    assert "97.9%" in nbtools._src(nb["cells"][0]) and "97.2%" not in nbtools._src(nb["cells"][0])


def test_lint_fails_when_the_header_disagrees_with_the_benchmark(good):
    nb, write = good
    if nbtools.measured_line("00_welcome.ipynb") is None:
        pytest.skip("00 has no benchmark row yet")
    nb = copy.deepcopy(nb)
    head = nbtools._src(nb["cells"][0])
    nb["cells"][0]["source"] = nbtools.MEASURED_RE.sub("**Measured** (typed by hand): 99.9%.", head)
    assert any("Measured" in p for p in nbtools.lint_notebook(write(nb)))
