"""Neurons and the perceptron from scratch (notebook 01).

A threshold neuron computes a weighted sum ``z = x · w + b`` and fires (outputs 1) when
``z >= 0``. The perceptron rule learns ``w`` and ``b`` from labelled examples: for each
example it predicts ``ŷ = step(z)`` and, if that is wrong, moves the weights by
``lr * (y - ŷ) * x`` (and the bias by ``lr * (y - ŷ)``).

Labels are 0/1 everywhere in this module (the ±1 form appears only inside
:func:`novikoff_bound`, where the theorem is stated with it).

Everything is NumPy (plus SciPy's linear-programming solver in :func:`linear_separator`);
nothing here imports TensorFlow.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import as_float_array

__all__ = [
    "step_activation", "weighted_sum", "neuron", "augment", "line_segment",
    "GATE_INPUTS", "gate_data", "gate_weights",
    "perceptron_predict", "perceptron_update", "perceptron_epoch", "perceptron_fit",
    "perceptron_train", "PerceptronHistory",
    "linear_separator", "is_linearly_separable", "novikoff_bound",
    "step_network", "xor_network",
    "neuron_for_line", "at_least_k_neuron", "convex_polygon_network",
]

# --------------------------------------------------------------------------- validation


def _weights(w, b, d: int | None = None):
    w = as_float_array(w, "w", ndim=1)
    if d is not None and w.shape[0] != d:
        raise ValueError(f"w must have one weight per input feature ({d}), got shape {w.shape}. "
                         "Hint: len(w) must equal the number of columns of X.")
    b_arr = as_float_array(b, "b")
    if b_arr.ndim != 0:
        raise ValueError(f"b must be a single number (the bias), got shape {b_arr.shape}")
    return w, float(b_arr)


def _inputs(X, name: str = "X") -> np.ndarray:
    X = as_float_array(X, name, ndim=2)
    if X.shape[0] == 0:
        raise ValueError(f"{name} must contain at least one row (example), got shape {X.shape}")
    return X


def _labels01(y, n: int, name: str = "y") -> np.ndarray:
    y = as_float_array(y, name, ndim=1)
    if y.shape[0] != n:
        raise ValueError(f"{name} must have one label per row of X ({n}), got shape {y.shape}")
    bad = ~np.isin(y, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"{name} must contain only 0/1 labels, got {np.unique(y[bad])[:5]}. "
                         "Hint: turn a two-class problem into 0/1 with (y == positive_class).astype(int).")
    return y


def _positive_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}: {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


# --------------------------------------------------------------------------- the neuron


def step_activation(z):
    """Heaviside step: 1.0 where ``z >= 0``, else 0.0 (the neuron "fires" at z = 0 too).

    Parameters
    ----------
    z : float or ndarray, any shape

    Returns
    -------
    float for a scalar input, else a float64 ndarray with the shape of ``z``.
    """
    za = as_float_array(z, "z")
    out = (za >= 0.0).astype(np.float64)
    return float(out) if out.ndim == 0 else out


def weighted_sum(x, w, b):
    """The pre-activation ``z = x · w + b``.

    Parameters
    ----------
    x : ndarray, shape (d,) for one example or (n, d) for a batch
    w : ndarray, shape (d,)
    b : float

    Returns
    -------
    float for one example, ndarray of shape (n,) for a batch.
    """
    x = as_float_array(x, "x", ndim=(1, 2))
    w, b = _weights(w, b, x.shape[-1])
    z = x @ w + b
    return float(z) if np.ndim(z) == 0 else z


def _sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    # exp of a non-positive number only: no overflow for large |z|
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


_ACTIVATIONS = {"step": step_activation, "sigmoid": _sigmoid, "linear": lambda z: z}


def neuron(x, w, b, activation="step"):
    """One artificial neuron: ``activation(x · w + b)``.

    Parameters
    ----------
    x : ndarray, shape (d,) or (n, d)
    w : ndarray, shape (d,)
    b : float
    activation : {"step", "sigmoid", "linear"} or a function of z

    Returns
    -------
    float for one example, ndarray of shape (n,) for a batch.
    """
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)} or a function, "
                             f"got {activation!r}")
        act = _ACTIVATIONS[activation]
    elif callable(activation):
        act = activation
    else:
        raise TypeError(f"activation must be a name or a function, got {type(activation).__name__}")
    out = act(weighted_sum(x, w, b))
    return float(out) if np.ndim(out) == 0 else np.asarray(out, dtype=np.float64)


def augment(X):
    """Append a constant input 1 to every example: the bias becomes an ordinary weight.

    ``weighted_sum(X, w, b) == augment(X) @ np.r_[w, b]``.

    Parameters
    ----------
    X : ndarray, shape (d,) or (n, d)

    Returns
    -------
    ndarray, shape (d + 1,) or (n, d + 1)
    """
    X = as_float_array(X, "X", ndim=(1, 2))
    ones = np.ones(X.shape[:-1] + (1,))
    return np.concatenate([X, ones], axis=-1)


def line_segment(w, b, xlim, ylim):
    """The part of the decision line ``w1·x1 + w2·x2 + b = 0`` inside a box, for plotting.

    Parameters
    ----------
    w : ndarray, shape (2,)
    b : float
    xlim, ylim : (low, high) of the box

    Returns
    -------
    (xs, ys), two arrays of shape (2,) with the end points, or ``None`` when the line misses
    the box or ``w = 0`` (then z = b everywhere and there is no line).
    """
    w, b = _weights(w, b, 2)
    (x0, x1), (y0, y1) = (tuple(map(float, xlim)), tuple(map(float, ylim)))
    if not (x0 < x1 and y0 < y1):
        raise ValueError(f"xlim and ylim must be (low, high) with low < high, got {xlim}, {ylim}")
    if np.allclose(w, 0.0):
        return None
    pts = []
    if abs(w[1]) > 1e-12:  # crossings with the vertical edges x = x0, x = x1
        for x in (x0, x1):
            y = -(w[0] * x + b) / w[1]
            if y0 - 1e-12 <= y <= y1 + 1e-12:
                pts.append((x, y))
    if abs(w[0]) > 1e-12:  # crossings with the horizontal edges y = y0, y = y1
        for y in (y0, y1):
            x = -(w[1] * y + b) / w[0]
            if x0 - 1e-12 <= x <= x1 + 1e-12:
                pts.append((x, y))
    uniq = []
    for p in pts:
        if all(np.hypot(p[0] - q[0], p[1] - q[1]) > 1e-9 for q in uniq):
            uniq.append(p)
    if len(uniq) < 2:
        return None
    # the two crossings farthest apart (a line through a corner can produce three)
    best = max(((p, q) for i, p in enumerate(uniq) for q in uniq[i + 1:]),
               key=lambda pq: np.hypot(pq[0][0] - pq[1][0], pq[0][1] - pq[1][1]))
    return np.array([best[0][0], best[1][0]]), np.array([best[0][1], best[1][1]])


# --------------------------------------------------------------------------- logic gates

GATE_INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
"""The four inputs of a two-input logic gate, shape (4, 2), in truth-table order."""

_GATE_TARGETS = {
    "AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "NAND": [1, 1, 1, 0], "NOR": [1, 0, 0, 0],
    "XOR": [0, 1, 1, 0], "XNOR": [1, 0, 0, 1],
}
# Hand-set weights: the line w·x + b = 0 cuts the unit square between the 0s and the 1s.
_GATE_WEIGHTS = {
    "AND": ([1.0, 1.0], -1.5), "OR": ([1.0, 1.0], -0.5),
    "NAND": ([-1.0, -1.0], 1.5), "NOR": ([-1.0, -1.0], 0.5),
}


def _gate_name(name) -> str:
    if not isinstance(name, str) or name.upper() not in _GATE_TARGETS:
        raise ValueError(f"gate must be one of {sorted(_GATE_TARGETS)}, got {name!r}")
    return name.upper()


def gate_data(name):
    """Truth table of a two-input gate as a dataset.

    Parameters
    ----------
    name : {"AND", "OR", "NAND", "NOR", "XOR", "XNOR"}

    Returns
    -------
    X : ndarray, shape (4, 2), float64, the inputs (copy of :data:`GATE_INPUTS`)
    y : ndarray, shape (4,), int64, the gate's output for each row
    """
    key = _gate_name(name)
    return GATE_INPUTS.copy(), np.array(_GATE_TARGETS[key], dtype=np.int64)


def gate_weights(name):
    """Hand-set weights of a threshold neuron computing a gate.

    Parameters
    ----------
    name : {"AND", "OR", "NAND", "NOR"}  (XOR and XNOR have none: no line separates them)

    Returns
    -------
    w : ndarray, shape (2,)
    b : float
    """
    key = _gate_name(name)
    if key not in _GATE_WEIGHTS:
        raise ValueError(f"no single neuron computes {key}: its 1s and 0s are not linearly "
                         "separable. Use xor_network() for a two-layer solution.")
    w, b = _GATE_WEIGHTS[key]
    return np.array(w, dtype=np.float64), float(b)


# --------------------------------------------------------------------------- the perceptron


def perceptron_predict(X, w, b):
    """Class labels of a threshold neuron: 1 where ``X · w + b >= 0``, else 0.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    w : ndarray, shape (d,)
    b : float

    Returns
    -------
    ndarray, shape (n,), int64 labels in {0, 1}
    """
    X = _inputs(X)
    w, b = _weights(w, b, X.shape[1])
    return (X @ w + b >= 0.0).astype(np.int64)


def perceptron_update(x, y, w, b, lr=1.0):
    """One step of the perceptron rule on one example (inputs are not modified).

    ``ŷ = step(x · w + b)``; ``w ← w + lr·(y − ŷ)·x``; ``b ← b + lr·(y − ŷ)``.
    A correctly classified example leaves ``w`` and ``b`` unchanged.

    Parameters
    ----------
    x : ndarray, shape (d,)
    y : int, 0 or 1
    w : ndarray, shape (d,)
    b : float
    lr : float > 0, the learning rate

    Returns
    -------
    (w_new, b_new) : ndarray of shape (d,), float
    """
    x = as_float_array(x, "x", ndim=1)
    w, b = _weights(w, b, x.shape[0])
    y = as_float_array(y, "y")
    if y.ndim != 0 or float(y) not in (0.0, 1.0):
        raise ValueError(f"y must be a single label 0 or 1, got {y!r}")
    lr = _positive_number(lr, "lr")
    err = float(y) - (1.0 if x @ w + b >= 0.0 else 0.0)
    return w + lr * err * x, b + lr * err


def perceptron_epoch(X, y, w, b, lr=1.0, order=None):
    """One pass of the perceptron rule over the examples.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,), labels 0/1
    w : ndarray, shape (d,);  b : float  (the starting weights; not modified)
    lr : float > 0
    order : optional permutation of ``range(n)``; default: the rows in order

    Returns
    -------
    (w, b, mistakes) : ndarray (d,), float, int, where ``mistakes`` counts the updates
    made during the pass (examples that were wrong when they were visited).
    """
    X = _inputs(X)
    y = _labels01(y, X.shape[0])
    w, b = _weights(w, b, X.shape[1])
    lr = _positive_number(lr, "lr")
    idx = _order(order, X.shape[0])
    w = w.copy()
    mistakes = 0
    for i in idx:
        err = y[i] - (1.0 if X[i] @ w + b >= 0.0 else 0.0)
        if err != 0.0:
            w += lr * err * X[i]
            b += lr * err
            mistakes += 1
    return w, float(b), mistakes


def _order(order, n):
    if order is None:
        return np.arange(n)
    idx = np.asarray(order)
    if idx.shape != (n,) or idx.dtype.kind not in "iu" or not np.array_equal(np.sort(idx), np.arange(n)):
        raise ValueError(f"order must be a permutation of range({n}) (shape ({n},), integers), "
                         f"got {idx.shape} {idx.dtype}")
    return idx


@dataclass
class PerceptronHistory:
    """What :func:`perceptron_train` records, epoch by epoch.

    Attributes
    ----------
    w, b : the final weights, ndarray (d,) and float
    w_path : ndarray, shape (epochs_run + 1, d), the weights before epoch 1 and after each epoch
    b_path : ndarray, shape (epochs_run + 1,)
    mistakes : ndarray, shape (epochs_run,), int, updates made during each epoch
    errors : ndarray, shape (epochs_run + 1,), int, training errors of ``w_path[k], b_path[k]``
        measured on all examples (``errors[0]``: the starting weights)
    converged : bool, True if an epoch made no update (then all examples are classified right)
    pocket_w, pocket_b, pocket_errors : the weights with the fewest training errors among
        ``w_path`` (the "pocket" algorithm, checked once per epoch) and their error count
    avg_w, avg_b : the averaged perceptron: the mean of the weights over every example visit
    """
    w: np.ndarray
    b: float
    w_path: np.ndarray
    b_path: np.ndarray
    mistakes: np.ndarray
    errors: np.ndarray
    converged: bool
    pocket_w: np.ndarray
    pocket_b: float
    pocket_errors: int
    avg_w: np.ndarray
    avg_b: float

    @property
    def epochs_run(self) -> int:
        return len(self.mistakes)


def perceptron_train(X, y, epochs=100, lr=1.0, w0=None, b0=0.0, shuffle=False, seed=None,
                     stop_when_converged=True) -> PerceptronHistory:
    """Train a perceptron and record its history, its pocket and its averaged weights.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,), labels 0/1
    epochs : int >= 1, the most passes over the data
    lr : float > 0
    w0 : ndarray, shape (d,), starting weights (default zeros);  b0 : float, starting bias
    shuffle : bool, visit the examples in a new random order each epoch (``seed``)
    stop_when_converged : stop after the first epoch without an update

    Returns
    -------
    :class:`PerceptronHistory`
    """
    X = _inputs(X)
    n, d = X.shape
    y = _labels01(y, n)
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    lr = _positive_number(lr, "lr")
    w, b = _weights(np.zeros(d) if w0 is None else w0, b0, d)
    w = w.copy()
    rng = np.random.default_rng(seed)
    w_path, b_path, mistakes = [w.copy()], [b], []
    sum_w, sum_b, visits = np.zeros(d), 0.0, 0
    for _ in range(int(epochs)):
        idx = rng.permutation(n) if shuffle else np.arange(n)
        k = 0
        for i in idx:
            err = y[i] - (1.0 if X[i] @ w + b >= 0.0 else 0.0)
            if err != 0.0:
                w += lr * err * X[i]
                b += lr * err
                k += 1
            sum_w += w
            sum_b += b
            visits += 1
        w_path.append(w.copy())
        b_path.append(b)
        mistakes.append(k)
        if k == 0 and stop_when_converged:
            break
    w_path, b_path = np.array(w_path), np.array(b_path)
    errors = np.array([int(np.sum((X @ wk + bk >= 0.0) != (y == 1.0))) for wk, bk in zip(w_path, b_path)])
    best = int(np.argmin(errors))
    return PerceptronHistory(
        w=w, b=float(b), w_path=w_path, b_path=b_path, mistakes=np.array(mistakes, dtype=np.int64),
        errors=errors.astype(np.int64), converged=bool(mistakes[-1] == 0),
        pocket_w=w_path[best].copy(), pocket_b=float(b_path[best]), pocket_errors=int(errors[best]),
        avg_w=sum_w / visits, avg_b=sum_b / visits)


def perceptron_fit(X, y, epochs=100, lr=1.0, w0=None, b0=0.0, shuffle=False, seed=None):
    """Train a perceptron from ``w0`` (default zeros) and ``b0``; stop after an epoch without mistakes.

    Parameters
    ----------
    X : ndarray, shape (n, d);  y : ndarray, shape (n,), labels 0/1
    epochs : int >= 1;  lr : float > 0
    w0, b0 : starting weights (d,) and bias
    shuffle, seed : visit the rows in a new random order each epoch

    Returns
    -------
    (w, b, mistakes) : ndarray (d,), float, int ndarray (epochs_run,) of updates per epoch;
    its last entry is 0 exactly when the perceptron converged.
    """
    h = perceptron_train(X, y, epochs=epochs, lr=lr, w0=w0, b0=b0, shuffle=shuffle, seed=seed)
    return h.w, h.b, h.mistakes


# --------------------------------------------------------------------------- separability and the theorem


def linear_separator(X, y, tol=1e-9):
    """A line (hyperplane) that separates the two classes, or ``None`` if none exists.

    Solves the linear program: maximise ``t`` subject to ``s_i (x_i · w + b) >= t`` with
    ``s_i = ±1`` and every ``|w_j|, |b| <= 1``. The data are linearly separable exactly when
    the optimum ``t`` is positive. Uses ``scipy.optimize.linprog`` (HiGHS).

    Parameters
    ----------
    X : ndarray, shape (n, d);  y : ndarray, shape (n,), labels 0/1

    Returns
    -------
    (w, b) with ``w`` of shape (d,), classifying every example right with a positive margin,
    or ``None``.
    """
    from scipy.optimize import linprog
    X = _inputs(X)
    n, d = X.shape
    s = 2.0 * _labels01(y, n) - 1.0
    Xa = augment(X)
    # variables (w, b, t); minimise -t;  -s_i * (xa_i · v) + t <= 0
    A = np.c_[-s[:, None] * Xa, np.ones(n)]
    res = linprog(np.r_[np.zeros(d + 1), -1.0], A_ub=A, b_ub=np.zeros(n),
                  bounds=[(-1.0, 1.0)] * (d + 1) + [(None, 1.0)], method="highs")
    if res.status != 0:
        raise RuntimeError(f"the separability linear program failed: {res.message}")
    if -res.fun <= tol:
        return None
    v = res.x[:d + 1]
    return v[:d].copy(), float(v[d])


def is_linearly_separable(X, y) -> bool:
    """True if a line (hyperplane) puts every 1 on one side and every 0 on the other.

    See :func:`linear_separator`. X: (n, d), y: (n,) labels 0/1.
    """
    return linear_separator(X, y) is not None


def novikoff_bound(X, y, w, b):
    """The perceptron convergence bound ``(R / γ)²`` for data separated by ``(w, b)``.

    With inputs augmented by a constant 1 (``x̃ = (x, 1)``), labels ``s = ±1``, a unit
    separator ``ũ = (w, b) / ||(w, b)||``, margin ``γ = min_i s_i ũ · x̃_i`` and radius
    ``R = max_i ||x̃_i||``, the perceptron started at zero with any learning rate makes at
    most ``(R / γ)²`` updates in total, whatever the order of the examples (Novikoff 1962).

    Parameters
    ----------
    X : ndarray, shape (n, d);  y : ndarray, shape (n,), labels 0/1
    w : ndarray, shape (d,);  b : float, any separator (e.g. from :func:`linear_separator`)

    Returns
    -------
    (R, gamma, bound) : floats
    """
    X = _inputs(X)
    s = 2.0 * _labels01(y, X.shape[0]) - 1.0
    w, b = _weights(w, b, X.shape[1])
    Xa = augment(X)
    u = np.r_[w, b]
    norm = np.linalg.norm(u)
    if norm == 0:
        raise ValueError("w and b are all zero: that is not a separator")
    gamma = float(np.min(s * (Xa @ u)) / norm)
    if gamma <= 0:
        raise ValueError(f"(w, b) does not separate the data (smallest signed margin {gamma:.3g} <= 0); "
                         "the bound needs a separator. Hint: use linear_separator(X, y).")
    R = float(np.max(np.linalg.norm(Xa, axis=1)))
    return R, gamma, (R / gamma) ** 2


# --------------------------------------------------------------------------- layers of threshold neurons


def step_network(X, layers, return_hidden=False):
    """Forward pass of a network of threshold neurons, layer by layer.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    layers : list of (W, b), W of shape (d_in, d_out), b of shape (d_out,); each layer
        computes ``step(A @ W + b)`` from the previous layer's output A
    return_hidden : also return the outputs of every layer

    Returns
    -------
    ndarray, shape (n, d_out of the last layer); with ``return_hidden`` a list of every
    layer's output (the last one is the network's output).
    """
    A = _inputs(X)
    if not isinstance(layers, (list, tuple)) or not layers:
        raise TypeError(f"layers must be a non-empty list of (W, b) pairs, got {type(layers).__name__}")
    outs = []
    for k, layer in enumerate(layers):
        if not isinstance(layer, (list, tuple)) or len(layer) != 2:
            raise TypeError(f"layers[{k}] must be a pair (W, b), got {layer!r}")
        W = as_float_array(layer[0], f"layers[{k}] W", ndim=2)
        bb = as_float_array(layer[1], f"layers[{k}] b", ndim=1)
        if W.shape[0] != A.shape[1]:
            raise ValueError(f"layers[{k}] W must have {A.shape[1]} rows (one per input of the layer), "
                             f"got shape {W.shape}")
        if bb.shape[0] != W.shape[1]:
            raise ValueError(f"layers[{k}] b must have {W.shape[1]} entries (one per neuron), got {bb.shape}")
        A = (A @ W + bb >= 0.0).astype(np.float64)
        outs.append(A)
    return outs if return_hidden else A


def xor_network():
    """A hand-built two-layer network of threshold neurons that computes XOR.

    Hidden layer: neuron 1 is OR, neuron 2 is NAND; output: AND of the two.
    ``XOR(a, b) = AND(OR(a, b), NAND(a, b))``.

    Returns
    -------
    [(W1, b1), (W2, b2)] with W1 (2, 2), b1 (2,), W2 (2, 1), b2 (1,)
    """
    w_or, b_or = gate_weights("OR")
    w_nand, b_nand = gate_weights("NAND")
    w_and, b_and = gate_weights("AND")
    W1 = np.c_[w_or, w_nand]
    b1 = np.array([b_or, b_nand])
    return [(W1, b1), (w_and[:, None], np.array([b_and]))]


# --------------------------------------------------------------------------- neurons from geometry
# References of the exercises of notebook 01: the learner derives them; later cells and checks use these.


def neuron_for_line(p, q, fire_at):
    """A threshold neuron whose decision line passes through ``p`` and ``q`` and that fires at ``fire_at``.

    ``w`` is the direction ``q - p`` turned by 90 degrees (so it is normal to the line) and scaled to
    length 1, ``b = -w · p`` (so ``z = 0`` at ``p``, and at ``q``), and both change sign if ``fire_at``
    lies on the negative side. With ``|w| = 1``, ``z = x · w + b`` is the signed distance of ``x`` from
    the line, positive on ``fire_at``'s side; the answer is then unique.

    Parameters
    ----------
    p, q : ndarray, shape (2,), two different points of the line
    fire_at : ndarray, shape (2,), a point off the line, on the side that must fire

    Returns
    -------
    w : ndarray, shape (2,), a unit vector
    b : float
    """
    p = as_float_array(p, "p", shape=(2,))
    q = as_float_array(q, "q", shape=(2,))
    r = as_float_array(fire_at, "fire_at", shape=(2,))
    d = q - p
    length = float(np.hypot(*d))
    if not np.isfinite(length) or length == 0.0:
        raise ValueError(f"p and q must be two different finite points, got p = {p}, q = {q}. "
                         "Hint: a line needs two distinct points.")
    w = np.array([-d[1], d[0]]) / length + 0.0     # + 0.0: no negative zeros in printouts
    b = -float(w @ p) + 0.0
    side = float(w @ r + b)
    if abs(side) <= 1e-12 * max(1.0, float(np.abs(r - p).max())):
        raise ValueError(f"fire_at = {r} lies on the line through p and q, so it picks no side. "
                         "Hint: give a point strictly on the side that must fire.")
    return (w, b) if side > 0 else (0.0 - w, 0.0 - b)


def at_least_k_neuron(n, k):
    """A threshold neuron on ``n`` inputs in {0, 1} that fires when at least ``k`` of them are 1.

    All weights are 1, so ``z`` counts the inputs that are on, and the bias puts the threshold
    half-way between ``k - 1`` and ``k``: ``b = 0.5 - k``. ``k = n`` is AND, ``k = 1`` is OR;
    ``k = 0`` always fires and ``k = n + 1`` never does.

    Parameters
    ----------
    n : int >= 1, the number of inputs
    k : int, 0 <= k <= n + 1

    Returns
    -------
    w : ndarray, shape (n,);  b : float
    """
    for name, v in (("n", n), ("k", k)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(v).__name__}: {v!r}")
    if n < 1:
        raise ValueError(f"n must be at least 1 (the number of inputs), got {n}")
    if not 0 <= k <= n + 1:
        raise ValueError(f"k must be between 0 and n + 1 = {n + 1}, got {k}")
    return np.ones(int(n)), 0.5 - float(k)


def convex_polygon_network(vertices):
    """A two-layer network of threshold neurons that fires inside a convex polygon.

    Hidden layer: one neuron per edge, its line through the edge's two corners, firing on the
    side of the polygon's centre (the mean of its corners). Output: "all hidden neurons fire",
    :func:`at_least_k_neuron` with ``k`` = the number of edges (an AND of ``k`` inputs). Points on
    an edge count as inside (``z = 0`` fires).

    Parameters
    ----------
    vertices : ndarray, shape (k, 2), k >= 3, the corners in order around the polygon
        (clockwise or counter-clockwise)

    Returns
    -------
    [(W1, b1), (W2, b2)] with W1 (2, k), b1 (k,), W2 (k, 1), b2 (1,), for :func:`step_network`
    """
    V = as_float_array(vertices, "vertices", ndim=2)
    if V.shape[1] != 2 or V.shape[0] < 3:
        raise ValueError(f"vertices must have shape (k, 2) with k >= 3 corners, got {V.shape}")
    k = V.shape[0]
    centre = V.mean(axis=0)
    not_convex = ("vertices must be the corners of a convex polygon, listed in order around it, got "
                  f"{V.tolist()}. Hint: no corner may lie outside the line through another edge; sort the "
                  "corners by angle around their mean.")
    ws, bs = [], []
    for i in range(k):
        try:
            w, b = neuron_for_line(V[i], V[(i + 1) % k], centre)
        except ValueError:
            raise ValueError(not_convex) from None
        ws.append(w)
        bs.append(b)
    W1, b1 = np.column_stack(ws), np.array(bs)
    scale = np.linalg.norm(W1, axis=0) * max(1.0, float(np.abs(V).max()))
    if np.any(V @ W1 + b1 < -1e-9 * scale):
        raise ValueError(not_convex)
    w2, b2 = at_least_k_neuron(k, k)
    return [(W1, b1), (w2[:, None], np.array([b2]))]
