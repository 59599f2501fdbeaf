"""Gradient-flow explorer (notebook 09): initialisation × activation × depth × batch norm.

Three layers, as every course widget:

1. pure functions: :func:`draw_run` (fresh NumPy weights for a configuration, drawn with
   :func:`course_utils.scratch.init_weights`), :func:`flow` (a forward and backward pass in NumPy
   on a fixed probe batch: each hidden layer's outputs and the norm of its weight gradient;
   batch norm with :mod:`course_utils.scratch.normalization`), :func:`build_keras_model`
   (the same network as a real ``keras.Sequential`` with those weights);
2. :func:`render` (a :class:`FlowState` → a matplotlib Figure: activation histograms layer by
   layer, gradient-norm bars, the training curve), drawn by :class:`FlowPicture`, which the
   widget keeps and updates in place (:class:`~course_utils.widgets.base.Frame`);
3. :class:`GradientFlowExplorer`, a thin widget whose callbacks each call one method.

Speed: a control change never trains. Each configuration (init, activation, depth, batch norm,
learning rate) is one run kept in a cache: coming back to it shows where it was; a new one
shows its untrained network, computed in NumPy in a few ms. **Train** and **Play** train the
current run's Keras model a chunk of mini-batches (one compiled TensorFlow call, which also
returns the validation scores) and redraw. The figure is kept (:class:`~.base.Frame`): a frame
draws the histograms, bars, curves and texts over a kept background; an axis is drawn again
only when its range changes (the gradient axis covers depths 1 to 30 of a configuration, so
the depth slider moves bars, not the axis); the figure title is drawn when it changes.

Example
-------
>>> from course_utils.widgets.gradient_flow import GradientFlowExplorer
>>> fx = GradientFlowExplorer(init="small", activation="relu", depth=20)
>>> fx.train(10)      # = pressing Train 10 times
>>> fx                # the widget (or its PNG when run headless)
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..scratch.activations import INIT_SCHEMES, activation as _activation, init_weights
from ..scratch.normalization import batchnorm_backward, batchnorm_inference, batchnorm_train
from ..env import one_blas_thread
from .base import Explorer, in_draw_order, split_title, text_width

__all__ = ["INITS", "ACTIVATIONS", "Run", "FlowState", "load_probe_data", "draw_run", "flow", "accuracy",
           "build_keras_model", "render", "FlowPicture", "GradientFlowExplorer"]

#: initialisations (the four of :data:`course_utils.scratch.INIT_SCHEMES`): key -> label
INITS = {"small": "naive N(0, 0.01²)", "large": "naive N(0, 1)", "glorot": "Glorot uniform", "he": "He normal"}
ACTIVATIONS = ("relu", "tanh", "sigmoid")
MAX_DEPTH = 30
WIDTH = 32
BATCH = 64
PROBE = 256            # samples in the fixed probe batch the picture is computed on
SHOWN_LAYERS = 6       # histogram rows
BINS = 40
PLAY_INTERVAL_MS = 90     # a frame (5 mini-batches and the picture) takes 50-70 ms on 2 loaded cores
#: the Keras models' batch-norm momentum: 0.9, as notebook 09's section 1 (at Keras' 0.99 the moving
#: statistics, which the accuracy uses, lag hundreds of mini-batches behind a naive start)
BN_MOMENTUM = 0.9
assert set(INITS) == set(INIT_SCHEMES)


def _check_int(name, v, lo, hi):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}: {v!r}")
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {v}")
    return int(v)


def _check_config(init, activation, depth, batchnorm, learning_rate):
    if init not in INITS:
        raise ValueError(f"init must be one of {list(INITS)}, got {init!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {activation!r}")
    depth = _check_int("depth", depth, 1, MAX_DEPTH)
    if not isinstance(batchnorm, (bool, np.bool_)):
        raise TypeError(f"batchnorm must be True or False, got {batchnorm!r}")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float, np.floating)) \
            or not np.isfinite(learning_rate) or not 0 < learning_rate <= 1:
        raise ValueError(f"learning_rate must be a number in (0, 1], got {learning_rate!r}")
    return init, activation, depth, bool(batchnorm), float(learning_rate)


# --------------------------------------------------------------------------- 1. pure functions

_DATA = {}


def load_probe_data(seed: int = 0):
    """Digits (1797 8x8 images, pixels scaled to [0, 1]), split 80/20 with ``seed``.

    Returns ``(X_train, y_train, X_val, y_val)``, float32 / int; the first :data:`PROBE`
    training rows are the probe batch of :func:`flow`. Cached.
    """
    if seed not in _DATA:
        from sklearn.datasets import load_digits
        X, y = load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        order = np.random.default_rng(seed).permutation(len(X))
        cut = int(0.8 * len(X))
        tr, va = order[:cut], order[cut:]
        _DATA[seed] = (X[tr], y[tr], X[va], y[va])
    return _DATA[seed]


@dataclass
class Run:
    """One configuration's network and training so far.

    weights : list of dicts, one per hidden layer: ``W`` (d_in, width), ``b`` (width,) or, with
              batch norm, ``gamma``, ``beta``, ``mean``, ``var`` (width,); the last dict is the
              output layer's ``W`` (width, 10), ``b``.
    history : dict of lists ``step`` (mini-batches trained), ``loss`` (training loss of the
              last chunk; the probe batch at step 0), ``val_acc``.
    initial_grads : gradient norms per layer before training (for comparison).
    """
    init: str
    activation: str
    depth: int
    batchnorm: bool
    learning_rate: float
    weights: list
    history: dict = field(default_factory=lambda: {"step": [], "loss": [], "val_acc": []})
    initial_grads: np.ndarray | None = None
    step: int = 0
    model: object = None
    train_fn: object = None

    @property
    def key(self):
        return (self.init, self.activation, self.depth, self.batchnorm, self.learning_rate)


def draw_run(init="small", activation="relu", depth=20, batchnorm=False, learning_rate=1e-3, seed=0,
             width: int = WIDTH) -> Run:
    """A fresh, untrained :class:`Run`: hidden weights drawn with ``init`` (biases 0; with batch
    norm no bias, gamma 1, beta 0, moving mean 0, variance 1, as Keras starts), output layer
    Glorot uniform (Keras' default). The same seed gives the same draws."""
    init, activation, depth, batchnorm, learning_rate = _check_config(init, activation, depth, batchnorm,
                                                                      learning_rate)
    width = _check_int("width", width, 1, 1024)
    rng = np.random.default_rng(seed)
    sizes = [64] + [width] * depth
    weights = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        layer = {"W": init_weights(d_in, d_out, init, rng)}
        if batchnorm:
            layer.update(gamma=np.ones(d_out), beta=np.zeros(d_out), mean=np.zeros(d_out), var=np.ones(d_out))
        else:
            layer["b"] = np.zeros(d_out)
        weights.append(layer)
    weights.append({"W": init_weights(width, 10, "glorot", rng), "b": np.zeros(10)})
    run = Run(init, activation, depth, batchnorm, learning_rate, weights)
    return run


@dataclass
class FlowState:
    """What :func:`render` draws.

    outputs : list of (n, width) arrays      each hidden layer's outputs on the probe batch
    grad_norms : ndarray (depth,)            Frobenius norm of dLoss/dW of each hidden layer
    loss : float                             probe-batch loss (training mode)
    """
    run: Run
    outputs: list
    grad_norms: np.ndarray
    loss: float
    grad_range: tuple | None = None   # norms the gradient axis must show besides these (other depths)


def _softmax_ce(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean()), np.exp(log_p)


def flow(run: Run, X, y) -> FlowState:
    """Forward and backward pass of ``run``'s network on ``X`` (n, 64), labels ``y``, in NumPy.

    Batch norm in training mode (the batch statistics, as during training). The gradient of
    the mean cross-entropy with respect to each hidden layer's kernel, by the chain rule.
    """
    f, df = _activation(run.activation)
    a = np.asarray(X, dtype=np.float64)
    ins, pres, zs, outs = [], [], [], []
    with np.errstate(all="ignore"):
        for layer in run.weights[:-1]:
            ins.append(a)
            z = a @ layer["W"]
            if run.batchnorm:
                pre, _, _ = batchnorm_train(z, layer["gamma"], layer["beta"])
            else:
                pre = z + layer["b"]
            zs.append(z)
            pres.append(pre)
            a = f(pre)
            outs.append(a)
        out = run.weights[-1]
        loss, p = _softmax_ce(a @ out["W"] + out["b"], y)
        d = p.copy()
        d[np.arange(len(y)), y] -= 1.0
        d /= len(y)
        g = d @ out["W"].T
        norms = np.zeros(run.depth)
        for k in range(run.depth - 1, -1, -1):
            layer = run.weights[k]
            dpre = g * df(pres[k])
            dz = batchnorm_backward(dpre, zs[k], layer["gamma"])[0] if run.batchnorm else dpre
            norms[k] = np.linalg.norm(ins[k].T @ dz)
            g = dz @ layer["W"].T
    return FlowState(run=run, outputs=outs, grad_norms=norms, loss=loss)


def accuracy(run: Run, X, y) -> float:
    """Accuracy of ``run``'s network in inference mode (batch norm with the moving statistics), NumPy."""
    f, _ = _activation(run.activation)
    a = np.asarray(X, dtype=np.float64)
    with np.errstate(all="ignore"):
        for layer in run.weights[:-1]:
            z = a @ layer["W"]
            if run.batchnorm:
                z = batchnorm_inference(z, layer["gamma"], layer["beta"], layer["mean"], layer["var"])
            else:
                z = z + layer["b"]
            a = f(z)
        logits = a @ run.weights[-1]["W"] + run.weights[-1]["b"]
    return float(np.mean(np.argmax(np.nan_to_num(logits, nan=-np.inf), axis=1) == y))


def build_keras_model(run: Run):
    """``run``'s network as a real ``keras.Sequential`` holding its current weights:
    [Dense(width) → (BatchNormalization(momentum=:data:`BN_MOMENTUM`)) → Activation] × depth → Dense(10)
    (logits)."""
    import keras
    width = run.weights[0]["W"].shape[1]
    layers = [keras.Input(shape=(64,))]
    for _ in range(run.depth):
        layers.append(keras.layers.Dense(width, use_bias=not run.batchnorm))
        if run.batchnorm:
            layers.append(keras.layers.BatchNormalization(momentum=BN_MOMENTUM))
        layers.append(keras.layers.Activation(run.activation))
    layers.append(keras.layers.Dense(10))
    model = keras.Sequential(layers, name="gradient_flow")
    model.set_weights(_keras_weights(run))
    return model


def _keras_weights(run: Run) -> list:
    out = []
    for layer in run.weights[:-1]:
        out += ([layer["W"], layer["gamma"], layer["beta"], layer["mean"], layer["var"]] if run.batchnorm
                else [layer["W"], layer["b"]])
    out += [run.weights[-1]["W"], run.weights[-1]["b"]]
    return [np.asarray(w, np.float32) for w in out]


def _from_keras(run: Run, values: list) -> None:
    it = iter(values)
    for layer in run.weights[:-1]:
        names = ("W", "gamma", "beta", "mean", "var") if run.batchnorm else ("W", "b")
        for name in names:
            layer[name] = np.asarray(next(it), dtype=np.float64)
    run.weights[-1]["W"] = np.asarray(next(it), dtype=np.float64)
    run.weights[-1]["b"] = np.asarray(next(it), dtype=np.float64)


def _make_train_fn(run: Run):
    import keras
    import tensorflow as tf
    model = run.model
    opt = keras.optimizers.Adam(learning_rate=run.learning_rate)
    opt.build(model.trainable_variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function(reduce_retracing=True)
    def train(X, y, rows, Xv):
        # a chunk of mini-batches (rows: (steps, BATCH) indices) and the validation scores after
        # it, in one call: traced once per model, one Python -> TensorFlow round trip per chunk
        total = tf.constant(0.0)
        for k in tf.range(tf.shape(rows)[0]):
            Xb, yb = tf.gather(X, rows[k]), tf.gather(y, rows[k])
            with tf.GradientTape() as tape:
                loss = loss_fn(yb, model(Xb, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            total += loss
        return total / tf.cast(tf.shape(rows)[0], tf.float32), model(Xv, training=False)

    return train


def train_run(run: Run, steps: int, seed: int = 0) -> float:
    """Train ``run`` ``steps`` mini-batches of :data:`BATCH` with Adam (its learning rate) on its
    Keras model (built on first use), then copy the weights back and record the history.
    Returns the mean training loss of the chunk."""
    import tensorflow as tf
    steps = _check_int("steps", steps, 1, 10_000)
    X, y, Xv, yv = load_probe_data()
    if run.model is None:
        run.model = build_keras_model(run)
        run.train_fn = _make_train_fn(run)
        run._X, run._y = tf.constant(X), tf.constant(y.astype(np.int32))
        run._Xv = tf.constant(Xv)
    rng = np.random.default_rng([seed, run.step])
    per_epoch = len(X) // BATCH
    rows = []
    for s in range(run.step, run.step + steps):      # epochs of shuffled full batches
        if s % per_epoch == 0 or not hasattr(run, "_perm"):
            run._perm = rng.permutation(len(X))
        k = s % per_epoch
        rows.append(run._perm[k * BATCH:(k + 1) * BATCH])
    loss, logits = run.train_fn(run._X, run._y, tf.constant(np.array(rows, dtype=np.int32)), run._Xv)
    loss = float(loss)
    run.step += steps
    _from_keras(run, run.model.get_weights())
    logits = np.asarray(logits)                      # the model called directly, not predict
    acc = float(np.mean(np.argmax(np.nan_to_num(logits, nan=-np.inf), axis=1) == yv))
    run.history["step"].append(run.step)
    run.history["loss"].append(loss)
    run.history["val_acc"].append(acc)
    return loss


# --------------------------------------------------------------------------- 2. the picture

FIGSIZE = (12, 4.2)


def _layers_to_show(depth: int, k: int = SHOWN_LAYERS) -> list:
    if depth <= k:
        return list(range(depth))
    return sorted({int(round(v)) for v in np.linspace(0, depth - 1, k)})


def _decades(lo: float, hi: float) -> tuple:
    """``(10**a, 10**b)``: whole decades around ``[lo, hi]``, the lower end a multiple of 5
    decades when the range spans more than 10 (a key that changes rarely)."""
    a, b = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
    if b - a > 10:
        a = 5 * (a // 5)
    return 10.0 ** a, 10.0 ** max(b, a + 1)


def _power_label(v, _pos=None) -> str:
    """Tick label ``1e-50`` (plain text: mathtext's 10^-50 costs a parse per label and frame)."""
    return f"1e{int(round(np.log10(v)))}" if v > 0 else ""


def _fmt(v: float) -> str:
    return "0" if v == 0 else f"{v:.2g}"


class FlowPicture:
    """The explorer's figure, built once and updated in place (a :class:`~.base.Frame` picture).

    Three panels: outputs of up to six layers (histograms, one row each, over a shared x
    range), the gradient-norm bars of every hidden layer (log scale; dots: before training),
    validation accuracy above the training loss against mini-batches trained.

    What a frame draws (:attr:`live`): the histograms, their range and row labels, the bars and
    dots, the curves and the titles, none of them an axis with ticks. The gradient panel's
    y axis (whole decades), and the curve panels' x axis (50, 100, 200 ... mini-batches) and
    loss axis are :attr:`panels`: redrawn alone, and only when their range changes.
    """

    def __init__(self, fig):
        import matplotlib.pyplot as plt
        from matplotlib.patches import Polygon
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
        self.fig = fig
        fig.set_size_inches(*FIGSIZE)
        gs = fig.add_gridspec(2, 3, width_ratios=[1.1, 1.2, 1.0], left=0.035, right=0.985, bottom=0.13,
                              top=0.82, wspace=0.34, hspace=0.12)
        self.ax_h = fig.add_subplot(gs[:, 0])
        self.ax_g = fig.add_subplot(gs[:, 1])
        self.ax_c = fig.add_subplot(gs[0, 2])
        self.ax_l = fig.add_subplot(gs[1, 2], sharex=self.ax_c)
        ax_h, ax_g, ax_c, ax_l = self.ax_h, self.ax_g, self.ax_c, self.ax_l
        # 1. histograms: no x ticks (the range changes every frame); its ends are live texts
        ax_h.set_ylim(-0.15, SHOWN_LAYERS)
        ax_h.set_xlim(0, 1)
        ax_h.set_yticks([])
        ax_h.set_xticks([])
        for side in ("left", "right", "top"):   # a ridge plot: the histograms fill the panel's width
            ax_h.spines[side].set_visible(False)
        ax_h.set_xlabel("outputs on 256 digits (0.5–99.5 percentile range)", labelpad=14)
        ax_h.set_title("outputs, layer by layer")
        self.polys, self.row_labels, self.row_names, self._shown = [], [], [], None
        cmap = plt.get_cmap("viridis")
        # each row's label: "layer k: std" (fixed for a depth: a sprite, drawn once) and the std
        # (live), right-aligned in a slot wide enough for "1.2e+02"; each glyph drawn costs about
        # 0.1 ms a frame
        self._std_slot = (text_width(" 1.2e+02", 8) / (72 * fig.get_figwidth() * ax_h.get_position().width))
        for row in range(SHOWN_LAYERS):
            p = Polygon(np.zeros((2, 2)), closed=True, color=cmap(row / (SHOWN_LAYERS - 1)), alpha=0.75,
                        zorder=3)
            ax_h.add_patch(p)
            self.polys.append(p)
            self.row_labels.append(ax_h.text(0.99, row + 0.45, "", transform=ax_h.get_yaxis_transform(),
                                             ha="right", va="center", fontsize=8))
        self.x_ends = [ax_h.text(x, -0.015, "", transform=ax_h.transAxes, ha=ha, va="top", fontsize=9)
                       for x, ha in ((0.0, "left"), (1.0, "right"))]
        # 2. gradient bars: x axis fixed to MAX_DEPTH layers, y axis in whole decades
        self.bars = ax_g.bar(np.arange(1, MAX_DEPTH + 1), np.ones(MAX_DEPTH), width=0.8, color="tab:blue", zorder=3)
        (self.g0_line,) = ax_g.plot([], [], "o", ms=3.5, color="tab:red", zorder=4,
                                    label="before training")
        ax_g.set_yscale("log")
        ax_g.yaxis.set_major_locator(LogLocator(base=10.0, numticks=7))
        ax_g.yaxis.set_major_formatter(FuncFormatter(_power_label))
        ax_g.yaxis.set_minor_formatter(NullFormatter())
        ax_g.set_xlim(0.4, MAX_DEPTH + 0.6)
        ax_g.set_xticks([1, 5, 10, 15, 20, 25, 30])
        ax_g.set_xlabel("hidden layer (1 = next to the input)")
        ax_g.set_ylabel("‖∂loss/∂W‖", labelpad=2)
        self.g_legend = ax_g.legend(handles=[self.g0_line], loc="upper right", fontsize=8)
        # titles as plain texts (an Axes title is placed anew, measuring the axes, at each draw):
        # the words are fixed (drawn with the panel), the number after them is live
        self.g_title, self.g_ratio = split_title(ax_g, 1.02, "gradient norm per layer: first / last =",
                                                       " 0.23", 12)
        self.g_note = ax_g.text(0.5, 0.5, "", transform=ax_g.transAxes, ha="center", color="tab:red")
        self._g_ylim = None
        # 3. curves: accuracy above, loss below, sharing the x axis
        (self.acc_line,) = ax_c.plot([], [], "-", color="tab:green", lw=2, zorder=3)   # over the spines, as drawn live
        (self.loss_line,) = ax_l.plot([], [], "-", color="tab:orange", lw=1.2, zorder=3)
        ax_c.set_ylim(0, 1.02)
        ax_c.set_yticks([0, 0.5, 1])
        ax_c.set_ylabel("val. accuracy", color="tab:green")
        ax_c.tick_params(labelbottom=False)
        ax_l.set_xlabel("mini-batches trained")
        ax_l.set_ylabel("training loss", color="tab:orange")
        for ax in (ax_c, ax_l):
            ax.grid(alpha=0.3)
        self.c_title, self.c_acc = split_title(ax_c, 1.06, "validation accuracy now:", " 95.0%", 11)
        self.suptitle = fig.text(0.5, 0.97, "", ha="center", va="top", fontsize=12)
        self.live, self.panels, self.sprites = [], {}, [self.g_legend]

    def _row_names(self, show: list) -> None:
        """The fixed part of the row labels ("layer k: std"), made anew when the shown layers
        change (a new sprite), left of the std's slot."""
        if show == self._shown:
            return
        for t in self.row_names:
            t.remove()
        ax_h = self.ax_h
        self.row_names = [ax_h.text(0.99 - self._std_slot, row + 0.45, f"layer {k + 1}: std",
                                    transform=ax_h.get_yaxis_transform(), ha="right", va="center", fontsize=8)
                          for row, k in enumerate(show)]
        self._shown = show

    def update(self, state: FlowState):
        run = state.run
        ax_h, ax_g, ax_c, ax_l = self.ax_h, self.ax_g, self.ax_c, self.ax_l
        # 1. histograms, drawn in axes coordinates over [lo, hi]
        show = _layers_to_show(run.depth)
        self._row_names(show)
        vals = np.concatenate([state.outputs[i].ravel() for i in show])
        vals = vals[np.isfinite(vals)]
        lo, hi = np.percentile(vals, [0.5, 99.5]) if vals.size else (-1.0, 1.0)
        if not hi - lo > 1e-12 * max(1.0, abs(lo)):
            pad = 1e-3 + 0.1 * abs(lo)
            lo, hi = lo - pad, hi + pad
        bins = np.linspace(lo, hi, BINS + 1)
        xs_axes = np.r_[0.0, np.repeat(np.linspace(0, 1, BINS + 1), 2)[1:-1], 1.0]
        for row in range(SHOWN_LAYERS):
            poly, label = self.polys[row], self.row_labels[row]
            if row >= len(show):
                poly.set_visible(False)
                label.set_text("")
                continue
            v = state.outputs[show[row]].ravel()
            h, _ = np.histogram(v[np.isfinite(v)], bins=bins)
            top = np.sort(h)[-2] if h.size > 1 else h.max()
            scale = max(top if h.max() > 3 * max(top, 1) else h.max(), 1)   # a spike (ReLU's 0) is clipped
            hh = np.minimum(h / scale, 1.0) * 0.85
            ys = row + np.repeat(hh, 2)
            poly.set_xy(np.column_stack([xs_axes, np.r_[row, ys, row]]))
            poly.set_visible(True)
            std = float(np.std(v)) if np.isfinite(v).all() else float("nan")
            label.set_text(f"{std:.2g}")
        self.x_ends[0].set_text(_fmt(lo))
        self.x_ends[1].set_text(_fmt(hi))
        # 2. gradient norms
        g = state.grad_norms
        ok = np.isfinite(g) & (g > 0)
        if ok.any():
            glo, ghi = g[ok].min(), g[ok].max()
            g0 = run.initial_grads if run.initial_grads is not None else g
            g0ok = g0[np.isfinite(g0) & (g0 > 0)]
            if g0ok.size:
                glo, ghi = min(glo, g0ok.min()), max(ghi, g0ok.max())
            if state.grad_range is not None:
                glo, ghi = min(glo, state.grad_range[0]), max(ghi, state.grad_range[1])
            ylim = _decades(glo / 2.0, ghi * 2.0)
        else:
            ylim = (1e-3, 1.0)
        if ylim != self._g_ylim:
            ax_g.set_ylim(*ylim)
            self._g_ylim = ylim
        bottom = ylim[0]
        for k, bar in enumerate(self.bars):
            if k < run.depth and ok[k]:
                bar.set_y(bottom)
                bar.set_height(g[k] - bottom)
                bar.set_visible(True)
            else:
                bar.set_visible(False)
        layers = np.arange(1, run.depth + 1)
        if run.initial_grads is not None and run.step > 0:
            m = np.isfinite(run.initial_grads) & (run.initial_grads > 0)
            self.g0_line.set_data(layers[m], run.initial_grads[m])
        else:
            self.g0_line.set_data([], [])
        ratio = g[0] / g[-1] if ok[0] and ok[-1] else float("nan")
        self.g_ratio.set_text(f" {ratio:.2g}")
        self.g_note.set_text(f"gradient 0 or not finite in {int((~ok).sum())} layer(s)" if (~ok).any() else "")
        self.g_note.set_visible(bool((~ok).any()))   # not drawn at all when empty
        # 3. curves
        hist = run.history
        steps = np.array(hist["step"], dtype=float)
        acc = np.array(hist["val_acc"], dtype=float)
        loss = np.array(hist["loss"], dtype=float)
        self.acc_line.set_data(steps, acc)
        self.loss_line.set_data(steps, loss)
        # 50, 100, 200, 400 ... mini-batches: the axis (a panel) is redrawn at each doubling only
        end = 50.0 * 2.0 ** max(0, int(np.ceil(np.log2(max(steps.max(), 1.0) / 50.0)))) if steps.size else 50.0
        fin = loss[np.isfinite(loss)]
        ltop = max(2.5, float(np.ceil(min(fin.max(), 100.0) * 1.05 / 2.5) * 2.5)) if fin.size else 2.5
        if ax_c.get_xlim() != (0.0, end):
            ax_c.set_xlim(0.0, end)
        if ax_l.get_ylim() != (0.0, ltop):
            ax_l.set_ylim(0.0, ltop)
        self.c_acc.set_text(f" {acc[-1]:.1%}" if acc.size else " –")
        bn = "with batch norm" if run.batchnorm else "no batch norm"
        self.suptitle.set_text(f"Gradient flow: {INITS[run.init]}, {run.activation}, {run.depth} hidden layers "
                               f"of {run.weights[0]['W'].shape[1]}, {bn}, Adam lr {run.learning_rate:g}")
        self.live = [*self.polys, *self.row_labels, *self.row_names, *self.x_ends,
                     *in_draw_order(ax_g, [*self.bars, self.g0_line]), self.g_legend, self.g_note, self.g_ratio,
                     self.acc_line, self.c_acc, self.loss_line]
        self.sprites = [self.g_legend, *self.row_names]
        # the title changes with the configuration only: a panel, drawn into the background when it changes
        self.panels = {ax_g: ylim, ax_c: end, ax_l: (end, ltop), self.suptitle: self.suptitle.get_text()}
        return None


def render(state: FlowState):
    """The explorer's picture of ``state``. Returns a matplotlib Figure (the caller closes it)."""
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=FIGSIZE)
    FlowPicture(fig).update(state)
    return fig


# --------------------------------------------------------------------------- 3. the widget

class GradientFlowExplorer(Explorer):
    """Widget: choose initialisation, activation, depth, batch norm and learning rate; Train / Play.

    A control change shows the chosen configuration at once: where its run stopped if it was
    trained before (runs are cached per configuration), else its untrained network. **Train**
    trains ``steps_per_click`` mini-batches of the run's Keras model, **Play** the same on every
    tick, **Reset** starts the run again from fresh weights.

    Attributes: ``run`` (the current :class:`Run`), ``state`` (its :class:`FlowState`), ``png``,
    ``runs`` (the cache: configuration -> Run), ``timings``.
    """

    def __init__(self, init: str = "small", activation: str = "relu", depth: int = 20,
                 batchnorm: bool = False, learning_rate: float = 1e-3, steps_per_click: int = 5,
                 seed: int = 0):
        self._initial = _check_config(init, activation, depth, batchnorm, learning_rate)
        self.steps_per_click = _check_int("steps_per_click", steps_per_click, 1, 1000)
        self.seed = _check_int("seed", seed, 0, 2**31)
        self.runs = {}
        self._ranges = {}
        self.timings = {}
        self._last_tick_end = 0.0
        self.skipped_ticks = 0
        X, y, _, _ = load_probe_data()
        self._probe = (X[:PROBE], y[:PROBE])
        super().__init__()

    def _build_controls(self):
        W = self._W
        init, act, depth, bn, lr = self._initial
        self.init = W.Dropdown(options=[(label, key) for key, label in INITS.items()], value=init,
                               description="init")
        self.activation = W.Dropdown(options=list(ACTIVATIONS), value=act, description="activation")
        self.depth = W.IntSlider(value=depth, min=1, max=MAX_DEPTH, description="depth", continuous_update=False)
        self.batchnorm = W.Checkbox(value=bn, description="batch norm")
        self.lr = W.Dropdown(options=[("1e-4", 1e-4), ("3e-4", 3e-4), ("1e-3", 1e-3), ("3e-3", 3e-3),
                                      ("1e-2", 1e-2), ("3e-2", 3e-2), ("0.1", 0.1)],
                             value=lr if lr in (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1) else 1e-3,
                             description="Adam lr")
        for w in (self.init, self.activation, self.depth, self.batchnorm, self.lr):
            w.observe(self._on_setting, names="value")
        self.train_button = W.Button(description=f"Train {self.steps_per_click} batches", button_style="primary")
        self.train_button.on_click(self._on_train)
        self.reset_button = W.Button(description="Reset")
        self.reset_button.on_click(self._on_reset)
        self.play = W.Play(value=0, min=0, max=100000, step=1, interval=PLAY_INTERVAL_MS, description="Play")
        self.play.observe(self._on_play, names="value")
        self.controls = [W.HBox([self.init, self.activation, self.lr]),
                         W.HBox([self.depth, self.batchnorm]),
                         W.HBox([self.train_button, self.play, self.reset_button])]

    # callbacks: one method each
    def _on_setting(self, change):
        self.select()

    def _on_train(self, _button):
        self.train()

    def _on_reset(self, _button):
        self.reset()

    def _on_play(self, change):
        self.play_tick()

    # actions
    def config(self) -> tuple:
        return (self.init.value, self.activation.value, self.depth.value, bool(self.batchnorm.value),
                float(self.lr.value))

    def _current_run(self) -> Run:
        key = self.config()
        if key not in self.runs:
            run = draw_run(*key, seed=self.seed)
            first = flow(run, *self._probe)
            run.initial_grads = first.grad_norms
            run.history["step"].append(0)
            run.history["loss"].append(first.loss)
            _, _, Xv, yv = load_probe_data()
            run.history["val_acc"].append(accuracy(run, Xv, yv))
            self.runs[key] = run
        return self.runs[key]

    def select(self) -> None:
        """Show the configuration the controls name (cached run, or a fresh untrained one)."""
        self.refresh()

    def train(self, clicks: int = 1) -> float:
        """Train ``clicks`` × ``steps_per_click`` mini-batches, then redraw once."""
        clicks = _check_int("clicks", clicks, 1, 10_000)
        run = self._current_run()
        t0 = time.perf_counter()
        for _ in range(clicks):
            loss = train_run(run, self.steps_per_click, seed=self.seed)
        self.timings["train_s"] = time.perf_counter() - t0
        self.refresh()
        return loss

    def play_step(self):
        """One Play tick's work (:meth:`base.Explorer.play_tick` drops the ticks that queued up)."""
        self.train()

    def reset(self) -> None:
        """Forget the current configuration's run and start it from new random weights."""
        self.runs.pop(self.config(), None)
        self.seed += 1
        self.refresh()

    def grad_range(self, run: Run) -> tuple | None:
        """The smallest and largest gradient norm of ``run``'s configuration before training at
        depth 1 and :data:`MAX_DEPTH` (cached): the gradient axis covers them, so that moving the
        depth slider moves the bars, not the axis (which would be drawn again)."""
        key = (run.init, run.activation, run.batchnorm, self.seed)
        if key not in self._ranges:
            g = np.concatenate([flow(draw_run(run.init, run.activation, d, run.batchnorm, seed=self.seed),
                                     *self._probe).grad_norms for d in (1, MAX_DEPTH)])
            g = g[np.isfinite(g) & (g > 0)]
            self._ranges[key] = (float(g.min()), float(g.max())) if g.size else None
        return self._ranges[key]

    def compute(self) -> FlowState:
        with one_blas_thread():   # (256, 32) products: a second thread only waits (env.one_blas_thread)
            run = self._current_run()
            self.run = run
            self.state = flow(run, *self._probe)
            self.state.grad_range = self.grad_range(run)
        return self.state

    def refresh(self) -> bytes:
        t0 = time.perf_counter()
        png = super().refresh()
        self.timings["render_s"] = time.perf_counter() - t0
        run = self.run
        acc = run.history["val_acc"][-1]
        self.status.value = (f"{run.step} mini-batches of {BATCH} digits trained · validation accuracy {acc:.1%} · "
                             f"{len(self.runs)} configuration(s) kept")
        return png

    def render(self):
        return render(self.compute())

    def render_png(self):
        return self.frame_png(FlowPicture, self.compute())
