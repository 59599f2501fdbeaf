"""The Regularization lab (notebook 08), driven without a browser."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras")

from course_utils.widgets import regularization_lab as RL  # noqa: E402
from course_utils.widgets.base import is_png  # noqa: E402


# --------------------------------------------------------------------------- pure layer

def test_early_stop_point_matches_the_keras_rule():
    assert RL.early_stop_point([], 3) == (None, None)
    assert RL.early_stop_point([1.0, 0.8, 0.85, 0.9, 0.7], 2) == (4, 2)
    assert RL.early_stop_point([0.5, 0.4, 0.45, 0.3], 2) == (None, 4)
    assert RL.early_stop_point([0.5, 0.5, 0.5], 2) == (3, 1)          # equal is not better
    with pytest.raises(ValueError, match="patience"):
        RL.early_stop_point([1.0], -1)


def test_lab_data_shapes_and_cache():
    Xtr, ytr, Xva, yva = RL.lab_data()
    assert Xtr.shape == (500, 784) and Xva.shape == (1000, 784)
    assert Xtr.dtype == np.float32 and 0 <= Xtr.min() and Xtr.max() <= 1
    assert RL.lab_data()[0] is Xtr
    with pytest.raises(ValueError, match="n_train"):
        RL.lab_data(n_train=4990)


def test_run_trains_the_real_keras_model_with_l2_and_dropout():
    run = RL.LabRun(l2=1e-2, rate=0.5)
    run.train(3)
    assert run.epoch == 3 and len(run.history["train_loss"]) == 3
    assert run.history["train_loss"][-1] < run.history["train_loss"][0]
    m = run.model
    assert isinstance(m, keras.Sequential)
    drops = [layer for layer in m.layers if isinstance(layer, keras.layers.Dropout)]
    assert len(drops) == 2 and all(d.rate == 0.5 for d in drops)
    assert len(m.losses) == 3                                   # one L2 penalty per kernel
    tr, inf = run.masks
    assert tr.shape == inf.shape == (RL.MASK_ROWS, RL.MASK_UNITS)
    kept = (tr != 0) & (inf != 0)
    np.testing.assert_allclose(tr[kept], inf[kept] / 0.5, rtol=1e-5)   # kept units scaled by 1/keep
    assert np.all(tr[(inf != 0) & ~kept] == 0)
    # the recorded losses are the inference-mode cross-entropy (no penalty, no dropout)
    Xtr, ytr = run.data[:2]
    p = np.asarray(m(Xtr, training=False))
    ce = -np.log(np.clip(p[np.arange(len(ytr)), ytr], 1e-7, 1)).mean()
    assert run.history["train_loss"][-1] == pytest.approx(ce, rel=1e-5)


def test_curves_per_epoch_do_not_depend_on_how_the_epochs_are_cut():
    a, b = RL.LabRun(1e-3, 0.3), RL.LabRun(1e-3, 0.3)
    a.train(2)
    while b.epoch < 2:
        b.train_steps(2)                     # Play ticks of 2 mini-batches: epochs end mid-tick
        b.train_steps(1)
    assert b.step_in_epoch == 0 or b.epoch == 2
    for k in a.history:
        np.testing.assert_allclose(b.history[k][:2], a.history[k], rtol=1e-6)
    # an unfinished epoch counts as one for train(); the probe's dropout is not the model's
    c = RL.LabRun(0.0, 0.5)
    c.train_steps(3)
    assert (c.epoch, c.step_in_epoch) == (0, 3)
    c.train(1)
    assert (c.epoch, c.step_in_epoch) == (1, 0)
    assert all(c.probe_dropout is not layer for layer in c.model.layers)


def test_runs_start_from_the_same_weights_and_l2_shrinks_them():
    a, b = RL.LabRun(0.0, 0.0), RL.LabRun(3e-2, 0.0)
    np.testing.assert_array_equal(a.kernel, b.kernel)
    a.train(4)
    b.train(4)
    assert np.abs(b.kernel).mean() < np.abs(a.kernel).mean()


@pytest.mark.parametrize("kwargs, match", [({"l2": 0.5}, "l2 must be one of"), ({"rate": 0.35}, "keep-probability"),
                                           ({"rate": "x"}, "rate must be a number")])
def test_run_rejects_bad_settings(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        RL.LabRun(**kwargs)


# --------------------------------------------------------------------------- widget

def test_widget_controls_train_and_cache():
    n_figs = len(plt.get_fignums())
    lab = RL.RegularizationLab(l2=0.0, rate=0.0)
    assert is_png(lab.image.value) and lab.run.epoch == 0
    lab.w_train.click()
    assert lab.run.epoch == 5
    png = lab.image.value
    lab.w_l2.value = 1e-2                                    # a new setting: shown at once, not trained
    assert lab.run.epoch == 0 and lab.run.l2 == 1e-2
    assert lab.image.value != png and is_png(lab.image.value)
    lab._last_tick = 0.0
    lab.w_play.value = 1                                     # one Play tick: STEPS_PER_TICK mini-batches
    assert lab.run.epoch == 0 and lab.run.step_in_epoch == RL.STEPS_PER_TICK
    for tick in range(2, 2 + lab.run.steps_per_epoch):      # enough ticks for an epoch to end
        lab._last_tick = 0.0
        lab.w_play.value = tick
    assert lab.run.epoch >= 1 and len(lab.run.history["val_loss"]) == lab.run.epoch
    lab.w_l2.value = 0.0                                     # back: the cached run, 5 epochs
    assert lab.run.epoch == 5
    before = lab.image.value
    lab.w_patience.value = 1                                 # patience only reads the curves
    assert lab.run.epoch == 5 and lab.image.value != before
    assert "early stopping" in lab.status.value
    lab.w_reset.click()
    assert lab.run.epoch == 0
    lab.w_rate.value = 0.7
    assert lab.run.rate == 0.7
    assert len(plt.get_fignums()) == n_figs


def test_frame_equals_full_draw_and_render():
    lab = RL.RegularizationLab(l2=1e-3, rate=0.3, epochs=3)
    lab.w_patience.value = 2
    fast = np.asarray(lab.frame.canvas.buffer_rgba()).copy()
    lab.frame.full_png()
    full = np.asarray(lab.frame.canvas.buffer_rgba())
    assert fast.shape == full.shape
    diff = np.abs(fast.astype(int) - full.astype(int))
    assert diff.max() <= 16 and np.mean(np.any(diff > 0, axis=-1)) < 0.002   # the same picture, to rounding
    fig = lab.render()
    assert len(fig.axes) == 4
    plt.close(fig)


def test_play_frames_paste_unchanged_texts_and_equal_a_full_draw():
    lab = RL.RegularizationLab(l2=1e-3, rate=0.3, steps=1)
    for tick in range(1, 9):                 # 8 mini-batches: one epoch ends, one is under way
        lab._last_tick = 0.0
        before = lab.image.value
        lab.w_play.value = tick
        assert lab.image.value != before     # every tick is a new picture (a new mask)
    assert (lab.run.epoch, lab.run.step_in_epoch) == (1, 3)
    pic = lab.picture
    titles = [pic.stamps[id(t)].draws for t in (pic.ax.title, pic.bx.title, pic.cx.title, pic.dx.title,
                                                pic.suptitle)]
    assert titles == [1] * 5                 # drawn once, then pasted
    # the gap box: "not trained yet", "first epoch under way", then epoch 1 (not once a tick)
    assert pic.stamps[id(pic.gap_text)].draws == 3
    assert lab.frame.full_draws == 1
    fast = np.asarray(lab.frame.canvas.buffer_rgba()).copy()
    lab.frame.full_png()
    full = np.asarray(lab.frame.canvas.buffer_rgba())
    diff = np.abs(fast.astype(int) - full.astype(int))
    assert diff.max() <= 16 and np.mean(np.any(diff > 0, axis=-1)) < 0.002
    lab.w_rate.value = 0.5                   # a control change after the full draw: still right
    fast = np.asarray(lab.frame.canvas.buffer_rgba()).copy()
    lab.frame.full_png()
    diff = np.abs(fast.astype(int) - np.asarray(lab.frame.canvas.buffer_rgba()).astype(int))
    assert diff.max() <= 16 and np.mean(np.any(diff > 0, axis=-1)) < 0.002
    assert lab.w_play.max * lab._steps >= RL.MAX_EPOCHS * lab.run.steps_per_epoch


def test_widget_rejects_bad_arguments():
    with pytest.raises(ValueError, match="patience"):
        RL.RegularizationLab(patience=0)
    with pytest.raises(ValueError, match="chunk"):
        RL.RegularizationLab(chunk=0)
    with pytest.raises(ValueError, match="rate"):
        RL.RegularizationLab(rate=0.4)
    with pytest.raises(ValueError, match="epochs"):
        RL.LabRun().train(0)
    with pytest.raises(ValueError, match="steps"):
        RL.LabRun().train_steps(0)
    with pytest.raises(ValueError, match="steps"):
        RL.RegularizationLab(steps=0)
