"""Tests for the Optimizer race widget (notebook 05), driven without a browser."""
import matplotlib.pyplot as plt
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from course_utils import scratch  # noqa: E402
from course_utils.widgets import optimizer_race as orc  # noqa: E402
from course_utils.widgets.base import is_png  # noqa: E402


# ----------------------------------------------------------------- pure layer

@pytest.mark.parametrize("key", sorted(orc.SURFACES))
def test_surface_gradient_matches_finite_differences(key):
    s = orc.SURFACES[key]
    rng = np.random.default_rng(0)
    for _ in range(5):
        w = np.array([rng.uniform(*s.xlim), rng.uniform(*s.ylim)])
        h = 1e-6
        num = np.array([(s.value(w + h * e) - s.value(w - h * e)) / (2 * h) for e in np.eye(2)])
        np.testing.assert_allclose(s.grad(w), num, rtol=1e-5, atol=1e-5)
    for m in s.minima:  # the minima are stationary points with the stated value
        np.testing.assert_allclose(s.grad(np.array(m)), [0.0, 0.0], atol=1e-12)
        assert s.value(np.array(m)) == pytest.approx(s.f_min)
    with pytest.raises(ValueError, match="shape"):
        s.grad(np.zeros(3))


def _independent_keras_first_step(name, start, g, lr_sgd, lr_adaptive, momentum):
    """Built here from keras.optimizers directly, not through the widget module."""
    opt = {"SGD": lambda: keras.optimizers.SGD(learning_rate=lr_sgd),
           "Momentum": lambda: keras.optimizers.SGD(learning_rate=lr_sgd, momentum=momentum),
           "RMSprop": lambda: keras.optimizers.RMSprop(learning_rate=lr_adaptive),
           "Adam": lambda: keras.optimizers.Adam(learning_rate=lr_adaptive)}[name]()
    v = keras.Variable(np.array(start, dtype=np.float64), dtype="float64")
    opt.apply([g], [v])
    return np.array(v.numpy())


@pytest.mark.parametrize("key", sorted(orc.SURFACES))
def test_first_step_of_each_racer_equals_scratch_and_keras(key):
    s = orc.SURFACES[key]
    start = (s.start[0] + 0.3, s.start[1] - 0.2)
    lr_sgd, lr_adaptive, momentum = s.lr_sgd * 2, s.lr_adaptive / 2, 0.8
    race = orc.Race(key, start=start, lr_sgd=lr_sgd, lr_adaptive=lr_adaptive, momentum=momentum)
    race.step(1)
    w0 = np.array(start)
    g = s.grad(w0)
    lr = {"SGD": lr_sgd, "Momentum": lr_sgd, "RMSprop": lr_adaptive, "Adam": lr_adaptive}
    by_hand = {  # the first update of each rule, written out (state starts at zero)
        "SGD": w0 - lr_sgd * g,
        "Momentum": w0 - lr_sgd * g,                       # u = 0*m - lr*g
        "RMSprop": w0 - lr_adaptive * g / np.sqrt(0.1 * g * g + 1e-7),
        "Adam": w0 - lr_adaptive * np.sqrt(0.001) / 0.1 * (0.1 * g) / (np.sqrt(0.001 * g * g) + 1e-7),
    }
    for name in orc.RACERS:
        got = race.paths[name][1]
        kind = {"SGD": "sgd", "Momentum": "momentum", "RMSprop": "rmsprop", "Adam": "adam"}[name]
        mine = scratch.ScratchOptimizer(kind, lr[name], momentum=momentum).step(w0, g)
        theirs = _independent_keras_first_step(name, start, g, lr_sgd, lr_adaptive, momentum)
        np.testing.assert_allclose(got, mine, atol=1e-6, rtol=0, err_msg=name)
        np.testing.assert_allclose(got, theirs, atol=1e-12, rtol=0, err_msg=name)
        np.testing.assert_allclose(got, by_hand[name], atol=1e-6, rtol=0, err_msg=name)
        assert np.abs(got - w0).max() > 1e-4, name  # it moved


def test_race_paths_follow_scratch_for_many_steps():
    race = orc.Race("bowl")
    race.step(40)
    paths, ref = race.paths, race.scratch_paths()
    for name in orc.RACERS:
        assert paths[name].shape == (41, 2)
        assert race.losses[name].shape == (41,)
        # Keras keeps the learning rate (and Adam's beta powers, SGD's momentum) in float32,
        # a relative difference of about 1e-6 per step that the dynamics carry along
        np.testing.assert_allclose(paths[name], ref[name], atol=1e-4, rtol=0, err_msg=name)
    assert np.abs(paths["Adam"] - ref["Adam"]).max() > 0  # not the same computation


def test_float32_rates_explain_the_remaining_difference():
    """With rates that float32 holds exactly, plain SGD and RMSprop paths agree to 1e-12."""
    lr_sgd, lr_adaptive = 2.0 ** -3, 2.0 ** -4
    race = orc.Race("bowl", lr_sgd=lr_sgd, lr_adaptive=lr_adaptive, momentum=0.5)
    race.step(40)
    ref = race.scratch_paths()
    for name in ("SGD", "Momentum", "RMSprop"):
        np.testing.assert_allclose(race.paths[name], ref[name], atol=1e-12, rtol=0, err_msg=name)
    # on the stretched bowl every racer makes progress
    for name in orc.RACERS:
        assert race.losses[name][-1] < 0.5 * race.losses[name][0], name


def test_divergence_is_caught_and_frozen():
    race = orc.Race("rosenbrock", lr_sgd=0.5, lr_adaptive=0.01)
    race.step(30)
    assert race.diverged["SGD"] and race.diverged["Momentum"]
    assert not race.diverged["Adam"]
    for name in orc.RACERS:
        assert np.all(np.isfinite(race.paths[name])), name


@pytest.mark.parametrize("kwargs, match", [
    ({"surface": "himmelblau"}, "surface must be one of"),
    ({"lr_sgd": -1.0}, "lr_sgd"),
    ({"lr_adaptive": 0}, "lr_adaptive"),
    ({"momentum": 1.0}, "momentum"),
    ({"start": (1.0, 2.0, 3.0)}, "start"),
])
def test_race_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        orc.Race(**kwargs)


def test_race_step_rejects_bad_n():
    with pytest.raises(ValueError, match="n must"):
        orc.Race("bowl").step(0)


def test_make_optimizer_names():
    with pytest.raises(ValueError, match="name must be one of"):
        orc.make_keras_optimizer("Nadam", 0.1, 0.1)
    with pytest.raises(ValueError, match="name must be one of"):
        orc.make_scratch_optimizer("Nadam", 0.1, 0.1)
    assert orc.make_keras_optimizer("Momentum", 0.1, 0.01, 0.5).momentum == 0.5


def test_render_returns_a_figure_with_all_racers():
    race = orc.Race("saddle")
    race.step(3)
    fig = orc.render(race)
    ax, bx = fig.axes[:2]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == list(orc.RACERS)
    assert len(bx.get_lines()) == 4 and len(bx.get_lines()[0].get_xdata()) == 4
    plt.close(fig)


# ----------------------------------------------------------------- widget

@pytest.fixture(scope="module")
def widget():
    return orc.OptimizerRace(surface="bowl", steps=3, chunk=2)


def test_initial_state_and_png(widget):
    assert widget.race.steps == 3
    assert is_png(widget.png) and is_png(widget.image.value)
    assert "Adam" in widget.status.value


def test_step_button_and_play_advance(widget):
    widget.reset()
    widget.w_chunk.value = 2
    widget.w_step.click()
    assert widget.race.steps == 2
    before = widget.png
    widget.w_play.value = 1
    assert widget.race.steps == 4
    assert widget.png != before and is_png(widget.png)
    widget.w_play.value = 0  # rewinding the Play control does not step
    assert widget.race.steps == 4


def test_settings_restart_the_race(widget):
    widget.w_step.click()
    assert widget.race.steps > 0
    widget.w_lr_adaptive.value = 0.01
    assert widget.race.steps == 0 and widget.race.lr_adaptive == pytest.approx(0.01)
    widget.w_momentum.value = 0.5
    assert widget.race.momentum == pytest.approx(0.5)
    widget.w_x.value = 1.0
    widget.w_y.value = -1.0
    np.testing.assert_allclose(widget.race.start, [1.0, -1.0])
    widget.w_step.click()
    widget.w_reset.click()
    assert widget.race.steps == 0


def test_surface_switch_sets_view_start_and_rates(widget):
    widget.w_surface.value = "rosenbrock"
    s = orc.SURFACES["rosenbrock"]
    assert widget.race.surface.key == "rosenbrock" and widget.race.steps == 0
    assert (widget.w_x.min, widget.w_x.max) == s.xlim and (widget.w_y.min, widget.w_y.max) == s.ylim
    np.testing.assert_allclose(widget.race.start, s.start)
    assert widget.race.lr_sgd == pytest.approx(s.lr_sgd)
    assert widget.race.lr_adaptive == pytest.approx(s.lr_adaptive)
    widget.w_surface.value = "saddle"
    np.testing.assert_allclose(widget.race.start, orc.SURFACES["saddle"].start)


def test_figures_do_not_pile_up_over_50_callbacks(widget):
    widget.w_surface.value = "bowl"
    widget.w_chunk.value = 1
    n0 = len(plt.get_fignums())
    for i in range(50):
        if i % 3 == 0:
            widget.w_momentum.value = 0.5 + 0.01 * (i % 10)
        elif i % 3 == 1:
            widget.w_step.click()
        else:
            widget.w_play.value = i
    assert len(plt.get_fignums()) <= n0
    assert is_png(widget.png)


def test_widget_rejects_bad_arguments():
    with pytest.raises(ValueError, match="steps"):
        orc.OptimizerRace(steps=-1)
    with pytest.raises(ValueError, match="chunk"):
        orc.OptimizerRace(chunk=0)
    with pytest.raises(ValueError, match="surface"):
        orc.OptimizerRace(surface="flat")


# --------------------------------------------------------------------------- fast frames (issue 10)

def _pixels(png):
    import io

    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _close(a, b):
    d = np.abs(_pixels(a) - _pixels(b)).max(axis=2)
    return d.max() <= 16 and (d > 2).mean() < 0.001


def test_a_step_redraws_the_paths_not_the_contours_and_looks_the_same():
    from course_utils.widgets.base import fig_to_png
    w = orc.OptimizerRace(surface="rosenbrock", steps=5, chunk=3)
    full = w.frame.full_draws
    for k in range(1, 4):
        w.w_play.value = k
    w.w_momentum.value = 0.5  # a new race on the same surface
    w.w_step.click()
    assert w.frame.full_draws == full
    assert _close(w.png, fig_to_png(orc.render(w.race), dpi=w.dpi))
    w.w_lr_sgd.value = 1.0  # SGD diverges: its legend entry says so
    w.w_step.click()
    assert any(w.race.diverged.values())
    assert any("diverged" in t.get_text() for t in w.picture.legend.get_texts())
    assert _close(w.png, w.frame.full_png())


def test_default_race_reaches_the_minimum():
    """Issue 9: the race a learner opens with no arguments must end somewhere: on the bowl, within 300
    steps, Adam and momentum come within 0.01 of the minimum, and plain SGD is still on its way."""
    w = orc.OptimizerRace(steps=300)
    race = w.race
    assert race.surface.key == "bowl"
    target = np.asarray(race.surface.minima[0], dtype=float)
    dist = {name: float(np.linalg.norm(p[-1] - target)) for name, p in race.paths.items()}
    fast = [n for n in dist if "adam" in n.lower() or "momentum" in n.lower()]
    assert fast and all(dist[n] < 0.01 for n in fast), dist
    sgd = [n for n in dist if n.lower() == "sgd"]
    assert sgd and dist[sgd[0]] > 0.01, dist
