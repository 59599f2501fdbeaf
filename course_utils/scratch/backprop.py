"""Backpropagation from scratch (notebook 03): dense layers, losses, an MLP, gradient checks.

Everything is NumPy in float64. Shapes follow Keras, so weights copy straight into a
``keras.layers.Dense``: a batch ``X`` is ``(n, d_in)``, a kernel ``W`` is ``(d_in, d_out)``
and a bias ``b`` is ``(d_out,)``.

Losses take ``(y_true, y_pred)`` in Keras order and average over the batch (Keras'
default reduction), so their values and gradients match ``keras.losses`` exactly. Each
loss ``*_loss`` / ``*_entropy`` has a ``*_grad`` partner: the gradient of that mean with
respect to ``y_pred`` (or the logits), the same shape as ``y_pred``.

Contents
--------
dense_forward, dense_backward             one fully connected layer
mse_loss, mse_grad                        mean squared error (regression)
bce_loss, bce_grad                        binary cross-entropy on probabilities (clipped)
bce_with_logits_loss, bce_with_logits_grad  binary cross-entropy on logits (stable)
categorical_cross_entropy(_grad)          categorical cross-entropy on probabilities (clipped)
softmax_cross_entropy(_grad)              softmax + categorical cross-entropy on logits (stable);
                                          the gradient is (softmax(Z) - Y) / n
log_softmax                               numerically stable log of softmax
numerical_gradient, relative_error, gradient_check   finite-difference checks
MLP                                       a multi-layer perceptron: forward, backward, step

The activations this module needs (``sigmoid``, ``relu``, ``tanh``, ``softmax``) and
``one_hot`` are defined here too but not re-exported into ``cu.scratch`` (notebook 02 owns
the activations); reach them as ``cu.scratch.backprop.softmax`` and so on.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from ._validate import as_float_array

__all__ = [
    "dense_forward", "dense_backward",
    "mse_loss", "mse_grad",
    "bce_loss", "bce_grad", "bce_with_logits_loss", "bce_with_logits_grad",
    "categorical_cross_entropy", "categorical_cross_entropy_grad",
    "softmax_cross_entropy", "softmax_cross_entropy_grad", "log_softmax",
    "numerical_gradient", "relative_error", "gradient_check",
    "MLP",
]

EPSILON = 1e-7  # the clipping constant of keras.backend.epsilon()


# --------------------------------------------------------------------------- activations

def sigmoid(z):
    """Logistic sigmoid ``1 / (1 + exp(-z))``, computed without overflow. Any shape."""
    z = as_float_array(z, "z")
    return np.exp(-np.logaddexp(0.0, -z))   # = 1 / (1 + e^-z); logaddexp never overflows


def relu(z):
    """``max(z, 0)`` element-wise. Any shape."""
    return np.maximum(as_float_array(z, "z"), 0.0)


def tanh(z):
    """Hyperbolic tangent element-wise. Any shape."""
    return np.tanh(as_float_array(z, "z"))


def softmax(Z):
    """Row-wise softmax of scores ``Z`` (n, k) -> probabilities (n, k); rows sum to 1.

    Subtracts each row's maximum first, so large scores do not overflow ``exp``.
    """
    Z = as_float_array(Z, "Z", ndim=(1, 2))
    e = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(Z):
    """Row-wise ``log(softmax(Z))`` for scores ``Z`` (n, k), stable for any magnitude.

    ``log_softmax(Z) = Z - logsumexp(Z)`` with the row maximum subtracted inside the
    log-sum-exp, so it never takes ``log(0)``.
    """
    Z = as_float_array(Z, "Z", ndim=(1, 2))
    shifted = Z - Z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


_ACT = {
    # name: (f(z), f'(z) expressed with z and a = f(z))
    "relu": (relu, lambda z, a: (z > 0).astype(np.float64)),
    "sigmoid": (sigmoid, lambda z, a: a * (1.0 - a)),
    "tanh": (tanh, lambda z, a: 1.0 - a * a),
    "linear": (lambda z: as_float_array(z, "z"), lambda z, a: np.ones_like(z)),
}


def one_hot(y, num_classes: int | None = None):
    """Integer labels ``y`` (n,) -> one-hot matrix (n, num_classes) of float64.

    ``num_classes`` defaults to ``max(y) + 1``.
    """
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"y must be a 1-D array of integer class labels, got shape {y.shape} "
                         f"dtype {y.dtype}")
    k = int(y.max()) + 1 if num_classes is None else num_classes
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"labels y must be in [0, {k}), got values from {y.min()} to {y.max()}")
    out = np.zeros((y.size, k))
    out[np.arange(y.size), y] = 1.0
    return out


# --------------------------------------------------------------------------- dense layer

def dense_forward(X, W, b):
    """Forward pass of a fully connected layer: ``Z = X @ W + b``.

    Parameters
    ----------
    X : array (n, d_in)     a batch of n inputs
    W : array (d_in, d_out) the kernel (Keras layout: one column per unit)
    b : array (d_out,)      the bias

    Returns
    -------
    Z : array (n, d_out)    pre-activations (apply the activation yourself)
    """
    X = as_float_array(X, "X", ndim=2)
    W = as_float_array(W, "W", ndim=2)
    b = as_float_array(b, "b", ndim=1)
    if X.shape[1] != W.shape[0]:
        raise ValueError(f"X has {X.shape[1]} features per row but W expects {W.shape[0]} "
                         f"(X shape {X.shape}, W shape {W.shape}); W must be (d_in, d_out)")
    if b.shape[0] != W.shape[1]:
        raise ValueError(f"b must have one entry per unit: W has {W.shape[1]} units, "
                         f"b has shape {b.shape}")
    return X @ W + b


def dense_backward(dZ, X, W):
    """Backward pass of ``Z = X @ W + b``: from ``dL/dZ`` to the gradients of its inputs.

    Parameters
    ----------
    dZ : array (n, d_out)   gradient of the loss with respect to the layer's output Z
    X : array (n, d_in)     the layer's input in the forward pass
    W : array (d_in, d_out) the kernel used in the forward pass

    Returns
    -------
    dX : array (n, d_in)     ``dZ @ W.T``   (passed on to the layer below)
    dW : array (d_in, d_out) ``X.T @ dZ``   (sums over the batch: every row used W)
    db : array (d_out,)      ``dZ.sum(axis=0)``
    """
    dZ = as_float_array(dZ, "dZ", ndim=2)
    X = as_float_array(X, "X", ndim=2)
    W = as_float_array(W, "W", ndim=2)
    if X.shape[1] != W.shape[0]:
        raise ValueError(f"X has {X.shape[1]} features per row but W expects {W.shape[0]} "
                         f"(X shape {X.shape}, W shape {W.shape})")
    if dZ.shape != (X.shape[0], W.shape[1]):
        raise ValueError(f"dZ must have the shape of Z = X @ W, ({X.shape[0]}, {W.shape[1]}), "
                         f"got {dZ.shape}")
    return dZ @ W.T, X.T @ dZ, dZ.sum(axis=0)


# --------------------------------------------------------------------------- losses

def _pair(y_true, y_pred, pred_name="y_pred"):
    y_true = as_float_array(y_true, "y_true")
    y_pred = as_float_array(y_pred, pred_name)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and {pred_name} must have the same shape, got {y_true.shape} "
                         f"and {y_pred.shape}; hint: reshape a (n,) target to (n, 1) with "
                         "y.reshape(-1, 1)")
    if y_pred.size == 0:
        raise ValueError(f"{pred_name} is empty")
    return y_true, y_pred


def mse_loss(y_true, y_pred):
    """Mean squared error ``mean((y_pred - y_true)**2)`` over all entries -> float.

    ``y_true``, ``y_pred``: same shape, e.g. (n,) or (n, d). Equals
    ``keras.losses.MeanSquaredError()`` (mean over the last axis, then over the batch).
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean((y_pred - y_true) ** 2))


def mse_grad(y_true, y_pred):
    """Gradient of :func:`mse_loss` with respect to ``y_pred``: ``2 (y_pred - y_true) / size``.

    Same shape as ``y_pred``.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return 2.0 * (y_pred - y_true) / y_pred.size


def _check_probabilities(p, name):
    if np.any(p < 0) or np.any(p > 1) or not np.all(np.isfinite(p)):
        raise ValueError(f"{name} must hold probabilities in [0, 1], got values from "
                         f"{np.nanmin(p):.3g} to {np.nanmax(p):.3g}; hint: if these are raw "
                         "scores (logits), use the *_with_logits / softmax_* version")


def bce_loss(y_true, p, eps: float = EPSILON):
    """Binary cross-entropy on probabilities ``p`` -> float.

    ``-mean(y log p + (1 - y) log(1 - p))`` over all entries, with ``p`` clipped to
    ``[eps, 1 - eps]`` so a confident wrong answer costs a large but finite amount (as in
    Keras). ``y_true`` in {0, 1} (or soft targets in [0, 1]), same shape as ``p``.
    Prefer :func:`bce_with_logits_loss`: it needs no clipping.
    """
    y_true, p = _pair(y_true, p, "p")
    _check_probabilities(p, "p")
    pc = np.clip(p, eps, 1.0 - eps)
    return float(-np.mean(y_true * np.log(pc) + (1.0 - y_true) * np.log(1.0 - pc)))


def bce_grad(y_true, p, eps: float = EPSILON):
    """Gradient of :func:`bce_loss` with respect to ``p``: ``(p - y) / (p (1 - p)) / size``.

    Evaluated at the clipped ``p``; same shape as ``p``. Note how it blows up as ``p`` nears
    0 or 1: the reason to fuse the sigmoid into the loss (:func:`bce_with_logits_grad`).
    """
    y_true, p = _pair(y_true, p, "p")
    _check_probabilities(p, "p")
    pc = np.clip(p, eps, 1.0 - eps)
    return (pc - y_true) / (pc * (1.0 - pc)) / p.size


def bce_with_logits_loss(y_true, z):
    """Binary cross-entropy of ``sigmoid(z)`` computed from the logits ``z`` -> float.

    Uses ``max(z, 0) - z y + log(1 + exp(-|z|))``, which equals
    ``-(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))`` and never overflows.
    Same as ``keras.losses.BinaryCrossentropy(from_logits=True)``.
    """
    y_true, z = _pair(y_true, z, "z")
    return float(np.mean(np.maximum(z, 0.0) - z * y_true + np.log1p(np.exp(-np.abs(z)))))


def bce_with_logits_grad(y_true, z):
    """Gradient of :func:`bce_with_logits_loss` with respect to ``z``: ``(sigmoid(z) - y) / size``."""
    y_true, z = _pair(y_true, z, "z")
    return (sigmoid(z) - y_true) / z.size


def _targets(y_true, n, k, name="y_true"):
    """Integer labels (n,) or one-hot/soft targets (n, k) -> float (n, k)."""
    y = np.asarray(y_true)
    if y.ndim == 1 and y.dtype.kind in "iu":
        if y.shape[0] != n:
            raise ValueError(f"{name} has {y.shape[0]} labels but the predictions have {n} rows")
        return one_hot(y, k)
    y = as_float_array(y_true, name, ndim=2)
    if y.shape != (n, k):
        raise ValueError(f"{name} must be integer labels of shape ({n},) or one-hot of shape "
                         f"({n}, {k}), got shape {y.shape} dtype {np.asarray(y_true).dtype}")
    return y


def categorical_cross_entropy(y_true, P, eps: float = EPSILON):
    """Categorical cross-entropy on probabilities ``P`` (n, k) -> float.

    ``-mean_i sum_c Y[i, c] log P[i, c]`` with ``P`` clipped to ``[eps, 1 - eps]``.
    ``y_true``: integer labels (n,) or one-hot (n, k). Prefer :func:`softmax_cross_entropy`
    on logits.
    """
    P = as_float_array(P, "P", ndim=2)
    _check_probabilities(P, "P")
    Y = _targets(y_true, *P.shape)
    return float(-np.mean(np.sum(Y * np.log(np.clip(P, eps, 1.0 - eps)), axis=1)))


def categorical_cross_entropy_grad(y_true, P, eps: float = EPSILON):
    """Gradient of :func:`categorical_cross_entropy` with respect to ``P``: ``-Y / P / n``.

    Shape (n, k), evaluated at the clipped ``P``.
    """
    P = as_float_array(P, "P", ndim=2)
    _check_probabilities(P, "P")
    Y = _targets(y_true, *P.shape)
    return -Y / np.clip(P, eps, 1.0 - eps) / P.shape[0]


def softmax_cross_entropy(y_true, Z):
    """Cross-entropy of ``softmax(Z)`` against ``y_true``, from the logits ``Z`` (n, k) -> float.

    ``-mean_i sum_c Y[i, c] log_softmax(Z)[i, c]``: stable for any logits, no clipping.
    ``y_true``: integer labels (n,) or one-hot/soft targets (n, k). Same as
    ``keras.losses.CategoricalCrossentropy(from_logits=True)`` on one-hot targets.
    """
    Z = as_float_array(Z, "Z", ndim=2)
    Y = _targets(y_true, *Z.shape)
    return float(-np.mean(np.sum(Y * log_softmax(Z), axis=1)))


def softmax_cross_entropy_grad(y_true, Z):
    """Gradient of :func:`softmax_cross_entropy` with respect to the logits: ``(softmax(Z) - Y) / n``.

    Shape (n, k). The softmax Jacobian and the ``1/P`` of the log cancel, which is why the
    fused gradient is this simple (and why it never divides by a tiny probability). This
    holds when each row of ``Y`` sums to 1.
    """
    Z = as_float_array(Z, "Z", ndim=2)
    Y = _targets(y_true, *Z.shape)
    return (softmax(Z) - Y) / Z.shape[0]


# --------------------------------------------------------------------------- gradient checks

def numerical_gradient(f: Callable[[np.ndarray], float], x, eps: float = 1e-6):
    """Central-difference gradient of a scalar function ``f`` at ``x``.

    ``g[i] = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every entry ``i``: two calls
    of ``f`` per entry, error O(eps**2). ``f`` receives a float64 array shaped like ``x``
    (a perturbed copy; ``x`` itself is not modified) and must return a scalar.

    Parameters
    ----------
    f : callable, array shaped like x -> float
    x : array of any shape (converted to float64)
    eps : float > 0, the step (1e-6 suits float64; float32 needs about 1e-3)

    Returns
    -------
    g : float64 array, same shape as ``x``
    """
    if not callable(f):
        raise TypeError(f"f must be a function of one array returning a number, got "
                        f"{type(f).__name__}")
    if not (isinstance(eps, (float, int, np.floating)) and np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    xp = as_float_array(x, "x").copy()
    g = np.zeros_like(xp)
    flat, gflat = xp.reshape(-1), g.reshape(-1)   # views into xp and g
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        f_plus = f(xp)
        flat[i] = old - eps
        f_minus = f(xp)
        flat[i] = old
        try:
            gflat[i] = (float(f_plus) - float(f_minus)) / (2.0 * eps)
        except (TypeError, ValueError):
            raise TypeError(f"f must return a scalar, got {type(f_plus).__name__} "
                            f"{np.shape(f_plus)}") from None
    return g


def relative_error(a, b) -> float:
    """``||a - b|| / (||a|| + ||b||)`` (Euclidean norms over all entries) -> float in [0, 1].

    Scale-free: about 1e-10 for a correct float64 gradient against central differences,
    1e-2 or more for a wrong one. Two zero arrays give 0.
    """
    a = as_float_array(a, "a")
    b = as_float_array(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def gradient_check(f: Callable[[dict], float], params: Mapping[str, np.ndarray],
                   grads: Mapping[str, np.ndarray], eps: float = 1e-6) -> dict:
    """Compare analytic gradients with central differences, one parameter array at a time.

    Parameters
    ----------
    f : callable, dict name -> array  ->  float
        The loss as a function of all parameters, e.g.
        ``lambda p: model.loss(X, y, params=p)``.
    params : dict name -> array     the point at which to check
    grads : dict name -> array      the analytic gradients there (same names and shapes)
    eps : float                     finite-difference step

    Returns
    -------
    dict name -> relative error (see :func:`relative_error`); below 1e-6 in float64 means
    the backward pass is right.
    """
    if not isinstance(params, Mapping) or not isinstance(grads, Mapping):
        raise TypeError("params and grads must be dicts of name -> array, got "
                        f"{type(params).__name__} and {type(grads).__name__}")
    missing = sorted(set(params) - set(grads))
    if missing:
        raise ValueError(f"grads lacks an entry for parameter(s) {missing}")
    out = {}
    for name, value in params.items():
        value = as_float_array(value, f"params[{name!r}]")
        g = as_float_array(grads[name], f"grads[{name!r}]")
        if g.shape != value.shape:
            raise ValueError(f"grads[{name!r}] has shape {g.shape} but params[{name!r}] has "
                             f"{value.shape}")
        num = numerical_gradient(lambda v, name=name: f({**params, name: v}), value, eps)
        out[name] = relative_error(g, num)
    return out


# --------------------------------------------------------------------------- MLP

_OUTPUTS = ("softmax", "sigmoid", "linear")


class MLP:
    """A fully connected network in NumPy with a hand-written backward pass.

    ``sizes = (d_in, h_1, ..., h_L, d_out)`` gives ``L + 1`` dense layers; hidden layers use
    ``activation``, the output layer ``output``, which also fixes the loss:

    =========  ========================================  ====================================
    output     forward() returns                         loss (computed from the logits)
    =========  ========================================  ====================================
    softmax    class probabilities (n, d_out)            categorical cross-entropy
    sigmoid    probabilities (n, d_out)                  binary cross-entropy
    linear     values (n, d_out)                         mean squared error
    =========  ========================================  ====================================

    Parameters live in ``self.params``: ``"W1", "b1", ..., "W{L+1}", "b{L+1}"`` with
    ``W_l`` of shape (sizes[l-1], sizes[l]) and ``b_l`` of shape (sizes[l],): the Keras
    ``Dense`` layout, so ``get_weights()`` / ``set_weights()`` lists match a Keras model.

    Typical use::

        net = MLP([64, 32, 10], seed=0)
        loss, grads = net.loss_and_grads(X, y)   # forward + backward
        net.step(grads, lr=0.5)                  # one gradient-descent update

    Parameters
    ----------
    sizes : sequence of int, at least 2 entries (inputs, ..., outputs)
    activation : "relu", "sigmoid", "tanh" or "linear" (hidden layers)
    output : "softmax", "sigmoid" or "linear"
    init : "auto" (He for relu, Glorot otherwise), "he", "glorot", or a float std
    seed : int, for the initial weights
    """

    def __init__(self, sizes, activation: str = "relu", output: str = "softmax",
                 init: str | float = "auto", seed: int = 0):
        try:
            sizes = [int(s) for s in sizes]
        except (TypeError, ValueError):
            raise TypeError(f"sizes must be a sequence of ints, got {sizes!r}") from None
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least 2 positive layer sizes (inputs, outputs), "
                             f"got {sizes}")
        if activation not in _ACT:
            raise ValueError(f"activation must be one of {sorted(_ACT)}, got {activation!r}")
        if output not in _OUTPUTS:
            raise ValueError(f"output must be one of {_OUTPUTS}, got {output!r}")
        if output == "softmax" and sizes[-1] < 2:
            raise ValueError("output='softmax' needs at least 2 output units; use "
                             "output='sigmoid' for a binary problem")
        if isinstance(init, str):
            if init not in ("auto", "he", "glorot"):
                raise ValueError(f"init must be 'auto', 'he', 'glorot' or a float std, got {init!r}")
        elif not (isinstance(init, (float, int)) and init > 0):
            raise ValueError(f"init must be 'auto', 'he', 'glorot' or a positive float std, got {init!r}")
        self.sizes, self.activation, self.output = sizes, activation, output
        rng = np.random.default_rng(seed)
        scheme = ("he" if activation == "relu" else "glorot") if init == "auto" else init
        self.params: dict[str, np.ndarray] = {}
        for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            if scheme == "he":
                W = rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out))
            elif scheme == "glorot":
                lim = np.sqrt(6.0 / (fan_in + fan_out))
                W = rng.uniform(-lim, lim, (fan_in, fan_out))
            else:
                W = rng.normal(0.0, float(scheme), (fan_in, fan_out))
            self.params[f"W{l}"] = W
            self.params[f"b{l}"] = np.zeros(fan_out)
        self._cache = None
        self.deltas: list = []   # dL/dZ of each layer, filled by backward()

    # ----- introspection
    @property
    def n_layers(self) -> int:
        """Number of dense layers (layers with weights)."""
        return len(self.sizes) - 1

    @property
    def n_params(self) -> int:
        """Total number of trainable numbers (weights and biases)."""
        return int(sum(p.size for p in self.params.values()))

    def __repr__(self):
        return (f"MLP(sizes={self.sizes}, activation={self.activation!r}, "
                f"output={self.output!r}, n_params={self.n_params})")

    def get_weights(self) -> list:
        """Copies of ``[W1, b1, W2, b2, ...]``: the order of a Keras model's ``get_weights()``."""
        return [self.params[f"{k}{l}"].copy() for l in range(1, self.n_layers + 1) for k in "Wb"]

    def set_weights(self, weights) -> None:
        """Set ``[W1, b1, ...]`` (e.g. from ``keras_model.get_weights()``); shapes must match."""
        names = [f"{k}{l}" for l in range(1, self.n_layers + 1) for k in "Wb"]
        weights = list(weights)
        if len(weights) != len(names):
            raise ValueError(f"expected {len(names)} arrays ({', '.join(names)}), got {len(weights)}")
        new = {}
        for name, w in zip(names, weights):
            w = as_float_array(w, name)
            if w.shape != self.params[name].shape:
                raise ValueError(f"{name} must have shape {self.params[name].shape}, got {w.shape}")
            new[name] = w.copy()
        self.params = new

    # ----- forward
    def _check_X(self, X):
        X = as_float_array(X, "X", ndim=2)
        if X.shape[1] != self.sizes[0]:
            raise ValueError(f"X must have {self.sizes[0]} features per row (shape (n, "
                             f"{self.sizes[0]})), got shape {X.shape}")
        return X

    def _forward(self, X, params):
        """Pure forward pass -> (logits (n, d_out), cache). ``cache`` holds every layer's
        input ``A[l-1]`` and pre-activation ``Z[l]`` for the backward pass."""
        act = _ACT[self.activation][0]
        A, inputs, zs = X, [], []
        for l in range(1, self.n_layers + 1):
            Z = A @ params[f"W{l}"] + params[f"b{l}"]
            inputs.append(A)
            zs.append(Z)
            A = act(Z) if l < self.n_layers else Z
        return A, {"inputs": inputs, "zs": zs}

    def _activate_output(self, logits):
        if self.output == "softmax":
            return softmax(logits)
        if self.output == "sigmoid":
            return sigmoid(logits)
        return logits

    def logits(self, X, params=None):
        """Output-layer pre-activations (n, d_out) for inputs ``X`` (n, d_in). Stores nothing."""
        return self._forward(self._check_X(X), self.params if params is None else params)[0]

    def forward(self, X):
        """Forward pass: ``X`` (n, d_in) -> outputs (n, d_out) (probabilities or values).

        Remembers what :meth:`backward` needs (every layer's input and pre-activation).
        """
        X = self._check_X(X)
        logits, cache = self._forward(X, self.params)
        cache["logits"] = logits
        self._cache = cache
        return self._activate_output(logits)

    __call__ = forward

    def _prepare_targets(self, y, n):
        k = self.sizes[-1]
        if self.output == "softmax":
            return _targets(y, n, k, "y")
        y = as_float_array(y, "y")
        if y.ndim == 1 and k == 1:
            y = y.reshape(-1, 1)
        if y.shape != (n, k):
            raise ValueError(f"y must have shape ({n}, {k})" + (f" or ({n},)" if k == 1 else "")
                             + f", got {y.shape}")
        return y

    def _loss_from_logits(self, Y, logits):
        if self.output == "softmax":
            return softmax_cross_entropy(Y, logits)
        if self.output == "sigmoid":
            return bce_with_logits_loss(Y, logits)
        return mse_loss(Y, logits)

    def loss(self, X, y, params=None) -> float:
        """The loss on ``(X, y)``; ``params`` (dict) evaluates it at other weights without
        changing the model (what :func:`gradient_check` needs).

        ``y``: integer labels (n,) or one-hot (n, k) for softmax; (n,) or (n, d_out) targets
        otherwise.
        """
        X = self._check_X(X)
        logits, _ = self._forward(X, self.params if params is None else params)
        return self._loss_from_logits(self._prepare_targets(y, X.shape[0]), logits)

    # ----- backward
    def backward(self, y) -> dict:
        """Gradients of the loss of the last :meth:`forward` call for targets ``y``.

        Returns a dict with the keys of ``self.params`` and the same shapes, and keeps the
        backward signal of every layer in ``self.deltas``: a list whose entry ``l - 1`` is
        ``dL/dZ_l`` (n, sizes[l]) for layer ``l`` (where vanishing gradients show). One sweep from
        the output back to the input: ``dZ`` of the output layer is ``(softmax(Z) - Y)/n``
        (resp. ``(sigmoid(Z) - Y)/size`` or ``2(Z - Y)/size``); then for each layer
        ``dA_prev, dW, db = dense_backward(dZ, A_prev, W)`` and ``dZ_prev = dA_prev * f'(Z_prev)``.
        """
        if self._cache is None:
            raise RuntimeError("call forward(X) before backward(y)")
        cache = self._cache
        logits = cache["logits"]
        Y = self._prepare_targets(y, logits.shape[0])
        if self.output == "softmax":
            dZ = softmax_cross_entropy_grad(Y, logits)
        elif self.output == "sigmoid":
            dZ = bce_with_logits_grad(Y, logits)
        else:
            dZ = mse_grad(Y, logits)
        act, dact = _ACT[self.activation]
        grads, deltas = {}, {}
        for l in range(self.n_layers, 0, -1):
            deltas[l] = dZ
            A_prev = cache["inputs"][l - 1]
            W = self.params[f"W{l}"]
            grads[f"W{l}"] = A_prev.T @ dZ
            grads[f"b{l}"] = dZ.sum(axis=0)
            if l > 1:
                Z_prev = cache["zs"][l - 2]
                dZ = (dZ @ W.T) * dact(Z_prev, A_prev)   # A_prev = f(Z_prev)
        self.deltas = [deltas[l] for l in range(1, self.n_layers + 1)]
        return {name: grads[name] for name in self.params}

    def loss_and_grads(self, X, y):
        """Forward and backward in one call -> ``(loss, grads)``."""
        self.forward(X)
        Y = self._prepare_targets(y, self._cache["logits"].shape[0])
        return self._loss_from_logits(Y, self._cache["logits"]), self.backward(Y)

    def step(self, grads: Mapping[str, np.ndarray], lr: float) -> None:
        """One gradient-descent update: ``param -= lr * grad`` for every parameter."""
        if not (isinstance(lr, (float, int, np.floating)) and lr > 0):
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        for name, p in self.params.items():
            if name not in grads:
                raise ValueError(f"grads lacks {name!r}; it must have every key of params")
            g = np.asarray(grads[name])
            if g.shape != p.shape:
                raise ValueError(f"grads[{name!r}] has shape {g.shape}, expected {p.shape}")
            p -= lr * g

    def train_step(self, X, y, lr: float) -> float:
        """Forward, backward and one update on the batch ``(X, y)``; returns the loss before it."""
        loss, grads = self.loss_and_grads(X, y)
        self.step(grads, lr)
        return loss

    # ----- prediction
    def predict(self, X):
        """Predicted classes (n,) for softmax/sigmoid outputs (argmax / threshold 0.5),
        values (n, d_out) for a linear output."""
        logits = self.logits(X)
        if self.output == "softmax":
            return logits.argmax(axis=1)
        if self.output == "sigmoid":
            out = (logits > 0).astype(np.int64)      # sigmoid(z) > 0.5  <=>  z > 0
            return out[:, 0] if out.shape[1] == 1 else out
        return logits

    def accuracy(self, X, y) -> float:
        """Share of correct class predictions; ``y``: integer labels (or one-hot for softmax)."""
        if self.output == "linear":
            raise ValueError("accuracy needs a classifier (output 'softmax' or 'sigmoid')")
        pred = self.predict(X)
        y = np.asarray(y)
        if self.output == "softmax" and y.ndim == 2:
            y = y.argmax(axis=1)
        if y.shape != pred.shape:
            raise ValueError(f"y must have shape {pred.shape}, got {y.shape}")
        return float(np.mean(pred == y))
