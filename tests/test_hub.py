"""A class on JupyterHub (issue 15): nbgrader's exchange between an instructor and two learners.

One local hub for the module (``course_utils.tools.hub``: loopback, free ports, a shared password,
single-user servers as this Unix user with homes in a temporary folder, the exchange inside it),
then the whole cycle with the grading fixture notebook, each step as its user does it:

1. the instructor generates and releases the assignment (the formgrader's buttons, on their server);
2. ada and grace fetch it, answer and submit through their own servers (the calls of the Assignments
   tab; the notebook is written through the contents API): ada with the instructor's solutions, grace
   with one exercise right, one left as the stub and one that calls the reference implementation;
3. the instructor collects (formgrader), grades with the course's grader in a terminal of their
   server (``python -m course_utils.tools.hub grade``) and releases the feedback (formgrader);
4. each learner fetches feedback and gets exactly their own page.

Then, in Chromium, ada logs in with the password, opens Nbgrader > Assignment List, follows
"(view feedback)" and reads her points. The hub and every process it started are gone afterwards,
whatever happened (checked). Skipped only when JupyterHub or its proxy cannot run here (no Node.js/npm).
"""
from __future__ import annotations

import json
import re
import socket
import tempfile
import time
from pathlib import Path

import pytest

from course_utils.tools import hub as H

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
FIXTURE_NB = REPO / "tests" / "fixtures" / "grading" / "99_grading_fixture.ipynb"
STEM = FIXTURE_NB.stem
SCREENSHOTS = REPO / "build" / "browser"

# grace: ex1 left as the stub, ex2 right, ex3 passes the checks by calling the reference (integrity: 0).
GRACE = {
    "ex2_mse": "def mse(y_true, y_pred):\n    # grace's own answer\n"
               "    return float(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2))\n",
    "ex3_softmax": "def softmax(z):\n    return ref_softmax(z)   # grace's shortcut\n",
}
ADA_MARK = "tanh never overflows"      # a comment in the instructor's solution, so in ada's answer only
GRACE_MARK = "grace"                   # in grace's answers only

_done: dict = {}


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _ours(root: Path) -> list[str]:
    """Processes still running with their working folder in the hub's folder (servers, kernels)."""
    import psutil
    left = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            if str(root) in (p.cwd() or "") or str(root) in " ".join(p.info["cmdline"] or []):
                left.append(f"{p.pid}: {' '.join(p.info['cmdline'] or [])[:120]}")
        except psutil.Error:
            continue
    return left


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub")
    t0 = time.perf_counter()
    try:
        h = H.start(root, [FIXTURE_NB], log=lambda *_: None)
    except H.HubUnavailable as exc:
        pytest.skip(f"JupyterHub cannot run here: {exc}")
    _done["start_s"] = round(time.perf_counter() - t0, 1)
    try:
        yield h
    finally:
        h.stop()
        deadline = time.monotonic() + 10
        while (_ours(h.root) or _listening(h.port)) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not _ours(h.root), f"processes left after stopping the hub: {_ours(h.root)}"
        assert not _listening(h.port), f"port {h.port} still answers after stopping the hub"


def test_class_cycle_through_the_exchange(hub):
    out = H.cycle(hub, STEM, {"ada": None, "grace": GRACE}, log=lambda *_: None)
    print(f"hub start {_done['start_s']} s; steps: {out['times']}")

    # the gradebook of the course's grader: right points per exercise, integrity finding for grace
    pts = {(r["learner"], r["exercise"]): r for r in out["rows"]}
    assert {k: pts[("ada", k)]["points"] for k in ("ex1_sigmoid_tests", "ex2_mse_tests", "ex3_softmax_tests")} \
        == {"ex1_sigmoid_tests": "2", "ex2_mse_tests": "2", "ex3_softmax_tests": "3"}
    assert pts[("ada", "written_1")]["status"] == "needs manual grading"
    assert {k: pts[("grace", k)]["points"] for k in ("ex1_sigmoid_tests", "ex2_mse_tests", "ex3_softmax_tests")} \
        == {"ex1_sigmoid_tests": "0", "ex2_mse_tests": "2", "ex3_softmax_tests": "0"}
    assert pts[("grace", "ex3_softmax_tests")]["status"] == "failed (integrity)"
    assert "calls the reference implementation (ref_softmax" in pts[("grace", "ex3_softmax_tests")]["note"]
    assert pts[("grace", "written_1")]["status"] == "no answer"
    # the run folder is the grader's, in the instructor's course, with the nbgrader database
    run = out["run"]
    assert run.parent == hub.course / "grades" and (run / "course" / "gradebook.db").exists()
    assert json.loads((run / "grading.json").read_text())["submissions_graded"][0]["file"] \
        == f"ada__{STEM}.ipynb"

    # nbgrader's exchange: one released page per learner, named by a hash of the submission's secret
    released = sorted((hub.exchange / H.COURSE_ID / "feedback").glob("*.html"))
    assert len(released) == 2 and all(re.fullmatch(r"[0-9a-f]{32}\.html", p.name) for p in released)

    # each learner fetched exactly one page: their own
    ada, grace = out["feedback"]["ada"], out["feedback"]["grace"]
    assert len(ada) == 1 and len(grace) == 1, (ada, grace)
    ada_page, grace_page = ada[0][1], grace[0][1]
    assert "feedback for ada" in ada_page and "<b>7 / 7</b>" in ada_page and ADA_MARK in ada_page
    assert "feedback for grace" not in ada_page and GRACE_MARK not in ada_page
    assert "feedback for grace" in grace_page and "<b>2 / 7</b>" in grace_page
    assert "calls the reference implementation" in grace_page
    assert "feedback for ada" not in grace_page and ADA_MARK not in grace_page
    assert not re.search(r"<script[^>]+src=.https?://", grace_page)   # nothing loads from the internet

    # grace asks for ada's feedback by name from her terminal: nbgrader looks for it with the secrets
    # of the submissions in grace's own cache, so she gets her own page again and never ada's
    res = hub.run_as("grace", ["nbgrader", "fetch_feedback", STEM, f"--course={H.COURSE_ID}", "--student=ada"])
    assert res.returncode == 0, res.stderr[-2000:]
    pages = list((hub.home("grace") / STEM / "feedback").rglob("*.html"))
    assert pages and all("feedback for grace" in p.read_text() for p in pages)
    assert not any(ADA_MARK in p.read_text() for p in pages)
    # through the hub, a learner reaches only her own server: grace's token opens none of ada's files,
    # nor the instructor's formgrader
    for path in (f"/user/ada/api/contents/{STEM}", "/user/instructor/formgrader/api/assignments"):
        status, _ = hub.request("GET", path, hub.token("grace"))
        assert status == 403, (path, status)
    # and ada's secret exists only in ada's home and the instructor's course
    secret = (hub.course / "submitted" / "ada" / STEM / "submission_secret.txt").read_text()
    holders = {p.relative_to(hub.root).parts[1] for p in (hub.root / "home").rglob("submission_secret.txt")
               if p.read_text() == secret}
    assert holders == {"ada", "instructor"}
    _done["cycle"] = True


def test_hand_grades_reach_the_learner_through_the_hub(hub):
    """After the cycle: a hand grade and a comment in the run's gradebook (as the formgrader saves them),
    `grading export`, `hub feedback`, Release feedback again; ada fetches again and reads the final page."""
    if not _done.get("cycle"):
        pytest.skip("needs the grading run of test_class_cycle_through_the_exchange, which did not finish")
    from nbgrader.api import Gradebook
    run = (hub.course / "grades" / "latest").resolve()
    with Gradebook(f"sqlite:///{run / 'course' / 'gradebook.db'}", H.COURSE_ID) as gb:
        gb.find_grade("written_1", STEM, STEM, "ada").manual_score = 1.5
        gb.find_comment("written_1", STEM, STEM, "ada").manual_comment = "Right idea; name the overflow."
        gb.db.commit()
    first = (hub.course / "feedback" / "ada" / STEM / f"{STEM}.html").read_text()
    # `grading export <run>` and `hub feedback <assignment>` (here in this process: they need nothing of
    # the instructor's environment, and two more interpreters would cost seconds)
    from course_utils.tools import grading as G
    G.export(run)
    staged = H.stage_feedback(hub.course, STEM)
    assert sorted(p.parent.parent.name for p in staged) == ["ada", "grace"]
    hub.formgrader("release_feedback", STEM)
    hub.learner_action("ada", "fetch_feedback", STEM)
    pages = [p for p in (hub.home("ada") / STEM / "feedback").rglob("*.html")]
    assert len(pages) == 1          # the same submission: its page is replaced by the final one
    page = pages[0].read_text()
    assert "Final grades" in page and "1.5 / 2" in page and "Right idea; name the overflow." in page
    assert "<b>7 / 7</b>" in page and "feedback for grace" not in page
    assert "Autograded. Written answers are graded by hand later" in first   # what she had before
    assert (run / "feedback" / "ada" / "index.html").exists()                # the autograder's stays
    grace = next((hub.home("grace") / STEM / "feedback").rglob("*.html")).read_text()
    assert "Right idea" not in grace


@pytest.mark.browser
def test_learner_reads_her_feedback_in_the_assignments_tab(hub):
    import browser_support as bs
    chromium = bs.find_chromium()
    if chromium is None:
        pytest.skip(f"no Chromium: {bs.INSTALL_HINT}")
    if not _done.get("cycle"):
        pytest.skip("needs the feedback of test_class_cycle_through_the_exchange, which did not finish")
    from playwright.sync_api import sync_playwright
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = bs.launch_chromium(pw, chromium, Path(profile))
        try:
            page = context.new_page()
            page.set_default_timeout(120_000)
            page.goto(hub.url + "/hub/login")
            page.fill("#username_input", "ada")
            page.fill("#password_input", hub.password)
            page.click("#login_submit")
            page.wait_for_url("**/user/ada/lab**")
            page.locator("#jp-main-dock-panel").wait_for()
            # learners see the Assignments tab, not the formgrader
            page.get_by_text("Nbgrader", exact=True).click()
            menu = page.locator("#jp-mainmenu-nbgrader")
            menu.get_by_text("Assignment List", exact=True).wait_for()
            assert menu.get_by_text("Formgrader", exact=True).count() == 0
            menu.get_by_text("Assignment List", exact=True).click()
            panel = page.locator("#nbgrader-assignment-list")
            panel.get_by_text("view feedback").wait_for()
            text = panel.inner_text()
            assert "Submitted assignments" in text and STEM in text
            page.screenshot(path=str(SCREENSHOTS / "hub-assignments.png"))
            page.get_by_text("view feedback").click()   # the file browser goes to the feedback folder
            item = page.locator(".jp-DirListing-item", has_text=f"{STEM}.html")
            item.dblclick()
            box = page.frame_locator("iframe").locator("#course-feedback")
            box.wait_for()
            shown = box.inner_text()
            page.screenshot(path=str(SCREENSHOTS / "hub-feedback.png"))
        finally:
            context.close()
    assert "feedback for ada" in shown and "7 / 7" in shown and "grace" not in shown
