"""Tests for the gradient-flow explorer (notebook 09), driven without a browser."""
import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils import scratch
from course_utils.widgets import gradient_flow as gf
from course_utils.widgets.base import is_png


def test_draw_run_uses_the_one_home_of_the_inits():
    run = gf.draw_run("he", "relu", depth=3, seed=4)
    rng = np.random.default_rng(4)
    for k, (d_in, d_out) in enumerate([(64, gf.WIDTH), (gf.WIDTH, gf.WIDTH), (gf.WIDTH, gf.WIDTH)]):
        np.testing.assert_array_equal(run.weights[k]["W"], scratch.init_weights(d_in, d_out, "he", rng))
    with pytest.raises(ValueError, match="init must be one of"):
        gf.draw_run("xavier")
    with pytest.raises(ValueError, match=r"depth must be in \[1, 30\]"):
        gf.draw_run(depth=0)


def test_flow_gradients_match_tf_gradient_tape():
    tf = pytest.importorskip("tensorflow")
    import keras
    X, y, _, _ = gf.load_probe_data()
    for bn in (False, True):
        run = gf.draw_run("glorot", "tanh", depth=4, batchnorm=bn, seed=1)
        state = gf.flow(run, X[:64], y[:64])
        model = gf.build_keras_model(run)
        kernels = [layer.kernel for layer in model.layers if isinstance(layer, keras.layers.Dense)][:-1]
        with tf.GradientTape() as tape:
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y[:64], model(X[:64], training=True))
        grads = tape.gradient(loss, kernels)
        np.testing.assert_allclose(state.grad_norms, [float(tf.norm(g)) for g in grads], rtol=2e-3)
        assert state.loss == pytest.approx(float(loss), rel=1e-4)


def test_vanishing_vs_flowing():
    X, y, _, _ = gf.load_probe_data()
    naive = gf.flow(gf.draw_run("small", "relu", depth=20), X[:128], y[:128])
    he = gf.flow(gf.draw_run("he", "relu", depth=20), X[:128], y[:128])
    assert naive.grad_norms.max() < 1e-10 * he.grad_norms.min()
    assert np.std(naive.outputs[-1]) < 1e-10 < np.std(he.outputs[-1])


@pytest.fixture(scope="module")
def widget():
    return gf.GradientFlowExplorer(init="he", activation="relu", depth=3, steps_per_click=2)


def test_widget_starts_with_png(widget):
    assert is_png(widget.png) and widget.image.value == widget.png
    assert widget.run.step == 0 and "mini-batches" in widget.status.value


def test_controls_change_the_picture_and_cache_runs(widget):
    before = widget.png
    widget.activation.value = "tanh"
    assert widget.run.activation == "tanh" and widget.png != before
    widget.depth.value = 5
    assert widget.run.depth == 5 and len(widget.state.outputs) == 5
    widget.batchnorm.value = True
    assert widget.run.batchnorm
    n_open = len(plt.get_fignums())
    widget.train_button.click()
    assert widget.run.step == 2 and len(widget.run.history["val_acc"]) == 2
    trained = widget.run
    widget.batchnorm.value = False
    assert widget.run is not trained and widget.run.step == 0
    widget.batchnorm.value = True
    assert widget.run is trained and widget.run.step == 2      # the cached run comes back
    widget.play.value = widget.play.value + 1
    assert widget.run.step in (2, 4)
    widget.reset_button.click()
    assert widget.run.step == 0
    assert is_png(widget.png) and len(plt.get_fignums()) == n_open


def test_training_lowers_the_loss():
    fx = gf.GradientFlowExplorer(init="he", activation="relu", depth=4, steps_per_click=10)
    fx.train(4)
    h = fx.run.history
    assert h["loss"][-1] < h["loss"][0] and h["val_acc"][-1] > 0.3
    # the picture's accuracy (NumPy, inference mode) equals the Keras model's direct call
    _, _, Xv, yv = gf.load_probe_data()
    assert gf.accuracy(fx.run, Xv, yv) == pytest.approx(h["val_acc"][-1], abs=2 / len(yv))


def test_render_returns_a_figure_and_bad_input_errors():
    X, y, _, _ = gf.load_probe_data()
    fig = gf.render(gf.flow(gf.draw_run("large", "sigmoid", depth=2), X[:32], y[:32]))
    assert len(fig.axes) >= 3
    plt.close(fig)
    with pytest.raises(ValueError, match="learning_rate"):
        gf.GradientFlowExplorer(learning_rate=5.0)
    with pytest.raises(TypeError, match="batchnorm must be True or False"):
        gf.draw_run(batchnorm="yes")


def test_kept_frame_equals_a_full_draw_and_depth_redraws_no_panel():
    import io
    from PIL import Image
    fx = gf.GradientFlowExplorer(init="small", activation="relu", depth=8)

    def pixels(png):
        return np.asarray(Image.open(io.BytesIO(png)))
    for control, value in [("depth", 20), ("init", "he"), ("batchnorm", True), ("activation", "tanh")]:
        getattr(fx, control).value = value
        # equal, but for rounding (±1) where a sprite (the legend, the rows' fixed labels) is blended in
        np.testing.assert_allclose(pixels(fx.png), pixels(fx.frame.full_png()), rtol=0, atol=1)
        fx.refresh()
    # the gradient axis covers every depth of a configuration: the depth slider redraws no axes,
    # only the figure title (a panel of its own)
    full, panels = fx.frame.full_draws, fx.frame.panel_draws
    for depth in (3, 17, 30, 11):
        fx.depth.value = depth
    assert fx.frame.full_draws == full and fx.frame.panel_draws == panels + 4
    assert gf._decades(3e-43, 0.2) == (1e-45, 1.0) and gf._power_label(1e-20) == "1e-20"
