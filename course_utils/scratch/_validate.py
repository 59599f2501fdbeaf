"""Input validation shared by the scratch implementations."""
from __future__ import annotations

import numpy as np


def as_float_array(x, name: str, ndim: int | tuple[int, ...] | None = None,
                   shape: tuple | None = None) -> np.ndarray:
    """Return ``x`` as a float64 array, or raise a TypeError/ValueError naming ``name``.

    ``ndim`` may be an int or a tuple of allowed ranks; ``shape`` may contain ``None``
    for any size on that axis.
    """
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, "
                        f"got {type(x).__name__}") from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if a.ndim not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimension(s), "
                             f"got shape {a.shape}")
    if shape is not None:
        if a.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, a.shape)):
            want = tuple("any" if s is None else s for s in shape)
            raise ValueError(f"{name} must have shape {want}, got {a.shape}")
    return a


def positive_int(name: str, value) -> int:
    """``value`` as an int >= 1, or a TypeError (not an int; bools refused) / ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)
