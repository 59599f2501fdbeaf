"""Forecast explorer (notebook 19): window, horizon and model; forecast vs truth vs seasonal-naive;
an anomaly threshold on the forecast error, scored against labelled days.

Three layers, as every widget of the course:

1. pure (NumPy, no ipywidgets, no Keras): :class:`ForecastBook` holds the series, the labelled
   days (holidays) and every forecast, precomputed: the baselines of
   :mod:`course_utils.scratch.timeseries` (naive, seasonal-naive, moving average) for every
   window and horizon, and the arrays the notebook computed once with its trained Keras models
   (``model(x, training=False)`` on all windows); :func:`range_summary` scores one choice on a
   date range (MAE of the model and of seasonal-naive, precision / recall / F1 of the flags
   ``forecast - actual > threshold`` against the labels);
2. :func:`render` ``(book, state) -> Figure``, drawn by :class:`ForecastPicture`, which the widget
   keeps: the axes change only with the date range; a model, window, horizon or threshold change
   moves lines and markers and pastes unchanged texts (:class:`~course_utils.widgets.base.Frame`);
3. :class:`ForecastExplorer`, the thin widget: model, window and horizon controls, a date range
   (months) and the threshold slider; every change only looks up arrays.

Example
-------
>>> book = ForecastBook(dates, y, {("dense", 28): direct_forecasts}, labels=is_holiday)
>>> ForecastExplorer(book, start="2014-10", end="2015-01", threshold=4.0)
"""
from __future__ import annotations

import html
from dataclasses import dataclass, replace

import numpy as np

from .base import Explorer, TextStamp, in_draw_order

__all__ = ["BASELINES", "ForecastBook", "State", "range_summary", "ForecastPicture", "render",
           "ForecastExplorer", "demo_book", "demo_explorer"]

#: the NumPy baselines every book has; "moving average" depends on the window, the others do not
BASELINES = ("seasonal-naive", "naive", "moving average")
FIGSIZE = (11.0, 5.6)
MAX_LISTED = 6          # flagged days outside the labels listed under the picture


def _check_int(name, v, lo, hi=None):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo or (hi is not None and v > hi):
        raise ValueError(f"{name} must be an int in [{lo}, {hi if hi is not None else '...'}], got {v!r}")
    return int(v)


class ForecastBook:
    """A series and its forecasts, all precomputed (layer 1).

    Parameters
    ----------
    dates : datetime64[D] array (n,)   consecutive days
    y : array (n,)                     the series (here: thousands of entries a day)
    forecasts : dict, optional         ``{(name, window): array (n, H)}`` or ``{name: array (n, H)}``
                                       (a model trained on one window): column ``h - 1`` holds the
                                       forecast of ``y[i]`` made ``h`` days before, NaN where none;
                                       fewer than ``horizon`` columns mean "not for longer horizons"
    labels : bool array (n,), optional the labelled anomalies (holidays)
    windows : tuple of int             the window lengths offered (moving average, and the models'
                                       windows are added)
    horizon : int                      the longest horizon offered
    season : int                       the seasonal-naive period (7: a week of daily data)
    """

    def __init__(self, dates, y, forecasts=None, labels=None, windows=(7, 14, 28), horizon: int = 7,
                 season: int = 7, label_name: str = "holiday"):
        from ..scratch import timeseries as T
        self.dates = np.asarray(dates, dtype="datetime64[D]")
        self.y = np.asarray(y, dtype=np.float64)
        if self.dates.ndim != 1 or self.y.shape != self.dates.shape:
            raise ValueError(f"dates and y must be 1-D of the same length, got {self.dates.shape} and {self.y.shape}")
        if len(self.y) < 30 or np.any(np.diff(self.dates).astype(int) != 1):
            raise ValueError("dates must be at least 30 consecutive days")
        self.horizon = _check_int("horizon", horizon, 1, 60)
        self.season = _check_int("season", season, 1)
        n = len(self.y)
        if labels is None:
            self.labels = np.zeros(n, bool)
        else:
            self.labels = np.asarray(labels, dtype=bool)
            if self.labels.shape != (n,):
                raise ValueError(f"labels must be a boolean array of shape ({n},), got {self.labels.shape}")
        self.label_name = str(label_name)
        self.forecasts = {}
        wins = set(_check_int("window", w, 1, n - 1) for w in windows)
        for key, arr in (forecasts or {}).items():
            name, window = key if isinstance(key, tuple) else (key, None)
            if not isinstance(name, str) or name in BASELINES:
                raise ValueError(f"forecast names must be strings other than {BASELINES}, got {name!r}")
            a = np.asarray(arr, dtype=np.float64)
            if a.ndim == 1:
                a = a[:, None]
            if a.ndim != 2 or a.shape[0] != n or not 1 <= a.shape[1]:
                raise ValueError(f"forecasts[{key!r}] must have shape ({n}, horizons), got {np.shape(arr)}")
            if window is not None:
                wins.add(_check_int("window", window, 1, n - 1))
            self.forecasts[(name, window)] = a[:, : self.horizon]
        self.windows = tuple(sorted(wins))
        H = self.horizon
        self._base = {}
        for h in range(1, H + 1):
            self._base[("seasonal-naive", None, h)] = T.seasonal_naive_forecast(self.y, self.season, h)
            self._base[("naive", None, h)] = T.naive_forecast(self.y, h)
            for w in self.windows:
                self._base[("moving average", w, h)] = T.moving_average_forecast(self.y, w, h)
        self.x = self.dates.astype("int64").astype(np.float64)   # matplotlib's date numbers (epoch 1970)
        self.months = np.unique(self.dates.astype("datetime64[M]"))

    @property
    def models(self) -> tuple:
        names = list(BASELINES)
        for name, _ in self.forecasts:
            if name not in names:
                names.append(name)
        return tuple(names)

    def model_windows(self, name: str) -> tuple:
        """The windows ``name`` has forecasts for (``(None,)``: it does not use one)."""
        if name == "moving average":
            return self.windows
        if name in ("seasonal-naive", "naive"):
            return (None,)
        wins = tuple(sorted({w for (m, w) in self.forecasts if m == name}, key=lambda w: (w is None, w or 0)))
        if not wins:
            raise ValueError(f"unknown model {name!r}; known: {self.models}")
        return wins

    def forecast(self, name: str, window: int, horizon: int):
        """``(forecast (n,), window used or None, note)``: the forecast of every day ``horizon``
        days ahead. A model without that window uses its nearest one; a model without that
        horizon gives NaN everywhere (the note says so)."""
        if name not in self.models:
            raise ValueError(f"unknown model {name!r}; known: {self.models}")
        horizon = _check_int("horizon", horizon, 1, self.horizon)
        wins = self.model_windows(name)
        used = None if wins == (None,) else min(wins, key=lambda w: (abs((w or 0) - window), w or 0))
        note = ""
        if used is not None and used != window:
            note = f"{name} has no window {window}: window {used} shown"
        if name in BASELINES:
            return self._base[(name, used, horizon)], used, note
        a = self.forecasts[(name, used)]
        if horizon > a.shape[1]:
            return np.full(len(self.y), np.nan), used, f"{name} forecasts {a.shape[1]} day(s) ahead at most"
        return a[:, horizon - 1], used, note

    def month_index(self, month) -> int:
        m = np.datetime64(month, "M")
        i = int(np.searchsorted(self.months, m))
        if i >= len(self.months) or self.months[i] != m:
            raise ValueError(f"month {month!r} is not in the series ({self.months[0]} to {self.months[-1]})")
        return i

    def day_range(self, m0: int, m1: int) -> slice:
        """Days from the first of month ``m0`` to the end of month ``m1`` (indices into months)."""
        if not 0 <= m0 <= m1 < len(self.months):
            raise ValueError(f"month range must satisfy 0 <= start <= end < {len(self.months)}, got ({m0}, {m1})")
        a = self.months[m0].astype("datetime64[D]")
        b = (self.months[m1] + 1).astype("datetime64[D]")
        return slice(int(np.searchsorted(self.dates, a)), int(np.searchsorted(self.dates, b)))


@dataclass(frozen=True)
class State:
    model: str = "seasonal-naive"
    window: int = 28
    horizon: int = 1
    months: tuple = (0, 2)      # (first, last) index into book.months
    threshold: float = 4.0


def range_summary(book: ForecastBook, state: State) -> dict:
    """Scores of ``state`` on its date range: MAE of the model and of seasonal-naive (on the days
    both forecast), and the flags ``forecast - actual > threshold`` against the labels."""
    from ..scratch import timeseries as T
    f, used, note = book.forecast(state.model, state.window, state.horizon)
    sn = book.forecast("seasonal-naive", state.window, state.horizon)[0]
    sl = book.day_range(*state.months)
    y, lab = book.y[sl], book.labels[sl]
    f, sn = f[sl], sn[sl]
    ok = ~np.isnan(f) & ~np.isnan(sn)
    score = f - y
    flags = ok & (score > state.threshold)
    p, r, f1 = T.flag_precision_recall(flags[ok], lab[ok]) if ok.any() else (0.0, 0.0, 0.0)
    other = np.flatnonzero(flags & ~lab)
    return {"slice": sl, "window": used, "note": note, "n": int(ok.sum()),
            "mae": float(np.mean(np.abs(score[ok]))) if ok.any() else np.nan,
            "mae_sn": float(np.mean(np.abs(sn[ok] - y[ok]))) if ok.any() else np.nan,
            "flags": flags, "score": score, "forecast": f, "snaive": sn,
            "precision": p, "recall": r, "f1": f1, "n_flags": int(flags.sum()), "n_labels": int(lab[ok].sum()),
            "tp": int(np.sum(flags & lab)), "other_days": book.dates[sl][other]}


# --------------------------------------------------------------------------- picture

class ForecastPicture:
    """The explorer's figure, built once and updated in place (layer 2).

    Top: the truth (black), the chosen forecast and seasonal-naive at the same horizon, labelled
    days (grey triangles) and flagged days (red rings). Bottom: the anomaly score
    ``forecast - actual`` with the threshold. The axes' limits change only with the date range
    (the key of the kept background); everything else is live.
    """

    def __init__(self, fig, book: ForecastBook):
        self.fig, self.book = fig, book
        fig.set_size_inches(*FIGSIZE)
        gs = fig.add_gridspec(2, 1, height_ratios=[1.7, 1.0], hspace=0.08)
        ax = self.ax = fig.add_subplot(gs[0])
        bx = self.bx = fig.add_subplot(gs[1], sharex=ax)
        ytop = float(np.nanmax(book.y)) * 1.08
        self.ytop = ytop
        (self.l_true,) = ax.plot([], [], "-", color="black", lw=1.1, label="actual")
        (self.l_sn,) = ax.plot([], [], "-", color="0.55", lw=1.0, alpha=0.9, label="seasonal-naive")
        (self.l_fc,) = ax.plot([], [], "-", color="C0", lw=1.4, label="forecast")
        (self.m_lab,) = ax.plot([], [], "^", color="0.45", ms=6, ls="none", label=f"{book.label_name} (label)",
                               zorder=1.9)   # under the live lines, as in the kept background
        (self.m_flag,) = ax.plot([], [], "o", mfc="none", mec="red", mew=1.6, ms=9, ls="none",
                                 label="flagged (score > threshold)")
        ax.set_ylim(0, ytop)
        ax.set_yticks(np.arange(0, ytop, 10.0))
        ax.set_ylabel("value")
        ax.grid(alpha=0.3)
        # a figure legend: not redrawn with the axes when the date range changes
        self.legend = fig.legend(handles=[self.l_true, self.l_sn, self.l_fc, self.m_lab, self.m_flag],
                                 loc="upper left", bbox_to_anchor=(0.065, 0.995), ncol=5, fontsize=8.5,
                                 frameon=False)
        ax.tick_params(labelbottom=False)
        spread = float(np.nanmax(book.y) - np.nanmin(book.y))
        (self.l_score,) = bx.plot([], [], "-", color="C0", lw=1.0)
        (self.m_score,) = bx.plot([], [], "o", color="red", ms=4, ls="none")
        self.h_thr = bx.axhline(0.0, color="red", ls="--", lw=1.2)
        bx.axhline(0.0, color="0.6", lw=0.8, zorder=1.9)
        bx.set_ylim(-0.45 * spread, 0.9 * spread)
        bx.set_yticks(np.arange(-10.0 * (0.45 * spread // 10), 0.9 * spread, 10.0))
        bx.set_ylabel("forecast − actual")
        bx.grid(alpha=0.3)
        # the texts lie on the plain figure, not over the axes: unchanged, they are pasted
        self.t_title = fig.text(0.065, 0.905, " ", ha="left", va="center", fontsize=10)
        self.t_score = fig.text(0.99, 0.905, " ", ha="right", va="center", fontsize=9.5)
        fig.subplots_adjust(left=0.065, right=0.99, bottom=0.07, top=0.86)
        st = self.stamps = {id(t): TextStamp(t) for t in (self.t_title, self.t_score)}
        # live parts in drawing order, with the spines that lie over them
        self.live = (in_draw_order(ax, [self.l_sn, self.l_fc, self.m_flag, *ax.spines.values()])
                     + in_draw_order(bx, [self.l_score, self.m_score, self.h_thr, *bx.spines.values()])
                     + [st[id(self.t_title)], st[id(self.t_score)]])

    def update(self, state: State):
        b, s = self.book, range_summary(self.book, state)
        sl = s["slice"]
        x = b.x[sl]
        self.l_fc.set_data(x, s["forecast"])
        self.l_sn.set_data(x, s["snaive"])
        fl = s["flags"]
        self.m_flag.set_data(x[fl], b.y[sl][fl])
        self.l_score.set_data(x, s["score"])
        self.m_score.set_data(x[fl], s["score"][fl])
        self.h_thr.set_ydata([state.threshold] * 2)
        win = "" if s["window"] is None else f", window {s['window']}"
        title = (f"{state.model}{win}, {state.horizon} day(s) ahead: MAE {s['mae']:.2f} "
                 f"(seasonal-naive {s['mae_sn']:.2f}) over {s['n']} days")
        if s["note"]:
            title += f"\n{s['note']}"
        self.t_title.set_text(title)
        self.t_score.set_text(f"threshold {state.threshold:.1f}: {s['n_flags']} flagged, {s['tp']} of "
                              f"{s['n_labels']} {b.label_name}s\nprecision {s['precision']:.2f}  recall "
                              f"{s['recall']:.2f}  F1 {s['f1']:.2f}")
        return (sl.start, sl.stop)       # the axes' limits: the background's key

    def set_limits(self, state: State):
        """The date range: the axes' limits, month ticks and the static data in view (the
        background of the kept picture; cheap fixed ticks instead of a date locator)."""
        b = self.book
        sl = b.day_range(*state.months)
        x = b.x[sl]
        self.l_true.set_data(x, b.y[sl])
        lab = np.flatnonzero(b.labels[sl])
        self.m_lab.set_data(x[lab], np.full(len(lab), 0.03 * self.ytop))
        self.ax.set_xlim(x[0] - 0.5, x[-1] + 0.5)
        m0, m1 = state.months
        step = -(-(m1 - m0 + 1) // 8)                        # at most 8 month ticks
        months = b.months[m0:m1 + 1:step]
        ticks = months.astype("datetime64[D]").astype("int64").astype(float)
        names = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
        labels = []
        for k, m in enumerate(months):
            year, month = int(str(m)[:4]), int(str(m)[5:7])
            labels.append(f"{names[month - 1]}\n{year}" if k == 0 or month <= step else names[month - 1])
        self.bx.set_xticks(ticks, labels)


def render(book: ForecastBook, state: State | None = None):
    """Figure of one state (a full draw, for notebooks and tests)."""
    import matplotlib.pyplot as plt
    state = state or State()
    fig = plt.figure(figsize=FIGSIZE)
    pic = ForecastPicture(fig, book)
    pic.update(state)
    pic.set_limits(state)
    return fig


# --------------------------------------------------------------------------- widget

class ForecastExplorer(Explorer):
    """Model, window, horizon, date range and anomaly threshold over a :class:`ForecastBook`.

    Parameters
    ----------
    book : ForecastBook
    model : str             the model shown first (default: the last one the notebook added)
    window, horizon : int   the initial window and horizon
    start, end : str        the first and last month shown ("2014-10")
    threshold : float       the initial anomaly threshold (same units as the series)
    """

    def __init__(self, book: ForecastBook, model: str | None = None, window: int | None = None,
                 horizon: int = 1, start: str | None = None, end: str | None = None, threshold: float = 4.0):
        if not isinstance(book, ForecastBook):
            raise TypeError(f"book must be a ForecastBook, got {type(book).__name__}")
        self.book = book
        model = model or book.models[-1]
        if model not in book.models:
            raise ValueError(f"unknown model {model!r}; known: {book.models}")
        window = window if window is not None else book.windows[-1]
        if window not in book.windows:
            raise ValueError(f"window must be one of {book.windows}, got {window!r}")
        m1 = book.month_index(end) if end is not None else len(book.months) - 1
        m0 = book.month_index(start) if start is not None else max(0, m1 - 2)
        if m0 > m1:
            raise ValueError(f"start ({start}) must not be after end ({end})")
        self.spread = float(np.nanmax(book.y) - np.nanmin(book.y))
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise TypeError(f"threshold must be a number, got {threshold!r}") from None
        self.state = State(model, int(window), _check_int("horizon", horizon, 1, book.horizon), (m0, m1),
                           threshold)
        self.picture = None
        super().__init__()

    def _build_controls(self):
        W, b, s = self._W, self.book, self.state
        style = {"description_width": "80px"}
        self.w_model = W.Dropdown(options=list(b.models), value=s.model, description="model", style=style)
        self.w_window = W.SelectionSlider(options=list(b.windows), value=s.window, description="window",
                                          style=style)
        self.w_horizon = W.IntSlider(value=s.horizon, min=1, max=b.horizon, description="horizon (days)",
                                     style={"description_width": "100px"})
        labels = [str(m) for m in b.months]
        self.w_range = W.SelectionRangeSlider(options=[(lab, i) for i, lab in enumerate(labels)],
                                              index=s.months, description="months", style=style,
                                              layout=W.Layout(width="560px"))
        self.w_threshold = W.FloatSlider(value=s.threshold, min=0.0, max=round(self.spread, 1), step=0.1,
                                         description="threshold", style=style, layout=W.Layout(width="560px"))
        for w, cb in ((self.w_model, self._on_model), (self.w_window, self._on_window),
                      (self.w_horizon, self._on_horizon), (self.w_range, self._on_range),
                      (self.w_threshold, self._on_threshold)):
            w.observe(cb, names="value")
        self.controls = [W.HBox([self.w_model, self.w_window, self.w_horizon]), self.w_range, self.w_threshold]

    # -- callbacks: one method each ---------------------------------------------------
    def _on_model(self, change):
        self.set(model=change["new"])

    def _on_window(self, change):
        self.set(window=change["new"])

    def _on_horizon(self, change):
        self.set(horizon=change["new"])

    def _on_range(self, change):
        self.set(months=tuple(int(i) for i in change["new"]))   # the options' values are month indices

    def _on_threshold(self, change):
        self.set(threshold=float(change["new"]))

    # -- actions ---------------------------------------------------------------------
    def set(self, **changes) -> None:
        """Change the state (``model``, ``window``, ``horizon``, ``months``, ``threshold``) and redraw."""
        unknown = set(changes) - set(State.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; known: {sorted(State.__dataclass_fields__)}")
        new = replace(self.state, **changes)
        if new.model not in self.book.models:
            raise ValueError(f"unknown model {new.model!r}; known: {self.book.models}")
        if new.window not in self.book.windows:
            raise ValueError(f"window must be one of {self.book.windows}, got {new.window!r}")
        _check_int("horizon", new.horizon, 1, self.book.horizon)
        self.book.day_range(*new.months)
        self.state = new
        self.refresh()

    @property
    def summary(self) -> dict:
        return range_summary(self.book, self.state)

    # -- picture -----------------------------------------------------------------------
    def render(self):
        self._update_status()
        return render(self.book, self.state)

    def render_png(self):
        self._update_status()
        state = self.state

        if self.picture is None:
            from matplotlib.figure import Figure
            from .base import Frame
            fig = Figure()
            self.frame = Frame(fig, self.dpi)
            self.picture = ForecastPicture(fig, self.book)
        self.picture.update(state)
        self.picture.set_limits(state)
        # each axes is a panel: a new date range redraws the two axes alone, not the legend
        return self.frame.png(self.picture.live, key=None,
                              panels={self.picture.ax: state.months, self.picture.bx: state.months})

    def _update_status(self):
        s = range_summary(self.book, self.state)
        days = s["other_days"]
        if len(days):
            from ..scratch.timeseries import day_of_week
            names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
            listed = ", ".join(f"{d} ({names[int(day_of_week(d))]})" for d in days[:MAX_LISTED])
            more = f" and {len(days) - MAX_LISTED} more" if len(days) > MAX_LISTED else ""
            other = f"flagged days that are not {html.escape(self.book.label_name)}s: {listed}{more}"
        else:
            other = f"every flagged day is a {html.escape(self.book.label_name)}"
        self.status.value = f"<small>{other}</small>"


def demo_book(horizon: int = 7) -> ForecastBook:
    """A book with only the NumPy baselines on the Chicago ridership series (the bundled data),
    holidays (:func:`course_utils.scratch.us_holidays`) as labels: for tests and benchmarks."""
    from .. import data
    from ..scratch import timeseries as T
    ds = data.load("chicago_ridership", verbose=False)
    days, _ = T.us_holidays(ds.X[0], ds.X[-1])
    return ForecastBook(ds.X, ds.y, labels=np.isin(ds.X, days), horizon=horizon)


def demo_explorer(**kwargs) -> ForecastExplorer:
    """The explorer on :func:`demo_book` (baselines only), October 2014 to January 2015: for
    benchmarks and the browser test."""
    kwargs = {"model": "seasonal-naive", "start": "2014-10", "end": "2015-01", "threshold": 6.0, **kwargs}
    return ForecastExplorer(demo_book(), **kwargs)
