"""NumPy references for notebook 11: images as arrays, 2-D convolution and pooling from scratch.

Layout as in Keras (channels last): a batch of images is ``(n, height, width, channels)``,
one image ``(height, width, channels)``; a kernel is ``(kh, kw, in_channels, out_channels)``,
the layout of ``keras.layers.Conv2D``'s ``kernel`` weight.

- :func:`rgb_to_gray`: the luma weights of ``tf.image.rgb_to_grayscale`` (ITU-R BT.601).
- :func:`conv_output_size`, :func:`same_padding`: the output-size formula and how
  ``padding="same"`` splits its zeros (the extra one goes after: bottom / right).
- :func:`conv2d_loops` (six nested loops, to read) and :func:`conv2d_fast` (the same sums as one
  matrix product over :func:`im2col` patches, to use). Like ``Conv2D`` (and every deep-learning
  library) they compute a **cross-correlation**: the kernel is not flipped.
- :func:`conv2d_backward`: gradients of a loss with respect to the input, kernel and bias,
  given the gradient with respect to the output.
- :func:`pool2d`: max, average and min pooling (min = -max(-x); Keras has no min-pooling layer),
  equal to ``MaxPooling2D`` / ``AveragePooling2D`` for both paddings.
- :data:`KERNEL_PRESETS`, :func:`kernel_preset`: classic 3x3 kernels (identity, blur, sharpen,
  Sobel, Laplacian ...).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["rgb_to_gray", "conv_output_size", "same_padding", "pad_images", "im2col", "conv2d_loops",
           "conv2d_fast", "conv2d_backward", "pool2d", "KERNEL_PRESETS", "kernel_preset",
           "GRAY_WEIGHTS"]

#: luma weights (R, G, B) of ``tf.image.rgb_to_grayscale`` (ITU-R BT.601)
GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)

#: classic 3x3 kernels, as (kh, kw) float64 arrays (row 0 is the top of the window)
KERNEL_PRESETS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "box blur": [[1 / 9] * 3] * 3,
    "gaussian blur": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "sobel x (vertical edges)": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel y (horizontal edges)": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "laplacian (all edges)": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "outline": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}


def kernel_preset(name: str) -> np.ndarray:
    """A copy of the 3x3 kernel ``name`` (a key of :data:`KERNEL_PRESETS`), float64 ``(3, 3)``."""
    if name not in KERNEL_PRESETS:
        raise ValueError(f"name must be one of {sorted(KERNEL_PRESETS)}, got {name!r}")
    return np.array(KERNEL_PRESETS[name], dtype=np.float64)


# --------------------------------------------------------------------------- checks

def _pair(value, name: str, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints (height, width), each >= minimum."""
    items = value if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2:
        raise ValueError(f"{name} must be an int or a pair (height, width), got {value!r}")
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
            raise ValueError(f"{name} must be an int >= {minimum} or a pair of them, got {value!r}")
        out.append(int(v))
    return out[0], out[1]


def _padding(padding) -> str:
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same' (as in Keras), got {padding!r}")
    return padding.lower()


def _images(x, name: str = "x") -> tuple[np.ndarray, bool]:
    """(n, h, w, c) float64 and whether one image (h, w, c) was given."""
    a = np.asarray(x)
    if a.dtype.kind not in "uifb":
        raise TypeError(f"{name} must be an array of numbers, got dtype {a.dtype}")
    if a.ndim == 3:
        return a[None].astype(np.float64), True
    if a.ndim != 4:
        raise ValueError(f"{name} must have shape (n, height, width, channels) or (height, width, channels), "
                         f"got {a.shape}; a grayscale image needs its channel axis: img[..., None]")
    return a.astype(np.float64), False


def _kernel(kernel, channels: int) -> np.ndarray:
    k = np.asarray(kernel)
    if k.dtype.kind not in "uifb":
        raise TypeError(f"kernel must be an array of numbers, got dtype {k.dtype}")
    k = k.astype(np.float64)
    if k.ndim == 2:  # one (kh, kw) filter for one channel in and one out
        k = k[:, :, None, None]
    if k.ndim != 4:
        raise ValueError(f"kernel must have shape (kh, kw, in_channels, out_channels) as Conv2D's kernel, "
                         f"or (kh, kw) for one channel, got {k.shape}")
    if k.shape[2] != channels:
        raise ValueError(f"kernel has {k.shape[2]} input channel(s) (axis 2) but the images have {channels} "
                         f"(axis -1): they must match")
    return k


# --------------------------------------------------------------------------- images

def rgb_to_gray(images) -> np.ndarray:
    """RGB → grayscale with the weights of ``tf.image.rgb_to_grayscale``: ``(..., 3) -> (..., 1)``.

    A weighted sum, not a plain mean: the eye is most sensitive to green. Returns float64 in the
    input's range (0-255 stays 0-255).
    """
    a = np.asarray(images)
    if a.dtype.kind not in "uif":
        raise TypeError(f"images must be an array of numbers, got dtype {a.dtype}")
    if a.ndim < 3 or a.shape[-1] != 3:
        raise ValueError(f"images must end in 3 colour channels (..., height, width, 3), got shape {a.shape}")
    return (a.astype(np.float64) @ np.array(GRAY_WEIGHTS))[..., None]


# --------------------------------------------------------------------------- sizes and padding

def same_padding(size: int, kernel_size: int, stride: int = 1) -> tuple[int, int]:
    """Zeros added before and after one axis by ``padding="same"`` (TensorFlow's rule).

    The output has ``ceil(size / stride)`` positions; the input needs
    ``(out - 1) * stride + kernel_size`` values, and the missing ones, ``total``, are split
    ``total // 2`` before and the rest after (so an odd total puts the extra zero at the
    bottom / right).
    """
    size, kernel_size, stride = (_pair(v, n)[0] for v, n in
                                 ((size, "size"), (kernel_size, "kernel_size"), (stride, "stride")))
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel_size - size, 0)
    return total // 2, total - total // 2


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding="valid") -> int:
    """Output positions along one axis: ``floor((size + p_total - kernel_size) / stride) + 1``.

    ``padding``: ``"valid"`` (no zeros: ``floor((size - k) / s) + 1``), ``"same"``
    (``ceil(size / s)``) or an int ``p`` of zeros on **each** side (the textbook formula
    ``floor((n + 2p - k) / s) + 1``). The same formula holds for pooling windows.
    """
    size = _pair(size, "size")[0]
    k = _pair(kernel_size, "kernel_size")[0]
    s = _pair(stride, "stride")[0]
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        if padding < 0:
            raise ValueError(f"padding must be 'valid', 'same' or an int >= 0, got {padding!r}")
        total = 2 * int(padding)
    else:
        if _padding(padding) == "same":
            return math.ceil(size / s)
        total = 0
    if size + total < k:
        raise ValueError(f"the window ({k}) is larger than the (padded) input ({size + total}): "
                         f"no output position; pad more or use a smaller kernel")
    return (size + total - k) // s + 1


def pad_images(x, kernel_size, stride=1, padding="valid", value: float = 0.0) -> np.ndarray:
    """``x`` (n, h, w, c) with the rows and columns ``padding`` adds (``value``, zeros by default)."""
    a, _ = _images(x)
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(stride, "stride")
    if _padding(padding) == "valid":
        return a
    (top, bottom), (left, right) = same_padding(a.shape[1], kh, sh), same_padding(a.shape[2], kw, sw)
    return np.pad(a, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def im2col(x, kernel_size, stride=1, padding="valid", value: float = 0.0) -> np.ndarray:
    """Every window the kernel visits, as rows: ``(n, out_h, out_w, kh, kw, c)``.

    A view of the padded images (``np.lib.stride_tricks.sliding_window_view``) taken every
    ``stride`` positions, copied; ``.reshape(-1, kh * kw * c)`` makes the "image to columns"
    matrix that turns a convolution into one matrix product.
    """
    a, _ = _images(x)
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(stride, "stride")
    padding = _padding(padding)
    oh = conv_output_size(a.shape[1], kh, sh, padding)
    ow = conv_output_size(a.shape[2], kw, sw, padding)
    p = pad_images(a, (kh, kw), (sh, sw), padding, value)
    win = np.lib.stride_tricks.sliding_window_view(p, (kh, kw), axis=(1, 2))  # (n, H', W', c, kh, kw)
    win = win[:, : (oh - 1) * sh + 1: sh, : (ow - 1) * sw + 1: sw]
    return np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3))


# --------------------------------------------------------------------------- convolution

def conv2d_loops(x, kernel, bias=None, stride=1, padding="valid") -> np.ndarray:
    """2-D convolution, the way it is defined: loops over images, output rows, columns and filters.

    ``out[n, i, j, o] = bias[o] + sum_{a, b, c} xpad[n, i*sh + a, j*sw + b, c] * kernel[a, b, c, o]``

    (cross-correlation: the kernel is slid as it is, not flipped, as in ``keras.layers.Conv2D``).
    ``x``: (n, h, w, c) or (h, w, c); ``kernel``: (kh, kw, c, filters) or (kh, kw) for one channel;
    ``bias``: (filters,) or None. Slow: for small inputs and for reading.
    Returns float64 (n, out_h, out_w, filters), or (out_h, out_w, filters) for one image.
    """
    a, single = _images(x)
    k = _kernel(kernel, a.shape[-1])
    kh, kw, c_in, c_out = k.shape
    sh, sw = _pair(stride, "stride")
    padding = _padding(padding)
    b = np.zeros(c_out) if bias is None else np.asarray(bias, dtype=np.float64).reshape(-1)
    if b.shape != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},), one number per filter, got {np.shape(bias)}")
    p = pad_images(a, (kh, kw), (sh, sw), padding)
    oh = conv_output_size(a.shape[1], kh, sh, padding)
    ow = conv_output_size(a.shape[2], kw, sw, padding)
    out = np.zeros((a.shape[0], oh, ow, c_out))
    for n in range(a.shape[0]):
        for i in range(oh):
            for j in range(ow):
                window = p[n, i * sh: i * sh + kh, j * sw: j * sw + kw, :]   # (kh, kw, c_in)
                for o in range(c_out):
                    out[n, i, j, o] = np.sum(window * k[:, :, :, o]) + b[o]
    return out[0] if single else out


def conv2d_fast(x, kernel, bias=None, stride=1, padding="valid") -> np.ndarray:
    """The same as :func:`conv2d_loops`, vectorised: the :func:`im2col` windows times the kernel
    flattened to a ``(kh * kw * c, filters)`` matrix, one matrix product."""
    a, single = _images(x)
    k = _kernel(kernel, a.shape[-1])
    kh, kw, c_in, c_out = k.shape
    b = np.zeros(c_out) if bias is None else np.asarray(bias, dtype=np.float64).reshape(-1)
    if b.shape != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},), one number per filter, got {np.shape(bias)}")
    cols = im2col(a, (kh, kw), stride, padding)               # (n, oh, ow, kh, kw, c)
    n, oh, ow = cols.shape[:3]
    out = (cols.reshape(-1, kh * kw * c_in) @ k.reshape(kh * kw * c_in, c_out) + b).reshape(n, oh, ow, c_out)
    return out[0] if single else out


def conv2d_backward(x, kernel, grad_out, stride=1, padding="valid"):
    """Gradients of a loss through ``out = conv2d(x, kernel) + bias``, given ``grad_out = dL/d out``.

    Returns ``(grad_x, grad_kernel, grad_bias)`` with the shapes of ``x``, ``kernel`` and
    ``(filters,)``:

    - ``grad_kernel[a, b, c, o] = sum_{n, i, j} xpad[n, i*sh + a, j*sw + b, c] * grad_out[n, i, j, o]``:
      each weight collects input times output gradient over every window it touched (the
      im2col matrix transposed times ``grad_out``);
    - ``grad_x``: each output gradient is sent back through the kernel to the pixels its window
      read, ``grad_xpad[n, i*sh + a, j*sw + b, c] += kernel[a, b, c, o] * grad_out[n, i, j, o]``,
      then the padding is cut off (for stride 1 this is a "full" convolution of ``grad_out``
      with the kernel flipped);
    - ``grad_bias[o] = sum_{n, i, j} grad_out[n, i, j, o]``.
    """
    a, single = _images(x)
    k = _kernel(kernel, a.shape[-1])
    kh, kw, c_in, c_out = k.shape
    sh, sw = _pair(stride, "stride")
    padding = _padding(padding)
    g = np.asarray(grad_out, dtype=np.float64)
    if single and g.ndim == 3:
        g = g[None]
    oh = conv_output_size(a.shape[1], kh, sh, padding)
    ow = conv_output_size(a.shape[2], kw, sw, padding)
    if g.shape != (a.shape[0], oh, ow, c_out):
        raise ValueError(f"grad_out must have the output's shape {(a.shape[0], oh, ow, c_out)}, got {g.shape}")
    cols = im2col(a, (kh, kw), (sh, sw), padding)           # (n, oh, ow, kh, kw, c)
    grad_kernel = (cols.reshape(-1, kh * kw * c_in).T @ g.reshape(-1, c_out)).reshape(k.shape)
    grad_bias = g.sum(axis=(0, 1, 2))
    p_shape = pad_images(a[:, :, :, :1], (kh, kw), (sh, sw), padding).shape
    grad_p = np.zeros(p_shape[:3] + (c_in,))
    for r in range(kh):          # every kernel position: one strided slice gets its share
        for s in range(kw):
            grad_p[:, r: r + (oh - 1) * sh + 1: sh, s: s + (ow - 1) * sw + 1: sw, :] += g @ k[r, s].T
    if padding == "same":
        top = same_padding(a.shape[1], kh, sh)[0]
        left = same_padding(a.shape[2], kw, sw)[0]
        grad_x = grad_p[:, top: top + a.shape[1], left: left + a.shape[2]]
    else:
        grad_x = grad_p   # rows/columns that no window reached keep 0
    if kernel is not None and np.ndim(kernel) == 2:
        grad_kernel = grad_kernel[:, :, 0, 0]
    return (grad_x[0] if single else grad_x), grad_kernel, grad_bias


# --------------------------------------------------------------------------- pooling

def pool2d(x, pool_size=2, stride=None, padding="valid", mode: str = "max") -> np.ndarray:
    """Max, average or min pooling of each channel separately, as Keras' pooling layers compute it.

    ``stride`` defaults to ``pool_size`` (non-overlapping windows, Keras' default). With
    ``padding="same"`` the padded positions are ignored: max pooling pads with -inf and average
    pooling divides by the number of real pixels in each window (as ``AveragePooling2D`` does).
    ``mode="min"`` is ``-pool2d(-x, mode="max")``: Keras has no min-pooling layer.
    Returns float64 (n, out_h, out_w, c), or (out_h, out_w, c) for one image.
    """
    if mode not in ("max", "avg", "min"):
        raise ValueError(f"mode must be 'max', 'avg' or 'min', got {mode!r}")
    a, single = _images(x)
    ph, pw = _pair(pool_size, "pool_size")
    s = (ph, pw) if stride is None else _pair(stride, "stride")
    padding = _padding(padding)
    if mode == "min":
        out = -pool2d(-a, (ph, pw), s, padding, "max")
    elif mode == "max":
        out = im2col(a, (ph, pw), s, padding, value=-np.inf).max(axis=(3, 4))
    else:
        total = im2col(a, (ph, pw), s, padding).sum(axis=(3, 4))
        count = im2col(np.ones(a.shape[:3] + (1,)), (ph, pw), s, padding).sum(axis=(3, 4))
        out = total / count
    return out[0] if single else out
