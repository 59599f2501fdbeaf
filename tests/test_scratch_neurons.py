"""Tests of course_utils.scratch.neurons (notebook 01: neurons and the perceptron)."""
import warnings

import numpy as np
import pytest

from course_utils.scratch import neurons as N


# --------------------------------------------------------------------------- the neuron

def test_step_activation_fires_at_zero_and_keeps_shape():
    assert N.step_activation(0.0) == 1.0
    assert N.step_activation(-1e-12) == 0.0
    assert isinstance(N.step_activation(3), float)
    z = np.array([[-2.0, 0.0], [0.5, -0.1]])
    np.testing.assert_array_equal(N.step_activation(z), [[0.0, 1.0], [1.0, 0.0]])


def test_weighted_sum_single_and_batch():
    w, b = np.array([2.0, -1.0, 0.5]), 0.25
    x = np.array([1.0, 2.0, 4.0])
    assert N.weighted_sum(x, w, b) == pytest.approx(2 - 2 + 2 + 0.25)
    X = np.array([x, -x])
    np.testing.assert_allclose(N.weighted_sum(X, w, b), [2.25, -1.75])


def test_neuron_activations():
    X = np.array([[1.0, 1.0], [-3.0, 0.0]])
    w, b = [1.0, 1.0], -1.0
    np.testing.assert_array_equal(N.neuron(X, w, b), [1.0, 0.0])
    np.testing.assert_allclose(N.neuron(X, w, b, "sigmoid"), 1 / (1 + np.exp(-np.array([1.0, -4.0]))))
    np.testing.assert_allclose(N.neuron(X, w, b, "linear"), [1.0, -4.0])
    np.testing.assert_allclose(N.neuron(X, w, b, np.tanh), np.tanh([1.0, -4.0]))
    # a stable sigmoid: no overflow warning, exact limits
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = N.neuron(np.array([[800.0], [-800.0]]), [1.0], 0.0, "sigmoid")
    np.testing.assert_allclose(out, [1.0, 0.0])


def test_neuron_input_errors_name_the_argument():
    with pytest.raises(ValueError, match="w must have one weight per input feature"):
        N.neuron(np.ones((3, 2)), [1.0, 2.0, 3.0], 0.0)
    with pytest.raises(ValueError, match="b must be a single number"):
        N.neuron(np.ones(2), [1.0, 2.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="activation must be one of"):
        N.neuron(np.ones(2), [1.0, 2.0], 0.0, activation="relu6")
    with pytest.raises(TypeError, match="x must be a number or an array"):
        N.weighted_sum("abc", [1.0], 0.0)


def test_augment_turns_bias_into_a_weight():
    rng = np.random.default_rng(0)
    X, w, b = rng.normal(size=(5, 3)), rng.normal(size=3), 0.7
    Xa = N.augment(X)
    assert Xa.shape == (5, 4)
    np.testing.assert_array_equal(Xa[:, -1], 1.0)
    np.testing.assert_allclose(Xa @ np.r_[w, b], N.weighted_sum(X, w, b))
    assert N.augment(np.array([2.0, 3.0])).tolist() == [2.0, 3.0, 1.0]


def test_line_segment_lies_on_the_line_and_inside_the_box():
    rng = np.random.default_rng(1)
    for _ in range(50):
        w, b = rng.normal(size=2), rng.normal()
        seg = N.line_segment(w, b, (-2, 2), (-3, 3))
        if seg is None:
            continue
        xs, ys = seg
        np.testing.assert_allclose(w[0] * xs + w[1] * ys + b, 0.0, atol=1e-9)
        assert np.all((xs >= -2 - 1e-9) & (xs <= 2 + 1e-9) & (ys >= -3 - 1e-9) & (ys <= 3 + 1e-9))
        assert np.hypot(xs[1] - xs[0], ys[1] - ys[0]) > 0
    # vertical, horizontal, missing the box, and w = 0
    xs, ys = N.line_segment([1.0, 0.0], -1.0, (0, 2), (0, 2))
    np.testing.assert_allclose(xs, [1.0, 1.0])
    xs, ys = N.line_segment([0.0, 2.0], -1.0, (0, 2), (0, 2))
    np.testing.assert_allclose(ys, [0.5, 0.5])
    assert N.line_segment([1.0, 1.0], -10.0, (0, 1), (0, 1)) is None
    assert N.line_segment([0.0, 0.0], 1.0, (0, 1), (0, 1)) is None
    with pytest.raises(ValueError, match="low < high"):
        N.line_segment([1.0, 1.0], 0.0, (1, 0), (0, 1))


# --------------------------------------------------------------------------- gates

@pytest.mark.parametrize("gate", ["AND", "OR", "NAND", "NOR"])
def test_hand_set_gate_weights_compute_the_gate(gate):
    X, y = N.gate_data(gate)
    w, b = N.gate_weights(gate)
    np.testing.assert_array_equal(N.perceptron_predict(X, w, b), y)
    # the perceptron learns every linearly separable gate
    w, b, mistakes = N.perceptron_fit(X, y, epochs=50)
    assert mistakes[-1] == 0
    np.testing.assert_array_equal(N.perceptron_predict(X, w, b), y)


def test_gate_data_values_and_errors():
    X, y = N.gate_data("xor")
    np.testing.assert_array_equal(X, N.GATE_INPUTS)
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    X[0, 0] = 99  # a copy: the module constant is untouched
    assert N.GATE_INPUTS[0, 0] == 0
    with pytest.raises(ValueError, match="no single neuron computes XOR"):
        N.gate_weights("XOR")
    with pytest.raises(ValueError, match="gate must be one of"):
        N.gate_data("IMPLIES")


def test_xor_network_computes_xor_and_hidden_layer_is_or_nand():
    X, y = N.gate_data("XOR")
    hidden, out = N.step_network(X, N.xor_network(), return_hidden=True)
    np.testing.assert_array_equal(out.ravel(), y)
    np.testing.assert_array_equal(hidden[:, 0], N.gate_data("OR")[1])
    np.testing.assert_array_equal(hidden[:, 1], N.gate_data("NAND")[1])
    with pytest.raises(ValueError, match="must have 2 rows"):
        N.step_network(X, [(np.ones((3, 1)), np.zeros(1))])
    with pytest.raises(TypeError, match="non-empty list"):
        N.step_network(X, [])


# --------------------------------------------------------------------------- perceptron rule

def test_perceptron_update_moves_toward_a_missed_positive():
    w, b = np.array([0.0, -1.0]), -0.5
    x = np.array([2.0, 1.0])
    w2, b2 = N.perceptron_update(x, 1, w, b, lr=0.5)
    np.testing.assert_allclose(w2, [1.0, -0.5])
    assert b2 == pytest.approx(0.0)
    # z grows by lr * (|x|^2 + 1) after the update
    assert N.weighted_sum(x, w2, b2) - N.weighted_sum(x, w, b) == pytest.approx(0.5 * (5 + 1))
    np.testing.assert_array_equal(w, [0.0, -1.0])  # not modified in place


def test_perceptron_update_false_positive_and_correct_example():
    w, b = np.array([1.0, 1.0]), 0.0
    w2, b2 = N.perceptron_update(np.array([1.0, 2.0]), 0, w, b)
    np.testing.assert_allclose(w2, [0.0, -1.0])
    assert b2 == -1.0
    w3, b3 = N.perceptron_update(np.array([1.0, 2.0]), 1, w, b)
    np.testing.assert_array_equal(w3, w)
    assert b3 == b
    with pytest.raises(ValueError, match="y must be a single label 0 or 1"):
        N.perceptron_update(np.array([1.0, 2.0]), 2, w, b)
    with pytest.raises(ValueError, match="lr must be a positive"):
        N.perceptron_update(np.array([1.0, 2.0]), 1, w, b, lr=0.0)


def test_perceptron_epoch_equals_repeated_updates_and_respects_order():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(12, 3))
    y = (rng.random(12) > 0.5).astype(int)
    order = rng.permutation(12)
    w, b, k = N.perceptron_epoch(X, y, np.zeros(3), 0.0, lr=0.3, order=order)
    w_ref, b_ref, k_ref = np.zeros(3), 0.0, 0
    for i in order:
        w_new, b_new = N.perceptron_update(X[i], y[i], w_ref, b_ref, lr=0.3)
        k_ref += int(not np.array_equal(w_new, w_ref) or b_new != b_ref)
        w_ref, b_ref = w_new, b_new
    np.testing.assert_allclose(w, w_ref)
    assert b == pytest.approx(b_ref)
    assert k == k_ref > 0
    with pytest.raises(ValueError, match="order must be a permutation"):
        N.perceptron_epoch(X, y, np.zeros(3), 0.0, order=[0, 0, 1])
    with pytest.raises(ValueError, match="only 0/1 labels"):
        N.perceptron_epoch(X, 2 * y - 1, np.zeros(3), 0.0)


def _iris_setosa_versicolor():
    import course_utils as cu
    ds = cu.data.load("iris", verbose=False)
    keep = ds.y < 2
    return ds.X[keep], ds.y[keep]


def test_perceptron_converges_on_separable_iris_within_novikoff_bound():
    X, y = _iris_setosa_versicolor()
    rng = np.random.default_rng(0)
    p = rng.permutation(len(X))
    X, y = X[p], y[p]
    sep = N.linear_separator(X, y)
    assert sep is not None
    R, gamma, bound = N.novikoff_bound(X, y, *sep)
    assert gamma > 0 and R > 0
    for lr in (1.0, 0.01):
        h = N.perceptron_train(X, y, epochs=1000, lr=lr)
        assert h.converged
        assert h.errors[-1] == 0 and h.pocket_errors == 0
        assert h.mistakes.sum() <= bound
        np.testing.assert_array_equal(N.perceptron_predict(X, h.w, h.b), y)
    # perceptron_fit is the same run
    w, b, mistakes = N.perceptron_fit(X, y, epochs=1000)
    h = N.perceptron_train(X, y, epochs=1000)
    np.testing.assert_allclose(w, h.w)
    np.testing.assert_array_equal(mistakes, h.mistakes)


def test_perceptron_matches_sklearn_perceptron_update_for_update():
    from sklearn.linear_model import Perceptron
    X, y = _iris_setosa_versicolor()
    rng = np.random.default_rng(1)
    p = rng.permutation(len(X))
    X, y = X[p][:, [0, 2]], y[p]
    w0, b0 = rng.normal(0, 0.01, 2), 0.003  # generic start: no example sits exactly on the line
    w, b, _ = N.perceptron_fit(X, y, epochs=7, w0=w0, b0=b0)
    sk = Perceptron(eta0=1.0, shuffle=False, max_iter=7, tol=None, penalty=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk.fit(X, y, coef_init=w0[None], intercept_init=np.array([b0]))
    np.testing.assert_allclose(w, sk.coef_[0], rtol=1e-12, atol=1e-12)
    assert b == pytest.approx(sk.intercept_[0], abs=1e-12)


def test_xor_never_converges_and_pocket_and_average_are_recorded():
    X, y = N.gate_data("XOR")
    h = N.perceptron_train(X, y, epochs=40)
    assert not h.converged
    assert h.epochs_run == 40
    assert np.all(h.mistakes > 0)
    assert h.errors.min() >= 1  # no line gets all four right
    assert h.pocket_errors == h.errors.min()
    assert N.linear_separator(X, y) is None and not N.is_linearly_separable(X, y)
    assert h.w_path.shape == (41, 2) and h.b_path.shape == (41,)
    # the averaged weights are the mean over all 4 * 40 visits: recompute by hand
    w, b, ws, bs = np.zeros(2), 0.0, [], []
    for _ in range(40):
        for i in range(4):
            w, b = N.perceptron_update(X[i], y[i], w, b)
            ws.append(w)
            bs.append(b)
    np.testing.assert_allclose(h.avg_w, np.mean(ws, axis=0))
    assert h.avg_b == pytest.approx(np.mean(bs))


def test_pocket_keeps_best_epoch_on_non_separable_data():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 2))
    y = (X[:, 0] + 0.8 * rng.normal(size=80) > 0).astype(int)  # overlapping classes
    assert not N.is_linearly_separable(X, y)
    h = N.perceptron_train(X, y, epochs=30, shuffle=True, seed=0)
    assert not h.converged
    errs = [int(np.sum(N.perceptron_predict(X, wk, bk) != y)) for wk, bk in zip(h.w_path, h.b_path)]
    np.testing.assert_array_equal(h.errors, errs)
    assert h.pocket_errors == min(errs)
    assert np.sum(N.perceptron_predict(X, h.pocket_w, h.pocket_b) != y) == min(errs)
    # shuffling with a seed is reproducible and differs from the fixed order
    h2 = N.perceptron_train(X, y, epochs=30, shuffle=True, seed=0)
    np.testing.assert_array_equal(h.mistakes, h2.mistakes)
    h3 = N.perceptron_train(X, y, epochs=30)
    assert not np.array_equal(h.w_path, h3.w_path)


def test_train_argument_errors():
    X, y = N.gate_data("AND")
    with pytest.raises(ValueError, match="epochs must be an int >= 1"):
        N.perceptron_train(X, y, epochs=0)
    with pytest.raises(ValueError, match="one label per row"):
        N.perceptron_train(X, y[:3])
    with pytest.raises(TypeError, match="lr must be a number"):
        N.perceptron_train(X, y, lr="fast")
    with pytest.raises(ValueError, match="X must have 2 dimension"):
        N.perceptron_train(X[0], y)


def test_novikoff_bound_values_and_errors():
    X = np.array([[2.0, 0.0], [-2.0, 0.0]])
    y = np.array([1, 0])
    R, gamma, bound = N.novikoff_bound(X, y, [1.0, 0.0], 0.0)
    assert R == pytest.approx(np.sqrt(5.0))
    assert gamma == pytest.approx(2.0)
    assert bound == pytest.approx(5.0 / 4.0)
    with pytest.raises(ValueError, match="does not separate"):
        N.novikoff_bound(X, y, [-1.0, 0.0], 0.0)
    with pytest.raises(ValueError, match="all zero"):
        N.novikoff_bound(X, y, [0.0, 0.0], 0.0)


def test_linear_separator_separates():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.3 > 0).astype(int)
    w, b = N.linear_separator(X, y)
    np.testing.assert_array_equal(N.perceptron_predict(X, w, b), y)
    assert np.all(np.abs(np.r_[w, b]) <= 1 + 1e-9)


# --------------------------------------------------------------------------- neurons from geometry (exercises of 01)

@pytest.mark.parametrize("p, q, r", [
    ([0.0, 0.0], [1.0, 0.0], [0.0, 1.0]),        # horizontal line, fire above
    ([0.0, 0.0], [1.0, 0.0], [5.0, -2.0]),       # ... fire below
    ([1.0, -3.0], [1.0, 4.0], [-2.0, 0.0]),      # vertical line
    ([2.0, 1.0], [-1.0, 3.0], [10.0, 10.0]),     # p and q in "reverse" order
    ([1e3, 2e3], [1.5e3, 1e3], [0.0, 0.0]),      # large coordinates
])
def test_neuron_for_line_passes_through_p_q_and_fires_at_r(p, q, r):
    w, b = N.neuron_for_line(p, q, r)
    assert w.shape == (2,) and isinstance(b, float)
    norm = np.linalg.norm(w)
    assert norm == pytest.approx(1.0)                   # z is the signed distance from the line
    for pt in (p, q):
        assert abs(N.weighted_sum(pt, w, b)) / norm < 1e-9
    assert N.weighted_sum(r, w, b) > 0
    # every point on r's side fires, every point on the other side does not
    rng = np.random.default_rng(0)
    P = rng.uniform(-20, 20, (500, 2)) + np.asarray(p)
    d = np.subtract(q, p)
    cross = d[0] * (P[:, 1] - p[1]) - d[1] * (P[:, 0] - p[0])
    cross_r = d[0] * (r[1] - p[1]) - d[1] * (r[0] - p[0])
    far = np.abs(cross) / np.hypot(*d) > 1e-6
    expected = (np.sign(cross) == np.sign(cross_r)).astype(float)
    np.testing.assert_array_equal(N.neuron(P[far], w, b), expected[far])
    assert not np.any(np.signbit(w[w == 0]))            # no -0.0 in printouts


def test_neuron_for_line_refuses_bad_input():
    with pytest.raises(ValueError, match="two different"):
        N.neuron_for_line([1.0, 1.0], [1.0, 1.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="lies on the line"):
        N.neuron_for_line([0.0, 0.0], [1.0, 1.0], [3.0, 3.0])
    with pytest.raises(ValueError, match="shape"):
        N.neuron_for_line([0.0, 0.0, 0.0], [1.0, 1.0], [3.0, 0.0])


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_at_least_k_neuron_counts(n):
    from itertools import product
    X = np.array(list(product([0.0, 1.0], repeat=n)))
    for k in range(0, n + 2):
        w, b = N.at_least_k_neuron(n, k)
        assert w.shape == (n,)
        np.testing.assert_array_equal(N.neuron(X, w, b), (X.sum(axis=1) >= k).astype(float))
    # k = n is AND, k = 1 is OR: the same truth tables as the hand-set gates
    if n == 2:
        for name, k in (("AND", 2), ("OR", 1)):
            np.testing.assert_array_equal(N.perceptron_predict(N.GATE_INPUTS, *N.at_least_k_neuron(2, k)),
                                          N.gate_data(name)[1])


def test_at_least_k_neuron_refuses_bad_input():
    with pytest.raises(ValueError, match="between 0 and n"):
        N.at_least_k_neuron(3, 5)
    with pytest.raises(ValueError, match="at least 1"):
        N.at_least_k_neuron(0, 0)
    with pytest.raises(TypeError, match="int"):
        N.at_least_k_neuron(3, 1.5)


@pytest.mark.parametrize("V", [
    [[0.0, 0.0], [4.0, 0.0], [0.0, 3.0]],                          # counter-clockwise triangle
    [[0.0, 0.0], [0.0, 3.0], [4.0, 0.0]],                          # the same, clockwise
    [[-1.0, -1.0], [-1.0, 1.0], [1.0, 1.0], [1.0, -1.0]],           # square, clockwise
    [[np.cos(a), np.sin(a)] for a in np.linspace(0, 2 * np.pi, 7)[:-1] + 0.3],   # hexagon
])
def test_convex_polygon_network_fires_inside(V):
    V = np.asarray(V)
    layers = N.convex_polygon_network(V)
    (W1, b1), (W2, b2) = layers
    k = len(V)
    assert W1.shape == (2, k) and b1.shape == (k,) and W2.shape == (k, 1) and b2.shape == (1,)
    rng = np.random.default_rng(1)
    P = rng.uniform(V.min() - 1, V.max() + 1, (2000, 2))
    # truth: P is inside when it is on the same side of every edge as the centre
    inside = np.ones(len(P), bool)
    near = np.zeros(len(P), bool)
    c = V.mean(axis=0)
    for i in range(k):
        a, e = V[i], V[(i + 1) % k]
        d = e - a
        side = lambda X: d[0] * (X[..., 1] - a[1]) - d[1] * (X[..., 0] - a[0])
        s = side(P)
        inside &= np.sign(s) == np.sign(side(c))
        near |= np.abs(s) / np.linalg.norm(d) < 1e-6
    out = N.step_network(P, layers).ravel()
    np.testing.assert_array_equal(out[~near], inside[~near].astype(float))
    assert 0 < inside.sum() < len(P)
    np.testing.assert_array_equal(N.step_network(c[None], layers).ravel(), [1.0])


def test_convex_polygon_network_refuses_non_convex_or_too_few():
    with pytest.raises(ValueError, match="convex"):
        N.convex_polygon_network([[0, 0], [4, 0], [1, 1], [0, 4]])           # a dent
    with pytest.raises(ValueError, match="convex"):
        N.convex_polygon_network([[0, 0], [2, 2], [2, 0], [0, 2]])           # a bow tie (out of order)
    with pytest.raises(ValueError, match="k >= 3"):
        N.convex_polygon_network([[0, 0], [1, 1]])
