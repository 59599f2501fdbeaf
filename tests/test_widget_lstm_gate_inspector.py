"""Drive the LSTM gate inspector without a browser (notebook 16)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils.scratch import long_range_sequences, lstm_forward  # noqa: E402
from course_utils.widgets import lstm_gate_inspector as I  # noqa: E402
from course_utils.widgets.base import is_png  # noqa: E402

MAX = 12


@pytest.fixture(scope="module")
def model():
    return I.demo_model(max_distance=MAX, n_train=400, epochs=1, units=8)   # a second or two


@pytest.fixture
def inspector(model):
    return I.LstmGateInspector(model, MAX)


def test_weights_and_trace_match_the_keras_model(model):
    w = I.weights_from_model(model)
    assert w.units == 8 and w.input_dim == 13
    t = long_range_sequences(5, MAX, seed=1)
    probs = np.asarray(model(t.X, training=False))
    for k in range(5):
        tr = I.inspect_sequence(w, t.X[k], t.tokens[k])
        np.testing.assert_allclose(tr.probs, probs[k], atol=1e-5)
        assert tr.gates["forget"].shape == (MAX + 2, 8)
        np.testing.assert_allclose(tr.gates["cell"], lstm_forward(t.X[k], w.kernel, w.recurrent_kernel, w.bias,
                                                                  return_gates=True)[3]["cell"])


def test_parse_words_and_orders(model):
    assert I.parse_words("I grew up in Korea, and then we moved ... I speak fluent?") == \
        ["Korea", "and", "then", "we", "moved", "fluent?"]
    with pytest.raises(ValueError, match="unknown word"):
        I.parse_words("Korea and Spain")
    with pytest.raises(ValueError, match="at least one word"):
        I.parse_words("  ")
    w = I.weights_from_model(model)
    t = long_range_sequences(1, MAX, distance=MAX, seed=2)
    tr = I.inspect_sequence(w, t.X[0], t.tokens[0])
    for how in I.SORTS:
        assert sorted(I.unit_order(tr, how)) == list(range(8))
    order = I.unit_order(tr, "|cell| at the end")
    assert abs(tr.gates["cell"][-1, order[0]]) == np.abs(tr.gates["cell"][-1]).max()
    strip = I.token_strip(t.tokens[0])
    assert strip.shape == (1, MAX + 2, 4) and np.allclose(strip[0, -1, :3], 0)   # the query is black


def test_default_state_png_and_render(inspector):
    assert is_png(inspector.png) and inspector.typed is None and inspector.dist == MAX
    n_open = len(plt.get_fignums())
    fig = inspector.render()
    assert len(fig.axes) == 1 + 4 + 2 + 1          # strip, four heatmaps, two colour bars, the answer bars
    plt.close(fig)
    assert len(plt.get_fignums()) == n_open


def test_controls_change_the_picture(inspector):
    n_open = len(plt.get_fignums())
    first = inspector.png
    inspector.distance.value = 3
    assert inspector.dist == 3 and inspector.png != first and is_png(inspector.png)
    calls = inspector.forward_calls
    inspector.distance.value = MAX
    assert inspector.forward_calls == calls and inspector.png == first      # cached, same picture
    inspector.country.value = "Japan"
    assert inspector.country_index == 2 and inspector.png != first
    inspector.example.value = 5
    assert inspector.example_seed == 5
    before = inspector.png
    inspector.noise.value = 0.4
    assert inspector.noise_level == 0.4 and inspector.png != before
    inspector.sort.value = "|cell| at the end"
    assert inspector.sort_by == "|cell| at the end"
    inspector.text.value = "Brazil and then we moved fluent?"
    assert inspector.typed == ["Brazil", "and", "then", "we", "moved", "fluent?"] and "typed" in inspector._title(
        inspector.trace)
    assert inspector.answer in I.LONG_RANGE_LANGUAGES
    inspector.text.value = "Brazil and Spain"                              # an error in the status, no exception
    assert "unknown word 'Spain'" in inspector.status.value and inspector.typed[0] == "Brazil"
    inspector.distance.value = 4                                           # back to generated sentences
    assert inspector.typed is None and inspector.error == ""
    assert len(plt.get_fignums()) == n_open


def test_bad_input_gives_clear_errors(model, inspector):
    import keras
    with pytest.raises(ValueError, match="max_distance"):
        I.LstmGateInspector(model, 0)
    with pytest.raises(TypeError, match="keras.Model"):
        I.LstmGateInspector("model", MAX)
    gru = keras.Sequential([keras.Input((None, 13)), keras.layers.GRU(4), keras.layers.Dense(4, activation="softmax")])
    with pytest.raises(ValueError, match="LSTM layer"):
        I.LstmGateInspector(gru, MAX)
    other = keras.Sequential([keras.Input((None, 5)), keras.layers.LSTM(4), keras.layers.Dense(4, activation="softmax")])
    with pytest.raises(ValueError, match="13 input features"):
        I.LstmGateInspector(other, MAX)
    with pytest.raises(ValueError, match="distance must be"):
        inspector.set_generated(distance=MAX + 1)
    with pytest.raises(ValueError, match="do not fit"):
        inspector.set_text(" ".join(["Korea"] + ["and"] * (MAX + 2)))
    with pytest.raises(ValueError, match="sort must be"):
        inspector.set_sort("random")
