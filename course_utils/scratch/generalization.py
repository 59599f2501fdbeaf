"""NumPy references for notebook 07 (generalization): subsets, curves, regimes, the sweep's optimum.

What the notebook builds from scratch and the exercises are checked against:

- :func:`nested_subsets`: stratified training subsets, each inside the next (learning curves
  over the training-set size compare like with like);
- :func:`curve_summary`: what a pair of learning curves says (validation optimum, its epoch,
  the train–validation gap there and at the end, how far the validation loss rose after it);
- :func:`fit_regime`: underfit / good fit / overfit, from the curves, by the notebook's rules;
- :func:`validation_optimum`: the best (configuration, epochs) of a sweep, chosen on
  validation loss only;
- :func:`mlp_curves_numpy`: a ReLU MLP with a softmax output trained by mini-batch Adam in
  NumPy, recording both losses after every epoch: the reference the Keras training loop of
  :mod:`course_utils.widgets.capacity_explorer` is checked against.

No TensorFlow here: ``import course_utils.scratch`` stays light.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array
from .optimizers import adam_step

__all__ = ["nested_subsets", "curve_summary", "fit_regime", "REGIMES", "validation_optimum",
           "mlp_param_count", "mlp_curves_numpy", "softmax_ce_from_logits"]

REGIMES = ("underfit", "good fit", "overfit")


def _labels(y, name="y") -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of class labels, got shape {y.shape}")
    if y.dtype.kind not in "iub":
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    return y


def nested_subsets(y, sizes, seed: int = 0) -> list[np.ndarray]:
    """Stratified training subsets of the given sizes, each contained in the next.

    Parameters
    ----------
    y : int array (n,)          class labels of the whole training pool
    sizes : increasing ints     subset sizes, each in [1, n]
    seed : int                  the shuffle within each class

    Returns
    -------
    list of int arrays, one per size: indices into ``y``. In each subset, every class has
    ``size * share`` images to within 1.5 (``share``: the class's share of ``y``; in practice
    within about 1), and subset ``k`` holds every index of subset ``k - 1``.

    How: shuffle each class, then build one order of all images, one at a time, always taking
    the next image of the class furthest behind its share of the order so far; every prefix of
    that order is then in proportion, and prefixes are nested.
    """
    y = _labels(y)
    sizes = list(sizes)
    if not sizes or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes):
        raise TypeError(f"sizes must be a non-empty list of ints, got {sizes!r}")
    if any(s < 1 or s > len(y) for s in sizes) or any(a >= b for a, b in zip(sizes, sizes[1:])):
        raise ValueError(f"sizes must increase strictly and lie in [1, {len(y)}], got {sizes!r}")
    rng = np.random.default_rng(seed)
    classes, n_class = np.unique(y, return_counts=True)
    members = [rng.permutation(np.flatnonzero(y == c)) for c in classes]
    share = n_class / len(y)
    taken = np.zeros(len(classes), dtype=int)
    order = np.empty(sizes[-1], dtype=int)
    for k in range(sizes[-1]):
        behind = (k + 1) * share - taken
        behind[taken == n_class] = -np.inf       # a class with no images left
        c = int(np.argmax(behind))
        order[k] = members[c][taken[c]]
        taken[c] += 1
    return [np.sort(order[:s]) for s in sizes]


def _curves(train_loss, val_loss):
    tr = as_float_array(train_loss, "train_loss", ndim=1)
    va = as_float_array(val_loss, "val_loss", ndim=1)
    if tr.size == 0 or tr.shape != va.shape:
        raise ValueError(f"train_loss and val_loss must be non-empty and of equal length (one value per "
                         f"epoch), got {tr.shape} and {va.shape}")
    return tr, va


def curve_summary(train_loss, val_loss) -> dict:
    """What a run's two learning curves say (losses after epochs 1, 2, ...).

    Returns a dict:

    - ``best_epoch``: the epoch (from 1) of the lowest validation loss (the first, on ties);
    - ``best_val``: that lowest validation loss; ``train_at_best``: the training loss then;
    - ``gap_at_best``: ``best_val - train_at_best``; ``gap_end``: the same at the last epoch;
    - ``rise``: ``val_loss[-1] / best_val - 1``, how far the validation loss climbed after its
      optimum (0 when the last epoch is the best);
    - ``epochs``, ``train_end``, ``val_end``.
    """
    tr, va = _curves(train_loss, val_loss)
    i = int(np.argmin(va))
    return {"epochs": int(tr.size), "best_epoch": i + 1, "best_val": float(va[i]),
            "train_at_best": float(tr[i]), "gap_at_best": float(va[i] - tr[i]),
            "train_end": float(tr[-1]), "val_end": float(va[-1]), "gap_end": float(va[-1] - tr[-1]),
            "rise": float(va[-1] / va[i] - 1.0) if va[i] > 0 else 0.0}


def fit_regime(train_loss, val_loss, chance_loss: float, under: float = 0.2, rise: float = 0.1) -> str:
    """Underfit, good fit or overfit: the regime of the model a run ends with.

    - ``"underfit"``: the model cannot even fit its training images: at the validation
      optimum the training loss is still above ``under * chance_loss`` (``chance_loss``: the
      loss of guessing, ``ln 10`` for 10 balanced classes);
    - ``"overfit"``: otherwise, if the validation loss at the last epoch has risen more than
      ``rise`` (as a fraction) above its minimum: the run went past its validation optimum;
    - ``"good fit"``: neither.
    """
    tr, va = _curves(train_loss, val_loss)
    if not (isinstance(chance_loss, (int, float, np.floating)) and chance_loss > 0):
        raise ValueError(f"chance_loss must be a positive number (ln 10 for 10 classes), got {chance_loss!r}")
    if not 0 < under < 1 or not rise > 0:
        raise ValueError(f"under must be in (0, 1) and rise > 0, got under={under!r}, rise={rise!r}")
    s = curve_summary(tr, va)
    if s["train_at_best"] > under * chance_loss:
        return "underfit"
    if s["rise"] > rise:
        return "overfit"
    return "good fit"


def validation_optimum(sweep: dict) -> tuple:
    """The best configuration and number of epochs of a sweep, chosen on validation loss only.

    Parameters
    ----------
    sweep : dict  ``{config: history}``, a history a dict with at least ``"val_loss"`` (one
        value per epoch, epoch 1 first); ``config`` any sortable key, e.g. ``(depth, width)``.
        Other entries (``"loss"``, even a ``"test_loss"``) are ignored.

    Returns
    -------
    ``(config, epochs, val_loss)``: the lowest validation loss over every configuration and
    epoch; on a tie the fewer epochs, then the smaller config (in sorted order).
    """
    if not isinstance(sweep, dict) or not sweep:
        raise ValueError("sweep must be a non-empty dict {config: {'val_loss': [...]}}")
    best = None
    for config in sorted(sweep):
        hist = sweep[config]
        if not isinstance(hist, dict) or "val_loss" not in hist:
            raise ValueError(f"sweep[{config!r}] must be a dict with a 'val_loss' list, got {type(hist).__name__}")
        va = as_float_array(hist["val_loss"], f"sweep[{config!r}]['val_loss']", ndim=1)
        if va.size == 0:
            raise ValueError(f"sweep[{config!r}]['val_loss'] is empty")
        e = int(np.argmin(va))
        cand = (float(va[e]), e + 1)
        if best is None or cand < best[:2]:
            best = (cand[0], cand[1], config)
    return best[2], best[1], best[0]


def mlp_param_count(n_in: int, hidden, n_out: int) -> int:
    """Weights and biases of an ``n_in → hidden... → n_out`` dense network."""
    sizes = [n_in, *hidden, n_out]
    return int(sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:])))


def softmax_ce_from_logits(Z, y) -> float:
    """Mean cross-entropy of integer labels ``y`` (n,) under ``softmax(Z)``, ``Z`` (n, k) logits."""
    Z = np.asarray(Z, dtype=np.float64)
    Z = Z - Z.max(axis=1, keepdims=True)
    logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), np.asarray(y)].mean())


def _forward(weights, X):
    """Activations of every layer (input first); hidden ReLU, last layer linear (logits)."""
    hs = [X]
    n_layers = len(weights) // 2
    for i in range(n_layers):
        z = hs[-1] @ weights[2 * i] + weights[2 * i + 1]
        hs.append(np.maximum(z, 0.0) if i < n_layers - 1 else z)
    return hs


def mlp_curves_numpy(weights, X_train, y_train, X_val, y_val, perms, batch_size: int,
                     lr: float = 1e-3) -> dict:
    """Train a ReLU MLP (softmax output, cross-entropy) by mini-batch Adam, Keras' form.

    Parameters
    ----------
    weights : list of arrays ``[W1, b1, W2, b2, ...]`` (Keras' ``get_weights()`` order), the
        starting point; not modified
    X_train (n, d), y_train (n,) int; X_val, y_val : the validation images and labels
    perms : int array (epochs, n)  the order of the training images in each epoch
    batch_size : int               the last batch of an epoch may be smaller
    lr : float                     Adam's learning rate (beta_1 0.9, beta_2 0.999, epsilon 1e-7)

    Returns
    -------
    dict with ``loss`` and ``val_loss`` (one per epoch, measured on all the images after the
    epoch) and ``weights`` (the trained list, float64).
    """
    X_train = as_float_array(X_train, "X_train", ndim=2)
    X_val = as_float_array(X_val, "X_val", ndim=2)
    y_train, y_val = _labels(y_train, "y_train"), _labels(y_val, "y_val")
    perms = np.asarray(perms)
    if perms.ndim != 2 or perms.shape[1] != len(X_train):
        raise ValueError(f"perms must have shape (epochs, {len(X_train)}), got {perms.shape}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    w = [np.array(a, dtype=np.float64) for a in weights]
    if len(w) < 2 or len(w) % 2:
        raise ValueError(f"weights must be [W1, b1, W2, b2, ...], got {len(w)} arrays")
    m = [np.zeros_like(a) for a in w]
    v = [np.zeros_like(a) for a in w]
    t = 0
    n_layers = len(w) // 2
    out = {"loss": [], "val_loss": []}
    for perm in perms:
        for start in range(0, len(perm), batch_size):
            idx = perm[start:start + batch_size]
            hs = _forward(w, X_train[idx])
            Z = hs[-1] - hs[-1].max(axis=1, keepdims=True)
            P = np.exp(Z)
            P /= P.sum(axis=1, keepdims=True)
            P[np.arange(len(idx)), y_train[idx]] -= 1.0
            g = P / len(idx)                      # d(mean cross-entropy)/d(logits)
            grads = [None] * len(w)
            for i in reversed(range(n_layers)):
                grads[2 * i] = hs[i].T @ g
                grads[2 * i + 1] = g.sum(axis=0)
                if i > 0:
                    g = (g @ w[2 * i].T) * (hs[i] > 0)
            t += 1
            for k in range(len(w)):
                w[k], m[k], v[k] = adam_step(w[k], grads[k], m[k], v[k], t, lr=lr)
        out["loss"].append(softmax_ce_from_logits(_forward(w, X_train)[-1], y_train))
        out["val_loss"].append(softmax_ce_from_logits(_forward(w, X_val)[-1], y_val))
    out["loss"], out["val_loss"] = np.array(out["loss"]), np.array(out["val_loss"])
    out["weights"] = w
    return out
