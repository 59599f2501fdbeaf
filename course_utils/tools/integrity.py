"""Grading integrity: read a submission's own code before it runs (CONVENTIONS.md, "Grading integrity").

Two things must earn no points, whatever the learner's kernel does:

* an answer that **calls the reference implementation** (``return S.neuron(x, w, b)``, a function the
  notebook passes to ``cu.checks.function`` as the reference, or anything derived from them in the
  learner's own cells) scores 0 on that exercise;
* code that **patches the test machinery** (``setattr(course_utils.checks, ...)``, assigning to an
  attribute of a module, ``exec``/``eval``, ``get_ipython``, frame and ``__globals__`` tricks ...) makes
  every autograded exercise of the submission score 0.

The scan is static: it reads the learner's code with :mod:`ast` in the grader's own process, before
and independently of the kernel, so it does not depend on the learner leaving the kernel intact. What it
reads: every answer cell, and every code cell the learner added or changed (a cell whose source is not a
cell of the student version). Locked test cells are restored by nbgrader and are not the learner's.

What it does not stop (README, "Grading integrity"): a learner who copies the reference's source text into
an answer (that is copying, as from a classmate), and code that reaches the reference or the checks
through a channel that names none of the things listed here (for example a crafted pickle file). The
in-kernel self-check of :mod:`course_utils.checks` is a second, weaker line for the latter.

Public functions: :func:`scan` (a submission against its student version) and :func:`course_names`.
"""
from __future__ import annotations

import ast
import re
from dataclasses import asdict, dataclass

from .nbtools import _nbg, _src

PACKAGE = "course_utils"
#: Modules whose names learner code may import (top-level package; ``sklearn.datasets`` excepted below).
ALLOWED_IMPORTS = frozenset({
    "numpy", "math", "cmath", "random", "itertools", "functools", "collections", "statistics", "time",
    "dataclasses", "typing", "string", "matplotlib", "keras", "tensorflow", "scipy", "sklearn",
    "__future__",
    "re", "html", "unicodedata",   # text notebooks: regular expressions, entities, accents
})
#: Dotted prefixes that load a dataset (a held-out set could come from there): not allowed in answers.
DATA_SOURCES = ("sklearn.datasets", "keras.datasets", "tensorflow.keras.datasets", "mlxtend",
                "tensorflow_datasets")
#: Builtins that reach into objects, run strings as code or replace attributes.
TAMPER_CALLS = frozenset({"setattr", "delattr", "vars", "globals", "locals", "eval", "exec", "compile",
                          "__import__", "get_ipython", "breakpoint"})
#: Names that are the interpreter's or IPython's machinery.
TAMPER_NAMES = frozenset({"__builtins__", "builtins", "get_ipython", "__IPYTHON__", "_ih", "_oh", "Out", "In"})
#: Attributes that reach code, globals, frames and class internals.
TAMPER_ATTRS = frozenset({
    "__dict__", "__globals__", "__code__", "__closure__", "__builtins__", "__class__", "__base__",
    "__bases__", "__mro__", "__subclasses__", "__setattr__", "__delattr__", "__getattribute__",
    "__import__", "__loader__", "__spec__", "__self__", "__func__", "__wrapped__", "__defaults__",
    "__kwdefaults__", "__reduce__", "__reduce_ex__", "__getattr__", "f_globals", "f_locals", "f_back",
    "f_builtins", "gi_frame", "tb_frame", "cr_frame", "ag_frame", "_getframe", "modules",
})


@dataclass
class Finding:
    """One thing the scan found in a learner's cell."""
    kind: str          # "reference" | "tamper" | "import"
    cell: str          # the answer cell's grade_id, or "cell N" (position in the submission)
    answer: str | None  # the answer cell's grade_id when the finding is in one, else None
    what: str          # the code it found, e.g. "S.neuron"
    line: int = 0

    def message(self) -> str:
        where = f"{self.cell}, line {self.line}" if self.line else self.cell
        return {
            "reference": f"calls the reference implementation ({self.what}, {where}): answers must be your own code",
            "tamper": f"patches the test machinery ({self.what}, {where}): no autograded points for this submission",
            "import": f"uses {self.what} ({where}), which answers may not use",
        }[self.kind]

    def as_dict(self) -> dict:
        return asdict(self) | {"message": self.message()}


# --------------------------------------------------------------------------- helpers

#: Magics a learner may use in a submitted notebook: timing and the plot backend. Any other magic or
#: ``!shell`` line becomes a ``get_ipython()`` call, which the scan reports as patching the machinery.
SAFE_MAGICS = ("time", "timeit", "matplotlib")
_MAGIC_OPTIONS = re.compile(r"^(?:\s*-[a-zA-Z]+(?:\s+\d+)?)*\s*")


def _python(source: str) -> str:
    """IPython cell source as plain Python.

    ``%time``/``%timeit`` lines and ``%%time``/``%%timeit`` cells become the code they time (so that
    code is scanned too), ``%matplotlib`` lines become ``pass``; every other ``%magic`` and ``!cmd``
    becomes a ``get_ipython()`` call, as IPython itself would run it.
    """
    lines = source.splitlines()
    if lines and re.match(r"^%%(time|timeit)\b", lines[0].strip()):
        lines = lines[1:]
    out = []
    for line in lines:
        m = re.match(r"^(\s*)%(time|timeit|matplotlib)\b(.*)$", line)
        if m and m.group(2) == "matplotlib":
            out.append(f"{m.group(1)}pass")
        elif m:
            out.append(m.group(1) + _MAGIC_OPTIONS.sub("", m.group(3), count=1))
        else:
            out.append(line)
    text = "\n".join(out)
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(text)
    except Exception:  # IPython missing or a transform error: parse the text as it is
        return text


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _root(node: ast.AST) -> ast.Name | None:
    """The Name at the bottom of an attribute/subscript/call chain."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call, ast.Starred)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node if isinstance(node, ast.Name) else None


def _bound_names(node: ast.stmt) -> set[str]:
    """Names a statement binds where it runs (assignment targets, def/class names, imports, loop targets)."""
    out: set[str] = set()

    def targets(t):
        if isinstance(t, ast.Name):
            out.add(t.id)
        elif isinstance(t, (ast.Tuple, ast.List)):
            for e in t.elts:
                targets(e)
        elif isinstance(t, ast.Starred):
            targets(t.value)

    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        out.add(node.name)
        return out
    if isinstance(node, ast.Assign):
        for t in node.targets:
            targets(t)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
        targets(node.target)
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        for item in node.items:
            if item.optional_vars is not None:
                targets(item.optional_vars)
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        out |= {name for name, _ in _imports(node)}
    for sub in ast.walk(node):
        if isinstance(sub, ast.NamedExpr):
            targets(sub.target)
    return out


def _module_statements(tree: ast.AST):
    """The statements that run at a cell's top level (through if/for/while/with/try, not into def/class)."""
    todo = list(getattr(tree, "body", []))
    while todo:
        stmt = todo.pop(0)
        yield stmt
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for field in ("body", "orelse", "finalbody", "handlers"):
            todo.extend(x for x in getattr(stmt, field, []) if isinstance(x, (ast.stmt, ast.excepthandler)))


def _imports(node: ast.AST) -> list[tuple[str, str]]:
    """``[(bound name, dotted path imported)]`` of an import statement (``[]`` for anything else)."""
    if isinstance(node, ast.Import):
        return [(a.asname or a.name.split(".")[0], a.name) for a in node.names]
    if isinstance(node, ast.ImportFrom):
        mod = "." * node.level + (node.module or "")
        return [(a.asname or a.name, f"{mod}.{a.name}") for a in node.names]
    return []


def _not_allowed(path: str) -> bool:
    """True when learner answers may not import ``path`` (outside the allowed list, or a dataset source)."""
    top = path.lstrip(".").split(".")[0]
    return (top == PACKAGE or top not in ALLOWED_IMPORTS
            or any(path == d or path.startswith(d + ".") for d in DATA_SOURCES))


# --------------------------------------------------------------------------- the notebook's own names

def _code_trees(nb: dict):
    """``(cell, ast tree)`` for every code cell of ``nb`` that parses."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            try:
                yield cell, ast.parse(_python(_src(cell)))
            except SyntaxError:
                continue


def course_names(nb: dict) -> dict[str, str]:
    """Names the instructor's cells bind to the course package or its references: ``{name: dotted path}``.

    ``import course_utils as cu`` gives ``{"cu": "course_utils"}``; ``S = cu.scratch`` adds
    ``{"S": "course_utils.scratch"}``; ``from course_utils.scratch import neuron`` adds ``neuron``.
    A call (``digits = cu.data.load("digits")``) binds data, not the package, and is not listed.
    Functions a test cell passes as the reference of ``cu.checks.function(name, answer, reference, ...)``
    are listed as ``"reference:<name>"``.
    """
    names: dict[str, str] = {}
    for cell, tree in _code_trees(nb):
        g = _nbg(cell)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == PACKAGE:
                        names[a.asname or PACKAGE] = a.name if a.asname else PACKAGE
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == PACKAGE:
                for a in node.names:
                    names[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Call) and g.get("grade") and len(node.args) >= 3:
                fn = _dotted(node.func) or ""
                if fn.endswith("checks.function"):
                    ref = _dotted(node.args[2])
                    if ref and "." not in ref:
                        names.setdefault(ref, f"reference:{ref}")
        # aliases: NAME = <attribute chain rooted at a course name>, to a fixed point
        changed = True
        while changed:
            changed = False
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    path = _dotted(node.value)
                    if path and path.split(".")[0] in names and node.targets[0].id not in names:
                        base = names[path.split(".")[0]]
                        names[node.targets[0].id] = ".".join([base] + path.split(".")[1:])
                        changed = True
    return names


def _module_names(nb: dict) -> set[str]:
    """Names the instructor's cells bind with ``import`` (np, plt, keras ...): their attributes are not the learner's."""
    out = set()
    for _, tree in _code_trees(nb):
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                out |= {a.asname or a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                out |= {a.asname or a.name for a in node.names}
    return out


# --------------------------------------------------------------------------- the learner's cells

def learner_cells(submitted: dict, student: dict) -> list[tuple[str, str | None, str]]:
    """``[(label, answer grade_id or None, source)]``: the code the learner wrote or changed.

    Answer cells (nbgrader ``solution``) always count; any other code cell counts when its source is
    not the source of a code cell of the student version. Locked test cells are skipped: nbgrader
    restores them from its database before running.
    """
    released = {_src(c).strip() for c in student.get("cells", []) if c.get("cell_type") == "code"}
    locked = {_nbg(c).get("grade_id") for c in student.get("cells", [])
              if _nbg(c).get("grade") and not _nbg(c).get("solution")}
    out = []
    for i, cell in enumerate(submitted.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        g = _nbg(cell)
        gid = g.get("grade_id")
        if gid in locked:
            continue
        src = _src(cell)
        if g.get("solution") and gid:
            out.append((gid, gid, src))
        elif src.strip() and src.strip() not in released:
            out.append((f"cell {i + 1}", None, src))
    return out


class _Scanner:
    """Taint propagation over the learner's cells, then the checks of :func:`scan`."""

    def __init__(self, forbidden: dict[str, str], modules: set[str]):
        self.forbidden = dict(forbidden)   # name -> "course_utils.scratch" | "reference:f" | "import:os"
        self.modules = set(modules)        # names bound to modules (np, plt, ...): their attributes are not the learner's
        self.origin: dict[str, str] = {}  # tainted name -> label of the learner cell that bound it
        self.findings: list[Finding] = []

    def add(self, kind: str, label: str, answer: str | None, what: str, node: ast.AST) -> None:
        f = Finding(kind, label, answer, what, getattr(node, "lineno", 0))
        if not any((x.kind, x.cell, x.what) == (f.kind, f.cell, f.what) for x in self.findings):
            self.findings.append(f)

    def _uses_forbidden(self, node: ast.AST) -> str | None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id in self.forbidden:
                return sub.id
        return None

    def taint(self, tree: ast.AST, label: str) -> bool:
        """One pass over a cell: names it binds from forbidden things become forbidden, module aliases modules."""
        changed = False

        def mark(name, path):
            nonlocal changed
            if name not in self.forbidden:
                self.forbidden[name] = path
                self.origin[name] = label
                changed = True

        for stmt in _module_statements(tree):
            if isinstance(stmt, ast.ExceptHandler):
                continue
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                for name, path in _imports(stmt):
                    if name not in self.modules:
                        self.modules.add(name)
                        changed = True
                    if path.split(".")[0] == PACKAGE:
                        mark(name, path)
                    elif _not_allowed(path):
                        mark(name, f"import:{path}")
                continue
            if isinstance(stmt, ast.Assign):
                root = _root(stmt.value) if _dotted(stmt.value) else None
                if root is not None and root.id in self.modules:
                    for name in _bound_names(stmt) - self.modules:
                        self.modules.add(name)
                        changed = True
            used = self._uses_forbidden(stmt)
            if used:
                for name in _bound_names(stmt):
                    mark(name, self.forbidden[used])
        return changed

    def check(self, tree: ast.AST, label: str, answer: str | None) -> None:
        """Record the findings of one cell (``answer``: its grade_id when it is an answer cell)."""
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for _, path in _imports(node):
                    if answer and path.split(".")[0] == PACKAGE:
                        self.add("reference", label, answer, f"import {path}", node)
                    elif answer and _not_allowed(path):
                        self.add("import", label, answer, f"import {path}", node)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                if node.id in TAMPER_NAMES or node.id in TAMPER_CALLS:
                    self.add("tamper", label, answer, node.id, node)
                elif answer and node.id in self.forbidden and self.origin.get(node.id) != label:
                    path = self.forbidden[node.id]
                    if path.startswith("import:"):
                        self.add("import", label, answer, f"{node.id} (from import {path[7:]})", node)
                    else:
                        self.add("reference", label, answer, self._spelled(node, tree), node)
            elif isinstance(node, ast.Attribute):
                if node.attr in TAMPER_ATTRS:
                    self.add("tamper", label, answer, f".{node.attr}", node)
                elif answer and node.attr == "datasets":
                    self.add("import", label, answer, _dotted(node) or ".datasets", node)
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                for t in targets:
                    for e in (t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]):
                        root = _root(e) if isinstance(e, (ast.Attribute, ast.Subscript)) else None
                        if root is not None and (root.id in self.modules or root.id in self.forbidden):
                            self.add("tamper", label, answer, f"assigns to {ast.unparse(e)}", node)

    def _spelled(self, node: ast.Name, tree: ast.AST) -> str:
        """``S.neuron`` rather than ``S`` when the name is used through an attribute."""
        for sub in ast.walk(tree):
            if isinstance(sub, ast.Attribute) and sub.value is node:
                return f"{node.id}.{sub.attr}"
        return node.id


def scan(submitted: dict, student: dict, instructor: dict | None = None) -> list[Finding]:
    """Findings in the learner's code of ``submitted`` (a notebook dict) against its ``student`` version.

    ``instructor`` (the instructor version) supplies the course names and the references of the test
    cells, hidden tests included; without it the student version's are used. Returns a list of
    :class:`Finding` (empty: nothing found).
    """
    if not isinstance(submitted, dict) or not isinstance(student, dict):
        raise TypeError("submitted and student must be notebook dicts (json.load of an .ipynb)")
    source = instructor if instructor is not None else student
    scanner = _Scanner(course_names(source), _module_names(source) | _module_names(student))
    cells = []
    for label, answer, src in learner_cells(submitted, student):
        try:
            tree = ast.parse(_python(src))
        except SyntaxError:
            continue   # it cannot run either: the kernel reports the SyntaxError, the exercise fails
        cells.append((label, answer, tree))
    while any([scanner.taint(tree, label) for label, _, tree in cells]):
        pass
    for label, answer, tree in cells:
        scanner.check(tree, label, answer)
    return scanner.findings
