"""Activation lab (notebook 02): f and f', activations layer by layer, dead units, gradients.

Three layers, as every course widget:

1. pure NumPy functions: :func:`init_weights`, :func:`simulate` (forward pass through a
   deep stack of equal-width dense layers and a backward pass of a random upstream
   gradient), :func:`dead_share_per_layer`, :func:`flat_share_per_layer`;
2. :func:`render` (a :class:`LabState` → a matplotlib Figure with four panels), drawn by
   :class:`ActivationPicture`, which the widget keeps and updates in place;
3. :class:`ActivationLab`, a thin :class:`~course_utils.widgets.base.Explorer` whose
   callbacks each call one method.

Example
-------
>>> from course_utils.widgets.activation_lab import ActivationLab
>>> lab = ActivationLab(activation="sigmoid", init="small", depth=10)
>>> lab            # last line of a cell: the widget (or its PNG when run headless)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..scratch.activations import ACTIVATION_NAMES, activation as _activation
from ..scratch.activations import init_weights  # noqa: F401  (the one home of the four schemes)
from ..env import one_blas_thread
from .base import Explorer, TextStamp, split_title, text_width

__all__ = ["INITS", "init_weights", "simulate", "dead_share_per_layer", "flat_share_per_layer",
           "LabState", "ridge_rows", "render", "ActivationPicture", "ActivationLab"]

#: Initialisation schemes: key -> label shown in the dropdown.
INITS = {
    "small": "small normal (σ = 0.01)",
    "large": "large normal (σ = 1)",
    "glorot": "Glorot uniform",
    "he": "He normal",
}

#: The depth slider's maximum (the picture keeps a bar for each of these layers).
MAX_DEPTH = 40

#: Where the derivative is below this share of its peak, a unit is in a "flat" region.
FLAT_FRACTION = 0.01


def _check_int(name: str, v, lo: int, hi: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}: {v!r}")
    if v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be {rng}, got {v}")
    return int(v)


@dataclass
class LabState:
    """Everything :func:`render` draws. Lists have one entry per hidden layer (``depth``).

    z, a : list of ndarray, shape (n_inputs, width)   pre-activations and outputs
    grad_norms : ndarray, shape (depth,)              Frobenius norm of dL/dW of each layer
    dead : ndarray, shape (depth,)                    share of units with f'(z) = 0 for every input
    flat : ndarray, shape (depth,)                    share of (input, unit) pairs with f' <= 1% of its peak
    """
    activation: str
    init: str
    depth: int
    width: int
    bias: float
    seed: int
    z: list = field(default_factory=list)
    a: list = field(default_factory=list)
    grad_norms: np.ndarray | None = None
    dead: np.ndarray | None = None
    flat: np.ndarray | None = None


def dead_share_per_layer(zs, activation: str) -> np.ndarray:
    """Share of dead units in each layer: units whose derivative ``f'(z)`` is 0 for every input.

    No gradient reaches such a unit's incoming weights from any input of the batch. For
    ReLU this is exactly the units whose output is 0 for every input
    (:func:`course_utils.scratch.dead_share` on the outputs).

    Parameters
    ----------
    zs : list of ndarray, each shape (n_inputs, n_units)   pre-activations of each layer
    activation : str                                       one of ``ACTIVATION_NAMES``

    Returns
    -------
    ndarray, shape (len(zs),), values in [0, 1]
    """
    _, df = _activation(activation)
    out = []
    for k, z in enumerate(zs):
        z = np.asarray(z, dtype=np.float64)
        if z.ndim != 2 or z.size == 0:
            raise ValueError(f"zs[{k}] must have shape (n_inputs, n_units) with both > 0, got {z.shape}")
        out.append(float(np.all(df(z) == 0.0, axis=0).mean()))
    return np.array(out)


def _peak_slope(activation: str) -> float:
    _, df = _activation(activation)
    grid = np.linspace(-6.0, 6.0, 1201)
    return float(np.max(np.abs(df(grid))))


def flat_share_per_layer(zs, activation: str, fraction: float = FLAT_FRACTION) -> np.ndarray:
    """Share of (input, unit) pairs in each layer where ``|f'(z)|`` <= ``fraction`` x its peak.

    These pass almost no gradient back: saturated sigmoid/tanh units, or ReLU units on
    their zero side. Returns an ndarray of shape (len(zs),) in [0, 1]; 0 for every layer
    of an activation whose derivative is 0 everywhere would be misleading, so such an
    activation (``step``) counts as flat everywhere (share 1).
    """
    _, df = _activation(activation)
    peak = _peak_slope(activation)
    if peak == 0.0:
        return np.ones(len(zs))
    return np.array([float(np.mean(np.abs(df(np.asarray(z, dtype=np.float64))) <= fraction * peak))
                     for z in zs])


@lru_cache(maxsize=8)
def _draws(init: str, n_layers: int, width: int, n_inputs: int, seed: int):
    """The random inputs, weights and upstream gradient of :func:`simulate`: inputs
    (n_inputs, width) then one (width, width) matrix per layer, in that order from
    ``default_rng(seed)``, so the first ``d`` matrices are the same for every ``n_layers`` >= d
    (a deeper stack only adds layers on top); the gradient (n_inputs, width) comes from a
    stream of its own, ``default_rng([seed, 1])``. They do not depend on the activation or the
    bias, so moving those sliders reuses them (cached, read-only)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_inputs, width))
    Ws = [init_weights(width, width, init, rng) for _ in range(n_layers)]
    g = np.random.default_rng([seed, 1]).standard_normal((n_inputs, width)) / n_inputs
    for arr in (x, *Ws, g):
        arr.setflags(write=False)
    return x, tuple(Ws), g


class _Forward:
    """The forward pass of one setting, kept and extended layer by layer: a deeper stack of
    the same setting computes only its new layers (the depth slider), a shallower one none.
    Holds ``zs``, ``acts`` and the per-layer ``dead`` and ``flat`` shares computed so far."""

    def __init__(self, activation: str, bias: float, x, Ws):
        self.activation, self.bias, self.x, self.Ws = activation, bias, x, Ws
        self.zs, self.acts, self.dead, self.flat = [], [], [], []

    def upto(self, depth: int) -> "_Forward":
        f, _ = _activation(self.activation)
        a = self.acts[-1] if self.acts else self.x
        with np.errstate(over="ignore", invalid="ignore"):
            for W in self.Ws[len(self.zs):depth]:
                z = a @ W + self.bias
                a = f(z)
                z.setflags(write=False)   # kept: shared by every state of this setting
                a.setflags(write=False)
                self.zs.append(z)
                self.acts.append(a)
                self.dead.extend(dead_share_per_layer([z], self.activation))
                self.flat.extend(flat_share_per_layer([z], self.activation))
        return self


_FORWARDS: dict = {}   # the last few settings' forward passes (a few MB each)


def _forward(activation: str, init: str, depth: int, width: int, bias: float, n_inputs: int,
             seed: int) -> _Forward:
    x, Ws, _ = _draws(init, max(depth, MAX_DEPTH), width, n_inputs, seed)
    key = (activation, init, len(Ws), width, float(bias), n_inputs, seed)
    fw = _FORWARDS.pop(key, None) or _Forward(activation, float(bias), x, Ws)
    _FORWARDS[key] = fw   # the newest last
    while len(_FORWARDS) > 3:
        _FORWARDS.pop(next(iter(_FORWARDS)))
    return fw.upto(depth)


def simulate(activation: str = "relu", init: str = "he", depth: int = 10, width: int = 100,
             bias: float = 0.0, n_inputs: int = 256, seed: int = 0) -> LabState:
    """Forward a batch through a deep stack of dense layers, then backward a gradient.

    Inputs are standard-normal, shape (n_inputs, width). Each of the ``depth`` hidden
    layers computes ``z = a_prev @ W + bias`` (W of shape (width, width) drawn with
    ``init``) and ``a = f(z)``. The backward pass starts from a random upstream gradient
    ``dL/da_depth`` (standard normal / n_inputs) and applies the chain rule
    ``delta = g * f'(z)``, ``dL/dW = a_prev.T @ delta``, ``g_prev = delta @ W.T``.
    The same seed gives the same inputs and first layers at every depth (a deeper stack
    adds layers on top), and the forward pass of the last settings is kept.

    Returns
    -------
    LabState with z, a (lists of (n_inputs, width) arrays), grad_norms, dead and flat
    (arrays of shape (depth,)).
    """
    _, df = _activation(activation)
    if init not in INITS:
        raise ValueError(f"init must be one of {list(INITS)}, got {init!r}")
    depth = _check_int("depth", depth, 1, 200)
    width = _check_int("width", width, 1, 4096)
    n_inputs = _check_int("n_inputs", n_inputs, 1, 100_000)
    seed = _check_int("seed", seed, 0)
    if isinstance(bias, bool) or not isinstance(bias, (int, float, np.floating)) or not np.isfinite(bias):
        raise TypeError(f"bias must be a finite number, got {bias!r}")
    fw = _forward(activation, init, depth, width, bias, n_inputs, seed)
    zs, acts, Ws = fw.zs[:depth], fw.acts[:depth], fw.Ws
    g = _draws(init, len(Ws), width, n_inputs, seed)[2]
    with np.errstate(over="ignore", invalid="ignore"):
        norms = np.zeros(depth)
        for k in range(depth - 1, -1, -1):
            delta = g * df(zs[k])
            a_prev = fw.x if k == 0 else acts[k - 1]
            norms[k] = np.linalg.norm(a_prev.T @ delta)
            g = delta @ Ws[k].T
    return LabState(activation=activation, init=init, depth=depth, width=width, bias=float(bias),
                    seed=seed, z=zs, a=acts, grad_norms=norms,
                    dead=np.array(fw.dead[:depth]), flat=np.array(fw.flat[:depth]))


def layer_axis_end(depth: int) -> int:
    """The last layer the per-layer panels' x axes show: 10, 20 or 40 (or ``depth`` beyond),
    so the axes change only when the depth crosses 10 or 20 and the bars fill at least half."""
    return next((end for end in (10, 20, MAX_DEPTH) if depth <= end), depth)


def _layers_to_show(depth: int, k: int = 6) -> list[int]:
    """Up to ``k`` layer indices (0-based), evenly spread, always the first and the last."""
    if depth <= k:
        return list(range(depth))
    return sorted({int(round(v)) for v in np.linspace(0, depth - 1, k)})


def ridge_rows(state: LabState, k: int = 6) -> dict:
    """What the "outputs layer by layer" panel draws: a histogram of each shown layer's outputs.

    Layers: up to ``k`` of them, evenly spread (:func:`_layers_to_show`). The bins (60)
    span the 0.5–99.5 percentile range of the shown layers' finite outputs; each row is
    scaled to its largest bin, or, when one bin dwarfs the others (ReLU's zeros, tanh's ±1:
    more than 3 times any other and more than 10% of the values), to the largest of the
    others, that bin is clipped and its share reported.

    Returns
    -------
    dict with ``layers`` (0-based indices), ``lo``, ``hi`` (the x range), ``bins`` (61,),
    ``centers`` (60,), ``heights`` (one (60,) array per layer, in [0, 0.9]), ``std``
    (per layer) and ``clipped``: per layer ``None`` or ``(bin index, share of the values)``.
    """
    show = _layers_to_show(state.depth, k)
    allv = np.concatenate([state.a[i].ravel() for i in show])
    allv = allv[np.isfinite(allv)]
    lo, hi = (np.percentile(allv, [0.5, 99.5]) if allv.size else (-1.0, 1.0))
    if not hi > lo:
        lo, hi = lo - 1e-3 - abs(lo) * 0.1, hi + 1e-3 + abs(hi) * 0.1
    bins = np.linspace(lo, hi, 61)
    heights, clipped, stds = [], [], []
    for i in show:
        v = state.a[i].ravel()
        h, _ = np.histogram(v[np.isfinite(v)], bins=bins)  # values outside [lo, hi] are left out
        scale = max(h.max(), 1)
        top = int(np.argmax(h))
        rest = np.delete(h, top)
        clip = None
        if h.size > 1 and h[top] > 3 * max(rest.max(), 1) and h[top] > 0.1 * h.sum():
            scale = max(rest.max(), 1)
            clip = (top, float(h[top] / h.sum()))
        heights.append(np.minimum(h / scale, 1.0) * 0.9)
        clipped.append(clip)
        stds.append(float(np.std(state.a[i])))
    return {"layers": show, "lo": float(lo), "hi": float(hi), "bins": bins,
            "centers": 0.5 * (bins[1:] + bins[:-1]), "heights": heights, "std": stds,
            "clipped": clipped}


FIGSIZE = (11, 7.8)


class ActivationPicture:
    """The lab's figure, built once and updated in place (layer 2).

    ``ActivationPicture(fig).update(state)`` draws ``state``. Each panel is a panel of its
    own (:attr:`panels`), rebuilt and redrawn alone when a setting it shows changes: the
    f/f' panel with the activation, the other three (their rows, bars, x axes, labels) with
    the depth. :attr:`live` lists what changes with the data (bias, seed): the histograms and
    their x axis, the bars, the gradient curve and its (log) y axis, the titles.
    :func:`render` is this on a fresh pyplot figure.
    """

    def __init__(self, fig):
        self.fig = fig
        fig.set_size_inches(*FIGSIZE)
        (self.ax_f, self.ax_h), (self.ax_d, self.ax_g) = fig.subplots(2, 2)
        # fixed margins instead of tight_layout, which draws the figure twice (slow in a widget)
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.08, top=0.9, wspace=0.3, hspace=0.38)
        # the figure title, centred as fig.suptitle would: "Activation lab: <settings>," is a
        # panel; " bias ..., seed ..." after it changes with the data
        self.title_start = fig.text(0.5, 0.98, "", ha="right", va="top", fontsize=11)
        self.title_end = fig.text(0.5, 0.98, "", ha="left", va="top", fontsize=11)
        self._keys = {}
        self.live, self.panels = [], {}

    def update(self, state: LabState):
        # the bars (one per layer, up to MAX_DEPTH made once), the row labels and the depth in
        # the title are live; the two per-layer panels' x axes span 10, 20 or 40 layers
        # (:func:`layer_axis_end`), kept with their panel: a depth change redraws a panel only
        # when it crosses 10 or 20 (and pastes it when it comes back)
        keys = {self.ax_f: state.activation,
                self.ax_h: (state.init, len(_layers_to_show(state.depth))),
                self.ax_d: max(MAX_DEPTH, state.depth), self.ax_g: "built",
                self.title_start: (state.activation, state.init, state.width)}
        builders = {self.ax_f: self._build_f, self.ax_h: self._build_h, self.ax_d: self._build_d,
                    self.ax_g: self._build_g, self.title_start: self._build_title}
        for part, key in keys.items():
            if self._keys.get(part) != key:
                builders[part](state)
                self._keys[part] = key
        self._update(state)
        end = layer_axis_end(state.depth)
        self.panels = {**keys, self.ax_d: (keys[self.ax_d], end), self.ax_g: end}
        return None

    def _build_f(self, state: LabState):
        """1. f and f' (depends on the activation only)."""
        ax_f = self.ax_f
        ax_f.cla()
        f, df = _activation(state.activation)
        t = np.linspace(-5, 5, 801)
        ax_f.plot(t, f(t), lw=2, label="$f(z)$")
        ax_f.plot(t, df(t), lw=2, ls="--", label="$f'(z)$")
        peak = _peak_slope(state.activation)
        if peak > 0:
            flat = np.abs(df(t)) <= FLAT_FRACTION * peak
            ax_f.fill_between(t, 0, 1, where=flat, transform=ax_f.get_xaxis_transform(), color="grey",
                              alpha=0.15, label="flat: $f'$ ≤ 1% of its peak")
        ax_f.axhline(0, color="k", lw=0.5)
        ax_f.axvline(0, color="k", lw=0.5)
        ax_f.set_xlabel("z (pre-activation)")
        ax_f.set_title(f"{state.activation}: function and derivative")
        ax_f.legend(loc="upper left", fontsize=9)
        ax_f.grid(alpha=0.3)

    def _build_h(self, state: LabState):
        """2. histograms of the outputs, layer by layer (ridge plot): rows and labels stay,
        the histograms, their x axis and each row's std change with the data."""
        import matplotlib.pyplot as plt
        from matplotlib.transforms import offset_copy
        ax_h = self.ax_h
        ax_h.cla()
        show = _layers_to_show(state.depth)
        ax_h.set_yticks(range(len(show)), [""] * len(show))
        # where a tick label goes: left of the tick (3.5 pt) and its pad (3.5 pt)
        trans = offset_copy(ax_h.get_yaxis_transform(), fig=self.fig, x=-7.0, units="points")
        self.row_texts, self.row_layers = [], []
        for row in range(len(show)):
            # a two-line tick label: "layer k" (changes with the depth only: pasted, not drawn,
            # while it stays) over "std ..." (changes with the data)
            self.row_layers.append(TextStamp(ax_h.text(0, row, "", transform=trans, ha="right", va="bottom",
                                                       fontsize=8)))
            self.row_texts.append(ax_h.text(0, row, "", transform=trans, ha="right", va="top", fontsize=8))
        ax_h.set_ylim(-0.1, len(show))
        ax_h.text(0.5, -0.115, "f(z), 0.5–99.5 percentile range; each row scaled to its bulk,\n"
                  "a taller bin cut off, with its share of the outputs in red",
                  transform=ax_h.transAxes, ha="center", va="top")
        ax_h.set_title(f"outputs layer by layer ({INITS[state.init]})")
        ax_h.xaxis.set_label_coords(0.5, -0.1)  # a fixed place: no measuring of the tick labels
        cmap = plt.get_cmap("viridis")
        self.fills, self.notes = [], []
        zero = np.zeros(60)
        for row in range(len(show)):
            colour = cmap(row / max(len(show) - 1, 1))
            self.fills.append(ax_h.fill_between(np.arange(60.0), row, row + zero, step="mid", color=colour,
                                                alpha=0.75))
            # the share of a clipped bin (ReLU's zeros, tanh's ±1), shown when there is one
            self.notes.append(ax_h.text(0, row + 0.55, "", va="center", fontsize=8, color="tab:red",
                                        bbox=dict(fc="white", ec="none", alpha=0.8, pad=0.8)))

    def _build_d(self, state: LabState):
        """3. dead and flat shares per layer."""
        from matplotlib.ticker import MaxNLocator
        ax_d = self.ax_d
        ax_d.cla()
        n = max(MAX_DEPTH, state.depth)
        ax_d.set_axisbelow(True)  # the grid behind the bars
        # a bar for every layer the slider can reach; those beyond the depth are hidden
        self.bars = ax_d.bar(np.arange(1, n + 1), np.zeros(n), color="tab:red", alpha=0.75,
                             label="dead units ($f'=0$ for every input)")
        (self.flat_line,) = ax_d.plot([], [], "o-", color="tab:grey", ms=3,
                                      label="activations in a flat region ($f'$ ≤ 1% of its peak)")
        ax_d.set_ylim(0, 135)  # the legend sits above the 100% line
        ax_d.set_yticks(range(0, 101, 20))
        ax_d.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))  # few labels: drawn each frame
        # the x axis is live (it follows the depth): its label is a fixed text of the
        # background instead, drawn once, where set_xlabel would put it
        ax_d.text(0.5, -0.1, "layer", transform=ax_d.transAxes, ha="center", va="top")
        ax_d.set_ylabel("share (%)")
        # the title's words are drawn with the panel, its number each frame (split_title)
        _, self.dead_value = split_title(ax_d, 1.03, "dead units, share of all hidden units:", " 57.5%", 12)
        ax_d.legend(loc="upper left", fontsize=9)
        ax_d.grid(alpha=0.3, axis="y")

    def _build_g(self, state: LabState):
        """4. gradient norm per layer (log scale): the y axis follows the data."""
        from matplotlib.ticker import MaxNLocator
        ax_g = self.ax_g
        ax_g.cla()
        (self.grad_line,) = ax_g.plot([], [], "o-", ms=4)
        self.grad_note = ax_g.text(0.5, 0.5, "", transform=ax_g.transAxes, ha="center", color="tab:red")
        ax_g.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        ax_g.text(0.5, -0.1, "layer (1 = closest to the input)", transform=ax_g.transAxes, ha="center",
                  va="top")
        # the y axis is live (it follows the data): its label is a fixed text of the background,
        # left of the widest tick labels ("0.005", "1e+02")
        ax_g.text(-0.13, 0.5, "gradient norm (log)", transform=ax_g.transAxes, rotation=90, ha="center",
                  va="center")
        ax_g.grid(alpha=0.3, which="both")
        _, self.ratio_value = split_title(ax_g, 1.03, "‖∂L/∂W‖ per layer: first / last =", " 2.1e-13", 12)

    def _build_title(self, state: LabState):
        fig = self.fig
        start = f"Activation lab: {state.activation}, {INITS[state.init]}, width {state.width},"
        split = 0.5 + (text_width(start, 11) - text_width(" depth 10, bias +0.00, seed 0", 11)) / 2 \
            / (fig.get_figwidth() * 72)
        self.title_start.set_text(start)
        self.title_start.set_x(split)
        self.title_end.set_x(split)

    def _update(self, state: LabState):
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        ax_h, ax_d, ax_g = self.ax_h, self.ax_d, self.ax_g
        # 2. ridge
        r = ridge_rows(state)
        centers, bins = r["centers"], r["bins"]
        for row, hh in enumerate(r["heights"]):
            self.fills[row].set_data(centers, row, row + hh)
            clip, note = r["clipped"][row], self.notes[row]
            note.set_visible(clip is not None)
            if clip is not None:
                top, share = clip
                left = top < len(hh) / 2
                # short (each glyph costs about 0.1 ms a frame): the caption says what it is
                note.set_text(f"{100 * share:.0f}%")
                note.set_x(centers[min(top + 2, len(hh) - 1)] if left else centers[max(top - 2, 0)])
                note.set_horizontalalignment("left" if left else "right")
            self.row_layers[row].text.set_text(f"layer {r['layers'][row] + 1}")
            self.row_texts[row].set_text(f"std {r['std'][row]:.2g}")
        ax_h.set_xlim(r["lo"], r["hi"])

        # 3. dead and flat shares
        layers = np.arange(1, state.depth + 1)
        for i, bar in enumerate(self.bars):
            bar.set_visible(i < state.depth)
            bar.set_height(100 * state.dead[i] if i < state.depth else 0.0)
        self.flat_line.set_data(layers, 100 * state.flat)
        ax_d.set_xlim(0.4, layer_axis_end(state.depth) + 0.6)
        self.dead_value.set_text(f" {100 * state.dead.mean():.1f}%")

        # 4. gradient norms
        ax_g.set_xlim(0.4, layer_axis_end(state.depth) + 0.6)
        g = state.grad_norms
        pos = np.isfinite(g) & (g > 0)
        if pos.any():
            ax_g.set_yscale("log")  # also puts back the default log ticks
            self.grad_line.set_data(layers[pos], g[pos])
            glo, ghi = g[pos].min(), g[pos].max()
            ax_g.set_ylim(glo / 4.0, ghi * 4.0)  # spans more than a decade
            if ghi / glo < 100:  # few decades: ticks at 1, 2, 5 x 10^k with plain numbers
                ax_g.yaxis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
                ax_g.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.2g}"))
                ax_g.yaxis.set_minor_formatter(NullFormatter())
            ratio = g[0] / g[-1] if g[-1] > 0 and np.isfinite(g[0]) else float("nan")
            self.ratio_value.set_text(f" {ratio:.2g}")
        else:
            ax_g.set_yscale("linear")
            self.grad_line.set_data([], [])
            ax_g.set_ylim(0, 1)
            self.ratio_value.set_text(" –")
        self.grad_note.set_text(f"gradient exactly 0 (or overflowed) in {int((~pos).sum())} layer(s)"
                                if (~pos).any() else "")

        self.title_end.set_text(f" depth {state.depth}, bias {state.bias:+.2f}, seed {state.seed}")
        # in the order of a full draw: collections (zorder 1) before texts (3); ax_d's axes
        # below its bars (set_axisbelow)
        self.live = [*self.fills, ax_h.xaxis, *self.notes, *self.row_layers, *self.row_texts,
                     *self.bars, self.flat_line, *ax_d.spines.values(), self.dead_value,
                     ax_g.yaxis, self.grad_line, *ax_g.spines.values(), self.grad_note,
                     self.ratio_value, self.title_end]


def render(state: LabState):
    """Draw a :class:`LabState`: f and f'; activation histograms by layer; dead/flat shares;
    gradient norm per layer. Returns a matplotlib Figure (the caller closes it)."""
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=FIGSIZE)
    ActivationPicture(fig).update(state)
    return fig


class ActivationLab(Explorer):
    """Widget: choose an activation, an initialisation, the depth and the initial bias.

    Attributes after each change: ``state`` (a :class:`LabState`) and ``png`` (the picture).
    Controls: ``activation``, ``init`` (dropdowns), ``depth`` (slider), ``bias`` (slider),
    ``resample`` (button: new random weights and inputs).
    """

    def __init__(self, activation: str = "relu", init: str = "he", depth: int = 10,
                 bias: float = 0.0, width: int = 100, n_inputs: int = 256, seed: int = 0):
        if activation not in ACTIVATION_NAMES:
            raise ValueError(f"activation must be one of {ACTIVATION_NAMES}, got {activation!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {list(INITS)}, got {init!r}")
        self._initial = dict(activation=activation, init=init, depth=_check_int("depth", depth, 1, MAX_DEPTH),
                             bias=float(bias))
        self.width = _check_int("width", width, 1, 4096)
        self.n_inputs = _check_int("n_inputs", n_inputs, 1, 100_000)
        self.seed = _check_int("seed", seed, 0)
        self.state = None
        super().__init__()

    def _build_controls(self):
        W = self._W
        i = self._initial
        self.activation = W.Dropdown(options=list(ACTIVATION_NAMES), value=i["activation"],
                                     description="activation")
        self.init = W.Dropdown(options=[(label, key) for key, label in INITS.items()], value=i["init"],
                               description="init")
        self.depth = W.IntSlider(value=i["depth"], min=1, max=MAX_DEPTH, description="depth")
        self.bias = W.FloatSlider(value=i["bias"], min=-1.0, max=1.0, step=0.05, description="bias")
        self.resample = W.Button(description="new random weights")
        for w in (self.activation, self.init, self.depth, self.bias):
            w.observe(self._on_change, names="value")
        self.resample.on_click(self._on_resample)
        self.controls = [W.HBox([self.activation, self.init]), W.HBox([self.depth, self.bias]),
                         self.resample]

    # callbacks: one method each
    def _on_change(self, change):
        self.update()

    def _on_resample(self, button):
        self.new_weights()

    # actions
    def new_weights(self):
        """Draw new weights and inputs (next seed) and redraw."""
        self.seed += 1
        self.update()

    def update(self):
        """Recompute the state from the controls and redraw."""
        self.refresh()

    def _simulate(self) -> LabState:
        with one_blas_thread():
            self.state = simulate(self.activation.value, self.init.value, self.depth.value, self.width,
                                  self.bias.value, self.n_inputs, self.seed)
        s = self.state
        self.status.value = (f"dead units {100 * s.dead.mean():.1f}% · flat activations "
                             f"{100 * s.flat.mean():.1f}% · last-layer output std {np.std(s.a[-1]):.3g}")
        return s

    def render(self):
        return render(self._simulate())

    def render_png(self):
        return self.frame_png(ActivationPicture, self._simulate())
