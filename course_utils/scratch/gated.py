"""Notebook 16: LSTM and GRU cells (NumPy reference implementations), in Keras' weight layout, and the
generated long-range task ("I grew up in Korea ... I speak fluent ___").

Keras' layout (``keras.layers.LSTM`` / ``GRU``, ``get_weights()``):

- LSTM: ``kernel`` ``(d, 4u)``, ``recurrent_kernel`` ``(u, 4u)``, ``bias`` ``(4u,)``; the four blocks of
  ``u`` columns are, in order, the **input** gate ``i``, the **forget** gate ``f``, the **candidate**
  ``g`` (Keras calls it ``c``) and the **output** gate ``o``.
- GRU: ``kernel`` ``(d, 3u)``, ``recurrent_kernel`` ``(u, 3u)``; blocks **update** ``z``, **reset** ``r``,
  candidate ``h~``. With ``reset_after=True`` (Keras' default, the cuDNN variant) ``bias`` is
  ``(2, 3u)``: row 0 is added to ``x W``, row 1 to ``h U``, and the reset gate multiplies ``h U + b``
  *after* the matrix product; with ``reset_after=False`` (Cho et al., 2014) ``bias`` is ``(3u,)`` and
  the reset gate multiplies ``h`` *before* it.

Equations (``σ`` the logistic sigmoid, ``⊙`` element-wise)::

    LSTM  i = σ(x Wi + h Ui + bi)   f = σ(x Wf + h Uf + bf)   g = tanh(x Wg + h Ug + bg)
          o = σ(x Wo + h Uo + bo)   c' = f ⊙ c + i ⊙ g        h' = o ⊙ tanh(c')
    GRU   z = σ(x Wz + h Uz + b)    r = σ(x Wr + h Ur + b)
          h~ = tanh(x Wh + bx + r ⊙ (h Uh + bh))   (reset_after=True)
          h~ = tanh(x Wh + b + (r ⊙ h) Uh)         (reset_after=False)
          h' = z ⊙ h + (1 - z) ⊙ h~
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import as_float_array, positive_int

__all__ = ["lstm_cell_step", "lstm_forward", "gru_cell_step", "gru_forward", "gated_layer_params",
           "cell_path_gain", "LongRangeTask", "long_range_sequences", "LONG_RANGE_COUNTRIES",
           "LONG_RANGE_LANGUAGES", "LONG_RANGE_FILLERS", "LONG_RANGE_QUERY", "long_range_vocabulary",
           "encode_words"]

LSTM_GATES = ("input", "forget", "candidate", "output")
GRU_GATES = ("update", "reset", "candidate")


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))   # = 1 / (1 + exp(-z)), without overflow warnings


def _weights(kernel, recurrent_kernel, bias, blocks: int, gru_reset_after: bool | None = None):
    W = as_float_array(kernel, "kernel", ndim=2)
    if W.shape[1] % blocks:
        raise ValueError(f"kernel must have {blocks} * units columns (Keras' layout), got shape {W.shape}")
    u = W.shape[1] // blocks
    U = as_float_array(recurrent_kernel, "recurrent_kernel", shape=(u, blocks * u))
    if gru_reset_after:
        b = as_float_array(bias, "bias", shape=(2, blocks * u))
    elif gru_reset_after is False and np.ndim(bias) == 2:
        raise ValueError(f"bias has shape {np.shape(bias)}: that is the layout of reset_after=True "
                         f"(one bias row for x W, one for h U); reset_after=False has one bias of shape ({3 * u},)")
    else:
        if gru_reset_after is not None and np.ndim(bias) != 1:
            raise ValueError(f"bias must have shape ({blocks * u},), got {np.shape(bias)}")
        b = as_float_array(bias, "bias", shape=(blocks * u,))
    return W, U, b, u


def _state(value, name, n, u, squeeze):
    if value is None:
        return np.zeros((n, u))
    s = as_float_array(value, name, ndim=(1, 2))
    if s.ndim == 1:
        s = s[None]
    if s.shape != (n, u):
        raise ValueError(f"{name} must have shape ({n}, {u})" + (f" or ({u},)" if squeeze else "")
                         + f", got {np.shape(value)}")
    return s


def _inputs(x, d, name="x"):
    a = as_float_array(x, name, ndim=(2, 3))
    squeeze = a.ndim == 2
    if squeeze:
        a = a[None]
    if a.shape[2] != d:
        raise ValueError(f"{name} has {a.shape[2]} features per step but the kernel expects {d} "
                         f"(kernel shape ({d}, ...)); x must be (batch, steps, features) or (steps, features)")
    return a, squeeze


def lstm_cell_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    """One LSTM step in Keras' layout: ``(h, c, gates)``.

    ``x_t`` ``(n, d)`` or ``(d,)``; ``h_prev``, ``c_prev`` ``(n, u)`` or ``(u,)``; ``gates`` is a dict
    ``{"input", "forget", "candidate", "output"}`` of ``(n, u)`` arrays (or ``(u,)``).
    """
    W, U, b, u = _weights(kernel, recurrent_kernel, bias, 4)
    x = as_float_array(x_t, "x_t", ndim=(1, 2))
    squeeze = x.ndim == 1
    x = x[None] if squeeze else x
    if x.shape[1] != W.shape[0]:
        raise ValueError(f"x_t has {x.shape[1]} features but the kernel expects {W.shape[0]}")
    h = _state(h_prev, "h_prev", len(x), u, True)
    c = _state(c_prev, "c_prev", len(x), u, True)
    z = x @ W + h @ U + b
    i, f, g, o = _sigmoid(z[:, :u]), _sigmoid(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), _sigmoid(z[:, 3 * u:])
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    gates = dict(zip(LSTM_GATES, (i, f, g, o)))
    if squeeze:
        return h_new[0], c_new[0], {k: v[0] for k, v in gates.items()}
    return h_new, c_new, gates


def lstm_forward(x, kernel, recurrent_kernel, bias, h0=None, c0=None, return_gates: bool = False):
    """Run an LSTM (Keras' layout) over ``x`` ``(n, steps, d)`` (or ``(steps, d)``).

    Returns ``(outputs, h_last, c_last)`` as ``keras.layers.LSTM(u, return_sequences=True,
    return_state=True)`` does: ``outputs`` ``(n, steps, u)`` (every ``h_t``), ``h_last`` and ``c_last``
    ``(n, u)``. With ``return_gates=True`` a fourth item, a dict of ``(n, steps, u)`` arrays: ``"input"``,
    ``"forget"``, ``"candidate"``, ``"output"`` and ``"cell"`` (every ``c_t``). ``h0``/``c0``: initial
    states (zeros by default, as in Keras).
    """
    W, U, b, u = _weights(kernel, recurrent_kernel, bias, 4)
    xs, squeeze = _inputs(x, W.shape[0])
    n, steps, _ = xs.shape
    h = _state(h0, "h0", n, u, squeeze)
    c = _state(c0, "c0", n, u, squeeze)
    xw = xs @ W + b                      # the input part of every step at once
    outs = np.empty((n, steps, u))
    keep = {k: np.empty((n, steps, u)) for k in (*LSTM_GATES, "cell")} if return_gates else None
    for t in range(steps):
        z = xw[:, t] + h @ U
        i, f = _sigmoid(z[:, :u]), _sigmoid(z[:, u:2 * u])
        g, o = np.tanh(z[:, 2 * u:3 * u]), _sigmoid(z[:, 3 * u:])
        c = f * c + i * g
        h = o * np.tanh(c)
        outs[:, t] = h
        if keep is not None:
            for k, v in zip((*LSTM_GATES, "cell"), (i, f, g, o, c)):
                keep[k][:, t] = v
    result = (outs, h, c)
    if squeeze:
        result = (outs[0], h[0], c[0])
        if keep is not None:
            keep = {k: v[0] for k, v in keep.items()}
    return (*result, keep) if return_gates else result


def gru_cell_step(x_t, h_prev, kernel, recurrent_kernel, bias, reset_after: bool = True):
    """One GRU step in Keras' layout: ``(h, gates)``; ``gates``: ``{"update", "reset", "candidate"}``.

    ``reset_after=True`` (Keras' default) takes ``bias`` ``(2, 3u)``; ``False`` (Cho et al., 2014)
    ``(3u,)``. See the module docstring for both equations.
    """
    W, U, b, u = _weights(kernel, recurrent_kernel, bias, 3, gru_reset_after=bool(reset_after))
    x = as_float_array(x_t, "x_t", ndim=(1, 2))
    squeeze = x.ndim == 1
    x = x[None] if squeeze else x
    if x.shape[1] != W.shape[0]:
        raise ValueError(f"x_t has {x.shape[1]} features but the kernel expects {W.shape[0]}")
    h = _state(h_prev, "h_prev", len(x), u, True)
    h_new, gates = _gru_step(x @ W + (b[0] if reset_after else b), h, U, b, u, reset_after)
    if squeeze:
        return h_new[0], {k: v[0] for k, v in gates.items()}
    return h_new, gates


def _gru_step(xw, h, U, b, u, reset_after):
    if reset_after:
        hu = h @ U + b[1]
        z = _sigmoid(xw[:, :u] + hu[:, :u])
        r = _sigmoid(xw[:, u:2 * u] + hu[:, u:2 * u])
        cand = np.tanh(xw[:, 2 * u:] + r * hu[:, 2 * u:])
    else:
        hu = h @ U[:, :2 * u]
        z = _sigmoid(xw[:, :u] + hu[:, :u])
        r = _sigmoid(xw[:, u:2 * u] + hu[:, u:])
        cand = np.tanh(xw[:, 2 * u:] + (r * h) @ U[:, 2 * u:])
    h_new = z * h + (1.0 - z) * cand
    return h_new, dict(zip(GRU_GATES, (z, r, cand)))


def gru_forward(x, kernel, recurrent_kernel, bias, h0=None, reset_after: bool = True,
                return_gates: bool = False):
    """Run a GRU (Keras' layout) over ``x`` ``(n, steps, d)`` (or ``(steps, d)``).

    Returns ``(outputs, h_last)`` as ``keras.layers.GRU(u, return_sequences=True, return_state=True)``;
    with ``return_gates=True`` a third item, a dict of ``(n, steps, u)`` arrays ``"update"``, ``"reset"``,
    ``"candidate"``.
    """
    W, U, b, u = _weights(kernel, recurrent_kernel, bias, 3, gru_reset_after=bool(reset_after))
    xs, squeeze = _inputs(x, W.shape[0])
    n, steps, _ = xs.shape
    h = _state(h0, "h0", n, u, squeeze)
    xw = xs @ W + (b[0] if reset_after else b)
    outs = np.empty((n, steps, u))
    keep = {k: np.empty((n, steps, u)) for k in GRU_GATES} if return_gates else None
    for t in range(steps):
        h, gates = _gru_step(xw[:, t], h, U, b, u, reset_after)
        outs[:, t] = h
        if keep is not None:
            for k in GRU_GATES:
                keep[k][:, t] = gates[k]
    if squeeze:
        outs, h = outs[0], h[0]
        if keep is not None:
            keep = {k: v[0] for k, v in keep.items()}
    return (outs, h, keep) if return_gates else (outs, h)


def gated_layer_params(kind: str, input_dim: int, units: int, reset_after: bool = True) -> int:
    """Parameters of a Keras recurrent layer on ``input_dim`` features, by formula.

    ``"simple_rnn"``: ``u (d + u + 1)`` (one tanh layer on ``[x, h]``); ``"lstm"``: ``4 u (d + u + 1)``
    (three gates and the candidate); ``"gru"``: ``3 u (d + u + 2)`` with ``reset_after=True`` (a second
    bias, on ``h U``), ``3 u (d + u + 1)`` with ``reset_after=False``.
    """
    d, u = positive_int("input_dim", input_dim), positive_int("units", units)
    kinds = ("simple_rnn", "lstm", "gru")
    if kind not in kinds:
        raise ValueError(f"kind must be one of {kinds}, got {kind!r}")
    if kind == "simple_rnn":
        return u * (d + u + 1)
    if kind == "lstm":
        return 4 * u * (d + u + 1)
    return 3 * u * (d + u + (2 if reset_after else 1))


def cell_path_gain(forget) -> np.ndarray:
    """Gain of the LSTM's additive path: ``gain[..., t] = f_{t+1} ⊙ ... ⊙ f_{T-1}`` (1 for the last step).

    Along the cell state alone, ``c_{T-1}`` depends on ``c_t`` through ``∂c_{t+1}/∂c_t = f_{t+1}`` at
    each step, so the gradient that reaches ``c_t`` on this path is ``∂L/∂c_{T-1}`` times this product.
    ``forget``: ``(..., steps, u)`` forget-gate values (e.g. ``lstm_forward(..., return_gates=True)``).
    """
    f = as_float_array(forget, "forget", ndim=(1, 2, 3))
    if np.any((f < 0) | (f > 1)):
        raise ValueError("forget must hold gate values in [0, 1] (sigmoid outputs)")
    axis = f.ndim - 2 if f.ndim >= 2 else 0
    shifted = np.concatenate([np.take(f, np.arange(1, f.shape[axis]), axis=axis),
                              np.ones_like(np.take(f, [0], axis=axis))], axis=axis)
    return np.flip(np.cumprod(np.flip(shifted, axis=axis), axis=axis), axis=axis)


# ----------------------------------------------------------------------------- the long-range task

LONG_RANGE_COUNTRIES = ("Korea", "France", "Japan", "Brazil")
LONG_RANGE_LANGUAGES = ("Korean", "French", "Japanese", "Portuguese")
LONG_RANGE_FILLERS = ("and", "then", "we", "moved", "to", "the", "city", "later")
LONG_RANGE_QUERY = "fluent?"


def long_range_vocabulary() -> tuple:
    """The task's words, in the order of the one-hot channels: the 4 countries, the 8 fillers, the query."""
    return (*LONG_RANGE_COUNTRIES, *LONG_RANGE_FILLERS, LONG_RANGE_QUERY)


@dataclass(frozen=True)
class LongRangeTask:
    """Sequences of the long-range task: ``X`` ``(n, steps, 13)`` float32 inputs, ``y`` ``(n,)`` the
    answer (index into :data:`LONG_RANGE_LANGUAGES`), ``distance`` ``(n,)`` (fillers between the country
    and the query), ``tokens`` ``(n, steps)`` word indices into :func:`long_range_vocabulary`, -1 for the
    silent (all-zero) steps before a sentence."""
    X: np.ndarray
    y: np.ndarray
    distance: np.ndarray
    tokens: np.ndarray
    noise: float

    def words(self, k: int) -> list[str]:
        """Sequence ``k`` as words (the silent steps left out)."""
        vocab = long_range_vocabulary()
        return [vocab[t] for t in self.tokens[k] if t >= 0]


def encode_words(words, steps: int, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """Words of the task's vocabulary to one input ``(steps, 13)``: silent zero steps first, then one
    noisy one-hot per word (``noise``: standard deviation of the Gaussian noise on every channel)."""
    vocab = long_range_vocabulary()
    words = list(words)
    bad = [w for w in words if w not in vocab]
    if bad:
        raise ValueError(f"unknown word(s) {bad}: the vocabulary is {', '.join(vocab)}")
    steps = positive_int("steps", steps)
    if len(words) > steps:
        raise ValueError(f"{len(words)} words do not fit in {steps} steps")
    x = np.zeros((steps, len(vocab)), dtype=np.float32)
    rng = np.random.default_rng(seed)
    start = steps - len(words)
    for k, w in enumerate(words):
        x[start + k, vocab.index(w)] = 1.0
    if noise:
        x[start:] += rng.normal(0.0, noise, (len(words), len(vocab))).astype(np.float32)
    return x


def long_range_sequences(n: int, max_distance: int, distance=None, noise: float = 0.2, seed: int = 0,
                         country=None) -> LongRangeTask:
    """The notes' "I grew up in Korea ... I speak fluent ___" as a generated task.

    Each sentence is a country (it decides the answer: its language), ``distance`` filler words, and the
    query word ``"fluent?"``; every word is a one-hot vector over the 13 words plus Gaussian noise of
    standard deviation ``noise``. All sequences have ``max_distance + 2`` steps: a shorter sentence
    starts later, after silent all-zero steps. ``distance``: an int for all sequences, or ``None`` to
    draw it per sequence, log-uniformly from 1 to ``max_distance`` (as many short as long gaps, so a
    model trained on them learns to store first and to hold longer later). ``country``: an int (0-3) to
    fix the answer. Chance accuracy is 1/4.
    """
    n, max_distance = positive_int("n", n), positive_int("max_distance", max_distance)
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    steps, n_words = max_distance + 2, len(long_range_vocabulary())
    k_countries, k_fillers = len(LONG_RANGE_COUNTRIES), len(LONG_RANGE_FILLERS)
    if country is None:
        y = rng.integers(0, k_countries, n)
    else:
        if not (isinstance(country, (int, np.integer)) and 0 <= country < k_countries):
            raise ValueError(f"country must be an int in [0, {k_countries - 1}], got {country!r}")
        y = np.full(n, int(country))
    if distance is None:
        d = np.round(np.exp(rng.uniform(0.0, np.log(max_distance), n))).astype(int)
    else:
        dist = positive_int("distance", distance)
        if dist > max_distance:
            raise ValueError(f"distance {dist} is longer than max_distance {max_distance}")
        d = np.full(n, dist)
    d = np.clip(d, 1, max_distance)
    tokens = rng.integers(k_countries, k_countries + k_fillers, (n, steps))
    tokens[:, -1] = n_words - 1
    start = steps - 2 - d
    tokens[np.arange(n), start] = y
    silent = np.arange(steps)[None, :] < start[:, None]
    tokens[silent] = -1
    X = np.eye(n_words, dtype=np.float32)[np.where(silent, 0, tokens)]
    X += rng.normal(0.0, noise, X.shape).astype(np.float32) if noise else 0.0
    X[silent] = 0.0
    return LongRangeTask(X, y.astype(np.int64), d.astype(np.int64), tokens.astype(np.int64), float(noise))
