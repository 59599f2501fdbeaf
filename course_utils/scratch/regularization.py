"""NumPy references for notebook 08 (regularization): the L2 penalty and its gradient, and
inverted dropout (forward with a mask, backward, train vs inference).

Conventions are Keras's, so that every function here equals its Keras counterpart:

- ``keras.regularizers.L2(l2)`` adds ``l2 * sum(W**2)`` to the loss (no factor 1/2), so its
  gradient is ``2 * l2 * W``;
- ``keras.layers.Dropout(rate)`` drops each unit with probability ``rate`` (keeps it with
  probability ``keep = 1 - rate``) and scales what it keeps by ``1 / keep`` during training
  ("inverted" dropout); at inference it is the identity.

Example
-------
>>> W = np.array([[1.0, -2.0], [0.5, 0.0]])
>>> l2_penalty(W, 0.01)                    # 0.01 * (1 + 4 + 0.25)
0.0525
>>> l2_penalty_grad(W, 0.01)               # 2 * 0.01 * W
>>> out, mask = inverted_dropout(np.ones((2, 4)), rate=0.3, rng=np.random.default_rng(0))
>>> out                                    # kept units are 1 / 0.7, dropped ones 0
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array

__all__ = ["l2_penalty", "l2_penalty_grad", "l2_sgd_step", "dropout_keep_mask", "inverted_dropout",
           "inverted_dropout_backward", "train_val_gap", "regularization_split"]


def _check_strength(l2) -> float:
    if isinstance(l2, bool) or not isinstance(l2, (int, float, np.integer, np.floating)):
        raise TypeError(f"l2 must be a number >= 0 (the penalty strength), got {type(l2).__name__}: {l2!r}")
    if not np.isfinite(l2) or l2 < 0:
        raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")
    return float(l2)


def _check_rate(rate) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.integer, np.floating)):
        raise TypeError(f"rate must be a number in [0, 1), the probability of DROPPING a unit, "
                        f"got {type(rate).__name__}: {rate!r}")
    if not 0.0 <= float(rate) < 1.0:
        raise ValueError(f"rate must be in [0, 1) (the probability of dropping a unit; keep = 1 - rate), "
                         f"got {rate!r}. Hint: a keep-probability of 0.7 is rate=0.3.")
    return float(rate)


def _weights_list(weights):
    if isinstance(weights, (list, tuple)):
        if not weights:
            raise ValueError("weights must be an array or a non-empty list of arrays, got an empty list")
        return [as_float_array(w, f"weights[{i}]") for i, w in enumerate(weights)]
    return [as_float_array(weights, "weights")]


def l2_penalty(weights, l2: float) -> float:
    """``l2 * sum(W**2)`` summed over ``weights`` (one array or a list of kernels).

    Equal to the loss ``keras.regularizers.L2(l2)`` adds for each kernel it is attached to.
    """
    l2 = _check_strength(l2)
    return float(l2 * sum(np.sum(w * w) for w in _weights_list(weights)))


def l2_penalty_grad(weights, l2: float):
    """Gradient of :func:`l2_penalty`: ``2 * l2 * W`` for each array (a list for a list)."""
    l2 = _check_strength(l2)
    grads = [2.0 * l2 * w for w in _weights_list(weights)]
    return grads if isinstance(weights, (list, tuple)) else grads[0]


def l2_sgd_step(W, grad_data, lr: float, l2: float) -> np.ndarray:
    """One SGD step on ``data loss + l2 * sum(W**2)``: ``W - lr * (grad_data + 2 l2 W)``.

    The same as ``(1 - 2 lr l2) * W - lr * grad_data``: the penalty shrinks every weight by
    a constant factor each step ("weight decay"), then the data gradient moves it.
    """
    W = as_float_array(W, "W")
    g = as_float_array(grad_data, "grad_data")
    if g.shape != W.shape:
        raise ValueError(f"grad_data must have the shape of W {W.shape}, got {g.shape}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.integer, np.floating)) or not lr > 0:
        raise ValueError(f"lr must be a number > 0, got {lr!r}")
    return W - float(lr) * (g + l2_penalty_grad(W, l2))


def dropout_keep_mask(shape, rate: float, rng=None) -> np.ndarray:
    """A boolean mask of ``shape``: True (keep) with probability ``1 - rate``, independently.

    ``rng``: a ``numpy.random.Generator`` or a seed (None: fresh randomness).
    """
    rate = _check_rate(rate)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return rng.random(shape) >= rate


def inverted_dropout(x, rate: float, training: bool = True, mask=None, rng=None):
    """Inverted dropout, as ``keras.layers.Dropout(rate)``: returns ``(output, mask)``.

    Training: ``x * mask / (1 - rate)`` with ``mask`` given (boolean or 0/1, the shape of
    ``x``) or drawn by :func:`dropout_keep_mask`; the kept units are scaled up so that the
    expected output equals ``x``. Inference (``training=False``): the identity, ``x``, and a
    mask of all True. Shapes: ``x`` any shape; ``mask`` the same shape.
    """
    rate = _check_rate(rate)
    x = as_float_array(x, "x")
    if not training:
        return x.copy(), np.ones(x.shape, dtype=bool)
    if mask is None:
        mask = dropout_keep_mask(x.shape, rate, rng)
    else:
        mask = np.asarray(mask)
        if mask.shape != x.shape:
            raise ValueError(f"mask must have the shape of x {x.shape}, got {mask.shape}")
        if not np.isin(mask, (0, 1)).all():
            raise ValueError("mask must hold only True/False (or 1/0): 1 keeps a unit, 0 drops it")
        mask = mask.astype(bool)
    return x * mask / (1.0 - rate), mask


def inverted_dropout_backward(grad_out, mask, rate: float) -> np.ndarray:
    """Gradient of the loss with respect to dropout's input, given that w.r.t. its output.

    The forward pass multiplies by the constant ``mask / (1 - rate)``, so the backward pass
    multiplies ``grad_out`` by the same: dropped units pass no gradient back.
    """
    rate = _check_rate(rate)
    g = as_float_array(grad_out, "grad_out")
    mask = np.asarray(mask)
    if mask.shape != g.shape:
        raise ValueError(f"mask must have the shape of grad_out {g.shape}, got {mask.shape}")
    return g * mask.astype(bool) / (1.0 - rate)


def train_val_gap(probs_train, y_train, probs_val, y_val, eps: float = 1e-7) -> dict:
    """Cross-entropy and accuracy on training and validation data, and the gaps.

    ``probs_*``: (n, k) predicted probabilities (inference mode: no dropout, no penalty);
    ``y_*``: (n,) integer labels. Probabilities are clipped to [eps, 1] as Keras's loss does.
    Returns ``train_loss, val_loss, loss_gap (val - train), train_acc, val_acc,
    acc_gap (train - val)``.
    """
    out = {}
    for part, p, y in (("train", probs_train, y_train), ("val", probs_val, y_val)):
        p = as_float_array(p, f"probs_{part}", ndim=2)
        y = np.asarray(y)
        if y.shape != (p.shape[0],) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"y_{part} must be integer labels of shape ({p.shape[0]},), "
                             f"got {y.dtype} {y.shape}")
        if y.size and (y.min() < 0 or y.max() >= p.shape[1]):
            raise ValueError(f"y_{part} must be in [0, {p.shape[1] - 1}]")
        picked = np.clip(p[np.arange(len(y)), y], eps, 1.0)
        out[f"{part}_loss"] = float(-np.log(picked).mean())
        out[f"{part}_acc"] = float((p.argmax(axis=1) == y).mean())
    out["loss_gap"] = out["val_loss"] - out["train_loss"]
    out["acc_gap"] = out["train_acc"] - out["val_acc"]
    return out


def regularization_split(ds, n_val: int = 1000, n_pool: int | None = None, seed: int = 0):
    """Notebook 08's split of a loaded MNIST ``cu.data.Dataset``: ``(X_pool, y_pool, X_val, y_val)``,
    images scaled to float32 in [0, 1].

    The test part of ``ds.train_test_split(test_size=0.2, seed=seed)`` is left out (the official
    10,000 test images of the full 70,000-image MNIST; 1,000 of the bundled 5k): section 6 loads it
    again, locked until then. Of the rest, ``n_val`` images (stratified by digit) are the
    validation set and the first ``n_pool`` of the others (all if None) the training pool, whose
    first 500 are the small training set. Only the kept images are converted to float32.
    """
    from sklearn.model_selection import train_test_split
    X_dev, _, y_dev, _ = ds.train_test_split(test_size=0.2, seed=seed)
    if isinstance(n_val, bool) or not isinstance(n_val, (int, np.integer)) or not 10 <= n_val < len(y_dev) - 10:
        raise ValueError(f"n_val must be an int in [10, {len(y_dev) - 10}) for these {len(y_dev):,} "
                         f"development images, got {n_val!r}")
    X_pool, X_val, y_pool, y_val = train_test_split(X_dev, y_dev, test_size=int(n_val), random_state=seed,
                                                    stratify=y_dev)
    if n_pool is not None:
        if isinstance(n_pool, bool) or not isinstance(n_pool, (int, np.integer)) or not 1 <= n_pool <= len(y_pool):
            raise ValueError(f"n_pool must be an int in [1, {len(y_pool):,}] (the training images left), "
                             f"got {n_pool!r}")
        X_pool, y_pool = X_pool[:n_pool], y_pool[:n_pool]
    return (X_pool.astype("float32") / 255.0, np.asarray(y_pool), X_val.astype("float32") / 255.0,
            np.asarray(y_val))
