"""Tests for the unrolled-RNN viewer (notebook 15), driven without a browser."""
import io
import time

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils import scratch as S
from course_utils.widgets import unrolled_rnn as ur
from course_utils.widgets.base import is_png


def test_all_bars_at_once_equal_bptt_one_step_at_a_time():
    for act in ur.ACTIVATIONS:
        run = ur.simulate(radius=1.3, input_scale=0.5, activation=act, seed=2)
        for step in (1, 2, 17, ur.STEPS):
            fast = run.bars[step]
            run.bars.pop(step)
            np.testing.assert_allclose(ur.gradient_norms(run, step), fast, rtol=1e-10)
        assert run.bars[ur.STEPS][-1] == pytest.approx(1.0)           # ||readout|| at the loss step


def test_factor_follows_the_radius():
    lin = ur.view(ur.simulate(radius=0.8, activation="linear"), ur.STEPS)
    assert lin.fitted == pytest.approx(0.8, rel=1e-6) and lin.predicted == 0.8
    small = ur.view(ur.simulate(radius=0.9, input_scale=0.01), ur.STEPS)
    assert small.fitted == pytest.approx(0.9, rel=0.02)                # nearly linear regime
    vanish = ur.view(ur.simulate(radius=0.5), ur.STEPS)
    explode = ur.view(ur.simulate(radius=2.5), ur.STEPS)
    assert vanish.fitted < 0.5 < 1.0 < explode.fitted
    assert ur.view(ur.simulate(), 2).fitted != ur.view(ur.simulate(), 2).fitted   # NaN: too few bars to fit
    run = ur.simulate(seed=3)
    np.testing.assert_allclose(run.states, S.rnn_forward(run.x[None], run.W, run.U, run.b)[0][0])


@pytest.fixture(scope="module")
def viewer():
    return ur.UnrolledRNNViewer(radius=1.0)


def test_starts_with_png_of_the_last_step(viewer):
    assert is_png(viewer.png) and viewer.image.value == viewer.png
    assert viewer.state.step == ur.STEPS and "fitted factor" in viewer.status.value


def test_controls_change_the_picture(viewer):
    n_open = len(plt.get_fignums())
    before = viewer.png
    viewer.radius.value = 2.0
    assert viewer.run.radius == 2.0 and viewer.png != before and viewer.state.fitted > 1.0
    viewer.step.value = 10
    assert viewer.state.step == 10 and len(viewer.state.bars) == 10
    viewer.play.value = 10                                   # Play goes round the sequence
    assert viewer.step.value == 11 and viewer.state.step == 11
    time.sleep(0.05)                                         # a tick right after a frame is dropped (base.play_tick)
    viewer.play.value = 10 + ur.STEPS
    assert viewer.step.value == 11
    time.sleep(0.05)
    viewer.play.value = 11 + ur.STEPS
    assert viewer.step.value == 12
    viewer.input_scale.value = 0.1
    assert viewer.run.input_scale == pytest.approx(0.1)
    viewer.activation.value = "linear"
    assert viewer.run.activation == "linear" and viewer.state.predicted == pytest.approx(2.0)
    viewer.step.value = ur.STEPS
    viewer.next_button.click()                               # after the last step: back to the first
    assert viewer.state.step == 1
    viewer.next_button.click()
    assert viewer.state.step == 2
    seed = viewer.seed
    viewer.new_sequence.click()
    assert viewer.seed == seed + 1 and viewer.run.seed == seed + 1
    assert is_png(viewer.png) and len(plt.get_fignums()) == n_open


def test_kept_frame_equals_a_full_draw(viewer):
    from PIL import Image

    def pixels(png):
        return np.asarray(Image.open(io.BytesIO(png)))
    for control, value in [("radius", 0.5), ("step", 25), ("input_scale", 2.0), ("activation", "tanh"), ("step", 3)]:
        getattr(viewer, control).value = value
        np.testing.assert_array_equal(pixels(viewer.png), pixels(viewer.frame.full_png()))
        viewer.refresh()


def test_render_returns_a_figure_and_bad_input_errors():
    fig = ur.render(ur.view(ur.simulate(radius=0.7), 12))
    assert len(fig.axes) == 3
    plt.close(fig)
    with pytest.raises(ValueError, match="radius must be in"):
        ur.UnrolledRNNViewer(radius=10.0)
    with pytest.raises(ValueError, match="activation must be one of"):
        ur.simulate(activation="relu")
    with pytest.raises(TypeError, match="input_scale must be a number"):
        ur.simulate(input_scale="big")
    with pytest.raises(ValueError, match="step must be in"):
        ur.gradient_norms(ur.simulate(), 0)


def test_frames_are_fast_enough():
    v = ur.UnrolledRNNViewer()
    times = []
    for s in list(range(1, 21)):
        t0 = time.perf_counter()
        v.step.value = s
        times.append(time.perf_counter() - t0)
    assert np.median(times) < 0.5            # 100 ms is the target on an idle machine; loose under test load
