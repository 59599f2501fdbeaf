"""The Descent explorer (notebook 04), driven without a browser."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import scratch  # noqa: E402
from course_utils.widgets import descent_explorer as D  # noqa: E402
from course_utils.widgets.base import is_png  # noqa: E402


# --------------------------------------------------------------------------- pure layer

@pytest.mark.parametrize("name", D.SURFACES)
def test_surface_gradient_and_grid_agree_with_loss(name):
    s = D.make_surface(name)
    theta = s.start + np.array([0.3, -0.2])
    loss, g = s.loss_grad(theta, s.X, s.y)
    assert s.grid_loss(np.array(theta[0]), np.array(theta[1])) == pytest.approx(loss, rel=1e-9)
    eps = 1e-6
    num = [(s.loss_grad(theta + eps * e, s.X, s.y)[0] - s.loss_grad(theta - eps * e, s.X, s.y)[0])
           / (2 * eps) for e in np.eye(2)]
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8)
    # the recorded minimum is a stationary point and the lowest loss on a grid of the window
    np.testing.assert_allclose(s.loss_grad(s.theta_star, s.X, s.y)[1], 0, atol=1e-5)
    W, B = np.meshgrid(np.linspace(*s.wlim, 60), np.linspace(*s.blim, 60))
    assert s.grid_loss(W, B).min() >= s.loss_star - 1e-9


def test_linear_surfaces_minimum_is_least_squares():
    s = D.make_surface("diabetes")
    np.testing.assert_allclose(s.theta_star, np.polyfit(s.X[:, 0], s.y, 1), rtol=1e-9)
    assert s.n == 442


def test_one_batch_step_is_the_analytic_gradient_step():
    st = D.State(surface="synthetic", lr=0.05, epochs=1, shown=1)
    runs = D.simulate(st)
    s = D.make_surface("synthetic")
    x, y = s.X[:, 0], s.y
    w0, b0 = s.start
    err = w0 * x + b0 - y
    analytic = np.array([w0 - 0.05 * 2 * np.mean(err * x), b0 - 0.05 * 2 * np.mean(err)])
    assert runs["batch"].steps == 1
    np.testing.assert_allclose(runs["batch"].path[1], analytic, rtol=1e-12)


def test_same_start_same_budget_and_step_counts():
    st = D.State(surface="diabetes", lr=0.02, batch_size=32, epochs=3, shown=3)
    runs = D.simulate(st)
    n = 442
    expected = {"batch": 3, "mini-batch": 3 * int(np.ceil(n / 32)), "stochastic": 3 * n}
    for name, r in runs.items():
        np.testing.assert_array_equal(r.path[0], D.make_surface("diabetes").start)
        assert r.steps == expected[name]
        assert r.seen[-1] == 3 * n
        assert not r.diverged
    # small lr on a convex loss: every variant ends lower than it started
    for r in runs.values():
        assert r.loss[-1] < r.loss[0]


def test_large_learning_rate_diverges_for_batch_gd():
    s = D.make_surface("diabetes")
    X1 = np.c_[s.X, np.ones(s.n)]
    lam_max = np.linalg.eigvalsh(2 * X1.T @ X1 / s.n).max()
    ok = D.simulate(D.State(lr=0.9 * 2 / lam_max, epochs=30, shown=30))["batch"]
    bad = D.simulate(D.State(lr=1.2 * 2 / lam_max, epochs=30, shown=30))["batch"]
    assert not ok.diverged and bad.diverged


def test_decay_schedule_shrinks_lr_per_epoch_for_every_batch_size():
    runs = D.simulate(D.State(surface="synthetic", lr=0.05, schedule="1/t", decay=1.0, epochs=4, shown=4))
    for r in runs.values():
        assert r.lrs[0] == pytest.approx(0.05)
        # after 4 epochs: 0.05 / (1 + 1.0 * (4 - one step)) ~ 0.01, whatever B is
        assert r.lrs[-1] == pytest.approx(0.05 / (1 + (r.steps - 1) * r.batch_size / 300), rel=1e-9)


def test_shown_steps_counts_partial_batches():
    r = D.simulate(D.State(surface="diabetes", batch_size=128, epochs=2, shown=2))["mini-batch"]
    assert D.shown_steps(r, 1) == 4            # ceil(442 / 128) = 4 (the last batch has 58)
    assert D.shown_steps(r, 2) == 8 == r.steps
    assert D.shown_steps(r, 0) == 0


def test_state_validation():
    with pytest.raises(ValueError, match="surface"):
        D.State(surface="moon").validate()
    with pytest.raises(ValueError, match="lr"):
        D.State(lr=0).validate()
    with pytest.raises(ValueError, match="shown"):
        D.State(epochs=3, shown=5).validate()


# --------------------------------------------------------------------------- the widget

def test_widget_controls_change_state_and_picture():
    ex = D.DescentExplorer(D.State(epochs=3, shown=3))
    assert is_png(ex.png)
    before = ex.png
    ex.lr.value = 0.01
    assert ex.state.lr == pytest.approx(0.01)
    assert ex.png != before
    ex.batch.value = 64
    assert ex.state.batch_size == 64 and ex.runs["mini-batch"].batch_size == 64
    ex.seed.value = 3
    assert ex.state.seed == 3
    ex.schedule.value = "1/t"
    assert ex.runs["stochastic"].lrs[-1] < ex.runs["stochastic"].lrs[0]
    ex.surface.value = "sine"
    assert ex.state.surface == "sine"
    assert ex.lr.value == pytest.approx(D.make_surface("sine").lr)  # the surface's default lr
    assert ex.runs["batch"].n_samples == 200
    ex.epochs.value = 5
    assert ex.state.epochs == 5 and ex.state.shown == 5 and ex.progress.max == 5
    assert ex.runs["batch"].steps == 5
    assert "distance to minimum" in ex.status.value
    assert is_png(ex.png)


def test_step_reset_and_play_reveal_without_rerun():
    ex = D.DescentExplorer(D.State(epochs=3, shown=3))
    runs = ex.runs
    ex.reset_button.click()
    assert ex.state.shown == 0 and ex.progress.value == 0
    ex.step_button.click()
    assert ex.state.shown == 1
    assert "0 steps" not in ex.status.value
    ex.play.value = 2                      # the Play control drives the progress slider
    assert ex.progress.value == 2 and ex.state.shown == 2
    ex.step_button.click()
    ex.step_button.click()                 # past the end: starts over at epoch 1
    assert ex.state.shown == 1
    assert ex.runs is runs                 # stepping only reveals, it does not re-run


def test_figures_do_not_pile_up():
    ex = D.DescentExplorer(D.State(epochs=2, shown=2))
    n0 = len(plt.get_fignums())
    for i in range(50):
        if i % 2:
            ex.step_button.click()
        else:
            ex.progress.value = i % 3
    assert len(plt.get_fignums()) <= n0
    assert is_png(ex.png)


# --------------------------------------------------------------------------- fast frames (issue 10)

def _pixels(png):
    import io

    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _close(a, b):
    d = np.abs(_pixels(a) - _pixels(b)).max(axis=2)
    return d.max() <= 16 and (d > 2).mean() < 0.001


def test_revealing_epochs_moves_only_the_paths_in_fixed_axes():
    from course_utils.widgets.base import fig_to_png
    ex = D.DescentExplorer(D.State(epochs=4, shown=4))
    loss_ax = ex.picture.axes[3]
    limits, legend_at = loss_ax.get_ylim(), loss_ax.get_legend()._loc
    frame = ex.frame
    full, panels = frame.full_draws, frame.panel_draws
    for shown in (0, 2, 1, 3):
        ex.progress.value = shown
    assert (frame.full_draws, frame.panel_draws) == (full, panels)
    # the loss axes span the whole budget and the legend stays put while epochs are revealed
    assert loss_ax.get_ylim() == limits and loss_ax.get_legend()._loc == legend_at
    assert _close(ex.png, fig_to_png(D.render(ex.state, ex.runs), dpi=ex.dpi))
    ex.lr.value = 0.02  # new runs: new curves and title over the same axes, nothing redrawn
    assert (frame.full_draws, frame.panel_draws) == (full, panels)
    assert loss_ax.get_ylim() == limits and "lr 0.02" in loss_ax.get_title()
    assert _close(ex.png, fig_to_png(D.render(ex.state, ex.runs), dpi=ex.dpi))
    ex.batch.value = 4  # the same: the legend does not name the mini-batch size, the title does
    assert (frame.full_draws, frame.panel_draws) == (full, panels)
    assert "B=4" in loss_ax.get_title() and loss_ax.get_legend()._loc == legend_at
    assert _close(ex.png, fig_to_png(D.render(ex.state, ex.runs), dpi=ex.dpi))
    ex.epochs.value = 6  # a new budget: only the loss panel's (live) x axis follows it
    assert (frame.full_draws, frame.panel_draws) == (full, panels)
    assert ex.picture.axes[3].get_xlim() == (0.0, 6.0)
    assert loss_ax.get_xlim() == (0, 6)
    assert _close(ex.png, frame.full_png())


@pytest.mark.parametrize("surface", D.SURFACES)
@pytest.mark.parametrize("batch_size", [1, 7, 32])
def test_float_loop_makes_the_reference_run(surface, batch_size):
    """The widget's float loop for small batches makes the run scratch.minibatch_sgd makes."""
    s = D.make_surface(surface)
    # learning rates that converge, and (linear surfaces) ones that diverge; on the sine surface
    # a large rate is chaotic, and the last-bit differences of float and NumPy sums grow there
    lrs = (0.01, 0.1, 0.5, 3.0) if s.convex else (0.01, 0.1)
    for schedule in ("constant", "1/t"):
        for lr in lrs:
            st = D.State(surface=surface, lr=lr, schedule=schedule, epochs=4, shown=4, seed=3)
            every, lr_fn = max(1, s.n // 8), D._lr_fn(st, batch_size, s.n)
            fast = D._float_run(s, lr_fn, batch_size, 4, 3, every, 1e6)
            with np.errstate(all="ignore"):
                ref = scratch.minibatch_sgd(s.loss_grad, s.start, s.X, s.y, lr=lr_fn,
                                            batch_size=batch_size, epochs=4, seed=3,
                                            eval_every=every, record_path=True, diverge_at=1e6)
            assert (fast.steps, fast.diverged, fast.batch_size) == (ref.steps, ref.diverged,
                                                                    ref.batch_size)
            np.testing.assert_array_equal(fast.seen, ref.seen)
            np.testing.assert_allclose(fast.path, ref.path, rtol=1e-8, atol=1e-12)
            np.testing.assert_allclose(fast.loss, ref.loss, rtol=1e-8)
            np.testing.assert_allclose(fast.lrs, ref.lrs, rtol=1e-12)
    runs = D.simulate(D.State(surface=surface, lr=0.05, batch_size=batch_size, epochs=2, shown=2))
    assert runs["stochastic"].steps == 2 * s.n and runs["mini-batch"].batch_size == batch_size


@pytest.mark.parametrize("surface", list(D.SURFACES))
def test_a_longer_run_cut_short_is_the_run_of_the_shorter_budget(surface):
    """first_epochs(run of 8 epochs, e) is exactly the run a budget of e makes: what lets the
    budget slider reuse the runs of the largest budget."""
    s = D.make_surface(surface)
    lrs = (0.05, 3.0) if s.convex else (0.05, 0.5)   # converging, and (linear) diverging runs
    for schedule in ("constant", "1/t"):
        for lr in lrs:
            for batch_size in (16, 128):
                long = D.simulate(D.State(surface=surface, lr=lr, schedule=schedule, batch_size=batch_size,
                                          epochs=8, shown=8, seed=2))
                for e in (1, 3, 7):
                    short = D.simulate(D.State(surface=surface, lr=lr, schedule=schedule,
                                               batch_size=batch_size, epochs=e, shown=e, seed=2))
                    for name in D.RUN_NAMES:
                        cut, ref = D.first_epochs(long[name], e, s), short[name]
                        assert (cut.steps, cut.diverged, cut.batch_size) == (ref.steps, ref.diverged,
                                                                            ref.batch_size), (name, lr, e)
                        np.testing.assert_array_equal(cut.seen, ref.seen)
                        np.testing.assert_array_equal(cut.path, ref.path)
                        np.testing.assert_array_equal(cut.loss, ref.loss)
                        np.testing.assert_array_equal(cut.lrs, ref.lrs)
                        np.testing.assert_array_equal(cut.theta, ref.theta)


def test_the_budget_slider_reuses_the_runs_of_the_largest_budget(monkeypatch):
    ex = D.DescentExplorer(D.State(epochs=3, shown=3))
    calls = []
    real = D.simulate
    monkeypatch.setattr(D, "simulate", lambda st: calls.append(st.epochs) or real(st))
    ex.epochs.value = 5
    ex.epochs.value = 2
    ex.epochs.value = 7
    assert calls == [ex.epochs.max]   # the longest runs once, then only cut
    assert ex.runs["stochastic"].steps == 7 * D.make_surface(ex.state.surface).n
    ex.lr.value = 0.02                # a new setting: its own runs (at the current budget)
    ex.epochs.value = 4
    assert calls == [ex.epochs.max, 7, ex.epochs.max]
