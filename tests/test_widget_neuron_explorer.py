"""Drive the neuron explorer without a browser (notebook 01)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils.scratch import neurons as N  # noqa: E402
from course_utils.widgets import neuron_explorer as NE  # noqa: E402
from course_utils.widgets.base import is_png  # noqa: E402


@pytest.fixture
def explorer():
    return NE.NeuronExplorer()


# --------------------------------------------------------------------------- pure layer

def test_load_problem_iris_pair_standardised():
    p = NE.load_problem("iris: setosa vs versicolor")
    assert p.X.shape == (100, 2) and p.y.shape == (100,)
    assert sorted(np.unique(p.y)) == [0, 1] and p.y.sum() == 50
    np.testing.assert_allclose(p.X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(p.X.std(axis=0), 1.0)
    assert p.class_names == ("setosa", "versicolor")
    q = NE.load_problem("iris: versicolor vs virginica", "sepal width (cm)", "petal width (cm)")
    assert q.class_names == ("versicolor", "virginica") and (q.fx, q.fy) == ("sepal width (cm)", "petal width (cm)")
    g = NE.load_problem("logic: XOR")
    np.testing.assert_array_equal(g.y, [0, 1, 1, 0])
    assert not g.standardized


def test_load_problem_errors():
    with pytest.raises(ValueError, match="name must be one of"):
        NE.load_problem("iris: all")
    with pytest.raises(ValueError, match="fx must be a feature of iris"):
        NE.load_problem("iris: setosa vs versicolor", "petal colour")
    with pytest.raises(ValueError, match="two different features"):
        NE.load_problem("iris: setosa vs versicolor", "sepal length (cm)", "sepal length (cm)")
    with pytest.raises(ValueError, match="logic gate"):
        NE.load_problem("logic: AND", "sepal length (cm)", "x2")


def test_count_errors_matches_a_direct_count():
    p = NE.load_problem("breast cancer: malignant vs benign")
    w, b = np.array([-1.3, -0.4]), 0.7
    n, mask = NE.count_errors(p.X, p.y, w, b)
    direct = int(np.sum(((p.X @ w + b) >= 0).astype(int) != p.y))
    assert n == direct == mask.sum() and n > 0


def test_output_grid_step_and_sigmoid():
    xx, yy, out = NE.output_grid([1.0, 0.0], -0.5, "step", (0, 1), (0, 1), resolution=11)
    assert out.shape == (11, 11)
    np.testing.assert_array_equal(out[:, xx[0] >= 0.5], 1.0)
    np.testing.assert_array_equal(out[:, xx[0] < 0.5], 0.0)
    _, _, sig = NE.output_grid([1.0, 0.0], -0.5, "sigmoid", (0, 1), (0, 1), resolution=11)
    assert np.all((sig > 0) & (sig < 1))
    np.testing.assert_allclose(sig[0, 5], 0.5)
    with pytest.raises(ValueError, match="activation must be"):
        NE.output_grid([1.0, 0.0], 0.0, "relu", (0, 1), (0, 1))


def test_fit_in_range_keeps_the_line():
    w, b, f = NE.fit_in_range(np.array([12.0, -3.0]), 4.0)
    assert f == pytest.approx(0.5)
    np.testing.assert_allclose(w, [6.0, -1.5])
    X = np.random.default_rng(0).normal(size=(50, 2)) * 3
    np.testing.assert_array_equal(N.perceptron_predict(X, w, b), N.perceptron_predict(X, [12.0, -3.0], 4.0))
    w, b, f = NE.fit_in_range(np.array([1.0, 2.0]), -3.0)
    assert f == 1.0 and b == -3.0


# --------------------------------------------------------------------------- the widget

def test_default_state_and_png(explorer):
    assert is_png(explorer.png)
    assert explorer.state.problem.name == "iris: setosa vs versicolor"
    p = explorer.state.problem
    assert explorer.errors == NE.count_errors(p.X, p.y, NE.DEFAULT_W, NE.DEFAULT_B)[0]
    assert f"{explorer.errors} of 100" in explorer.status.value


def test_sliders_change_weights_errors_and_picture(explorer):
    before_png, before_err = explorer.png, explorer.errors
    explorer.w1.value = 3.0
    explorer.w2.value = -0.5
    explorer.b.value = -1.0
    np.testing.assert_allclose(explorer.state.w, [3.0, -0.5])
    assert explorer.state.b == -1.0
    p = explorer.state.problem
    assert explorer.errors == NE.count_errors(p.X, p.y, [3.0, -0.5], -1.0)[0]
    assert explorer.png != before_png
    assert explorer.errors != before_err  # 43 errors at the start, far fewer with this line
    assert is_png(explorer.png)


def test_perceptron_button_equals_one_epoch_and_converges_on_iris(explorer):
    p = explorer.state.problem
    w0, b0 = explorer.state.w.copy(), explorer.state.b
    explorer.step_button.click()
    w_ref, b_ref, _ = N.perceptron_epoch(p.X, p.y, w0, b0, lr=explorer.state.lr)
    w_ref, b_ref, _ = NE.fit_in_range(w_ref, b_ref)
    np.testing.assert_allclose(explorer.state.w, w_ref)
    assert explorer.state.b == pytest.approx(b_ref)
    # the sliders moved to the new weights
    assert explorer.w1.value == pytest.approx(w_ref[0]) and explorer.b.value == pytest.approx(b_ref)
    assert explorer.state.errors_history == [NE.count_errors(p.X, p.y, w_ref, b_ref)[0]]
    for _ in range(30):
        explorer.step_button.click()
        if explorer.errors == 0:
            break
    assert explorer.errors == 0  # setosa vs versicolor is linearly separable
    assert "0 of 100" in explorer.status.value


def test_xor_never_reaches_zero_errors(explorer):
    explorer.dataset.value = "logic: XOR"
    assert explorer.feature_x.disabled and explorer.state.problem.X.shape == (4, 2)
    for _ in range(15):
        explorer.step_button.click()
    assert min(explorer.state.errors_history) >= 1
    assert len(explorer.state.errors_history) == 15


def test_reset_restores_defaults(explorer):
    explorer.step_button.click()
    explorer.w1.value = 4.0
    explorer.reset_button.click()
    np.testing.assert_allclose(explorer.state.w, NE.DEFAULT_W)
    assert explorer.state.b == NE.DEFAULT_B and explorer.state.errors_history == []
    assert explorer.w1.value == NE.DEFAULT_W[0] and explorer.b.value == NE.DEFAULT_B


def test_dataset_and_feature_dropdowns(explorer):
    explorer.dataset.value = "breast cancer: malignant vs benign"
    p = explorer.state.problem
    assert p.X.shape == (569, 2) and (p.fx, p.fy) == ("mean radius", "mean texture")
    assert explorer.feature_x.value == "mean radius" and not explorer.feature_x.disabled
    explorer.feature_y.value = "worst area"
    assert explorer.state.problem.fy == "worst area"
    png = explorer.png
    explorer.feature_y.value = "mean radius"  # same as x: refused, state unchanged
    assert explorer.state.problem.fy == "worst area" and explorer.png == png
    assert "two different features" in explorer.status.value


def test_activation_toggle_changes_the_picture(explorer):
    png = explorer.png
    explorer.activation.value = "sigmoid"
    assert explorer.state.activation == "sigmoid" and explorer.png != png
    explorer.lr.value = 1.0
    assert explorer.state.lr == 1.0


def test_weights_are_rescaled_into_the_slider_range():
    ex = NE.NeuronExplorer(problem="breast cancer: malignant vs benign")
    ex.lr.value = 1.0
    for _ in range(3):
        ex.step_button.click()
        w, b = ex.state.w, ex.state.b
        assert max(np.max(np.abs(w)), abs(b)) <= NE.WEIGHT_RANGE + 1e-9
        assert ex.w1.value == pytest.approx(w[0])


def test_no_figure_pile_up_over_50_callbacks(explorer):
    plt.close("all")
    start = len(plt.get_fignums())
    for k in range(50):
        if k % 5 == 0:
            explorer.step_button.click()
        elif k % 5 == 1:
            explorer.w2.value = float(np.sin(k))
        elif k % 5 == 2:
            explorer.activation.value = "sigmoid" if explorer.activation.value == "step" else "step"
        elif k % 5 == 3:
            explorer.reset_button.click()
        else:
            explorer.dataset.value = list(NE.PROBLEMS)[k % len(NE.PROBLEMS)]
    assert len(plt.get_fignums()) <= start
    assert is_png(explorer.png)


def test_bad_constructor_argument():
    with pytest.raises(ValueError, match="activation must be"):
        NE.NeuronExplorer(activation="tanh")


# --------------------------------------------------------------------------- fast frames (issue 10)

def _pixels(png):
    import io

    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _close(a, b):
    """Same picture: a few pixels may differ slightly where a redrawn image meets a tick mark."""
    d = np.abs(_pixels(a) - _pixels(b)).max(axis=2)
    return d.max() <= 16 and (d > 2).mean() < 0.001


def test_a_weight_change_redraws_only_what_moves_and_looks_the_same(explorer):
    from course_utils.widgets.base import fig_to_png
    frame = explorer.frame
    full = frame.full_draws
    for v in (-2.0, 0.5, 3.0):
        explorer.w1.value = v
    explorer.activation.value = "sigmoid"
    assert frame.full_draws == full  # the axes, labels and legend were not drawn again
    assert _close(explorer.png, fig_to_png(NE.render(explorer.state), dpi=explorer.dpi))
    panels = frame.panel_draws
    explorer.step_button.click()  # a new point in the history: that panel alone
    assert frame.panel_draws == panels + 1 and frame.full_draws == full
    assert _close(explorer.png, frame.full_png())
    explorer.dataset.value = "logic: XOR"  # new axes: the whole figure
    assert frame.full_draws > full and _close(explorer.png, frame.full_png())
