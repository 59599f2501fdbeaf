"""Activation functions and their derivatives, from scratch in NumPy (notebook 02).

Every function takes a number or an array ``z`` of any shape (the pre-activations) and
returns a float64 array of the same shape, element by element, except ``softmax``, which
normalises along one axis, and ``softmax_jacobian``, which adds one axis.

At ``z = 0`` the values follow TensorFlow, so they equal what ``tf.GradientTape`` returns
through ``keras.activations``: ``relu_grad(0) = 0``, ``step_grad = 0`` everywhere,
``leaky_relu_grad(0) = alpha`` and ``elu_grad(0) = alpha``. ReLU and Leaky ReLU (alpha != 1)
have a kink there (the one-sided slopes differ), so that value is a convention; ELU with
``alpha = 1`` has no kink (both one-sided slopes are 1) and ``elu_grad(0) = 1`` is its true
derivative.

Besides the activations: :func:`dead_units` / :func:`dead_share` (units that output 0 for a
whole batch), :func:`dead_on_box` (first-layer units that cannot fire for any input in a box)
and :func:`train_deep_mlp`, a deep NumPy MLP trained by plain mini-batch gradient descent, so
that notebook 02's open-ended exercise can try activation / initialisation / learning-rate
choices in a fraction of a second.

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

from ._validate import as_float_array, positive_int
from .neurons import step_activation

__all__ = [
    "step", "step_grad", "linear", "linear_grad", "sigmoid", "sigmoid_grad", "tanh", "tanh_grad",
    "relu", "relu_grad", "leaky_relu", "leaky_relu_grad", "elu", "elu_grad", "gelu", "gelu_grad",
    "softmax", "softmax_jacobian", "ACTIVATION_NAMES", "activation", "dead_units", "dead_share",
    "dead_on_box", "INIT_SCHEMES", "init_weights", "DeepMLP", "train_deep_mlp",
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
    ``tf.GradientTape``. The left slope there is ``alpha`` and the right slope 1: for
    ``alpha = 1`` they agree, ELU is differentiable at 0 and 1 is its derivative; for any
    other ``alpha`` it has a kink and the value is a convention.
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


_activation_pair = activation   # for functions whose argument is called ``activation``


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


def dead_on_box(W, b, low: float = 0.0, high: float = 1.0):
    """Units of a first dense layer that output 0 for **every** input in the box ``[low, high]^d``.

    The pre-activation ``z = x @ W[:, j] + b[j]`` is linear in ``x``, so its largest value over
    the box takes each coordinate at whichever end helps: ``high`` where the weight is positive,
    ``low`` where it is negative. A unit is dead on the whole box when even that largest value
    is ``<= 0`` (for ReLU, ``z <= 0`` means output 0 and derivative 0).

    Parameters
    ----------
    W : array, shape (d, n_units)    incoming weights (Keras ``kernel`` layout)
    b : array, shape (n_units,)      biases
    low, high : float, low <= high   the range of every input coordinate

    Returns
    -------
    bool array, shape (n_units,)
    """
    W = as_float_array(W, "W", ndim=2)
    b = as_float_array(b, "b", shape=(W.shape[1],))
    for nm, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
            raise TypeError(f"{nm} must be a finite number, got {v!r}")
    if low > high:
        raise ValueError(f"low must be <= high, got low={low!r}, high={high!r}")
    z_max = b + np.where(W > 0, high * W, low * W).sum(axis=0)
    return z_max <= 0.0


# --------------------------------------------------------------------------- a deep MLP to experiment with

#: Weight initialisations of :func:`train_deep_mlp` (the same four as the activation lab).
INIT_SCHEMES = ("small", "large", "glorot", "he")


def init_weights(fan_in: int, fan_out: int, scheme: str, rng: np.random.Generator) -> np.ndarray:
    """Draw a weight matrix of shape (fan_in, fan_out) with one of :data:`INIT_SCHEMES`.

    - ``small``: normal, std 0.01 (signals shrink layer by layer)
    - ``large``: normal, std 1 (signals grow; sigmoid/tanh saturate)
    - ``glorot``: uniform in ±sqrt(6 / (fan_in + fan_out)) (variance 2 / (fan_in + fan_out))
    - ``he``: normal, std sqrt(2 / fan_in) (keeps the variance of ReLU layers constant)

    The one home of these four draws: :func:`train_deep_mlp` and the activation lab both use it.
    """
    fan_in, fan_out = positive_int("fan_in", fan_in), positive_int("fan_out", fan_out)
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"scheme must be one of {list(INIT_SCHEMES)}, got {scheme!r}")
    if scheme == "small":
        return rng.normal(0.0, 0.01, size=(fan_in, fan_out))
    if scheme == "large":
        return rng.normal(0.0, 1.0, size=(fan_in, fan_out))
    if scheme == "glorot":
        lim = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-lim, lim, size=(fan_in, fan_out))
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


class DeepMLP:
    """A dense network ``X -> [Dense(width) + f] x depth -> Dense(k)`` (logits), as trained by
    :func:`train_deep_mlp`.

    Attributes
    ----------
    activation : str            hidden activation (a name of :data:`ACTIVATION_NAMES`)
    weights : list of (W, b)    one pair per layer, hidden layers first, the output layer last
    losses : ndarray            mean training loss of each epoch (nan once training diverged)
    diverged : bool             True if the weights or the loss stopped being finite
    """

    def __init__(self, activation: str, weights: list, losses, diverged: bool = False):
        self.activation = activation
        self.weights = weights
        self.losses = np.asarray(losses, dtype=np.float64)
        self.diverged = bool(diverged)

    def __repr__(self):
        return (f"DeepMLP(activation={self.activation!r}, depth={len(self.weights) - 1}, "
                f"width={self.weights[0][0].shape[1]}, diverged={self.diverged})")

    def _X(self, X) -> np.ndarray:
        X = as_float_array(X, "X", ndim=2)
        d = self.weights[0][0].shape[0]
        if X.shape[1] != d:
            raise ValueError(f"X must have {d} features per row (shape (n, {d})), got shape {X.shape}")
        return X

    def pre_activations(self, X) -> list:
        """Pre-activations ``z`` of every hidden layer for inputs ``X`` (n, d): list of (n, width)."""
        f, _ = activation(self.activation)
        a, zs = self._X(X), []
        with np.errstate(all="ignore"):
            for W, b in self.weights[:-1]:
                z = a @ W + b
                zs.append(z)
                a = f(z)
        return zs

    def logits(self, X) -> np.ndarray:
        """Output scores, shape (n, k)."""
        f, _ = activation(self.activation)
        a = self._X(X)
        with np.errstate(all="ignore"):
            for W, b in self.weights[:-1]:
                a = f(a @ W + b)
            W, b = self.weights[-1]
            return a @ W + b

    def predict(self, X) -> np.ndarray:
        """Predicted class of each row of ``X``: int array (n,); class 0 where the logits are not finite."""
        return np.argmax(np.nan_to_num(self.logits(X), nan=-np.inf), axis=1)

    def accuracy(self, X, y) -> float:
        """Share of rows of ``X`` whose predicted class equals ``y``."""
        y = np.asarray(y)
        X = self._X(X)
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
        return float(np.mean(self.predict(X) == y))

    def dead_per_layer(self, X) -> np.ndarray:
        """Share of each hidden layer's units whose derivative ``f'(z)`` is 0 for every row of ``X``
        (no gradient can reach their weights); a unit whose ``z`` is not finite counts as dead."""
        _, df = activation(self.activation)
        out = []
        with np.errstate(all="ignore"):
            for z in self.pre_activations(X):
                g = df(z)
                out.append(float(np.all((g == 0.0) | ~np.isfinite(g), axis=0).mean()))
        return np.array(out)

    def dead_share(self, X) -> float:
        """Share of all hidden units that are dead on the inputs ``X`` (see :meth:`dead_per_layer`)."""
        return float(self.dead_per_layer(X).mean())


def train_deep_mlp(X, y, activation: str = "relu", init: str = "he", learning_rate: float = 0.1,
                   depth: int = 10, width: int = 32, epochs: int = 10, batch_size: int = 32,
                   seed: int = 0) -> DeepMLP:
    """Train a deep MLP classifier with plain mini-batch gradient descent, in NumPy.

    ``depth`` hidden layers of ``width`` units with the element-wise ``activation``, a linear
    output layer with one unit per class, softmax cross-entropy loss. Every weight matrix is
    drawn with ``init`` (one of :data:`INIT_SCHEMES`: ``small`` normal std 0.01, ``large``
    normal std 1, ``glorot`` uniform, ``he`` normal std sqrt(2 / fan_in)); biases start at 0.
    Each epoch shuffles the rows and takes one step ``param -= learning_rate * gradient`` per
    batch. Training stops early (``diverged=True``) if the loss or a weight is no longer finite.

    Parameters
    ----------
    X : array, shape (n, d)      inputs
    y : int array, shape (n,)    class labels 0..k-1
    activation, init, learning_rate, depth, width, epochs, batch_size, seed : as above

    Returns
    -------
    DeepMLP (``.accuracy(X, y)``, ``.dead_share(X)``, ``.losses`` ...)
    """
    X = as_float_array(X, "X", ndim=2)
    y = np.asarray(y)
    if y.shape != (X.shape[0],) or y.dtype.kind not in "iu" or (y.size and y.min() < 0):
        raise ValueError(f"y must be integer class labels >= 0 of shape ({X.shape[0]},), got "
                         f"shape {y.shape}, dtype {y.dtype}")
    f, df = _activation_pair(activation)
    if init not in INIT_SCHEMES:
        raise ValueError(f"init must be one of {INIT_SCHEMES}, got {init!r}")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float, np.integer, np.floating)) \
            or not np.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
    for nm, v, lo in (("depth", depth, 1), ("width", width, 1), ("epochs", epochs, 0),
                      ("batch_size", batch_size, 1), ("seed", seed, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{nm} must be an int >= {lo}, got {v!r}")
    n, d = X.shape
    k = int(y.max()) + 1 if y.size else 1
    if k < 2:
        raise ValueError("y must contain at least 2 classes")
    rng = np.random.default_rng(seed)
    sizes = [d] + [int(width)] * int(depth) + [k]
    weights = [(init_weights(i, o, init, rng), np.zeros(o)) for i, o in zip(sizes[:-1], sizes[1:])]
    Y = np.eye(k)[y]
    losses, diverged = [], False
    lr = float(learning_rate)
    with np.errstate(all="ignore"):
        for _ in range(int(epochs)):
            order = rng.permutation(n)
            total = 0.0
            for start in range(0, n, int(batch_size)):
                idx = order[start:start + int(batch_size)]
                a, inputs, zs = X[idx], [], []
                for W, b in weights[:-1]:
                    inputs.append(a)
                    z = a @ W + b
                    zs.append(z)
                    a = f(z)
                inputs.append(a)
                logits = a @ weights[-1][0] + weights[-1][1]
                shifted = logits - logits.max(axis=1, keepdims=True)
                log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
                total += float(-(Y[idx] * log_p).sum())
                dz = (np.exp(log_p) - Y[idx]) / len(idx)
                for layer in range(len(weights) - 1, -1, -1):
                    W, b = weights[layer]
                    gW, gb = inputs[layer].T @ dz, dz.sum(axis=0)
                    if layer > 0:
                        dz = (dz @ W.T) * df(zs[layer - 1])
                    weights[layer] = (W - lr * gW, b - lr * gb)
            losses.append(total / n)
            if not np.isfinite(losses[-1]) or not all(np.isfinite(W).all() for W, _ in weights):
                diverged = True
                break
    return DeepMLP(activation, weights, losses, diverged)
