"""NumPy references of notebook 19 (time series): windows, baselines, the holiday calendar,
anomaly thresholds."""
import numpy as np
import pytest

from course_utils.scratch import timeseries as T


# --------------------------------------------------------------------------- windows

def test_make_windows_shapes_and_values():
    s = np.arange(10.0)
    X, Y = T.make_windows(s, window=3)
    assert X.shape == (7, 3) and Y.shape == (7, 1)
    np.testing.assert_array_equal(X[0], [0, 1, 2])
    np.testing.assert_array_equal(Y[:, 0], np.arange(3, 10))
    X, Y = T.make_windows(s, window=3, horizon=2, stride=2)
    assert X.shape == (3, 3)                                  # starts 0, 2, 4 (4 + 3 + 2 = 9 <= 10)
    np.testing.assert_array_equal(Y, [[3, 4], [5, 6], [7, 8]])
    X, Y = T.make_windows(s, window=9, horizon=2)             # too short: no window
    assert X.shape == (0, 9) and Y.shape == (0, 2)
    X, Y = T.make_windows(s, window=8, horizon=2)             # exactly one
    assert X.shape == (1, 8) and Y[0].tolist() == [8, 9]


def test_make_windows_features_and_targets():
    feats = np.stack([np.arange(6.0), -np.arange(6.0)], axis=1)
    X, Y = T.make_windows(feats, window=2)
    assert X.shape == (4, 2, 2) and Y[:, 0].tolist() == [2, 3, 4, 5]   # first column by default
    X, Y = T.make_windows(feats, window=2, targets=10 * np.arange(6.0))
    assert Y[:, 0].tolist() == [20, 30, 40, 50]


@pytest.mark.parametrize("kwargs, match", [({"window": 0}, "window"), ({"window": 2, "horizon": 0}, "horizon"),
                                           ({"window": 2, "stride": 1.5}, "stride"),
                                           ({"window": 2, "targets": np.ones(3)}, "length")])
def test_make_windows_rejects_bad_input(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        T.make_windows(np.arange(5.0), **kwargs)


def test_make_windows_equals_keras_timeseries_dataset():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    s = rng.normal(size=(50, 3)).astype("float32")
    t = rng.normal(size=50).astype("float32")
    for window, stride in [(5, 1), (7, 3), (1, 2)]:
        ds = keras.utils.timeseries_dataset_from_array(s[:-1], t[window:], sequence_length=window,
                                                       sequence_stride=stride, batch_size=8)
        Xk = np.concatenate([x for x, _ in ds])
        Yk = np.concatenate([y for _, y in ds])
        X, Y = T.make_windows(s, window, stride=stride, targets=t)
        np.testing.assert_array_equal(X, Xk)
        np.testing.assert_array_equal(Y[:, 0], Yk)


# --------------------------------------------------------------------------- baselines

def test_baselines():
    y = np.arange(1.0, 21.0)
    np.testing.assert_array_equal(T.naive_forecast(y)[1:], y[:-1])
    assert np.isnan(T.naive_forecast(y, 3)[:3]).all() and T.naive_forecast(y, 3)[3] == 1
    sn = T.seasonal_naive_forecast(y, 7)
    assert np.isnan(sn[:7]).all() and sn[7] == 1 and sn[19] == 13
    sn9 = T.seasonal_naive_forecast(y, 7, horizon=9)              # horizons 8-14 reach back two weeks
    assert np.isnan(sn9[:14]).all() and sn9[14] == 1
    np.testing.assert_array_equal(T.seasonal_naive_forecast(y, 7, 7), sn)
    ma = T.moving_average_forecast(y, 3)
    assert np.isnan(ma[:3]).all() and ma[3] == 2.0 and ma[19] == 18.0
    ma2 = T.moving_average_forecast(y, 3, horizon=2)
    assert np.isnan(ma2[:4]).all() and ma2[4] == 2.0
    assert np.isnan(T.moving_average_forecast(y[:2], 3)).all()
    # the naive forecast is the moving average of length 1
    np.testing.assert_array_equal(T.moving_average_forecast(y, 1, 4), T.naive_forecast(y, 4))


def test_forecast_mae():
    y = np.array([1.0, 2.0, 4.0])
    assert T.forecast_mae(y, [1.0, 1.0, 1.0]) == pytest.approx(4 / 3)
    assert T.forecast_mae(y, [np.nan, 1.0, 1.0], mask=[False, True, True]) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="NaN"):
        T.forecast_mae(y, [np.nan, 1.0, 1.0])
    with pytest.raises(ValueError, match="same shape"):
        T.forecast_mae(y, [1.0])


# --------------------------------------------------------------------------- calendar

def test_day_of_week_and_nth_weekday_on_known_dates():
    assert T.day_of_week(np.datetime64("2016-08-28")) == 6                    # a Sunday
    assert T.day_of_week(["2001-01-22", "1970-01-01"]).tolist() == [0, 3]
    assert T.nth_weekday(2015, 11, 3, 4) == np.datetime64("2015-11-26")      # Thanksgiving
    assert T.nth_weekday(2012, 11, 3, 4) == np.datetime64("2012-11-22")
    assert T.nth_weekday(2016, 5, 0, -1) == np.datetime64("2016-05-30")      # Memorial Day
    assert T.nth_weekday(2015, 5, 0, -1) == np.datetime64("2015-05-25")
    assert T.nth_weekday(2011, 1, 0, 3) == np.datetime64("2011-01-17")       # MLK Day
    assert T.nth_weekday(2014, 9, 0, 1) == np.datetime64("2014-09-01")       # Labor Day
    assert T.nth_weekday(2016, 2, 0, 3) == np.datetime64("2016-02-15")       # Presidents' Day
    assert T.nth_weekday(2015, 12, 3, -1) == np.datetime64("2015-12-31")     # the last day itself
    with pytest.raises(ValueError, match="no 5th"):
        T.nth_weekday(2015, 2, 0, 5)
    with pytest.raises(ValueError, match="n must"):
        T.nth_weekday(2015, 2, 0, 0)
    with pytest.raises(ValueError, match="month"):
        T.nth_weekday(2015, 13, 0, 1)


def test_observed_day_off_and_calendar():
    got = T.observed_day_off(["2011-01-01", "2016-12-25", "2015-07-04", "2014-12-25"])
    assert [str(d) for d in got] == ["2010-12-31", "2016-12-26", "2015-07-03", "2014-12-25"]
    days, names = T.us_holidays("2015-01-01", "2015-12-31")
    assert len(days) == 9 and names[0] == "New Year's Day"
    assert [str(d) for d in days] == ["2015-01-01", "2015-01-19", "2015-02-16", "2015-05-25", "2015-07-03",
                                      "2015-09-07", "2015-11-26", "2015-11-27", "2015-12-25"]
    assert T.day_of_week(days).max() <= 4                                    # days off are weekdays
    days, names = T.us_holidays("2010-12-30", "2011-01-05")                  # 2011's New Year off in 2010
    assert [str(d) for d in days] == ["2010-12-31"] and names == ["New Year's Day"]
    days, _ = T.us_holidays("2015-07-01", "2015-07-31", observed=False)
    assert [str(d) for d in days] == ["2015-07-04"]
    days, _ = T.us_holidays("2001-01-01", "2016-12-31", names="Veterans Day")
    assert len(days) == 16
    with pytest.raises(ValueError, match="unknown holiday"):
        T.us_holidays("2015-01-01", "2015-12-31", names=("Boxing Day",))


# --------------------------------------------------------------------------- anomalies

def test_scores_and_precision_recall():
    np.testing.assert_array_equal(T.anomaly_scores([1.0, 5.0], [3.0, 3.0]), [2.0, -2.0])
    np.testing.assert_array_equal(T.anomaly_scores([1.0, 5.0], [3.0, 3.0], one_sided=False), [2.0, 2.0])
    p, r, f = T.flag_precision_recall([1, 1, 0, 0], [1, 0, 1, 0])
    assert (p, r, f) == (0.5, 0.5, 0.5)
    assert T.flag_precision_recall([0, 0], [1, 0]) == (0.0, 0.0, 0.0)


def test_f1_threshold_is_the_best_cut():
    rng = np.random.default_rng(1)
    s = rng.normal(size=200)
    lab = rng.random(200) < 0.1
    s[lab] += 2.0
    t = T.f1_threshold(s, lab)
    best = T.flag_precision_recall(s > t, lab)[2]
    for c in np.r_[s, s.max() + 1]:                       # no cut does better
        assert T.flag_precision_recall(s > c - 1e-12, lab)[2] <= best + 1e-12
    assert T.f1_threshold([3.0, 2.0, 1.0], [True, False, False]) == 2.5
    assert T.flag_precision_recall(np.array([1.0, 1.0]) > T.f1_threshold([1.0, 1.0], [True, False]),
                                   [True, False])[2] == pytest.approx(2 / 3)


def test_fpr_threshold():
    s = np.array([0.0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100])
    lab = np.zeros(11, bool)
    lab[-1] = True
    assert T.fpr_threshold(s, lab, 0.0) == 9.0               # no normal day above
    assert T.fpr_threshold(s, lab, 0.2) == 7.0               # 2 of 10 normal days above
    assert T.fpr_threshold(s, lab, 0.25) == 7.0
    t = T.fpr_threshold(np.r_[np.ones(5), 0.0], np.zeros(6, bool), 0.5)
    assert np.mean(np.r_[np.ones(5), 0.0] > t) <= 0.5        # ties stay below
    with pytest.raises(ValueError, match="fpr"):
        T.fpr_threshold(s, lab, 1.0)
