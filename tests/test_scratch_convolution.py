"""cu.scratch convolution (notebook 11): conv, sizes, pooling and the backward pass against Keras/TF."""
import itertools
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils.scratch import convolution as C  # noqa: E402

SETTINGS = [(k, s, pad) for k, s, pad in itertools.product((1, 2, 3, 5), (1, 2, 3), ("valid", "same"))]


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def test_loops_equal_fast_and_hand_example():
    x = np.arange(16, dtype=float).reshape(4, 4, 1)
    k = np.array([[1.0, 0.0], [0.0, -1.0]])
    out = C.conv2d_loops(x, k)
    # cross-correlation: out[i, j] = x[i, j] - x[i + 1, j + 1] = -5 everywhere
    np.testing.assert_array_equal(out[..., 0], np.full((3, 3), -5.0))
    rng = np.random.default_rng(1)
    for k_, s, pad in SETTINGS:
        xb = rng.random((2, 7, 8, 3))
        kb = rng.normal(size=(k_, k_, 3, 2))
        b = rng.normal(size=2)
        np.testing.assert_allclose(C.conv2d_fast(xb, kb, b, s, pad), C.conv2d_loops(xb, kb, b, s, pad),
                                   atol=1e-12)


def test_conv_equals_keras_every_setting(keras):
    rng = np.random.default_rng(0)
    worst = 0.0
    for (k, s, pad), (c_in, c_out) in itertools.product(SETTINGS, [(1, 1), (3, 4)]):
        x = rng.random((2, 9, 8, c_in)).astype("float32")
        layer = keras.layers.Conv2D(c_out, k, strides=s, padding=pad)
        layer.build(x.shape)
        kernel = rng.normal(0, 0.5, size=(k, k, c_in, c_out)).astype("float32")
        bias = rng.normal(size=c_out).astype("float32")
        layer.set_weights([kernel, bias])
        want = np.asarray(layer(x))
        got = C.conv2d_fast(x, kernel, bias, s, pad)
        assert got.shape == want.shape
        assert want.shape[1:3] == (C.conv_output_size(9, k, s, pad), C.conv_output_size(8, k, s, pad))
        worst = max(worst, float(np.abs(got - want).max()))
    assert worst < 1e-5


def test_output_size_formula_and_same_padding():
    assert C.conv_output_size(28, 3) == 26
    assert C.conv_output_size(28, 3, padding="same") == 28
    assert C.conv_output_size(28, 5, stride=2) == 12
    assert C.conv_output_size(28, 5, stride=2, padding="same") == 14
    assert C.conv_output_size(7, 3, stride=2, padding=1) == 4      # floor((7 + 2 - 3) / 2) + 1
    assert C.same_padding(5, 3, 1) == (1, 1)
    assert C.same_padding(6, 3, 2) == (0, 1)                          # the extra zero after
    assert C.same_padding(5, 4, 1) == (1, 2)
    with pytest.raises(ValueError, match="larger than the"):
        C.conv_output_size(2, 3)
    with pytest.raises(ValueError, match="padding must be"):
        C.conv_output_size(5, 3, padding="full")
    with pytest.raises(ValueError, match="stride must be"):
        C.conv_output_size(5, 3, stride=0)


def test_pooling_equals_keras_and_min_is_minus_max(keras):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 9, 7, 3)).astype("float32")
    for size, stride, pad in [(2, None, "valid"), (2, None, "same"), (3, 2, "valid"), (3, 2, "same"),
                              (3, 1, "same"), ((2, 3), (1, 2), "same")]:
        got_max = C.pool2d(x, size, stride, pad, "max")
        got_avg = C.pool2d(x, size, stride, pad, "avg")
        np.testing.assert_allclose(got_max, keras.layers.MaxPooling2D(size, stride, pad)(x), atol=1e-6)
        np.testing.assert_allclose(got_avg, keras.layers.AveragePooling2D(size, stride, pad)(x), atol=1e-6)
        got_min = C.pool2d(x, size, stride, pad, "min")
        np.testing.assert_allclose(got_min, -np.asarray(keras.layers.MaxPooling2D(size, stride, pad)(-x)),
                                   atol=1e-6)
    windows = x[0, :8, :6, 0].reshape(4, 2, 3, 2).transpose(0, 2, 1, 3).reshape(4, 3, 4)
    np.testing.assert_allclose(C.pool2d(x[0], 2, mode="min")[:, :, 0], windows.min(axis=2))
    with pytest.raises(ValueError, match="mode must be"):
        C.pool2d(x, mode="median")


def test_backward_equals_gradient_tape(keras):
    import tensorflow as tf
    rng = np.random.default_rng(3)
    for k, s, pad in [(3, 1, "valid"), (3, 2, "same"), (2, 2, "same"), (5, 3, "valid"), (4, 1, "same")]:
        x = rng.random((2, 8, 9, 2)).astype("float32")
        kernel = rng.normal(size=(k, k, 2, 3)).astype("float32")
        out_shape = C.conv2d_fast(x, kernel, None, s, pad).shape
        g = rng.normal(size=out_shape).astype("float32")
        xt, kt = tf.constant(x), tf.constant(kernel)
        with tf.GradientTape() as tape:
            tape.watch([xt, kt])
            loss = tf.reduce_sum(tf.nn.conv2d(xt, kt, s, pad.upper()) * g)
        gx, gk = tape.gradient(loss, [xt, kt])
        mx, mk, mb = C.conv2d_backward(x, kernel, g, s, pad)
        np.testing.assert_allclose(mx, gx, atol=1e-4)
        np.testing.assert_allclose(mk, gk, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(mb, g.astype(float).sum(axis=(0, 1, 2)), rtol=1e-9)


def test_backward_finite_differences_single_image():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(5, 6, 1))
    k = rng.normal(size=(3, 3))
    g = rng.normal(size=C.conv2d_fast(x, k, stride=2, padding="same").shape)
    gx, gk, gb = C.conv2d_backward(x, k, g, 2, "same")
    assert gx.shape == x.shape and gk.shape == k.shape and gb.shape == (1,)
    loss = lambda xx, kk: float(np.sum(C.conv2d_fast(xx, kk, stride=2, padding="same") * g))
    eps = 1e-6
    for idx in [(0, 0, 0), (2, 3, 0), (4, 5, 0)]:
        d = np.zeros_like(x)
        d[idx] = eps
        assert abs((loss(x + d, k) - loss(x - d, k)) / (2 * eps) - gx[idx]) < 1e-6
    for idx in [(0, 0), (1, 2), (2, 2)]:
        d = np.zeros_like(k)
        d[idx] = eps
        assert abs((loss(x, k + d) - loss(x, k - d)) / (2 * eps) - gk[idx]) < 1e-6


def test_rgb_to_gray_matches_tensorflow(keras):
    import tensorflow as tf
    img = np.random.default_rng(5).integers(0, 256, size=(2, 5, 4, 3)).astype("float32")
    np.testing.assert_allclose(C.rgb_to_gray(img), tf.image.rgb_to_grayscale(img), rtol=1e-5, atol=1e-3)
    with pytest.raises(ValueError, match="3 colour channels"):
        C.rgb_to_gray(img[..., :2])


def test_presets_and_input_errors():
    assert set(C.KERNEL_PRESETS) >= {"identity", "box blur", "sharpen", "sobel x (vertical edges)"}
    for name in C.KERNEL_PRESETS:
        assert C.kernel_preset(name).shape == (3, 3)
    np.testing.assert_allclose(C.kernel_preset("box blur").sum(), 1.0)
    x = np.random.default_rng(6).random((6, 6, 1))
    np.testing.assert_allclose(C.conv2d_fast(x, C.kernel_preset("identity"), padding="same"), x)
    with pytest.raises(ValueError, match="name must be one of"):
        C.kernel_preset("blurry")
    with pytest.raises(ValueError, match="channel axis"):
        C.conv2d_fast(np.zeros((6, 6)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="input channel"):
        C.conv2d_fast(np.zeros((6, 6, 3)), np.ones((3, 3, 1, 2)))
    with pytest.raises(ValueError, match="bias must have shape"):
        C.conv2d_loops(np.zeros((6, 6, 1)), np.ones((3, 3, 1, 2)), bias=np.ones(3))
    with pytest.raises(TypeError, match="array of numbers"):
        C.conv2d_fast(np.array([["a"]]), np.ones((1, 1)))
    with pytest.raises(ValueError, match="grad_out must have"):
        C.conv2d_backward(np.zeros((6, 6, 1)), np.ones((3, 3)), np.zeros((6, 6, 1)))
