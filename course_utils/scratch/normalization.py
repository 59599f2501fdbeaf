"""Batch normalization, weight-initialisation scales and gradient clipping, in NumPy (notebook 09).

Batch normalization, as ``keras.layers.BatchNormalization`` computes it on the last axis of
``x`` (shape ``(n, d)``: n samples, d features):

- training (:func:`batchnorm_train`): ``y = gamma * (x - mu_B) / sqrt(var_B + epsilon) + beta``
  with the batch's own mean ``mu_B`` and **biased** variance ``var_B`` (divided by n);
- the moving statistics (:func:`batchnorm_moving_update`): Keras' ``momentum`` is the weight
  of the **old** value, ``moving = momentum * moving + (1 - momentum) * batch_stat`` (Keras
  default 0.99; PyTorch's ``momentum=0.1`` is the weight of the *new* value, the same rule
  written the other way round);
- inference (:func:`batchnorm_inference`): the same formula with the moving mean and variance,
  so a sample's output no longer depends on the rest of its batch.

Keras' default ``epsilon`` is 1e-3 (PyTorch's 1e-5). :class:`BatchNormScratch` bundles the
three into a layer with state, and :func:`batchnorm_backward` is the backward pass.

Initialisation scales (the variance argument: keep ``Var(z)`` equal from layer to layer):
:func:`lecun_std` ``sqrt(1 / fan_in)``, :func:`glorot_std` ``sqrt(2 / (fan_in + fan_out))``,
:func:`he_std` ``sqrt(2 / fan_in)``; a uniform draw in ``±limit`` has variance ``limit² / 3``,
so :func:`glorot_limit` is ``sqrt(6 / (fan_in + fan_out))`` and :func:`he_limit`
``sqrt(6 / fan_in)``. The draws themselves live in :func:`course_utils.scratch.init_weights`.

Gradient clipping: :func:`clip_by_norm` (one tensor, Keras' ``clipnorm`` applies it to each
variable separately), :func:`clip_by_global_norm` (all tensors together, ``global_clipnorm``)
and :func:`clip_by_value` (each element, ``clipvalue``).

Example
-------
>>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
>>> y, mean, var = batchnorm_train(x, gamma=np.ones(2), beta=np.zeros(2), epsilon=0.0)
>>> y
array([[-1., -1.],
       [ 1.,  1.]])
>>> clip_by_norm(np.array([3.0, 4.0]), 1.0)
array([0.6, 0.8])
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, positive_int

__all__ = [
    "KERAS_BN_MOMENTUM", "KERAS_BN_EPSILON", "batchnorm_train", "batchnorm_moving_update",
    "batchnorm_inference", "batchnorm_backward", "BatchNormScratch",
    "lecun_std", "glorot_std", "glorot_limit", "he_std", "he_limit",
    "clip_by_norm", "clip_by_global_norm", "clip_by_value",
]

#: ``keras.layers.BatchNormalization`` defaults
KERAS_BN_MOMENTUM = 0.99
KERAS_BN_EPSILON = 1e-3


# --------------------------------------------------------------------------- input checks

def _number(name: str, v, low: float | None = None, high: float | None = None,
            low_open: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
        raise TypeError(f"{name} must be a finite number, got {type(v).__name__}: {v!r}")
    v = float(v)
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {v!r}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be <= {high}, got {v!r}")
    return v


_fan = positive_int


def _x2d(x, name: str = "x") -> np.ndarray:
    x = as_float_array(x, name, ndim=2)
    if x.shape[0] < 1:
        raise ValueError(f"{name} must hold at least one sample (shape (n, d) with n >= 1), got {x.shape}")
    return x


def _vec(v, name: str, d: int) -> np.ndarray:
    v = as_float_array(v, name)
    if v.shape != (d,):
        raise ValueError(f"{name} must have shape ({d},), one value per feature of x, got {v.shape}")
    return v


# --------------------------------------------------------------------------- batch normalization

def batchnorm_train(x, gamma, beta, epsilon: float = KERAS_BN_EPSILON):
    """Batch normalization in training mode: normalise with the batch's own statistics.

    Parameters
    ----------
    x : array (n, d)           a batch: n samples, d features (units)
    gamma, beta : array (d,)   learned scale and shift
    epsilon : float            added to the variance (Keras default 1e-3)

    Returns
    -------
    (y, mean, var): y (n, d); mean and var (d,), the batch mean and the *biased* variance
    (divided by n), which also feed the moving averages.
    """
    x = _x2d(x)
    d = x.shape[1]
    gamma, beta = _vec(gamma, "gamma", d), _vec(beta, "beta", d)
    epsilon = _number("epsilon", epsilon, 0.0)
    mean = x.mean(axis=0)
    var = x.var(axis=0)  # biased: divided by n, as Keras does
    y = gamma * (x - mean) / np.sqrt(var + epsilon) + beta
    return y, mean, var


def batchnorm_moving_update(moving, batch_stat, momentum: float = KERAS_BN_MOMENTUM):
    """One update of a moving statistic, Keras' convention: ``momentum`` weighs the OLD value.

    ``moving * momentum + batch_stat * (1 - momentum)``. After k equal batches the moving
    value has moved ``1 - momentum**k`` of the way from where it started (0 for the mean, 1
    for the variance in Keras) to the batch value: about 63% after 100 batches at 0.99.
    """
    moving = as_float_array(moving, "moving")
    batch_stat = as_float_array(batch_stat, "batch_stat")
    if moving.shape != batch_stat.shape:
        raise ValueError(f"moving and batch_stat must have the same shape, got {moving.shape} and "
                         f"{batch_stat.shape}")
    momentum = _number("momentum", momentum, 0.0, 1.0)
    return momentum * moving + (1.0 - momentum) * batch_stat


def batchnorm_inference(x, gamma, beta, moving_mean, moving_var, epsilon: float = KERAS_BN_EPSILON):
    """Batch normalization in inference mode: the moving statistics, not the batch's.

    Each row is transformed on its own: ``gamma * (x - moving_mean) / sqrt(moving_var + epsilon)
    + beta``, a fixed affine map per feature. Shapes as :func:`batchnorm_train`; returns y (n, d).
    """
    x = _x2d(x)
    d = x.shape[1]
    gamma, beta = _vec(gamma, "gamma", d), _vec(beta, "beta", d)
    moving_mean, moving_var = _vec(moving_mean, "moving_mean", d), _vec(moving_var, "moving_var", d)
    if np.any(moving_var < 0):
        raise ValueError("moving_var must be >= 0 (a variance)")
    epsilon = _number("epsilon", epsilon, 0.0)
    return gamma * (x - moving_mean) / np.sqrt(moving_var + epsilon) + beta


def batchnorm_backward(dy, x, gamma, epsilon: float = KERAS_BN_EPSILON):
    """Backward pass of :func:`batchnorm_train` (training mode: the statistics depend on x).

    With ``x_hat = (x - mean) / sqrt(var + epsilon)`` and ``s = 1 / sqrt(var + epsilon)``:
    ``dbeta = sum(dy)``, ``dgamma = sum(dy * x_hat)`` and
    ``dx = gamma * s / n * (n * dy - sum(dy) - x_hat * sum(dy * x_hat))`` (sums over the batch).
    The two subtracted sums are the batch statistics' share: dx sums to 0 over the batch.

    Returns (dx (n, d), dgamma (d,), dbeta (d,)).
    """
    x = _x2d(x)
    dy = as_float_array(dy, "dy")
    if dy.shape != x.shape:
        raise ValueError(f"dy must have the shape of x, {x.shape}, got {dy.shape}")
    gamma = _vec(gamma, "gamma", x.shape[1])
    epsilon = _number("epsilon", epsilon, 0.0)
    n = x.shape[0]
    mean, var = x.mean(axis=0), x.var(axis=0)
    s = 1.0 / np.sqrt(var + epsilon)
    x_hat = (x - mean) * s
    dbeta = dy.sum(axis=0)
    dgamma = (dy * x_hat).sum(axis=0)
    dx = gamma * s / n * (n * dy - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


class BatchNormScratch:
    """A batch-normalization layer with state, as ``keras.layers.BatchNormalization(axis=-1)``.

    ``layer(x, training=True)`` normalises with the batch statistics and updates the moving
    mean and variance; ``layer(x, training=False)`` uses the moving ones and changes nothing.
    Starts as Keras does: gamma 1, beta 0, moving mean 0, moving variance 1.

    Attributes: ``gamma, beta, moving_mean, moving_var`` (d,), ``momentum``, ``epsilon``,
    ``updates`` (training calls so far).
    """

    def __init__(self, n_features: int, momentum: float = KERAS_BN_MOMENTUM,
                 epsilon: float = KERAS_BN_EPSILON):
        d = _fan("n_features", n_features)
        self.momentum = _number("momentum", momentum, 0.0, 1.0)
        self.epsilon = _number("epsilon", epsilon, 0.0)
        self.gamma, self.beta = np.ones(d), np.zeros(d)
        self.moving_mean, self.moving_var = np.zeros(d), np.ones(d)
        self.updates = 0

    def __repr__(self):
        return (f"BatchNormScratch(n_features={self.gamma.size}, momentum={self.momentum}, "
                f"epsilon={self.epsilon}, updates={self.updates})")

    def __call__(self, x, training: bool = False) -> np.ndarray:
        if not isinstance(training, (bool, np.bool_)):
            raise TypeError(f"training must be True or False, got {training!r}")
        x = _x2d(x)
        if x.shape[1] != self.gamma.size:
            raise ValueError(f"x must have {self.gamma.size} features (shape (n, {self.gamma.size})), "
                             f"got {x.shape}")
        if not training:
            return batchnorm_inference(x, self.gamma, self.beta, self.moving_mean, self.moving_var,
                                       self.epsilon)
        y, mean, var = batchnorm_train(x, self.gamma, self.beta, self.epsilon)
        self.moving_mean = batchnorm_moving_update(self.moving_mean, mean, self.momentum)
        self.moving_var = batchnorm_moving_update(self.moving_var, var, self.momentum)
        self.updates += 1
        return y


# --------------------------------------------------------------------------- initialisation scales

def lecun_std(fan_in: int) -> float:
    """``sqrt(1 / fan_in)``: keeps Var(z) constant through *linear* (or tanh near 0) layers."""
    return float(np.sqrt(1.0 / _fan("fan_in", fan_in)))


def glorot_std(fan_in: int, fan_out: int) -> float:
    """Glorot (Xavier) standard deviation ``sqrt(2 / (fan_in + fan_out))``: the compromise
    between keeping the forward variance (``1 / fan_in``) and the backward one (``1 / fan_out``)."""
    return float(np.sqrt(2.0 / (_fan("fan_in", fan_in) + _fan("fan_out", fan_out))))


def glorot_limit(fan_in: int, fan_out: int) -> float:
    """Limit of Glorot *uniform* (Keras' default ``Dense`` initialiser): ``sqrt(6 / (fan_in + fan_out))``,
    so that ``U(-limit, limit)``, of variance ``limit**2 / 3``, has the Glorot variance."""
    return float(np.sqrt(3.0) * glorot_std(fan_in, fan_out))


def he_std(fan_in: int) -> float:
    """He (Kaiming) standard deviation ``sqrt(2 / fan_in)``: ReLU zeroes half of each layer's
    inputs, so the weights need twice LeCun's variance to keep Var(z) constant."""
    return float(np.sqrt(2.0 / _fan("fan_in", fan_in)))


def he_limit(fan_in: int) -> float:
    """Limit of He *uniform*: ``sqrt(6 / fan_in)``."""
    return float(np.sqrt(3.0) * he_std(fan_in))


# --------------------------------------------------------------------------- gradient clipping

def clip_by_norm(g, max_norm: float) -> np.ndarray:
    """Scale ``g`` (any shape) down to Euclidean norm ``max_norm`` if its norm is larger.

    The direction is kept; a gradient already short enough comes back unchanged. This is
    ``tf.clip_by_norm`` and what Keras' ``clipnorm=`` does to **each variable's** gradient.
    """
    g = as_float_array(g, "g")
    max_norm = _number("max_norm", max_norm, 0.0, low_open=True)
    norm = float(np.sqrt(np.sum(g * g)))
    return g * (max_norm / norm) if norm > max_norm else g.copy()


def clip_by_global_norm(grads, max_norm: float):
    """Scale a list of gradients together so that their joint norm is at most ``max_norm``.

    The global norm is ``sqrt(sum of every element squared)`` over all the arrays; each array
    is multiplied by ``max_norm / global_norm`` when that is below 1. Keras' ``global_clipnorm=``,
    ``tf.clip_by_global_norm``. Returns (list of clipped arrays, global norm before clipping).
    """
    if isinstance(grads, np.ndarray) or not isinstance(grads, (list, tuple)):
        raise TypeError(f"grads must be a list of arrays, got {type(grads).__name__}")
    arrays = [as_float_array(g, f"grads[{i}]") for i, g in enumerate(grads)]
    max_norm = _number("max_norm", max_norm, 0.0, low_open=True)
    total = float(np.sqrt(sum(float(np.sum(g * g)) for g in arrays)))
    scale = max_norm / total if total > max_norm else 1.0
    return [g * scale for g in arrays], total


def clip_by_value(g, clip_value: float) -> np.ndarray:
    """Clip each element of ``g`` into ``[-clip_value, clip_value]`` (Keras' ``clipvalue=``).

    Unlike norm clipping this can turn the gradient: large components are cut, small ones kept.
    """
    g = as_float_array(g, "g")
    clip_value = _number("clip_value", clip_value, 0.0, low_open=True)
    return np.clip(g, -clip_value, clip_value)
