"""Unrolled-RNN viewer (notebook 15): hidden states and gradients over time vs the spectral radius.

Three layers, as every course widget:

1. pure functions (NumPy, :mod:`course_utils.scratch.recurrent`): :func:`simulate` runs a
   SimpleRNN cell (16 units, recurrent matrix = ``radius`` × a random orthogonal matrix, Glorot
   input weights) over a fixed random sequence and keeps the states; :func:`gradient_norms` gives
   ``||dL/dh_s||`` for every s up to the current step for a loss on that step
   (``L = h_step @ readout``, BPTT by :func:`course_utils.scratch.rnn_backward`); the fitted
   factor per step and the spectral-radius prediction ``radius × RMS(1 - h²)``;
2. :func:`render` (a :class:`ViewState` → a matplotlib Figure: heatmap of h_t over t with the
   current step outlined, gradient-norm bars on a log axis with the prediction dotted), drawn by
   :class:`RNNPicture`, which the widget keeps (:class:`~course_utils.widgets.base.Frame`);
3. :class:`UnrolledRNNViewer`, a thin widget: radius, input scale, activation, step (slider,
   **Next step** button, Play) and **New sequence**.

Speed: everything is NumPy on a 40-step, 16-unit cell: a configuration's states and all its
gradient bars take about a millisecond and are cached. A frame only updates the heatmap's array,
the outline, the bars and the texts; the gradient axis is drawn again only when its decade range
changes (it covers every step of a configuration, so stepping and Play never redraw it).

Example
-------
>>> from course_utils.widgets.unrolled_rnn import UnrolledRNNViewer
>>> v = UnrolledRNNViewer(radius=0.8)
>>> v.step.value = 40
>>> round(v.state.fitted, 2) < 1
True
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..scratch.recurrent import (fit_decay_factor, predicted_decay_factor, rnn_backward, rnn_forward,
                                 scaled_orthogonal)
from .base import Explorer, TextStamp, in_draw_order

__all__ = ["STEPS", "UNITS", "ACTIVATIONS", "RNNRun", "ViewState", "simulate", "gradient_norms", "view",
           "render", "RNNPicture", "UnrolledRNNViewer"]

STEPS = 40
UNITS = 16
FEATURES = 4
ACTIVATIONS = ("tanh", "linear")
RADIUS_RANGE = (0.1, 3.0)
SCALE_RANGE = (0.01, 5.0)
PLAY_INTERVAL_MS = 90     # a frame takes 20-50 ms: 11 ticks a second leave room for a slow one
FIGSIZE = (10, 5.6)
#: the gradient axis (fixed, so that no control redraws it; bars beyond it are cut, the title gives
#: the norm at the first step)
YLIM = (1e-16, 1e16)


def _number(name, v, lo, hi):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
        raise TypeError(f"{name} must be a number, got {type(v).__name__}: {v!r}")
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {v!r}")
    return float(v)


def _int(name, v, lo, hi):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}: {v!r}")
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {v}")
    return int(v)


def _activation(a):
    if a not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {a!r}")
    return a


# --------------------------------------------------------------------------- 1. pure functions

@dataclass
class RNNRun:
    """One configuration: the sequence, the weights and the states (all NumPy, float64).

    x (STEPS, FEATURES), W (FEATURES, UNITS), U (UNITS, UNITS) = radius × orthogonal, b zeros,
    readout (UNITS,), states (STEPS, UNITS): h_1 ... h_T. ``bars`` caches :func:`gradient_norms`
    per step; ``grad_range`` the smallest and largest positive norm over all steps; ``predicted``
    the spectral-radius prediction over the whole sequence.
    """
    radius: float
    input_scale: float
    activation: str
    seed: int
    x: np.ndarray
    W: np.ndarray
    U: np.ndarray
    b: np.ndarray
    readout: np.ndarray
    states: np.ndarray
    bars: dict
    grad_range: tuple
    predicted: float = float("nan")


def simulate(radius: float = 1.0, input_scale: float = 1.0, activation: str = "tanh", seed: int = 0,
             steps: int = STEPS, units: int = UNITS) -> RNNRun:
    """Run the cell over a fixed random sequence (N(0, input_scale²) inputs, drawn from ``seed``).
    The same seed gives the same sequence, input weights and orthogonal matrix for every radius,
    so only the radius (or scale, activation) changes between two runs."""
    radius = _number("radius", radius, *RADIUS_RANGE)
    input_scale = _number("input_scale", input_scale, *SCALE_RANGE)
    activation = _activation(activation)
    seed = _int("seed", seed, 0, 2**31)
    steps = _int("steps", steps, 2, 500)
    units = _int("units", units, 1, 256)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(steps, FEATURES)) * input_scale
    limit = np.sqrt(6.0 / (FEATURES + units))                  # Glorot uniform, Keras' default kernel
    W = rng.uniform(-limit, limit, size=(FEATURES, units))
    Q = scaled_orthogonal(units, 1.0, rng)
    readout = rng.normal(size=units)
    readout /= np.linalg.norm(readout)
    U = radius * Q
    b = np.zeros(units)
    states = rnn_forward(x[None], W, U, b, activation=activation)[0][0]
    run = RNNRun(radius, input_scale, activation, seed, x, W, U, b, readout, states, {}, (1.0, 1.0))
    run.bars = _all_gradient_norms(run)
    run.predicted = predicted_decay_factor(states, radius, activation)
    norms = np.concatenate(list(run.bars.values()))
    ok = norms[np.isfinite(norms) & (norms > 0)]
    run.grad_range = (float(ok.min()), float(ok.max())) if ok.size else (1.0, 1.0)
    return run


def _all_gradient_norms(run: RNNRun) -> dict:
    """:func:`gradient_norms` for every step at once: one backward sweep carries the gradients of
    all the losses L_t = h_t @ readout together (row t of G is dL_t/dh_s, for the rows t >= s)."""
    T, u = run.states.shape
    slope = 1.0 - run.states ** 2 if run.activation == "tanh" else np.ones_like(run.states)
    G = np.zeros((T, u))
    norms = np.zeros((T, T))                     # norms[t, s] = ||dL_t / dh_s||, s <= t
    with np.errstate(all="ignore"):
        for s in range(T - 1, -1, -1):
            G[s] = run.readout                   # the loss at step s itself
            norms[s:, s] = np.linalg.norm(G[s:], axis=1)
            if s > 0:                            # back through step s: dh_s / dh_{s-1}
                G[s:] = (G[s:] * slope[s]) @ run.U.T
    return {t + 1: norms[t, :t + 1].copy() for t in range(T)}


def gradient_norms(run: RNNRun, step: int) -> np.ndarray:
    """``||dL/dh_s||`` for s = 1 ... step (array of length ``step``) for ``L = h_step @ readout``
    (so the last bar is ``||readout|| = 1``), by BPTT (:func:`course_utils.scratch.rnn_backward`).
    :func:`simulate` fills ``run.bars`` with all steps at once; this computes one step alone."""
    T = run.states.shape[0]
    step = _int("step", step, 1, T)
    if step not in run.bars:
        outs = run.states[None, :step]
        d_out = np.zeros_like(outs)
        d_out[0, -1] = run.readout
        with np.errstate(all="ignore"):
            g = rnn_backward(run.x[None, :step], outs, run.W, run.U, d_out, activation=run.activation)["hidden"]
        run.bars[step] = np.linalg.norm(g[0], axis=1)
    return run.bars[step]


@dataclass
class ViewState:
    """What :func:`render` draws: the run, the current step (1-based), its gradient bars, the
    fitted factor per step (NaN with fewer than 3 bars) and the prediction."""
    run: RNNRun
    step: int
    bars: np.ndarray
    fitted: float
    predicted: float


def view(run: RNNRun, step: int) -> ViewState:
    """The :class:`ViewState` of ``run`` at ``step``."""
    bars = gradient_norms(run, step)
    fitted = float("nan")
    if step >= 3:
        try:
            fitted = fit_decay_factor(np.arange(step)[::-1].astype(float), bars)
        except ValueError:
            pass
    predicted = predicted_decay_factor(run.states[:step], run.radius, run.activation)
    return ViewState(run, step, bars, fitted, predicted)


# --------------------------------------------------------------------------- 2. the picture

class RNNPicture:
    """The viewer's figure, kept and updated in place: ``update(state)`` sets the data of the
    live artists and returns the key of the static parts."""

    def __init__(self, fig):
        from matplotlib.patches import Rectangle
        self.fig = fig
        fig.set_size_inches(*FIGSIZE)
        gs = fig.add_gridspec(2, 2, height_ratios=[1, 1], width_ratios=[40, 1], hspace=0.45, wspace=0.03,
                              left=0.07, right=0.93, top=0.9, bottom=0.1)
        self.ax_h = fig.add_subplot(gs[0, 0])
        cax = fig.add_subplot(gs[0, 1])
        self.ax_g = fig.add_subplot(gs[1, 0])
        T, u = STEPS, UNITS
        self.img = self.ax_h.imshow(np.full((u, T), np.nan), aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1,
                                    extent=(0.5, T + 0.5, u - 0.5, -0.5), interpolation="nearest")
        cb = fig.colorbar(self.img, cax=cax)
        cb.set_label("h")
        self.ax_h.set_ylabel("hidden unit")
        # a margin round the map: the live map never touches the spines and ticks kept in the background
        self.ax_h.set_xlim(0.0, T + 1.0)
        self.ax_h.set_ylim(u + 0.2, -1.2)
        self.ax_h.set_xlabel("time step t")
        self.outline = Rectangle((0.5, -0.5), 1.0, u, fill=False, edgecolor="k", lw=2.0)
        self.ax_h.add_patch(self.outline)
        self.ax_h.set_title("hidden state h_t over time (the current step outlined)", fontsize=10)
        steps = np.arange(1, T + 1)
        self.bars = list(self.ax_g.bar(steps, np.ones(T), width=0.8, color="C0", bottom=YLIM[0]))
        (self.pred_line,) = self.ax_g.plot([], [], "k:", lw=1.5, label="prediction (ρ·RMS(1−h²))^distance")
        (self.fit_line,) = self.ax_g.plot([], [], "C3-", lw=1.0, alpha=0.8, label="fitted factor^distance")
        self.ax_g.set_yscale("log")
        self.ax_g.set_ylim(*YLIM)               # fixed: stepping and the controls never redraw the axis
        self.ax_g.set_xlim(0.5, T + 0.5)
        self.ax_g.set_xlabel("time step s")
        self.ax_g.set_ylabel("||∂L/∂h_s||")
        self.legend = self.ax_g.legend(loc="upper right", fontsize=8)
        self.ax_g.set_title("‖∂L/∂h_s‖ for the loss L = h_t·v at the current step t (log scale)", fontsize=10)
        self.numbers = self.ax_g.text(0.01, 0.95, " ", transform=self.ax_g.transAxes, fontsize=9, va="top")
        self.suptitle = fig.suptitle(" ", fontsize=11)
        self.suptitle_stamp = TextStamp(self.suptitle)
        self.live, self.sprites = [], []

    def update(self, state: ViewState):
        run, step = state.run, state.step
        T = run.states.shape[0]
        shown = np.full((run.states.shape[1], T), np.nan)
        shown[:, :step] = run.states[:step].T
        self.img.set_data(shown)
        self.outline.set_x(step - 0.5)
        bottom = YLIM[0]
        ok = np.isfinite(state.bars) & (state.bars > 0)
        for s, bar in enumerate(self.bars):
            if s < step and ok[s]:
                bar.set_y(bottom)
                bar.set_height(state.bars[s] - bottom)
                bar.set_facecolor("C3" if s == step - 1 else "C0")
                bar.set_visible(True)
            else:
                bar.set_visible(False)
        s_axis = np.arange(1, step + 1)
        dist = step - s_axis
        with np.errstate(all="ignore"):
            pred = np.clip(state.predicted ** dist.astype(float), 1e-300, 1e300)
            self.pred_line.set_data(s_axis, pred)
            if np.isfinite(state.fitted):
                self.fit_line.set_data(s_axis, np.clip(state.bars[-1] * state.fitted ** dist.astype(float),
                                                       1e-300, 1e300))
            else:
                self.fit_line.set_data([], [])
        far = state.bars[0] if step > 1 else 1.0
        fit = f"{state.fitted:.3f}" if np.isfinite(state.fitted) else "–"
        self.numbers.set_text(f"t = {step}: fitted factor {fit} per step, predicted {state.predicted:.3f}; "
                              f"‖∂L/∂h_1‖ = {far:.1e}")
        whole = run.predicted          # the prediction over the whole sequence: one label per configuration
        regime = "vanishing" if whole < 0.98 else "exploding" if whole > 1.02 else "borderline"
        self.suptitle.set_text(f"Unrolled RNN ({run.activation}, {UNITS} units): spectral radius ρ = {run.radius:.2f}, "
                               f"input scale {run.input_scale:g} → {regime}")
        self.live = [self.img, self.outline,
                     *in_draw_order(self.ax_g, [*self.bars, self.pred_line, self.fit_line]), self.legend,
                     self.numbers, self.suptitle_stamp]
        self.sprites = [self.legend]
        return None


def render(state: ViewState):
    """The viewer's picture of ``state``. Returns a matplotlib Figure (the caller closes it)."""
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=FIGSIZE)
    RNNPicture(fig).update(state)
    return fig


# --------------------------------------------------------------------------- 3. the widget

class UnrolledRNNViewer(Explorer):
    """Widget: spectral radius, input scale, activation; step along the sequence (slider or Play).

    Attributes: ``run`` (the current :class:`RNNRun`), ``state`` (its :class:`ViewState`),
    ``png``, ``runs`` (cache: configuration -> run), ``timings``.
    """

    def __init__(self, radius: float = 1.0, input_scale: float = 1.0, activation: str = "tanh", seed: int = 0):
        self._initial = (_number("radius", radius, *RADIUS_RANGE), _number("input_scale", input_scale, *SCALE_RANGE),
                         _activation(activation))
        self.seed = _int("seed", seed, 0, 2**31)
        self.steps = STEPS
        self.runs = {}
        self.timings = {}
        self.skipped_ticks = 0
        self._last_tick_end = 0.0
        super().__init__()
        self.ui.add_class("unrolled-rnn")                 # for the browser test
        self.image.add_class("unrolled-rnn-image")

    def _build_controls(self):
        W = self._W
        radius, scale, act = self._initial
        self.radius = W.FloatSlider(value=radius, min=RADIUS_RANGE[0], max=RADIUS_RANGE[1], step=0.05,
                                    description="radius", continuous_update=False)
        self.input_scale = W.FloatLogSlider(value=scale, base=10, min=-2, max=np.log10(SCALE_RANGE[1]), step=0.1,
                                            description="input scale", continuous_update=False)
        self.activation = W.Dropdown(options=list(ACTIVATIONS), value=act, description="activation")
        self.step = W.IntSlider(value=STEPS, min=1, max=STEPS, description="step", continuous_update=True)
        # Play counts on and on; the step it shows goes round the sequence (1 ... STEPS, 1 ...)
        self.play = W.Play(value=0, min=0, max=100000, step=1, interval=PLAY_INTERVAL_MS, description="Play")
        self.next_button = W.Button(description="Next step")
        self.new_sequence = W.Button(description="New sequence")
        for w in (self.radius, self.input_scale, self.activation):
            w.observe(self._on_setting, names="value")
        self.step.observe(self._on_step, names="value")
        self.play.observe(self._on_play, names="value")
        self.next_button.on_click(self._on_next)
        self.new_sequence.on_click(self._on_new)
        self.controls = [W.HBox([self.radius, self.input_scale, self.activation]),
                         W.HBox([self.play, self.step, self.next_button, self.new_sequence])]

    # callbacks: one method each
    def _on_setting(self, change):
        self.refresh()

    def _on_step(self, change):
        self.refresh()

    def _on_play(self, change):
        self.play_tick()

    def _on_new(self, _button):
        self.new()

    def _on_next(self, _button):
        self.next_step()

    # actions
    def config(self) -> tuple:
        return (round(float(self.radius.value), 6), round(float(self.input_scale.value), 6), self.activation.value,
                self.seed)

    def current_run(self) -> RNNRun:
        key = self.config()
        if key not in self.runs:
            self.runs[key] = simulate(*key)
            while len(self.runs) > 64:                       # keep the newest configurations
                self.runs.pop(next(iter(self.runs)))
        return self.runs[key]

    def play_step(self):
        """A Play tick: the next step of the sequence, round and round (the step slider follows
        and redraws through its callback)."""
        step = int(self.play.value) % self.steps + 1
        if self.step.value != step:
            self.step.value = step
        else:
            self.refresh()

    def next_step(self) -> None:
        """One step further along the sequence (after the last step, back to the first)."""
        self.step.value = int(self.step.value) % self.steps + 1   # redraws through the step callback

    def new(self) -> None:
        """A new random sequence and weights (the next seed)."""
        self.seed += 1
        self.refresh()

    def compute(self) -> ViewState:
        self.run = self.current_run()
        self.state = view(self.run, int(self.step.value))
        return self.state

    def refresh(self) -> bytes:
        t0 = time.perf_counter()
        png = super().refresh()
        self.timings["render_s"] = time.perf_counter() - t0
        st = self.state
        fit = f"{st.fitted:.3f}" if np.isfinite(st.fitted) else "–"
        self.status.value = (f"step {st.step} of {self.steps} · fitted factor {fit} per step, predicted "
                             f"{st.predicted:.3f} · sequence {self.seed}")
        return png

    def render(self):
        return render(self.compute())

    def render_png(self):
        return self.frame_png(RNNPicture, self.compute())
