"""cu.scratch references of notebook 13 (modern CNN blocks, transfer bookkeeping) against Keras."""
import numpy as np
import pytest

from course_utils.scratch import transfer as T

RNG = np.random.default_rng(13)


def _layer(layer, shape, weights):
    layer.build((None,) + tuple(shape))
    layer.set_weights([np.asarray(w, "float32") for w in weights])
    return layer


def _x(*shape):
    return RNG.normal(size=shape).astype("float32")


@pytest.mark.parametrize("c_in,c_out", [(1, 1), (3, 8), (16, 4)])
def test_pointwise_equals_conv2d_1x1(c_in, c_out):
    import keras
    x, k, b = _x(2, 5, 7, c_in), _x(1, 1, c_in, c_out), _x(c_out)
    conv = _layer(keras.layers.Conv2D(c_out, 1), x.shape[1:], [k, b])
    np.testing.assert_allclose(T.pointwise_conv2d(x, k, b), np.asarray(conv(x)), atol=1e-5)
    np.testing.assert_allclose(T.pointwise_conv2d(x, k[0, 0], b), np.asarray(conv(x)), atol=1e-5)
    assert conv.count_params() == (c_in + 1) * c_out


def test_global_average_pool_equals_keras():
    import keras
    x = _x(3, 6, 5, 4)
    np.testing.assert_allclose(T.global_avg_pool2d(x), np.asarray(keras.layers.GlobalAveragePooling2D()(x)),
                               atol=1e-6)


@pytest.mark.parametrize("k,c,m,stride,padding", [(3, 4, 1, 1, "valid"), (3, 2, 3, 2, "same"),
                                                  (5, 3, 2, 1, "same"), (1, 5, 1, 1, "valid")])
def test_depthwise_equals_keras(k, c, m, stride, padding):
    import keras
    x, dk, b = _x(2, 9, 8, c), _x(k, k, c, m), _x(c * m)
    layer = _layer(keras.layers.DepthwiseConv2D(k, strides=stride, padding=padding, depth_multiplier=m),
                   x.shape[1:], [dk, b])
    np.testing.assert_allclose(T.depthwise_conv2d(x, dk, b, stride, padding), np.asarray(layer(x)), atol=1e-4)
    assert layer.count_params() == T.count_depthwise_params(k, c, m)


@pytest.mark.parametrize("k,c,f,m,stride,padding,bias", [(3, 4, 6, 1, 1, "same", True),
                                                         (3, 2, 5, 2, 2, "valid", False),
                                                         (5, 3, 1, 1, 1, "same", True)])
def test_separable_equals_keras(k, c, f, m, stride, padding, bias):
    import keras
    x, dk, pk, b = _x(2, 10, 9, c), _x(k, k, c, m), _x(1, 1, c * m, f), _x(f)
    layer = _layer(keras.layers.SeparableConv2D(f, k, strides=stride, padding=padding, depth_multiplier=m,
                                                use_bias=bias), x.shape[1:], [dk, pk, b] if bias else [dk, pk])
    got = T.separable_conv2d(x, dk, pk, b if bias else None, stride, padding)
    np.testing.assert_allclose(got, np.asarray(layer(x)), atol=1e-4)
    assert layer.count_params() == T.count_separable_params(k, c, f, m, use_bias=bias)


@pytest.mark.parametrize("c_in,f,stride", [(4, 4, 1), (3, 5, 1), (4, 6, 2)])
def test_residual_block_equals_keras(c_in, f, stride):
    import keras
    L = keras.layers
    inp = keras.Input((8, 7, c_in))
    h = L.Conv2D(f, 3, strides=stride, padding="same", activation="relu")(inp)
    fx = L.Conv2D(f, 3, padding="same")(h)
    proj = not (stride == 1 and c_in == f)
    sc = L.Conv2D(f, 1, strides=stride, padding="same")(inp) if proj else inp
    model = keras.Model(inp, L.ReLU()(L.Add()([fx, sc])))
    w = [_x(*v.shape) * 0.5 for v in model.weights]
    model.set_weights(w)
    x = _x(2, 8, 7, c_in)
    got = T.residual_block_forward(x, w[0], w[1], w[2], w[3], stride, (w[4], w[5]) if proj else None)
    np.testing.assert_allclose(got, np.asarray(model(x)), atol=1e-4)


def test_identity_shortcut_needs_matching_shapes():
    x = _x(1, 6, 6, 3)
    with pytest.raises(ValueError, match="projection"):
        T.residual_block_forward(x, _x(3, 3, 3, 4), None, _x(3, 3, 4, 4), None)
    # zero residual branch: the block is relu(x)
    zero = np.zeros((3, 3, 3, 3))
    np.testing.assert_allclose(T.residual_block_forward(x, zero, None, zero, None), np.maximum(x, 0), atol=1e-12)


@pytest.mark.parametrize("c_in,f,stride,k", [(8, 8, 1, 3), (8, 16, 2, 3), (8, 8, 2, 3), (3, 5, 1, 5)])
def test_residual_block_params_equal_keras(c_in, f, stride, k):
    import keras
    L = keras.layers
    inp = keras.Input((12, 12, c_in))
    h = L.ReLU()(L.BatchNormalization()(L.Conv2D(f, k, strides=stride, padding="same", use_bias=False)(inp)))
    h = L.BatchNormalization()(L.Conv2D(f, k, padding="same", use_bias=False)(h))
    sc = inp
    if stride != 1 or c_in != f:
        sc = L.BatchNormalization()(L.Conv2D(f, 1, strides=stride, use_bias=False)(inp))
    model = keras.Model(inp, L.ReLU()(L.Add()([h, sc])))
    assert model.count_params() == T.residual_block_params(c_in, f, stride, k)
    bn = L.BatchNormalization()
    bn.build((None, f))
    assert bn.count_params() == T.count_bn_params(f)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="batch axis"):
        T.global_avg_pool2d(np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match="input channels"):
        T.pointwise_conv2d(np.zeros((1, 2, 2, 3)), np.zeros((1, 1, 4, 2)))
    with pytest.raises(ValueError, match="1x1"):
        T.pointwise_conv2d(np.zeros((1, 2, 2, 3)), np.zeros((3, 3, 3, 2)))
    with pytest.raises(ValueError, match="channels"):
        T.depthwise_conv2d(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 2, 1)))
    with pytest.raises(TypeError):
        T.count_separable_params(3.0, 2, 2)
    with pytest.raises(ValueError):
        T.count_depthwise_params(3, 0)


def test_few_shot_indices():
    y = np.repeat(np.arange(4), [5, 6, 7, 8])
    idx = T.few_shot_indices(y, 3, seed=0)
    assert len(idx) == 12 and len(set(idx)) == 12
    assert np.array_equal(np.bincount(y[idx]), [3, 3, 3, 3])
    assert np.array_equal(idx, T.few_shot_indices(y, 3, seed=0))           # reproducible
    assert not np.array_equal(idx, T.few_shot_indices(y, 3, seed=1))
    assert np.array_equal(np.unique(y[T.few_shot_indices(y, 2, 0, classes=[3, 1])]), [1, 3])
    with pytest.raises(ValueError, match="fewer than k"):
        T.few_shot_indices(y, 6, seed=0)
    with pytest.raises(ValueError, match="integer labels"):
        T.few_shot_indices(y.astype(float), 2, seed=0)


def test_seed_spread_and_paired_gain():
    mean, sd, se = T.seed_spread([0.5, 0.7, 0.6])
    assert mean == pytest.approx(0.6) and sd == pytest.approx(0.1) and se == pytest.approx(0.1 / np.sqrt(3))
    gain, se = T.paired_seed_gain([0.8, 0.9, 0.85], [0.5, 0.6, 0.55])
    assert gain == pytest.approx(0.3) and se == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="at least 2"):
        T.seed_spread([0.5])
    with pytest.raises(ValueError, match="same seeds"):
        T.paired_seed_gain([0.1, 0.2], [0.1, 0.2, 0.3])
