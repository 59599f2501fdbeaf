"""Drive the convolution explorer without a browser (notebook 11)."""
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils.scratch import convolution as C  # noqa: E402
from course_utils.widgets import convolution_explorer as CE  # noqa: E402
from course_utils.widgets.base import is_png  # noqa: E402


@pytest.fixture(scope="module")
def explorer():
    return CE.ConvolutionExplorer()


def _pixels(png):
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGB")).astype(int)


def test_photo_is_small_gray_and_cached():
    img = CE.load_photo("china")
    assert img.shape == (42, 64) and 0 <= img.min() and img.max() <= 1
    assert CE.load_photo("china") is img and not img.flags.writeable
    assert CE.load_photo("flower").shape == (42, 64)
    with pytest.raises(ValueError, match="photo must be one of"):
        CE.load_photo("cat")


def test_explain_window_sum_is_the_output_pixel():
    for stride, padding in [(1, "valid"), (2, "same"), (3, "valid"), (3, "same")]:
        st = CE.ConvState(kernel=C.kernel_preset("sharpen"), stride=stride, padding=padding, position=123)
        e = CE.explain(st)
        img = CE.load_photo("china")
        assert e.output.shape == (C.conv_output_size(42, 3, stride, padding),
                                  C.conv_output_size(64, 3, stride, padding))
        np.testing.assert_allclose(e.output, C.conv2d_fast(img[..., None], st.kernel, stride=stride,
                                                           padding=padding)[..., 0])
        assert e.row * e.output.shape[1] + e.col == 123
        np.testing.assert_allclose(e.value, e.output[e.row, e.col])
        np.testing.assert_allclose(e.products, e.window * st.kernel)
    e = CE.explain(CE.ConvState(pooling="min 2x2", position=10 ** 6))     # clipped to the last position
    assert (e.row, e.col) == (e.output.shape[0] - 1, e.output.shape[1] - 1)
    np.testing.assert_allclose(e.pooled, C.pool2d(e.output[..., None], 2, mode="min")[..., 0])
    assert "floor((42 − 3)/1) + 1 = 40" in e.formula
    with pytest.raises(ValueError, match="kernel must be"):
        CE.explain(CE.ConvState(kernel=np.ones((2, 2))))


def test_controls_change_state_and_picture(explorer):
    n_figs = len(plt.get_fignums())
    first = explorer.png
    assert is_png(first) and "convolution-explorer" in explorer.ui._dom_classes
    explorer.w_position.value = 500
    assert explorer.state.position == 500 and is_png(explorer.png) and explorer.png != first
    before = explorer.png
    explorer.step_button.click()
    assert explorer.state.position == 501 and explorer.w_position.value == 501 and explorer.png != before
    explorer.w_stride.value = 3
    assert explorer.w_position.max == 14 * 21 - 1 and explorer.state.position == 14 * 21 - 1
    explorer.w_padding.value = "same"
    assert explorer.w_position.max == 14 * 22 - 1
    explorer.w_pooling.value = "max 2x2"
    assert explorer.state.pooling == "max 2x2"
    explorer.w_preset.value = "box blur"
    np.testing.assert_allclose([c.value for c in explorer.w_cells], np.full(9, 1 / 9))
    explorer.w_cells[4].value = 2.0
    assert explorer.state.kernel[1, 1] == 2.0 and explorer.state.preset == "edited"
    explorer.w_photo.value = "flower"
    assert explorer.state.photo == "flower"
    assert len(plt.get_fignums()) == n_figs
    # the kept frame draws what a full draw of the same figure draws
    np.testing.assert_array_equal(_pixels(explorer.png), _pixels(explorer.frame.full_png()))


def test_step_wraps_and_bad_input(explorer):
    explorer.set_geometry(1, "valid")
    n = explorer._n_out()
    explorer.set_position(n - 1)
    explorer.step()
    assert explorer.state.position == 0
    with pytest.raises(ValueError, match="padding must be"):
        explorer.set_geometry(1, "full")
    with pytest.raises(ValueError, match="stride must be"):
        explorer.set_geometry(5, "same")
    with pytest.raises(ValueError, match="pooling must be"):
        explorer.set_pooling("median")
    with pytest.raises(ValueError, match="kernel must be 3x3"):
        explorer.set_kernel(np.ones((3, 4)))
    with pytest.raises(ValueError, match="photo must be"):
        CE.ConvolutionExplorer("cat")


def test_render_returns_a_figure():
    fig = CE.render(CE.ConvState(padding="same", pooling="avg 2x2"))
    assert len(fig.axes) == 6
    plt.close(fig)
