"""NumPy references for notebook 10: batching order, and augmentations from scratch.

- :func:`count_batches`, :func:`batch_index_order`: which samples each mini-batch holds, in
  order (``ceil(N / B)`` batches, the last one short unless ``drop_remainder``), as a Python
  generator, a ``keras.utils.PyDataset`` and ``tf.data`` must all give them.
- :func:`flip_images`, :func:`translate_images`, :func:`adjust_contrast`: what
  ``RandomFlip``, ``RandomTranslation`` (integer shifts, ``fill_mode="constant"``,
  ``interpolation="nearest"``) and ``RandomContrast`` compute for a given random draw;
  tests check each against the Keras layer's ``transform_images``.
- :func:`pipeline_epoch_seconds`: a model of one epoch's time with parallel reads and
  prefetching.

Images are ``(n, height, width, channels)`` (channels last, as Keras' default) or one image
``(height, width, channels)``.
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import as_float_array

__all__ = ["count_batches", "batch_index_order", "flip_images", "translate_images",
           "adjust_contrast", "pipeline_epoch_seconds"]


def _check_count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def count_batches(n: int, batch_size: int, drop_remainder: bool = False) -> int:
    """Mini-batches in one pass over ``n`` samples: ``ceil(n / batch_size)``, or
    ``floor(n / batch_size)`` with ``drop_remainder`` (the short last batch left out)."""
    n = _check_count(n, "n", 0)
    batch_size = _check_count(batch_size, "batch_size", 1)
    return n // batch_size if drop_remainder else math.ceil(n / batch_size)


def batch_index_order(n: int, batch_size: int, shuffle: bool = False, seed: int | None = None,
                      drop_remainder: bool = False) -> list[np.ndarray]:
    """The sample indices of each mini-batch of one epoch, in order.

    Unshuffled: ``[0..B-1], [B..2B-1], ...``, the last batch holding the ``n % B`` left
    over (unless ``drop_remainder``). Shuffled: the same cut of
    ``np.random.default_rng(seed).permutation(n)``.

    Returns a list of ``count_batches(n, batch_size, drop_remainder)`` int64 arrays.
    """
    n = _check_count(n, "n", 0)
    batch_size = _check_count(batch_size, "batch_size", 1)
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    order = order.astype(np.int64)
    k = count_batches(n, batch_size, drop_remainder)
    return [order[i * batch_size:(i + 1) * batch_size] for i in range(k)]


def _as_images(images, name: str = "images") -> tuple[np.ndarray, bool]:
    a = np.asarray(images)
    if a.dtype.kind not in "uif":
        raise TypeError(f"{name} must be an array of numbers, got dtype {a.dtype}")
    if a.ndim == 3:
        return a[None], True
    if a.ndim != 4:
        raise ValueError(f"{name} must have shape (n, height, width, channels) or (height, width, channels), "
                         f"got {a.shape}; add a channel axis to grayscale images: x[..., None]")
    return a, False


def flip_images(images, mode: str = "horizontal", flips=None) -> np.ndarray:
    """Mirror images as ``keras.layers.RandomFlip(mode)`` does for a given draw.

    ``mode``: ``"horizontal"`` (left-right: the width axis reversed), ``"vertical"``
    (upside down) or ``"horizontal_and_vertical"`` (both, with the **same** draw: a flipped
    image is turned by 180 degrees). ``flips``: one bool per image (default: all True).
    """
    x, single = _as_images(images)
    if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
        raise ValueError(f"mode must be 'horizontal', 'vertical' or 'horizontal_and_vertical', got {mode!r}")
    f = np.ones(len(x), dtype=bool) if flips is None else np.asarray(flips, dtype=bool).reshape(-1)
    if f.shape != (len(x),):
        raise ValueError(f"flips must hold one bool per image ({len(x)}), got {np.shape(flips)}")
    out = x.copy()
    if mode in ("horizontal", "horizontal_and_vertical"):
        out[f] = out[f][:, :, ::-1]
    if mode in ("vertical", "horizontal_and_vertical"):
        out[f] = out[f][:, ::-1]
    return out[0] if single else out


def translate_images(images, dx, dy, fill_value: float = 0.0) -> np.ndarray:
    """Shift each image by whole pixels, ``dx`` to the right and ``dy`` down (negative: left,
    up); what moves out is lost, what comes in is ``fill_value``.

    Equal to ``keras.layers.RandomTranslation(..., fill_mode="constant",
    interpolation="nearest")`` for the draw ``translations = [[dx, dy], ...]`` in pixels.
    ``dx``, ``dy``: one int for all images or one per image.
    """
    x, single = _as_images(images)
    n, h, w = x.shape[:3]
    dxs = np.broadcast_to(np.asarray(dx), (n,))
    dys = np.broadcast_to(np.asarray(dy), (n,))
    for name, d in (("dx", dxs), ("dy", dys)):
        if d.dtype.kind not in "iu" and not np.all(np.asarray(d, dtype=float) == np.round(d)):
            raise ValueError(f"{name} must be whole numbers of pixels, got {d.tolist()}")
    out = np.full_like(x, fill_value)
    for i in range(n):
        sx, sy = int(dxs[i]), int(dys[i])
        if abs(sx) >= w or abs(sy) >= h:
            continue  # shifted out entirely
        src = x[i, max(0, -sy):h - max(0, sy), max(0, -sx):w - max(0, sx)]
        out[i, max(0, sy):max(0, sy) + src.shape[0], max(0, sx):max(0, sx) + src.shape[1]] = src
    return out[0] if single else out


def adjust_contrast(images, factor, value_range=(0.0, 255.0)) -> np.ndarray:
    """``(x - mean) * factor + mean`` per image and channel, clipped to ``value_range``: what
    ``keras.layers.RandomContrast`` computes for the draw ``contrast_factor = factor``.

    ``factor``: one number for all images or one per image (1: unchanged, 0: flat grey).
    """
    x, single = _as_images(images)
    x = as_float_array(x, "images")
    f = np.broadcast_to(as_float_array(factor, "factor"), (len(x),)).reshape(-1, 1, 1, 1)
    lo, hi = value_range
    mean = x.mean(axis=(1, 2), keepdims=True)
    out = np.clip((x - mean) * f + mean, lo, hi)
    return out[0] if single else out


def pipeline_epoch_seconds(n_batches: int, read_s: float, train_s: float, parallel: int = 1,
                           prefetch: bool = False) -> float:
    """Seconds for one epoch of ``n_batches`` in a simple model of an input pipeline.

    Reading one batch takes ``read_s`` seconds on one worker, ``read_s / parallel`` with
    ``parallel`` workers (``map(..., num_parallel_calls=parallel)``); a training step takes
    ``train_s``. Without prefetching the two alternate: ``n (r + t)``. With it the next batch
    is read while the model trains on this one: ``r + (n - 1) max(r, t) + t``.
    """
    n_batches = _check_count(n_batches, "n_batches", 0)
    parallel = _check_count(parallel, "parallel", 1)
    for name, v in (("read_s", read_s), ("train_s", train_s)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or v < 0:
            raise ValueError(f"{name} must be a number of seconds >= 0, got {v!r}")
    if n_batches == 0:
        return 0.0
    r = float(read_s) / parallel
    t = float(train_s)
    if not prefetch:
        return n_batches * (r + t)
    return r + (n_batches - 1) * max(r, t) + t
