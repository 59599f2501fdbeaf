"""Static figures used across the course. Every function returns a matplotlib Figure.

- :func:`history`            training curves, train vs validation, one panel per metric
- :func:`decision_boundary`  any model or function over 2-D data
- :func:`image_grid`         images with labels (and predictions)
- :func:`confusion_matrix`   counts (or row-normalised) with class names
- :func:`save`               save a figure to PNG (for checking what a notebook shows)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from matplotlib.ticker import MaxNLocator

__all__ = ["history", "decision_boundary", "image_grid", "confusion_matrix", "save",
           "predict_grid"]


def _plt():
    import matplotlib.pyplot as plt
    return plt


def save(fig, path: str | Path, dpi: int = 100) -> Path:
    """Save ``fig`` as PNG at ``path`` (folders are created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def history(h: Any, metrics: Sequence[str] | None = None, title: str | None = None):
    """Plot training curves.

    Parameters
    ----------
    h : keras History, or dict ``{"loss": [...], "val_loss": [...], "accuracy": [...]}``
    metrics : names to plot (default: every key without the ``val_`` prefix)
    """
    hist = getattr(h, "history", h)
    if not isinstance(hist, dict) or not hist:
        raise TypeError("h must be a keras History or a non-empty dict of metric -> list of values, "
                        f"got {type(h).__name__}")
    if metrics is None:
        metrics = [k for k in hist if not k.startswith("val_")]
    missing = [m for m in metrics if m not in hist]
    if missing:
        raise ValueError(f"metrics {missing} not in the history; it has {sorted(hist)}")
    plt = _plt()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.2), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        epochs = np.arange(1, len(hist[m]) + 1)
        ax.plot(epochs, hist[m], "o-", ms=3, label="train")
        if f"val_{m}" in hist:
            ax.plot(epochs, hist[f"val_{m}"], "s--", ms=3, label="validation")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(m)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def predict_grid(model_or_fn: Any, xlim: tuple, ylim: tuple, resolution: int = 100,
                 transform: Callable | None = None):
    """Evaluate a model or function on a grid over ``xlim`` x ``ylim``.

    Returns ``xx, yy, zz`` with shapes (resolution, resolution); for a multi-output model
    ``zz`` holds the argmax class, for one output the value itself (a probability or score).
    """
    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    xx, yy = np.meshgrid(xs, ys)
    grid = np.c_[xx.ravel(), yy.ravel()].astype(np.float32)
    if transform is not None:
        grid = transform(grid)
    if hasattr(model_or_fn, "layers") and callable(model_or_fn):
        out = np.asarray(model_or_fn(grid, training=False))  # Keras: call directly, no predict loop
    elif hasattr(model_or_fn, "predict_proba"):
        out = model_or_fn.predict_proba(grid)
        out = out[:, 1] if out.shape[1] == 2 else out
    elif hasattr(model_or_fn, "predict") and not callable(model_or_fn):
        out = model_or_fn.predict(grid)
    elif callable(model_or_fn):
        out = model_or_fn(grid)
    else:
        raise TypeError(f"model_or_fn must be a Keras model, an sklearn estimator or a function "
                        f"of an (n, 2) array, got {type(model_or_fn).__name__}")
    out = np.asarray(out)
    if out.ndim == 2 and out.shape[1] > 1:
        out = out.argmax(axis=1)
    return xx, yy, out.reshape(xx.shape)


def decision_boundary(model_or_fn: Any, X: np.ndarray, y: np.ndarray | None = None, ax=None,
                      resolution: int = 150, margin: float = 0.5, threshold: float | None = 0.5,
                      transform: Callable | None = None, title: str | None = None,
                      X_test: np.ndarray | None = None, y_test: np.ndarray | None = None):
    """Shade what a model predicts over 2-D data and draw the points on top.

    Parameters
    ----------
    model_or_fn : Keras model, sklearn estimator, or function mapping (n, 2) -> (n,) or (n, k)
    X : ndarray, shape (n, 2)
    y : ndarray, shape (n,), optional labels (colour of the points)
    threshold : for one-output models, the level drawn as the boundary line (None: no line)
    transform : optional feature map applied to grid points before the model (e.g. x1², x1·x2)
    X_test, y_test : optional test points, drawn with white edges
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2) for a 2-D decision boundary, got {X.shape}")
    if y is not None and len(y) != len(X):
        raise ValueError(f"y must have one label per row of X ({len(X)}), got {len(y)}")
    plt = _plt()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 4.2))
    else:
        fig = ax.figure
    pts = X if X_test is None else np.r_[X, X_test]
    xlim = (pts[:, 0].min() - margin, pts[:, 0].max() + margin)
    ylim = (pts[:, 1].min() - margin, pts[:, 1].max() + margin)
    xx, yy, zz = predict_grid(model_or_fn, xlim, ylim, resolution, transform)
    classes = np.unique(y) if y is not None else None
    binary_scores = zz.dtype.kind == "f"
    if binary_scores:
        ax.contourf(xx, yy, zz, levels=20, cmap="RdBu", alpha=0.55)
        if threshold is not None and zz.min() < threshold < zz.max():
            ax.contour(xx, yy, zz, levels=[threshold], colors="k", linewidths=1.5)
    else:
        n_cls = int(max(zz.max(), 0 if classes is None else classes.max())) + 1
        ax.contourf(xx, yy, zz, levels=np.arange(n_cls + 1) - 0.5, cmap="tab10", alpha=0.35,
                    vmin=0, vmax=9)
    cmap = "RdBu" if binary_scores else "tab10"
    kw = dict(cmap=cmap, vmin=0 if not binary_scores else 0, vmax=1 if binary_scores else 9)
    if y is not None:
        ax.scatter(X[:, 0], X[:, 1], c=y, s=14, edgecolors="k", linewidths=0.4, **kw)
    else:
        ax.scatter(X[:, 0], X[:, 1], s=14, c="k")
    if X_test is not None:
        ax.scatter(X_test[:, 0], X_test[:, 1], c=y_test if y_test is not None else "k", s=16,
                   edgecolors="w", linewidths=0.9, **kw)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return fig


def image_grid(images: np.ndarray, labels: Sequence | None = None, preds: Sequence | None = None,
               ncols: int = 10, class_names: Sequence[str] | None = None, cmap: str = "gray_r",
               size: float = 1.1, title: str | None = None):
    """Show images in a grid with their labels; wrong predictions are titled in red.

    Parameters
    ----------
    images : ndarray, shape (n, h, w) or (n, h, w, c), or (n, h*w) for square images
    labels, preds : optional sequences of length n
    """
    imgs = np.asarray(images)
    if imgs.ndim == 2:
        side = int(round(np.sqrt(imgs.shape[1])))
        if side * side != imgs.shape[1]:
            raise ValueError(f"images of shape {imgs.shape} are flat but not square; "
                             "pass them as (n, h, w)")
        imgs = imgs.reshape(-1, side, side)
    if imgs.ndim not in (3, 4):
        raise ValueError(f"images must have shape (n, h, w) or (n, h, w, c), got {imgs.shape}")
    n = len(imgs)
    if n == 0:
        raise ValueError("images is empty")
    for nm, seq in (("labels", labels), ("preds", preds)):
        if seq is not None and len(seq) != n:
            raise ValueError(f"{nm} must have {n} entries (one per image), got {len(seq)}")
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    plt = _plt()
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * 1.15), squeeze=False)
    name = (lambda k: str(class_names[int(k)])) if class_names is not None else str
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i >= n:
            continue
        im = imgs[i]
        ax.imshow(im.squeeze(), cmap=cmap if im.ndim == 2 or im.shape[-1] == 1 else None)
        parts, color = [], "black"
        if labels is not None:
            parts.append(name(labels[i]))
        if preds is not None:
            parts.append(f"→{name(preds[i])}")
            if labels is not None and preds[i] != labels[i]:
                color = "red"
        if parts:
            ax.set_title(" ".join(parts), fontsize=8, color=color)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true: Sequence, y_pred: Sequence, class_names: Sequence[str] | None = None,
                     normalize: bool = False, ax=None, title: str | None = None):
    """Plot the confusion matrix (rows: true class, columns: predicted class).

    ``normalize=True`` divides each row by its count (recall per class on the diagonal).
    Returns the Figure; the matrix itself is on ``fig.confusion`` (ndarray, (k, k)).
    """
    yt = np.asarray(y_true).ravel()
    yp = np.asarray(y_pred).ravel()
    if yt.shape != yp.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {yt.shape} and {yp.shape}")
    k = int(max(yt.max(initial=0), yp.max(initial=0))) + 1
    if class_names is not None:
        if len(class_names) < k:
            raise ValueError(f"class_names has {len(class_names)} names but labels go up to {k - 1}")
        k = len(class_names)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (yt.astype(int), yp.astype(int)), 1)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.45 * k + 2.5, 0.45 * k + 2.0))
    else:
        fig = ax.figure
    ax.imshow(shown, cmap="Blues")
    names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(k)]
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 2 else 0)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    vmax = shown.max() if shown.size else 1
    for i in range(k):
        for j in range(k):
            v = shown[i, j]
            txt = f"{v:.2f}" if normalize else str(v)
            ax.text(j, i, txt, ha="center", va="center", fontsize=7,
                    color="white" if v > 0.6 * vmax else "black")
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(title or f"accuracy {acc:.1%}")
    fig.tight_layout()
    fig.confusion = cm
    return fig
