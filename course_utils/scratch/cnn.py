"""NumPy references for notebook 12 (a CNN classifier): parameter counts and output shapes of
conv / pool / dense stacks, the confusion matrix, a paired accuracy comparison, Grad-CAM from
given activations and gradients, bilinear upsampling as ``tf.image.resize`` does it, and
occlusion sensitivity.

Layer specifications used by :func:`cnn_layer_table` (one tuple per layer, NHWC images):

- ``("conv", filters, kernel_size[, stride[, padding]])``: ``Conv2D`` with a square kernel, bias;
- ``("pool", pool_size[, stride])``: ``MaxPooling2D`` / ``AveragePooling2D`` (stride defaults to
  ``pool_size``, padding ``"valid"``);
- ``("flatten",)``, ``("dropout",)``, ``("softmax",)``: no parameters;
- ``("dense", units)``: ``Dense`` with bias.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ._validate import as_float_array

__all__ = ["count_conv2d_params", "count_dense_params", "cnn_output_length", "CnnLayerRow",
           "cnn_layer_table", "cnn_param_count", "confusion_counts", "paired_accuracy_gap",
           "grad_cam_weights", "grad_cam_heatmap", "resize_bilinear", "top_k_classes",
           "occlusion_sensitivity"]

_PADDINGS = ("valid", "same")


def _pos_int(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    return int(v)


def count_conv2d_params(kernel_size: int, in_channels: int, filters: int, use_bias: bool = True) -> int:
    """Parameters of ``Conv2D(filters, kernel_size)`` on ``in_channels`` channels:
    ``(k * k * in_channels + 1) * filters`` (one k x k x in_channels kernel and one bias per filter)."""
    k, c, f = (_pos_int(n, v) for n, v in (("kernel_size", kernel_size), ("in_channels", in_channels),
                                           ("filters", filters)))
    return (k * k * c + (1 if use_bias else 0)) * f


def count_dense_params(in_features: int, units: int, use_bias: bool = True) -> int:
    """Parameters of ``Dense(units)`` on ``in_features`` inputs: ``(in_features + 1) * units``."""
    d, u = _pos_int("in_features", in_features), _pos_int("units", units)
    return (d + (1 if use_bias else 0)) * u


def cnn_output_length(n: int, kernel_size: int, stride: int = 1, padding: str = "valid") -> int:
    """Output length along one axis of a convolution or pooling window (Keras' rule):
    ``"valid"``: ``floor((n - k) / s) + 1``; ``"same"``: ``ceil(n / s)``."""
    n, k, s = _pos_int("n", n), _pos_int("kernel_size", kernel_size), _pos_int("stride", stride)
    if padding not in _PADDINGS:
        raise ValueError(f"padding must be one of {_PADDINGS}, got {padding!r}")
    if padding == "same":
        return -(-n // s)
    if k > n:
        raise ValueError(f"a window of {k} does not fit in {n} pixels with padding='valid' "
                         "(use padding='same' or a smaller kernel)")
    return (n - k) // s + 1


@dataclass(frozen=True)
class CnnLayerRow:
    """One row of :func:`cnn_layer_table`: the layer's kind, its output shape (no batch axis),
    its parameter count and the formula that gave it."""
    kind: str
    output_shape: tuple
    params: int
    formula: str


def cnn_layer_table(input_shape: Sequence[int], layers: Sequence[tuple]) -> list[CnnLayerRow]:
    """Output shape and parameter count of every layer of a conv/pool/dense stack, by formula.

    ``input_shape``: ``(height, width, channels)``; ``layers``: tuples as in the module docstring.
    """
    shape = tuple(_pos_int("input_shape entry", v) for v in input_shape)
    if len(shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {tuple(input_shape)!r}")
    rows = []
    for i, spec in enumerate(layers):
        if not isinstance(spec, (tuple, list)) or not spec or not isinstance(spec[0], str):
            raise ValueError(f"layers[{i}] must be a tuple like ('conv', 32, 3), got {spec!r}")
        kind, args = spec[0], tuple(spec[1:])
        if kind == "conv":
            if not 2 <= len(args) <= 4:
                raise ValueError(f"layers[{i}]: ('conv', filters, kernel_size[, stride[, padding]]), got {spec!r}")
            if len(shape) != 3:
                raise ValueError(f"layers[{i}] is a conv layer but its input has shape {shape} (flattened already?)")
            f, k = args[0], args[1]
            s = args[2] if len(args) > 2 else 1
            pad = args[3] if len(args) > 3 else "valid"
            h, w, c = shape
            params = count_conv2d_params(k, c, f)
            shape = (cnn_output_length(h, k, s, pad), cnn_output_length(w, k, s, pad), _pos_int("filters", f))
            formula = f"({k}·{k}·{c} + 1)·{f}"
        elif kind == "pool":
            if not 1 <= len(args) <= 2:
                raise ValueError(f"layers[{i}]: ('pool', pool_size[, stride]), got {spec!r}")
            if len(shape) != 3:
                raise ValueError(f"layers[{i}] is a pooling layer but its input has shape {shape}")
            p = args[0]
            s = args[1] if len(args) > 1 else p
            h, w, c = shape
            shape = (cnn_output_length(h, p, s), cnn_output_length(w, p, s), c)
            params, formula = 0, "0 (no weights)"
        elif kind == "flatten":
            shape = (int(np.prod(shape)),)
            params, formula = 0, "0 (a reshape)"
        elif kind in ("dropout", "softmax"):
            params, formula = 0, "0"
        elif kind == "dense":
            if len(args) != 1:
                raise ValueError(f"layers[{i}]: ('dense', units), got {spec!r}")
            if len(shape) != 1:
                raise ValueError(f"layers[{i}] is a dense layer but its input has shape {shape}: flatten first")
            params = count_dense_params(shape[0], args[0])
            formula = f"({shape[0]} + 1)·{args[0]}"
            shape = (_pos_int("units", args[0]),)
        else:
            raise ValueError(f"layers[{i}]: unknown kind {kind!r}; expected conv, pool, flatten, dropout, "
                             "softmax or dense")
        rows.append(CnnLayerRow(kind, shape, params, formula))
    return rows


def cnn_param_count(input_shape: Sequence[int], layers: Sequence[tuple]) -> int:
    """Total parameters of the stack (the sum of :func:`cnn_layer_table`'s column)."""
    return sum(r.params for r in cnn_layer_table(input_shape, layers))


def _labels(y, name: str) -> np.ndarray:
    a = np.asarray(y)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class indices, got shape {a.shape}")
    if a.size and (a.dtype.kind not in "iub" and not np.all(np.mod(a, 1) == 0)):
        raise ValueError(f"{name} must hold integer class indices, got e.g. {a[0]!r}")
    a = a.astype(np.int64)
    if a.size and a.min() < 0:
        raise ValueError(f"{name} must hold class indices >= 0, got {a.min()}")
    return a


def confusion_counts(y_true, y_pred, n_classes: int | None = None) -> np.ndarray:
    """``(k, k)`` int64 counts: row = true class, column = predicted class (sklearn's layout).

    ``n_classes`` defaults to 1 + the largest label seen in either array.
    """
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {t.shape[0]} and {p.shape[0]}")
    seen = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    k = seen if n_classes is None else _pos_int("n_classes", n_classes)
    if seen > k:
        raise ValueError(f"labels go up to {seen - 1} but n_classes is {k}")
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def paired_accuracy_gap(correct_a, correct_b) -> tuple[float, float]:
    """Accuracy of A minus accuracy of B on the **same** test items, and its standard error.

    ``correct_a``, ``correct_b``: 0/1 (or bool) per item. The per-item differences ``d = a - b``
    are paired, so the standard error is ``std(d, ddof=1) / sqrt(n)``: smaller than treating the
    two accuracies as independent, since both models get the easy items right.
    """
    a = as_float_array(correct_a, "correct_a", ndim=1)
    b = as_float_array(correct_b, "correct_b", ndim=1)
    if a.shape != b.shape:
        raise ValueError(f"correct_a and correct_b must have the same length, got {a.size} and {b.size}")
    if a.size < 2:
        raise ValueError(f"need at least 2 items to estimate a standard error, got {a.size}")
    if not (np.isin(a, (0, 1)).all() and np.isin(b, (0, 1)).all()):
        raise ValueError("correct_a and correct_b must hold 0/1 (or True/False) per item")
    d = a - b
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))


def grad_cam_weights(gradients) -> np.ndarray:
    """Grad-CAM's channel weights: the gradient of the class score averaged over the positions,
    ``alpha_k = mean_{i,j} dy/dA[i, j, k]``. ``gradients``: ``(h, w, K)`` or ``(n, h, w, K)``."""
    g = as_float_array(gradients, "gradients", ndim=(3, 4))
    return g.mean(axis=(-3, -2))


def grad_cam_heatmap(activations, gradients, normalize: bool = True) -> np.ndarray:
    """Grad-CAM (Selvaraju et al., 2017) from a conv layer's activations ``A`` and the gradient of
    the class score with respect to them: ``ReLU(sum_k alpha_k A[..., k])``.

    Shapes ``(h, w, K)`` -> ``(h, w)``, or ``(n, h, w, K)`` -> ``(n, h, w)``. ``normalize``: divide
    each map by its maximum (a map that is 0 everywhere stays 0).
    """
    a = as_float_array(activations, "activations", ndim=(3, 4))
    g = as_float_array(gradients, "gradients", ndim=(3, 4))
    if a.shape != g.shape:
        raise ValueError(f"activations and gradients must have the same shape, got {a.shape} and {g.shape}")
    alpha = grad_cam_weights(g)
    cam = np.maximum(np.einsum("...hwk,...k->...hw", a, alpha), 0.0)
    if normalize:
        top = cam.max(axis=(-2, -1), keepdims=True)
        cam = np.divide(cam, top, out=np.zeros_like(cam), where=top > 0)
    return cam


def _bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) interpolation weights with half-pixel centres (tf.image.resize, bilinear)."""
    scale = n_in / n_out
    src = (np.arange(n_out) + 0.5) * scale - 0.5
    src = np.clip(src, 0, n_in - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), lo] += 1 - frac
    m[np.arange(n_out), hi] += frac
    return m


def resize_bilinear(image, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of ``(h, w)`` or ``(h, w, c)`` to ``size = (H, W)``, as
    ``tf.image.resize(..., method="bilinear", antialias=False)`` does it (half-pixel centres)."""
    x = as_float_array(image, "image", ndim=(2, 3))
    if not (isinstance(size, (tuple, list)) and len(size) == 2):
        raise ValueError(f"size must be (height, width), got {size!r}")
    H, W = (_pos_int("size entry", v) for v in size)
    rows, cols = _bilinear_matrix(x.shape[0], H), _bilinear_matrix(x.shape[1], W)
    if x.ndim == 2:
        return rows @ x @ cols.T
    return np.einsum("Hh,hwc,Ww->HWc", rows, x, cols)


def top_k_classes(probs, k: int = 3) -> list[tuple[int, float]]:
    """The ``k`` most probable classes of one probability vector, best first: ``[(class, p), ...]``
    (ties: the lower class index first)."""
    p = as_float_array(probs, "probs", ndim=1)
    k = _pos_int("k", k)
    if k > p.size:
        raise ValueError(f"k must be at most the number of classes ({p.size}), got {k}")
    order = np.argsort(-p, kind="stable")[:k]
    return [(int(c), float(p[c])) for c in order]


def occlusion_sensitivity(predict: Callable, image, class_index: int, patch: int = 7,
                          stride: int | None = None, fill: float = 0.0) -> np.ndarray:
    """How much the probability of ``class_index`` drops when a ``patch`` x ``patch`` square of
    the image is set to ``fill`` (Zeiler & Fergus, 2014).

    ``predict``: maps a batch ``(n, h, w)`` to probabilities ``(n, classes)``; ``image``: ``(h, w)``.
    The square moves by ``stride`` (default ``patch``) from the top-left corner while it fits;
    returns ``(rows, cols)`` with entry ``p(original) - p(occluded at that position)``. All
    occluded copies go through ``predict`` in one batch.
    """
    x = as_float_array(image, "image", ndim=2)
    patch = _pos_int("patch", patch)
    stride = patch if stride is None else _pos_int("stride", stride)
    h, w = x.shape
    if patch > min(h, w):
        raise ValueError(f"patch ({patch}) must fit in the image ({h}x{w})")
    rows, cols = cnn_output_length(h, patch, stride), cnn_output_length(w, patch, stride)
    batch = np.repeat(x[None], 1 + rows * cols, axis=0)
    for r in range(rows):
        for c in range(cols):
            batch[1 + r * cols + c, r * stride:r * stride + patch, c * stride:c * stride + patch] = fill
    p = np.asarray(predict(batch.astype(np.float32)), dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != batch.shape[0]:
        raise ValueError(f"predict must return (n, classes) for n images, got shape {p.shape}")
    if not 0 <= int(class_index) < p.shape[1]:
        raise ValueError(f"class_index must be in [0, {p.shape[1]}), got {class_index!r}")
    return (p[0, class_index] - p[1:, class_index]).reshape(rows, cols)
