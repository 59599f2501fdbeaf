"""LSTM gate inspector (notebook 16), in the spirit of LSTMVis (Strobelt et al., 2018): pick a sentence of
the long-range task ("I grew up in Korea ... I speak fluent ___") or type one, and see the forget, input
and output gates and the cell state of a trained LSTM as heatmaps (units x time steps), with the
sentence as a colour strip and the model's answer.

Three layers (CONVENTIONS.md, "Widgets"):

- pure functions: :class:`LstmWeights` / :func:`weights_from_model` (the trained Keras LSTM and its
  softmax head as NumPy arrays), :func:`inspect_sequence` (one sentence through
  :func:`course_utils.scratch.lstm_forward`, NumPy only, about a millisecond), :func:`parse_words`,
  :func:`unit_order`, :func:`token_strip`;
- :func:`render` (a trace -> Figure) and the kept :class:`GatePicture`, whose frames only replace
  image data, bar heights and texts;
- :class:`LstmGateInspector`, the thin widget. Keras is used once, to read the weights: every control
  change is NumPy (so a new picture comes in well under 100 ms).
"""
from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..scratch.gated import (LONG_RANGE_COUNTRIES, LONG_RANGE_FILLERS, LONG_RANGE_LANGUAGES, encode_words,
                             long_range_sequences, long_range_vocabulary, lstm_forward)
from .base import Explorer, TextStamp

__all__ = ["LstmWeights", "weights_from_model", "GateTrace", "inspect_sequence", "parse_words", "unit_order",
           "token_strip", "GatePicture", "render", "LstmGateInspector", "demo_model", "demo_inspector",
           "SORTS", "PANELS"]

PANELS = (("forget", "forget gate f"), ("input", "input gate i"), ("output", "output gate o"),
          ("cell", "cell state c"))
SORTS = ("unit number", "|cell| at the end", "forget gate on fillers")
CELL_LIMIT = 3.0          # the cell-state colour scale: -3 .. 3 (clipped beyond)
CACHE_SIZE = 256
_COUNTRY_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd")


@dataclass(frozen=True)
class LstmWeights:
    """A trained LSTM layer (Keras' layout: blocks i, f, c, o) and its softmax head ``Dense(k)``."""
    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray
    head_kernel: np.ndarray
    head_bias: np.ndarray

    def __post_init__(self):
        d, four_u = np.shape(self.kernel)
        u = four_u // 4
        if four_u != 4 * u or np.shape(self.recurrent_kernel) != (u, 4 * u) or np.shape(self.bias) != (4 * u,):
            raise ValueError("kernel, recurrent_kernel and bias must have shapes (d, 4u), (u, 4u), (4u,) "
                             f"(Keras' LSTM layout), got {np.shape(self.kernel)}, "
                             f"{np.shape(self.recurrent_kernel)}, {np.shape(self.bias)}")
        if np.shape(self.head_kernel)[0] != u or np.shape(self.head_bias) != (np.shape(self.head_kernel)[1],):
            raise ValueError(f"head_kernel must be ({u}, classes) and head_bias (classes,), got "
                             f"{np.shape(self.head_kernel)}, {np.shape(self.head_bias)}")

    @property
    def units(self) -> int:
        return self.recurrent_kernel.shape[0]

    @property
    def input_dim(self) -> int:
        return self.kernel.shape[0]


def weights_from_model(model) -> LstmWeights:
    """The first ``LSTM`` layer of a Keras model and its last ``Dense`` layer (the softmax head), read once.

    The model must be ``LSTM(u)`` (last state only) followed by ``Dense(classes, activation="softmax")``.
    """
    import keras
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a trained keras.Model, got {type(model).__name__}")
    lstm = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if not lstm or not dense:
        raise ValueError("the model must hold an LSTM layer and a Dense softmax head "
                         f"(layers: {[type(layer).__name__ for layer in model.layers]})")
    if dense[-1].get_config().get("activation") != "softmax":
        raise ValueError("the model's last Dense layer must use activation='softmax'")
    k, r, b = (np.asarray(w, dtype=np.float64) for w in lstm[0].get_weights())
    hk, hb = (np.asarray(w, dtype=np.float64) for w in dense[-1].get_weights())
    return LstmWeights(k, r, b, hk, hb)


@dataclass(frozen=True)
class GateTrace:
    """One sentence through the LSTM: ``gates`` ``{"forget", "input", "output", "candidate", "cell"}``,
    each ``(steps, units)``; ``probs`` the softmax answer; ``tokens`` ``(steps,)`` word indices (-1:
    silent step)."""
    gates: dict
    probs: np.ndarray
    tokens: np.ndarray


def inspect_sequence(weights: LstmWeights, x, tokens) -> GateTrace:
    """Run one input ``x`` ``(steps, d)`` through the LSTM (NumPy) and its head."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != weights.input_dim:
        raise ValueError(f"x must have shape (steps, {weights.input_dim}), got {x.shape}")
    _, h, _, gates = lstm_forward(x, weights.kernel, weights.recurrent_kernel, weights.bias, return_gates=True)
    z = h @ weights.head_kernel + weights.head_bias
    p = np.exp(z - z.max())
    return GateTrace(gates, p / p.sum(), np.asarray(tokens))


def parse_words(text: str) -> list[str]:
    """A typed sentence to the task's words (case-insensitive; commas, dots and the words "I", "grew",
    "up", "in", "speak" are skipped as decoration; "fluent" or "fluent?" is the query)."""
    vocab = long_range_vocabulary()
    lower = {w.lower().rstrip("?"): w for w in vocab}
    words = []
    for raw in re.split(r"[\s,.;:!]+", str(text).strip()):
        w = raw.lower().rstrip("?")
        if not w or w in ("i", "grew", "up", "in", "speak", "…", "..."):
            continue
        if w not in lower:
            raise ValueError(f"unknown word {raw!r}: use the countries {', '.join(LONG_RANGE_COUNTRIES)}, the "
                             f"fillers {', '.join(LONG_RANGE_FILLERS)} and the query 'fluent?'")
        words.append(lower[w])
    if not words:
        raise ValueError("type at least one word, e.g. 'Korea and then we moved fluent?'")
    return words


def unit_order(trace: GateTrace, how: str) -> np.ndarray:
    """Order of the units (rows) for display: by number, by ``|c|`` at the last step (largest first), or by
    the mean forget gate on filler steps (the units that hold their cell first)."""
    if how not in SORTS:
        raise ValueError(f"how must be one of {SORTS}, got {how!r}")
    u = trace.gates["cell"].shape[1]
    if how == SORTS[0]:
        return np.arange(u)
    if how == SORTS[1]:
        return np.argsort(-np.abs(trace.gates["cell"][-1]), kind="stable")
    filler = (trace.tokens >= len(LONG_RANGE_COUNTRIES)) & (trace.tokens < len(long_range_vocabulary()) - 1)
    f = trace.gates["forget"][filler] if filler.any() else trace.gates["forget"]
    return np.argsort(-f.mean(axis=0), kind="stable")


def token_strip(tokens) -> np.ndarray:
    """RGBA ``(1, steps, 4)`` colours of a sentence: each country its colour, fillers grey, the query black,
    silent steps white."""
    from matplotlib.colors import to_rgba
    t = np.asarray(tokens)
    n_c = len(LONG_RANGE_COUNTRIES)
    out = np.empty((1, t.size, 4))
    for k, tok in enumerate(t):
        if tok < 0:
            c = "white"
        elif tok < n_c:
            c = _COUNTRY_COLOURS[tok]
        elif tok == len(long_range_vocabulary()) - 1:
            c = "black"
        else:
            c = "0.75"
        out[0, k] = to_rgba(c)
    return out


class GatePicture:
    """The kept figure: the sentence strip, four heatmaps (units x steps) and the answer bars. Frames
    replace image data (rows in the chosen order), bar heights and the header; a new number of steps or
    units rebuilds it."""

    def __init__(self, fig):
        self.fig = fig
        self.live = []
        self._key = None

    def _build(self, steps: int, units: int):
        from matplotlib import colormaps
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize
        from matplotlib.gridspec import GridSpec
        fig = self.fig
        fig.clear()
        fig.set_size_inches(10.5, 6.4)
        gs = GridSpec(3, 2, figure=fig, height_ratios=[0.09, 1, 1], left=0.055, right=0.735, top=0.9,
                      bottom=0.085, wspace=0.06, hspace=0.3)
        ax_strip = fig.add_subplot(gs[0, :])
        self.strip = ax_strip.imshow(np.ones((1, steps, 4)), aspect="auto", interpolation="nearest",
                                     extent=(-0.5, steps - 0.5, 0, 1))
        ax_strip.set_yticks([])
        ax_strip.set_xticks([])
        ax_strip.set_title("the sentence: country (colour), fillers (grey), 'fluent?' (black), silence (white)",
                           fontsize=9)
        self.images = {}
        gate_norm, cell_norm = Normalize(0.0, 1.0), Normalize(-CELL_LIMIT, CELL_LIMIT)
        self.colours = {"gate": (colormaps["viridis"], gate_norm), "cell": (colormaps["RdBu_r"], cell_norm)}
        for k, (name, label) in enumerate(PANELS):
            ax = fig.add_subplot(gs[1 + k // 2, k % 2])
            # RGBA of units x steps pixels, coloured here: much cheaper to draw than data the
            # renderer would colour at screen resolution
            self.images[name] = ax.imshow(np.ones((units, steps, 4)), aspect="auto", interpolation="nearest",
                                          extent=(-0.5, steps - 0.5, units - 0.5, -0.5))
            ax.set_title(label + (f" (colours clipped at ±{CELL_LIMIT:g})" if name == "cell" else ""), fontsize=9)
            ax.tick_params(labelsize=8)
            if k % 2 == 0:
                ax.set_ylabel("unit (row)", fontsize=9)
            else:
                ax.set_yticklabels([])
            if k >= 2:
                ax.set_xlabel("time step", fontsize=9)
            else:
                ax.set_xticklabels([])
        for (cmap, norm), y0, label in ((self.colours["gate"], 0.53, "gate\n0 shut\n1 open"),
                                        (self.colours["cell"], 0.085, "c")):
            cax = fig.add_axes([0.745, y0, 0.012, 0.33])
            fig.colorbar(ScalarMappable(norm, cmap), cax=cax).ax.tick_params(labelsize=7)
            cax.set_title(label, fontsize=8, loc="left")
        ax_bar = fig.add_axes([0.865, 0.3, 0.12, 0.4])
        k = len(LONG_RANGE_LANGUAGES)
        self.bars = ax_bar.barh(np.arange(k), np.zeros(k), color="0.7")
        ax_bar.set_yticks(np.arange(k), LONG_RANGE_LANGUAGES, fontsize=8)
        ax_bar.invert_yaxis()
        ax_bar.set_xlim(0, 1)
        ax_bar.set_xticks([0, 0.5, 1])
        ax_bar.tick_params(labelsize=7)
        ax_bar.set_title("p(answer)", fontsize=9)
        self.header = TextStamp(fig.text(0.5, 0.965, "", ha="center", va="center", fontsize=10.5))
        self.live = [self.strip, *self.images.values(), *self.bars, self.header]

    def update(self, trace: GateTrace, title: str = "", sort: str = SORTS[0]):
        steps, units = trace.gates["cell"].shape
        key = (steps, units)
        if key != self._key:
            self._build(steps, units)
            self._key = key
        order = unit_order(trace, sort)
        self.strip.set_data(token_strip(trace.tokens))
        for name, im in self.images.items():
            cmap, norm = self.colours["cell" if name == "cell" else "gate"]
            im.set_data(cmap(norm(trace.gates[name][:, order].T)))
        best = int(np.argmax(trace.probs))
        for k, (bar, p) in enumerate(zip(self.bars, trace.probs)):
            bar.set_width(float(p))
            bar.set_color(_COUNTRY_COLOURS[k] if k == best else "0.75")
        self.header.text.set_text(title)
        return key


def render(trace: GateTrace, title: str = "", sort: str = SORTS[0]):
    """A full Figure of one trace (for notebooks and tests)."""
    import matplotlib.pyplot as plt
    fig = plt.figure(dpi=80)
    GatePicture(fig).update(trace, title, sort)
    return fig


class LstmGateInspector(Explorer):
    """Gates and cell state of a trained LSTM on one sentence of the long-range task.

    Parameters
    ----------
    model : keras.Model or LstmWeights
        ``LSTM(u)`` then ``Dense(4, activation="softmax")``, trained on
        :func:`course_utils.scratch.long_range_sequences` (13 input features).
    max_distance : int
        The task's longest gap (sequences have ``max_distance + 2`` steps).
    noise : float
        Noise of the generated and typed sentences (the task's default: 0.2).
    """

    def __init__(self, model, max_distance: int, noise: float = 0.2):
        self.weights = model if isinstance(model, LstmWeights) else weights_from_model(model)
        n_words = len(long_range_vocabulary())
        if self.weights.input_dim != n_words or self.weights.head_kernel.shape[1] != len(LONG_RANGE_LANGUAGES):
            raise ValueError(f"the model must read the task's {n_words} input features and answer one of "
                             f"{len(LONG_RANGE_LANGUAGES)} languages, got input {self.weights.input_dim}, "
                             f"{self.weights.head_kernel.shape[1]} outputs")
        if isinstance(max_distance, bool) or not isinstance(max_distance, (int, np.integer)) or max_distance < 1:
            raise ValueError(f"max_distance must be an int >= 1, got {max_distance!r}")
        if not 0 <= float(noise) <= 1:
            raise ValueError(f"noise must be in [0, 1], got {noise!r}")
        self.max_distance, self.steps = int(max_distance), int(max_distance) + 2
        self.country_index, self.dist, self.example_seed = 0, self.max_distance, 0
        self.noise_level, self.sort_by = float(noise), SORTS[0]
        self.typed = None          # a typed sentence (list of words) or None: the generated one
        self.error = ""
        self.picture = None
        self._cache = OrderedDict()
        self.forward_calls = 0     # NumPy forward passes (cache misses), for tests
        super().__init__()

    # -- controls -----------------------------------------------------------------------------
    def _build_controls(self):
        W = self._W
        self.country = W.Dropdown(options=list(LONG_RANGE_COUNTRIES), value=LONG_RANGE_COUNTRIES[0],
                                  description="grew up in", layout=W.Layout(width="220px"))
        self.distance = W.IntSlider(value=self.dist, min=1, max=self.max_distance, description="distance",
                                    continuous_update=False, layout=W.Layout(width="330px"))
        self.example = W.IntSlider(value=0, min=0, max=99, description="example", continuous_update=False,
                                   layout=W.Layout(width="300px"))
        self.noise = W.FloatSlider(value=self.noise_level, min=0.0, max=0.6, step=0.05, description="noise",
                                   continuous_update=False, readout_format=".2f", layout=W.Layout(width="300px"))
        self.sort = W.Dropdown(options=list(SORTS), value=SORTS[0], description="sort units",
                               layout=W.Layout(width="300px"))
        self.text = W.Text(value="", placeholder="or type: Japan and then we moved to the city fluent?",
                           description="sentence", continuous_update=False, layout=W.Layout(width="640px"))
        self.country.observe(lambda ch: self.set_generated(country=ch["new"]), names="value")
        self.distance.observe(lambda ch: self.set_generated(distance=ch["new"]), names="value")
        self.example.observe(lambda ch: self.set_generated(example=ch["new"]), names="value")
        self.noise.observe(lambda ch: self.set_noise(ch["new"]), names="value")
        self.sort.observe(lambda ch: self.set_sort(ch["new"]), names="value")
        self.text.observe(self._on_text, names="value")
        self.controls = [W.HBox([self.country, self.distance, self.example]), W.HBox([self.noise, self.sort]),
                         self.text]

    def _on_text(self, change):
        try:
            self.set_text(change["new"])
        except ValueError as exc:
            self.error = str(exc)
            self.status.value = f"<small style='color:#b00'>{exc}</small>"

    # -- actions ------------------------------------------------------------------------------
    def set_generated(self, country=None, distance=None, example=None):
        """Show a generated sentence (leaving a typed one)."""
        if country is not None:
            if country not in LONG_RANGE_COUNTRIES:
                raise ValueError(f"country must be one of {LONG_RANGE_COUNTRIES}, got {country!r}")
            self.country_index = LONG_RANGE_COUNTRIES.index(country)
        if distance is not None:
            if isinstance(distance, bool) or not isinstance(distance, (int, np.integer)) \
                    or not 1 <= distance <= self.max_distance:
                raise ValueError(f"distance must be an int in [1, {self.max_distance}], got {distance!r}")
            self.dist = int(distance)
        if example is not None:
            self.example_seed = int(example)
        self.typed, self.error = None, ""
        self.refresh()

    def set_text(self, text: str):
        """Show a typed sentence (see :func:`parse_words`); an empty text goes back to the generated one."""
        if not str(text).strip():
            self.typed, self.error = None, ""
        else:
            words = parse_words(text)
            if len(words) > self.steps:
                raise ValueError(f"{len(words)} words do not fit: the model was trained on at most {self.steps} "
                                 "steps (a country, the fillers and 'fluent?')")
            self.typed, self.error = words, ""
        self.refresh()

    def set_noise(self, noise: float):
        if not 0 <= float(noise) <= 1:
            raise ValueError(f"noise must be in [0, 1], got {noise!r}")
        self.noise_level = float(noise)
        self.refresh()

    def set_sort(self, how: str):
        if how not in SORTS:
            raise ValueError(f"sort must be one of {SORTS}, got {how!r}")
        self.sort_by = how
        self.refresh()

    # -- state and drawing --------------------------------------------------------------------
    def _sentence(self):
        if self.typed is not None:
            words = self.typed
            x = encode_words(words, self.steps, self.noise_level, seed=self.example_seed)
            vocab = long_range_vocabulary()
            tokens = np.full(self.steps, -1)
            tokens[self.steps - len(words):] = [vocab.index(w) for w in words]
            return ("typed", tuple(words), self.noise_level, self.example_seed), x, tokens
        task = long_range_sequences(1, self.max_distance, distance=self.dist, noise=self.noise_level,
                                    seed=self.example_seed, country=self.country_index)
        key = ("generated", self.country_index, self.dist, self.noise_level, self.example_seed)
        return key, task.X[0], task.tokens[0]

    @property
    def trace(self) -> GateTrace:
        key, x, tokens = self._sentence()
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        trace = inspect_sequence(self.weights, x, tokens)
        self.forward_calls += 1
        self._cache[key] = trace
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return trace

    @property
    def answer(self) -> str:
        """The language the model answers for the current sentence."""
        return LONG_RANGE_LANGUAGES[int(np.argmax(self.trace.probs))]

    def _title(self, trace: GateTrace) -> str:
        """A short header (text is the costliest part of a frame): sentence → answer."""
        p = trace.probs
        best = int(np.argmax(p))
        answer = f"{LONG_RANGE_LANGUAGES[best]} ({p[best]:.0%})"
        if self.typed is not None:
            return f"typed, {len(self.typed)} words → {answer}"
        mark = "right" if best == self.country_index else "wrong"
        return f"{LONG_RANGE_COUNTRIES[self.country_index]} + {self.dist} fillers → {answer}: {mark}"

    def render(self):
        t = self.trace
        return render(t, self._title(t), self.sort_by)

    def render_png(self):
        t = self.trace
        png = self.frame_png(GatePicture, t, self._title(t), self.sort_by)
        f, i = t.gates["forget"], t.gates["input"]
        fillers = (t.tokens >= len(LONG_RANGE_COUNTRIES)) & (t.tokens < len(long_range_vocabulary()) - 1)
        first = int(np.argmax(t.tokens >= 0))
        words = " ".join(self.typed) if self.typed is not None else (
            f"{LONG_RANGE_COUNTRIES[self.country_index]} + {self.dist} fillers + 'fluent?', example "
            f"{self.example_seed}")
        msg = (f"<small>{words} (noise {self.noise_level:.2f}) · {self.weights.units} units, rows by "
               f"{self.sort_by} · on filler steps: mean forget gate "
               f"{f[fillers].mean() if fillers.any() else float('nan'):.2f}, mean input gate "
               f"{i[fillers].mean() if fillers.any() else float('nan'):.2f}; at the first word: mean input gate "
               f"{i[first].mean():.2f} · NumPy forward passes so far: {self.forward_calls}</small>")
        if self.error:
            msg = f"<small style='color:#b00'>{self.error}</small><br>" + msg
        self.status.value = msg
        return png


def demo_model(max_distance: int = 20, n_train: int = 1200, epochs: int = 3, units: int = 16, seed: int = 0):
    """A small LSTM trained a few seconds on the long-range task (for tests and the frame-time benchmark)."""
    import keras
    task = long_range_sequences(n_train, max_distance, seed=seed)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((max_distance + 2, task.X.shape[2])), keras.layers.LSTM(units),
                              keras.layers.Dense(len(LONG_RANGE_LANGUAGES), activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2, clipnorm=1.0), loss="sparse_categorical_crossentropy")
    model.fit(task.X, task.y, epochs=epochs, batch_size=32, verbose=0)
    return model


def demo_inspector(max_distance: int = 30):
    """An inspector on :func:`demo_model` (for ``make bench-widgets``)."""
    return LstmGateInspector(demo_model(max_distance=max_distance, units=32), max_distance)
