"""Checks used by exercise test cells.

Each check prints a line starting with ``✓`` when it passes (and returns None), and raises
:class:`CheckFailed` (an ``AssertionError``, so nbgrader counts the cell as failed)
with what was expected, what came back and a hint when it does not.

Example (a test cell)
---------------------
>>> cu.checks.close("sigmoid(0)", my_sigmoid(0.0), 0.5, hint="1 / (1 + exp(-x))")
>>> cu.checks.function("sigmoid", my_sigmoid, cu.scratch.sigmoid,
...                    inputs=[np.linspace(-5, 5, 11)], hint="vectorise with np.exp")
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

__all__ = ["CheckFailed", "close", "equal", "shape", "true", "function", "raises",
           "not_implemented"]


class CheckFailed(AssertionError):
    """An exercise check failed; the message says what was expected and a hint."""


def _intact() -> None:
    """Raise :class:`CheckFailed` if the checks (or the NumPy functions they rely on) were replaced.

    A second line of defence behind the grader's static scan (``course_utils.tools.integrity``):
    a test cell that calls any check notices that another check, or ``np.allclose``, was patched.
    It cannot notice a patch of itself; the static scan, which runs outside the kernel, can.
    """
    for owner, name, obj, code in _PRISTINE:
        now = getattr(owner, name, None)
        if now is not obj or getattr(now, "__code__", None) is not code:
            raise CheckFailed(f"✗ the test machinery was modified ({getattr(owner, '__name__', owner)}.{name} "
                              "is not the original): no check can be trusted, so this exercise earns no points")


def _fail(name: str, expected: str, got: str, hint: str | None) -> None:
    msg = f"✗ {name}\n    expected: {expected}\n    got:      {got}"
    if hint:
        msg += f"\n    hint:     {hint}"
    raise CheckFailed(msg)


def _ok(name: str, quiet: bool) -> None:
    # Returns None on purpose: a check as the last line of a cell shows only its ✓ line.
    if not quiet:
        print(f"✓ {name}")


def _short(x: Any, limit: int = 200) -> str:
    if isinstance(x, np.ndarray) and x.ndim == 0:
        s = repr(x.item())
    elif isinstance(x, np.ndarray):
        with np.printoptions(precision=5, threshold=12, edgeitems=3):
            s = f"array shape {x.shape} dtype {x.dtype}: {np.array2string(x)}"
    else:
        s = repr(x)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def not_implemented(name: str, value: Any) -> None:
    """Fail with a friendly message when an answer is still the stub (None / Ellipsis)."""
    _intact()
    if value is None or value is Ellipsis:
        _fail(name, "your implementation", f"{value!r} (the exercise is not solved yet)",
              "replace the `raise NotImplementedError()` line with your code")


def close(name: str, got: Any, expected: Any, atol: float = 1e-6, rtol: float = 1e-5,
          hint: str | None = None, quiet: bool = False) -> None:
    """Check that ``got`` equals ``expected`` numerically (same shape, within tolerance)."""
    not_implemented(name, got)
    try:
        g = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(name, _short(expected), f"something that is not a number/array: {_short(got)}", hint)
    e = np.asarray(expected, dtype=np.float64)
    if g.shape != e.shape:
        _fail(name, f"shape {e.shape}", f"shape {g.shape}", hint or "check which axis you summed over")
    if not np.all(np.isfinite(g) == np.isfinite(e)):
        _fail(name, _short(e), f"{_short(g)} (contains nan/inf)", hint or "look for overflow or 0/0")
    if not np.allclose(g, e, atol=atol, rtol=rtol, equal_nan=True):
        err = float(np.max(np.abs(g - e))) if g.size else 0.0
        _fail(name, _short(e), f"{_short(g)} (max abs error {err:.3g})", hint)
    return _ok(name, quiet)


def equal(name: str, got: Any, expected: Any, hint: str | None = None, quiet: bool = False) -> None:
    """Check exact equality (arrays element-wise, other objects with ``==``)."""
    not_implemented(name, got)
    if isinstance(expected, np.ndarray) or isinstance(got, np.ndarray):
        g, e = np.asarray(got), np.asarray(expected)
        if g.shape != e.shape or not np.array_equal(g, e):
            _fail(name, _short(e), _short(g), hint)
    elif got != expected:
        _fail(name, _short(expected), _short(got), hint)
    return _ok(name, quiet)


def shape(name: str, got: Any, expected: tuple, hint: str | None = None, quiet: bool = False) -> None:
    """Check an array's shape; ``None`` in ``expected`` matches any size on that axis."""
    not_implemented(name, got)
    s = tuple(np.shape(got))
    ok = len(s) == len(expected) and all(e is None or e == g for g, e in zip(s, expected))
    if not ok:
        _fail(name, f"shape {tuple(expected)}", f"shape {s}", hint)
    return _ok(name, quiet)


def true(name: str, condition: bool, expected: str, got: str = "it did not hold",
         hint: str | None = None, quiet: bool = False) -> None:
    """Check a condition; ``expected`` says in words what should hold."""
    _intact()
    if not bool(condition):
        _fail(name, expected, got, hint)
    return _ok(name, quiet)


def function(name: str, fn: Callable, reference: Callable, inputs: Iterable, atol: float = 1e-6,
             rtol: float = 1e-5, hint: str | None = None, quiet: bool = False) -> None:
    """Call ``fn`` and ``reference`` on each input and check the results agree.

    ``inputs`` is a list; an item that is a tuple is unpacked as positional arguments.
    """
    _intact()
    if not callable(fn):
        _fail(name, "a function", _short(fn), "define the function in the cell above and run it")
    for i, args in enumerate(inputs):
        args = args if isinstance(args, tuple) else (args,)
        copies = tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args)
        try:
            got = fn(*copies)
        except NotImplementedError:
            _fail(name, "your implementation", "NotImplementedError (the exercise is not solved yet)",
                  "replace the `raise NotImplementedError()` line with your code")
        except Exception as exc:  # the learner's code raised: report it as a failed check
            _fail(f"{name} on input #{i}", "a result", f"{type(exc).__name__}: {exc}", hint)
        expected = reference(*args)
        if isinstance(expected, tuple):
            if not isinstance(got, tuple) or len(got) != len(expected):
                _fail(f"{name} on input #{i}", f"a tuple of {len(expected)} values", _short(got), hint)
            for k, (g, e) in enumerate(zip(got, expected)):
                close(f"{name} on input #{i}, output {k}", g, e, atol, rtol, hint, quiet=True)
        else:
            close(f"{name} on input #{i}", got, expected, atol, rtol, hint, quiet=True)
    return _ok(name, quiet)


def raises(name: str, fn: Callable, exception: type = Exception, args: tuple = (),
           hint: str | None = None, quiet: bool = False) -> None:
    """Check that ``fn(*args)`` raises ``exception``."""
    _intact()
    try:
        fn(*args)
    except exception:
        return _ok(name, quiet)
    except Exception as exc:
        _fail(name, f"{exception.__name__}", f"{type(exc).__name__}: {exc}", hint)
    _fail(name, f"{exception.__name__} to be raised", "no exception", hint)


def _pristine() -> tuple:
    """(owner, name, object, code) of every function the checks rely on, taken when this module loads."""
    import sys
    me = sys.modules[__name__]
    items = [(me, n) for n in __all__ + ["_fail", "_ok", "_short", "_intact"] if n != "CheckFailed"]
    items += [(np, n) for n in ("allclose", "array_equal", "asarray", "isfinite", "all", "shape")]
    items += [(np.testing, n) for n in ("assert_allclose", "assert_array_equal", "assert_equal")]
    out = []
    for owner, n in items:
        obj = getattr(owner, n)
        out.append((owner, n, obj, getattr(obj, "__code__", None)))
    return tuple(out)


_PRISTINE = _pristine()
