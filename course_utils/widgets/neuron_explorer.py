"""Neuron explorer (notebook 01): a threshold neuron's decision line over real 2-D data.

Sliders set the weights ``w1, w2`` and the bias ``b`` of one neuron; the plane is shaded
by its output (the step's two regions, or the sigmoid's graded value), the line
``w1·x1 + w2·x2 + b = 0`` and the weight vector ``w`` (normal to the line) are drawn over
two features of a real dataset, and misclassified points are ringed in red and counted.
"Perceptron epoch" applies one pass of the perceptron rule to the sliders; "reset" puts
the starting weights back.

Three layers (CONVENTIONS.md, "Widgets"):

- pure functions: :func:`load_problem`, :func:`count_errors`, :func:`output_grid`,
  :func:`epoch_step`, :func:`fit_in_range` (NumPy only)
- :func:`render` ``(state) -> Figure``, drawn by :class:`NeuronPicture`, which the widget keeps
  and updates in place (only the shading and what lies over it are redrawn on a slider move)
- :class:`NeuronExplorer`, the ipywidgets front end

Real datasets are standardised per feature (mean 0, standard deviation 1) so the same
slider range suits every feature pair; the logic gates keep their 0/1 inputs.

>>> from course_utils.widgets.neuron_explorer import NeuronExplorer
>>> explorer = NeuronExplorer()
>>> explorer        # the last line of a cell displays it
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..scratch import neurons as N
from .base import Explorer

__all__ = ["PROBLEMS", "Problem", "NeuronState", "load_problem", "count_errors", "output_grid",
           "epoch_step", "fit_in_range", "render", "NeuronPicture", "NeuronExplorer", "WEIGHT_RANGE"]

WEIGHT_RANGE = 6.0  # sliders go from -WEIGHT_RANGE to +WEIGHT_RANGE
DEFAULT_W = (-1.0, 1.0)
DEFAULT_B = 0.5
CLASS_COLORS = ("#1f77b4", "#ff7f0e")

# name -> (dataset, the two classes (negative, positive), default x feature, default y feature)
PROBLEMS = {
    "iris: setosa vs versicolor": ("iris", (0, 1), "sepal length (cm)", "petal length (cm)"),
    "iris: versicolor vs virginica": ("iris", (1, 2), "petal length (cm)", "petal width (cm)"),
    "breast cancer: malignant vs benign": ("breast_cancer", (0, 1), "mean radius", "mean texture"),
    "logic: AND": ("AND", (0, 1), "x1", "x2"),
    "logic: OR": ("OR", (0, 1), "x1", "x2"),
    "logic: XOR": ("XOR", (0, 1), "x1", "x2"),
}


@dataclass
class Problem:
    """Two features of two classes, ready for a neuron.

    Attributes
    ----------
    name : key of :data:`PROBLEMS`
    X : ndarray, shape (n, 2), float64 (standardised for real datasets)
    y : ndarray, shape (n,), int64 labels 0/1 (1 = the second class of the pair)
    feature_names : all features the x/y dropdowns may choose from
    fx, fy : the two features in X
    class_names : (name of class 0, name of class 1)
    standardized : whether X holds z-scores
    """
    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: list
    fx: str
    fy: str
    class_names: tuple
    standardized: bool


@lru_cache(maxsize=4)
def _raw(dataset: str):
    from .. import data
    ds = data.load(dataset, verbose=False)
    return ds.X, ds.y, list(ds.feature_names), list(ds.target_names)


def load_problem(name: str, fx: str | None = None, fy: str | None = None) -> Problem:
    """Build the 2-D, two-class problem ``name`` with features ``fx`` (x axis) and ``fy`` (y axis).

    Parameters
    ----------
    name : a key of :data:`PROBLEMS`
    fx, fy : feature names of that dataset (default: the problem's default pair)

    Returns
    -------
    :class:`Problem` with X of shape (n, 2) and y of shape (n,)
    """
    if name not in PROBLEMS:
        raise ValueError(f"name must be one of {list(PROBLEMS)}, got {name!r}")
    dataset, (c0, c1), dx, dy = PROBLEMS[name]
    fx, fy = fx or dx, fy or dy
    if dataset.isupper():  # a logic gate: fixed 0/1 inputs
        if (fx, fy) != ("x1", "x2"):
            raise ValueError(f"a logic gate has the features ('x1', 'x2') only, got {(fx, fy)}")
        X, y = N.gate_data(dataset)
        return Problem(name, X, y, ["x1", "x2"], "x1", "x2", ("0", "1"), False)
    X, y, features, targets = _raw(dataset)
    for arg, f in (("fx", fx), ("fy", fy)):
        if f not in features:
            raise ValueError(f"{arg} must be a feature of {dataset}: one of {features}, got {f!r}")
    if fx == fy:
        raise ValueError(f"fx and fy must be two different features, got {fx!r} twice")
    keep = np.isin(y, (c0, c1))
    cols = [features.index(fx), features.index(fy)]
    Xp = X[keep][:, cols].astype(np.float64)
    Xp = (Xp - Xp.mean(axis=0)) / Xp.std(axis=0)
    yp = (y[keep] == c1).astype(np.int64)
    return Problem(name, Xp, yp, features, fx, fy, (targets[c0], targets[c1]), True)


def count_errors(X, y, w, b) -> tuple[int, np.ndarray]:
    """Misclassified points of the threshold neuron ``(w, b)``.

    X: (n, 2), y: (n,) 0/1. Returns ``(count, mask)`` with ``mask`` of shape (n,), bool.
    """
    wrong = N.perceptron_predict(X, w, b) != np.asarray(y)
    return int(wrong.sum()), wrong


def output_grid(w, b, activation: str, xlim, ylim, resolution: int = 120):
    """The neuron's output over a grid: ``xx, yy, out``, each of shape (resolution, resolution).

    ``activation`` is ``"step"`` (values 0/1) or ``"sigmoid"`` (values in (0, 1)).
    """
    if activation not in ("step", "sigmoid"):
        raise ValueError(f"activation must be 'step' or 'sigmoid', got {activation!r}")
    xx, yy = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    out = N.neuron(np.c_[xx.ravel(), yy.ravel()], w, b, activation)
    return xx, yy, out.reshape(xx.shape)


def fit_in_range(w, b, limit: float = WEIGHT_RANGE):
    """Scale ``(w, b)`` down by one positive factor so every entry fits in ``[-limit, limit]``.

    The decision line ``w · x + b = 0`` (and so every step prediction) does not change.
    Returns ``(w, b, factor)``; ``factor`` is 1.0 when nothing had to change.
    """
    w = np.asarray(w, dtype=np.float64)
    big = max(float(np.max(np.abs(w))), abs(float(b)))
    if big <= limit:
        return w.copy(), float(b), 1.0
    f = limit / big
    return w * f, float(b) * f, f


def epoch_step(X, y, w, b, lr: float):
    """One epoch of the perceptron rule (rows in order), kept inside the slider range.

    Returns ``(w, b, mistakes, factor)``: the new weights, the updates made in the epoch and
    the rescaling factor applied by :func:`fit_in_range` (1.0: none).
    """
    w, b, mistakes = N.perceptron_epoch(X, y, w, b, lr=lr)
    w, b, factor = fit_in_range(w, b)
    return w, b, mistakes, factor


@dataclass
class NeuronState:
    """What the explorer shows: a problem, the neuron's weights and the training history."""
    problem: Problem
    w: np.ndarray = field(default_factory=lambda: np.array(DEFAULT_W))
    b: float = DEFAULT_B
    activation: str = "step"
    lr: float = 0.1
    errors_history: list = field(default_factory=list)  # errors after each perceptron epoch
    epochs: int = 0
    note: str = ""


def _formula(w, b) -> str:
    """``"1.00·x1 − 0.50·x2 + 0.25"``: the weighted sum with readable signs."""
    parts = f"{w[0]:.2f}·x1"
    for v, name in ((w[1], "·x2"), (b, "")):
        parts += f" {'−' if v < 0 else '+'} {abs(v):.2f}{name}"
    return parts.replace("-", "−")


def _limits(X, pad=0.6):
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


FIGSIZE = (9.6, 4.6)


class NeuronPicture:
    """The explorer's figure, built once per problem and updated in place (layer 2).

    ``NeuronPicture(fig).update(state)`` draws ``state`` into ``fig`` and returns the key of
    the parts that only change with the problem and the training history (axes, limits,
    labels, legend, the history panel); :attr:`live` lists what a change of weights or output
    redraws (the shading and everything over it, the titles). :func:`render` is this on a
    fresh pyplot figure; the widget keeps one in a :class:`~course_utils.widgets.base.Frame`.
    """

    def __init__(self, fig):
        self.fig = fig
        fig.set_size_inches(*FIGSIZE)
        self._layout = None
        self.live = []

    def update(self, state: NeuronState):
        p = state.problem
        layout = (p.name, p.fx, p.fy)
        if layout != self._layout:
            self.fig.clear()
            self._build(state)
            self._layout = layout
            self._history = None
        if tuple(state.errors_history) != self._history:
            self._history = tuple(state.errors_history)
            self._draw_history(state)
        self._update(state)
        # the history panel is redrawn alone when a perceptron epoch adds a point
        self.panels = {self.axh: (layout, self._history)}
        return layout

    def _build(self, state: NeuronState):
        from matplotlib.colors import LinearSegmentedColormap
        from matplotlib.lines import Line2D

        fig, p = self.fig, state.problem
        X, y = p.X, p.y
        ax, axh = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.45, 1]})
        self.ax, self.axh = ax, axh
        self.xlim, self.ylim = _limits(X, pad=0.6 if p.standardized else 0.4)
        xlim, ylim = self.xlim, self.ylim
        cmap = LinearSegmentedColormap.from_list("neuron", ["#c6dbef", "#fdd0a2"])
        self.image = ax.imshow(np.zeros((2, 2)), origin="lower", extent=(*xlim, *ylim), cmap=cmap,
                               vmin=0, vmax=1, interpolation="nearest", aspect="auto")
        self.points = []
        for k in (0, 1):
            m = y == k
            self.points.append(ax.scatter(X[m, 0], X[m, 1], s=22 if len(y) > 20 else 70, c=CLASS_COLORS[k],
                                          edgecolors="k", linewidths=0.4,
                                          label=f"{p.class_names[k]} (y={k})", zorder=3))
        self.rings = ax.scatter(X[:0, 0], X[:0, 1], s=110 if len(y) > 20 else 260, facecolors="none",
                                edgecolors="red", linewidths=1.6, zorder=4)
        self.message = ax.text(0.5, 0.5, "w = 0 or the line is outside the view:\nevery point gets the "
                               "same output", transform=ax.transAxes, ha="center", va="center",
                               fontsize=9, bbox=dict(fc="white", alpha=0.85))
        (self.line,) = ax.plot([], [], "k-", lw=2, zorder=5)
        # w drawn from the point of the line closest to the middle of the view: it is normal to the line
        self.arrow = ax.annotate("", xy=(0, 0), xytext=(0, 0), zorder=6,
                                 arrowprops=dict(arrowstyle="-|>", color="k", lw=1.8))
        self.w_label = ax.text(0, 0, "w", fontsize=11, fontweight="bold", ha="center", va="center",
                               zorder=6)
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        ax.set_aspect("equal")  # so that w looks perpendicular to the line
        if p.standardized:
            ax.set_xlabel(f"$x_1$ = {p.fx} (standardised)", fontsize=10)
            ax.set_ylabel(f"$x_2$ = {p.fy} (standardised)", fontsize=10)
        else:
            ax.set_xlabel("$x_1$")
            ax.set_ylabel("$x_2$")
        ax.set_title(" \n ", fontsize=10.5)
        handles = list(self.points)
        handles += [Line2D([], [], color="k", lw=2, label="z = 0 (decision line)"),
                    Line2D([], [], marker="o", ls="", mfc="none", mec="red", ms=9, label="misclassified"),
                    Line2D([], [], marker="s", ls="", mfc="#fdd0a2", mec="none", ms=9,
                           label="output 1 (step) / σ(z) → 1"),
                    Line2D([], [], marker="s", ls="", mfc="#c6dbef", mec="none", ms=9,
                           label="output 0 (step) / σ(z) → 0")]
        # below the panels, so it never hides a point
        fig.legend(handles=handles, fontsize=9, loc="lower center", ncol=3, frameon=False)

        # fixed margins: tight_layout would measure every text each time and double the drawing time
        fig.subplots_adjust(left=0.08, right=0.98, bottom=0.22, top=0.88, wspace=0.32)

    def _draw_history(self, state: NeuronState):
        from matplotlib.ticker import MaxNLocator
        axh, hist = self.axh, state.errors_history
        axh.cla()
        if hist:
            epochs = np.arange(1, len(hist) + 1)
            axh.plot(epochs, hist, "o-", ms=4, color="C3")
            axh.set_xlim(0.5, max(len(hist), 5) + 0.5)
            axh.set_ylim(-0.5, max(max(hist), 1) * 1.15 + 0.5)
            axh.axhline(0, color="k", lw=0.6)
        else:
            axh.text(0.5, 0.5, "click 'perceptron epoch'\nto train from the current weights",
                     ha="center", va="center", transform=axh.transAxes, fontsize=9)
            axh.set_xlim(0.5, 5.5)
            axh.set_ylim(-0.5, len(state.problem.y) * 0.5 + 0.5)
        axh.set_xlabel("perceptron epoch")
        axh.set_ylabel("misclassified points after the epoch")
        axh.set_title(" ", fontsize=10.5)
        axh.grid(alpha=0.3)
        axh.xaxis.set_major_locator(MaxNLocator(integer=True))
        axh.yaxis.set_major_locator(MaxNLocator(integer=True))
        # in drawing order: the shading, then everything drawn over it; the titles
        ax = self.ax
        self.live = [self.image, *ax.spines.values(), *self.points, self.rings, self.message, self.line,
                     self.arrow, self.w_label, ax.title, axh.title]

    def _update(self, state: NeuronState):
        p = state.problem
        X, y, w, b = p.X, p.y, np.asarray(state.w, dtype=float), float(state.b)
        xlim, ylim = self.xlim, self.ylim
        n_err, wrong = count_errors(X, y, w, b)
        _, _, out = output_grid(w, b, state.activation, xlim, ylim)
        self.image.set_data(out)
        self.rings.set_offsets(X[wrong] if n_err else np.zeros((0, 2)))
        seg = N.line_segment(w, b, xlim, ylim)
        self.message.set_visible(seg is None)
        for a in (self.line, self.arrow, self.w_label):
            a.set_visible(seg is not None)
        if seg is not None:
            self.line.set_data(*seg)
            mid = np.array([np.mean(xlim), np.mean(ylim)])
            foot = mid - (w @ mid + b) / (w @ w) * w
            span = 0.18 * min(xlim[1] - xlim[0], ylim[1] - ylim[0])
            arrow = w / np.linalg.norm(w) * span
            self.arrow.xy = tuple(foot + arrow)
            self.arrow.set_position(tuple(foot))
            self.w_label.set_position(tuple(foot + 1.15 * arrow))
        self.ax.set_title(f"{p.name}\nz = {_formula(w, b)}   errors: {n_err} / {len(y)}",
                          fontsize=10.5, color="red" if n_err else "darkgreen")
        self.axh.set_title(f"activation: {state.activation},  lr = {state.lr:g}", fontsize=10.5)


def render(state: NeuronState):
    """Draw the state: shaded output, decision line, w arrow, errors; and the error history."""
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=FIGSIZE)
    NeuronPicture(fig).update(state)
    return fig


class NeuronExplorer(Explorer):
    """Weights and bias of one neuron → its decision line over real data, with the perceptron rule.

    Parameters
    ----------
    problem : a key of :data:`PROBLEMS` (default: iris setosa vs versicolor)
    activation : "step" or "sigmoid" (the shading of the plane)
    """

    layout = "vertical"

    def __init__(self, problem: str = "iris: setosa vs versicolor", activation: str = "step"):
        if activation not in ("step", "sigmoid"):
            raise ValueError(f"activation must be 'step' or 'sigmoid', got {activation!r}")
        self.state = NeuronState(problem=load_problem(problem), activation=activation)
        self._syncing = False
        super().__init__()
        self._update_status()

    # -- controls --------------------------------------------------------------------
    def _build_controls(self):
        W = self._W
        p = self.state.problem
        self.dataset = W.Dropdown(options=list(PROBLEMS), value=p.name, description="data")
        self.feature_x = W.Dropdown(options=p.feature_names, value=p.fx, description="x1")
        self.feature_y = W.Dropdown(options=p.feature_names, value=p.fy, description="x2")
        kw = dict(min=-WEIGHT_RANGE, max=WEIGHT_RANGE, step=0.01, readout_format=".2f",
                  continuous_update=False)
        self.w1 = W.FloatSlider(value=float(self.state.w[0]), description="w1", **kw)
        self.w2 = W.FloatSlider(value=float(self.state.w[1]), description="w2", **kw)
        self.b = W.FloatSlider(value=float(self.state.b), description="b", **kw)
        self.activation = W.ToggleButtons(options=["step", "sigmoid"], value=self.state.activation,
                                          description="output")
        self.lr = W.FloatLogSlider(value=self.state.lr, base=10, min=-2, max=0, step=0.25,
                                   description="lr", continuous_update=False)
        self.step_button = W.Button(description="perceptron epoch", button_style="primary",
                                    tooltip="apply one pass of the perceptron rule to the sliders")
        self.reset_button = W.Button(description="reset", tooltip="starting weights, clear the history")
        self._set_feature_enabled()

        self.dataset.observe(self._on_dataset, names="value")
        self.feature_x.observe(self._on_features, names="value")
        self.feature_y.observe(self._on_features, names="value")
        for s in (self.w1, self.w2, self.b):
            s.observe(self._on_weights, names="value")
        self.activation.observe(self._on_activation, names="value")
        self.lr.observe(self._on_lr, names="value")
        self.step_button.on_click(self._on_step)
        self.reset_button.on_click(self._on_reset)
        self.controls = [
            W.HBox([self.dataset, self.feature_x, self.feature_y]),
            W.HBox([self.w1, self.w2, self.b]),
            W.HBox([self.activation, self.lr]),
            W.HBox([self.step_button, self.reset_button]),
        ]

    def render(self):
        return render(self.state)

    def render_png(self):
        return self.frame_png(NeuronPicture, self.state)

    # -- callbacks: one method each ----------------------------------------------------
    def _on_dataset(self, change):
        self.set_problem(change["new"])

    def _on_features(self, change):
        self.set_features(self.feature_x.value, self.feature_y.value)

    def _on_weights(self, change):
        if not self._syncing:
            self.set_weights(self.w1.value, self.w2.value, self.b.value)

    def _on_activation(self, change):
        self.set_activation(change["new"])

    def _on_lr(self, change):
        self.set_lr(change["new"])

    def _on_step(self, _button):
        self.perceptron_epoch()

    def _on_reset(self, _button):
        self.reset()

    # -- actions -------------------------------------------------------------------------
    def set_problem(self, name: str):
        """Switch dataset (default features); keeps the weights, clears the history."""
        problem = load_problem(name)
        self.state.problem = problem
        self.state.errors_history, self.state.epochs, self.state.note = [], 0, ""
        self._syncing = True  # the dropdowns change together: refresh once at the end
        try:
            self.feature_x.options = problem.feature_names
            self.feature_y.options = problem.feature_names
            self.feature_x.value, self.feature_y.value = problem.fx, problem.fy
        finally:
            self._syncing = False
        self._set_feature_enabled()
        self._redraw()

    def set_features(self, fx: str, fy: str):
        """Choose the two features; the same feature twice is refused with a message."""
        if self._syncing:
            return
        if fx == fy:
            self.state.note = "choose two different features"
            self._update_status()
            return
        self.state.problem = load_problem(self.state.problem.name, fx, fy)
        self.state.errors_history, self.state.epochs, self.state.note = [], 0, ""
        self._redraw()

    def set_weights(self, w1: float, w2: float, b: float):
        self.state.w = np.array([float(w1), float(w2)])
        self.state.b = float(b)
        self.state.note = ""
        self._redraw()

    def set_activation(self, activation: str):
        self.state.activation = activation
        self._redraw()

    def set_lr(self, lr: float):
        self.state.lr = float(lr)
        self._redraw()

    def perceptron_epoch(self):
        """Apply one epoch of the perceptron rule to the current weights and move the sliders."""
        p = self.state.problem
        w, b, mistakes, factor = epoch_step(p.X, p.y, self.state.w, self.state.b, self.state.lr)
        self.state.w, self.state.b = w, b
        self.state.epochs += 1
        self.state.errors_history.append(count_errors(p.X, p.y, w, b)[0])
        self.state.note = (f"epoch {self.state.epochs}: {mistakes} update(s)"
                           + ("; converged (no update)" if mistakes == 0 else "")
                           + (f"; w and b scaled by {factor:.2f} to stay on the sliders "
                              "(the line does not move)" if factor < 1 else ""))
        self._sync_sliders()
        self._redraw()

    def reset(self):
        """Starting weights, step output, no history."""
        self.state.w, self.state.b = np.array(DEFAULT_W), DEFAULT_B
        self.state.errors_history, self.state.epochs, self.state.note = [], 0, "reset"
        self._sync_sliders()
        self._redraw()

    # -- helpers -------------------------------------------------------------------------
    @property
    def errors(self) -> int:
        """Misclassified points of the current neuron."""
        p = self.state.problem
        return count_errors(p.X, p.y, self.state.w, self.state.b)[0]

    def _sync_sliders(self):
        self._syncing = True
        try:
            self.w1.value, self.w2.value, self.b.value = (float(self.state.w[0]), float(self.state.w[1]),
                                                          float(self.state.b))
        finally:
            self._syncing = False

    def _set_feature_enabled(self):
        gate = not self.state.problem.standardized
        self.feature_x.disabled = gate
        self.feature_y.disabled = gate

    def _redraw(self):
        self.refresh()
        self._update_status()

    def _update_status(self):
        p, w, b = self.state.problem, self.state.w, self.state.b
        n_err = self.errors
        norm = float(np.linalg.norm(w))
        dist = f"{abs(b) / norm:.2f}" if norm > 0 else "—"
        color = "red" if n_err else "green"
        self.status.value = (
            f"<b style='color:{color}'>{n_err} of {len(p.y)} points misclassified</b> &nbsp; "
            f"|w| = {norm:.2f}, distance of the line from the origin |b|/|w| = {dist}"
            + (f"<br>{self.state.note}" if self.state.note else ""))
