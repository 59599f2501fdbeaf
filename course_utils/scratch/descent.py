"""Gradient descent from scratch: batch, mini-batch and stochastic (notebook 04).

The three "kinds" of gradient descent are one algorithm with one knob, the batch size B:
each update uses the mean gradient over B examples. ``B = N`` is batch gradient descent,
``B = 1`` is stochastic gradient descent (SGD), anything in between is mini-batch descent.
An *epoch* is one pass over the N training examples; it takes ``ceil(N / B)`` *iterations*
(updates), the last one on a partial batch of ``N - (ceil(N / B) - 1) * B`` examples when B
does not divide N.

Parameters are one NumPy array ``theta`` of any shape; a loss-and-gradient function
``loss_grad(theta, X, y) -> (loss, grad)`` returns the mean loss over the rows of ``X`` and
its gradient (same shape as ``theta``). :func:`minibatch_sgd` runs any such function.

Example
-------
>>> X = np.c_[np.linspace(-1, 1, 50)]; y = 3 * X[:, 0] + 2
>>> run = minibatch_sgd(linreg_loss_grad, np.zeros(2), X, y, lr=0.1, batch_size=8, epochs=50)
>>> run.theta            # close to [3, 2] = least_squares(X, y)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from ._validate import as_float_array, positive_int

__all__ = [
    "iterations_per_epoch", "batch_sizes_per_epoch", "minibatch_indices",
    "linreg_loss_grad", "least_squares", "linreg_epoch",
    "inverse_time_lr", "step_decay_lr",
    "softmax_regression_loss_grad", "softmax_regression_predict",
    "DescentRun", "minibatch_sgd",
]


# --------------------------------------------------------------------------- vocabulary

_positive_int = positive_int


def iterations_per_epoch(n_samples: int, batch_size: int) -> int:
    """Number of updates (iterations) in one epoch: ``ceil(n_samples / batch_size)``.

    The last batch is partial when ``batch_size`` does not divide ``n_samples``; it still
    counts as an iteration (Keras ``fit`` and PyTorch's ``DataLoader`` keep it by default).
    A ``batch_size`` larger than ``n_samples`` gives one iteration (batch gradient descent).

    >>> iterations_per_epoch(1000, 32)
    32
    """
    n = _positive_int("n_samples", n_samples)
    b = _positive_int("batch_size", batch_size)
    return -(-n // b)  # integer ceil, exact for any size


def batch_sizes_per_epoch(n_samples: int, batch_size: int) -> list[int]:
    """Sizes of the batches of one epoch, in order: full batches then the partial one.

    >>> batch_sizes_per_epoch(100, 32)
    [32, 32, 32, 4]
    """
    n = _positive_int("n_samples", n_samples)
    b = min(_positive_int("batch_size", batch_size), n)
    k = iterations_per_epoch(n, b)
    return [b] * (k - 1) + [n - (k - 1) * b]


def minibatch_indices(n_samples: int, batch_size: int,
                      rng: np.random.Generator | int | None = None,
                      shuffle: bool = True) -> Iterator[np.ndarray]:
    """Yield the index arrays of the mini-batches of one epoch.

    The order is ``rng.permutation(n_samples)`` (or ``arange`` when ``shuffle=False``),
    cut into consecutive pieces of ``batch_size``; every example appears exactly once per
    epoch and the last piece may be shorter.

    Parameters
    ----------
    n_samples, batch_size : int >= 1
    rng : numpy Generator, int seed or None
    shuffle : bool

    Yields
    ------
    ndarray of int, shape (batch_size,) (the last one possibly shorter)
    """
    n = _positive_int("n_samples", n_samples)
    b = _positive_int("batch_size", batch_size)
    if shuffle:
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        order = rng.permutation(n)
    else:
        order = np.arange(n)
    for start in range(0, n, b):
        yield order[start:start + b]


# --------------------------------------------------------------------------- linear regression

def _check_Xy(X, y, theta_rows: int | None = None):
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    if len(X) == 0:
        raise ValueError("X is empty: a batch needs at least one example")
    if theta_rows is not None and theta_rows != X.shape[1] + 1:
        raise ValueError(f"theta must have n_features + 1 = {X.shape[1] + 1} rows (weights then "
                         f"the bias), got {theta_rows}")
    return X, y


def linreg_loss_grad(theta, X, y) -> tuple[float, np.ndarray]:
    """Mean squared error of a linear model and its gradient.

    Model ``y_hat = X @ w + b`` with ``theta = [w_1, ..., w_d, b]``; loss
    ``L = mean((y_hat - y)**2)`` (Keras' ``"mse"``), gradient
    ``dL/dw = 2/n X.T (y_hat - y)``, ``dL/db = 2/n sum(y_hat - y)``.

    Parameters
    ----------
    theta : ndarray, shape (d + 1,)
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)

    Returns
    -------
    loss : float, grad : ndarray, shape (d + 1,)
    """
    theta = as_float_array(theta, "theta", ndim=1)
    X, y = _check_Xy(X, y, len(theta))
    err = X @ theta[:-1] + theta[-1] - y
    n = len(y)
    grad = np.empty_like(theta)
    grad[:-1] = (2.0 / n) * (X.T @ err)
    grad[-1] = (2.0 / n) * err.sum()
    return float(np.mean(err ** 2)), grad


def least_squares(X, y) -> np.ndarray:
    """The exact minimiser of the MSE of a linear model: ``theta = [w..., b]``, shape (d + 1,).

    Solves the least-squares problem with ``np.linalg.lstsq`` on ``[X, 1]``: the target
    every gradient-descent variant should reach on this convex loss.
    """
    X, y = _check_Xy(X, y)
    A = np.c_[X, np.ones(len(X))]
    theta, *_ = np.linalg.lstsq(A, y, rcond=None)
    return theta


def linreg_epoch(w: float, b: float, x, y, lr: float, batch_size: int,
                 rng: np.random.Generator) -> tuple[float, float]:
    """One epoch of mini-batch gradient descent for ``y_hat = w * x + b`` (one feature).

    The batches are those of :func:`minibatch_indices` with this ``rng`` (order
    ``rng.permutation(len(x))`` cut into pieces of ``batch_size``). For each batch:
    ``w -= lr * mean(2 (y_hat - y) x)`` and ``b -= lr * mean(2 (y_hat - y))``.

    Parameters
    ----------
    w, b : float
    x, y : ndarray, shape (n,)
    lr : float > 0
    batch_size : int >= 1 (``>= n`` is one batch-GD step)
    rng : numpy Generator (consumed: one permutation)

    Returns
    -------
    (w, b) after the epoch, floats
    """
    x = as_float_array(x, "x", ndim=1)
    y = as_float_array(y, "y", ndim=1)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    _check_lr(lr)
    w, b = float(w), float(b)
    for idx in minibatch_indices(len(x), batch_size, rng):
        err = w * x[idx] + b - y[idx]
        gw = 2.0 * np.mean(err * x[idx])
        gb = 2.0 * np.mean(err)
        w, b = w - lr * gw, b - lr * gb
    return w, b


# --------------------------------------------------------------------------- learning-rate decay

def _check_lr(lr):
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating, np.integer)) \
            or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")


def inverse_time_lr(lr0: float, step, decay: float):
    """1/t decay: ``lr0 / (1 + decay * step)`` (Keras ``InverseTimeDecay`` with ``decay_steps=1``).

    Its sum over steps diverges while the sum of its squares converges (the Robbins-Monro
    conditions), which is what lets SGD settle at the minimum instead of jittering around it.
    ``step`` may be an int or an array of steps.
    """
    _check_lr(lr0)
    if not np.isfinite(decay) or decay < 0:
        raise ValueError(f"decay must be a number >= 0, got {decay!r}")
    step = np.asarray(step, dtype=np.float64)
    if np.any(step < 0):
        raise ValueError("step must be >= 0")
    out = lr0 / (1.0 + decay * step)
    return float(out) if out.ndim == 0 else out


def step_decay_lr(lr0: float, step, drop: float = 0.5, every: int = 1000):
    """Step decay: ``lr0 * drop ** floor(step / every)`` (Keras ``ExponentialDecay``, staircase)."""
    _check_lr(lr0)
    if not 0 < drop <= 1:
        raise ValueError(f"drop must be in (0, 1], got {drop!r}")
    every = _positive_int("every", every)
    step = np.asarray(step, dtype=np.float64)
    if np.any(step < 0):
        raise ValueError("step must be >= 0")
    out = lr0 * drop ** np.floor(step / every)
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------- softmax regression

def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def softmax_regression_predict(theta, X) -> np.ndarray:
    """Class probabilities of softmax regression, shape (n, k); ``theta`` is (d + 1, k), bias last."""
    theta = as_float_array(theta, "theta", ndim=2)
    X = as_float_array(X, "X", ndim=2)
    if X.shape[1] + 1 != theta.shape[0]:
        raise ValueError(f"theta must have shape (n_features + 1, k) = ({X.shape[1] + 1}, k), "
                         f"got {theta.shape}")
    return _softmax(X @ theta[:-1] + theta[-1])


def softmax_regression_loss_grad(theta, X, y) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax regression (a one-layer classifier) and its gradient.

    ``p = softmax(X @ W + b)``, ``L = -mean(log p[i, y_i])`` (Keras'
    ``"sparse_categorical_crossentropy"``), ``dL/dW = X.T (p - onehot(y)) / n``.

    Parameters
    ----------
    theta : ndarray, shape (d + 1, k): the weights W (d, k), then the bias b as the last row
    X : ndarray, shape (n, d)
    y : ndarray of int, shape (n,), labels in 0..k-1

    Returns
    -------
    loss : float, grad : ndarray, shape (d + 1, k)
    """
    theta = as_float_array(theta, "theta", ndim=2)
    X = as_float_array(X, "X", ndim=2)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y must be a 1-D array of {len(X)} labels, got shape {y.shape}")
    k = theta.shape[1]
    if y.dtype.kind not in "iu" or y.min(initial=0) < 0 or y.max(initial=0) >= k:
        raise ValueError(f"y must hold integer labels in 0..{k - 1}, got dtype {y.dtype} "
                         f"and range [{y.min(initial=0)}, {y.max(initial=0)}]")
    p = softmax_regression_predict(theta, X)
    n = len(y)
    loss = -np.mean(np.log(np.clip(p[np.arange(n), y], 1e-300, None)))
    d = p.copy()
    d[np.arange(n), y] -= 1.0
    d /= n
    grad = np.empty_like(theta)
    grad[:-1] = X.T @ d
    grad[-1] = d.sum(axis=0)
    return float(loss), grad


# --------------------------------------------------------------------------- the loop

@dataclass
class DescentRun:
    """What :func:`minibatch_sgd` did.

    Attributes
    ----------
    theta : ndarray            the final parameters (same shape as the start)
    steps : int                updates made
    seen : ndarray, (m,)       examples seen at each checkpoint (0 first); divide by N for epochs
    loss : ndarray, (m,)       full-data loss at each checkpoint
    path : ndarray or None     (steps + 1, *theta.shape): theta after every update, if recorded
    lrs : ndarray, (steps,)    learning rate used at every update
    diverged : bool            the loss blew up (inf/nan or over ``diverge_at``) and the run stopped
    batch_size : int
    """
    theta: np.ndarray
    steps: int
    seen: np.ndarray
    loss: np.ndarray
    path: np.ndarray | None
    lrs: np.ndarray
    diverged: bool
    batch_size: int
    n_samples: int
    extra: dict = field(default_factory=dict)

    @property
    def epochs(self) -> np.ndarray:
        """Checkpoints in epochs (examples seen / N)."""
        return self.seen / self.n_samples


def minibatch_sgd(loss_grad: Callable, theta0, X, y, lr: float | Callable[[int], float],
                  batch_size: int, epochs: int | None = None,
                  seed: int | np.random.Generator | None = 0,
                  shuffle: bool = True, eval_every: int | None = None, record_path: bool = False,
                  diverge_at: float = 1e8, budget: int | None = None) -> DescentRun:
    """Mini-batch gradient descent on ``loss_grad`` for a budget of ``epochs`` passes over the data.

    Every variant gets the same budget in examples seen (``epochs * N`` per-example
    gradients): batch GD (``batch_size >= N``) makes ``epochs`` updates, SGD
    (``batch_size=1``) makes ``epochs * N``.

    With ``budget`` (a number of per-example gradient evaluations) the run instead goes on,
    epoch after epoch, until the next batch would no longer fit in what is left of the
    budget; it stops *before* that update (a batch is never cut, and batches never span two
    epochs, as in Keras). ``epochs`` may then be left out; if both are given, whichever ends
    first ends the run.

    Parameters
    ----------
    loss_grad : callable ``(theta, Xb, yb) -> (mean loss, grad)``
    theta0 : ndarray, any shape (copied)
    X : ndarray, shape (N, ...); y : ndarray, shape (N,)
    lr : float, or a callable ``lr(step) -> float`` of the 0-based update number (a schedule)
    batch_size : int >= 1 (clipped to N)
    epochs : int >= 1 (may be None when ``budget`` is given)
    seed : int, Generator or None; the order of every epoch is ``rng.permutation(N)``
    shuffle : bool
    eval_every : int or None
        Record the full-data loss whenever this many more examples have been seen
        (default: once per epoch, or per update for batch GD). Also at the start and end.
    record_path : bool
        Keep theta after every update (for 2-D pictures; memory grows with steps).
    diverge_at : float
        Stop and flag ``diverged`` when the loss exceeds this (or is not finite).
    budget : int >= 1 or None
        Most per-example gradients to spend (``run.seen[-1] <= budget``).

    Returns
    -------
    DescentRun
    """
    if not callable(loss_grad):
        raise TypeError(f"loss_grad must be a function (theta, X, y) -> (loss, grad), "
                        f"got {type(loss_grad).__name__}")
    X = np.asarray(X)
    y = np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    n = len(X)
    if n == 0:
        raise ValueError("X is empty")
    batch_size = min(_positive_int("batch_size", batch_size), n)
    if budget is not None:
        budget = _positive_int("budget", budget)
    if epochs is None:
        if budget is None:
            raise ValueError("give epochs (passes over the data) or budget (per-example gradients)")
        epochs = -(-budget // n)       # enough epochs to spend the budget; the budget ends the run
    epochs = _positive_int("epochs", epochs)
    if callable(lr):
        lr_fn = lr
        _check_lr(lr_fn(0))
    else:
        _check_lr(lr)
        lr_fn = (lambda t, c=float(lr): c)
    every = n if eval_every is None else _positive_int("eval_every", eval_every)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    theta = np.array(theta0, dtype=np.float64, copy=True)
    loss0, _ = loss_grad(theta, X, y)
    seen_l, loss_l = [0], [float(loss0)]
    path = [theta.copy()] if record_path else None
    lrs = []
    seen, next_eval, step, diverged = 0, every, 0, False
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(epochs):
            for idx in minibatch_indices(n, batch_size, rng, shuffle=shuffle):
                if budget is not None and seen + len(idx) > budget:
                    break
                _, g = loss_grad(theta, X[idx], y[idx])
                eta = float(lr_fn(step))
                theta = theta - eta * g
                lrs.append(eta)
                step += 1
                seen += len(idx)
                if record_path:
                    path.append(theta.copy())
                if not np.all(np.isfinite(theta)):
                    diverged = True
                if seen >= next_eval or diverged:
                    cur, _ = loss_grad(theta, X, y)
                    seen_l.append(seen)
                    loss_l.append(float(cur))
                    next_eval = (seen // every + 1) * every
                    if not np.isfinite(cur) or cur > diverge_at:
                        diverged = True
                if diverged:
                    break
            if diverged or (budget is not None and seen + min(batch_size, n) > budget):
                break
        if not diverged and seen_l[-1] != seen:
            cur, _ = loss_grad(theta, X, y)
            seen_l.append(seen)
            loss_l.append(float(cur))
    return DescentRun(theta=theta, steps=step, seen=np.asarray(seen_l, dtype=np.int64),
                      loss=np.asarray(loss_l), path=None if path is None else np.asarray(path),
                      lrs=np.asarray(lrs), diverged=diverged, batch_size=batch_size, n_samples=n)
