"""Tests of course_utils.scratch.backprop (notebook 03): layers, losses, gradient checks, MLP."""
import numpy as np
import pytest

from course_utils.scratch import backprop as bp

RNG = np.random.default_rng(0)


def _num_grad_loss(loss, y_true, y_pred):
    return bp.numerical_gradient(lambda p: loss(y_true, p), y_pred)


# --------------------------------------------------------------------------- dense layer

def test_dense_forward_values_and_shape():
    X = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])
    W = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]])
    b = np.array([0.1, -0.2, 0.0])
    Z = bp.dense_forward(X, W, b)
    assert Z.shape == (3, 3)
    np.testing.assert_allclose(Z[0], [1 + 4 + 0.1, 2 - 0.2, -1 + 1])
    np.testing.assert_allclose(Z, X @ W + b)


def test_dense_backward_matches_finite_differences():
    X, W, b = RNG.normal(size=(5, 4)), RNG.normal(size=(4, 3)), RNG.normal(size=3)
    G = RNG.normal(size=(5, 3))            # L = sum(G * Z): dL/dZ = G

    def L(X_, W_, b_):
        return float(np.sum(G * bp.dense_forward(X_, W_, b_)))

    dX, dW, db = bp.dense_backward(G, X, W)
    assert dX.shape == X.shape and dW.shape == W.shape and db.shape == b.shape
    np.testing.assert_allclose(dX, bp.numerical_gradient(lambda v: L(v, W, b), X), atol=1e-8)
    np.testing.assert_allclose(dW, bp.numerical_gradient(lambda v: L(X, v, b), W), atol=1e-8)
    np.testing.assert_allclose(db, bp.numerical_gradient(lambda v: L(X, W, v), b), atol=1e-8)


def test_dense_shape_errors_name_the_argument():
    with pytest.raises(ValueError, match="W expects 3"):
        bp.dense_forward(np.zeros((2, 4)), np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="b must have one entry per unit"):
        bp.dense_forward(np.zeros((2, 3)), np.zeros((3, 2)), np.zeros(5))
    with pytest.raises(ValueError, match="dZ must have the shape"):
        bp.dense_backward(np.zeros((2, 5)), np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(TypeError, match="X must be"):
        bp.dense_forward("abc", np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="X must have 2"):
        bp.dense_forward(np.zeros(3), np.zeros((3, 2)), np.zeros(2))


# --------------------------------------------------------------------------- losses

def test_mse_value_and_gradient():
    y, p = np.array([[1.0], [2.0], [0.0]]), np.array([[1.5], [1.0], [0.0]])
    assert bp.mse_loss(y, p) == pytest.approx((0.25 + 1.0) / 3)
    np.testing.assert_allclose(bp.mse_grad(y, p), _num_grad_loss(bp.mse_loss, y, p), atol=1e-8)
    with pytest.raises(ValueError, match="same shape"):
        bp.mse_loss(np.zeros(3), np.zeros((3, 1)))


def test_bce_on_probabilities_value_gradient_and_clipping():
    y = np.array([1.0, 0.0, 1.0, 0.0])
    p = np.array([0.9, 0.2, 0.3, 0.6])
    want = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert bp.bce_loss(y, p) == pytest.approx(want)
    np.testing.assert_allclose(bp.bce_grad(y, p), _num_grad_loss(bp.bce_loss, y, p), rtol=1e-6)
    # a confident wrong answer: large but finite (clipped like Keras)
    worst = bp.bce_loss(np.array([1.0]), np.array([0.0]))
    assert np.isfinite(worst) and worst == pytest.approx(-np.log(1e-7), rel=1e-6)
    with pytest.raises(ValueError, match="probabilities"):
        bp.bce_loss(y, np.array([0.5, 2.0, 0.1, 0.1]))


def test_bce_with_logits_is_stable_and_equals_bce_of_sigmoid():
    y = np.array([[1.0], [0.0], [1.0]])
    z = np.array([[2.0], [-1.0], [-0.5]])
    assert bp.bce_with_logits_loss(y, z) == pytest.approx(bp.bce_loss(y, bp.sigmoid(z)))
    np.testing.assert_allclose(bp.bce_with_logits_grad(y, z),
                               _num_grad_loss(bp.bce_with_logits_loss, y, z), atol=1e-9)
    big = bp.bce_with_logits_loss(np.array([1.0, 0.0]), np.array([-800.0, 800.0]))
    assert big == pytest.approx(800.0)
    g = bp.bce_with_logits_grad(np.array([1.0, 0.0]), np.array([-800.0, 800.0]))
    np.testing.assert_allclose(g, [-0.5, 0.5])


def test_categorical_cross_entropy_labels_or_one_hot():
    P = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    y = np.array([0, 2])
    want = -(np.log(0.7) + np.log(0.8)) / 2
    assert bp.categorical_cross_entropy(y, P) == pytest.approx(want)
    assert bp.categorical_cross_entropy(bp.one_hot(y, 3), P) == pytest.approx(want)
    np.testing.assert_allclose(bp.categorical_cross_entropy_grad(y, P),
                               _num_grad_loss(bp.categorical_cross_entropy, bp.one_hot(y, 3), P),
                               rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="integer labels of shape"):
        bp.categorical_cross_entropy(np.zeros((2, 4)), P)


def test_softmax_cross_entropy_gradient_is_p_minus_y_over_n():
    Z = RNG.normal(size=(4, 5))
    y = np.array([0, 3, 4, 1])
    Y = bp.one_hot(y, 5)
    g = bp.softmax_cross_entropy_grad(y, Z)
    np.testing.assert_allclose(g, (bp.softmax(Z) - Y) / 4)
    np.testing.assert_allclose(g, _num_grad_loss(bp.softmax_cross_entropy, Y, Z), atol=1e-9)
    assert bp.softmax_cross_entropy(y, Z) == pytest.approx(
        bp.categorical_cross_entropy(y, bp.softmax(Z)))
    # each row of the gradient sums to 0 (probabilities sum to 1, so do the targets)
    np.testing.assert_allclose(g.sum(axis=1), 0.0, atol=1e-15)


def test_softmax_cross_entropy_stable_for_huge_logits():
    Z = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]])
    loss = bp.softmax_cross_entropy(np.array([0, 0]), Z)
    assert np.isfinite(loss) and loss == pytest.approx(1000.0 / 2)
    g = bp.softmax_cross_entropy_grad(np.array([0, 0]), Z)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(bp.log_softmax(Z)[0], [0.0, -1000.0, -2000.0])


def test_label_validation():
    with pytest.raises(ValueError, match=r"labels y must be in \[0, 3\)"):
        bp.softmax_cross_entropy(np.array([0, 3]), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="has 3 labels"):
        bp.softmax_cross_entropy(np.array([0, 1, 2]), np.zeros((2, 3)))


# --------------------------------------------------------------------------- gradient checks

def test_numerical_gradient_of_known_functions():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(bp.numerical_gradient(lambda v: np.sum(v ** 3), x), 3 * x ** 2,
                               rtol=1e-8)
    before = x.copy()
    bp.numerical_gradient(lambda v: float(np.sum(np.sin(v))), x)
    np.testing.assert_array_equal(x, before)          # x itself is never modified
    # central differences: error O(eps^2); a forward difference would be off by ~eps*3x
    g = bp.numerical_gradient(lambda v: float(v[0] ** 3), np.array([2.0]), eps=1e-3)
    assert abs(g[0] - 12.0) < 2e-6


def test_numerical_gradient_argument_errors():
    with pytest.raises(TypeError, match="f must be a function"):
        bp.numerical_gradient(3.0, np.zeros(2))
    with pytest.raises(ValueError, match="eps must be a positive"):
        bp.numerical_gradient(np.sum, np.zeros(2), eps=0)
    with pytest.raises(TypeError, match="f must return a scalar"):
        bp.numerical_gradient(lambda v: "x", np.zeros(2))


def test_relative_error():
    a = np.array([1.0, 2.0, 3.0])
    assert bp.relative_error(a, a) == 0.0
    assert bp.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert bp.relative_error(a, -a) == pytest.approx(1.0)
    assert bp.relative_error(a, a * (1 + 1e-8)) < 1e-8
    with pytest.raises(ValueError, match="same shape"):
        bp.relative_error(a, np.zeros(2))


def test_gradient_check_flags_a_wrong_gradient():
    params = {"w": np.array([1.0, -2.0]), "c": np.array(0.5)}

    def f(p):
        return float(np.sum(p["w"] ** 2) * p["c"])

    right = {"w": 2 * params["w"] * params["c"], "c": np.array(np.sum(params["w"] ** 2))}
    errs = bp.gradient_check(f, params, right)
    assert set(errs) == {"w", "c"} and max(errs.values()) < 1e-8
    wrong = dict(right, w=params["w"] * params["c"])   # forgot the factor 2
    assert bp.gradient_check(f, params, wrong)["w"] > 0.1
    with pytest.raises(ValueError, match="lacks an entry"):
        bp.gradient_check(f, params, {"w": right["w"]})
    with pytest.raises(ValueError, match="has shape"):
        bp.gradient_check(f, params, dict(right, w=np.zeros(3)))


# --------------------------------------------------------------------------- MLP

@pytest.mark.parametrize("activation,output,k", [("relu", "softmax", 3), ("tanh", "sigmoid", 1),
                                                 ("sigmoid", "linear", 2), ("tanh", "softmax", 4)])
def test_mlp_backward_passes_gradient_check(activation, output, k):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(7, 5))
    if output == "softmax":
        y = rng.integers(0, k, size=7)
    elif output == "sigmoid":
        y = rng.integers(0, 2, size=7).astype(float)
    else:
        y = rng.normal(size=(7, k))
    net = bp.MLP([5, 6, 4, k], activation=activation, output=output, seed=3)
    loss, grads = net.loss_and_grads(X, y)
    assert loss == pytest.approx(net.loss(X, y))
    assert set(grads) == set(net.params)
    errs = bp.gradient_check(lambda p: net.loss(X, y, params=p), net.params, grads)
    assert max(errs.values()) < 1e-6, errs


def test_mlp_deltas_are_the_backward_signal_of_each_layer():
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(5, 3)), np.array([0, 1, 1, 0, 1])
    net = bp.MLP([3, 4, 4, 2], activation="tanh", seed=1)
    _, grads = net.loss_and_grads(X, y)
    assert [d.shape for d in net.deltas] == [(5, 4), (5, 4), (5, 2)]
    np.testing.assert_allclose(net.deltas[-1], bp.softmax_cross_entropy_grad(y, net.logits(X)))
    np.testing.assert_allclose(grads["b2"], net.deltas[1].sum(axis=0))
    # dL/dZ1 by finite differences on a bias trick: dL/db1 = sum over rows of dL/dZ1
    num_b1 = bp.numerical_gradient(lambda v: net.loss(X, y, params={**net.params, "b1": v}),
                                   net.params["b1"])
    np.testing.assert_allclose(net.deltas[0].sum(axis=0), num_b1, atol=1e-8)


def test_mlp_loss_matches_the_loss_functions():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(6, 3)), np.array([0, 1, 2, 1, 0, 2])
    net = bp.MLP([3, 4, 3], seed=0)
    Z = np.maximum(X @ net.params["W1"] + net.params["b1"], 0) @ net.params["W2"] + net.params["b2"]
    np.testing.assert_allclose(net.logits(X), Z)
    np.testing.assert_allclose(net.forward(X), bp.softmax(Z))
    assert net.loss(X, y) == pytest.approx(bp.softmax_cross_entropy(y, Z))


def test_mlp_step_and_training_reduce_the_loss():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)   # XOR-like: needs the hidden layer
    net = bp.MLP([2, 16, 2], activation="tanh", seed=0)
    before = {k: v.copy() for k, v in net.params.items()}
    loss, grads = net.loss_and_grads(X, y)
    net.step(grads, lr=0.1)
    for k in before:
        np.testing.assert_allclose(net.params[k], before[k] - 0.1 * grads[k])
    losses = [net.train_step(X, y, lr=0.5) for _ in range(300)]
    assert losses[-1] < 0.5 * losses[0]
    assert net.accuracy(X, y) > 0.9


def test_mlp_weights_round_trip_and_keras_order():
    net = bp.MLP([4, 3, 2], seed=0)
    w = net.get_weights()
    assert [a.shape for a in w] == [(4, 3), (3,), (3, 2), (2,)]
    w[0][:] = 1.0                         # a copy: the model is unchanged
    assert not np.all(net.params["W1"] == 1.0)
    net.set_weights(w)
    np.testing.assert_array_equal(net.params["W1"], 1.0)
    with pytest.raises(ValueError, match="W1 must have shape"):
        net.set_weights([np.zeros((3, 3)), np.zeros(3), np.zeros((3, 2)), np.zeros(2)])
    with pytest.raises(ValueError, match="expected 4 arrays"):
        net.set_weights(w[:2])


def test_mlp_init_schemes_and_counts():
    he = bp.MLP([400, 300, 10], activation="relu", seed=0)
    assert he.n_params == 400 * 300 + 300 + 300 * 10 + 10
    assert he.params["W1"].std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    gl = bp.MLP([400, 300, 10], activation="tanh", seed=0)
    assert gl.params["W1"].std() == pytest.approx(np.sqrt(2 / 700), rel=0.02)
    fixed = bp.MLP([400, 300, 10], init=0.01, seed=0)
    assert fixed.params["W1"].std() == pytest.approx(0.01, rel=0.02)
    assert np.all(he.params["b1"] == 0)
    np.testing.assert_array_equal(bp.MLP([3, 2, 2], seed=5).params["W1"],
                                  bp.MLP([3, 2, 2], seed=5).params["W1"])


def test_mlp_argument_errors():
    with pytest.raises(ValueError, match="at least 2"):
        bp.MLP([5])
    with pytest.raises(ValueError, match="activation must be one of"):
        bp.MLP([2, 2], activation="swish")
    with pytest.raises(ValueError, match="output must be one of"):
        bp.MLP([2, 2], output="relu")
    with pytest.raises(ValueError, match="at least 2 output units"):
        bp.MLP([2, 1], output="softmax")
    with pytest.raises(ValueError, match="init must be"):
        bp.MLP([2, 2], init="zeros")
    net = bp.MLP([3, 2])
    with pytest.raises(RuntimeError, match="call forward"):
        net.backward(np.array([0]))
    with pytest.raises(ValueError, match="X must have 3 features"):
        net.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="lr must be a positive"):
        net.step({k: np.zeros_like(v) for k, v in net.params.items()}, lr=-1)
    with pytest.raises(ValueError, match="accuracy needs a classifier"):
        bp.MLP([3, 1], output="linear").accuracy(np.zeros((2, 3)), np.zeros(2))


def test_mlp_predict():
    net = bp.MLP([2, 1], output="sigmoid")
    net.set_weights([np.array([[1.0], [0.0]]), np.array([0.0])])
    np.testing.assert_array_equal(net.predict(np.array([[2.0, 0.0], [-1.0, 5.0]])), [1, 0])
    assert net.accuracy(np.array([[2.0, 0.0], [-1.0, 5.0]]), np.array([1, 1])) == 0.5


def test_exports_do_not_shadow_the_activations_module():
    import course_utils.scratch as s
    for name in ("sigmoid", "softmax", "relu", "tanh"):
        assert name not in bp.__all__
    for name in bp.__all__:
        assert getattr(s, name) is getattr(bp, name)
