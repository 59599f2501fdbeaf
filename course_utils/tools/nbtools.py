"""Notebook rules of CONVENTIONS.md: lint, strip outputs, sync badges from the one setting.

The one repository setting is ``[tool.course]`` in ``pyproject.toml`` (``repository`` and
``release``). The Colab badge and the Colab install line of every notebook are derived
from it; ``sync`` rewrites them after a fork changes the setting, ``lint`` fails when they
disagree.

Command line::

    python -m course_utils.tools.nbtools lint  notebooks      # list rule violations, exit 1 if any
    python -m course_utils.tools.nbtools strip notebooks      # remove outputs in place
    python -m course_utils.tools.nbtools sync  notebooks      # rewrite badge + install line
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NAME_RE = re.compile(r"^(\d\d)_[a-z0-9]+(?:_[a-z0-9]+)*\.ipynb$")
BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\(https://colab\.research\.google\.com/github/[^)]*\)")
INSTALL_RE = re.compile(r'%pip install -q "hands-on-dl @ git\+https://github\.com/[^"]*"')


def course_setting(pyproject: Path | None = None) -> dict:
    """``[tool.course]`` of pyproject.toml: ``{"repository": "owner/name", "release": "vX.Y.Z"}``."""
    import tomllib
    path = pyproject or (REPO_ROOT / "pyproject.toml")
    with open(path, "rb") as fh:
        cfg = tomllib.load(fh)
    setting = cfg.get("tool", {}).get("course", {})
    for key in ("repository", "release"):
        if not isinstance(setting.get(key), str) or not setting[key]:
            raise ValueError(f"{path}: [tool.course] needs a string '{key}'")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", setting["repository"]):
        raise ValueError(f"[tool.course] repository must look like 'owner/name', got {setting['repository']!r}")
    return setting


def badge(nb_name: str, setting: dict | None = None) -> str:
    """The markdown of the "Open in Colab" badge for ``nb_name``."""
    s = setting or course_setting()
    url = f"https://colab.research.google.com/github/{s['repository']}/blob/{s['release']}/notebooks/{nb_name}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def install_line(setting: dict | None = None) -> str:
    """The Colab install line: the course package pinned to the release."""
    s = setting or course_setting()
    return f'%pip install -q "hands-on-dl @ git+https://github.com/{s["repository"]}@{s["release"]}"'


BENCH_JSON = REPO_ROOT / "benchmarks" / "BENCHMARKS.json"
NOTEBOOK_LINK_RE = re.compile(r"\]\((\d\d_[a-z0-9_]+\.ipynb)(?:#[^)]*)?\)")
MEASURED_RE = re.compile(r"^\*\*Measured\*\*.*$", re.M)


def measured_line(nb_name: str, bench: dict | None = None) -> str | None:
    """The header's ``**Measured**`` line for ``nb_name``, made from benchmarks/BENCHMARKS.json.

    It quotes the full run's headline exactly as `make bench` recorded it, and the run times, so the
    header cannot drift from the benchmark table (the lint compares; `make sync` rewrites). ``None``
    when the notebook has no full-mode benchmark yet.
    """
    if bench is None:
        bench = json.loads(BENCH_JSON.read_text()) if BENCH_JSON.exists() else {}
    full = bench.get("full", {}).get(nb_name)
    if not full:
        return None
    fast = bench.get("fast", {}).get(nb_name)
    cores = re.match(r"(\d+) cores", full.get("machine", ""))
    where = f"{cores.group(1)} CPU cores" if cores else "the reference machine"
    ncores = int(cores.group(1)) if cores else 0

    def took(r):
        # on a machine other work kept busy, the CPU time says more than the wall clock
        busy = r.get("load") is not None and r.get("cpu_seconds") is not None and r["load"] > ncores > 0
        return f"{r['seconds']:.0f} s" + (f" ({r['cpu_seconds']:.0f} s CPU; machine busy, load "
                                          f"{r['load']:.1f})" if busy else "")
    times = f"full run {took(full)}" + (f", fast mode {took(fast)}" if fast else "")
    return (f"**Measured** (`make bench`, {full['date']}, {where}): {full['headline']}. "
            f"Time to run: {times}.")


def select_notebooks(folder: str | Path, nb: str | None = None, first: int = 0) -> list[Path]:
    """Course notebooks ``NN_slug.ipynb`` in ``folder`` with NN >= ``first``, sorted.

    ``nb`` picks some of them as ``make run NB=...`` does: ``"04"``, ``"4"``, ``"04,06"`` or a
    name prefix such as ``"04_grad"``. Raises ``ValueError`` naming ``nb`` if a key matches nothing.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"notebooks folder {str(folder)!r} does not exist")
    all_nbs = [p for p in sorted(folder.glob("[0-9][0-9]_*.ipynb"))
               if NAME_RE.match(p.name) and int(p.name[:2]) >= first]
    if not nb:
        return all_nbs
    chosen: list[Path] = []
    for key in [k.strip() for k in str(nb).split(",") if k.strip()]:
        key = key.zfill(2) if key.isdigit() else key
        hits = [p for p in all_nbs if p.name.startswith(key)]
        if not hits:
            raise ValueError(f"nb={key!r} matches no notebook in {folder}; expected a number like 04 "
                             f"or one of: {', '.join(p.stem for p in all_nbs) or '(none yet)'}")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def _src(cell) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _nbg(cell) -> dict:
    return (cell.get("metadata", {}) or {}).get("nbgrader", {}) or {}


def load(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def save(nb: dict, path: Path) -> None:
    text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    Path(path).write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- lint

CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # all but tab and newline


def lint_notebook(path: str | Path, setting: dict | None = None, min_exercises: int = 3,
                  min_written: int = 1) -> list[str]:
    """Return the CONVENTIONS.md rules that notebook ``path`` breaks (empty list: clean)."""
    path = Path(path)
    problems: list[str] = []
    m = NAME_RE.match(path.name)
    if not m:
        problems.append("name must be NN_slug.ipynb (two digits, lower_snake_case slug)")
    try:
        nb = load(path)
    except (OSError, json.JSONDecodeError) as exc:
        return problems + [f"not a readable notebook: {exc}"]
    cells = nb.get("cells", [])
    if not cells:
        return problems + ["has no cells"]
    setting = setting or course_setting()

    # 1. title, badge, headline
    head = _src(cells[0]) if cells[0].get("cell_type") == "markdown" else ""
    title = re.match(r"^# (\d\d) · \S.*", head)
    if not title:
        problems.append("first cell must be markdown starting with the title '# NN · Title'")
    elif m and title.group(1) != m.group(1):
        problems.append(f"title number {title.group(1)} does not match the file name {path.name}")
    if badge(path.name, setting) not in head:
        problems.append("first cell lacks the Colab badge derived from [tool.course] (run `make sync`)")
    if not re.search(r"^\*\*Headline:\*\*\s+\S", head, re.M):
        problems.append("first cell lacks the '**Headline:** ...' line")
    expected = measured_line(path.name)
    found = MEASURED_RE.search(head)
    if expected is not None and (found is None or found.group(0).strip() != expected):
        problems.append("first cell's '**Measured**' line differs from benchmarks/BENCHMARKS.json "
                        "(run `make sync`; numbers in the header come from `make bench`)")

    # 2. objectives, prerequisites, time to run (in the first two markdown cells)
    intro = "\n".join(_src(c) for c in cells[:3] if c.get("cell_type") == "markdown")
    learn = re.search(r"What you will learn[^\n]*\n((?:\s*[-*] .+\n?)+)", intro)
    n_items = len(re.findall(r"^\s*[-*] ", learn.group(1), re.M)) if learn else 0
    if not 3 <= n_items <= 6:
        problems.append(f"intro needs 'What you will learn' with 3-6 items (found {n_items})")
    if not re.search(r"Prerequisites", intro):
        problems.append("intro lacks 'Prerequisites'")
    if not re.search(r"Time to run", intro):
        problems.append("intro lacks 'Time to run'")
    study = re.search(r"\*\*Study time:\*\*\s*about\s+(\d+)\s+minutes", intro)
    if not study:
        problems.append("intro lacks '**Study time:** about NN minutes ...' (one sitting: 60-90 minutes)")
    elif int(study.group(1)) > MAX_STUDY_MINUTES:
        problems.append(f"study time {study.group(1)} minutes is more than one sitting ({MAX_STUDY_MINUTES}): "
                        "move fine print to 'Going further' sections")
    problems += _lint_main_path(cells)
    # links to other notebooks of the course: only to ones that exist (a later one is named in plain text)
    for i, c in enumerate(cells):
        if c.get("cell_type") == "markdown":
            for target in NOTEBOOK_LINK_RE.findall(_src(c)):
                if not any((d / target).is_file() for d in (path.parent, REPO_ROOT / "notebooks")):
                    problems.append(f"cell {i} links to {target}, which does not exist (yet): name it in plain "
                                    "text, e.g. 'notebook 22', until it is written")

    # 3. setup cell, 4. parameters cell
    code = [(i, c) for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    if not code:
        return problems + ["has no code cells"]
    first_i, first = code[0]
    if "import course_utils as cu" not in _src(first):
        problems.append("first code cell (setup) must `import course_utils as cu`")
    if install_line(setting) not in _src(first):
        problems.append("setup cell lacks the Colab install line derived from [tool.course] (run `make sync`)")
    params = [(i, c) for i, c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(params) != 1:
        problems.append(f"needs exactly one code cell tagged 'parameters' (found {len(params)})")
    else:
        pi, pc = params[0]
        if not re.search(r"^FAST\s*=\s*cu\.fast_mode\(\)", _src(pc), re.M):
            problems.append("parameters cell must set `FAST = cu.fast_mode()` (defaults from COURSE_FAST)")
        if pi < first_i:
            problems.append("parameters cell must come after the setup cell")
    if not any("cu.setup(" in _src(c) for _, c in code):
        problems.append("no `cu.setup(seed=SEED, ...)` call")

    # no committed outputs
    dirty = [i for i, c in code if c.get("outputs") or c.get("execution_count") is not None]
    if dirty:
        problems.append(f"committed with outputs or execution counts in cells {dirty[:5]} (run `make strip`)")
    if nb.get("metadata", {}).get("kernelspec", {}).get("name") not in (None, "python3"):
        problems.append("kernelspec must be python3")

    # control characters: a LaTeX command written in a non-raw Python string loses its backslash
    # ("\approx" saved as BEL + "pprox", "\frac" as form feed + "rac") and renders as garbage
    for i, c in enumerate(cells):
        src = _src(c)
        bad = CONTROL_RE.search(src)
        if bad:
            around = src[max(0, bad.start() - 15):bad.end() + 15]
            problems.append(f"cell {i} holds control character {bad.group()!r} in {around!r}: "
                            f"probably a LaTeX backslash lost in a non-raw string (write \\\\ or r'...')")

    # exercises (from 01 on; 00 may have some)
    has_exercises = any(_nbg(c) for c in cells)
    if m and (m.group(1) != "00" or has_exercises):
        problems += _lint_exercises(cells, min_exercises if m.group(1) != "00" else 1,
                                    min_written if m.group(1) != "00" else 0)
    return problems


MAX_STUDY_MINUTES = 90       # one sitting (CONVENTIONS.md)
MAX_MAIN_WORDS = 2600        # prose on the main path: "about 2,500 words"
MAX_MAIN_CELLS = 45          # cells on the main path, exercises included: "about 40 cells"
GOING_FURTHER_RE = re.compile(r"^##\s+Going further\b", re.M)
DETAILS_RE = re.compile(r"<details>.*?</details>", re.S)


def main_path(cells: list) -> list:
    """The cells before the first '## Going further' heading (all cells when there is none)."""
    for i, c in enumerate(cells):
        if c.get("cell_type") == "markdown" and GOING_FURTHER_RE.search(_src(c)):
            return cells[:i]
    return list(cells)


def prose_words(cells: list) -> int:
    """Words of markdown prose in ``cells``, leaving out written-answer model answers, <details> answers and
    the generated ``**Measured**`` line."""
    words = 0
    for c in cells:
        if c.get("cell_type") != "markdown" or (_nbg(c).get("solution") and _nbg(c).get("grade")):
            continue
        words += len(MEASURED_RE.sub(" ", DETAILS_RE.sub(" ", _src(c))).split())   # generated, not prose
    return words


def _lint_main_path(cells: list) -> list[str]:
    """One sitting: main-path size, Going further at the end, revealable answers to the questions."""
    problems = []
    main = main_path(cells)
    words, n = prose_words(main), len(main)
    if words > MAX_MAIN_WORDS:
        problems.append(f"main path has {words} words of prose (at most {MAX_MAIN_WORDS}): move fine print to "
                        "'## Going further' sections at the end")
    if n > MAX_MAIN_CELLS:
        problems.append(f"main path has {n} cells (at most {MAX_MAIN_CELLS}): move fine print to "
                        "'## Going further' sections at the end")
    headings = [(i, ln) for i, c in enumerate(cells) if c.get("cell_type") == "markdown"
                for ln in _src(c).splitlines() if re.match(r"^## ", ln)]
    first_gf = next((i for i, ln in headings if GOING_FURTHER_RE.match(ln)), None)
    if first_gf is not None:
        late = [ln for i, ln in headings if i > first_gf and not GOING_FURTHER_RE.match(ln)]
        if late:
            problems.append(f"'Going further' sections must come last; found {late[0]!r} after the first one")
    cyu = next((i for i, ln in headings if ln.lower().startswith("## check your understanding")), None)
    if cyu is None:
        problems.append("no '## Check your understanding' section")
        return problems
    if first_gf is not None and first_gf < cyu:
        problems.append("'Going further' sections must come after 'Check your understanding'")
    end = next((i for i, ln in headings if i > cyu), len(cells))
    text = "\n".join(_src(c) for c in cells[cyu:end + (1 if end == cyu else 0)] if c.get("cell_type") == "markdown")
    text = text.split("## Check your understanding", 1)[-1]
    text = re.split(r"^## ", text, flags=re.M)[0]
    questions = len(re.findall(r"^\d+\.\s", DETAILS_RE.sub("", text), re.M))
    answers = len(DETAILS_RE.findall(text))
    if questions == 0:
        problems.append("'Check your understanding' has no numbered questions")
    elif answers < questions:
        problems.append(f"'Check your understanding' has {questions} questions but {answers} revealable answers "
                        "(<details><summary>Answer</summary>...</details> after each)")
    return problems


def _lint_exercises(cells, min_exercises, min_written) -> list[str]:
    problems = []
    ids = [_nbg(c).get("grade_id") for c in cells if _nbg(c)]
    dup = sorted({i for i in ids if ids.count(i) > 1 and i})
    if dup:
        problems.append(f"duplicate nbgrader grade_id(s): {dup}")
    if any(_nbg(c) and not _nbg(c).get("grade_id") for c in cells):
        problems.append("an nbgrader cell has no grade_id")
    answers = [i for i, c in enumerate(cells)
               if c.get("cell_type") == "code" and _nbg(c).get("solution") and not _nbg(c).get("grade")]
    written = [i for i, c in enumerate(cells)
               if c.get("cell_type") == "markdown" and _nbg(c).get("solution") and _nbg(c).get("grade")]
    if len(answers) < min_exercises:
        problems.append(f"needs at least {min_exercises} autograded exercises (nbgrader answer cells), "
                        f"found {len(answers)}")
    if len(written) < min_written:
        problems.append(f"needs at least {min_written} written answer(s) (markdown cell with "
                        f"nbgrader solution+grade), found {len(written)}")
    for i in answers:
        src = _src(cells[i])
        gid = _nbg(cells[i]).get("grade_id")
        if "### BEGIN SOLUTION" not in src or "### END SOLUTION" not in src:
            problems.append(f"answer cell {gid!r} lacks ### BEGIN SOLUTION / ### END SOLUTION")
        nxt = next((c for c in cells[i + 1:] if c.get("cell_type") == "code"), None)
        g = _nbg(nxt) if nxt else {}
        if not (g.get("grade") and g.get("locked") and not g.get("solution") and g.get("points", 0) > 0):
            problems.append(f"answer cell {gid!r} must be followed by a locked test cell with points")
            continue
        tsrc = _src(nxt)
        if "cu.checks." not in tsrc:
            problems.append(f"test cell {g.get('grade_id')!r} must use cu.checks for its public checks")
        if "### BEGIN HIDDEN TESTS" not in tsrc or "### END HIDDEN TESTS" not in tsrc:
            problems.append(f"test cell {g.get('grade_id')!r} lacks ### BEGIN/END HIDDEN TESTS")
    for i in written:
        if not _nbg(cells[i]).get("points", 0) > 0:
            problems.append(f"written answer {_nbg(cells[i]).get('grade_id')!r} needs points > 0")
    open_ended = [c for c in cells if c.get("cell_type") == "code" and _nbg(c).get("grade")
                  and "open-ended" in c.get("metadata", {}).get("tags", [])]
    if answers and not open_ended:
        problems.append("needs an open-ended exercise: a test cell tagged 'open-ended' that checks on held-out "
                        "data inside ### BEGIN HIDDEN TESTS")
    for c in open_ended:
        if "### BEGIN HIDDEN TESTS" not in _src(c):
            problems.append(f"open-ended test cell {_nbg(c).get('grade_id')!r} must check on held-out data in "
                            "its hidden tests")
    problems += _lint_leaks(cells, answers)
    return problems


LEAK_MIN_CHARS = 12   # shorter solution lines ("return z") say nothing about the answer


def _code_lines(src: str) -> set[str]:
    """The solution's lines without comments and spaces, those of at least LEAK_MIN_CHARS characters."""
    out = set()
    for line in src.splitlines():
        if line.lstrip().startswith("#"):
            continue
        norm = re.sub(r"\s+", "", line)
        if len(norm) >= LEAK_MIN_CHARS:
            out.add(norm)
    return out


def _lint_leaks(cells: list, answers: list[int]) -> list[str]:
    """An answer printed elsewhere: before the answer cell, in any markdown, or in the public part of its test.

    "Printed" means that one place holds at least half of the solution's lines (and at least two of
    them, or its only line): one shared boilerplate line (``x = np.asarray(x, float)``) is not a leak,
    the code to copy sitting in the cell above or in a hint is.
    """
    problems = []
    for i in answers:
        src = _src(cells[i])
        if "### BEGIN SOLUTION" not in src:
            continue
        lines = _code_lines(src.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0])
        if not lines:
            continue
        need = 1 if len(lines) == 1 else max(2, (len(lines) + 1) // 2)
        gid = _nbg(cells[i]).get("grade_id")
        test = next((c for c in cells[i + 1:] if c.get("cell_type") == "code"), None)
        places = [(k, _src(c)) for k, c in enumerate(cells[:i])
                  if not (_nbg(c).get("solution") and c.get("cell_type") == "code")]
        places += [(k, _src(c)) for k, c in enumerate(cells) if k > i and c.get("cell_type") == "markdown"
                   and not _nbg(c).get("solution")]
        if test is not None:
            places.append((cells.index(test), _src(test).split("### BEGIN HIDDEN TESTS", 1)[0]))
        for k, text in places:
            flat = re.sub(r"\s+", "", text)
            hit = sorted(ln for ln in lines if ln in flat)
            if len(hit) >= need:
                problems.append(f"the solution of {gid!r} is printed in cell {k} ({len(hit)} of its {len(lines)} "
                                f"lines, e.g. {hit[0][:50]!r}): a hint or an earlier cell must not hold the answer")
                break
    return problems


# --------------------------------------------------------------------------- strip / sync

def strip_notebook(nb: dict) -> bool:
    """Remove outputs, execution counts and run metadata in place; return True if changed."""
    before = json.dumps(nb, sort_keys=True)
    for c in nb.get("cells", []):
        if c.get("cell_type") == "code":
            c["outputs"] = []
            c["execution_count"] = None
        md = c.get("metadata", {})
        for key in ("execution", "papermill", "collapsed", "scrolled"):
            md.pop(key, None)
    meta = nb.get("metadata", {})
    for key in ("widgets", "papermill", "execution"):
        meta.pop(key, None)
    return json.dumps(nb, sort_keys=True) != before


def sync_notebook(nb: dict, nb_name: str, setting: dict | None = None, bench: dict | None = None) -> bool:
    """Rewrite the badge and the Colab install line from the setting, and the header's ``**Measured**``
    line from the benchmark table (added after the ``**Headline:**`` line if missing); True if changed."""
    setting = setting or course_setting()
    before = json.dumps(nb, sort_keys=True)
    for c in nb.get("cells", []):
        src = _src(c)
        new = BADGE_RE.sub(lambda _: badge(nb_name, setting), src)
        new = INSTALL_RE.sub(lambda _: install_line(setting), new)
        if new != src:
            c["source"] = new
    cells = nb.get("cells", [])
    measured = measured_line(nb_name, bench)
    if measured and cells and cells[0].get("cell_type") == "markdown":
        head = _src(cells[0])
        # one Measured paragraph, right after the Headline paragraph (which may span several lines)
        new = re.sub(r"\n*^\*\*Measured\*\*[^\n]*$", "", head, flags=re.M)
        new = re.sub(r"(^\*\*Headline:\*\*.*?)(?=\n[ \t]*\n|\Z)", lambda m: m.group(1) + "\n\n" + measured, new,
                     count=1, flags=re.M | re.S)
        if new != head:
            cells[0]["source"] = new
    return json.dumps(nb, sort_keys=True) != before


def _notebooks(paths) -> list[Path]:
    out = []
    for p in map(Path, paths):
        out += sorted(p.glob("*.ipynb")) if p.is_dir() else [p]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m course_utils.tools.nbtools", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["lint", "strip", "sync"])
    ap.add_argument("paths", nargs="*", default=[str(REPO_ROOT / "notebooks")])
    args = ap.parse_args(argv)
    nbs = _notebooks(args.paths)
    if not nbs:
        print("no notebooks found in", args.paths)
        return 1
    bad = 0
    for path in nbs:
        if args.command == "lint":
            probs = lint_notebook(path)
            for p in probs:
                print(f"{path}: {p}")
            bad += bool(probs)
        else:
            nb = load(path)
            changed = strip_notebook(nb) if args.command == "strip" else sync_notebook(nb, path.name)
            if changed:
                save(nb, path)
                print(f"{args.command}: {path}")
    if args.command == "lint":
        print(f"{len(nbs) - bad}/{len(nbs)} notebooks follow the conventions")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
