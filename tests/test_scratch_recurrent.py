"""Tests for course_utils.scratch.recurrent (notebook 15): the RNN forward and BPTT references."""
import numpy as np
import pytest

from course_utils import scratch as S


def _setup(n=3, T=7, d=2, u=4, seed=0, radius=0.9):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, T, d))
    W = rng.normal(size=(d, u)) * 0.7
    U = S.scaled_orthogonal(u, radius, rng)
    b = rng.normal(size=u) * 0.1
    return x, W, U, b


def test_forward_is_the_loop_and_the_cell_step():
    x, W, U, b = _setup()
    out, h = S.rnn_forward(x, W, U, b)
    hh = np.zeros((3, 4))
    for t in range(7):
        hh = S.rnn_cell_step(x[:, t], hh, W, U, b)
        np.testing.assert_allclose(out[:, t], hh)
    np.testing.assert_allclose(h, hh)
    lin, _ = S.rnn_forward(x, W, U, b, activation="linear")
    np.testing.assert_allclose(lin[:, 0], x[:, 0] @ W + b)


def test_mask_carries_the_state_over_padded_steps():
    x, W, U, b = _setup()
    mask = np.array([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 1, 1]], dtype=bool)
    out, h = S.rnn_forward(x, W, U, b, mask=mask)
    np.testing.assert_allclose(h[1], out[1, 2])
    np.testing.assert_allclose(out[1, 3:], np.repeat(out[1, 2:3], 4, axis=0))
    np.testing.assert_allclose(out[2, :2], 0.0)
    # the second row equals its unpadded prefix run alone
    np.testing.assert_allclose(h[1], S.rnn_forward(x[1:2, :3], W, U, b)[1][0])


def _numeric_grad(f, a, eps=1e-6):
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + eps
        up = f()
        a[i] = old - eps
        down = f()
        a[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


@pytest.mark.parametrize("masked", [False, True])
def test_backward_matches_finite_differences(masked):
    x, W, U, b = _setup(n=2, T=5, d=2, u=3, seed=1)
    rng = np.random.default_rng(5)
    target = rng.normal(size=(2, 5, 3))
    mask = np.array([[1, 1, 0, 1, 1], [0, 1, 1, 1, 0]], dtype=bool) if masked else None

    def loss():
        out, _ = S.rnn_forward(x, W, U, b, mask=mask)
        return 0.5 * np.sum((out - target) ** 2)

    out, _ = S.rnn_forward(x, W, U, b, mask=mask)
    g = S.rnn_backward(x, out, W, U, out - target, mask=mask)
    np.testing.assert_allclose(g["kernel"], _numeric_grad(loss, W), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g["recurrent_kernel"], _numeric_grad(loss, U), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g["bias"], _numeric_grad(loss, b), rtol=1e-5, atol=1e-7)


def test_backward_matches_gradient_tape():
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 9, 3)).astype("float32")
    v = rng.normal(size=(5, 1)).astype("float32")
    layer = keras.layers.SimpleRNN(5, return_sequences=True)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) @ v)
    gt = tape.gradient(loss, [layer.cell.kernel, layer.cell.recurrent_kernel, layer.cell.bias])
    W, U, b = layer.get_weights()
    out, _ = S.rnn_forward(x, W, U, b)
    g = S.rnn_backward(x, out, W, U, np.broadcast_to(v[:, 0], out.shape))
    for name, a in zip(["kernel", "recurrent_kernel", "bias"], gt):
        np.testing.assert_allclose(g[name], a.numpy(), rtol=1e-4, atol=1e-5)


def test_truncation_cuts_the_gradient_at_chunk_boundaries():
    x, W, U, b = _setup(n=2, T=12, seed=3)
    out, _ = S.rnn_forward(x, W, U, b)
    d = np.zeros_like(out)
    d[:, -1] = 1.0
    g = S.rnn_backward(x, out, W, U, d, stop_every=4)
    assert np.all(g["hidden"][:, :8] == 0) and np.all(np.abs(g["hidden"][:, 8:]).sum(axis=2) > 0)
    full = S.rnn_backward(x, out, W, U, d)
    np.testing.assert_allclose(g["hidden"][:, 8:], full["hidden"][:, 8:])


def test_jacobian_through_time_and_decay_factor():
    x, W, U, b = _setup(n=1, T=10, u=4, seed=4)
    out, _ = S.rnn_forward(x, W, U, b)
    J = S.rnn_jacobian_through_time(out[0], U, 9, 3)
    eps = 1e-6

    def run_from(h, start, stop):
        for s in range(start + 1, stop + 1):
            h = np.tanh(x[0, s] @ W + h @ U + b)
        return h
    num = np.stack([(run_from(out[0, 6] + eps * e, 6, 9) - run_from(out[0, 6] - eps * e, 6, 9)) / (2 * eps)
                    for e in np.eye(4)], axis=1)
    np.testing.assert_allclose(J, num, atol=1e-7)
    np.testing.assert_allclose(S.rnn_jacobian_through_time(out[0], U, 5, 0), np.eye(4))
    with pytest.raises(ValueError, match="k must be in"):
        S.rnn_jacobian_through_time(out[0], U, 3, 4)
    d = np.arange(10.0)
    assert S.fit_decay_factor(d, 3 * 0.8 ** d) == pytest.approx(0.8)
    assert S.predicted_decay_factor(np.zeros((5, 3)), 0.7) == pytest.approx(0.7)
    assert S.predicted_decay_factor(np.ones(4), 2.0, activation="linear") == 2.0
    assert S.spectral_radius(S.scaled_orthogonal(6, 1.7, 0)) == pytest.approx(1.7)


def test_generated_tasks():
    x, y, L = S.marker_sequences(200, lengths=(3, 6), max_len=10, positions=(2, 9), seed=0)
    assert x.shape == (200, 10, 4) and set(np.unique(y)) == {0, 1}
    assert np.all(x.sum(axis=2).sum(axis=1) == L)                       # one symbol per real step
    assert np.array_equal(x[:, :, 3].sum(axis=1) == 1, y == 1)          # the marker exactly when y = 1
    xo, yo = S.order_sequences(300, seed=1)
    a, b = xo[:, :, 4].argmax(1), xo[:, :, 5].argmax(1)
    assert np.array_equal((a < b).astype(int), yo)
    w = S.sine_sequences(5, steps=30, seed=2)
    assert w.shape == (5, 30) and np.abs(w).max() <= 1.0


def test_free_run_feeds_back_its_predictions():
    rng = np.random.default_rng(6)
    W, U, b = rng.normal(size=(1, 4)), S.scaled_orthogonal(4, 0.8, rng), np.zeros(4)
    dk, db = rng.normal(size=(4, 1)), np.array([0.1])
    warm = rng.normal(size=(2, 5))
    gen = S.rnn_free_run(warm, W, U, b, dk, db, horizon=3)
    h = S.rnn_forward(warm[:, :, None], W, U, b)[1]
    first = h @ dk + db
    np.testing.assert_allclose(gen[:, 0], first[:, 0])
    h2 = np.tanh(first @ W + h @ U + b)
    np.testing.assert_allclose(gen[:, 1], (h2 @ dk + db)[:, 0])


def test_bad_input_errors():
    x, W, U, b = _setup()
    with pytest.raises(ValueError, match="mask must have shape"):
        S.rnn_forward(x, W, U, b, mask=np.ones((3, 6), bool))
    with pytest.raises(ValueError, match="kernel must have shape"):
        S.rnn_forward(x, W.T, U, b)
    with pytest.raises(ValueError, match="activation must be one of"):
        S.rnn_forward(x, W, U, b, activation="relu")
    with pytest.raises(ValueError, match="lengths"):
        S.marker_sequences(5, lengths=(3, 40), max_len=30)
    with pytest.raises(ValueError, match="radius"):
        S.scaled_orthogonal(3, -1.0)
