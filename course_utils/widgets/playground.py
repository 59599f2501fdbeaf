"""Playground (notebook 06): TensorFlow Playground, with a real Keras model behind it.

Three layers, as every widget of the course:

1. pure parts in :mod:`course_utils.widgets.playground_core` (Config, share string, data,
   Keras model, chunked training, NumPy forward pass, code export);
2. :func:`render` ``(trainer) -> Figure``: the network with a small output map per neuron
   and its connections drawn by weight sign (colour) and size (width), the decision
   heatmap with train and test points, and the train/test loss curves; drawn by
   :class:`PlaygroundPicture`, which the widget keeps and updates in place (a training step
   redraws the data, not the axes and texts around them);
3. :class:`Playground`, a thin ipywidgets class whose callbacks each call one method.

What it adds to TensorFlow Playground: the model is a real ``keras.Sequential`` (rebuilt on
architecture changes, trained a few epochs per step in one compiled loop), cross-entropy or
MSE loss, SGD/Adam/RMSprop, "Export Keras code" (runnable Python building the same model)
and a share string (``to_string``/``from_string``) that stores the whole setup.

Example
-------
>>> pg = Playground("ds=spiral;noise=0.1;feat=x1,x2,sin1,sin2;layers=8,8,4;act=tanh")
>>> pg.step(); pg.step()       # or press Step / Play
>>> pg                         # the widget (a static PNG when run headless)
"""
from __future__ import annotations

import html
import time

import numpy as np

from .base import Explorer
from .playground_core import (ACTIVATIONS, DATASETS, FEATURES, LEARNING_RATES,
                              LOSSES, MAX_LAYERS, MAX_UNITS, OPTIMIZERS, REG_RATES, Config, Trainer,
                              from_string, keras_code)

__all__ = ["Playground", "render", "PlaygroundPicture", "loss_axis_end", "loss_axis_top", "boundary_segments",
           "NEG_COLOR", "POS_COLOR"]

PLAY_INTERVAL_MS = 40  # the Play control's tick
NEG_COLOR = "#f59322"  # Playground's orange: negative values, class 0
POS_COLOR = "#0877bd"  # Playground's blue: positive values, class 1
_CMAP = None


def _cmap():
    global _CMAP
    if _CMAP is None:
        from matplotlib.colors import LinearSegmentedColormap
        _CMAP = LinearSegmentedColormap.from_list("playground", [NEG_COLOR, "#ffffff", POS_COLOR])
    return _CMAP


def _node_positions(sizes, dx=2.2, dy=1.0):
    """x, y centres of the nodes of each column, columns centred vertically."""
    top = max(sizes)
    return [[(c * dx, (top - 1) / 2 + (n - 1) / 2 - r) for r in range(n)]
            for c, n in enumerate(sizes)]


def _network_canvas(pos, maps, s: float, node_px: int, cmap) -> tuple:
    """Paint every node's map into one RGBA image (transparent between nodes).

    One ``imshow`` of a composed canvas instead of one per node keeps drawing fast.
    Returns ``(canvas (H, W, 4) float, extent)``.
    """
    ppu = node_px / s  # pixels per unit
    xs = [p[0] for col in pos for p in col]
    ys = [p[1] for col in pos for p in col]
    x0, y0 = min(xs) - s / 2, min(ys) - s / 2
    width = int(round((max(xs) - min(xs) + s) * ppu))
    height = int(round((max(ys) - min(ys) + s) * ppu))
    canvas = np.zeros((height, width, 4))
    for c, column in enumerate(pos):
        for r, (x, y) in enumerate(column):
            img = maps[c][..., r]
            rgba = cmap(np.clip((img + 1) / 2, 0, 1))
            rgba[~np.isfinite(img)] = (0.6, 0.6, 0.6, 1.0)
            rgba[[0, -1], :, :3] = 0.35  # a thin frame
            rgba[:, [0, -1], :3] = 0.35
            i = int(round((y - s / 2 - y0) * ppu))
            j = int(round((x - s / 2 - x0) * ppu))
            canvas[i:i + node_px, j:j + node_px] = rgba
    extent = (x0, x0 + width / ppu, y0, y0 + height / ppu)
    return canvas, extent


def _connections(trainer: Trainer, pos, s: float):
    """Segments (one per weight), colours (sign) and widths (size) of the network's connections."""
    weights = trainer.model.get_weights()
    segs, colors, widths = [], [], []
    for l in range(len(pos) - 1):
        W = weights[2 * l]
        for i, (xi, yi) in enumerate(pos[l]):
            for j, (xj, yj) in enumerate(pos[l + 1]):
                w = float(W[i, j])
                segs.append([(xi + s / 2, yi), (xj - s / 2, yj)])
                colors.append(POS_COLOR if w >= 0 else NEG_COLOR)
                widths.append(0.3 + 3.2 * min(abs(w) if np.isfinite(w) else 0.0, 3.0) / 3.0)
    return segs, colors, widths


def _node_maps(acts: dict, node_px: int) -> list:
    """Every node's map resampled to ``node_px`` a side, each scaled by its largest |value|."""
    res = acts["output"].shape[0]
    pick = np.linspace(0, res - 1, node_px).round().astype(int)
    maps = [_symmetric_each(acts["features"])] + [_symmetric_each(a) for a in acts["layers"]] \
        + [2 * acts["output"][..., None] - 1]
    return [m[np.ix_(pick, pick)] for m in maps]


def draw_network(ax, trainer: Trainer, acts: dict, node_px: int = 24):
    """Draw feature and neuron maps and the weighted connections into ``ax``.

    ``acts`` is :meth:`Trainer.grid_activations`; maps are resampled to ``node_px``
    pixels a side. Each map is scaled by its largest |value|: white is 0, blue positive,
    orange negative; the output node shows P(class 1) (white = 0.5).
    Returns ``(connections, maps)``: the LineCollection and the image of the maps, the two
    artists that change while the network trains (see :meth:`PlaygroundPicture.update`).
    """
    from matplotlib.collections import LineCollection
    cfg = trainer.config
    sizes = [len(cfg.features), *cfg.layers, 1]
    pos = _node_positions(sizes)
    s = 0.8  # node size
    segs, colors, widths = _connections(trainer, pos, s)
    lines = ax.add_collection(LineCollection(segs, colors=colors, linewidths=widths, alpha=0.75, zorder=1))
    canvas, extent = _network_canvas(pos, _node_maps(acts, node_px), s, node_px, _cmap())
    image = ax.imshow(canvas, origin="lower", extent=extent, interpolation="nearest", zorder=2)
    for r, (x, y) in enumerate(pos[0]):
        ax.text(x - s / 2 - 0.12, y, _plain(cfg.features[r]), ha="right", va="center", fontsize=10.5)
    top = max(p[1] for col in pos for p in col) + s / 2 + 0.25
    names = ["features"] + [f"hidden {i + 1}\n{u} × {cfg.activation}" for i, u in
                            enumerate(cfg.layers)] + ["output\nsigmoid"]
    for c, name in enumerate(names):
        ax.text(pos[c][0][0], top, name, ha="center", va="bottom", fontsize=10)
    ax.set_xlim(extent[0] - 1.3, extent[1] + 0.3)
    ax.set_ylim(extent[2] - 0.3, top + 0.9)
    ax.set_aspect("equal")
    ax.axis("off")
    return lines, image


def _symmetric_each(a: np.ndarray) -> np.ndarray:
    """Scale each map a[..., k] by its own largest |value| (0 stays white)."""
    finite = np.isfinite(a)
    m = np.max(np.abs(np.where(finite, a, 0.0)), axis=(0, 1), keepdims=True)
    m = np.where(np.isfinite(m) & (m > 0), m, 1.0)
    return a / m


def loss_axis_end(last_epoch: int) -> int:
    """Right end of the loss panel's epoch axis: the first of 5, 10, 20, 50, 100, 200 ... that
    holds ``last_epoch``. The axis grows in these steps, not every step, so that Play redraws
    the curves and not the axis (and the tick labels do not jitter)."""
    if isinstance(last_epoch, bool) or not isinstance(last_epoch, (int, np.integer)) or last_epoch < 0:
        raise ValueError(f"last_epoch must be an int >= 0, got {last_epoch!r}")
    end, k = 5, 0
    while end < last_epoch:
        k += 1
        end = (10, 20, 50)[(k - 1) % 3] * 10 ** ((k - 1) // 3)
    return end


def loss_axis_top(largest: float) -> float:
    """Top of the loss panel's axis: the first of ... 0.5, 1, 2, 5, 10 ... at least 5% over the
    ``largest`` loss (0.72 -> 1), so that a new start (Reset, new data, another activation)
    rarely moves the axis."""
    v = float(largest) * 1.05 + 1e-9
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"largest must be a finite loss >= 0, got {largest!r}")
    unit = 10.0 ** np.floor(np.log10(v))
    return float(next(m * unit for m in (1, 2, 5, 10) if m * unit >= v * (1 - 1e-12)))


def boundary_segments(xs, ys, p, level: float = 0.5) -> list:
    """The ``level`` contour of ``p`` (shape (len(ys), len(xs))) as a list of (n, 2) arrays;
    empty when ``p`` does not cross the level or is not finite (the decision boundary)."""
    p = np.asarray(p, dtype=np.float64)
    if p.shape != (len(ys), len(xs)):
        raise ValueError(f"p must have shape (len(ys), len(xs)) = {(len(ys), len(xs))}, got {p.shape}")
    if not (np.isfinite(p).all() and p.min() < level < p.max()):
        return []
    import contourpy
    gen = contourpy.contour_generator(np.asarray(xs, float), np.asarray(ys, float), p, name="serial",
                                      line_type="Separate")
    return [seg for seg in gen.lines(level) if len(seg) > 1]


FIGSIZE = (12, 5.2)


class PlaygroundPicture:
    """The Playground's figure, built once and updated in place (layer 2).

    ``PlaygroundPicture(fig).update(trainer)`` draws the trainer's state. Three panels are
    kept and redrawn alone when what they show changes (:attr:`panels`): the network (its
    architecture), the decision map (its data and view) and the loss curves (their axis
    range). A training step only redraws the :attr:`live` parts: connection colours and
    widths, the node maps, the decision heatmap with its boundary and the points over it,
    the loss curves and the titles.
    """

    def __init__(self, fig):
        self.fig = fig
        fig.set_size_inches(*FIGSIZE)
        gs = fig.add_gridspec(2, 2, width_ratios=[1.75, 1], height_ratios=[2.1, 1], wspace=0.12,
                              hspace=0.45, left=0.01, right=0.97, top=0.9, bottom=0.09)
        self.ax_net = fig.add_subplot(gs[:, 0])
        self.ax_db = fig.add_subplot(gs[0, 1])
        self.ax_loss = fig.add_subplot(gs[1, 1])
        self.suptitle = fig.suptitle(" ", fontsize=12)
        self._net = self._db = self._loss = None
        self.live, self.panels, self.sprites = [], {}, []

    def update(self, trainer: Trainer, resolution: int = 48, title: str | None = None):
        if not isinstance(trainer, Trainer):
            raise TypeError(f"trainer must be a playground_core.Trainer, got {type(trainer).__name__}")
        from .base import in_draw_order
        cfg = trainer.config
        acts = trainer.grid_activations(resolution)
        net = (cfg.features, cfg.layers, cfg.activation)
        if net != self._net:
            self.ax_net.cla()
            self.lines, self.maps = draw_network(self.ax_net, trainer, acts)
            self._net = net
        else:
            self._update_network(trainer, acts)
        if self._db is None:
            self._build_decision(acts)
        if acts["extent"] != self._db:
            self._set_view(acts["extent"])
            self._db = acts["extent"]
        self._update_decision(trainer, acts)
        self._update_loss(trainer)
        self.suptitle.set_text(title or f"{cfg.dataset}, noise {cfg.noise:g}: {trainer.model.count_params()} "
                               f"weights, {OPTIMIZERS[cfg.optimizer]} lr {cfg.learning_rate:g}")
        self.panels = {self.ax_net: self._net, self.ax_db: self._db, self.ax_loss: self._loss,
                       self.suptitle: self.suptitle.get_text()}
        self.live = ([self.lines, self.maps]
                     + in_draw_order(self.ax_db, [self.heat, self.boundary, self.train_pts, self.test_pts,
                                                  *self.ax_db.spines.values(), self.db_legend,
                                                  self.ax_db.title])
                     + in_draw_order(self.ax_loss, [*self.curves, *self.ax_loss.spines.values(),
                                                    self.loss_legend, self.ax_loss.title]))
        self.sprites = [self.db_legend, self.loss_legend]
        return None

    def _update_network(self, trainer: Trainer, acts: dict, node_px: int = 24):
        cfg = trainer.config
        pos = _node_positions([len(cfg.features), *cfg.layers, 1])
        _, colors, widths = _connections(trainer, pos, 0.8)
        self.lines.set_color(colors)
        self.lines.set_linewidth(widths)
        canvas, _ = _network_canvas(pos, _node_maps(acts, node_px), 0.8, node_px, _cmap())
        self.maps.set_data(canvas)

    def _build_decision(self, acts: dict):
        from matplotlib.collections import LineCollection
        from matplotlib.lines import Line2D
        ax, ext = self.ax_db, acts["extent"]
        self.heat = ax.imshow(np.zeros((2, 2)), origin="lower", extent=ext, cmap=_cmap(), vmin=-1, vmax=1,
                              alpha=0.8, interpolation="bilinear", aspect="auto")
        self.boundary = ax.add_collection(LineCollection([], colors="k", linewidths=1.0, zorder=2))
        self.train_pts = ax.scatter([], [], s=12, edgecolors="w", linewidths=0.6)
        self.test_pts = ax.scatter([], [], s=12, edgecolors="k", linewidths=0.6)
        ax.set_xlabel("x₁", labelpad=1)
        ax.set_ylabel("x₂", labelpad=1)
        ax.tick_params(labelsize=9)
        self.db_legend = ax.legend(
            handles=[Line2D([], [], ls="", marker="o", ms=4, mfc="0.6", mec="w", label="train"),
                     Line2D([], [], ls="", marker="o", ms=4, mfc="0.6", mec="k", label="test")],
            loc="upper right", fontsize=8.5, framealpha=0.8, handletextpad=0.2)

    def _set_view(self, ext):
        self.heat.set_extent(ext)
        self.ax_db.set_xlim(ext[:2])
        self.ax_db.set_ylim(ext[2:])

    def _update_decision(self, trainer: Trainer, acts: dict):
        ext, out = acts["extent"], acts["output"]
        self.heat.set_data(2 * out - 1)
        colors = np.array([NEG_COLOR, POS_COLOR])
        for pts, X, y in ((self.train_pts, trainer.X_train, trainer.y_train),
                          (self.test_pts, trainer.X_test, trainer.y_test)):
            pts.set_offsets(X)
            pts.set_facecolor(colors[y])
        xs = np.linspace(ext[0], ext[1], out.shape[1])
        ys = np.linspace(ext[2], ext[3], out.shape[0])
        self.boundary.set_segments(boundary_segments(xs, ys, out))
        if trainer.diverged:
            self.ax_db.set_title("diverged (loss is not finite):\nlower the learning rate, then Reset",
                                 color="#b00", fontsize=10.5)
        else:
            self.ax_db.set_title(f"P(class 1) after {trainer.epoch} epochs · test accuracy "
                                 f"{trainer.test_accuracy:.0%}", fontsize=10.5, color="k")

    def _update_loss(self, trainer: Trainer):
        ax, h = self.ax_loss, trainer.history
        kind = "BCE" if trainer.config.loss == "bce" else "MSE"
        if self._loss is None:
            self.curves = [ax.plot([], [], "o-", ms=2.5, color="0.25", label="train")[0],
                           ax.plot([], [], "s--", ms=2.5, color="#c0392b", label="test")[0]]
            ax.set_xlabel("epoch", labelpad=1)
            ax.tick_params(labelsize=9)
            ax.grid(alpha=0.3)
            self.loss_legend = ax.legend(fontsize=8.5, loc="upper right")
        self.curves[0].set_data(h["epoch"], h["train_loss"])
        self.curves[1].set_data(h["epoch"], h["test_loss"])
        finite = [v for v in h["train_loss"] + h["test_loss"] if np.isfinite(v)]
        top = loss_axis_top(max(finite)) if finite else None
        end = loss_axis_end(h["epoch"][-1])
        loss = (kind, top, end)
        if loss != self._loss:
            ax.set_ylabel(kind, fontsize=10.5)
            if top is not None:
                ax.set_ylim(0, top)
            ax.set_xlim(-0.02 * end, 1.02 * end)
            self._loss = loss
        ax.set_title(f"loss: train {h['train_loss'][-1]:.3f} · test {h['test_loss'][-1]:.3f}", fontsize=10.5)


def render(trainer: Trainer, resolution: int = 48, title: str | None = None):
    """The Playground picture of ``trainer``'s current state. Returns a matplotlib Figure.

    Left: the network (a small map of every feature's and neuron's output over the plane;
    connections blue for positive and orange for negative weights, wider when larger).
    Right, top: P(class 1) over the plane with the 0.5 boundary, train points (white edge)
    and test points (black edge). Right, bottom: train and test loss per epoch (the axes grow
    in steps: :func:`loss_axis_end`, :func:`loss_axis_top`).
    """
    import matplotlib.pyplot as plt
    if not isinstance(trainer, Trainer):
        raise TypeError(f"trainer must be a playground_core.Trainer, got {type(trainer).__name__}")
    fig = plt.figure(figsize=FIGSIZE)
    PlaygroundPicture(fig).update(trainer, resolution, title)
    return fig


# --------------------------------------------------------------------------- widget

class Playground(Explorer):
    """TensorFlow Playground with a real Keras model: set up, Step/Play, watch, share.

    Parameters
    ----------
    config : Config, share string (see :func:`playground_core.from_string`) or None
        The starting setup (None: circle, x1 and x2, layers 4-2, tanh, SGD lr 0.03).
    resolution : int
        Grid size of the maps (48 keeps a step under a second on 2 CPU cores).

    Methods a learner (or a test) can call: :meth:`step`, :meth:`reset`,
    :meth:`set_config`, :meth:`load_string`, :meth:`to_string`, :meth:`keras_code`.
    """

    dpi = 72

    def __init__(self, config: Config | str | None = None, resolution: int = 48):
        if config is None:
            config = Config()
        elif isinstance(config, str):
            config = from_string(config)
        elif not isinstance(config, Config):
            raise TypeError(f"config must be a Config, a share string or None, got "
                            f"{type(config).__name__}")
        if not isinstance(resolution, int) or not 8 <= resolution <= 200:
            raise ValueError(f"resolution must be an int in [8, 200], got {resolution!r}")
        self.resolution = resolution
        self.trainer = Trainer(config)
        self._syncing = False
        self._last_tick_end = 0.0
        self.skipped_ticks = 0
        self.timings = {"train_s": 0.0, "render_s": 0.0}
        super().__init__()
        self.ui.children = tuple(self.ui.children) + (self.code_box,)
        self.ui.add_class("playground")
        self.image.add_class("playground-image")
        self._update_status()

    # -- controls ---------------------------------------------------------------------
    def _build_controls(self):
        W = self._W
        cfg = self.trainer.config
        # Fixed widths that fit four columns side by side in ~850 px (JupyterLab at 1280 px
        # with the file browser open); narrower, the columns wrap instead of overlapping.
        # A slider needs its label + a track + ~76 px for the readout (ipywidgets gives the
        # readout a 72 px minimum), so each column's label width fits its longest label.
        data_w, net_w, train_w = (("236px", "70px"), ("240px", "94px"), ("242px", "98px"))

        def dd(desc, options, value, size):
            w = W.Dropdown(options=options, value=value, description=desc,
                           style={"description_width": size[1]}, layout=W.Layout(width=size[0]))
            w.observe(self._on_setting, names="value")
            return w

        def slider(cls, desc, value, size, **kw):
            # a Layout of its own for each control (a shared one would hide them all)
            w = cls(value=value, description=desc, style={"description_width": size[1]},
                    layout=W.Layout(width=size[0]), continuous_update=False, **kw)
            w.observe(self._on_setting, names="value")
            return w

        self.w_dataset = dd("Dataset", list(DATASETS), cfg.dataset, data_w)
        self.w_noise = slider(W.FloatSlider, "Noise", cfg.noise, data_w, min=0.0, max=0.5,
                              step=0.05)
        self.w_train = slider(W.FloatSlider, "Train ratio", cfg.train_ratio, data_w, min=0.1,
                              max=0.9, step=0.1)
        self.w_batch = slider(W.IntSlider, "Batch size", cfg.batch_size, data_w, min=1, max=64)
        self.w_points = slider(W.IntSlider, "Points", cfg.n_points, data_w, min=100, max=1000,
                               step=50)
        self.w_seed = slider(W.IntSlider, "Seed", cfg.seed, data_w, min=0, max=99)

        self.w_features = {}
        for f in FEATURES:
            cb = W.Checkbox(value=f in cfg.features, description=_plain(f), indent=False,
                            layout=W.Layout(width="76px"))
            cb.observe(self._on_setting, names="value")
            self.w_features[f] = cb

        self.w_nlayers = slider(W.IntSlider, "Hidden layers", len(cfg.layers), net_w, min=0,
                                max=MAX_LAYERS)
        self.w_units = []
        for i in range(MAX_LAYERS):
            u = cfg.layers[i] if i < len(cfg.layers) else 4
            self.w_units.append(slider(W.IntSlider, f"Neurons {i + 1}", u, net_w, min=1,
                                       max=MAX_UNITS))
        self.w_act = dd("Activation", list(ACTIVATIONS), cfg.activation, net_w)

        self.w_lr = dd("Learning rate", _menu(LEARNING_RATES, cfg.learning_rate), cfg.learning_rate,
                        train_w)
        self.w_opt = dd("Optimizer", [("SGD", "sgd"), ("Adam", "adam"), ("RMSprop", "rmsprop")],
                        cfg.optimizer, train_w)
        self.w_loss = dd("Loss", [("cross-entropy", "bce"), ("MSE", "mse")], cfg.loss, train_w)
        self.w_reg = dd("Regularization", [("none", "none"), ("L1", "l1"), ("L2", "l2")],
                        cfg.regularization, train_w)
        self.w_rate = dd("Reg. rate", _menu(REG_RATES, cfg.reg_rate), cfg.reg_rate, train_w)
        self.w_epochs = slider(W.IntSlider, "Epochs/step", cfg.epochs_per_step, train_w, min=1,
                               max=50)

        self.step_button = W.Button(description="Step", button_style="primary",
                                    tooltip="train a few epochs")
        self.step_button.add_class("playground-step")
        self.step_button.on_click(self._on_step)
        self.reset_button = W.Button(description="Reset", tooltip="new random weights, epoch 0")
        self.reset_button.add_class("playground-reset")
        self.reset_button.on_click(self._on_reset)
        # a tick every 40 ms: a frame (training + picture) takes 50-70 ms on 2 cores, so Play
        # draws a new frame every second or third tick, 10-15 frames per second
        self.play = W.Play(value=0, min=0, max=100000, step=1, interval=PLAY_INTERVAL_MS,
                           description="Play")
        self.play.add_class("playground-play")
        self.play.observe(self._on_play, names="value")
        self.code_button = W.Button(description="Export Keras code",
                                    tooltip="show runnable Python that builds this model")
        self.code_button.add_class("playground-code")
        self.code_button.on_click(self._on_code)
        # the Share box takes the width left beside Load (up to 720 px), never more
        self.w_share = W.Text(value=cfg.to_string(), description="Share",
                              style={"description_width": "45px"},
                              layout=W.Layout(width="auto", flex="1 1 auto", max_width="720px"))
        self.w_share.add_class("playground-share")
        self.load_button = W.Button(description="Load", tooltip="apply the share string",
                                    layout=W.Layout(width="80px", flex="0 0 auto"))
        self.load_button.on_click(self._on_load)
        self.code_box = W.Textarea(value="", description="Keras code",
                                   layout=W.Layout(width="95%", height="330px", display="none"))

        self._sync_visibility()

        def col(children):  # a column keeps its width; the row wraps when it is too narrow
            return W.VBox(children, layout=W.Layout(flex="0 0 auto", margin="0 6px 0 0"))

        def row(children):
            return W.HBox(children, layout=W.Layout(flex_flow="row wrap", align_items="flex-start"))

        self.controls = [
            row([
                col([W.HTML("<b>Data</b>"), self.w_dataset, self.w_noise, self.w_train,
                     self.w_points, self.w_batch, self.w_seed]),
                col([W.HTML("<b>Features</b>"), *self.w_features.values()]),
                col([W.HTML("<b>Network</b>"), self.w_nlayers, *self.w_units, self.w_act]),
                col([W.HTML("<b>Training</b>"), self.w_lr, self.w_opt, self.w_loss, self.w_reg,
                     self.w_rate, self.w_epochs]),
            ]),
            row([self.step_button, self.play, self.reset_button, self.code_button]),
            W.HBox([self.w_share, self.load_button]),
        ]

    def _sync_visibility(self):
        n = self.w_nlayers.value
        for i, w in enumerate(self.w_units):
            w.layout.display = "" if i < n else "none"

    def _controls_config(self) -> Config:
        """The Config the controls describe (may raise ValueError, e.g. no feature ticked)."""
        return self.trainer.config.replace(
            dataset=self.w_dataset.value, noise=round(self.w_noise.value, 4),
            train_ratio=round(self.w_train.value, 4), n_points=self.w_points.value,
            batch_size=self.w_batch.value, seed=self.w_seed.value,
            features=tuple(f for f, cb in self.w_features.items() if cb.value),
            layers=tuple(w.value for w in self.w_units[: self.w_nlayers.value]),
            activation=self.w_act.value, learning_rate=self.w_lr.value,
            optimizer=self.w_opt.value, loss=self.w_loss.value,
            regularization=self.w_reg.value, reg_rate=self.w_rate.value,
            epochs_per_step=self.w_epochs.value)

    def _sync_controls(self):
        """Set every control from the trainer's config without triggering callbacks."""
        cfg = self.trainer.config
        self._syncing = True
        try:
            self.w_dataset.value = cfg.dataset
            self.w_noise.value = cfg.noise
            self.w_train.value = cfg.train_ratio
            _set_slider(self.w_points, cfg.n_points)
            _set_slider(self.w_batch, cfg.batch_size)
            _set_slider(self.w_seed, cfg.seed)
            for f, cb in self.w_features.items():
                cb.value = f in cfg.features
            self.w_nlayers.value = len(cfg.layers)
            for i, u in enumerate(cfg.layers):
                self.w_units[i].value = u
            self.w_act.value = cfg.activation
            self.w_lr.options = _menu(LEARNING_RATES, cfg.learning_rate)
            self.w_lr.value = cfg.learning_rate
            self.w_opt.value = cfg.optimizer
            self.w_loss.value = cfg.loss
            self.w_reg.value = cfg.regularization
            self.w_rate.options = _menu(REG_RATES, cfg.reg_rate)
            self.w_rate.value = cfg.reg_rate
            _set_slider(self.w_epochs, cfg.epochs_per_step)
            self._sync_visibility()
        finally:
            self._syncing = False

    # -- callbacks: each calls one method ------------------------------------------------
    def _on_setting(self, change):
        if not self._syncing:
            self.apply_controls()

    def _on_step(self, _button):
        self.step()

    def _on_reset(self, _button):
        self.reset()

    def _on_play(self, change):
        self.play_tick()

    def _on_code(self, _button):
        self.show_code()

    def _on_load(self, _button):
        self.load_from_box()

    # -- actions -------------------------------------------------------------------------
    def apply_controls(self) -> str | None:
        """Read the controls into a Config and apply it; an invalid choice is undone."""
        self._sync_visibility()
        try:
            cfg = self._controls_config()
        except ValueError as exc:
            self._sync_controls()
            self._update_status(error=str(exc))
            return None
        return self.set_config(cfg)

    def set_config(self, config: Config | str) -> str:
        """Switch to ``config`` (a Config or share string); returns what was redone
        (see :meth:`Trainer.set_config`) and redraws."""
        cfg = from_string(config) if isinstance(config, str) else config
        what = self.trainer.set_config(cfg)
        self._sync_controls()
        if what != "none":
            self.refresh()
        self._update_status()
        return what

    def step(self, epochs: int | None = None) -> dict:
        """Train a chunk of epochs (default: the Epochs/step control) and redraw."""
        t0 = time.perf_counter()
        result = self.trainer.step(epochs)
        self.timings["train_s"] = time.perf_counter() - t0
        self.refresh()
        self._update_status()
        return result

    def run(self, steps: int) -> dict:
        """Train ``steps`` steps (each ``epochs_per_step`` epochs, one loss point per step)
        and redraw once at the end: the fast way to move ahead without watching."""
        if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= 1000:
            raise ValueError(f"steps must be an int in [1, 1000], got {steps!r}")
        t0 = time.perf_counter()
        for _ in range(steps):
            result = self.trainer.step()
        self.timings["train_s"] = (time.perf_counter() - t0) / steps
        self.refresh()
        self._update_status()
        return result

    def play_step(self):
        """One Play tick's work (:meth:`base.Explorer.play_tick` drops the ticks that queued up)."""
        self.step()

    def reset(self) -> None:
        """New random weights, epoch 0, empty loss curves (the data stay)."""
        self.trainer.reset()
        self.refresh()
        self._update_status()

    def refresh(self) -> bytes:
        t0 = time.perf_counter()
        png = super().refresh()
        self.timings["render_s"] = time.perf_counter() - t0
        if hasattr(self, "w_share"):
            self.w_share.value = self.trainer.config.to_string()
            if self.code_box.layout.display != "none":
                self.code_box.value = self.keras_code()
        return png

    def render(self):
        return render(self.trainer, self.resolution)

    def render_png(self):
        return self.frame_png(PlaygroundPicture, self.trainer, self.resolution)

    def show_code(self) -> str:
        """Show (and return) the Keras code of the current network in the text box."""
        self.code_box.value = self.keras_code()
        self.code_box.layout.display = ""
        return self.code_box.value

    def load_from_box(self) -> bool:
        """Apply the share string typed into the Share box; errors go to the status line."""
        try:
            self.load_string(self.w_share.value)
            return True
        except (ValueError, TypeError) as exc:
            self._update_status(error=str(exc))
            return False

    def load_string(self, text: str) -> Config:
        """Apply a share string (ValueError with the offending key if it is invalid)."""
        cfg = from_string(text, base=Config())
        self.set_config(cfg)
        return cfg

    def to_string(self) -> str:
        """The share string of the current setup."""
        return self.trainer.config.to_string()

    def keras_code(self) -> str:
        """Runnable Python that builds and compiles the current network."""
        return keras_code(self.trainer.config)

    @property
    def config(self) -> Config:
        return self.trainer.config

    @property
    def model(self):
        return self.trainer.model

    def _update_status(self, error: str | None = None):
        t = self.trainer
        h = t.history
        msg = (f"epoch {t.epoch} · train loss {h['train_loss'][-1]:.4f} · test loss "
               f"{h['test_loss'][-1]:.4f} · test accuracy {t.test_accuracy:.1%} · last step: "
               f"train {self.timings['train_s'] * 1000:.0f} ms, draw "
               f"{self.timings['render_s'] * 1000:.0f} ms")
        if error:
            msg = f"<span style='color:#b00'>⚠ {html.escape(error)}</span><br>" + msg
        self.status.value = msg


def _set_slider(w, value):
    """Set an int slider, widening its range first if a loaded setup lies outside it."""
    if value > w.max:
        w.max = value
    if value < w.min:
        w.min = value
    w.value = value


def _plain(f: str) -> str:
    return {"x1": "x₁", "x2": "x₂", "x1sq": "x₁²", "x2sq": "x₂²", "x1x2": "x₁·x₂",
            "sin1": "sin x₁", "sin2": "sin x₂"}[f]


def _menu(values, current):
    """Dropdown options (label, value) of a menu, with ``current`` added if it is not in it."""
    vals = sorted(set(values) | {float(current)})
    return [(f"{v:g}", float(v)) for v in vals]
