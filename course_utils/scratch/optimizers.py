"""Optimizers from scratch (notebook 05): EMA, momentum, RMSprop, Adam, learning-rate schedules.

Every update follows the formula Keras 3 uses, so ``cu.scratch`` and ``keras.optimizers``
agree to rounding error on the same variables and gradients (notebook 05 and
``tests/test_scratch_optimizers.py`` check it). Where a textbook writes the same idea
differently, a keyword selects the textbook form:

===========  ==========================================================  =====================
optimizer    Keras 3 update (``g`` gradient, ``t`` = 1, 2, ... step)     textbook form
===========  ==========================================================  =====================
SGD          ``w -= lr * g``                                             same
momentum     ``u = momentum * u - lr * g;  w += u``                      ``form="ema"``:
                                                                         ``v = b*v + (1-b)*g; w -= lr*v``
Nesterov     ``u = momentum * u - lr * g;  w += momentum * u - lr * g``  (``nesterov=True``; ``w``
                                                                         is the look-ahead point)
RMSprop      ``s = rho*s + (1-rho)*g**2;  w -= lr * g / sqrt(s + eps)``  ``eps_inside=False``:
                                                                         ``/ (sqrt(s) + eps)``
Adam         ``m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g**2``            ``form="paper"``:
             ``a_t = lr * sqrt(1-b2**t) / (1-b1**t)``                    ``m_hat = m/(1-b1**t)``,
             ``w -= a_t * m / (sqrt(v) + eps)``                          ``v_hat = v/(1-b2**t)``,
                                                                         ``w -= lr*m_hat/(sqrt(v_hat)+eps)``
===========  ==========================================================  =====================

Decoupled weight decay (AdamW; in Keras 3 every optimizer's ``weight_decay``): before the
update, ``w -= lr * weight_decay * w`` with the current learning rate, then the update above
with the gradient as given (``adam_step(..., weight_decay=...)``, ``ScratchOptimizer(weight_decay=...)``).

Defaults are Keras' (``epsilon=1e-7``); the Adam paper and the course notes use 1e-8.

Shapes: a parameter ``w`` and its gradient ``g`` may have any shape (the same for both);
optimizer state (velocity, moments) has that shape too. Everything is float64.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ._validate import as_float_array

__all__ = ["ema", "sgd_step", "momentum_step", "rmsprop_step", "adam_step",
           "step_decay", "exponential_decay", "cosine_decay",
           "ScratchOptimizer", "OPTIMIZER_NAMES", "optimize"]

OPTIMIZER_NAMES = ("sgd", "momentum", "rmsprop", "adam")


# --------------------------------------------------------------------------- validation

def _number(name: str, value) -> float:
    """``value`` as a finite-or-not float, or a TypeError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}: {value!r}")
    return float(value)


def _rate(name: str, value, low: float = 0.0, high: float = 1.0, closed_high: bool = False) -> float:
    """A float in [low, high) (or [low, high]) or a ValueError naming ``name``."""
    v = _number(name, value)
    ok = low <= v <= high if closed_high else low <= v < high
    if not ok or not math.isfinite(v):
        bracket = "]" if closed_high else ")"
        raise ValueError(f"{name} must be in [{low:g}, {high:g}{bracket}, got {value!r}")
    return v


def _positive(name: str, value) -> float:
    v = _number(name, value)
    if not (v > 0 and math.isfinite(v)):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return v


def _non_negative(name: str, value) -> float:
    v = _number(name, value)
    if not (v >= 0 and math.isfinite(v)):
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return v


def _same_shape(w, g, *state):
    """Return float arrays for ``w``, ``g`` and each ``(name, array)`` in ``state``, all one shape."""
    w = as_float_array(w, "w")
    g = as_float_array(g, "g")
    if g.shape != w.shape:
        raise ValueError(f"g must have the shape of w {w.shape}, got {g.shape}. "
                         "Hint: one gradient entry per parameter entry.")
    out = [w, g]
    for name, arr in state:
        a = as_float_array(arr, name)
        if a.shape != w.shape:
            raise ValueError(f"{name} must have the shape of w {w.shape}, got {a.shape}. "
                             f"Hint: start {name} as np.zeros_like(w).")
        out.append(a)
    return out


def _step_number(t) -> int:
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
        raise ValueError(f"t must be the step number, an int >= 1 (the first update is t=1), got {t!r}")
    return int(t)


# --------------------------------------------------------------------------- EMA

def ema(x, beta: float, bias_correction: bool = False, skip_nan: bool = False) -> np.ndarray:
    """Exponential moving average of a series, started at ``v_0 = 0``.

    ``v_t = beta * v_{t-1} + (1 - beta) * x_t`` for t = 1..T; with ``bias_correction``
    the result is ``v_t / (1 - beta**t)``, which removes the pull towards the zero start.
    ``1 - beta**t`` is the total weight the average has given to data so far (the EMA of a
    series of ones).

    With ``skip_nan``, NaN entries are missing values: they add nothing, but time passes
    (older values keep ageing, ``v_t = beta * v_{t-1}``), and bias correction divides by
    the weight actually given to data, ``c_t = beta * c_{t-1} + (1 - beta) * [x_t observed]``.
    The corrected result is then the average of the observed values weighted by
    ``beta**age``; it is NaN before the first observed value.

    Parameters
    ----------
    x : array, shape (T,) or (T, ...)
        The series; axis 0 is time.
    beta : float in [0, 1)
        Smoothing: the average covers roughly the last ``1 / (1 - beta)`` values.
    bias_correction : bool
        Divide by ``1 - beta**t`` (with ``skip_nan``: by the weight given to observed values).
    skip_nan : bool
        Treat NaN entries as missing instead of letting them poison the average.

    Returns
    -------
    ndarray, shape of ``x``: ``v_1 .. v_T``.
    """
    x = as_float_array(x, "x")
    if x.ndim == 0:
        raise ValueError("x must be a series with time on axis 0 (shape (T,) or (T, ...)), got a scalar")
    beta = _rate("beta", beta)
    out = np.empty_like(x)
    v = np.zeros_like(x[0])
    if skip_nan:
        c = np.zeros_like(x[0])             # weight given to observed values so far
        for t in range(len(x)):
            seen = ~np.isnan(x[t])
            v = beta * v + (1.0 - beta) * np.where(seen, x[t], 0.0)
            c = beta * c + (1.0 - beta) * seen
            if bias_correction:
                with np.errstate(invalid="ignore", divide="ignore"):
                    out[t] = np.where(c > 0, v / np.where(c > 0, c, 1.0), np.nan)
            else:
                out[t] = v
        return out
    for t in range(len(x)):
        v = beta * v + (1.0 - beta) * x[t]
        out[t] = v / (1.0 - beta ** (t + 1)) if bias_correction else v
    return out


# --------------------------------------------------------------------------- one update each

def sgd_step(w, g, lr: float) -> np.ndarray:
    """Plain gradient descent: ``w - lr * g``. ``w``, ``g``: same shape; returns that shape."""
    w, g = _same_shape(w, g)
    return w - _non_negative("lr", lr) * g


def momentum_step(w, g, velocity, lr: float, momentum: float = 0.9, form: str = "keras",
                  nesterov: bool = False):
    """One step of gradient descent with momentum (``nesterov=True``: Nesterov's, as Keras).

    ``form="keras"`` (``keras.optimizers.SGD(momentum=...)``, also PyTorch up to where lr sits)::

        velocity = momentum * velocity - lr * g
        w        = w + velocity

    ``form="ema"`` (the course notes, Andrew Ng's lectures): the velocity is an
    exponential moving average of the gradients::

        velocity = momentum * velocity + (1 - momentum) * g
        w        = w - lr * velocity

    With a constant learning rate the two give the same path when the EMA form's lr is
    ``lr_keras / (1 - momentum)``: the forms differ in scale, not in behaviour.

    ``nesterov=True`` (Keras form only): Nesterov's method takes the gradient at the
    look-ahead point ``w + momentum * u``. Keras stores that look-ahead point as the variable,
    so ``w`` here *is* the look-ahead point and ``g`` the gradient there; substituting gives::

        velocity = momentum * velocity - lr * g
        w        = w + momentum * velocity - lr * g

    Parameters
    ----------
    w, g, velocity : arrays of one shape (start ``velocity`` at zeros)
    lr : float >= 0
    momentum : float in [0, 1)
    form : {"keras", "ema"}
    nesterov : bool

    Returns
    -------
    (w_new, velocity_new), both of the shape of ``w``.
    """
    w, g, velocity = _same_shape(w, g, ("velocity", velocity))
    lr = _non_negative("lr", lr)
    momentum = _rate("momentum", momentum)
    if form == "keras":
        velocity = momentum * velocity - lr * g
        if nesterov:
            return w + momentum * velocity - lr * g, velocity
        return w + velocity, velocity
    if nesterov:
        raise ValueError("nesterov=True is defined for form='keras' only")
    if form == "ema":
        velocity = momentum * velocity + (1.0 - momentum) * g
        return w - lr * velocity, velocity
    raise ValueError(f"form must be 'keras' or 'ema', got {form!r}")


def rmsprop_step(w, g, s, lr: float = 0.001, rho: float = 0.9, epsilon: float = 1e-7,
                 eps_inside: bool = True):
    """One RMSprop step: divide the gradient by a running root mean square of itself.

    ::

        s = rho * s + (1 - rho) * g**2
        w = w - lr * g / sqrt(s + epsilon)        # Keras 3 (eps_inside=True)
        w = w - lr * g / (sqrt(s) + epsilon)      # PyTorch (eps_inside=False)

    Parameters
    ----------
    w, g, s : arrays of one shape (start ``s`` at zeros)
    lr : float >= 0;  rho : float in [0, 1);  epsilon : float >= 0

    Returns
    -------
    (w_new, s_new), both of the shape of ``w``.
    """
    w, g, s = _same_shape(w, g, ("s", s))
    lr = _non_negative("lr", lr)
    rho = _rate("rho", rho)
    epsilon = _non_negative("epsilon", epsilon)
    s = rho * s + (1.0 - rho) * g * g
    denom = np.sqrt(s + epsilon) if eps_inside else np.sqrt(s) + epsilon
    return w - lr * g / denom, s


def adam_step(w, g, m, v, t: int, lr: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
              epsilon: float = 1e-7, form: str = "keras", weight_decay: float = 0.0):
    """One Adam step (Kingma & Ba 2015): momentum on ``g`` plus RMSprop scaling, bias-corrected.

    ::

        m = beta_1 * m + (1 - beta_1) * g          # first moment: EMA of gradients
        v = beta_2 * v + (1 - beta_2) * g**2       # second raw moment: EMA of squared gradients
        # form="keras" (Keras 3; the paper's "more efficient" variant, end of its Section 2)
        a_t = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        w   = w - a_t * m / (sqrt(v) + epsilon)
        # form="paper" (the paper's Algorithm 1, PyTorch)
        w   = w - lr * (m / (1 - beta_1**t)) / (sqrt(v / (1 - beta_2**t)) + epsilon)

    The two forms differ only in where epsilon sits: Keras' equals the paper's with
    ``epsilon / sqrt(1 - beta_2**t)`` (about 32 x epsilon at t=1).

    ``weight_decay`` > 0 gives AdamW (Loshchilov & Hutter 2019) as ``keras.optimizers.AdamW``
    computes it: first ``w = w - lr * weight_decay * w`` (decoupled: outside the division by
    ``sqrt(v)``), then the Adam step above with ``g`` unchanged.

    Parameters
    ----------
    w, g, m, v : arrays of one shape (start ``m`` and ``v`` at zeros)
    t : int >= 1, the number of this update (1 for the first)
    lr : float >= 0;  beta_1, beta_2 : float in [0, 1);  epsilon : float >= 0
    form : {"keras", "paper"}
    weight_decay : float >= 0

    Returns
    -------
    (w_new, m_new, v_new), each of the shape of ``w``.
    """
    w, g, m, v = _same_shape(w, g, ("m", m), ("v", v))
    t = _step_number(t)
    lr = _non_negative("lr", lr)
    beta_1 = _rate("beta_1", beta_1)
    beta_2 = _rate("beta_2", beta_2)
    epsilon = _non_negative("epsilon", epsilon)
    weight_decay = _non_negative("weight_decay", weight_decay)
    if form not in ("keras", "paper"):
        raise ValueError(f"form must be 'keras' or 'paper', got {form!r}")
    if weight_decay:
        w = w - lr * weight_decay * w
    m = beta_1 * m + (1.0 - beta_1) * g
    v = beta_2 * v + (1.0 - beta_2) * g * g
    if form == "keras":
        a_t = lr * math.sqrt(1.0 - beta_2 ** t) / (1.0 - beta_1 ** t)
        return w - a_t * m / (np.sqrt(v) + epsilon), m, v
    if form == "paper":
        m_hat = m / (1.0 - beta_1 ** t)
        v_hat = v / (1.0 - beta_2 ** t)
        return w - lr * m_hat / (np.sqrt(v_hat) + epsilon), m, v


# --------------------------------------------------------------------------- schedules

def _steps(step) -> np.ndarray:
    s = as_float_array(step, "step")
    if np.any(s < 0) or not np.all(np.isfinite(s)):
        raise ValueError(f"step must be >= 0 (the optimizer's iteration count, 0 for the first update), "
                         f"got {step!r}")
    return s


def _schedule_args(initial_learning_rate, decay_steps):
    return (_non_negative("initial_learning_rate", initial_learning_rate),
            _positive("decay_steps", decay_steps))


def _out(x, step):
    return float(x) if np.ndim(step) == 0 else x


def exponential_decay(step, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                      staircase: bool = False):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (``floor`` of the power if staircase).

    Same as ``keras.optimizers.schedules.ExponentialDecay``. ``step`` is a number or an
    array (any shape); returns a float or an array of that shape.
    """
    lr0, k = _schedule_args(initial_learning_rate, decay_steps)
    rate = _positive("decay_rate", decay_rate)
    p = _steps(step) / k
    if staircase:
        p = np.floor(p)
    return _out(lr0 * rate ** p, step)


def step_decay(step, initial_learning_rate: float, decay_steps: float, decay_rate: float = 0.5):
    """Step decay: multiply the rate by ``decay_rate`` every ``decay_steps`` steps.

    ``initial_learning_rate * decay_rate ** floor(step / decay_steps)``, which is
    ``ExponentialDecay(..., staircase=True)`` in Keras. ``step``: number or array.
    """
    return exponential_decay(step, initial_learning_rate, decay_steps, decay_rate, staircase=True)


def cosine_decay(step, initial_learning_rate: float, decay_steps: float, alpha: float = 0.0,
                 warmup_steps: float = 0, warmup_target: float | None = None):
    """Cosine decay (Loshchilov & Hutter 2017), optionally after a linear warm-up.

    Without warm-up: ``lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps)) + alpha)``,
    so the rate glides from ``lr0`` to ``alpha * lr0`` and stays there.
    With ``warmup_target``: the rate rises linearly from ``lr0`` to ``warmup_target`` over
    ``warmup_steps`` steps, then decays from ``warmup_target`` as above.
    Same as ``keras.optimizers.schedules.CosineDecay``. ``step``: number or array.
    """
    lr0, k = _schedule_args(initial_learning_rate, decay_steps)
    alpha = _rate("alpha", alpha, 0.0, 1.0, closed_high=True)
    s = _steps(step)

    def decay(x, start_lr):
        frac = np.minimum(x, k) / k
        return start_lr * ((1.0 - alpha) * 0.5 * (1.0 + np.cos(np.pi * frac)) + alpha)

    if warmup_target is None:
        return _out(decay(s, lr0), step)
    target = _positive("warmup_target", warmup_target)
    w = _positive("warmup_steps", warmup_steps)
    s = np.minimum(s, k + w)
    warm = lr0 + (target - lr0) * s / w
    return _out(np.where(s < w, warm, decay(s - w, target)), step)


# --------------------------------------------------------------------------- a stateful optimizer

class ScratchOptimizer:
    """The four optimizers with their state, used like a Keras optimizer: ``w = opt.step(w, g)``.

    Parameters
    ----------
    name : {"sgd", "momentum", "rmsprop", "adam"}
    learning_rate : float >= 0, or a schedule ``f(step) -> float`` evaluated at the
        0-based iteration count before each update (as Keras does).
    momentum : float in [0, 1)          for "momentum" (Keras form)
    nesterov : bool                     for "momentum": Nesterov's method, as ``SGD(nesterov=True)``
    rho : float in [0, 1)               for "rmsprop"
    beta_1, beta_2 : floats in [0, 1)   for "adam"
    epsilon : float >= 0                for "rmsprop" and "adam" (Keras default 1e-7)
    weight_decay : float >= 0           decoupled weight decay for any optimizer, as Keras 3's
        ``weight_decay`` argument: ``w -= lr * weight_decay * w`` before each update
        (``"adam"`` with ``weight_decay`` is ``keras.optimizers.AdamW``)

    Attributes
    ----------
    iterations : int, updates done so far;  state : dict of arrays (shape of ``w``).
    """

    def __init__(self, name: str, learning_rate: float | Callable = 0.01, momentum: float = 0.9,
                 rho: float = 0.9, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 nesterov: bool = False, weight_decay: float = 0.0):
        if name not in OPTIMIZER_NAMES:
            raise ValueError(f"name must be one of {OPTIMIZER_NAMES}, got {name!r}")
        if not callable(learning_rate):
            _non_negative("learning_rate", learning_rate)
        self.name = name
        self.learning_rate = learning_rate
        self.momentum = _rate("momentum", momentum)
        self.rho = _rate("rho", rho)
        self.beta_1 = _rate("beta_1", beta_1)
        self.beta_2 = _rate("beta_2", beta_2)
        self.epsilon = _non_negative("epsilon", epsilon)
        if nesterov and name != "momentum":
            raise ValueError(f"nesterov=True needs name='momentum', got {name!r}")
        self.nesterov = bool(nesterov)
        self.weight_decay = _non_negative("weight_decay", weight_decay)
        self.iterations = 0
        self.state: dict[str, np.ndarray] = {}

    def current_learning_rate(self) -> float:
        """The rate the next update uses (the schedule at the current iteration count)."""
        lr = self.learning_rate(self.iterations) if callable(self.learning_rate) else self.learning_rate
        return _non_negative("learning_rate (schedule value)", float(lr))

    def step(self, w, g) -> np.ndarray:
        """Return the updated parameters; ``w`` and ``g`` have one shape, kept by the result."""
        w, g = _same_shape(w, g)
        if self.state and next(iter(self.state.values())).shape != w.shape:
            raise ValueError(f"w has shape {w.shape} but this optimizer was used with "
                             f"{next(iter(self.state.values())).shape}; make a new optimizer per parameter")
        lr = self.current_learning_rate()
        st = self.state
        if self.weight_decay:
            w = w - lr * self.weight_decay * w
        if self.name == "sgd":
            w = sgd_step(w, g, lr)
        elif self.name == "momentum":
            w, st["velocity"] = momentum_step(w, g, st.get("velocity", np.zeros_like(w)), lr,
                                              self.momentum, nesterov=self.nesterov)
        elif self.name == "rmsprop":
            w, st["s"] = rmsprop_step(w, g, st.get("s", np.zeros_like(w)), lr, self.rho, self.epsilon)
        else:
            w, st["m"], st["v"] = adam_step(w, g, st.get("m", np.zeros_like(w)),
                                            st.get("v", np.zeros_like(w)), self.iterations + 1, lr,
                                            self.beta_1, self.beta_2, self.epsilon)
        self.iterations += 1
        return w

    def __repr__(self):
        return f"ScratchOptimizer({self.name!r}, learning_rate={self.learning_rate!r}, iterations={self.iterations})"


def optimize(opt: ScratchOptimizer, grad_fn: Callable, w0, steps: int) -> np.ndarray:
    """Run ``steps`` updates from ``w0`` with ``g = grad_fn(w)``; return the path.

    Returns
    -------
    ndarray, shape (steps + 1,) + w0.shape: ``w0`` then each updated ``w``.
    """
    if not isinstance(opt, ScratchOptimizer):
        raise TypeError(f"opt must be a ScratchOptimizer, got {type(opt).__name__}")
    if not callable(grad_fn):
        raise TypeError(f"grad_fn must be a function w -> gradient, got {type(grad_fn).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    w = as_float_array(w0, "w0")
    path = [w.copy()]
    for _ in range(int(steps)):
        w = opt.step(w, grad_fn(w))
        path.append(w.copy())
    return np.stack(path)
