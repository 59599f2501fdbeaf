"""Notebook 15: recurrent cells and backpropagation through time (NumPy reference implementations).

A simple RNN, as ``keras.layers.SimpleRNN`` computes it (weights ``kernel`` ``(d, u)``,
``recurrent_kernel`` ``(u, u)``, ``bias`` ``(u,)``; inputs ``x`` ``(n, T, d)``: n sequences of
T steps of d features)::

    h_t = tanh(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias),   h_0 = 0 (or given)

With a ``mask`` ``(n, T)`` (False at padded steps), Keras **carries the state over** a masked
step: ``h_t = h_{t-1}``, and the output there repeats the previous one (zeros before the first
real step). :func:`rnn_forward` does the same.

Backpropagation through time (:func:`rnn_backward`): with ``a_t`` the pre-activation and
``g_t = dL/dh_t`` (everything that reaches ``h_t``: the loss at step t and ``g_{t+1}`` through
the recurrence)::

    g_t = d_out_t + (g_{t+1} * (1 - h_{t+1}**2)) @ recurrent_kernel.T
    dL/dkernel = sum_t x_t.T @ delta_t,  dL/drecurrent_kernel = sum_t h_{t-1}.T @ delta_t,
    dL/dbias = sum_t delta_t,            delta_t = g_t * (1 - h_t**2)

so ``dh_t / dh_{t-k}`` is a product of k Jacobians ``diag(1 - h**2) recurrent_kernel.T``
(:func:`rnn_jacobian_through_time`). Their size per step is about the spectral radius of the
recurrent matrix times the typical slope of tanh (:func:`predicted_decay_factor`): below 1 the
gradient vanishes with the distance in time, above 1 it explodes (:func:`fit_decay_factor`
measures the factor from gradient norms). ``stop_every=k`` in :func:`rnn_backward` is truncated
BPTT: the gradient is cut at every k-th step (the state still flows forward).

Example
-------
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(2, 5, 3))
>>> k, rk, b = rng.normal(size=(3, 4)), scaled_orthogonal(4, 0.9, rng), np.zeros(4)
>>> out, h = rnn_forward(x, k, rk, b)
>>> out.shape, h.shape
((2, 5, 4), (2, 4))
>>> round(spectral_radius(rk), 6)
0.9
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, positive_int

__all__ = [
    "rnn_cell_step", "rnn_forward", "rnn_backward", "rnn_jacobian_through_time", "scaled_orthogonal",
    "spectral_radius", "fit_decay_factor", "predicted_decay_factor", "marker_sequences", "order_sequences",
    "sine_sequences", "rnn_free_run",
]

_ACTIVATIONS = ("tanh", "linear")


def _act(name):
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {list(_ACTIVATIONS)}, got {name!r}")
    return name


def _weights(kernel, recurrent_kernel, bias, d=None):
    kernel = as_float_array(kernel, "kernel", ndim=2)
    u = kernel.shape[1]
    if d is not None and kernel.shape[0] != d:
        raise ValueError(f"kernel must have shape ({d}, units) for inputs with {d} features, got {kernel.shape}")
    recurrent_kernel = as_float_array(recurrent_kernel, "recurrent_kernel", shape=(u, u))
    bias = as_float_array(bias, "bias", shape=(u,))
    return kernel, recurrent_kernel, bias


def _mask(mask, n, T):
    if mask is None:
        return np.ones((n, T), dtype=bool)
    m = np.asarray(mask)
    if m.shape != (n, T):
        raise ValueError(f"mask must have shape (n, T) = {(n, T)} like x's first two axes, got {m.shape}")
    return m.astype(bool)


def rnn_cell_step(x_t, h_prev, kernel, recurrent_kernel, bias, activation: str = "tanh"):
    """One step: ``tanh(x_t @ kernel + h_prev @ recurrent_kernel + bias)``; x_t (n, d), h_prev (n, u)."""
    x_t = as_float_array(x_t, "x_t", ndim=2)
    kernel, recurrent_kernel, bias = _weights(kernel, recurrent_kernel, bias, d=x_t.shape[1])
    h_prev = as_float_array(h_prev, "h_prev", shape=(x_t.shape[0], kernel.shape[1]))
    a = x_t @ kernel + h_prev @ recurrent_kernel + bias
    return np.tanh(a) if _act(activation) == "tanh" else a


def rnn_forward(x, kernel, recurrent_kernel, bias, h0=None, mask=None, activation: str = "tanh"):
    """A SimpleRNN over ``x`` (n, T, d). Returns ``(outputs (n, T, u), final_state (n, u))``.

    ``outputs`` is what ``return_sequences=True`` gives, ``final_state`` what ``return_state=True``
    adds (and the output of ``return_sequences=False``). ``mask`` (n, T), False at padded steps:
    the state is carried over them, as Keras does.
    """
    x = as_float_array(x, "x", ndim=3)
    n, T, d = x.shape
    kernel, recurrent_kernel, bias = _weights(kernel, recurrent_kernel, bias, d=d)
    u = kernel.shape[1]
    h = np.zeros((n, u)) if h0 is None else as_float_array(h0, "h0", shape=(n, u)).copy()
    m = _mask(mask, n, T)
    tanh = _act(activation) == "tanh"
    xk = x @ kernel + bias                       # the input part of every step at once
    out = np.empty((n, T, u))
    for t in range(T):
        a = xk[:, t] + h @ recurrent_kernel
        new = np.tanh(a) if tanh else a
        h = np.where(m[:, t:t + 1], new, h)      # masked: keep the previous state
        out[:, t] = h
    return out, h


def rnn_backward(x, outputs, kernel, recurrent_kernel, d_outputs, h0=None, mask=None, activation: str = "tanh",
                 stop_every: int | None = None):
    """Backpropagation through time for :func:`rnn_forward`.

    ``d_outputs`` (n, T, u): dL/d(output at t) from the loss directly (for a loss on the last
    state only, zeros except at t = T-1). Returns a dict: ``kernel``, ``recurrent_kernel``,
    ``bias`` (gradients), ``h0`` (dL/dh_0) and ``hidden`` (n, T, u): dL/dh_t, the total
    gradient reaching each state. ``stop_every=k``: truncated BPTT, no gradient flows from
    step t to step t-1 when t is a multiple of k (chunks of k steps).
    """
    x = as_float_array(x, "x", ndim=3)
    n, T, d = x.shape
    kernel, recurrent_kernel, _ = _weights(kernel, recurrent_kernel, np.zeros(np.shape(kernel)[-1]), d=d)
    u = kernel.shape[1]
    outputs = as_float_array(outputs, "outputs", shape=(n, T, u))
    d_outputs = as_float_array(d_outputs, "d_outputs", shape=(n, T, u))
    h0 = np.zeros((n, u)) if h0 is None else as_float_array(h0, "h0", shape=(n, u))
    m = _mask(mask, n, T)
    tanh = _act(activation) == "tanh"
    if stop_every is not None:
        stop_every = positive_int("stop_every", stop_every)
    grads = {"kernel": np.zeros_like(kernel), "recurrent_kernel": np.zeros_like(recurrent_kernel),
             "bias": np.zeros(u), "hidden": np.zeros((n, T, u))}
    g_next = np.zeros((n, u))                      # dL/dh_t arriving from step t+1
    for t in range(T - 1, -1, -1):
        g = d_outputs[:, t] + g_next
        grads["hidden"][:, t] = g
        h_prev = outputs[:, t - 1] if t > 0 else h0
        keep = m[:, t:t + 1]
        delta = g * (1.0 - outputs[:, t] ** 2) if tanh else g.copy()
        delta = np.where(keep, delta, 0.0)         # a masked step computed nothing
        grads["kernel"] += x[:, t].T @ delta
        grads["recurrent_kernel"] += h_prev.T @ delta
        grads["bias"] += delta.sum(axis=0)
        g_next = delta @ recurrent_kernel.T + np.where(keep, 0.0, g)   # masked: h_t was h_{t-1}
        if stop_every is not None and t % stop_every == 0:
            g_next = np.zeros_like(g_next)         # truncated: the chunk boundary
    grads["h0"] = g_next
    return grads


def rnn_jacobian_through_time(outputs, recurrent_kernel, t: int, k: int, activation: str = "tanh"):
    """dh_t / dh_{t-k} of one sequence (``outputs`` (T, u), the states h_1 ... h_T at indices 0 ... T-1):
    the product of the k step Jacobians ``diag(1 - h_s**2) @ recurrent_kernel.T`` for s = t, t-1 ...
    t-k+1. Returns (u, u): entry (i, j) = dh_t[i] / dh_{t-k}[j]. ``k = 0`` gives the identity."""
    outputs = as_float_array(outputs, "outputs", ndim=2)
    T, u = outputs.shape
    recurrent_kernel = as_float_array(recurrent_kernel, "recurrent_kernel", shape=(u, u))
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 0 <= t < T:
        raise ValueError(f"t must be an index in [0, {T - 1}], got {t!r}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= t:
        raise ValueError(f"k must be in [0, t] = [0, {t}] (h_{{t-k}} must be a state of the sequence), got {k!r}")
    tanh = _act(activation) == "tanh"
    J = np.eye(u)
    for s in range(t, t - k, -1):
        step = recurrent_kernel.T * ((1.0 - outputs[s] ** 2)[:, None] if tanh else 1.0)
        J = J @ step
    return J


def scaled_orthogonal(n: int, radius: float, rng=None):
    """A random orthogonal (n, n) matrix times ``radius``: every eigenvalue has modulus ``radius``
    (Keras' SimpleRNN starts its recurrent kernel orthogonal: radius 1)."""
    n = positive_int("n", n)
    if isinstance(radius, bool) or not np.isfinite(radius) or radius < 0:
        raise ValueError(f"radius must be a finite number >= 0, got {radius!r}")
    rng = np.random.default_rng(rng)
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    return radius * q * np.sign(np.diag(r))


def spectral_radius(matrix) -> float:
    """The largest modulus of the eigenvalues of a square matrix."""
    a = as_float_array(matrix, "matrix", ndim=2)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"matrix must be square, got shape {a.shape}")
    return float(np.max(np.abs(np.linalg.eigvals(a))))


def fit_decay_factor(distances, norms) -> float:
    """The factor per step ``r`` of ``norms ≈ c * r**distances``: exp of the least-squares slope of
    log(norm) on distance (non-positive or non-finite norms are left out)."""
    d = as_float_array(distances, "distances", ndim=1)
    g = as_float_array(norms, "norms", shape=(d.shape[0],))
    ok = np.isfinite(g) & (g > 0)
    if ok.sum() < 2 or np.ptp(d[ok]) == 0:
        raise ValueError("need at least two positive, finite norms at different distances to fit a factor")
    return float(np.exp(np.polyfit(d[ok], np.log(g[ok]), 1)[0]))


def predicted_decay_factor(outputs, radius: float, activation: str = "tanh") -> float:
    """The spectral-radius prediction of the factor per step: ``radius`` times the root mean
    square of tanh's slope ``1 - h**2`` over the states ``outputs`` (any shape). An orthogonal
    recurrent matrix spreads a gradient evenly over the units, so each step multiplies its
    norm by about radius × RMS(slope); ``activation="linear"`` gives ``radius``."""
    h = as_float_array(outputs, "outputs")
    if _act(activation) == "linear":
        return float(radius)
    return float(radius * np.sqrt(np.mean((1.0 - h ** 2) ** 2)))


# --------------------------------------------------------------------------- generated tasks

def _lengths(n, lengths, rng):
    lo, hi = lengths
    if not (isinstance(lo, (int, np.integer)) and isinstance(hi, (int, np.integer)) and 1 <= lo <= hi):
        raise ValueError(f"lengths must be (min, max) with 1 <= min <= max, got {lengths!r}")
    return rng.integers(lo, hi + 1, size=n)


def marker_sequences(n: int, lengths=(5, 15), max_len: int = 30, positions=None, symbols: int = 4, seed=None):
    """The marker task of notebook 15: does the sequence contain the marker symbol?

    Each sequence has a random length in ``lengths`` (inclusive) and random noise symbols
    1 ... symbols-1; half of them (label 1) hold the marker, symbol ``symbols``, once, at a
    position drawn from ``positions`` = (first, last) (inclusive, clipped to the sequence;
    default: anywhere). One-hot encoded with ``symbols`` channels and zero-padded at the end
    to ``max_len``. Returns ``(x (n, max_len, symbols) float32, y (n,) int, lengths (n,))``.
    """
    n, max_len, symbols = positive_int("n", n), positive_int("max_len", max_len), positive_int("symbols", symbols)
    if symbols < 2:
        raise ValueError(f"symbols must be >= 2 (noise and marker), got {symbols}")
    rng = np.random.default_rng(seed)
    L = _lengths(n, lengths, rng)
    if lengths[1] > max_len:
        raise ValueError(f"lengths {lengths!r} exceed max_len = {max_len}")
    tokens = np.zeros((n, max_len), dtype=int)               # 0 = padding
    for i, length in enumerate(L):
        tokens[i, :length] = rng.integers(1, symbols, size=length)
    y = (rng.random(n) < 0.5).astype(int)
    first, last = (0, max_len - 1) if positions is None else positions
    for i in np.flatnonzero(y):
        hi = min(last, L[i] - 1)
        lo = min(first, hi)
        tokens[i, rng.integers(lo, hi + 1)] = symbols
    x = np.zeros((n, max_len, symbols), dtype=np.float32)
    rows, cols = np.nonzero(tokens)
    x[rows, cols, tokens[rows, cols] - 1] = 1.0
    return x, y, L


def order_sequences(n: int, lengths=(8, 24), max_len: int = 24, symbols: int = 6, seed=None):
    """The order task (notebook 15's open exercise): which of two special symbols comes first?

    Noise symbols 1 ... symbols-2; symbols ``symbols - 1`` ("A") and ``symbols`` ("B") appear
    once each at random positions; label 1 if A comes before B. One-hot, zero-padded at the end
    to ``max_len``. Returns ``(x (n, max_len, symbols) float32, y (n,) int)``.
    """
    n, max_len, symbols = positive_int("n", n), positive_int("max_len", max_len), positive_int("symbols", symbols)
    if symbols < 3:
        raise ValueError(f"symbols must be >= 3 (noise, A and B), got {symbols}")
    rng = np.random.default_rng(seed)
    L = _lengths(n, lengths, rng)
    if lengths[1] > max_len or lengths[0] < 2:
        raise ValueError(f"lengths {lengths!r} must lie in [2, max_len = {max_len}]")
    tokens = np.zeros((n, max_len), dtype=int)
    y = np.zeros(n, dtype=int)
    for i, length in enumerate(L):
        tokens[i, :length] = rng.integers(1, symbols - 1, size=length)
        a, b = rng.choice(length, size=2, replace=False)
        tokens[i, a], tokens[i, b] = symbols - 1, symbols
        y[i] = int(a < b)
    x = np.zeros((n, max_len, symbols), dtype=np.float32)
    rows, cols = np.nonzero(tokens)
    x[rows, cols, tokens[rows, cols] - 1] = 1.0
    return x, y


def sine_sequences(n: int, steps: int = 60, noise: float = 0.0, seed=None):
    """n sine waves of ``steps`` samples, random period (8 to 20 steps), phase and amplitude (0.5 to 1),
    plus Gaussian ``noise``. Returns (n, steps) float32."""
    n, steps = positive_int("n", n), positive_int("steps", steps)
    rng = np.random.default_rng(seed)
    period = rng.uniform(8, 20, size=(n, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    amp = rng.uniform(0.5, 1.0, size=(n, 1))
    t = np.arange(steps)[None, :]
    return (amp * np.sin(2 * np.pi * t / period + phase) + noise * rng.normal(size=(n, steps))).astype(np.float32)


def rnn_free_run(warmup, kernel, recurrent_kernel, bias, dense_kernel, dense_bias, horizon: int):
    """Generate with a next-step predictor (SimpleRNN → Dense(1) on every step), NumPy.

    ``warmup`` (n, W): the true values y_0 ... y_{W-1}, fed in as inputs (teacher forcing);
    the prediction made after y_{W-1} is ŷ_W. From there the model runs **free**: ŷ_W is fed in
    to predict ŷ_{W+1}, and so on. ``kernel`` (1, u), ``dense_kernel`` (u, 1), ``dense_bias``
    (1,). Returns (n, horizon): ŷ_W ... ŷ_{W+horizon-1}.
    """
    warmup = as_float_array(warmup, "warmup", ndim=2)
    if warmup.shape[1] < 1:
        raise ValueError(f"warmup must hold at least one value per sequence, got shape {warmup.shape}")
    horizon = positive_int("horizon", horizon)
    kernel, recurrent_kernel, bias = _weights(kernel, recurrent_kernel, bias, d=1)
    u = kernel.shape[1]
    dense_kernel = as_float_array(dense_kernel, "dense_kernel", shape=(u, 1))
    dense_bias = as_float_array(dense_bias, "dense_bias", shape=(1,))
    n = warmup.shape[0]
    h = np.zeros((n, u))
    for t in range(warmup.shape[1]):
        h = np.tanh(warmup[:, t:t + 1] @ kernel + h @ recurrent_kernel + bias)
    out = np.empty((n, horizon))
    for s in range(horizon):
        y_hat = h @ dense_kernel + dense_bias          # (n, 1): the next value
        out[:, s] = y_hat[:, 0]
        h = np.tanh(y_hat @ kernel + h @ recurrent_kernel + bias)
    return out
