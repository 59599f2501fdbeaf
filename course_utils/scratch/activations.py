"""Activation functions and their derivatives, from scratch in NumPy (notebook 02).

Every function takes a number or an array ``z`` of any shape (the pre-activations) and
returns a float64 array of the same shape, element by element, except ``softmax``, which
normalises along one axis, and ``softmax_jacobian``, which adds one axis.

Conventions at the kinks (where the derivative does not exist) follow TensorFlow, so the
values equal what ``tf.GradientTape`` returns through ``keras.activations``: ``relu_grad(0) = 0``,
``step_grad = 0`` everywhere, ``leaky_relu_grad(0) = alpha`` and ``elu_grad(0) = alpha``.

Example
-------
>>> sigmoid(np.array([-800.0, 0.0, 800.0]))     # no overflow warning
array([0. , 0.5, 1. ])
>>> softmax(np.array([[2.0, 1.0, 0.1]]), axis=1).round(3)
array([[0.659, 0.242, 0.099]])
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import as_float_array
from .neurons import step_activation

__all__ = [
    "step", "step_grad", "linear", "linear_grad", "sigmoid", "sigmoid_grad", "tanh", "tanh_grad",
    "relu", "relu_grad", "leaky_relu", "leaky_relu_grad", "elu", "elu_grad", "gelu", "gelu_grad",
    "softmax", "softmax_jacobian", "ACTIVATION_NAMES", "activation", "dead_units", "dead_share",
]

_SQRT2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


def _z(z) -> np.ndarray:
    return as_float_array(z, "z")


def _alpha(alpha, name: str = "alpha", positive: bool = False) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(alpha).__name__}: {alpha!r}")
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha < 0 or (positive and alpha == 0):
        want = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number {want}, got {alpha!r}")
    return alpha


# --------------------------------------------------------------------------- element-wise

def step(z):
    """Heaviside step: 1 where ``z >= 0``, else 0 (the perceptron's "firing"). Same shape as ``z``.

    One rule for the whole course: this is :func:`neurons.step_activation` (notebook 01), which
    fires at exactly 0 too, returned as an array.
    """
    return np.asarray(step_activation(_z(z)), dtype=np.float64)


def step_grad(z):
    """Derivative of :func:`step`: 0 everywhere (undefined at 0; 0 by convention). Why it cannot train."""
    return np.zeros_like(_z(z))


def linear(z):
    """Identity ``f(z) = z`` (a "linear" or absent activation, e.g. a regression output)."""
    return _z(z).copy()


def linear_grad(z):
    """Derivative of :func:`linear`: 1 everywhere."""
    return np.ones_like(_z(z))


def sigmoid(z):
    """Logistic sigmoid ``1 / (1 + exp(-z))`` in (0, 1), numerically stable for any ``z``.

    For ``z >= 0`` it computes ``1 / (1 + e)`` and for ``z < 0`` ``e / (1 + e)``, with
    ``e = exp(-|z|) <= 1``, so ``exp`` never overflows (the naive formula overflows and
    warns for ``z < -709``).
    """
    z = _z(z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(z):
    """Derivative of the sigmoid, ``s (1 - s)`` with ``s = sigmoid(z)``; at most 0.25 (at 0)."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z):
    """Hyperbolic tangent in (-1, 1); ``tanh(z) = 2 sigmoid(2z) - 1`` (zero-centred)."""
    return np.tanh(_z(z))


def tanh_grad(z):
    """Derivative of tanh, ``1 - tanh(z)**2``; at most 1 (at 0)."""
    t = np.tanh(_z(z))
    return 1.0 - t * t


def relu(z):
    """Rectified linear unit ``max(0, z)``."""
    return np.maximum(_z(z), 0.0)


def relu_grad(z):
    """Derivative of ReLU: 1 where ``z > 0``, 0 where ``z <= 0`` (TensorFlow's convention at 0)."""
    return (_z(z) > 0).astype(np.float64)


def leaky_relu(z, alpha: float = 0.01):
    """Leaky ReLU: ``z`` where ``z > 0``, ``alpha * z`` otherwise.

    ``alpha`` (>= 0) is the slope on the negative side; 0.01 is the classic choice
    (Maas et al. 2013). Keras calls it ``negative_slope`` and defaults to 0.2.
    """
    z, a = _z(z), _alpha(alpha)
    return np.where(z > 0, z, a * z)


def leaky_relu_grad(z, alpha: float = 0.01):
    """Derivative of :func:`leaky_relu`: 1 where ``z > 0``, ``alpha`` where ``z <= 0``."""
    z, a = _z(z), _alpha(alpha)
    return np.where(z > 0, 1.0, a)


def elu(z, alpha: float = 1.0):
    """Exponential linear unit: ``z`` where ``z > 0``, ``alpha * (exp(z) - 1)`` otherwise (> -alpha)."""
    z, a = _z(z), _alpha(alpha, positive=True)
    return np.where(z > 0, z, a * np.expm1(np.minimum(z, 0.0)))


def elu_grad(z, alpha: float = 1.0):
    """Derivative of :func:`elu`: 1 where ``z > 0``, ``alpha * exp(z)`` where ``z <= 0``.

    At ``z = 0`` this returns ``alpha``, as ``keras.activations.elu`` does under
    ``tf.GradientTape`` (the two one-sided slopes agree only if alpha = 1).
    """
    z, a = _z(z), _alpha(alpha, positive=True)
    return np.where(z > 0, 1.0, a * np.exp(np.minimum(z, 0.0)))


def _erf(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf  # scipy comes with scikit-learn; imported only when used
    return erf(x)


def gelu(z, approximate: bool = False):
    """Gaussian error linear unit ``z * Phi(z)``, with ``Phi`` the standard normal CDF.

    ``approximate=True`` gives the tanh approximation
    ``0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z**3)))`` (BERT, GPT-2). Keras's default is
    the exact form, as here.
    """
    z = _z(z)
    if not isinstance(approximate, (bool, np.bool_)):
        raise TypeError(f"approximate must be True or False, got {approximate!r}")
    if approximate:
        return 0.5 * z * (1.0 + np.tanh(_SQRT_2_OVER_PI * (z + _GELU_C * z ** 3)))
    return 0.5 * z * (1.0 + _erf(z / _SQRT2))


def gelu_grad(z, approximate: bool = False):
    """Derivative of :func:`gelu`: ``Phi(z) + z * phi(z)`` (exact) or the tanh form's derivative."""
    z = _z(z)
    if not isinstance(approximate, (bool, np.bool_)):
        raise TypeError(f"approximate must be True or False, got {approximate!r}")
    if approximate:
        u = _SQRT_2_OVER_PI * (z + _GELU_C * z ** 3)
        t = np.tanh(u)
        du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_C * z ** 2)
        return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * du
    cdf = 0.5 * (1.0 + _erf(z / _SQRT2))
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return cdf + z * pdf


# --------------------------------------------------------------------------- softmax

def _axis(axis, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {type(axis).__name__}: {axis!r}")
    if ndim == 0:
        raise ValueError("z must have at least 1 dimension for softmax (a vector of scores), got a scalar")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for z with {ndim} dimension(s)")
    return int(axis) % ndim


def softmax(z, axis: int = -1):
    """Softmax along ``axis``: ``exp(z_i) / sum_j exp(z_j)``, numerically stable.

    Subtracting the maximum along ``axis`` first changes nothing mathematically (softmax
    is shift-invariant) but keeps every ``exp`` <= 1, so large scores do not overflow.

    Parameters
    ----------
    z : array, shape (..., k, ...)   scores (logits); at least 1-D
    axis : int                       the axis holding the k classes

    Returns
    -------
    array of the same shape: non-negative, summing to 1 along ``axis``.
    """
    z = _z(z)
    ax = _axis(axis, z.ndim)
    e = np.exp(z - z.max(axis=ax, keepdims=True))
    return e / e.sum(axis=ax, keepdims=True)


def softmax_jacobian(z, axis: int = -1):
    """Jacobian of :func:`softmax`: ``J[..., i, j] = d s_i / d z_j = s_i (delta_ij - s_j)``.

    Parameters
    ----------
    z : array, shape (..., k) (``axis`` is moved to the end first)
    axis : int

    Returns
    -------
    array, shape (..., k, k): the other axes of ``z`` (``axis`` removed) followed by (k, k).
    Each row sums to 0, because the outputs always sum to 1.
    """
    z = _z(z)
    ax = _axis(axis, z.ndim)
    s = np.moveaxis(softmax(z, axis=ax), ax, -1)
    return s[..., :, None] * np.eye(s.shape[-1]) - s[..., :, None] * s[..., None, :]


# --------------------------------------------------------------------------- lookup

_TABLE = {
    "step": (step, step_grad),
    "linear": (linear, linear_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "elu": (elu, elu_grad),
    "gelu": (gelu, gelu_grad),
}
#: Names accepted by :func:`activation` (the element-wise activations).
ACTIVATION_NAMES = tuple(_TABLE)


def activation(name: str):
    """Return ``(f, f_prime)`` for an element-wise activation by name.

    >>> f, df = activation("tanh"); df(0.0)
    array(1.)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string such as 'relu', got {type(name).__name__}")
    if name not in _TABLE:
        hint = " (softmax is not element-wise: use softmax and softmax_jacobian)" if name == "softmax" else ""
        raise ValueError(f"unknown activation {name!r}; expected one of {ACTIVATION_NAMES}{hint}")
    return _TABLE[name]


# --------------------------------------------------------------------------- dead units

def dead_units(activations, tol: float = 0.0):
    """Which units are dead: their output is 0 (``<= tol``) for every input of the batch.

    Parameters
    ----------
    activations : array, shape (n_inputs, n_units)
        Outputs of one ReLU layer for a batch of inputs (one row per input).
    tol : float >= 0
        Outputs with ``abs(a) <= tol`` count as zero (0 for an exact ReLU).

    Returns
    -------
    bool array, shape (n_units,)
    """
    a = as_float_array(activations, "activations", ndim=2)
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"activations must have at least one input and one unit, got shape {a.shape}")
    tol = _alpha(tol, "tol")
    return np.all(np.abs(a) <= tol, axis=0)


def dead_share(activations, tol: float = 0.0) -> float:
    """Share (0 to 1) of units that output 0 for every input of the batch.

    ``activations`` has shape (n_inputs, n_units); see :func:`dead_units`. A unit that
    is 0 for every input also has a zero ReLU gradient for every input, so gradient
    descent never changes its incoming weights again: it is dead, not just quiet.
    """
    return float(dead_units(activations, tol).mean())
