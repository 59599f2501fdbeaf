"""Tests for course_utils.scratch.normalization (notebook 09): batch norm, init scales, clipping."""
import numpy as np
import pytest

from course_utils import scratch as S
from course_utils.scratch import normalization as N


def test_exported_through_cu_scratch():
    for name in N.__all__:
        assert getattr(S, name) is getattr(N, name)
    # the four initialisation draws stay in one home
    assert "init_weights" not in N.__all__


def test_batchnorm_train_by_hand():
    x = np.array([[1.0, 10.0], [3.0, 30.0]])
    y, mean, var = N.batchnorm_train(x, np.ones(2), np.zeros(2), epsilon=0.0)
    np.testing.assert_allclose(y, [[-1, -1], [1, 1]])
    np.testing.assert_allclose(mean, [2, 20])
    np.testing.assert_allclose(var, [1, 100])  # biased: divided by n = 2
    y2, _, _ = N.batchnorm_train(x, np.array([2.0, 0.5]), np.array([1.0, -1.0]), epsilon=0.0)
    np.testing.assert_allclose(y2, [[-1, -1.5], [3, -0.5]])


def test_batchnorm_output_has_zero_mean_unit_variance():
    x = np.random.default_rng(0).normal(5, 3, size=(256, 7))
    y, _, _ = N.batchnorm_train(x, np.ones(7), np.zeros(7))
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), np.sqrt(x.var(axis=0) / (x.var(axis=0) + 1e-3)), rtol=1e-12)


def test_moving_update_keras_convention():
    new = N.batchnorm_moving_update(np.zeros(3), np.ones(3), momentum=0.99)
    np.testing.assert_allclose(new, 0.01)
    m = np.zeros(1)
    for _ in range(100):
        m = N.batchnorm_moving_update(m, np.ones(1))
    np.testing.assert_allclose(m, 1 - 0.99 ** 100)
    with pytest.raises(ValueError, match="momentum must be <= 1"):
        N.batchnorm_moving_update(np.zeros(2), np.ones(2), momentum=1.5)
    with pytest.raises(ValueError, match="same shape"):
        N.batchnorm_moving_update(np.zeros(2), np.ones(3))


def test_inference_is_per_sample():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(10, 4))
    args = (rng.uniform(0.5, 2, 4), rng.normal(size=4), rng.normal(size=4), rng.uniform(0.5, 2, 4))
    full = N.batchnorm_inference(x, *args)
    np.testing.assert_allclose(N.batchnorm_inference(x[3:4], *args), full[3:4])
    with pytest.raises(ValueError, match="moving_var must be >= 0"):
        N.batchnorm_inference(x, args[0], args[1], args[2], -args[3])
    with pytest.raises(ValueError, match=r"gamma must have shape \(4,\)"):
        N.batchnorm_inference(x, np.ones(3), *args[1:])


def test_layer_matches_keras_training_and_inference():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(2)
    d = 5
    layer = keras.layers.BatchNormalization()
    layer.build((None, d))
    gamma, beta = rng.uniform(0.5, 2, d), rng.normal(size=d)
    layer.gamma.assign(gamma.astype("float32"))
    layer.beta.assign(beta.astype("float32"))
    mine = N.BatchNormScratch(d)
    mine.gamma, mine.beta = gamma.copy(), beta.copy()
    for step in range(6):
        xb = rng.normal(3, 2, size=(32, d)).astype("float32")
        np.testing.assert_allclose(mine(xb, training=True), np.asarray(layer(xb, training=True)),
                                   atol=2e-5, rtol=1e-5)
        np.testing.assert_allclose(mine.moving_mean, np.asarray(layer.moving_mean), atol=1e-6)
        np.testing.assert_allclose(mine.moving_var, np.asarray(layer.moving_variance), atol=1e-6)
    assert mine.updates == 6
    xt = rng.normal(3, 2, size=(8, d)).astype("float32")
    np.testing.assert_allclose(mine(xt, training=False), np.asarray(layer(xt, training=False)),
                               atol=2e-5, rtol=1e-5)
    assert mine.updates == 6  # inference leaves the state alone


def test_backward_matches_numerical_gradient():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 3))
    gamma, beta = rng.uniform(0.5, 2, 3), rng.normal(size=3)
    w = rng.normal(size=(6, 3))  # loss = sum(w * y)

    def loss(xx, gg, bb):
        return float(np.sum(w * N.batchnorm_train(xx, gg, bb, 1e-3)[0]))

    dx, dgamma, dbeta = N.batchnorm_backward(w, x, gamma, 1e-3)
    h = 1e-6
    for arr, grad, which in ((x, dx, 0), (gamma, dgamma, 1), (beta, dbeta, 2)):
        num = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            plus, minus = [x.copy(), gamma.copy(), beta.copy()], [x.copy(), gamma.copy(), beta.copy()]
            plus[which][idx] += h
            minus[which][idx] -= h
            num[idx] = (loss(*plus) - loss(*minus)) / (2 * h)
        np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dx.sum(axis=0), 0, atol=1e-10)


def test_layer_validates():
    with pytest.raises(ValueError, match="n_features must be >= 1"):
        N.BatchNormScratch(0)
    bn = N.BatchNormScratch(3)
    with pytest.raises(ValueError, match="x must have 3 features"):
        bn(np.zeros((2, 4)), training=True)
    with pytest.raises(TypeError, match="training must be True or False"):
        bn(np.zeros((2, 3)), training="yes")
    with pytest.raises(ValueError, match="x must have 2 dimension"):
        N.batchnorm_train(np.zeros(3), np.ones(3), np.zeros(3))


def test_init_scales():
    assert N.he_std(50) == pytest.approx(np.sqrt(2 / 50))
    assert N.glorot_std(30, 70) == pytest.approx(np.sqrt(2 / 100))
    assert N.glorot_limit(30, 70) == pytest.approx(np.sqrt(6 / 100))
    assert N.he_limit(24) == pytest.approx(0.5)
    assert N.lecun_std(4) == pytest.approx(0.5)
    # the limits give the variances of the stds (uniform: limit^2 / 3)
    assert N.glorot_limit(8, 24) ** 2 / 3 == pytest.approx(N.glorot_std(8, 24) ** 2)
    # the one home of the draws agrees with the formulas
    rng = np.random.default_rng(0)
    assert S.init_weights(400, 400, "he", rng).std() == pytest.approx(N.he_std(400), rel=0.01)
    g = S.init_weights(300, 500, "glorot", rng)
    assert np.abs(g).max() <= N.glorot_limit(300, 500)
    assert g.std() == pytest.approx(N.glorot_std(300, 500), rel=0.01)
    with pytest.raises(ValueError, match="fan_in must be >= 1"):
        N.he_std(0)
    with pytest.raises(TypeError, match="fan_out must be an int"):
        N.glorot_std(3, 2.5)


def test_init_scales_match_keras():
    keras = pytest.importorskip("keras")
    w = np.asarray(keras.initializers.HeNormal(seed=0)((256, 256)))
    assert w.std() == pytest.approx(N.he_std(256), rel=0.03)
    w = np.asarray(keras.initializers.GlorotUniform(seed=0)((200, 300)))
    assert np.abs(w).max() <= N.glorot_limit(200, 300) + 1e-7
    assert w.std() == pytest.approx(N.glorot_std(200, 300), rel=0.03)


def test_clip_by_norm_and_value():
    np.testing.assert_allclose(N.clip_by_norm([3.0, 4.0], 1.0), [0.6, 0.8])
    np.testing.assert_allclose(N.clip_by_norm([3.0, 4.0], 10.0), [3.0, 4.0])
    g = np.arange(12.0).reshape(3, 4)
    c = N.clip_by_norm(g, 2.0)
    assert np.linalg.norm(c) == pytest.approx(2.0)
    np.testing.assert_allclose(c / np.linalg.norm(c), g / np.linalg.norm(g))
    np.testing.assert_allclose(N.clip_by_value([-3.0, 0.5, 2.0], 1.0), [-1.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        N.clip_by_norm([1.0], 0.0)
    with pytest.raises(TypeError, match="clip_value must be a finite number"):
        N.clip_by_value([1.0], "1")


def test_clip_by_global_norm_matches_tf():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(4)
    grads = [rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(4, 2))]
    for max_norm in (0.5, 2.0, 100.0):
        mine, total = N.clip_by_global_norm(grads, max_norm)
        ref, ref_total = tf.clip_by_global_norm([tf.constant(g) for g in grads], max_norm)
        assert total == pytest.approx(float(ref_total))
        for a, b in zip(mine, ref):
            np.testing.assert_allclose(a, b.numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match="grads must be a list"):
        N.clip_by_global_norm(np.ones(3), 1.0)


def test_keras_clipnorm_is_per_variable():
    keras = pytest.importorskip("keras")
    import tensorflow as tf
    rng = np.random.default_rng(5)
    ws = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    gs = [10 * rng.normal(size=(3, 2)), 10 * rng.normal(size=2)]
    for kw, clip in (({"clipnorm": 1.0}, lambda g: [N.clip_by_norm(x, 1.0) for x in g]),
                     ({"global_clipnorm": 1.0}, lambda g: N.clip_by_global_norm(g, 1.0)[0]),
                     ({"clipvalue": 0.5}, lambda g: [N.clip_by_value(x, 0.5) for x in g])):
        vs = [tf.Variable(w.astype("float32")) for w in ws]
        opt = keras.optimizers.SGD(learning_rate=0.1, **kw)
        opt.apply_gradients(zip([tf.constant(g.astype("float32")) for g in gs], vs))
        for v, w, g in zip(vs, ws, clip(gs)):
            np.testing.assert_allclose(v.numpy(), w - 0.1 * g, atol=1e-6)
