"""NumPy references for notebook 13 (modern CNNs and transfer learning): the building blocks of
modern convolutional networks, their parameter counts, and the bookkeeping of a few-shot
transfer experiment.

Layout as in Keras (channels last): images ``(n, height, width, channels)``. The convolutions
reuse notebook 11's references (:func:`~course_utils.scratch.convolution.conv2d_fast`,
:func:`~course_utils.scratch.convolution.im2col`); nothing here imports TensorFlow.

- :func:`pointwise_conv2d`: a 1x1 convolution, which is one matrix product per pixel
  (``x @ W + b`` on the channel axis), equal to ``Conv2D(filters, 1)``.
- :func:`global_avg_pool2d`: the mean over height and width, equal to ``GlobalAveragePooling2D``.
- :func:`depthwise_conv2d`: one ``k x k`` filter per input channel (times ``depth_multiplier``),
  channels never mixed, equal to ``DepthwiseConv2D``; :func:`separable_conv2d`: depthwise then
  pointwise, equal to ``SeparableConv2D``.
- :func:`residual_block_forward`: ``relu(F(x) + shortcut(x))`` with ``F`` two 3x3 convolutions
  (``padding="same"``) and an identity or a 1x1 projection shortcut.
- Parameter counts by formula: :func:`count_depthwise_params`, :func:`count_separable_params`,
  :func:`count_bn_params`, :func:`residual_block_params` (the block of notebook 13, exercise 2).
- The transfer experiment: :func:`few_shot_indices` (k labelled examples per class),
  :func:`seed_spread` (mean, standard deviation and standard error over seeds) and
  :func:`paired_seed_gain` (the gain of one method over another, paired by seed).
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import as_float_array, positive_int
from .convolution import conv2d_fast, im2col

__all__ = ["pointwise_conv2d", "global_avg_pool2d", "depthwise_conv2d", "separable_conv2d",
           "residual_block_forward", "count_depthwise_params", "count_separable_params",
           "count_bn_params", "residual_block_params", "few_shot_indices", "seed_spread",
           "paired_seed_gain"]


# --------------------------------------------------------------------------- checks

def _images4(x, name: str = "x") -> np.ndarray:
    a = as_float_array(x, name)
    if a.ndim != 4:
        raise ValueError(f"{name} must have shape (n, height, width, channels), got {a.shape}; "
                         "one image needs a batch axis: img[None]")
    return a


def _bias(bias, size: int, name: str = "bias") -> np.ndarray:
    if bias is None:
        return np.zeros(size)
    b = as_float_array(bias, name).reshape(-1)
    if b.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), one number per output channel, got {np.shape(bias)}")
    return b


# --------------------------------------------------------------------------- building blocks

def pointwise_conv2d(x, kernel, bias=None) -> np.ndarray:
    """A 1x1 convolution: at every pixel, the vector of ``c_in`` channels times a ``(c_in, c_out)``
    matrix, plus the bias. ``kernel``: ``(1, 1, c_in, c_out)`` (``Conv2D``'s layout) or
    ``(c_in, c_out)``. Returns float64 ``(n, h, w, c_out)``."""
    a = _images4(x)
    k = as_float_array(kernel, "kernel")
    if k.ndim == 4:
        if k.shape[:2] != (1, 1):
            raise ValueError(f"kernel must be 1x1, shape (1, 1, c_in, c_out), got {k.shape}")
        k = k[0, 0]
    if k.ndim != 2:
        raise ValueError(f"kernel must have shape (1, 1, c_in, c_out) or (c_in, c_out), got {k.shape}")
    if k.shape[0] != a.shape[-1]:
        raise ValueError(f"kernel has {k.shape[0]} input channels but x has {a.shape[-1]} (axis -1)")
    return a @ k + _bias(bias, k.shape[1])


def global_avg_pool2d(x) -> np.ndarray:
    """The mean of every feature map over height and width: ``(n, h, w, c) -> (n, c)``."""
    return _images4(x).mean(axis=(1, 2))


def depthwise_conv2d(x, kernel, bias=None, stride=1, padding="valid") -> np.ndarray:
    """Depthwise convolution: channel ``c`` is convolved with its own filters ``kernel[:, :, c, :]``
    only; no channel is mixed with another.

    ``kernel``: ``(kh, kw, c_in, depth_multiplier)``, ``DepthwiseConv2D``'s layout. Output channel
    ``c * depth_multiplier + j`` is input channel ``c`` convolved with ``kernel[:, :, c, j]``
    (Keras' order). Returns float64 ``(n, out_h, out_w, c_in * depth_multiplier)``.
    """
    a = _images4(x)
    k = as_float_array(kernel, "kernel", ndim=4)
    kh, kw, c_in, mult = k.shape
    if c_in != a.shape[-1]:
        raise ValueError(f"kernel has {c_in} channels (axis 2) but x has {a.shape[-1]} (axis -1)")
    cols = im2col(a, (kh, kw), stride, padding)                   # (n, oh, ow, kh, kw, c)
    out = np.einsum("nijabc,abcm->nijcm", cols, k)                # each channel with its own filters
    n, oh, ow = out.shape[:3]
    return out.reshape(n, oh, ow, c_in * mult) + _bias(bias, c_in * mult)


def separable_conv2d(x, depthwise_kernel, pointwise_kernel, bias=None, stride=1, padding="valid") -> np.ndarray:
    """Depthwise-separable convolution: :func:`depthwise_conv2d` (no bias) then
    :func:`pointwise_conv2d` with ``bias``, as ``SeparableConv2D`` computes it.
    ``depthwise_kernel``: ``(kh, kw, c_in, m)``; ``pointwise_kernel``: ``(1, 1, c_in * m, c_out)``."""
    return pointwise_conv2d(depthwise_conv2d(x, depthwise_kernel, None, stride, padding), pointwise_kernel, bias)


def residual_block_forward(x, kernel1, bias1, kernel2, bias2, stride=1, projection=None) -> np.ndarray:
    """A basic residual block without batch norm: ``relu(F(x) + shortcut(x))`` with
    ``F(x) = conv2(relu(conv1(x)))``, both 3x3 (any odd size) with ``padding="same"``, ``conv1``
    with ``stride``.

    ``projection``: ``None`` for the identity shortcut (needs ``stride == 1`` and as many output
    channels as input channels), or a pair ``(kernel (1, 1, c_in, c_out), bias)`` for a 1x1
    convolution with ``stride`` on the shortcut, which makes the shapes match.
    """
    a = _images4(x)
    h = np.maximum(conv2d_fast(a, kernel1, bias1, stride=stride, padding="same"), 0.0)
    fx = conv2d_fast(h, kernel2, bias2, stride=1, padding="same")
    if projection is None:
        if fx.shape != a.shape:
            raise ValueError(f"the identity shortcut needs F(x) and x of the same shape, got {fx.shape} and "
                             f"{a.shape}: pass projection=(kernel, bias) for a 1x1 convolution with stride {stride}")
        shortcut = a
    else:
        pk, pb = projection
        shortcut = conv2d_fast(a, pk, pb, stride=stride, padding="same")
        if shortcut.shape != fx.shape:
            raise ValueError(f"the projection gives shape {shortcut.shape}, F(x) has {fx.shape}")
    return np.maximum(fx + shortcut, 0.0)


# --------------------------------------------------------------------------- parameter counts

def count_depthwise_params(kernel_size: int, in_channels: int, depth_multiplier: int = 1,
                           use_bias: bool = True) -> int:
    """``DepthwiseConv2D(kernel_size, depth_multiplier=m)`` on ``c_in`` channels:
    ``k * k * c_in * m`` weights (one k x k filter per channel and multiplier) ``+ c_in * m`` biases."""
    k, c, m = (positive_int(n, v) for n, v in (("kernel_size", kernel_size), ("in_channels", in_channels),
                                               ("depth_multiplier", depth_multiplier)))
    return k * k * c * m + (c * m if use_bias else 0)


def count_separable_params(kernel_size: int, in_channels: int, filters: int, depth_multiplier: int = 1,
                           use_bias: bool = True) -> int:
    """``SeparableConv2D(filters, kernel_size, depth_multiplier=m)`` on ``c_in`` channels:
    ``k * k * c_in * m`` (depthwise) ``+ c_in * m * filters`` (pointwise) ``+ filters`` (one bias per
    output channel, after the pointwise step)."""
    k, c, f, m = (positive_int(n, v) for n, v in (("kernel_size", kernel_size), ("in_channels", in_channels),
                                                  ("filters", filters), ("depth_multiplier", depth_multiplier)))
    return k * k * c * m + c * m * f + (f if use_bias else 0)


def count_bn_params(channels: int) -> int:
    """``BatchNormalization`` on ``channels`` channels: gamma and beta (trained) and the moving mean
    and variance (not trained, but counted by ``count_params()``): ``4 * channels``."""
    return 4 * positive_int("channels", channels)


def residual_block_params(in_channels: int, filters: int, stride: int = 1, kernel_size: int = 3) -> int:
    """Parameters of the residual block of notebook 13 (exercise 2): main path
    ``Conv2D(filters, k, stride, use_bias=False) -> BN -> ReLU -> Conv2D(filters, k, use_bias=False) -> BN``;
    shortcut: the identity when ``stride == 1`` and ``in_channels == filters``, else
    ``Conv2D(filters, 1, stride, use_bias=False) -> BN``. Counted as ``count_params()`` does
    (batch norm's moving statistics included)."""
    c, f, s, k = (positive_int(n, v) for n, v in (("in_channels", in_channels), ("filters", filters),
                                                  ("stride", stride), ("kernel_size", kernel_size)))
    main = k * k * c * f + count_bn_params(f) + k * k * f * f + count_bn_params(f)
    projection = 0 if (s == 1 and c == f) else c * f + count_bn_params(f)
    return main + projection


# --------------------------------------------------------------------------- the transfer experiment

def few_shot_indices(y, k: int, seed: int, classes=None) -> np.ndarray:
    """Indices of ``k`` examples of every class in ``y``, drawn without replacement with
    ``numpy.random.default_rng(seed)``, class by class in the order of ``classes`` (default: the
    sorted classes of ``y``). Raises ValueError if a class has fewer than ``k`` examples."""
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.dtype.kind not in "iub":
        raise ValueError(f"y must be a 1-D array of integer labels, got shape {labels.shape}, dtype {labels.dtype}")
    k = positive_int("k", k)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    classes = np.unique(labels) if classes is None else np.asarray(classes)
    rng = np.random.default_rng(int(seed))
    out = []
    for c in classes:
        pool = np.flatnonzero(labels == c)
        if len(pool) < k:
            raise ValueError(f"class {c} has {len(pool)} examples, fewer than k = {k}")
        out.append(rng.choice(pool, size=k, replace=False))
    return np.concatenate(out)


def seed_spread(values) -> tuple[float, float, float]:
    """``(mean, sd, se)`` of results over seeds: the sample standard deviation (``ddof=1``) says how
    much one run varies; the standard error ``sd / sqrt(n)`` how well the mean is known."""
    v = as_float_array(values, "values", ndim=1)
    if len(v) < 2:
        raise ValueError(f"values needs at least 2 results (seeds) for a spread, got {len(v)}")
    sd = float(np.std(v, ddof=1))
    return float(np.mean(v)), sd, sd / math.sqrt(len(v))


def paired_seed_gain(a, b) -> tuple[float, float]:
    """Mean gain ``a - b`` over seeds and its standard error, paired by seed (``a[i]`` and ``b[i]``
    used the same labelled examples): ``(mean(d), sd(d) / sqrt(n))`` with ``d = a - b``."""
    a = as_float_array(a, "a", ndim=1)
    b = as_float_array(b, "b", ndim=1)
    if a.shape != b.shape:
        raise ValueError(f"a and b must be results of the same seeds (same length), got {a.shape} and {b.shape}")
    mean, _, se = seed_spread(a - b)
    return mean, se
