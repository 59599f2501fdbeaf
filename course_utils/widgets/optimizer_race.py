"""Widget 4, the optimizer race: SGD, momentum, RMSprop and Adam on 2-D loss surfaces.

Each racer is a real ``keras.optimizers`` object updating a ``keras.Variable`` that holds
a 2-D point; the gradient comes from the surface's closed-form derivative. The race can
be re-run with ``cu.scratch.ScratchOptimizer`` (:meth:`Race.scratch_paths`) to check
that the two give the same path.

Three layers:

- pure: :data:`SURFACES` (value, gradient, view), :func:`make_keras_optimizer`,
  :func:`make_scratch_optimizer`, :class:`Race` (Keras, no ipywidgets);
- :func:`render` ``(race) -> Figure``: paths on contours, and ``f - f_min`` per step, drawn by
  :class:`RacePicture`, which the widget keeps and updates in place (a step redraws the paths
  and the loss-gap panel, not the contours);
- :class:`OptimizerRace`, the thin widget (``Explorer``) whose callbacks call one method each.

Example
-------
>>> race = Race("rosenbrock", start=(-1.5, 1.5))
>>> race.step(100)
>>> race.paths["Adam"].shape      # (101, 2): the start, then one row per step
>>> cu.widgets.optimizer_race.OptimizerRace()      # in a notebook: the interactive race
"""
from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .base import Explorer

__all__ = ["Surface", "SURFACES", "RACERS", "COLORS", "make_keras_optimizer",
           "make_scratch_optimizer", "Race", "render", "RacePicture", "OptimizerRace"]

RACERS = ("SGD", "Momentum", "RMSprop", "Adam")
COLORS = {"SGD": "#1f77b4", "Momentum": "#ff7f0e", "RMSprop": "#2ca02c", "Adam": "#d62728"}
DIVERGED = 1e3  # a racer farther than this from the origin has diverged and stops


# --------------------------------------------------------------------------- surfaces

@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface: value, gradient, the view and good defaults for the race.

    ``f(x, y)`` works on arrays of any (equal) shape; ``grad(w)`` takes ``w`` of shape (2,)
    and returns the gradient, shape (2,).
    """
    key: str
    title: str
    formula: str
    f: Callable
    grad_xy: Callable
    xlim: tuple
    ylim: tuple
    minima: tuple
    f_min: float
    start: tuple
    lr_sgd: float
    lr_adaptive: float

    def grad(self, w) -> np.ndarray:
        """Gradient at ``w`` (shape (2,)) as a float64 array of shape (2,)."""
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (2,):
            raise ValueError(f"w must be a 2-D point of shape (2,), got shape {w.shape}")
        return np.asarray(self.grad_xy(w[0], w[1]), dtype=np.float64)

    def value(self, w) -> float:
        """``f`` at the point ``w`` (shape (2,))."""
        w = np.asarray(w, dtype=np.float64)
        return float(self.f(w[..., 0], w[..., 1]))


def _rosenbrock(x, y):
    return (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2


def _rosenbrock_grad(x, y):
    return (-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x))


def _bowl(x, y):
    return 0.05 * x * x + 5.0 * y * y


def _bowl_grad(x, y):
    return (0.1 * x, 10.0 * y)


def _saddle(x, y):
    return 0.5 * x * x + 0.1 * (0.25 * y ** 4 - 0.5 * y * y)


def _saddle_grad(x, y):
    return (x, 0.1 * (y ** 3 - y))


SURFACES: dict[str, Surface] = {
    "rosenbrock": Surface("rosenbrock", "Rosenbrock (curved valley)",
                          "f = (1 − x)² + 100 (y − x²)²", _rosenbrock, _rosenbrock_grad,
                          (-2.0, 2.0), (-1.0, 3.0), ((1.0, 1.0),), 0.0, (-1.5, 1.5), 1e-3, 0.1),
    "bowl": Surface("bowl", "Stretched bowl (condition number 100)", "f = 0.05 x² + 5 y²",
                    _bowl, _bowl_grad, (-3.0, 3.0), (-2.0, 2.0), ((0.0, 0.0),), 0.0, (-2.5, 1.5),
                    0.15, 0.1),
    "saddle": Surface("saddle", "Saddle at (0, 0), minima at (0, ±1)",
                      "f = x²/2 + 0.1 (y⁴/4 − y²/2)", _saddle, _saddle_grad,
                      (-2.5, 2.5), (-1.6, 1.6), ((0.0, 1.0), (0.0, -1.0)), -0.025, (-2.0, 0.05),
                      0.1, 0.05),
}


def _surface(surface) -> Surface:
    if isinstance(surface, Surface):
        return surface
    if surface not in SURFACES:
        raise ValueError(f"surface must be one of {sorted(SURFACES)}, got {surface!r}")
    return SURFACES[surface]


@functools.lru_cache(maxsize=8)
def _grid(key: str, n: int = 120):
    s = SURFACES[key]
    xx, yy = np.meshgrid(np.linspace(*s.xlim, n), np.linspace(*s.ylim, n))
    return xx, yy, s.f(xx, yy) - s.f_min


# --------------------------------------------------------------------------- optimizers

def _hyper(lr_sgd, lr_adaptive, momentum):
    for name, v in (("lr_sgd", lr_sgd), ("lr_adaptive", lr_adaptive)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (v > 0 and math.isfinite(v)):
            raise ValueError(f"{name} must be a positive number, got {v!r}")
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")


def make_keras_optimizer(name: str, lr_sgd: float, lr_adaptive: float, momentum: float = 0.9):
    """The Keras optimizer of racer ``name`` (one of :data:`RACERS`).

    SGD and Momentum use ``lr_sgd`` (Momentum with ``momentum``); RMSprop (rho 0.9) and
    Adam (beta_1 0.9, beta_2 0.999) use ``lr_adaptive``; epsilon is Keras' default 1e-7.
    """
    import keras
    _hyper(lr_sgd, lr_adaptive, momentum)
    if name == "SGD":
        return keras.optimizers.SGD(learning_rate=lr_sgd)
    if name == "Momentum":
        return keras.optimizers.SGD(learning_rate=lr_sgd, momentum=momentum)
    if name == "RMSprop":
        return keras.optimizers.RMSprop(learning_rate=lr_adaptive, rho=0.9, epsilon=1e-7)
    if name == "Adam":
        return keras.optimizers.Adam(learning_rate=lr_adaptive, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    raise ValueError(f"name must be one of {RACERS}, got {name!r}")


def make_scratch_optimizer(name: str, lr_sgd: float, lr_adaptive: float, momentum: float = 0.9):
    """The ``cu.scratch.ScratchOptimizer`` with the same settings as :func:`make_keras_optimizer`."""
    from ..scratch import ScratchOptimizer
    _hyper(lr_sgd, lr_adaptive, momentum)
    kind = {"SGD": "sgd", "Momentum": "momentum", "RMSprop": "rmsprop", "Adam": "adam"}.get(name)
    if kind is None:
        raise ValueError(f"name must be one of {RACERS}, got {name!r}")
    lr = lr_sgd if name in ("SGD", "Momentum") else lr_adaptive
    return ScratchOptimizer(kind, lr, momentum=momentum, rho=0.9, beta_1=0.9, beta_2=0.999,
                            epsilon=1e-7)


# --------------------------------------------------------------------------- the race

class _DropRetracingWarning:
    """logging filter: TensorFlow counts traces across tf.functions made at one place in the
    code and warns about "retracing" after five; each race traces its own small function once,
    which is expected here, so that one warning is dropped (nothing else is)."""

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def _quiet_retracing():
    import logging
    logger = logging.getLogger("tensorflow")
    flt = _DropRetracingWarning()
    logger.addFilter(flt)
    try:
        yield
    finally:
        logger.removeFilter(flt)


class Race:
    """Four Keras optimizers, each moving its own ``keras.Variable`` (a 2-D point) downhill.

    Parameters
    ----------
    surface : str or Surface         one of :data:`SURFACES`
    start : (x, y) or None           the common start (default: the surface's)
    lr_sgd, lr_adaptive : float > 0  rates of SGD/Momentum and of RMSprop/Adam (default: the surface's)
    momentum : float in [0, 1)       of the Momentum racer

    Attributes
    ----------
    paths : dict racer -> ndarray (steps + 1, 2);  losses : dict racer -> ndarray (steps + 1,)
    steps : int, updates done;  diverged : dict racer -> bool (stopped once |w| > 1e3)
    """

    def __init__(self, surface="rosenbrock", start=None, lr_sgd=None, lr_adaptive=None,
                 momentum: float = 0.9):
        import keras
        self.surface = _surface(surface)
        s = self.surface
        start = s.start if start is None else start
        start = np.asarray(start, dtype=np.float64)
        if start.shape != (2,) or not np.all(np.isfinite(start)):
            raise ValueError(f"start must be a finite point (x, y), got {start!r}")
        self.start = start
        self.lr_sgd = s.lr_sgd if lr_sgd is None else lr_sgd
        self.lr_adaptive = s.lr_adaptive if lr_adaptive is None else lr_adaptive
        self.momentum = momentum
        _hyper(self.lr_sgd, self.lr_adaptive, momentum)
        self.optimizers = {n: make_keras_optimizer(n, self.lr_sgd, self.lr_adaptive, momentum)
                           for n in RACERS}
        # float64: the 2-D point is cheap and the comparison with the scratch path stays exact
        self.variables = {n: keras.Variable(start, dtype="float64", name=f"point_{n}") for n in RACERS}
        for n in RACERS:  # create the optimizer slots eagerly, outside any trace
            self.optimizers[n].build([self.variables[n]])
        self._compiled = None
        self._paths = {n: [start.copy()] for n in RACERS}
        self.diverged = {n: False for n in RACERS}
        self.steps = 0

    def _update_fn(self, n_steps: int):
        """``G -> W``: apply row ``i`` of ``G`` (shape (4, 2)) to racer ``i``; return the 4 new points.

        Every update is the racer's own ``optimizer.apply``. For chunks of 10 steps or more on
        TensorFlow the four applies are traced once per race into one ``tf.function`` (one
        call per step instead of eight eager ones: several times faster on a CPU); a few
        steps run eagerly, which is cheaper than a trace.
        """
        import keras
        opts = [self.optimizers[n] for n in RACERS]
        vars_ = [self.variables[n] for n in RACERS]

        def update(G):
            for i in range(len(RACERS)):
                opts[i].apply([G[i]], [vars_[i]])
            return keras.ops.stack([v.value for v in vars_])

        if self._compiled is not None:
            return self._compiled
        if n_steps < 10 or keras.backend.backend() != "tensorflow":
            return lambda G: np.asarray(update(keras.ops.convert_to_tensor(G, dtype="float64")))
        import tensorflow as tf
        fn = tf.function(update)
        self._compiled = lambda G: fn(tf.constant(G, dtype=tf.float64)).numpy()
        return self._compiled

    @property
    def paths(self) -> dict:
        return {n: np.array(p) for n, p in self._paths.items()}

    @property
    def losses(self) -> dict:
        return {n: self.surface.f(p[:, 0], p[:, 1]) for n, p in self.paths.items()}

    def step(self, n: int = 1) -> None:
        """Advance every racer ``n`` updates (a racer that diverged stays where it stopped)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        update = self._update_fn(int(n))
        with _quiet_retracing():
            for _ in range(int(n)):
                G = np.zeros((len(RACERS), 2))
                for i, name in enumerate(RACERS):
                    if not self.diverged[name]:  # a diverged racer gets zeros; its point is frozen below
                        with np.errstate(over="ignore", invalid="ignore"):
                            G[i] = self.surface.grad(self._paths[name][-1])
                W = update(G)
                for i, name in enumerate(RACERS):
                    path = self._paths[name]
                    w = np.array(W[i], dtype=np.float64)
                    if self.diverged[name] or not np.all(np.isfinite(w)) or np.abs(w).max() > DIVERGED:
                        self.diverged[name] = True
                        w = path[-1]
                    path.append(w)
                self.steps += 1

    def scratch_paths(self, steps: int | None = None) -> dict:
        """The same race with ``cu.scratch`` optimizers: racer -> path (steps + 1, 2)."""
        from ..scratch import optimize
        steps = self.steps if steps is None else steps
        out = {}
        for name in RACERS:
            opt = make_scratch_optimizer(name, self.lr_sgd, self.lr_adaptive, self.momentum)
            with np.errstate(all="ignore"):
                out[name] = optimize(opt, self.surface.grad, self.start, steps)
        return out


# --------------------------------------------------------------------------- render

FIGSIZE = (11, 4.4)


class RacePicture:
    """The race's figure, built once per surface and updated in place (layer 2).

    ``RacePicture(fig).update(race)`` draws the race and returns the key of what only
    changes with the surface (contours, minima, labels). :attr:`live` lists what a step
    moves: the paths and their end points over the contours (with the legend and markers
    drawn over them), and the whole loss-gap panel, whose axes follow the race.
    """

    def __init__(self, fig, show: tuple = RACERS):
        self.fig = fig
        fig.set_size_inches(*FIGSIZE)
        self.show = tuple(show)
        self._surface = None
        self.live, self.sprites = [], []

    def update(self, race: Race):
        # the legend says which racers diverged: a new legend is a new background
        if race.surface.key != self._surface:
            self.fig.clear()
            self._build(race)
            self._surface = race.surface.key
        self._update(race)
        # the legend says which racers diverged: a new legend is a new background
        return race.surface.key, tuple(race.diverged[n] for n in self.show)

    def _build(self, race: Race):
        from matplotlib.colors import LogNorm
        from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator
        from .base import in_draw_order

        s = race.surface
        xx, yy, zz = _grid(s.key)
        ax, bx = self.fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        self.ax, self.bx = ax, bx
        shifted = zz + 1e-3  # f - f_min >= 0; the shift keeps the log scale finite at the minimum
        ax.imshow(shifted, extent=(*s.xlim, *s.ylim), origin="lower", aspect="auto", cmap="Greys_r",
                  norm=LogNorm(vmin=shifted.min(), vmax=shifted.max()), alpha=0.6, interpolation="bilinear")
        levels = np.logspace(math.log10(shifted.min()), math.log10(shifted.max()), 16)[1:-1]
        ax.contour(xx, yy, shifted, levels=levels, colors="k", linewidths=0.4, alpha=0.45)
        over = []  # drawn over the paths: redrawn with them
        for m in s.minima:
            over += ax.plot(*m, marker="*", ms=15, color="gold", mec="k", zorder=5)
        self.sprites = over + []  # they never move: blended in from a kept layer
        self.start = ax.plot(*race.start, "ko", ms=6, zorder=6)[0]
        over.append(self.start)
        self.paths, self.ends, self.gaps = {}, {}, {}
        for name in self.show:
            c = COLORS[name]
            (self.paths[name],) = ax.plot([], [], "-", color=c, lw=1.6, label=name)
            (self.ends[name],) = ax.plot([], [], "o", color=c, mec="k", ms=7, zorder=7)
            (self.gaps[name],) = bx.semilogy([], [], "-", color=c, lw=1.6, label=name)
        ax.set_xlim(s.xlim)
        ax.set_ylim(s.ylim)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_title(f"{s.title}\n{s.formula}", fontsize=11)
        self.legend = ax.legend(loc="lower right", fontsize=9, framealpha=0.9)
        self.sprites.append(self.legend)
        bx.set_xlabel("step")
        bx.set_ylabel("f(w) − f_min  (log scale)")
        # where matplotlib puts them for these tick labels, fixed: measuring the tick labels
        # to place the axis labels would cost a fifth of each frame
        bx.xaxis.set_label_coords(0.5, -0.09)
        bx.yaxis.set_label_coords(-0.128, 0.5)
        # few ticks, plain labels: mathtext tick labels would dominate the render time
        bx.yaxis.set_major_locator(LogLocator(base=10, numticks=7))
        bx.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"1e{math.log10(v):+.0f}" if v > 0 else ""))
        bx.yaxis.set_minor_locator(NullLocator())
        bx.grid(alpha=0.3)  # colours as in the legend on the left (a second legend would hide curves)
        # fixed margins: tight_layout would cost half of the render time on every click
        self.fig.subplots_adjust(left=0.065, right=0.985, bottom=0.12, top=0.86, wspace=0.28)
        self.live = in_draw_order(ax, [*self.paths.values(), *ax.spines.values(), *over, self.legend,
                                       *self.ends.values()]) + [bx]

    def _update(self, race: Race):
        s, bx = race.surface, self.bx
        paths, losses = race.paths, race.losses
        steps = np.arange(race.steps + 1)
        self.start.set_data([race.start[0]], [race.start[1]])
        for name in self.show:
            p = paths[name]
            label = name + (" (diverged)" if race.diverged[name] else "")
            self.paths[name].set_data(p[:, 0], p[:, 1])
            self.paths[name].set_label(label)
            self.ends[name].set_data([p[-1, 0]], [p[-1, 1]])
            self.gaps[name].set_data(steps, np.maximum(losses[name] - s.f_min, 1e-16))
            self.gaps[name].set_label(label)
        for text, name in zip(self.legend.get_texts(), self.show):
            text.set_text(self.paths[name].get_label())
        bx.set_autoscale_on(True)  # as a fresh figure: limits from the data (set_xlim below turns x off)
        bx.relim()
        bx.autoscale_view()
        if race.steps == 0:
            bx.set_xlim(0, 1)
        bx.set_title(f"loss gap after {race.steps} steps\nlr SGD/Momentum {race.lr_sgd:.2g} "
                     f"(momentum {race.momentum:.2f}), lr RMSprop/Adam {race.lr_adaptive:.2g}", fontsize=9)


def render(race: Race, show: tuple = RACERS):
    """Figure of the race: paths on the contours (left), ``f - f_min`` per step (right, log)."""
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=FIGSIZE)
    RacePicture(fig, show).update(race)
    return fig


# --------------------------------------------------------------------------- widget

class OptimizerRace(Explorer):
    """The interactive race: surface, two learning rates, momentum, start point, step/play.

    Parameters
    ----------
    surface : str            initial surface (one of :data:`SURFACES`); the default, the bowl, is the one
                             where a race ends at the minimum (Rosenbrock's valley takes thousands of steps)
    steps : int >= 0         steps run before the first picture
    chunk : int >= 1         steps per click of "Step" and per tick of "Play"
    """

    def __init__(self, surface: str = "bowl", steps: int = 0, chunk: int = 20):
        s = _surface(surface)
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be an int >= 0, got {steps!r}")
        if isinstance(chunk, bool) or not isinstance(chunk, int) or not 1 <= chunk <= 200:
            raise ValueError(f"chunk must be an int in [1, 200], got {chunk!r}")
        self._surface_key = s.key
        self._chunk0 = chunk
        self._muted = False
        self.race = Race(s.key)
        if steps:
            self.race.step(steps)
        super().__init__()

    # -- controls ------------------------------------------------------------------
    def _build_controls(self):
        W = self._W
        s = SURFACES[self._surface_key]
        style = {"description_width": "110px"}
        lay = W.Layout(width="380px")
        self.w_surface = W.Dropdown(options=[(v.title, k) for k, v in SURFACES.items()], value=s.key,
                                    description="surface", style=style, layout=lay)
        self.w_lr_sgd = W.FloatLogSlider(value=s.lr_sgd, base=10, min=-4, max=0, step=0.1,
                                         description="lr SGD, Mom.", style=style, layout=lay,
                                         readout_format=".1e")
        self.w_lr_adaptive = W.FloatLogSlider(value=s.lr_adaptive, base=10, min=-4, max=0, step=0.1,
                                              description="lr RMSprop, Adam", style=style, layout=lay,
                                              readout_format=".1e")
        self.w_momentum = W.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01,
                                        description="momentum β", style=style, layout=lay)
        self.w_x = W.FloatSlider(value=s.start[0], min=s.xlim[0], max=s.xlim[1], step=0.01,
                                 description="start x", style=style, layout=lay)
        self.w_y = W.FloatSlider(value=s.start[1], min=s.ylim[0], max=s.ylim[1], step=0.01,
                                 description="start y", style=style, layout=lay)
        self.w_chunk = W.IntSlider(value=self._chunk0, min=1, max=200, description="steps per click",
                                   style=style, layout=lay)
        self.w_step = W.Button(description="Step", icon="step-forward")
        self.w_reset = W.Button(description="Reset", icon="refresh")
        self.w_play = W.Play(value=0, min=0, max=100, step=1, interval=400, description="play")

        self.w_surface.observe(self._on_surface, names="value")
        for w in (self.w_lr_sgd, self.w_lr_adaptive, self.w_momentum, self.w_x, self.w_y):
            w.observe(self._on_setting, names="value")
        self.w_step.on_click(self._on_step)
        self.w_reset.on_click(self._on_reset)
        self.w_play.observe(self._on_play, names="value")
        self.controls = [W.HBox([W.VBox([self.w_surface, self.w_lr_sgd, self.w_lr_adaptive,
                                         self.w_momentum]),
                                 W.VBox([self.w_x, self.w_y, self.w_chunk,
                                         W.HBox([self.w_step, self.w_reset, self.w_play])])])]

    # -- callbacks: one method each -------------------------------------------------
    def _on_surface(self, change):
        self.set_surface(change["new"])

    def _on_setting(self, change):
        self.reset()

    def _on_step(self, _button):
        self.step()

    def _on_reset(self, _button):
        self.reset()

    def _on_play(self, change):
        self.play_tick(change["new"])

    # -- actions ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _hold(self):
        """Change several controls without each one restarting the race."""
        self._muted = True
        try:
            yield
        finally:
            self._muted = False

    def set_surface(self, key: str) -> None:
        """Switch surface: its view, start point and learning rates, then a fresh race."""
        s = _surface(key)
        self._surface_key = s.key
        with self._hold():
            for slider, lim, v in ((self.w_x, s.xlim, s.start[0]), (self.w_y, s.ylim, s.start[1])):
                # widen first so that min <= max holds at every moment
                slider.min, slider.max = -10.0, 10.0
                slider.value = v
                slider.min, slider.max = lim
            self.w_lr_sgd.value = s.lr_sgd
            self.w_lr_adaptive.value = s.lr_adaptive
            self.w_play.value = 0
        self.reset()

    def reset(self) -> None:
        """Restart the race from the current controls (fresh optimizers and variables)."""
        if self._muted:
            return
        self.race = Race(self._surface_key, start=(self.w_x.value, self.w_y.value),
                         lr_sgd=float(self.w_lr_sgd.value), lr_adaptive=float(self.w_lr_adaptive.value),
                         momentum=float(self.w_momentum.value))
        self.refresh()

    def step(self, n: int | None = None) -> None:
        """Run ``n`` more steps (default: the "steps per click" slider) and redraw."""
        self.race.step(self.w_chunk.value if n is None else n)
        self.refresh()

    def play_tick(self, value: int) -> None:
        """A tick of the Play control: one chunk of steps (the rewind to 0 does nothing)."""
        if value and not self._muted:
            self.step()

    # -- picture -----------------------------------------------------------------------
    def render(self):
        self._update_table()
        return render(self.race)

    def render_png(self):
        self._update_table()
        return self.frame_png(RacePicture, self.race)

    def _update_table(self):
        rows = "".join(
            f"<tr><td style='color:{COLORS[n]}'><b>{n}</b></td>"
            f"<td>({p[-1, 0]:+.3f}, {p[-1, 1]:+.3f})</td><td>{l[-1] - self.race.surface.f_min:.3g}</td>"
            f"<td>{'diverged' if self.race.diverged[n] else ''}</td></tr>"
            for n, p, l in ((n, self.race.paths[n], self.race.losses[n]) for n in RACERS))
        self.status.value = (f"<table><tr><th>racer</th><th>point after {self.race.steps} steps</th>"
                             f"<th>f - f_min</th><th></th></tr>{rows}</table>")
