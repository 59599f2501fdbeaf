"""Tests for course_utils.scratch.regularization (notebook 08): L2 penalty and gradient,
inverted dropout forward/backward, against hand computations, finite differences and Keras."""
import numpy as np
import pytest

from course_utils import scratch
from course_utils.scratch import regularization as R


def test_exported_by_cu_scratch():
    for name in R.__all__:
        assert getattr(scratch, name) is getattr(R, name)


def test_l2_penalty_by_hand_and_list():
    W = np.array([[1.0, -2.0], [0.5, 0.0]])
    assert R.l2_penalty(W, 0.01) == pytest.approx(0.01 * 5.25)
    V = np.array([3.0])
    assert R.l2_penalty([W, V], 0.1) == pytest.approx(0.1 * (5.25 + 9.0))
    assert R.l2_penalty(W, 0) == 0.0


def test_l2_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(4, 3))
    g = R.l2_penalty_grad(W, 0.03)
    h = 1e-6
    num = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        E = np.zeros_like(W)
        E[idx] = h
        num[idx] = (R.l2_penalty(W + E, 0.03) - R.l2_penalty(W - E, 0.03)) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)
    grads = R.l2_penalty_grad([W, 2 * W], 0.03)
    assert isinstance(grads, list) and len(grads) == 2
    np.testing.assert_allclose(grads[1], 2 * g)


def test_l2_sgd_step_is_weight_decay():
    rng = np.random.default_rng(1)
    W, G = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    np.testing.assert_allclose(R.l2_sgd_step(W, G, 0.1, 0.05), (1 - 2 * 0.1 * 0.05) * W - 0.1 * G)


@pytest.mark.parametrize("bad, exc", [(-0.1, ValueError), (float("nan"), ValueError), ("0.1", TypeError),
                                      (True, TypeError)])
def test_l2_rejects_bad_strength(bad, exc):
    with pytest.raises(exc, match="l2"):
        R.l2_penalty(np.ones(2), bad)


def test_l2_equals_keras_regularizer_loss_and_gradient():
    keras = pytest.importorskip("keras")
    import tensorflow as tf
    rng = np.random.default_rng(2)
    W = rng.normal(size=(5, 3)).astype("float32")
    reg = keras.regularizers.L2(0.02)
    np.testing.assert_allclose(float(reg(W)), R.l2_penalty(W, 0.02), rtol=1e-5)
    v = tf.Variable(W)
    with tf.GradientTape() as tape:
        loss = reg(v)
    np.testing.assert_allclose(tape.gradient(loss, v).numpy(), R.l2_penalty_grad(W, 0.02), rtol=1e-5, atol=1e-7)


def test_dropout_forward_with_given_mask():
    x = np.arange(1.0, 7.0).reshape(2, 3)
    mask = np.array([[1, 0, 1], [0, 1, 1]], dtype=bool)
    out, m = R.inverted_dropout(x, 0.3, mask=mask)
    np.testing.assert_allclose(out, x * mask / 0.7)
    assert m.dtype == bool and np.array_equal(m, mask)
    out01, _ = R.inverted_dropout(x, 0.3, mask=mask.astype(int))
    np.testing.assert_allclose(out01, out)


def test_dropout_inference_is_identity():
    x = np.random.default_rng(3).normal(size=(4, 5))
    out, mask = R.inverted_dropout(x, 0.5, training=False)
    np.testing.assert_array_equal(out, x)
    assert mask.all()
    out[0, 0] = 99.0
    assert x[0, 0] != 99.0  # a copy, not the caller's array


def test_dropout_mask_statistics_and_expectation():
    rng = np.random.default_rng(4)
    x = np.ones((400, 500))
    out, mask = R.inverted_dropout(x, 0.3, rng=rng)
    n = mask.size
    keep = mask.mean()
    assert abs(keep - 0.7) < 4 * np.sqrt(0.7 * 0.3 / n)
    assert abs(out.mean() - 1.0) < 4 * np.sqrt(0.3 / 0.7 / n)   # E[out] = x
    np.testing.assert_allclose(np.unique(out), [0.0, 1 / 0.7])
    # a seed gives the same mask twice
    a = R.dropout_keep_mask((3, 4), 0.3, rng=7)
    b = R.dropout_keep_mask((3, 4), 0.3, rng=7)
    np.testing.assert_array_equal(a, b)


def test_dropout_backward_matches_finite_differences():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 4))
    g = rng.normal(size=(3, 4))
    mask = R.dropout_keep_mask(x.shape, 0.4, rng)
    f = lambda z: np.sum(g * R.inverted_dropout(z, 0.4, mask=mask)[0])
    h = 1e-6
    num = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        E = np.zeros_like(x)
        E[idx] = h
        num[idx] = (f(x + E) - f(x - E)) / (2 * h)
    np.testing.assert_allclose(R.inverted_dropout_backward(g, mask, 0.4), num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_dropout_rejects_bad_rate(rate):
    with pytest.raises(ValueError, match="rate"):
        R.inverted_dropout(np.ones(3), rate)


def test_dropout_rejects_bad_mask():
    with pytest.raises(ValueError, match="shape"):
        R.inverted_dropout(np.ones((2, 3)), 0.3, mask=np.ones((3, 2), bool))
    with pytest.raises(ValueError, match="True/False"):
        R.inverted_dropout(np.ones(3), 0.3, mask=np.array([0.5, 1, 0]))
    with pytest.raises(ValueError, match="shape"):
        R.inverted_dropout_backward(np.ones(3), np.ones(2, bool), 0.3)


def test_dropout_equals_keras_layer_in_training_and_inference():
    keras = pytest.importorskip("keras")
    import tensorflow as tf
    layer = keras.layers.Dropout(0.3, seed=1)
    x = np.random.default_rng(6).uniform(0.5, 2.0, size=(64, 50)).astype("float32")  # no zeros
    xv = tf.Variable(x)
    g = np.random.default_rng(7).normal(size=x.shape).astype("float32")
    with tf.GradientTape() as tape:
        y = layer(xv, training=True)
        loss = tf.reduce_sum(y * g)
    y = y.numpy()
    mask = y != 0
    ours, _ = R.inverted_dropout(x, 0.3, mask=mask)
    np.testing.assert_allclose(y, ours, rtol=1e-6)          # kept units scaled by 1/0.7
    np.testing.assert_allclose(tape.gradient(loss, xv).numpy(), R.inverted_dropout_backward(g, mask, 0.3),
                               rtol=1e-6)
    assert abs(mask.mean() - 0.7) < 4 * np.sqrt(0.21 / mask.size)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), R.inverted_dropout(x, 0.3, False)[0])


def test_train_val_gap():
    p_tr = np.array([[0.9, 0.1], [0.2, 0.8]])
    p_va = np.array([[0.6, 0.4], [0.7, 0.3]])
    y = np.array([0, 1])
    g = R.train_val_gap(p_tr, y, p_va, y)
    assert g["train_loss"] == pytest.approx(-(np.log(0.9) + np.log(0.8)) / 2)
    assert g["val_loss"] == pytest.approx(-(np.log(0.6) + np.log(0.3)) / 2)
    assert g["loss_gap"] == pytest.approx(g["val_loss"] - g["train_loss"])
    assert g["train_acc"] == 1.0 and g["val_acc"] == 0.5 and g["acc_gap"] == 0.5
    with pytest.raises(ValueError, match="y_val"):
        R.train_val_gap(p_tr, y, p_va, np.array([0, 2]))


def _numbered_mnist(n_train, n_test=0, seed=0):
    """A synthetic MNIST-shaped Dataset whose images carry their own number (to check the split)."""
    from course_utils.data import Dataset
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    X = np.zeros((n, 28, 28), np.uint8)
    ids = np.arange(n)
    X[:, 0, 0], X[:, 0, 1], X[:, 0, 2] = ids % 256, (ids // 256) % 256, ids // 65536
    y = rng.integers(0, 10, n)
    if n_test:
        return Dataset("mnist", X[:n_train], y[:n_train], X_test=X[n_train:], y_test=y[n_train:], source="full: test")
    return Dataset("mnist", X, y, source="bundled: test")


def _ids(X):
    px = np.rint(X[:, 0, :3] * 255).astype(np.int64)
    return px[:, 0] + 256 * px[:, 1] + 65536 * px[:, 2]


@pytest.mark.parametrize("n_train, n_test, pool", [(60_000, 10_000, 59_000), (5_000, 0, 3_000)])
def test_regularization_split_full_and_bundled(n_train, n_test, pool):
    ds = _numbered_mnist(n_train, n_test)
    X_pool, y_pool, X_val, y_val = R.regularization_split(ds, n_val=1000, n_pool=2000, seed=42)
    assert X_pool.shape == (2000, 28, 28) and X_val.shape == (1000, 28, 28)
    assert X_pool.dtype == X_val.dtype == np.float32 and X_pool.max() <= 1.0
    pool_ids, val_ids = _ids(X_pool), _ids(X_val)
    assert np.array_equal(ds.y[pool_ids], y_pool) and np.array_equal(ds.y[val_ids], y_val)   # labels follow
    assert len(set(pool_ids)) == 2000 and not set(pool_ids) & set(val_ids)
    test_ids = set(range(n_train, n_train + n_test)) if n_test else set(_ids(ds.train_test_split(0.2, 42)[1] / 255.0))
    assert not (set(pool_ids) | set(val_ids)) & test_ids                          # the test images stay locked
    assert np.ptp(np.bincount(y_val, minlength=10) / 1000
                  - np.bincount(ds.y[:n_train], minlength=10) / n_train) < 0.01   # stratified
    whole = R.regularization_split(ds, n_val=1000, seed=42)
    assert len(whole[1]) == pool and np.array_equal(whole[1][:2000], y_pool)       # the first n_pool of the pool
    with pytest.raises(ValueError, match="n_pool"):
        R.regularization_split(ds, n_pool=pool + 1)
    with pytest.raises(ValueError, match="n_val"):
        R.regularization_split(ds, n_val=len(ds.y))
