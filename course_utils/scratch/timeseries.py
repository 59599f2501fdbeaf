"""NumPy references for notebook 19: windows, forecasting baselines, a holiday calendar and
prediction-error anomaly detection.

- :func:`make_windows`: the (input window, target) pairs a forecaster learns from, as
  ``keras.utils.timeseries_dataset_from_array`` cuts them (windows of ``window`` steps, every
  ``stride`` steps, with the next ``horizon`` values as targets).
- :func:`naive_forecast`, :func:`seasonal_naive_forecast`, :func:`moving_average_forecast`:
  the baselines every forecaster must beat, aligned with the series (``pred[i]`` forecasts
  ``y[i]`` from values known ``horizon`` steps earlier; NaN where there is too little history),
  and :func:`forecast_mae` to score them.
- :func:`day_of_week`, :func:`nth_weekday`, :func:`observed_day_off`, :func:`us_holidays`: the
  US federal holiday calendar computed from its public rules (5 U.S.C. 6103: fixed dates and
  "n-th weekday of the month" rules; a holiday on a Saturday is observed on the Friday before,
  on a Sunday on the Monday after).
- :func:`anomaly_scores`, :func:`flag_precision_recall`, :func:`f1_threshold`,
  :func:`fpr_threshold`: anomaly detection from a forecaster's error with a threshold chosen on
  validation data, scored against labels.

Dates are NumPy ``datetime64[D]`` (no ``datetime`` or pandas needed); weekdays are numbered
as Python's ``date.weekday()``: Monday 0 ... Sunday 6.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, positive_int

__all__ = ["make_windows", "naive_forecast", "seasonal_naive_forecast", "moving_average_forecast",
           "forecast_mae", "day_of_week", "nth_weekday", "observed_day_off", "HOLIDAY_RULES",
           "MAJOR_HOLIDAYS", "us_holidays", "anomaly_scores", "flag_precision_recall", "f1_threshold",
           "fpr_threshold"]


# --------------------------------------------------------------------------- windows

def make_windows(series, window: int, horizon: int = 1, stride: int = 1, targets=None):
    """Cut a series into ``(inputs, targets)`` pairs for forecasting.

    Window ``k`` starts at ``s = k * stride``: ``X[k] = series[s : s + window]`` and
    ``Y[k] = targets[s + window : s + window + horizon]`` (the ``horizon`` values that follow the
    window). Every window with a complete target is kept: ``(n - window - horizon) // stride + 1``
    of them (0 if the series is too short).

    Parameters
    ----------
    series : array (n,) or (n, features)
    window, horizon, stride : int >= 1
    targets : array (n,), optional
        What to predict (default: ``series`` itself, or its first column if it has features).

    Returns
    -------
    X : (m, window) or (m, window, features); Y : (m, horizon). For ``horizon=1`` and
    ``stride=s`` these are the batches of
    ``keras.utils.timeseries_dataset_from_array(series[:-1], targets[window:],
    sequence_length=window, sequence_stride=s)`` put together.
    """
    window = positive_int("window", window)
    horizon = positive_int("horizon", horizon)
    stride = positive_int("stride", stride)
    x = np.asarray(series)
    if x.ndim not in (1, 2) or not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"series must be a numeric array of shape (n,) or (n, features), got "
                         f"{x.dtype} {x.shape}")
    if targets is None:
        t = x if x.ndim == 1 else x[:, 0]
    else:
        t = as_float_array(targets, "targets", ndim=1)
        if len(t) != len(x):
            raise ValueError(f"targets must have the series' length {len(x)}, got {len(t)}")
    n = len(x)
    m = max(0, (n - window - horizon) // stride + 1)
    starts = np.arange(m) * stride
    X = x[starts[:, None] + np.arange(window)] if m else np.empty((0, window) + x.shape[1:], x.dtype)
    Y = t[starts[:, None] + window + np.arange(horizon)] if m else np.empty((0, horizon), t.dtype)
    return X, Y


# --------------------------------------------------------------------------- baselines

def _series(y, name="y"):
    return as_float_array(y, name, ndim=1)


def naive_forecast(y, horizon: int = 1) -> np.ndarray:
    """``pred[i] = y[i - horizon]``: tomorrow is today (the last value known ``horizon`` steps
    before ``i``). NaN for the first ``horizon`` steps."""
    y = _series(y)
    h = positive_int("horizon", horizon)
    out = np.full(len(y), np.nan)
    out[h:] = y[:-h] if h < len(y) else out[h:]
    return out


def seasonal_naive_forecast(y, season: int = 7, horizon: int = 1) -> np.ndarray:
    """``pred[i] = y[i - lag]`` with ``lag = season * ceil(horizon / season)``: the same point of
    the last season that is known ``horizon`` steps ahead (for daily data and ``season=7``: the
    same weekday one week earlier, two weeks earlier for horizons 8-14 ...). NaN where the lag
    reaches before the start."""
    y = _series(y)
    season = positive_int("season", season)
    h = positive_int("horizon", horizon)
    lag = season * -(-h // season)
    out = np.full(len(y), np.nan)
    if lag < len(y):
        out[lag:] = y[:-lag]
    return out


def moving_average_forecast(y, window: int, horizon: int = 1) -> np.ndarray:
    """``pred[i] = mean(y[i - horizon - window + 1 : i - horizon + 1])``: the mean of the last
    ``window`` values known ``horizon`` steps before ``i``. NaN where fewer are known."""
    y = _series(y)
    window = positive_int("window", window)
    h = positive_int("horizon", horizon)
    out = np.full(len(y), np.nan)
    if window <= len(y):
        c = np.concatenate([[0.0], np.cumsum(y)])
        means = (c[window:] - c[:-window]) / window        # means[j]: y[j : j + window]
        first = window - 1 + h                              # the first i with a full window
        if first < len(y):
            out[first:] = means[: len(y) - first]
    return out


def forecast_mae(y_true, y_pred, mask=None) -> float:
    """Mean absolute error over the steps where ``mask`` (default: all) holds; a NaN forecast in
    them is an error (a baseline without enough history must be scored on later steps)."""
    yt, yp = _series(y_true, "y_true"), _series(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got {yt.shape} and {yp.shape}")
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != yt.shape:
            raise ValueError(f"mask must have shape {yt.shape}, got {m.shape}")
        yt, yp = yt[m], yp[m]
    if yt.size == 0:
        raise ValueError("no steps to score (empty series or mask)")
    if np.isnan(yp).any() or np.isnan(yt).any():
        raise ValueError(f"{int(np.isnan(yp).sum())} forecasts are NaN on the scored steps "
                         "(hint: score from the first step every forecast has enough history for)")
    return float(np.mean(np.abs(yt - yp)))


# --------------------------------------------------------------------------- calendar

def _days(dates, name="dates"):
    try:
        d = np.asarray(dates, dtype="datetime64[D]")
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be dates (datetime64[D] or 'YYYY-MM-DD' strings), got "
                        f"{type(dates).__name__}") from None
    return d


def day_of_week(dates) -> np.ndarray:
    """Weekday of each date, Monday 0 ... Sunday 6 (1970-01-01, day 0, was a Thursday)."""
    d = _days(dates)
    return ((d.astype("int64") + 3) % 7).astype("int64")


def nth_weekday(year: int, month: int, weekday: int, n: int) -> np.datetime64:
    """The ``n``-th ``weekday`` (Monday 0 ... Sunday 6) of ``month`` in ``year``; ``n=-1`` is the
    last one. Thanksgiving 2015: ``nth_weekday(2015, 11, 3, 4)`` = 2015-11-26."""
    for name, v, lo, hi in (("year", year, 1, 9999), ("month", month, 1, 12), ("weekday", weekday, 0, 6)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
            raise ValueError(f"{name} must be an int in [{lo}, {hi}], got {v!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not (1 <= n <= 5 or n == -1):
        raise ValueError(f"n must be 1-5 (the n-th) or -1 (the last), got {n!r}")
    first = np.datetime64(f"{int(year):04d}-{int(month):02d}-01")
    nxt = (first.astype("datetime64[M]") + 1).astype("datetime64[D]")
    if n == -1:
        last = nxt - 1
        return last - (int(day_of_week(last)) - weekday) % 7
    day = first + (weekday - int(day_of_week(first))) % 7 + 7 * (n - 1)
    if day >= nxt:
        raise ValueError(f"{year}-{month:02d} has no {n}th weekday {weekday}")
    return day


def observed_day_off(dates) -> np.ndarray:
    """The federal rule (5 U.S.C. 6103(b)): a holiday on a Saturday is observed on the Friday
    before, on a Sunday on the Monday after; other days are unchanged."""
    d = _days(dates)
    w = day_of_week(d)
    return d + np.where(w == 5, -1, np.where(w == 6, 1, 0))


def _fixed(month, day):
    return lambda year: np.datetime64(f"{year:04d}-{month:02d}-{day:02d}")


def _nth(month, weekday, n, plus=0):
    return lambda year: nth_weekday(year, month, weekday, n) + plus


#: name -> (rule year -> date, follows the weekend rule). The US federal holidays, plus the day
#: after Thanksgiving (not federal, but a day off for many employers, and it shows in the data).
HOLIDAY_RULES = {
    "New Year's Day": (_fixed(1, 1), True),
    "Martin Luther King Jr. Day": (_nth(1, 0, 3), False),      # 3rd Monday of January (since 1986)
    "Presidents' Day": (_nth(2, 0, 3), False),                 # 3rd Monday of February
    "Memorial Day": (_nth(5, 0, -1), False),                   # last Monday of May
    "Independence Day": (_fixed(7, 4), True),
    "Labor Day": (_nth(9, 0, 1), False),                       # 1st Monday of September
    "Columbus Day": (_nth(10, 0, 2), False),                   # 2nd Monday of October
    "Veterans Day": (_fixed(11, 11), True),
    "Thanksgiving": (_nth(11, 3, 4), False),                   # 4th Thursday of November
    "Day after Thanksgiving": (_nth(11, 3, 4, plus=1), False),
    "Christmas Day": (_fixed(12, 25), True),
}
#: the days off for most downtown workers (Columbus and Veterans Day are federal holidays, but
#: most private employers work: the ridership drops about 20% on them, not 40-90%)
MAJOR_HOLIDAYS = ("New Year's Day", "Martin Luther King Jr. Day", "Presidents' Day", "Memorial Day",
                  "Independence Day", "Labor Day", "Thanksgiving", "Day after Thanksgiving", "Christmas Day")


def us_holidays(start, end, names=MAJOR_HOLIDAYS, observed: bool = True):
    """The holidays ``names`` (keys of :data:`HOLIDAY_RULES`) from ``start`` to ``end`` (both
    included), sorted.

    ``observed=True`` gives the day off (:func:`observed_day_off`: New Year's Day 2011, a
    Saturday, is observed on Friday 2010-12-31), ``observed=False`` the calendar date.

    Returns ``(dates, names)``: a ``datetime64[D]`` array and a list of the holidays' names.
    """
    start, end = _days(start, "start"), _days(end, "end")
    if start.ndim or end.ndim:
        raise ValueError("start and end must be single dates")
    if isinstance(names, str):
        names = (names,)
    unknown = [n for n in names if n not in HOLIDAY_RULES]
    if unknown:
        raise ValueError(f"unknown holiday {unknown[0]!r}; known: {sorted(HOLIDAY_RULES)}")
    y0 = int(str(start)[:4]) - 1
    y1 = int(str(end)[:4]) + 1
    out = []
    for year in range(max(1, y0), min(9999, y1) + 1):
        for name in names:
            rule, weekend_rule = HOLIDAY_RULES[name]
            day = rule(year)
            if observed and weekend_rule:
                day = observed_day_off(day)[()]
            if start <= day <= end:
                out.append((day, name))
    out.sort(key=lambda p: p[0])
    return np.array([d for d, _ in out], dtype="datetime64[D]"), [n for _, n in out]


# --------------------------------------------------------------------------- anomalies

def anomaly_scores(actual, forecast, one_sided: bool = True) -> np.ndarray:
    """How anomalous each step is, from a forecaster's error: ``forecast - actual`` (how far the
    value fell short of the forecast; ``one_sided``, for drops such as holidays) or
    ``|forecast - actual|``."""
    a, f = _series(actual, "actual"), _series(forecast, "forecast")
    if a.shape != f.shape:
        raise ValueError(f"actual and forecast must have the same shape, got {a.shape} and {f.shape}")
    e = f - a
    return e if one_sided else np.abs(e)


def flag_precision_recall(flags, labels):
    """``(precision, recall, f1)`` of boolean ``flags`` against boolean ``labels``: precision =
    flagged days that are labelled / flagged days, recall = labelled days flagged / labelled
    days. An empty denominator gives 0 (nothing flagged: precision 0)."""
    f, l = np.asarray(flags, dtype=bool), np.asarray(labels, dtype=bool)
    if f.shape != l.shape:
        raise ValueError(f"flags and labels must have the same shape, got {f.shape} and {l.shape}")
    tp = int(np.sum(f & l))
    precision = tp / int(f.sum()) if f.sum() else 0.0
    recall = tp / int(l.sum()) if l.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


def f1_threshold(scores, labels) -> float:
    """The threshold ``t`` (flag ``scores > t``) with the best F1 against ``labels``; among equal
    F1s the highest. Candidates: just below each score (so that score is flagged) and the
    largest score (nothing flagged)."""
    s = _series(scores, "scores")
    l = np.asarray(labels, dtype=bool)
    if l.shape != s.shape:
        raise ValueError(f"labels must have shape {s.shape}, got {l.shape}")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    order = np.argsort(-s, kind="stable")
    ss, ll = s[order], l[order]
    tp = np.cumsum(ll)                       # flagging the k + 1 largest scores
    k = np.arange(1, len(s) + 1)
    f1 = 2 * tp / (k + l.sum())
    last = np.r_[ss[1:] != ss[:-1], True]    # only cuts between different scores
    f1 = np.where(last, f1, -1.0)
    best = int(np.argmax(f1[::-1]))          # the highest threshold among equal F1s
    best = len(s) - 1 - best
    if f1[best] <= 0:
        return float(ss[0])
    below = ss[best + 1] if best + 1 < len(ss) else ss[best] - 1.0
    return float((ss[best] + below) / 2)


def fpr_threshold(scores, labels, fpr: float) -> float:
    """The lowest threshold ``t`` (flag ``scores > t``) that flags at most a fraction ``fpr`` of
    the normal (unlabelled) steps: the ``k``-th largest normal score, ``k = floor(fpr * n_normal)``
    steps being allowed above it (ties kept below: a score equal to ``t`` is not flagged)."""
    s = _series(scores, "scores")
    l = np.asarray(labels, dtype=bool)
    if l.shape != s.shape:
        raise ValueError(f"labels must have shape {s.shape}, got {l.shape}")
    if not 0 <= float(fpr) < 1:
        raise ValueError(f"fpr must be in [0, 1), got {fpr!r}")
    normal = np.sort(s[~l])[::-1]
    if normal.size == 0:
        raise ValueError("no normal (unlabelled) steps to set a false-positive rate on")
    k = int(np.floor(float(fpr) * normal.size + 1e-9))
    return float(normal[k])
