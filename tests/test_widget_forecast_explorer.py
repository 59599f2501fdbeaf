"""The forecast explorer (notebook 19), driven without a browser."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils.scratch import timeseries as T  # noqa: E402
from course_utils.widgets import forecast_explorer as F  # noqa: E402
from course_utils.widgets.base import is_png  # noqa: E402


@pytest.fixture(scope="module")
def series():
    days = np.arange(np.datetime64("2014-01-01"), np.datetime64("2015-12-31"))
    wd = T.day_of_week(days)
    y = np.where(wd < 5, 20.0, 5.0) + np.sin(np.arange(len(days)) / 30.0)
    hol, _ = T.us_holidays(days[0], days[-1])
    lab = np.isin(days, hol)
    y[lab] = 3.0
    return days, y, lab


@pytest.fixture(scope="module")
def book(series):
    days, y, lab = series
    perfect = np.where(lab, 20.0, y)              # knows every normal day, expects a weekday on holidays
    direct = np.stack([perfect] * 3, axis=1)
    return F.ForecastBook(days, y, {("oracle", 28): direct, ("oracle", 14): direct - 0.5, "one day": perfect},
                          labels=lab, windows=(7, 28), horizon=7)


# --------------------------------------------------------------------------- pure layer

def test_book_baselines_are_the_scratch_references(book, series):
    days, y, _ = series
    f, used, note = book.forecast("seasonal-naive", 28, 9 if book.horizon >= 9 else 7)
    np.testing.assert_array_equal(f, T.seasonal_naive_forecast(y, 7, 7))
    assert used is None and note == ""
    f, used, _ = book.forecast("moving average", 7, 2)
    np.testing.assert_allclose(f, T.moving_average_forecast(y, 7, 2), equal_nan=True)
    assert book.windows == (7, 14, 28)                                  # the models' windows are added
    assert book.models == ("seasonal-naive", "naive", "moving average", "oracle", "one day")


def test_book_nearest_window_and_missing_horizon(book):
    f, used, note = book.forecast("oracle", 7, 1)
    assert used == 14 and "window 14" in note                           # the nearest trained window
    f, used, note = book.forecast("oracle", 28, 5)                      # trained for 3 days ahead only
    assert np.isnan(f).all() and "3 day" in note
    f, used, note = book.forecast("one day", 28, 1)
    assert used is None and not np.isnan(f).all()


def test_range_summary_scores_flags_against_labels(book, series):
    days, y, lab = series
    st = F.State("oracle", 28, 1, (0, len(book.months) - 1), 5.0)
    s = F.range_summary(book, st)
    assert s["precision"] == 1.0 and s["recall"] == 1.0
    assert s["tp"] == lab[7:].sum() and s["n"] == len(y) - 7        # seasonal-naive starts on day 8
    assert s["mae"] == pytest.approx(np.mean(np.abs(np.where(lab, 20.0, y) - y)[7:]))
    assert len(s["other_days"]) == 0
    s = F.range_summary(book, F.State("oracle", 28, 1, (0, 0), 100.0))  # January 2014 only, nothing flagged
    assert s["n"] == 31 - 7 and s["n_flags"] == 0 and s["precision"] == 0.0


@pytest.mark.parametrize("kwargs, match", [
    ({"forecasts": {"naive": np.zeros(730)}}, "names must be"),
    ({"forecasts": {"x": np.zeros(10)}}, "shape"),
    ({"labels": np.zeros(3, bool)}, "labels"),
    ({"horizon": 0}, "horizon")])
def test_book_rejects_bad_input(series, kwargs, match):
    days, y, _ = series
    with pytest.raises(ValueError, match=match):
        F.ForecastBook(days, y, **kwargs)


def test_book_rejects_gaps(series):
    days, y, _ = series
    with pytest.raises(ValueError, match="consecutive"):
        F.ForecastBook(np.r_[days[:100], days[101:200]], y[:199])


# --------------------------------------------------------------------------- widget

def test_widget_controls_change_the_picture(book):
    n_figs = len(plt.get_fignums())
    w = F.ForecastExplorer(book, model="oracle", window=28, start="2014-10", end="2015-01", threshold=5.0)
    assert is_png(w.image.value) and w.state.months == (9, 12)
    assert w.summary["recall"] == 1.0
    png = w.image.value
    w.w_threshold.value = 17.5                                          # nothing flagged
    assert w.state.threshold == 17.5 and w.summary["n_flags"] == 0 and w.image.value != png
    png = w.image.value
    w.w_model.value = "seasonal-naive"
    assert w.state.model == "seasonal-naive" and w.image.value != png
    w.w_horizon.value = 5
    assert w.state.horizon == 5
    w.w_window.value = 7
    assert w.state.window == 7
    png = w.image.value
    w.w_range.index = (0, 3)
    assert w.state.months == (0, 3) and w.image.value != png and is_png(w.image.value)
    w.w_threshold.value = 2.0
    assert "flagged" in w.status.value
    # the kept picture equals a full draw of the same figure
    assert w.frame.png(w.picture.live, None, {w.picture.ax: w.state.months, w.picture.bx: w.state.months}) \
        == w.frame.full_png()
    fig = w.render()
    plt.close(fig)
    assert len(plt.get_fignums()) == n_figs


def test_widget_rejects_bad_settings(book):
    with pytest.raises(ValueError, match="unknown model"):
        F.ForecastExplorer(book, model="prophet")
    with pytest.raises(ValueError, match="window"):
        F.ForecastExplorer(book, window=5)
    with pytest.raises(ValueError, match="month"):
        F.ForecastExplorer(book, start="1999-01")
    with pytest.raises(TypeError, match="ForecastBook"):
        F.ForecastExplorer({"y": 1})
    w = F.ForecastExplorer(book)
    with pytest.raises(ValueError, match="unknown setting"):
        w.set(colour="red")
    with pytest.raises(ValueError, match="horizon"):
        w.set(horizon=99)


def test_demo_book_uses_the_bundled_series():
    b = F.demo_book()
    assert len(b.y) == 5698 and b.labels.sum() > 100
    w = F.ForecastExplorer(b, start="2011-01", end="2011-03", threshold=8.0)
    assert any(str(d) == "2011-02-02" for d in w.summary["other_days"])   # the blizzard, not a holiday


def test_demo_explorer_range_slider_value():
    w = F.demo_explorer()
    assert w.state.model == "seasonal-naive"
    w.w_range.value = (120, 124)                  # the options' values are month indices (as the benchmark sets them)
    assert w.state.months == (120, 124) and tuple(w.w_range.index) == (120, 124)
    assert w.summary["slice"].stop - w.summary["slice"].start > 120
