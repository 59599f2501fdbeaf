"""Drive the feature-map browser without a browser (notebook 12)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils.widgets import feature_map_browser as F  # noqa: E402
from course_utils.widgets.base import is_png  # noqa: E402


@pytest.fixture(scope="module")
def trained():
    return F.demo_model(n_train=400, epochs=1)   # a few seconds


@pytest.fixture
def browser(trained):
    model, X, y = trained
    return F.FeatureMapBrowser(model, X[:30], y[:30])


# --------------------------------------------------------------------------- pure layer

def test_feature_layers_and_errors(trained):
    import keras
    model, _, _ = trained
    assert F.feature_layers(model) == ["conv1", "pool1", "conv2", "pool2"]
    mlp = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)])
    with pytest.raises(ValueError, match="no Conv2D"):
        F.feature_layers(mlp)
    with pytest.raises(TypeError, match="keras.Model"):
        F.Analyser("not a model")


def test_analysis_matches_the_model_and_grad_cam(trained):
    import keras
    import tensorflow as tf
    from course_utils.scratch import grad_cam_heatmap, resize_bilinear
    model, X, _ = trained
    an = F.Analyser(model)
    a = an.analyse(X[0], key=("image", 0))
    np.testing.assert_allclose(a.probs, np.asarray(model(X[:1, ..., None], training=False))[0], atol=1e-6)
    assert a.top3[0][0] == int(a.probs.argmax()) and len(a.top3) == 3
    assert [m.shape for m in a.maps.values()] == [(26, 26, 8), (13, 13, 8), (11, 11, 16), (5, 5, 16)]
    # Grad-CAM recomputed independently with a tape on the logits
    g = keras.Model(model.input, [model.get_layer("conv2").output, model.get_layer("logits").output])
    with tf.GradientTape() as tape:
        acts, s = g(X[:1, ..., None])
        score = s[0, a.top3[0][0]]
    cam = grad_cam_heatmap(acts.numpy()[0], tape.gradient(score, acts).numpy()[0])
    np.testing.assert_allclose(a.cam, np.clip(resize_bilinear(cam, (28, 28)), 0, 1), atol=1e-5)
    # cached per key: a second call does not run the model
    calls = an.calls
    assert an.analyse(X[0], key=("image", 0)) is a and an.calls == calls
    with pytest.raises(ValueError, match="image must have shape"):
        an.analyse(np.zeros((20, 20)))


def test_mosaic_and_drawing_helpers():
    maps = np.arange(2 * 3 * 5, dtype=float).reshape(2, 3, 5)
    m = F.mosaic_maps(maps, ncols=2)
    assert m.shape == (3 * 2 + 2, 2 * 3 + 1)
    assert np.isnan(m[2]).all() and np.nanmax(m) == 1.0
    np.testing.assert_allclose(m[:2, :3], maps[:, :, 0] / maps.max())
    grid = np.zeros((14, 14), int)
    grid[3:11, 7] = 1
    img = F.drawing_to_image(grid)
    assert img.shape == (28, 28) and img.max() == pytest.approx(1.0) and img.min() == 0
    np.testing.assert_array_equal(F.image_to_drawing(img), grid)
    with pytest.raises(ValueError, match="0/1"):
        F.drawing_to_image(np.full((14, 14), 0.5))


# --------------------------------------------------------------------------- the widget

def test_default_state_png_and_render(browser):
    assert is_png(browser.png) and browser.mode == "image" and browser.index == 0
    n_open = len(plt.get_fignums())
    fig = browser.render()
    assert len(fig.axes) == 2 + 4
    plt.close(fig)
    assert len(plt.get_fignums()) == n_open


def test_controls_change_the_picture(browser):
    n_open = len(plt.get_fignums())
    first = browser.png
    browser.image_index.value = 5
    assert browser.index == 5 and browser.png != first and is_png(browser.png)
    calls = browser.analyser.calls
    browser.image_index.value = 0
    assert browser.analyser.calls == calls          # image 0 was cached
    browser.cam_toggle.value = False
    assert not browser.overlay and browser.png != first
    browser.cam_toggle.value = True
    browser.cells[4][7].value = True                # a click on the grid: a drawing
    assert browser.mode == "drawing" and browser.source.value == "drawing" and browser.grid[4, 7] == 1
    drawn = browser.png
    browser.cells[5][7].value = True
    assert browser.grid.sum() == 2 and browser.png != drawn
    browser.clear_button.click()
    assert browser.grid.sum() == 0 and not any(c.value for row in browser.cells for c in row)
    browser.image_index.value = 3
    browser.copy_button.click()
    np.testing.assert_array_equal(browser.grid, F.image_to_drawing(browser.images[3]))
    assert sum(c.value for row in browser.cells for c in row) == browser.grid.sum() > 0
    browser.source.value = "image"
    assert browser.mode == "image" and browser.index == 3
    assert len(plt.get_fignums()) == n_open


def test_bad_input_gives_clear_errors(trained):
    model, X, y = trained
    with pytest.raises(ValueError, match="images must have shape"):
        F.FeatureMapBrowser(model, X[:5, :20, :20])
    with pytest.raises(ValueError, match="scaled to 0-1"):
        F.FeatureMapBrowser(model, X[:5] * 255)
    with pytest.raises(ValueError, match="one entry per image"):
        F.FeatureMapBrowser(model, X[:5], y[:4])
    b = F.FeatureMapBrowser(model, X[:5])
    with pytest.raises(ValueError, match="index must be"):
        b.show_image(7)
    with pytest.raises(ValueError, match="grid must be"):
        b.set_drawing(np.ones((10, 10)))


def test_sequential_model_works(trained):
    import keras
    model, X, _ = trained
    seq = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                            keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(10),
                            keras.layers.Softmax()])
    b = F.FeatureMapBrowser(seq, X[:3])
    assert is_png(b.png) and len(b.analysis.maps) == 2 and b.analyser.score_is_logit
