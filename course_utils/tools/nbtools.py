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

    # 2. objectives, prerequisites, time to run (in the first two markdown cells)
    intro = "\n".join(_src(c) for c in cells[:3] if c.get("cell_type") == "markdown")
    learn = re.search(r"What you will learn[^\n]*\n((?:\s*[-*] .+\n?)+)", intro)
    n_items = len(re.findall(r"^\s*[-*] ", learn.group(1), re.M)) if learn else 0
    if not 3 <= n_items <= 6:
        problems.append(f"intro needs 'What you will learn' with 3-6 items (found {n_items})")
    if not re.search(r"Prerequisites", intro):
        problems.append("intro lacks 'Prerequisites'")
    if not re.search(r"Time to run.*full.*fast|Time to run.*fast.*full", intro, re.I | re.S):
        problems.append("intro lacks 'Time to run' with full and fast times")

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

    # exercises (from 01 on)
    if m and m.group(1) != "00":
        problems += _lint_exercises(cells, min_exercises, min_written)
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


def sync_notebook(nb: dict, nb_name: str, setting: dict | None = None) -> bool:
    """Rewrite the badge and the Colab install line from the setting; True if changed."""
    setting = setting or course_setting()
    before = json.dumps(nb, sort_keys=True)
    for c in nb.get("cells", []):
        src = _src(c)
        new = BADGE_RE.sub(lambda _: badge(nb_name, setting), src)
        new = INSTALL_RE.sub(lambda _: install_line(setting), new)
        if new != src:
            c["source"] = new
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
