"""Unit tests for course_utils.scratch.descent (notebook 04)."""
import math

import numpy as np
import pytest

from course_utils import scratch as S


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(1.0, 1.0, n)
    y = 3.0 * x + 2.0 + rng.normal(0, 0.5, n)
    return x, y


# --------------------------------------------------------------------------- vocabulary

@pytest.mark.parametrize("n,b", [(1000, 32), (1797, 128), (100, 100), (100, 1), (7, 50), (64, 8)])
def test_iterations_per_epoch_is_ceil(n, b):
    assert S.iterations_per_epoch(n, b) == math.ceil(n / b)
    sizes = S.batch_sizes_per_epoch(n, b)
    assert len(sizes) == math.ceil(n / b)
    assert sum(sizes) == n
    assert all(s == min(b, n) for s in sizes[:-1])
    assert 1 <= sizes[-1] <= min(b, n)


def test_partial_last_batch():
    assert S.batch_sizes_per_epoch(100, 32) == [32, 32, 32, 4]
    assert S.batch_sizes_per_epoch(96, 32) == [32, 32, 32]
    assert S.iterations_per_epoch(10**18 + 1, 10**9) == 10**9 + 1  # exact integer ceil


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "8"])
def test_iterations_rejects_bad_batch(bad):
    with pytest.raises((ValueError, TypeError), match="batch_size"):
        S.iterations_per_epoch(100, bad)


def test_minibatch_indices_cover_each_example_once_and_shuffle():
    batches = list(S.minibatch_indices(103, 10, np.random.default_rng(1)))
    assert [len(b) for b in batches] == [10] * 10 + [3]
    allidx = np.concatenate(batches)
    np.testing.assert_array_equal(np.sort(allidx), np.arange(103))
    assert not np.array_equal(allidx, np.arange(103))
    # same seed, same order; order follows rng.permutation
    again = np.concatenate(list(S.minibatch_indices(103, 10, 1)))
    np.testing.assert_array_equal(allidx, again)
    np.testing.assert_array_equal(allidx, np.random.default_rng(1).permutation(103))
    plain = np.concatenate(list(S.minibatch_indices(103, 10, shuffle=False)))
    np.testing.assert_array_equal(plain, np.arange(103))


# --------------------------------------------------------------------------- linear regression

def test_linreg_gradient_matches_finite_differences():
    x, y = _data()
    X = np.c_[x, x ** 2]
    theta = np.array([0.3, -0.2, 0.7])
    loss, g = S.linreg_loss_grad(theta, X, y)
    eps = 1e-6
    num = np.array([(S.linreg_loss_grad(theta + eps * e, X, y)[0]
                     - S.linreg_loss_grad(theta - eps * e, X, y)[0]) / (2 * eps) for e in np.eye(3)])
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)
    assert loss == pytest.approx(np.mean((X @ theta[:2] + theta[2] - y) ** 2))


def test_least_squares_is_stationary_point():
    x, y = _data()
    theta = S.least_squares(x[:, None], y)
    _, g = S.linreg_loss_grad(theta, x[:, None], y)
    np.testing.assert_allclose(g, 0, atol=1e-10)
    np.testing.assert_allclose(theta, np.polyfit(x, y, 1), rtol=1e-10)


def test_linreg_epoch_full_batch_is_one_gradient_step():
    x, y = _data()
    w, b = S.linreg_epoch(0.5, -1.0, x, y, lr=0.05, batch_size=len(x), rng=np.random.default_rng(0))
    _, g = S.linreg_loss_grad(np.array([0.5, -1.0]), x[:, None], y)
    np.testing.assert_allclose([w, b], np.array([0.5, -1.0]) - 0.05 * g, rtol=1e-12)


def test_linreg_epoch_equals_minibatch_sgd_one_epoch():
    x, y = _data(n=50)
    w, b = S.linreg_epoch(0.0, 0.0, x, y, lr=0.02, batch_size=8, rng=np.random.default_rng(3))
    run = S.minibatch_sgd(S.linreg_loss_grad, np.zeros(2), x[:, None], y, lr=0.02, batch_size=8,
                          epochs=1, seed=3)
    np.testing.assert_allclose([w, b], run.theta, rtol=1e-12)
    assert run.steps == S.iterations_per_epoch(50, 8) == 7


def test_linreg_epoch_validates():
    x, y = _data()
    with pytest.raises(ValueError, match="same length"):
        S.linreg_epoch(0, 0, x, y[:-1], 0.1, 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="lr"):
        S.linreg_epoch(0, 0, x, y, -0.1, 4, np.random.default_rng(0))


# --------------------------------------------------------------------------- schedules

def test_schedules_values():
    assert S.inverse_time_lr(0.1, 0, 0.5) == pytest.approx(0.1)
    assert S.inverse_time_lr(0.1, 4, 0.5) == pytest.approx(0.1 / 3)
    np.testing.assert_allclose(S.inverse_time_lr(1.0, np.arange(3), 1.0), [1, 0.5, 1 / 3])
    assert S.step_decay_lr(0.1, 999, 0.5, 1000) == pytest.approx(0.1)
    assert S.step_decay_lr(0.1, 1000, 0.5, 1000) == pytest.approx(0.05)
    assert S.step_decay_lr(0.1, 2500, 0.5, 1000) == pytest.approx(0.025)
    with pytest.raises(ValueError, match="lr"):
        S.inverse_time_lr(0.0, 1, 0.1)
    with pytest.raises(ValueError, match="drop"):
        S.step_decay_lr(0.1, 1, drop=1.5)


# --------------------------------------------------------------------------- softmax regression

def test_softmax_regression_gradient_and_probabilities():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 5))
    y = rng.integers(0, 3, 12)
    theta = rng.normal(size=(6, 3)) * 0.3
    p = S.softmax_regression_predict(theta, X)
    np.testing.assert_allclose(p.sum(axis=1), 1)
    loss, g = S.softmax_regression_loss_grad(theta, X, y)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(12), y])))
    eps = 1e-6
    num = np.zeros_like(theta)
    for i in np.ndindex(theta.shape):
        e = np.zeros_like(theta)
        e[i] = eps
        num[i] = (S.softmax_regression_loss_grad(theta + e, X, y)[0]
                  - S.softmax_regression_loss_grad(theta - e, X, y)[0]) / (2 * eps)
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8)
    with pytest.raises(ValueError, match="labels"):
        S.softmax_regression_loss_grad(theta, X, y + 3)
    with pytest.raises(ValueError, match="theta"):
        S.softmax_regression_predict(theta[:-1], X)


# --------------------------------------------------------------------------- the loop

def test_budget_and_step_counts():
    x, y = _data(n=50)
    X = x[:, None]
    for b, steps in [(50, 3), (8, 3 * 7), (1, 150), (500, 3)]:
        run = S.minibatch_sgd(S.linreg_loss_grad, np.zeros(2), X, y, lr=0.01, batch_size=b, epochs=3,
                              record_path=True)
        assert run.steps == steps
        assert run.seen[-1] == 150  # same budget: 3 epochs of examples for every batch size
        assert run.path.shape == (steps + 1, 2)
        assert len(run.lrs) == steps
        np.testing.assert_allclose(run.path[-1], run.theta)


def test_batch_gd_converges_to_least_squares_and_sgd_noise_floor():
    x, y = _data(n=200)
    X = x[:, None]
    star = S.least_squares(X, y)
    gd = S.minibatch_sgd(S.linreg_loss_grad, np.zeros(2), X, y, lr=0.1, batch_size=200, epochs=400)
    np.testing.assert_allclose(gd.theta, star, atol=1e-6)
    # constant-lr SGD jitters; 1/t decay gets closer on the same budget
    const = S.minibatch_sgd(S.linreg_loss_grad, np.zeros(2), X, y, lr=0.05, batch_size=1, epochs=40,
                            seed=0)
    decay = S.minibatch_sgd(S.linreg_loss_grad, np.zeros(2), X, y, batch_size=1, epochs=40, seed=0,
                            lr=lambda t: S.inverse_time_lr(0.05, t, 2e-3))
    assert np.linalg.norm(decay.theta - star) < np.linalg.norm(const.theta - star)
    assert decay.lrs[-1] < decay.lrs[0] / 10


def test_divergence_is_flagged_and_stops():
    x, y = _data(n=100)
    run = S.minibatch_sgd(S.linreg_loss_grad, np.zeros(2), x[:, None], y, lr=1.0, batch_size=100,
                          epochs=200)
    assert run.diverged
    assert run.steps < 200


def test_minibatch_sgd_validates():
    x, y = _data()
    with pytest.raises(TypeError, match="loss_grad"):
        S.minibatch_sgd("mse", np.zeros(2), x[:, None], y, 0.1, 4, 1)
    with pytest.raises(ValueError, match="epochs"):
        S.minibatch_sgd(S.linreg_loss_grad, np.zeros(2), x[:, None], y, 0.1, 4, 0)
    with pytest.raises(ValueError, match="same number of rows"):
        S.minibatch_sgd(S.linreg_loss_grad, np.zeros(2), x[:, None], y[:-1], 0.1, 4, 1)
    with pytest.raises(ValueError, match="n_features"):
        S.linreg_loss_grad(np.zeros(3), x[:, None], y)


# --------------------------------------------------------------------------- a budget of per-example gradients

def _updates_within_budget(n, b, budget):
    """Brute force: run epoch after epoch, stop before the first batch that does not fit."""
    sizes = S.batch_sizes_per_epoch(n, b)
    count = spent = 0
    while True:
        for s in sizes:
            if spent + s > budget:
                return count, spent
            spent += s
            count += 1


@pytest.mark.parametrize("n,b,budget", [(10, 4, 25), (10, 4, 29), (10, 4, 30), (50, 8, 120), (50, 50, 149),
                                        (7, 50, 20), (20, 1, 33), (50, 8, 7)])
def test_budget_stops_before_the_batch_that_does_not_fit(n, b, budget):
    x, y = _data(n=n)
    run = S.minibatch_sgd(S.linreg_loss_grad, np.zeros(2), x[:, None], y, lr=0.01, batch_size=b,
                          budget=budget, seed=1)
    steps, spent = _updates_within_budget(n, b, budget)
    assert run.steps == steps
    assert run.seen[-1] == spent <= budget
    assert len(run.lrs) == steps


def test_budget_equals_the_same_run_cut_short():
    x, y = _data(n=50)
    X = x[:, None]
    # a budget of exactly 3 epochs is the 3-epoch run; a budget and epochs together: the first limit wins
    full = S.minibatch_sgd(S.linreg_loss_grad, np.zeros(2), X, y, lr=0.02, batch_size=8, epochs=3, seed=4)
    by_budget = S.minibatch_sgd(S.linreg_loss_grad, np.zeros(2), X, y, lr=0.02, batch_size=8, budget=150, seed=4)
    np.testing.assert_array_equal(full.theta, by_budget.theta)
    both = S.minibatch_sgd(S.linreg_loss_grad, np.zeros(2), X, y, lr=0.02, batch_size=8, epochs=1, budget=150,
                           seed=4)
    assert both.steps == S.iterations_per_epoch(50, 8)
    # mid-epoch: the first updates of the same shuffled order
    part = S.minibatch_sgd(S.linreg_loss_grad, np.zeros(2), X, y, lr=0.02, batch_size=8, budget=47, seed=4,
                           record_path=True)
    longer = S.minibatch_sgd(S.linreg_loss_grad, np.zeros(2), X, y, lr=0.02, batch_size=8, epochs=1, seed=4,
                             record_path=True)
    assert part.steps == 5 and part.seen[-1] == 40
    np.testing.assert_array_equal(part.path, longer.path[:6])


def test_budget_validates():
    x, y = _data()
    with pytest.raises(ValueError, match="epochs .* or budget"):
        S.minibatch_sgd(S.linreg_loss_grad, np.zeros(2), x[:, None], y, 0.1, 4)
    with pytest.raises(ValueError, match="budget"):
        S.minibatch_sgd(S.linreg_loss_grad, np.zeros(2), x[:, None], y, 0.1, 4, budget=0)
