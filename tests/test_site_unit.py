"""Unit tests of the course website's pure parts (course_utils/tools/site.py); the build is tests/test_site.py."""
import json

import nbformat
import pytest

from course_utils.tools import site as S


def _nb():
    v4 = nbformat.v4
    nb = v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "P"}})
    sol = v4.new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    return secret_formula_of_the_model_answer(x, 42)\n"
                           "    ### END SOLUTION", metadata={"nbgrader": {"solution": True, "grade": False,
                                                                          "grade_id": "ex1", "locked": False,
                                                                          "schema_version": 3, "task": False}})
    sol.outputs = [v4.new_output("stream", name="stdout", text="printed by the model solution itself\n")]
    test = v4.new_code_cell("assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == hidden_check_value_two_three_four\n"
                            "### END HIDDEN TESTS", metadata={"nbgrader": {"solution": False, "grade": True, "points": 1,
                                                                           "grade_id": "t1", "locked": True,
                                                                           "schema_version": 3, "task": False}})
    test.outputs = [v4.new_output("stream", name="stdout", text="hidden check passed: two three four\n")]
    answer = v4.new_markdown_cell("**Model answer.** Because the written model answer explains it in many words here.",
                                  metadata={"nbgrader": {"solution": True, "grade": True, "points": 2,
                                                         "grade_id": "w1", "locked": False, "schema_version": 3,
                                                         "task": False}})
    text = v4.new_markdown_cell("Intro.\n\n> **Misconception:** \"Softmax picks the biggest one\" (notes 002). It\n"
                                "> gives every class a share.\n\nMore.")
    widget = v4.new_code_cell("lab")
    widget.outputs = [v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "Lab",
                                                           "application/vnd.jupyter.widget-view+json": {"model_id": "x"}})]
    nb.cells = [text, sol, test, answer, widget]
    return nb


def test_headlines_parse_the_benchmarks_json(tmp_path):
    p = tmp_path / "B.json"
    p.write_text(json.dumps({"full": {"01_a.ipynb": {"headline": "acc = 1 ✓"}}, "fast": {}}))
    assert S.headlines(p) == {"01_a.ipynb": "acc = 1 ✓"}
    real = S.headlines()
    assert "02_activation_functions.ipynb" in real and "dead ReLU" in real["02_activation_functions.ipynb"]


def test_misconceptions_are_found_mid_cell_and_labelled():
    items = S.misconceptions({"02_x": _nb()})
    assert items == [{"stem": "02_x", "label": "misc-02-1", "text": "\"Softmax picks the biggest one\" (notes 002)."}]
    student = S.student_notebook(_nb(), "02_x")
    assert "(misc-02-1)=\n> **Misconception:**" in student.cells[0].source


def test_student_notebook_has_no_solution_hidden_test_or_model_answer():
    nb = _nb()
    student = S.student_notebook(nb, "02_x")
    text = json.dumps(student)
    for gone in ("secret_formula", "printed by the model solution", "hidden_check_value", "hidden check passed",
                 "written model answer", "BEGIN SOLUTION", "HIDDEN TESTS"):
        assert gone not in text, gone
    assert "YOUR CODE HERE" in student.cells[1].source and "assert f(1) == 1" in student.cells[2].source
    assert "YOUR ANSWER HERE" in student.cells[3].source
    assert "make gallery" in student.cells[5].source            # the note after the widget's picture
    assert list(student.cells[4].outputs[0].data) == ["image/png", "text/plain"]   # the picture shows, not the view
    assert "secret_formula" in json.dumps(nb)                   # the input is unchanged


def test_scan_catches_a_leak_and_passes_a_clean_site(tmp_path):
    nb = _nb()
    secrets, allowed = S.secrets(nb), [S.public_text(nb)]
    assert len(secrets) == 3
    site = tmp_path / "site"
    site.mkdir()
    (site / "page.html").write_text("<p>Intro.</p><pre>assert <span>f</span>(1) == 1</pre>")
    assert S.scan_leaks(site, secrets, allowed) == []
    (site / "searchindex.js").write_text('Search.setIndex({"t": "because the written model answer explains it in many words"})')
    (site / "sol.html").write_text("<pre><span>return</span> secret_formula_of_the_model_answer(<b>x</b>, 42)</pre>")
    (site / "m.txt").write_text("### BEGIN HIDDEN TESTS")
    leaks = S.scan_leaks(site, secrets, allowed)
    assert any(l.startswith("searchindex.js: secret") for l in leaks)
    assert any(l.startswith("sol.html: secret") for l in leaks)
    assert "m.txt: marker 'BEGIN HIDDEN TESTS'" in leaks
    (site / "split.html").write_text('<code><span class="pre">###</span>\n<span class="pre">BEGIN</span> '
                                     '<span class="pre">SOLUTION</span></code>')
    assert "split.html: marker 'BEGIN SOLUTION'" in S.scan_leaks(site, secrets, allowed)


def test_broken_links_finds_missing_files_and_anchors(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "index.html").write_text('<h1 id="top">x</h1><a href="a/b.html#sec">b</a> <img src="img.png">'
                                         '<a href="#top">t</a><a href="https://x.org/y">ext</a>')
    (tmp_path / "a" / "b.html").write_text('<a href="../index.html#nope">i</a><section id="sec"></section>')
    assert S.broken_links(tmp_path) == ["a/b.html: ../index.html#nope (no anchor)", "index.html: img.png (no file)"]


@pytest.mark.parametrize("stem", ["02_activation_functions"])
def test_every_course_secret_is_cut_from_public_text(stem):
    nb = nbformat.read(str(S.REPO / "notebooks" / f"{stem}.ipynb"), as_version=4)
    public = S.public_text(nb)
    assert "BEGIN SOLUTION" not in public and "HIDDEN TESTS" not in public
    assert S.secrets(nb)


def test_runs_of_numbers_are_no_evidence_and_titles_come_from_the_heading():
    assert S.ngrams("0, 0, 0, 0, 0, 0, 0, 0, 0") == set()
    assert S.notebook_title(S.REPO / "notebooks" / "06_keras_ann.ipynb") == "Your first Keras ANN"
