import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import CheckFailed


def test_close_passes_and_prints(capsys):
    assert checks.close("half", 0.5000001, 0.5) is None  # nothing extra shows under a test cell
    assert "✓ half" in capsys.readouterr().out


def test_close_failure_says_expected_got_hint():
    with pytest.raises(CheckFailed) as e:
        checks.close("sigmoid(0)", 0.7, 0.5, hint="1/(1+exp(-z))")
    msg = str(e.value)
    assert "expected: 0.5" in msg and "got:      0.7" in msg and "hint:     1/(1+exp(-z))" in msg
    assert isinstance(e.value, AssertionError)  # nbgrader counts it as a failed test


def test_close_shape_mismatch():
    with pytest.raises(CheckFailed, match=r"shape \(3,\)"):
        checks.close("v", np.zeros(2), np.zeros(3))


def test_close_nan_and_non_numbers():
    with pytest.raises(CheckFailed, match="nan"):
        checks.close("v", np.array([np.nan]), np.array([1.0]))
    with pytest.raises(CheckFailed, match="not a number"):
        checks.close("v", "abc", 1.0)


def test_unsolved_answer_is_reported_kindly():
    with pytest.raises(CheckFailed, match="not solved yet"):
        checks.close("x", None, 1.0)


def test_equal_and_shape():
    checks.equal("labels", np.array([1, 2]), np.array([1, 2]))
    with pytest.raises(CheckFailed):
        checks.equal("labels", [1, 2], [2, 1])
    checks.shape("W", np.zeros((3, 4)), (3, None))
    with pytest.raises(CheckFailed, match=r"shape \(4, 3\)"):
        checks.shape("W", np.zeros((4, 3)), (3, None))


def test_function_compares_against_reference():
    ref = lambda x: x ** 2  # noqa: E731
    checks.function("square", lambda x: x * x, ref, inputs=[np.arange(3.0), (np.ones(2),)])
    with pytest.raises(CheckFailed, match="input #1"):
        checks.function("square", lambda x: x * 2, ref, inputs=[np.array([0.0, 2.0]), np.array([3.0])])


def test_function_reports_learner_exceptions_and_stubs():
    def stub(x):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not solved yet"):
        checks.function("f", stub, lambda x: x, inputs=[1.0])

    def broken(x):
        return x / undefined_name  # noqa: F821

    with pytest.raises(CheckFailed, match="NameError"):
        checks.function("f", broken, lambda x: x, inputs=[1.0])


def test_function_does_not_let_learner_mutate_inputs():
    def mutating(x):
        x[:] = 0
        return x

    x = np.array([1.0, 2.0])
    with pytest.raises(CheckFailed):
        checks.function("f", mutating, lambda v: v, inputs=[x])
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_function_tuple_outputs():
    ref = lambda x: (x, 2 * x)  # noqa: E731
    checks.function("pair", lambda x: (x, x + x), ref, inputs=[np.ones(2)])
    with pytest.raises(CheckFailed, match="tuple of 2"):
        checks.function("pair", lambda x: x, ref, inputs=[np.ones(2)])


def test_true_and_raises():
    checks.true("positive", 3 > 0, "a positive number")
    with pytest.raises(CheckFailed, match="a positive number"):
        checks.true("positive", False, "a positive number", got="-1")
    checks.raises("bad input", lambda: int("x"), ValueError)
    with pytest.raises(CheckFailed, match="no exception"):
        checks.raises("bad input", lambda: 1, ValueError)
