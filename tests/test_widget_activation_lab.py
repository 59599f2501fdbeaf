"""Tests for the Activation lab widget (notebook 02), driven without a browser."""
import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils import scratch
from course_utils.widgets import activation_lab as lab
from course_utils.widgets.base import is_png


# ----------------------------------------------------------------- pure functions

def test_init_weights_scales():
    rng = np.random.default_rng(0)
    n = 400
    assert abs(lab.init_weights(n, n, "small", rng).std() - 0.01) < 1e-3
    assert abs(lab.init_weights(n, n, "large", rng).std() - 1.0) < 0.02
    assert abs(lab.init_weights(n, n, "he", rng).std() - np.sqrt(2 / n)) < 0.002
    g = lab.init_weights(n, 200, "glorot", rng)
    assert g.shape == (n, 200)
    assert np.abs(g).max() <= np.sqrt(6 / 600)
    assert abs(g.var() - 2 / 600) < 2e-4
    with pytest.raises(ValueError, match="scheme must be one of"):
        lab.init_weights(3, 3, "xavier", rng)
    with pytest.raises(ValueError, match="fan_in must be >= 1"):
        lab.init_weights(0, 3, "he", rng)


def test_simulate_shapes_and_forward_pass_by_hand():
    s = lab.simulate("tanh", "glorot", depth=3, width=5, n_inputs=7, seed=3, bias=0.1)
    assert len(s.z) == len(s.a) == 3
    assert all(z.shape == (7, 5) for z in s.z)
    assert s.grad_norms.shape == s.dead.shape == s.flat.shape == (3,)
    # replay the forward pass with the same generator and compare
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 5))
    a = x
    for k in range(3):
        W = lab.init_weights(5, 5, "glorot", rng)
        a = np.tanh(a @ W + 0.1)
        np.testing.assert_allclose(s.a[k], a)


def test_dead_share_equals_hand_count_on_tiny_stack():
    # hand-made pre-activations of a 2-layer ReLU stack, 3 inputs x 4 units
    z1 = np.array([[-1.0, 2.0, -0.5, 0.0],
                   [-2.0, -1.0, 0.3, -1.0],
                   [-0.1, 1.0, -3.0, -2.0]])  # units 0 and 3 never positive: 2 dead of 4
    z2 = np.array([[1.0, 1.0, -1.0, 1.0],
                   [1.0, -1.0, -1.0, 1.0],
                   [1.0, 1.0, -1.0, 1.0]])    # unit 2 dead: 1 of 4
    np.testing.assert_allclose(lab.dead_share_per_layer([z1, z2], "relu"), [0.5, 0.25])
    # same numbers as counting zero outputs with the scratch helper
    assert scratch.dead_share(scratch.relu(z1)) == 0.5
    # leaky ReLU and sigmoid never have a zero derivative; step always does
    np.testing.assert_allclose(lab.dead_share_per_layer([z1, z2], "leaky_relu"), [0.0, 0.0])
    np.testing.assert_allclose(lab.dead_share_per_layer([z1], "sigmoid"), [0.0])
    np.testing.assert_allclose(lab.dead_share_per_layer([z1], "step"), [1.0])


def test_simulated_dead_share_matches_outputs():
    s = lab.simulate("relu", "he", depth=6, width=40, bias=-0.5, n_inputs=64, seed=1)
    by_outputs = [scratch.dead_share(a) for a in s.a]
    np.testing.assert_allclose(s.dead, by_outputs)
    assert s.dead[-1] > s.dead[0]  # a negative bias kills more units the deeper it goes


def test_flat_share():
    z = np.array([[0.0, 10.0], [-10.0, 0.5]])
    # sigmoid'(10) / 0.25 is about 1.8e-4: flat; sigmoid'(0.5) / 0.25 = 0.94: not flat
    np.testing.assert_allclose(lab.flat_share_per_layer([z], "sigmoid"), [0.5])
    np.testing.assert_allclose(lab.flat_share_per_layer([z], "relu"), [0.5])  # z <= 0 twice
    np.testing.assert_allclose(lab.flat_share_per_layer([z], "step"), [1.0])


def test_gradient_norms_match_a_chain_rule_by_hand():
    s = lab.simulate("sigmoid", "glorot", depth=2, width=3, n_inputs=4, seed=5)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3))
    W1 = lab.init_weights(3, 3, "glorot", rng)
    W2 = lab.init_weights(3, 3, "glorot", rng)
    g = np.random.default_rng([5, 1]).standard_normal((4, 3)) / 4   # a stream of its own
    z1 = x @ W1
    a1 = scratch.sigmoid(z1)
    z2 = a1 @ W2
    d2 = g * scratch.sigmoid_grad(z2)
    d1 = (d2 @ W2.T) * scratch.sigmoid_grad(z1)
    np.testing.assert_allclose(s.grad_norms, [np.linalg.norm(x.T @ d1), np.linalg.norm(a1.T @ d2)])


def test_a_deeper_stack_adds_layers_on_top_and_reuses_the_kept_forward_pass():
    shallow = lab.simulate("tanh", "glorot", depth=3, width=8, n_inputs=16, seed=7, bias=0.2)
    deep = lab.simulate("tanh", "glorot", depth=6, width=8, n_inputs=16, seed=7, bias=0.2)
    again = lab.simulate("tanh", "glorot", depth=3, width=8, n_inputs=16, seed=7, bias=0.2)
    for k in range(3):   # the same inputs and first layers at every depth
        np.testing.assert_array_equal(deep.z[k], shallow.z[k])
        assert again.z[k] is deep.z[k]   # kept, not recomputed
    np.testing.assert_array_equal(again.grad_norms, shallow.grad_norms)
    np.testing.assert_array_equal(deep.dead[:3], shallow.dead)
    # kept arrays are read-only, so no caller can change another state's numbers
    with pytest.raises(ValueError):
        deep.a[0][0, 0] = 1.0
    # a new bias is a new forward pass
    other = lab.simulate("tanh", "glorot", depth=3, width=8, n_inputs=16, seed=7, bias=0.3)
    assert not np.array_equal(other.z[0], shallow.z[0])


def test_vanishing_gradients_sigmoid_vs_relu():
    sig = lab.simulate("sigmoid", "glorot", depth=20, seed=0)
    rel = lab.simulate("relu", "he", depth=20, seed=0)
    assert sig.grad_norms[0] / sig.grad_norms[-1] < 1e-6
    assert 0.1 < rel.grad_norms[0] / rel.grad_norms[-1] < 10


def test_simulate_validates_inputs():
    with pytest.raises(ValueError, match="unknown activation"):
        lab.simulate("relux")
    with pytest.raises(ValueError, match="init must be one of"):
        lab.simulate("relu", "xavier")
    with pytest.raises(ValueError, match=r"depth must be in \[1, 200\]"):
        lab.simulate(depth=0)
    with pytest.raises(TypeError, match="depth must be an int"):
        lab.simulate(depth=2.5)
    with pytest.raises(TypeError, match="bias must be a finite number"):
        lab.simulate(bias="0")
    with pytest.raises(ValueError, match=r"zs\[0\] must have shape"):
        lab.dead_share_per_layer([np.zeros(3)], "relu")


@pytest.mark.parametrize("name", scratch.ACTIVATION_NAMES)
def test_render_every_activation(name):
    fig = lab.render(lab.simulate(name, "large", depth=4, width=20, n_inputs=32))
    assert len(fig.axes) >= 4
    plt.close(fig)


# ----------------------------------------------------------------- the widget

@pytest.fixture
def widget():
    return lab.ActivationLab(depth=4, width=30, n_inputs=40)


def test_widget_starts_with_png_and_state(widget):
    assert is_png(widget.png) and widget.image.value == widget.png
    assert widget.state.activation == "relu" and widget.state.depth == 4
    assert "dead units" in widget.status.value


def test_widget_controls_change_the_state(widget):
    before = widget.png
    widget.activation.value = "sigmoid"
    assert widget.state.activation == "sigmoid" and widget.png != before
    widget.init.value = "small"
    assert widget.state.init == "small"
    widget.depth.value = 7
    assert widget.state.depth == 7 and len(widget.state.a) == 7
    widget.bias.value = -0.5
    assert widget.state.bias == -0.5
    seed = widget.state.seed
    widget.resample.click()
    assert widget.state.seed == seed + 1
    assert is_png(widget.png)


def test_widget_dead_share_responds_to_bias(widget):
    widget.depth.value = 8
    widget.bias.value = 0.0
    healthy = widget.state.dead.mean()
    widget.bias.value = -1.0
    assert widget.state.dead.mean() > healthy + 0.3
    widget.activation.value = "leaky_relu"
    assert widget.state.dead.mean() == 0.0


def test_widget_does_not_leak_figures(widget):
    start = len(plt.get_fignums())
    for i in range(50):
        if i % 5 == 0:
            widget.resample.click()
        else:
            widget.depth.value = 1 + i % 6
    assert len(plt.get_fignums()) <= start


def test_widget_validates_arguments():
    with pytest.raises(ValueError, match="activation must be one of"):
        lab.ActivationLab(activation="softmax")
    with pytest.raises(ValueError, match="init must be one of"):
        lab.ActivationLab(init="xavier")
    with pytest.raises(ValueError, match=r"depth must be in \[1, 40\]"):
        lab.ActivationLab(depth=41)


def test_widget_displays_png_headless(widget):
    bundle = {}

    def fake_display(obj, raw=False):
        bundle.update(obj)

    import IPython.display
    orig = IPython.display.display
    IPython.display.display = fake_display
    try:
        widget._ipython_display_()
    finally:
        IPython.display.display = orig
    assert "image/png" in bundle and "application/vnd.jupyter.widget-view+json" in bundle


# --------------------------------------------------------------------------- ridge rows and fast frames (issue 10)

def _pixels(png):
    import io

    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _close(a, b):
    d = np.abs(_pixels(a) - _pixels(b)).max(axis=2)
    return d.max() <= 16 and (d > 2).mean() < 0.001


def test_ridge_rows_bins_scales_and_clips():
    s = lab.simulate("relu", "he", depth=15, width=30, n_inputs=64, bias=-0.25)
    r = lab.ridge_rows(s)
    assert r["layers"] == lab._layers_to_show(15) and len(r["heights"]) == len(r["layers"]) == 6
    assert r["bins"].shape == (61,) and r["centers"].shape == (60,)
    assert r["bins"][0] == r["lo"] < r["hi"] == r["bins"][-1]
    for h, k, sd in zip(r["heights"], r["layers"], r["std"]):
        assert h.shape == (60,) and h.min() >= 0 and h.max() <= 0.9 + 1e-12
        assert sd == pytest.approx(np.std(s.a[k]))
    # ReLU with a negative bias: the bin holding the zeros dwarfs the rest and is clipped
    top, share = r["clipped"][-1]
    assert top == 0 and 0.5 < share <= 1 and r["lo"] <= 0 < r["bins"][1]
    smooth = lab.ridge_rows(lab.simulate("tanh", "glorot", depth=3, width=30, n_inputs=64))
    assert smooth["clipped"] == [None, None, None] and smooth["layers"] == [0, 1, 2]


def test_simulate_reuses_the_same_draws_for_every_bias():
    a = lab.simulate("relu", "he", depth=4, width=20, n_inputs=32, bias=0.0, seed=3)
    b = lab.simulate("tanh", "he", depth=4, width=20, n_inputs=32, bias=0.5, seed=3)
    np.testing.assert_array_equal(a.z[0] + 0.5, b.z[0])  # same inputs and first weights
    c = lab.simulate("relu", "he", depth=4, width=20, n_inputs=32, bias=0.0, seed=4)
    assert not np.allclose(a.z[0], c.z[0])


def test_a_bias_change_redraws_only_the_data_and_looks_the_same(widget):
    from course_utils.widgets.base import fig_to_png
    frame = widget.frame
    full, panels = frame.full_draws, frame.panel_draws
    for v in (-0.5, 0.25, 0.8):
        widget.bias.value = v
    assert (frame.full_draws, frame.panel_draws) == (full, panels)
    assert _close(widget.png, fig_to_png(lab.render(widget.state), dpi=widget.dpi))
    widget.activation.value = "tanh"  # the f/f' panel and the title, not the whole figure
    assert frame.full_draws == full and frame.panel_draws > panels
    assert _close(widget.png, frame.full_png())


def test_the_per_layer_axes_span_10_20_or_40_layers_and_move_only_across_those(widget):
    assert [lab.layer_axis_end(d) for d in (1, 10, 11, 20, 21, 40)] == [10, 10, 20, 20, 40, 40]
    frame = widget.frame
    widget.depth.value = 12
    full, panels = frame.full_draws, frame.panel_draws
    for d in (13, 17, 20, 14):   # within one span: the x axes stay, no panel is drawn
        widget.depth.value = d
    assert (frame.full_draws, frame.panel_draws) == (full, panels)
    assert widget.picture.ax_g.get_xlim() == (0.4, 20.6)
    widget.depth.value = 25      # across 20: the two per-layer panels, alone
    assert frame.full_draws == full and frame.panel_draws == panels + 2
    widget.depth.value = 15      # back: both pasted from the panel cache, nothing drawn
    assert frame.panel_draws == panels + 4 and widget.picture.ax_d.get_xlim() == (0.4, 20.6)
