"""Descent explorer (notebook 04): batch, mini-batch and stochastic gradient descent side by side.

Three layers (CONVENTIONS.md, "Widgets"):

1. pure functions: :func:`make_surface` (a small dataset and a 2-parameter model whose loss
   over ``theta = (w, b)`` is drawn as contours) and :func:`simulate` (the three runs with the
   same start, learning rate and budget of examples seen, using
   :func:`course_utils.scratch.minibatch_sgd`);
2. :func:`render` ``(state, runs) -> Figure``: three contour panels with the paths, and
   the loss against epochs (its axes span the whole budget, so they stay put while the epochs
   are revealed); drawn by :class:`DescentPicture`, which the widget keeps and updates in place;
3. :class:`DescentExplorer`, a thin widget: every callback calls one method.

Surfaces
--------
``diabetes``   linear regression of disease progression (/100) on body-mass index, sklearn's
               diabetes data (442 patients): x = (BMI - 20 kg/m^2) / 5. Convex, elongated.
``synthetic``  linear regression on y = 3x + 2 + noise, x ~ N(1, 1) (the notebook's problem).
``sine``       fitting y_hat = sin(w x + b) to noisy sine data: non-convex, with local minima.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable

import numpy as np

from .. import scratch
from .base import Explorer

__all__ = ["SURFACES", "Surface", "make_surface", "State", "simulate", "render", "DescentPicture",
           "DescentExplorer", "RUN_NAMES"]

SURFACES = ("diabetes", "synthetic", "sine")
RUN_NAMES = ("batch", "mini-batch", "stochastic")
_COLORS = {"batch": "tab:blue", "mini-batch": "tab:orange", "stochastic": "tab:green"}


# --------------------------------------------------------------------------- layer 1: pure functions

@dataclass(frozen=True)
class Surface:
    """A 2-parameter problem: data, loss-and-gradient, where to start and what to draw.

    Attributes
    ----------
    name, title : str
    X : ndarray, shape (n, 1); y : ndarray, shape (n,)
    loss_grad : callable ``(theta (2,), X, y) -> (mean loss, grad (2,))``
    grid_loss : callable ``(W, B) -> loss`` on arrays of the same shape (for the contours)
    start : ndarray, shape (2,)       the same start for every run
    wlim, blim : (float, float)       the drawn window
    theta_star : ndarray, shape (2,)  the global minimum (least squares, or a fine grid search)
    minima : ndarray, shape (m, 2)    every global minimum in the window (sin has two, by symmetry)
    loss_star : float
    lr : float                         a sensible default learning rate
    convex : bool
    """
    name: str
    title: str
    X: np.ndarray
    y: np.ndarray
    loss_grad: Callable
    grid_loss: Callable
    start: np.ndarray
    wlim: tuple
    blim: tuple
    theta_star: np.ndarray
    loss_star: float
    lr: float
    convex: bool
    minima: np.ndarray = None

    @property
    def n(self) -> int:
        return len(self.y)


def _sine_loss_grad(theta, X, y):
    """MSE of ``y_hat = sin(w x + b)`` and its gradient; theta = (w, b), X (n, 1)."""
    w, b = float(theta[0]), float(theta[1])
    x = X[:, 0]
    z = w * x + b
    err = np.sin(z) - y
    c = 2.0 * err * np.cos(z)
    return float(np.mean(err ** 2)), np.array([np.mean(c * x), np.mean(c)])


def _linear_grid_loss(x, y):
    # mean((w x + b - y)^2) expanded in the data's moments: exact and O(1) per grid point
    m = dict(xx=np.mean(x * x), x=np.mean(x), xy=np.mean(x * y), y=np.mean(y), yy=np.mean(y * y))

    def f(W, B):
        return (W ** 2 * m["xx"] + 2 * W * B * m["x"] + B ** 2 - 2 * W * m["xy"] - 2 * B * m["y"]
                + m["yy"])
    return f


@lru_cache(maxsize=None)
def make_surface(name: str) -> Surface:
    """Build one of :data:`SURFACES` (cached: the data are fixed)."""
    if name not in SURFACES:
        raise ValueError(f"surface must be one of {SURFACES}, got {name!r}")
    if name in ("diabetes", "synthetic"):
        if name == "diabetes":
            from sklearn.datasets import load_diabetes
            d = load_diabetes(scaled=False)
            x = (d.data[:, 2] - 20.0) / 5.0          # BMI above 20 kg/m^2, in units of 5 kg/m^2
            y = d.target / 100.0                     # disease progression, in hundreds
            title = "diabetes: progression ~ w·BMI + b (442 patients)"
            start, wlim, blim, lr = np.array([-1.0, 2.6]), (-1.6, 2.4), (-1.2, 3.2), 0.05
        else:
            rng = np.random.default_rng(0)
            x = rng.normal(1.0, 1.0, 300)
            y = 3.0 * x + 2.0 + rng.normal(0.0, 1.0, 300)
            title = "synthetic: y = 3x + 2 + noise (300 points)"
            start, wlim, blim, lr = np.array([-1.5, -2.5]), (-2.5, 5.5), (-3.5, 5.0), 0.05
        X = x[:, None]
        star = scratch.least_squares(X, y)
        return Surface(name, title, X, y, scratch.linreg_loss_grad, _linear_grid_loss(x, y), start,
                       wlim, blim, star, scratch.linreg_loss_grad(star, X, y)[0], lr, True, star[None])
    rng = np.random.default_rng(1)
    x = rng.uniform(-3.0, 3.0, 200)
    y = np.sin(1.2 * x + 0.5) + rng.normal(0.0, 0.3, 200)
    X = x[:, None]
    wlim, blim = (-3.6, 3.0), (-2.0, 3.5)

    def grid_loss(W, B):
        W, B = np.asarray(W, dtype=float), np.asarray(B, dtype=float)
        z = W[..., None] * x + B[..., None]
        return np.mean((np.sin(z) - y) ** 2, axis=-1)
    # global minimum: a fine grid, then batch GD from the best grid point
    gw, gb = np.meshgrid(np.linspace(*wlim, 241), np.linspace(*blim, 221))
    L = grid_loss(gw, gb)
    i = np.unravel_index(np.argmin(L), L.shape)
    run = scratch.minibatch_sgd(_sine_loss_grad, np.array([gw[i], gb[i]]), X, y, lr=0.1,
                                batch_size=len(y), epochs=300)
    star = run.theta
    # sin(w x + b) = sin(-w x + (pi - b)): the mirror point is an equally good minimum
    twin = np.array([-star[0], np.pi - star[1]])
    minima = np.array([p for p in (star, twin)
                       if wlim[0] <= p[0] <= wlim[1] and blim[0] <= p[1] <= blim[1]])
    return Surface(name, "sine fit: y ≈ sin(w·x + b), non-convex: local minima (200 points)", X, y,
                   _sine_loss_grad, grid_loss, np.array([-2.2, 0.8]), wlim, blim, star,
                   _sine_loss_grad(star, X, y)[0], 0.1, False, minima)


@dataclass(frozen=True)
class State:
    """Everything the picture depends on.

    surface : one of SURFACES; lr : float > 0; batch_size : the mini-batch size (>= 2);
    epochs : the budget, in passes over the data (>= 1); seed : shuffling seed;
    schedule : "constant" or "1/t" (lr0 / (1 + decay * epochs done)); decay : per epoch;
    shown : how many epochs of the budget are drawn (0..epochs; the "step" control).
    """
    surface: str = "diabetes"
    lr: float = 0.05
    batch_size: int = 16
    epochs: int = 10
    seed: int = 0
    schedule: str = "constant"
    decay: float = 1.0
    shown: int = 10

    def validate(self) -> "State":
        if self.surface not in SURFACES:
            raise ValueError(f"surface must be one of {SURFACES}, got {self.surface!r}")
        if not (isinstance(self.lr, (int, float)) and np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        for nm in ("batch_size", "epochs"):
            v = getattr(self, nm)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{nm} must be an int >= 1, got {v!r}")
        if self.schedule not in ("constant", "1/t"):
            raise ValueError(f"schedule must be 'constant' or '1/t', got {self.schedule!r}")
        if not 0 <= self.shown <= self.epochs:
            raise ValueError(f"shown must be in 0..epochs={self.epochs}, got {self.shown!r}")
        return self


def _lr_fn(state: State, batch_size: int, n: int):
    if state.schedule == "constant":
        return state.lr
    per_step = state.decay * batch_size / n   # decay per epoch, whatever the batch size

    def lr(t):
        return scratch.inverse_time_lr(state.lr, t, per_step)
    return lr


def simulate(state: State) -> dict:
    """Run batch, mini-batch and stochastic descent from the same start on the same budget.

    Returns ``{"batch": DescentRun, "mini-batch": DescentRun, "stochastic": DescentRun}``
    with paths recorded (``run.path``: (steps + 1, 2)) and the full-data loss recorded
    8 times per epoch. Every run sees ``state.epochs * N`` examples (unless it diverged).
    """
    state.validate()
    s = make_surface(state.surface)
    sizes = {"batch": s.n, "mini-batch": min(int(state.batch_size), s.n), "stochastic": 1}
    every = max(1, s.n // 8)
    runs = {}
    for name, b in sizes.items():
        if b <= FLOAT_LOOP_MAX_BATCH:  # many small steps: the same run, in plain floats
            runs[name] = _float_run(s, _lr_fn(state, b, s.n), b, int(state.epochs), state.seed,
                                    every, diverge_at=1e6)
            continue
        runs[name] = scratch.minibatch_sgd(s.loss_grad, s.start, s.X, s.y, lr=_lr_fn(state, b, s.n),
                                           batch_size=b, epochs=int(state.epochs), seed=state.seed,
                                           eval_every=every, record_path=True, diverge_at=1e6)
    return runs


#: batch sizes up to this run in :func:`_float_run`: per-example float arithmetic costs the same
#: for every batch size, NumPy's per-call overhead grows with the number of steps
FLOAT_LOOP_MAX_BATCH = 32


def _float_run(s: Surface, lr, batch_size: int, epochs: int, seed: int, every: int,
               diverge_at: float):
    """``scratch.minibatch_sgd(..., record_path=True)`` on a 2-parameter surface, step for step
    the same run (same shuffles, batches, checkpoints and divergence rule; tested), with the
    gradient summed in Python floats instead of NumPy calls on tiny arrays: with batch size 1
    (4,420 steps by default) about 15 times faster, which keeps a learning-rate change under
    100 ms. Sums differ from NumPy's in the last bits, which only a chaotic run (the sine
    surface at a large learning rate) makes visible."""
    import math
    n, xs, ys = s.n, s.X[:, 0].tolist(), s.y.tolist()
    sine = s.loss_grad is _sine_loss_grad
    lr_fn = lr if callable(lr) else (lambda t, c=float(lr): c)
    rng = np.random.default_rng(seed)
    w, b = float(s.start[0]), float(s.start[1])
    path, lrs = [(w, b)], []
    seen_l, loss_l = [0], [float(s.loss_grad(s.start, s.X, s.y)[0])]
    seen, next_eval, diverged = 0, every, False
    for _ in range(epochs):
        order = rng.permutation(n).tolist()
        for lo in range(0, n, batch_size):
            batch = order[lo:lo + batch_size]
            gw = gb = 0.0
            for i in batch:
                x = xs[i]
                if sine:
                    z = w * x + b
                    c = 2.0 * (math.sin(z) - ys[i]) * math.cos(z) if math.isfinite(z) else math.nan
                else:
                    c = 2.0 * (w * x + b - ys[i])
                gw += c * x
                gb += c
            eta = float(lr_fn(len(lrs)))
            w, b = w - eta * gw / len(batch), b - eta * gb / len(batch)
            lrs.append(eta)
            seen += len(batch)
            path.append((w, b))
            if not (math.isfinite(w) and math.isfinite(b)):
                diverged = True
            if seen >= next_eval or diverged:
                with np.errstate(over="ignore", invalid="ignore"):
                    cur = float(s.loss_grad(np.array([w, b]), s.X, s.y)[0])
                seen_l.append(seen)
                loss_l.append(cur)
                next_eval = (seen // every + 1) * every
                if not math.isfinite(cur) or cur > diverge_at:
                    diverged = True
            if diverged:
                break
        if diverged:
            break
    if not diverged and seen_l[-1] != seen:
        seen_l.append(seen)
        loss_l.append(float(s.loss_grad(np.array([w, b]), s.X, s.y)[0]))
    return scratch.DescentRun(theta=np.array([w, b]), steps=len(lrs),
                              seen=np.asarray(seen_l, dtype=np.int64), loss=np.asarray(loss_l),
                              path=np.asarray(path), lrs=np.asarray(lrs), diverged=diverged,
                              batch_size=min(batch_size, n), n_samples=n)


def shown_steps(run, epochs_shown: float) -> int:
    """Number of updates ``run`` made in its first ``epochs_shown`` epochs (capped at its steps).

    An epoch is ``ceil(N / B)`` updates, the last on a partial batch.
    """
    per_epoch = scratch.iterations_per_epoch(run.n_samples, run.batch_size)
    return int(min(run.steps, np.floor(epochs_shown * per_epoch + 1e-9)))


def first_epochs(run, epochs: int, surface: Surface):
    """What ``run`` did in its first ``epochs`` epochs: the run a budget of ``epochs`` makes.

    A run's first epochs do not depend on its budget (the same shuffles, steps, learning
    rates and checkpoints), so a longer run cut short equals the shorter run (tested), down
    to its last checkpoint: the loss at the end of the budget, added if no checkpoint falls
    there. A run that diverged within the budget is returned as it is.
    """
    limit = int(epochs) * run.n_samples
    if run.diverged and run.seen[-1] <= limit:
        return run
    k = min(run.steps, int(epochs) * scratch.iterations_per_epoch(run.n_samples, run.batch_size))
    keep = run.seen <= limit
    seen, loss = run.seen[keep], run.loss[keep]
    theta = run.path[k].copy()
    if seen[-1] != limit:
        seen = np.append(seen, limit)
        loss = np.append(loss, float(surface.loss_grad(theta, surface.X, surface.y)[0]))
    return scratch.DescentRun(theta=theta, steps=k, seen=seen, loss=loss, path=run.path[:k + 1],
                              lrs=run.lrs[:k], diverged=False, batch_size=run.batch_size,
                              n_samples=run.n_samples)


# --------------------------------------------------------------------------- layer 2: render

FIGSIZE = (15, 4.4)


class DescentPicture:
    """The explorer's figure, built once per surface and updated in place (layer 2).

    ``DescentPicture(fig).update(state, runs)`` draws the runs and returns the key of what
    only changes with the surface (the three contour panels, the loss panel's y axis, labels
    and grid); everything else is :attr:`live`, drawn over that each frame: paths, markers,
    titles, the loss curves and the loss panel's x axis (which spans the budget), so a new
    learning rate, mini-batch size or budget, and a step of "epochs shown", redraw no axes.
    """

    def __init__(self, fig):
        self.fig = fig
        fig.set_size_inches(*FIGSIZE)
        self._surface = self._epochs = None
        self.live, self.panels, self.sprites = [], {}, []

    def update(self, state: State, runs: dict):
        state.validate()
        if state.surface != self._surface:
            self.fig.clear()
            self._build(state)
            self._build_loss(state)
            self._surface, self._epochs = state.surface, None
        if state.epochs != self._epochs:
            self.axes[3].set_xlim(0, state.epochs)
            self._epochs = state.epochs
        self._update(state, runs)
        # the loss panel's y axis, labels and grid stay for a surface: its x axis (it follows
        # the budget), curves, title and legend are drawn over them each frame, so neither a new
        # learning rate nor a new budget redraws the panel
        self.panels = {}
        self.sprites = self.path_sprites + [self.loss_legend]
        return state.surface

    def _build(self, state: State):
        from matplotlib.colors import LogNorm

        fig, s = self.fig, make_surface(state.surface)
        self.axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [1, 1, 1, 1.25]})
        # fixed margins instead of tight_layout (which costs more than all the drawing)
        fig.subplots_adjust(left=0.04, right=0.99, bottom=0.13, top=0.80, wspace=0.28)
        W, B, Z = _background(state.surface)
        levels = np.geomspace(Z.min(), Z.max(), 14)
        norm = LogNorm(Z.min(), Z.max())
        self.paths, self.dots, self.now = {}, {}, {}
        self.live_paths, self.path_sprites = [], []
        for ax, name in zip(self.axes[:3], RUN_NAMES):
            ax.imshow(Z, extent=(*s.wlim, *s.blim), origin="lower", aspect="auto", cmap="viridis_r",
                      norm=norm, alpha=0.55, interpolation="bilinear")
            ax.contour(W, B, Z, levels=levels, colors="k", linewidths=0.3, alpha=0.5)
            (self.paths[name],) = ax.plot([], [], "-", color=_COLORS[name], alpha=0.9,
                                          lw=0.8 if name == "stochastic" else 1.3)
            (self.dots[name],) = ax.plot([], [], "o", color=_COLORS[name], ms=2.5)
            start = ax.plot(*s.start, "ko", ms=6, label="start")[0]
            minima = ax.plot(s.minima[:, 0], s.minima[:, 1], "r*", ms=13, mec="w", ls="none",
                             label="global minimum")[0]
            (self.now[name],) = ax.plot([], [], "s", color=_COLORS[name], mec="k", ms=6, label="now")
            ax.set_xlim(s.wlim)
            ax.set_ylim(s.blim)
            ax.set_xlabel("w")
            ax.set_ylabel("b")
            ax.set_title(" \n ", fontsize=10.5)
            # the path moves; the markers, spines, title (and legend) are drawn over it
            self.live_paths.append([self.paths[name], self.dots[name], start, minima, self.now[name],
                                    *ax.spines.values(), ax.title])
            self.path_sprites += [start, minima]  # they never move: blended in from a kept layer
        self.legend = self.axes[0].legend(loc="lower left", fontsize=8.5, framealpha=0.8)
        self.live_paths[0].append(self.legend)
        self.path_sprites.append(self.legend)
        self.suptitle = fig.suptitle(s.title, fontsize=12.5)

    def _build_loss(self, state: State):
        """The loss panel's axes, once per surface: a log scale whose range is fixed by the
        start's loss (every run starts there), so it stays put while settings change and the
        epochs are revealed; a diverging run leaves through the top."""
        from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

        ax = self.axes[3]
        ax.set_yscale("log")
        ax.set_ylim(*_excess_loss_range(state.surface))
        # plain-text tick labels: mathtext (10^{-3}) layout costs more than the whole plot
        ax.yaxis.set_major_locator(LogLocator(base=10, numticks=8))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0e}"))
        ax.yaxis.set_minor_locator(NullLocator())  # dozens of unlabelled ticks: layout for nothing
        # the x axis is live (it follows the budget): its label is a fixed text of the
        # background instead, where set_xlabel would put it
        ax.text(0.5, -0.1, "epochs = examples seen / N (same budget for all)", transform=ax.transAxes,
                ha="center", va="top")
        ax.set_ylabel("loss − global minimum loss")
        ax.grid(alpha=0.3)
        self.curves = {}
        for name in RUN_NAMES:
            (self.curves[name],) = ax.plot([], [], "-", color=_COLORS[name],
                                           drawstyle="steps-post" if name == "batch" else "default")
        ax.set_title(" ", fontsize=10.5)
        # the same legend for every setting (the mini-batch size is in the title): curves
        # start at the top left and fall to the right, so the lower left stays clear
        labels = {"batch": f"batch (B = N = {make_surface(state.surface).n})",
                  "mini-batch": "mini-batch (B in the title)", "stochastic": "stochastic (B = 1)"}
        self.loss_legend = ax.legend(list(self.curves.values()), [labels[n] for n in RUN_NAMES],
                                     loc="lower left", fontsize=9)

    def _update(self, state: State, runs: dict):
        s = make_surface(state.surface)
        for ax, name in zip(self.axes[:3], RUN_NAMES):
            run = runs[name]
            k = shown_steps(run, state.shown)
            p = run.path[:k + 1]
            self.paths[name].set_data(p[:, 0], p[:, 1])
            self.dots[name].set_data(p[:, 0], p[:, 1])
            self.dots[name].set_visible(len(p) <= 60)
            last = p[-1] if np.all(np.isfinite(p[-1])) else np.full(2, np.nan)
            self.now[name].set_data([last[0]], [last[1]])
            per_epoch = scratch.iterations_per_epoch(s.n, run.batch_size)
            note = " · DIVERGED: lower the lr" if run.diverged and k >= run.steps else ""
            ax.set_title(f"{name} (B={run.batch_size})\n{k} of {per_epoch * state.epochs} steps{note}",
                         fontsize=10.5, color="red" if note else "black")
        lo = _excess_loss_range(state.surface)[0]
        for name in RUN_NAMES:
            run = runs[name]
            m = run.epochs <= state.shown + 1e-9
            self.curves[name].set_data(run.epochs[m], np.clip(run.loss[m] - s.loss_star, lo, None))
        ax = self.axes[3]
        sched = "constant lr" if state.schedule == "constant" else f"lr = {state.lr:g}/(1 + {state.decay:g}·epoch)"
        ax.title.set_text(f"lr {state.lr:g}, {sched}, mini-batch B={runs['mini-batch'].batch_size}, "
                          f"seed {state.seed}")
        from .base import in_draw_order
        self.live = [a for ax, group in zip(self.axes, self.live_paths) for a in in_draw_order(ax, group)]
        self.live += in_draw_order(ax, [ax.xaxis, *self.curves.values(), *ax.spines.values(), ax.title,
                                        self.loss_legend])


@lru_cache(maxsize=8)
def _excess_loss_range(name: str) -> tuple[float, float]:
    """(bottom, top) of the loss panel for a surface: from 1e-7 of the start's excess loss
    (runs that get closer touch the bottom) to 30 times it (a run that diverges leaves
    through the top)."""
    s = make_surface(name)
    start = s.loss_grad(s.start, s.X, s.y)[0] - s.loss_star
    return start * 1e-7, start * 30.0


def render(state: State, runs: dict | None = None):
    """Figure: three contour panels (batch, mini-batch, SGD paths) and the loss vs epochs."""
    import matplotlib.pyplot as plt
    state.validate()
    runs = simulate(state) if runs is None else runs
    fig = plt.figure(figsize=FIGSIZE)
    DescentPicture(fig).update(state, runs)
    return fig


@lru_cache(maxsize=8)
def _background(name: str):
    """Grid (W, B) of the window and the excess loss Z = L - L* + 1e-3 on it (cached)."""
    s = make_surface(name)
    W, B = np.meshgrid(np.linspace(*s.wlim, 80), np.linspace(*s.blim, 80))
    Z = s.grid_loss(W, B) - s.loss_star + 1e-3
    return W, B, Z


# --------------------------------------------------------------------------- layer 3: the widget

class DescentExplorer(Explorer):
    """Batch vs mini-batch vs stochastic descent on a 2-D loss surface.

    Controls: surface, learning rate, mini-batch size, budget (epochs), schedule, seed;
    "Step" shows one more epoch, "Play" animates the budget, "Reset" goes back to epoch 0.
    Nothing is trained while the picture is drawn: a change of settings re-runs the three
    descents once (NumPy, well under a second) and the step controls only reveal them.

    >>> explorer = DescentExplorer()
    >>> explorer            # last line of a cell: shows the controls and the picture
    """

    def __init__(self, state: State | None = None):
        self.state = (state or State()).validate()
        self.runs = simulate(self.state)
        super().__init__()

    # -- controls ------------------------------------------------------------------
    def _build_controls(self):
        W, s = self._W, self.state
        style = {"description_width": "110px"}
        self.surface = W.Dropdown(options=list(SURFACES), value=s.surface, description="surface",
                                  style=style)
        self.lr = W.FloatLogSlider(value=s.lr, base=10, min=-3, max=0.5, step=0.05,
                                   description="learning rate", readout_format=".3g", style=style)
        self.batch = W.Dropdown(options=[2, 4, 8, 16, 32, 64, 128], value=s.batch_size,
                                description="mini-batch size", style=style)
        self.epochs = W.IntSlider(value=s.epochs, min=1, max=40, description="budget (epochs)",
                                  style=style)
        self.schedule = W.ToggleButtons(options=["constant", "1/t"], value=s.schedule,
                                        description="schedule", style=style)
        self.seed = W.IntSlider(value=s.seed, min=0, max=20, description="seed", style=style)
        self.step_button = W.Button(description="Step (+1 epoch)")
        self.reset_button = W.Button(description="Reset (epoch 0)")
        self.play = W.Play(value=s.shown, min=0, max=s.epochs, step=1, interval=600,
                           description="run")
        self.progress = W.IntSlider(value=s.shown, min=0, max=s.epochs, description="epochs shown",
                                    style=style)
        W.link((self.play, "value"), (self.progress, "value"))  # kernel-side link: tests see it too

        on = self._unless_muted
        self.surface.observe(on(lambda ch: self.set_surface(ch["new"])), names="value")
        self.lr.observe(on(lambda ch: self.update(lr=float(ch["new"]))), names="value")
        self.batch.observe(on(lambda ch: self.update(batch_size=int(ch["new"]))), names="value")
        self.epochs.observe(on(lambda ch: self.set_budget(int(ch["new"]))), names="value")
        self.schedule.observe(on(lambda ch: self.update(schedule=ch["new"])), names="value")
        self.seed.observe(on(lambda ch: self.update(seed=int(ch["new"]))), names="value")
        self.progress.observe(on(lambda ch: self.show(int(ch["new"]))), names="value")
        self.step_button.on_click(lambda _: self.step())
        self.reset_button.on_click(lambda _: self.show(0))
        self.controls = [
            W.HBox([self.surface, self.lr, self.batch]),
            W.HBox([self.epochs, self.schedule, self.seed]),
            W.HBox([self.step_button, self.reset_button, self.play, self.progress]),
        ]

    # -- one method per callback -----------------------------------------------------
    def update(self, **changes):
        """Change settings (not the surface or budget), re-run the three descents and redraw."""
        self.state = replace(self.state, **changes).validate()
        self.runs = simulate(self.state)
        self.refresh()

    def set_surface(self, name: str):
        """Switch surface and use its default learning rate."""
        surface = make_surface(name)
        self.state = replace(self.state, surface=name, lr=surface.lr).validate()
        with self._quiet():
            self.lr.value = surface.lr
        self.update()

    def set_budget(self, epochs: int):
        """Change the budget; the whole budget is shown.

        The runs of the largest budget the slider allows are made once per setting and kept:
        a budget's runs are their first epochs (:func:`first_epochs`), so moving the budget
        slider re-runs nothing after its first move.
        """
        self.state = replace(self.state, epochs=int(epochs), shown=int(epochs)).validate()
        with self._quiet():
            self.play.max = self.progress.max = int(epochs)
            self.progress.value = self.play.value = int(epochs)
        longest = replace(self.state, epochs=self.epochs.max, shown=self.epochs.max)
        if getattr(self, "_longest", (None,))[0] != longest:
            self._longest = (longest, simulate(longest))
        surface = make_surface(self.state.surface)
        self.runs = {name: first_epochs(run, self.state.epochs, surface)
                     for name, run in self._longest[1].items()}
        self.refresh()

    def show(self, epochs_shown: int):
        """Draw the first ``epochs_shown`` epochs of the runs (no re-run)."""
        shown = int(min(max(epochs_shown, 0), self.state.epochs))
        self.state = replace(self.state, shown=shown)
        if self.progress.value != shown:
            with self._quiet():
                self.progress.value = shown
        self.refresh()

    def step(self):
        """Show one more epoch (from the end, start over at epoch 1)."""
        nxt = self.state.shown + 1 if self.state.shown < self.state.epochs else 1
        self.show(nxt)

    # -- helpers ----------------------------------------------------------------------
    def _quiet(self):
        """Context manager: change control values without triggering their callbacks."""
        explorer = self

        class _Q:
            def __enter__(self_):
                explorer._muted = True

            def __exit__(self_, *exc):
                explorer._muted = False
        return _Q()

    def _unless_muted(self, callback):
        def guarded(change):
            if not getattr(self, "_muted", False):
                callback(change)
        return guarded

    def refresh(self):
        png = super().refresh()
        s, runs = self.state, self.runs
        surface = make_surface(s.surface)
        rows = []
        for name in RUN_NAMES:
            r = runs[name]
            k = shown_steps(r, s.shown)
            theta = r.path[k]
            d = np.linalg.norm(theta - surface.theta_star)
            rows.append(f"<b>{name}</b> B={r.batch_size}: {k} steps, distance to minimum "
                        f"{d:.3g}" + (" <span style='color:red'>diverged</span>" if r.diverged else ""))
        self.status.value = " &nbsp;|&nbsp; ".join(rows)
        return png

    def render(self):
        return render(self.state, self.runs)

    def render_png(self):
        return self.frame_png(DescentPicture, self.state, self.runs)
