"""Unit tests for course_utils.scratch.activations (notebook 02)."""
import math
import warnings

import numpy as np
import pytest

from course_utils import scratch
from course_utils.scratch import activations as A

Z = np.linspace(-4.0, 4.0, 81) + 0.013  # avoids exactly 0, where some derivatives have kinks

PAIRS = [
    ("step", A.step, A.step_grad),
    ("linear", A.linear, A.linear_grad),
    ("sigmoid", A.sigmoid, A.sigmoid_grad),
    ("tanh", A.tanh, A.tanh_grad),
    ("relu", A.relu, A.relu_grad),
    ("leaky_relu", A.leaky_relu, A.leaky_relu_grad),
    ("elu", A.elu, A.elu_grad),
    ("gelu", A.gelu, A.gelu_grad),
]


@pytest.mark.parametrize("name,f,df", PAIRS, ids=[p[0] for p in PAIRS])
def test_derivative_matches_central_difference(name, f, df):
    h = 1e-6
    numeric = (f(Z + h) - f(Z - h)) / (2 * h)
    np.testing.assert_allclose(df(Z), numeric, atol=1e-6)


@pytest.mark.parametrize("name,f,df", PAIRS, ids=[p[0] for p in PAIRS])
def test_shape_preserved_and_lookup(name, f, df):
    z = np.arange(-3.0, 3.0).reshape(2, 3)
    assert f(z).shape == (2, 3) and df(z).shape == (2, 3)
    assert A.activation(name) == (f, df)
    assert np.ndim(f(0.5)) == 0


def test_closed_form_values():
    assert A.sigmoid(0.0) == 0.5
    np.testing.assert_allclose(A.sigmoid(2.0), 1 / (1 + math.exp(-2)))
    np.testing.assert_allclose(A.tanh(Z), 2 * A.sigmoid(2 * Z) - 1, atol=1e-12)
    np.testing.assert_array_equal(A.relu([-2.0, 0.0, 3.0]), [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(A.step([-2.0, 0.0, 3.0]), [0.0, 1.0, 1.0])   # fires at 0, as in notebook 01
    from course_utils.scratch import neurons
    grid = np.array([-1.0, -1e-300, 0.0, 1e-300, 1.0])
    np.testing.assert_array_equal(A.step(grid), neurons.step_activation(grid))   # one step in the course
    np.testing.assert_allclose(A.leaky_relu([-2.0, 3.0], alpha=0.1), [-0.2, 3.0])
    np.testing.assert_allclose(A.elu([-1.0, 2.0], alpha=2.0), [2 * (math.exp(-1) - 1), 2.0])
    # GELU(1) = 1 * Phi(1) = 0.841344746...
    np.testing.assert_allclose(A.gelu(1.0), 0.8413447460685429, rtol=1e-12)
    np.testing.assert_allclose(A.gelu(Z, approximate=True), A.gelu(Z), atol=1e-3)


def test_tf_conventions_at_zero():
    assert A.relu_grad(0.0) == 0.0
    assert A.leaky_relu_grad(0.0, alpha=0.3) == 0.3
    assert A.elu_grad(0.0, alpha=0.5) == 0.5 and A.elu_grad(0.0) == 1.0
    assert A.sigmoid_grad(0.0) == 0.25 and A.tanh_grad(0.0) == 1.0


def test_one_sided_slopes_at_zero():
    """ReLU and Leaky ReLU have a kink at 0; ELU with alpha = 1 has none (both slopes 1), other alphas do."""
    h = 1e-7

    def slopes(f):
        return (f(0.0) - f(-h)) / h, (f(h) - f(0.0)) / h

    for f, has_kink in [(A.relu, True), (lambda v: A.leaky_relu(v, 0.1), True), (A.elu, False),
                        (lambda v: A.elu(v, 0.5), True), (lambda v: A.elu(v, 2.0), True)]:
        left, right = slopes(f)
        assert (abs(left - right) > 1e-3) == has_kink
    left, right = slopes(A.elu)
    assert left == pytest.approx(1.0, abs=1e-6) and right == pytest.approx(1.0, abs=1e-6)
    assert A.elu_grad(0.0) == 1.0          # the true derivative, not only a convention


def test_sigmoid_stable_for_huge_inputs():
    z = np.array([-1e4, -800.0, -40.0, 0.0, 40.0, 800.0, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any overflow warning fails the test
        s = A.sigmoid(z)
        g = A.sigmoid_grad(z)
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(g))
    assert s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5
    np.testing.assert_allclose(s[2], math.exp(-40) / (1 + math.exp(-40)), rtol=1e-12)  # not rounded to 0
    assert np.all(np.diff(s) >= 0)


def test_elu_no_overflow_for_large_positive():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert A.elu(1000.0) == 1000.0
        assert A.elu_grad(1000.0) == 1.0


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_softmax_any_axis(axis):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(3, 4, 5))
    s = A.softmax(z, axis=axis)
    assert s.shape == z.shape and np.all(s > 0)
    np.testing.assert_allclose(s.sum(axis=axis), 1.0)
    e = np.exp(z)
    np.testing.assert_allclose(s, e / e.sum(axis=axis, keepdims=True))


def test_softmax_stable_and_shift_invariant():
    z = np.array([[1000.0, 999.0, 0.0], [-1000.0, -1001.0, -2000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = A.softmax(z)
    np.testing.assert_allclose(s[0], s[1])
    np.testing.assert_allclose(s[0, :2], [1 / (1 + math.exp(-1)), math.exp(-1) / (1 + math.exp(-1))])
    np.testing.assert_allclose(A.softmax(z[0] + 7.0), A.softmax(z[0]))
    # softmax is a distribution, not a one-hot pick of the biggest score
    p = A.softmax(np.array([2.0, 1.0, 0.1]))
    assert 0.6 < p[0] < 0.7 and p[1] > 0.2


def test_softmax_jacobian_matches_finite_differences():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(2, 4))
    J = A.softmax_jacobian(z)
    assert J.shape == (2, 4, 4)
    h = 1e-6
    for n in range(2):
        for j in range(4):
            dz = np.zeros(4)
            dz[j] = h
            col = (A.softmax(z[n] + dz) - A.softmax(z[n] - dz)) / (2 * h)
            np.testing.assert_allclose(J[n, :, j], col, atol=1e-8)
    np.testing.assert_allclose(J.sum(axis=1), 0.0, atol=1e-12)
    # axis argument: the class axis first
    np.testing.assert_allclose(A.softmax_jacobian(z.T, axis=0), J)


def test_dead_units_hand_count():
    acts = np.array([[0.0, 1.0, 0.0, 0.0],
                     [0.0, 0.0, 2.0, 0.0],
                     [0.0, 3.0, 0.0, 0.0]])
    np.testing.assert_array_equal(A.dead_units(acts), [True, False, False, True])
    assert A.dead_share(acts) == 0.5
    assert A.dead_share(acts + 1e-9, tol=1e-6) == 0.5
    assert A.dead_share(acts + 1e-9) == 0.0
    assert A.dead_share(np.ones((5, 3))) == 0.0


def test_validation_errors_name_the_argument():
    with pytest.raises(TypeError, match="z must be a number"):
        A.relu("abc")
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        A.leaky_relu(1.0, alpha=-0.1)
    with pytest.raises(TypeError, match="alpha must be a number"):
        A.leaky_relu(1.0, alpha="0.1")
    with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
        A.elu(1.0, alpha=0.0)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        A.softmax(np.zeros((2, 3)), axis=2)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        A.softmax(1.0)
    with pytest.raises(TypeError, match="axis must be an int"):
        A.softmax(np.zeros(3), axis=1.0)
    with pytest.raises(ValueError, match="softmax is not element-wise"):
        A.activation("softmax")
    with pytest.raises(ValueError, match="unknown activation 'relux'"):
        A.activation("relux")
    with pytest.raises(ValueError, match="activations must have 2 dimension"):
        A.dead_share(np.zeros(4))
    with pytest.raises(ValueError, match="at least one input"):
        A.dead_share(np.zeros((0, 4)))
    with pytest.raises(TypeError, match="approximate must be True or False"):
        A.gelu(1.0, approximate="yes")


def test_agrees_with_keras_activations():
    keras = pytest.importorskip("keras")
    z = np.linspace(-6, 6, 97).astype(np.float32) + np.float32(0.01)
    ka = keras.activations
    cases = [
        (A.sigmoid(z), ka.sigmoid(z)),
        (A.tanh(z), ka.tanh(z)),
        (A.relu(z), ka.relu(z)),
        (A.leaky_relu(z, 0.2), ka.leaky_relu(z, negative_slope=0.2)),
        (A.elu(z), ka.elu(z)),
        (A.gelu(z), ka.gelu(z, approximate=False)),
        (A.gelu(z, approximate=True), ka.gelu(z, approximate=True)),
        (A.softmax(z.reshape(1, -1)), ka.softmax(z.reshape(1, -1))),
    ]
    for ours, theirs in cases:
        np.testing.assert_allclose(ours, np.asarray(theirs), atol=1e-5, rtol=1e-5)


# --------------------------------------------------------------------------- dead_on_box

def _dead_by_corners(W, b, low, high):
    """Brute force: a linear function's maximum over a box is at one of its corners."""
    import itertools
    corners = np.array(list(itertools.product([low, high], repeat=W.shape[0])))
    return (corners @ W + b).max(axis=0) <= 0


@pytest.mark.parametrize("low,high", [(0.0, 1.0), (-1.0, 2.0), (-3.0, -0.5), (0.5, 0.5)])
def test_dead_on_box_matches_corner_enumeration(low, high):
    rng = np.random.default_rng(7)
    W = rng.normal(size=(6, 200))
    b = rng.normal(size=200) * 2 - 1.0
    got = A.dead_on_box(W, b, low, high)
    assert got.dtype == bool and got.shape == (200,)
    np.testing.assert_array_equal(got, _dead_by_corners(W, b, low, high))
    assert 0 < got.sum() < 200            # the test has both kinds of unit


def test_dead_on_box_hand_example_and_boundary():
    W = np.array([[1.0, -1.0, -2.0, 0.5],
                  [-1.0, -1.0, 1.0, 0.5]])
    b = np.array([0.5, 0.0, 1.0, -1.0])
    # unit 3 reaches exactly z = 0 at the corner (1, 1): z <= 0 everywhere, so ReLU gives 0 and slope 0
    np.testing.assert_array_equal(A.dead_on_box(W, b), [False, True, False, True])
    np.testing.assert_array_equal(A.dead_on_box(np.zeros((3, 3)), [-1.0, 0.0, 1.0]), [True, True, False])


def test_dead_on_box_is_never_contradicted_by_samples():
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(64, 100)), rng.normal(size=100) - 3.0
    dead = A.dead_on_box(W, b)
    X = rng.uniform(0, 1, size=(5000, 64))
    assert np.all((X @ W + b)[:, dead] <= 0)
    assert A.dead_share(np.maximum(X @ W + b, 0)) >= dead.mean()   # dead on the box => dead on any sample


def test_dead_on_box_validation():
    with pytest.raises(ValueError, match="W must have 2 dimension"):
        A.dead_on_box(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match=r"b must have shape \(4,\)"):
        A.dead_on_box(np.zeros((2, 4)), np.zeros(3))
    with pytest.raises(ValueError, match="low must be <= high"):
        A.dead_on_box(np.zeros((2, 4)), np.zeros(4), 1.0, 0.0)
    with pytest.raises(TypeError, match="high must be a finite number"):
        A.dead_on_box(np.zeros((2, 4)), np.zeros(4), 0.0, "1")


# --------------------------------------------------------------------------- train_deep_mlp

def _blobs(n=300, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * 3
    y = rng.integers(0, k, n)
    return centres[y] + rng.normal(size=(n, d)), y


def test_train_deep_mlp_learns_and_is_reproducible():
    X, y = _blobs()
    net = A.train_deep_mlp(X, y, "relu", "he", 0.05, depth=4, width=16, epochs=15, seed=1)
    assert not net.diverged and net.losses.shape == (15,)
    assert net.losses[-1] < 0.5 * net.losses[0]
    assert net.accuracy(X, y) > 0.9
    again = A.train_deep_mlp(X, y, "relu", "he", 0.05, depth=4, width=16, epochs=15, seed=1)
    for (W1, b1), (W2, b2) in zip(net.weights, again.weights):
        np.testing.assert_array_equal(W1, W2)
        np.testing.assert_array_equal(b1, b2)
    assert net.predict(X).shape == (300,) and net.logits(X).shape == (300, 3)
    assert "depth=4" in repr(net)


def test_train_deep_mlp_one_full_batch_step_is_gradient_descent():
    """epochs=1 with one batch of all rows: new weights = initial - lr * (numerical gradient)."""
    X, y = _blobs(n=20, d=3, k=3, seed=2)
    lr = 0.1
    for act in ("tanh", "elu", "gelu"):
        net0 = A.train_deep_mlp(X, y, act, "glorot", lr, depth=2, width=4, epochs=0, batch_size=20, seed=3)
        net1 = A.train_deep_mlp(X, y, act, "glorot", lr, depth=2, width=4, epochs=1, batch_size=20, seed=3)

        def loss(weights):
            probe = A.DeepMLP(act, weights, [])
            z = probe.logits(X)
            z = z - z.max(axis=1, keepdims=True)
            return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))

        np.testing.assert_allclose(net1.losses[0], loss(net0.weights), rtol=1e-12)
        h = 1e-6
        for layer, (W, b) in enumerate(net0.weights):
            for arr_index in (0, 1):
                base = [list(p) for p in net0.weights]
                arr = base[layer][arr_index]
                num = np.zeros_like(arr)
                for idx in np.ndindex(arr.shape):
                    plus, minus = arr.copy(), arr.copy()
                    plus[idx] += h
                    minus[idx] -= h
                    wp = [tuple(p) for p in base]
                    wm = [tuple(p) for p in base]
                    wp[layer] = (plus, b) if arr_index == 0 else (W, plus)
                    wm[layer] = (minus, b) if arr_index == 0 else (W, minus)
                    num[idx] = (loss(wp) - loss(wm)) / (2 * h)
                step = (arr - net1.weights[layer][arr_index]) / lr
                np.testing.assert_allclose(step, num, atol=1e-6)


def test_train_deep_mlp_dead_units_and_divergence():
    X, y = _blobs()
    net = A.train_deep_mlp(X, y, "relu", "he", 0.05, depth=3, width=8, epochs=2, seed=0)
    zs = net.pre_activations(X)
    manual = np.array([A.dead_share(A.relu(z)) for z in zs])
    np.testing.assert_allclose(net.dead_per_layer(X), manual)
    assert net.dead_share(X) == pytest.approx(manual.mean())
    # A bias of -inf-like size kills everything: step activation has derivative 0 everywhere
    step_net = A.train_deep_mlp(X, y, "step", "he", 0.1, depth=2, width=4, epochs=1, seed=0)
    assert step_net.dead_share(X) == 1.0
    blown = A.train_deep_mlp(X * 100, y, "relu", "large", 1e3, depth=6, width=32, epochs=3, seed=0)
    assert blown.diverged and not np.isfinite(blown.losses[-1])
    assert blown.predict(X).shape == (300,)       # still answers (class 0 where nothing is finite)


def test_train_deep_mlp_validation():
    X, y = _blobs(n=10)
    with pytest.raises(ValueError, match="init must be one of"):
        A.train_deep_mlp(X, y, "relu", "zeros", 0.1)
    with pytest.raises(ValueError, match="unknown activation 'relux'"):
        A.train_deep_mlp(X, y, "relux", "he", 0.1)
    with pytest.raises(ValueError, match="learning_rate must be a positive number"):
        A.train_deep_mlp(X, y, "relu", "he", -0.1)
    with pytest.raises(ValueError, match="depth must be an int >= 1"):
        A.train_deep_mlp(X, y, "relu", "he", 0.1, depth=0)
    with pytest.raises(ValueError, match="y must be integer class labels"):
        A.train_deep_mlp(X, y.astype(float), "relu", "he", 0.1)
    net = A.train_deep_mlp(X, y, "relu", "he", 0.1, depth=1, width=2, epochs=1)
    with pytest.raises(ValueError, match="X must have 5 features"):
        net.accuracy(np.zeros((3, 4)), np.zeros(3, int))


def test_init_weights_has_one_home():
    """The activation lab and train_deep_mlp draw their weights with the same function."""
    from course_utils.widgets import activation_lab
    assert activation_lab.init_weights is scratch.init_weights
    with pytest.raises(TypeError, match="fan_out must be an int"):
        scratch.init_weights(3, 2.0, "he", np.random.default_rng(0))
