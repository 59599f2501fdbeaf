"""NumPy LSTM / GRU references (notebook 16) against Keras, parameter formulas, the long-range task."""
import numpy as np
import pytest

from course_utils.scratch import gated as G


def _perturbed(layer, x, rng):
    layer(x)
    w = [a + rng.normal(scale=0.5, size=a.shape).astype("float32") for a in layer.get_weights()]
    layer.set_weights(w)
    return w


def test_lstm_forward_equals_keras_sequences_and_states():
    import keras
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 7, 5)).astype("float32")
    layer = keras.layers.LSTM(4, return_sequences=True, return_state=True, use_cudnn=False)
    w = _perturbed(layer, x, rng)
    h0, c0 = rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(3, 4)).astype("float32")
    seq, h, c = (np.asarray(a) for a in layer(x, initial_state=[h0, c0]))
    ours = G.lstm_forward(x, *w, h0=h0, c0=c0)
    for a, b in zip(ours, (seq, h, c)):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # one sequence without a batch axis, and the step function
    s1, h1, c1 = G.lstm_forward(x[0], *w)
    np.testing.assert_allclose(s1, G.lstm_forward(x[:1], *w)[0][0], atol=1e-12)
    hs, cs, gates = G.lstm_cell_step(x[:, 0], h0, c0, *w)
    np.testing.assert_allclose(hs, ours[0][:, 0], atol=1e-12)
    assert set(gates) == {"input", "forget", "candidate", "output"}


def test_lstm_gates_are_the_keras_blocks():
    rng = np.random.default_rng(1)
    d, u = 3, 2
    k, r, b = np.zeros((d, 4 * u)), np.zeros((u, 4 * u)), np.zeros(4 * u)
    b[u:2 * u] = 50.0            # forget gate open
    b[:u] = -50.0                # input gate shut
    x = rng.normal(size=(2, 20, d))
    c0 = rng.normal(size=(2, u))
    _, _, c, gates = G.lstm_forward(x, k, r, b, c0=c0, return_gates=True)
    np.testing.assert_allclose(c, c0, atol=1e-12)
    assert np.allclose(gates["forget"], 1) and np.allclose(gates["input"], 0)
    np.testing.assert_allclose(gates["cell"][:, -1], c)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_forward_equals_keras(reset_after):
    import keras
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 6, 3)).astype("float32")
    layer = keras.layers.GRU(5, return_sequences=True, return_state=True, reset_after=reset_after, use_cudnn=False)
    w = _perturbed(layer, x, rng)
    h0 = rng.normal(size=(4, 5)).astype("float32")
    seq, h = (np.asarray(a) for a in layer(x, initial_state=h0))
    s2, h2, gates = G.gru_forward(x, *w, h0=h0, reset_after=reset_after, return_gates=True)
    np.testing.assert_allclose(s2, seq, atol=1e-5)
    np.testing.assert_allclose(h2, h, atol=1e-5)
    assert set(gates) == {"update", "reset", "candidate"}
    hs, _ = G.gru_cell_step(x[:, 0], h0, *w, reset_after=reset_after)
    np.testing.assert_allclose(hs, seq[:, 0], atol=1e-5)


def test_gru_bias_layout_errors():
    k, r = np.zeros((3, 6)), np.zeros((2, 6))
    with pytest.raises(ValueError, match="reset_after=True"):
        G.gru_forward(np.zeros((4, 3)), k, r, np.zeros((2, 6)), reset_after=False)
    with pytest.raises(ValueError, match="bias"):
        G.gru_forward(np.zeros((4, 3)), k, r, np.zeros(6), reset_after=True)
    with pytest.raises(ValueError, match="features"):
        G.lstm_forward(np.zeros((4, 2)), np.zeros((3, 8)), np.zeros((2, 8)), np.zeros(8))
    with pytest.raises(ValueError, match="4 \\* units"):
        G.lstm_forward(np.zeros((4, 3)), np.zeros((3, 7)), np.zeros((2, 8)), np.zeros(8))


def test_param_formulas_equal_count_params():
    import keras
    for d, u in [(13, 32), (1, 1), (7, 5)]:
        for kind, layer in [("simple_rnn", keras.layers.SimpleRNN(u)), ("lstm", keras.layers.LSTM(u)),
                            ("gru", keras.layers.GRU(u))]:
            layer.build((None, None, d))
            assert G.gated_layer_params(kind, d, u) == layer.count_params(), (kind, d, u)
        v1 = keras.layers.GRU(u, reset_after=False)
        v1.build((None, None, d))
        assert G.gated_layer_params("gru", d, u, reset_after=False) == v1.count_params()
    with pytest.raises(ValueError, match="kind"):
        G.gated_layer_params("rnn", 3, 4)
    with pytest.raises(ValueError, match="units"):
        G.gated_layer_params("lstm", 3, 0)


def test_cell_path_gain():
    f = np.full((2, 4, 3), 0.5)
    g = G.cell_path_gain(f)
    np.testing.assert_allclose(g[0, :, 0], [0.125, 0.25, 0.5, 1.0])
    f = np.random.default_rng(0).uniform(0.5, 1, size=(6, 2))
    np.testing.assert_allclose(G.cell_path_gain(f)[0], np.prod(f[1:], axis=0))
    with pytest.raises(ValueError, match="gate values"):
        G.cell_path_gain(np.full((3, 2), 1.5))


def test_long_range_sequences():
    t = G.long_range_sequences(200, 12, noise=0.0, seed=3)
    assert t.X.shape == (200, 14, 13) and t.X.dtype == np.float32
    assert t.distance.min() >= 1 and t.distance.max() <= 12
    for k in range(20):
        words = t.words(k)
        assert words[0] == G.LONG_RANGE_COUNTRIES[t.y[k]] and words[-1] == G.LONG_RANGE_QUERY
        assert len(words) == t.distance[k] + 2
        assert all(w in G.LONG_RANGE_FILLERS for w in words[1:-1])
        np.testing.assert_array_equal(t.X[k], G.encode_words(words, 14))
    fixed = G.long_range_sequences(50, 12, distance=12, noise=0.2, seed=4, country=2)
    assert (fixed.y == 2).all() and (fixed.distance == 12).all() and (fixed.tokens >= 0).all()
    assert abs(float(fixed.X[:, :, 4:12].std()) - 0.5) < 0.2   # one-hot fillers plus noise
    again = G.long_range_sequences(50, 12, distance=12, noise=0.2, seed=4, country=2)
    np.testing.assert_array_equal(fixed.X, again.X)
    with pytest.raises(ValueError, match="longer than max_distance"):
        G.long_range_sequences(5, 10, distance=11)
    with pytest.raises(ValueError, match="country"):
        G.long_range_sequences(5, 10, country=4)
    with pytest.raises(ValueError, match="unknown word"):
        G.encode_words(["Korea", "Spain"], 5)
