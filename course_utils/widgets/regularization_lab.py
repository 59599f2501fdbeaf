"""Regularization lab (notebook 08): L2 strength, dropout rate and early-stopping patience
on a small MNIST training set, with a real Keras model behind it.

Three layers, as every widget of the course:

1. pure parts: :func:`lab_data` (500 training and 1,000 validation images of the bundled
   MNIST 5k, flattened), :func:`early_stop_point` (what ``EarlyStopping(patience,
   restore_best_weights=True)`` would do with a validation-loss curve) and :class:`LabRun`
   (one setting: a ``keras.Sequential`` 784-128-128-10 with ``kernel_regularizer=L2(l2)`` and
   ``Dropout(rate)`` after each hidden layer, trained mini-batch by mini-batch with Adam by
   one traced train step; at each epoch's end it records training and validation loss in
   inference mode and the first layer's weights, and after each call one batch of hidden
   activations through a real ``Dropout`` layer with ``training=True`` and ``training=False``);
2. :func:`render` ``(run, patience, reference) -> Figure``: loss curves with the early stop
   and the restored epoch, a histogram of the first layer's weights (against the
   unregularized run, or the initial weights), and the dropout mask in training vs
   inference; drawn by :class:`LabPicture`, which the widget keeps: every axis is fixed, so a
   frame only redraws lines, bars and images, and pastes the texts that did not change
   (:class:`~course_utils.widgets.base.Frame`, :class:`~course_utils.widgets.base.TextStamp`);
3. :class:`RegularizationLab`, the thin widget. A control change shows what is already known
   of that setting at once (its trained epochs are kept, settings are cached); training runs
   in chunks of epochs on **Train**, and :data:`STEPS_PER_TICK` mini-batches on each **Play**
   tick (about 25 ms of CPU a tick, 50 ms when an epoch ends: 10 frames/s on 2 cores).

Example
-------
>>> lab = RegularizationLab(l2=1e-3, rate=0.3)
>>> lab.train(20)              # or press Train / Play
>>> lab                        # the widget (a static PNG when run headless)
"""
from __future__ import annotations

import html
import time

import numpy as np

from .base import Explorer, TextStamp, in_draw_order

__all__ = ["L2_OPTIONS", "RATE_OPTIONS", "MAX_EPOCHS", "STEPS_PER_TICK", "lab_data", "early_stop_point", "LabRun",
           "LabPicture", "render", "RegularizationLab"]

L2_OPTIONS = (0.0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2)
RATE_OPTIONS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7)
MAX_EPOCHS = 60        # a run stops here (the curves' x-axis is fixed to it)
HIDDEN = 128
MASK_ROWS, MASK_UNITS = 12, 48   # the dropout picture: images x hidden units
LOSS_TOP = 1.5                   # the loss axis is fixed: curves above it are clipped
W_RANGE = 0.25                   # the weight histogram's range
STEPS_PER_TICK = 2               # mini-batches per Play tick (an epoch of 500 images is 5)
QUEUED_TICK_S = 0.01             # a Play tick this soon after the last frame waited for it: skipped

_DATA = {}


def lab_data(n_train: int = 500, n_val: int = 1000, seed: int = 0):
    """``(X_train, y_train, X_val, y_val)``: bundled MNIST 5k, flattened to 784, scaled to 0-1.

    A fixed shuffle (``seed``) takes ``n_train`` training and the next ``n_val`` validation
    images; the arrays are cached and shared by every run.
    """
    for name, v in (("n_train", n_train), ("n_val", n_val)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 10:
            raise ValueError(f"{name} must be an int >= 10, got {v!r}")
    if n_train + n_val > 5000:
        raise ValueError(f"n_train + n_val must be at most 5,000 (the bundled MNIST), got {n_train + n_val}")
    key = (int(n_train), int(n_val), int(seed))
    if key not in _DATA:
        from .. import data
        ds = data.load("mnist", source="bundled", verbose=False)
        order = np.random.default_rng(seed).permutation(len(ds.y))
        X = ds.X.reshape(len(ds.y), -1).astype("float32") / 255.0
        tr, va = order[:n_train], order[n_train:n_train + n_val]
        _DATA[key] = (X[tr], ds.y[tr].astype("int64"), X[va], ds.y[va].astype("int64"))
    return _DATA[key]


def early_stop_point(val_losses, patience: int):
    """What ``EarlyStopping(monitor="val_loss", patience, restore_best_weights=True)`` does.

    Returns ``(stopped, restored)``, epochs numbered from 1: ``stopped`` is the epoch after
    which training stops (None if it would not have stopped within the curve) and
    ``restored`` the best epoch up to then, whose weights the model keeps (None for an empty
    curve). An equal loss is not an improvement.
    """
    if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 0:
        raise ValueError(f"patience must be an int >= 0, got {patience!r}")
    best, best_epoch, wait = np.inf, None, 0
    for epoch, loss in enumerate(val_losses, start=1):
        wait += 1
        if loss < best:
            best, best_epoch, wait = loss, epoch, 0
        elif wait >= patience and epoch > 1:
            return epoch, best_epoch
    return None, best_epoch


def _check_option(name, value, options):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, one of {options}, got {value!r}") from None
    for o in options:
        if np.isclose(v, o, rtol=1e-9, atol=1e-12):
            return o
    raise ValueError(f"{name} must be one of {options}, got {value!r}"
                     + (" (hint: a keep-probability of 0.7 is rate=0.3)" if name == "rate" else ""))


class LabRun:
    """One setting of the lab, trained mini-batch by mini-batch (layer 1: Keras, no ipywidgets).

    Every run starts from the same initial weights (``seed``), sees the same batches in the
    same order and is trained by Adam (learning rate ``lr``, batch ``batch``) on the data
    loss plus the L2 penalty, exactly what ``compile`` + ``fit`` would minimise, with one
    traced train step (``tf.function``). After each epoch's last mini-batch it records, in
    inference mode (no dropout, no penalty), the cross-entropy and accuracy on the training
    and validation images: the curves per epoch are the same however the epochs are cut into
    calls (:meth:`train_steps` of any size, or :meth:`train`).
    """

    def __init__(self, l2: float = 0.0, rate: float = 0.0, seed: int = 0, lr: float = 1e-3,
                 batch: int = 100, data=None):
        self.l2 = _check_option("l2", l2, L2_OPTIONS)
        self.rate = _check_option("rate", rate, RATE_OPTIONS)
        self.seed, self.lr, self.batch = int(seed), float(lr), int(batch)
        self.data = data if data is not None else lab_data()
        self.model = None
        self.history = {k: [] for k in ("train_loss", "val_loss", "train_acc", "val_acc")}
        self.kernel = initial_kernel(self.seed)    # first layer's weights at the last epoch's end
        self.best_kernel = self.kernel
        self.masks = None                           # (training, inference) hidden activations
        self._pos = 0                               # images of the current epoch already trained on
        self._perm = None

    @property
    def epoch(self) -> int:
        """Epochs completed (and recorded)."""
        return len(self.history["val_loss"])

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.data[1]) // self.batch)

    @property
    def step_in_epoch(self) -> int:
        """Mini-batches of the current, unfinished epoch already trained on."""
        return -(-self._pos // self.batch)

    def _build(self):
        import keras
        import tensorflow as tf
        reg = keras.regularizers.L2(self.l2) if self.l2 else None
        layers = [keras.Input((784,))]
        for i in range(2):
            layers.append(keras.layers.Dense(HIDDEN, activation="relu", kernel_regularizer=reg))
            layers.append(keras.layers.Dropout(self.rate, seed=self.seed + i))
        layers.append(keras.layers.Dense(10, activation="softmax", kernel_regularizer=reg))
        self.model = model = keras.Sequential(layers)
        model.set_weights(_initial_weights(self.seed))
        self.optimizer = opt = keras.optimizers.Adam(self.lr)
        self.loss_fn = loss_fn = keras.losses.SparseCategoricalCrossentropy()
        self._order = np.random.default_rng(self.seed)
        # the picture's dropout layer: the same rate, its own seed, so that drawing a mask
        # never changes the masks training draws (the curves do not depend on the picture)
        self.probe_dropout = drop = keras.layers.Dropout(self.rate, seed=self.seed + 100)

        @tf.function(reduce_retracing=True)
        def step(x, y):
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
                if model.losses:
                    loss = loss + tf.add_n(model.losses)   # the L2 penalties of the kernels
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply(grads, model.trainable_variables)
            return loss

        @tf.function(reduce_retracing=True)
        def predict(x):
            return model(x, training=False)

        @tf.function(reduce_retracing=True)
        def probe(x):
            h = model.layers[0](x)
            return drop(h, training=True), drop(h, training=False)

        self._step, self._predict, self._probe = step, predict, probe
        Xtr, _, Xva, _ = self.data
        self._X_all = np.concatenate([Xtr, Xva])

    def train_steps(self, steps: int = 1) -> int:
        """Train ``steps`` more mini-batches (not past :data:`MAX_EPOCHS`); an epoch that ends
        is recorded. Returns the number of epochs completed."""
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"steps must be an int >= 1, got {steps!r}")
        if self.model is None:
            self._build()
        Xtr, ytr = self.data[:2]
        n, done = len(ytr), 0
        for _ in range(steps):
            if self.epoch >= MAX_EPOCHS:
                break
            if self._pos == 0:
                self._perm = self._order.permutation(n)
            idx = self._perm[self._pos:self._pos + self.batch]
            self._step(Xtr[idx], ytr[idx])
            self._pos += len(idx)
            if self._pos >= n:
                self._pos = 0
                self._record()
                done += 1
        self._look()
        return done

    def train(self, epochs: int = 1) -> None:
        """Train ``epochs`` more epochs (up to :data:`MAX_EPOCHS`; an unfinished epoch counts
        as one) and record the curves."""
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
        target = min(self.epoch + int(epochs), MAX_EPOCHS)
        while self.epoch < target:
            self.train_steps(self.steps_per_epoch - self.step_in_epoch)

    def _record(self):
        """The end of an epoch: losses and accuracies in inference mode."""
        Xtr, ytr, Xva, yva = self.data
        p_all = np.asarray(self._predict(self._X_all))
        for part, p, y in (("train", p_all[:len(ytr)], ytr), ("val", p_all[len(ytr):], yva)):
            self.history[f"{part}_loss"].append(float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1)).mean()))
            self.history[f"{part}_acc"].append(float((p.argmax(axis=1) == y).mean()))
        self.kernel = np.asarray(self.model.layers[0].kernel)
        if self.history["val_loss"][-1] <= min(self.history["val_loss"]):
            self.best_kernel = self.kernel

    def _look(self):
        """One batch of first-layer activations through a real ``Dropout`` layer of this rate,
        in training (a new mask each call) and at inference."""
        tr, inf = self._probe(self.data[2][:MASK_ROWS])
        self.masks = (np.asarray(tr)[:, :MASK_UNITS], np.asarray(inf)[:, :MASK_UNITS])


_INIT = {}


def _initial_weights(seed: int):
    """The initial weights every run of this seed starts from (Glorot uniform, zero biases)."""
    if seed not in _INIT:
        rng = np.random.default_rng(seed)
        ws = []
        for d_in, d_out in ((784, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, 10)):
            lim = np.sqrt(6 / (d_in + d_out))
            ws += [rng.uniform(-lim, lim, (d_in, d_out)).astype("float32"), np.zeros(d_out, "float32")]
        _INIT[seed] = ws
    return _INIT[seed]


def initial_kernel(seed: int = 0) -> np.ndarray:
    return _initial_weights(seed)[0]


# --------------------------------------------------------------------------- picture

FIGSIZE = (13.0, 3.9)
BINS = np.linspace(-W_RANGE, W_RANGE, 51)


def _hist(w):
    counts, _ = np.histogram(np.clip(w, -W_RANGE, W_RANGE), bins=BINS)
    return counts / max(1, w.size) / (BINS[1] - BINS[0])





class LabPicture:
    """The lab's figure, built once and updated in place (layer 2).

    Every axis has fixed limits for the whole run (the loss axis 0-:data:`LOSS_TOP`, x = 0 to
    :data:`MAX_EPOCHS`), so ticks, labels and grids are background and :attr:`live` lists only
    what changes: the curves and markers, the histograms, the two mask images (with the
    spines and legends that lie over them) and the texts. The curves, the early-stopping
    markers, the weights and the texts change once an epoch (or with a control); a Play tick
    that trains part of an epoch changes only the dropout mask and the "training now"
    marker, and its texts are pasted (:class:`~course_utils.widgets.base.TextStamp`), not drawn.
    """

    def __init__(self, fig):
        self.fig = fig
        fig.set_size_inches(*FIGSIZE)
        gs = fig.add_gridspec(1, 4, width_ratios=[1.35, 1.0, 0.75, 0.75])
        ax = self.ax = fig.add_subplot(gs[0])
        bx = self.bx = fig.add_subplot(gs[1])
        cx = self.cx = fig.add_subplot(gs[2])
        dx = self.dx = fig.add_subplot(gs[3])
        (self.l_train,) = ax.plot([], [], "-", color="C0", lw=1.8, label="training loss")
        (self.l_val,) = ax.plot([], [], "-", color="C1", lw=1.8, label="validation loss")
        self.v_stop = ax.axvline(-10, color="red", ls=":", lw=1.5, label="early stop")
        self.v_best = ax.axvline(-10, color="green", ls="--", lw=1.5, label="restored (best)")
        (self.l_now,) = ax.plot([-10], [0.0], marker="^", ms=9, color="0.25", ls="none", clip_on=False,
                                label="training now")
        self.gap_text = ax.text(0.97, 0.55, "", transform=ax.transAxes, ha="right", va="center", fontsize=9,
                                bbox=dict(facecolor="white", edgecolor="0.8", alpha=0.9))
        ax.set_xlim(0, MAX_EPOCHS)
        ax.set_ylim(0, LOSS_TOP)
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy (no penalty, no dropout)")
        ax.grid(alpha=0.3)
        self.c_legend = ax.legend(loc="upper right", fontsize=8)
        ax.set_title(" ", fontsize=10)
        self.h_ref = bx.stairs(_hist(initial_kernel()), BINS, color="0.4", lw=1.2, label="reference")
        self.h_now = bx.stairs(_hist(initial_kernel()), BINS, color="C2", lw=0, fill=True, alpha=0.6,
                               label="this setting")
        self.w_text = bx.text(0.03, 0.97, "", transform=bx.transAxes, ha="left", va="top", fontsize=8.5)
        bx.set_xlim(-W_RANGE, W_RANGE)
        bx.set_ylim(0, 32)
        bx.set_xlabel("first-layer weight")
        bx.set_ylabel("density")
        self.h_legend = bx.legend(loc="upper right", fontsize=8)
        bx.set_title(" ", fontsize=10)
        blank = np.zeros((MASK_ROWS, MASK_UNITS))
        self.i_train = cx.imshow(blank, cmap="magma", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        self.i_inf = dx.imshow(blank, cmap="magma", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        for a in (cx, dx):
            a.set_xlabel(f"hidden unit (first {MASK_UNITS})")
        cx.set_ylabel("validation image")
        dx.set_yticks([])
        cx.set_title(" ", fontsize=10)
        dx.set_title(" ", fontsize=10)
        fig.subplots_adjust(left=0.05, right=0.99, bottom=0.14, top=0.84, wspace=0.3)
        self.suptitle = fig.suptitle(" ", fontsize=11)
        st = self.stamps = {id(t): TextStamp(t) for t in (ax.title, bx.title, cx.title, dx.title, self.suptitle,
                                                        self.gap_text, self.w_text)}

        def order(axes, artists):
            return [st.get(id(a), a) for a in in_draw_order(axes, artists)]

        # live parts in drawing order, with what lies over them (spines, legends) redrawn after them
        self.live = (order(ax, [self.l_train, self.l_val, self.v_stop, self.v_best, self.l_now, self.gap_text,
                                self.c_legend, *ax.spines.values()]) + [st[id(ax.title)]]
                     + order(bx, [self.h_ref, self.h_now, self.w_text, self.h_legend, *bx.spines.values()])
                     + [st[id(bx.title)]]
                     + order(cx, [self.i_train, *cx.spines.values()]) + [st[id(cx.title)]]
                     + order(dx, [self.i_inf, *dx.spines.values()]) + [st[id(dx.title)], st[id(self.suptitle)]])
        self.sprites = [self.h_legend, self.c_legend]

    def update(self, run: LabRun, patience: int, reference: LabRun | None = None):
        h = run.history
        e = np.arange(1, run.epoch + 1)
        self.l_train.set_data(e, np.minimum(h["train_loss"], LOSS_TOP * 1.2))
        self.l_val.set_data(e, np.minimum(h["val_loss"], LOSS_TOP * 1.2))
        stopped, best = early_stop_point(h["val_loss"], patience)
        self.v_stop.set_xdata([stopped if stopped else -10] * 2)
        self.v_best.set_xdata([best if best else -10] * 2)
        now = run.epoch + run.step_in_epoch / run.steps_per_epoch
        self.l_now.set_xdata([now if now else -10])
        self.ax.set_title(f"losses per epoch; early stopping, patience {patience}", fontsize=10)
        if run.epoch:
            k = (best if stopped else run.epoch) - 1
            gap = h["val_loss"][k] - h["train_loss"][k]
            head = (f"stops after epoch {stopped}, keeps epoch {k + 1}" if stopped
                    else f"epoch {k + 1}, not stopped yet")
            self.gap_text.set_text(f"{head}\ngap {gap:.3f}, validation accuracy {h['val_acc'][k]:.1%}")
        elif run.step_in_epoch:
            self.gap_text.set_text("first epoch under way")
        else:
            self.gap_text.set_text("not trained yet:\npress Train or Play")
        kernel = run.best_kernel if stopped else run.kernel
        self.h_now.set_data(_hist(kernel))
        if reference is not None and reference is not run and reference.epoch:
            ref_kernel, ref_name = reference.kernel, f"λ=0, rate 0 after {reference.epoch} epochs"
        else:
            ref_kernel, ref_name = initial_kernel(run.seed), "the initial weights"
        self.h_ref.set_data(_hist(ref_kernel))
        self.bx.set_title(f"first-layer weights; reference:\n{ref_name}", fontsize=10)
        self.w_text.set_text(f"mean |w|\n{np.abs(kernel).mean():.4f}\nref. {np.abs(ref_kernel).mean():.4f}")
        if run.masks is not None:
            tr, inf = run.masks
            top = max(float(inf.max()), 1e-6) / max(1e-6, 1 - run.rate) if run.rate else max(float(inf.max()), 1e-6)
            self.i_train.set_data(tr / top)
            self.i_inf.set_data(inf / top)
        else:
            blank = np.zeros((MASK_ROWS, MASK_UNITS))
            self.i_train.set_data(blank)
            self.i_inf.set_data(blank)
        if run.rate:
            self.cx.set_title(f"training: Dropout({run.rate:g}), a new\nmask each step, the rest ×{1 / (1 - run.rate):.2f}",
                              fontsize=10)
        else:
            self.cx.set_title("training: Dropout(0)\ndrops nothing", fontsize=10)
        self.dx.set_title("inference: the identity\n(nothing dropped or scaled)", fontsize=10)
        self.suptitle.set_text(f"L2(λ={run.l2:g}) on every kernel, Dropout(rate={run.rate:g}) = keep-probability "
                               f"{1 - run.rate:.1f}; {len(run.data[1])} training images")
        return None   # every axis is fixed: the background never changes


def render(run: LabRun, patience: int = 5, reference: LabRun | None = None):
    """Figure of one run: curves and early stop, weight histogram, dropout in training vs inference."""
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=FIGSIZE)
    LabPicture(fig).update(run, patience, reference)
    return fig


# --------------------------------------------------------------------------- widget

class RegularizationLab(Explorer):
    """The lab: choose L2 λ, dropout rate and early-stopping patience; Train or Play.

    Parameters
    ----------
    l2, rate : float     the initial setting (one of :data:`L2_OPTIONS`, :data:`RATE_OPTIONS`)
    patience : int       early-stopping patience shown (1-20); it only reads the curves
    chunk : int          epochs per click of Train
    steps : int          mini-batches per Play tick (:data:`STEPS_PER_TICK`; an epoch is 5 of
                         100 images): a tick trains them, records an epoch that ends, and
                         draws the weights and a dropout mask of this step
    epochs : int         epochs trained before the first picture (0: none)
    """

    def __init__(self, l2: float = 1e-3, rate: float = 0.3, patience: int = 5, chunk: int = 5, epochs: int = 0,
                 steps: int | None = None):
        self._l2 = _check_option("l2", l2, L2_OPTIONS)
        self._rate = _check_option("rate", rate, RATE_OPTIONS)
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or not 1 <= patience <= 20:
            raise ValueError(f"patience must be an int in [1, 20], got {patience!r}")
        if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or not 1 <= chunk <= MAX_EPOCHS:
            raise ValueError(f"chunk must be an int in [1, {MAX_EPOCHS}], got {chunk!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or not 0 <= epochs <= MAX_EPOCHS:
            raise ValueError(f"epochs must be an int in [0, {MAX_EPOCHS}], got {epochs!r}")
        steps = STEPS_PER_TICK if steps is None else steps
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= 100:
            raise ValueError(f"steps must be an int in [1, 100], got {steps!r}")
        self._patience0, self._chunk, self._steps = int(patience), int(chunk), int(steps)
        self.runs = {}
        self._last_tick = 0.0
        if epochs:
            self.run.train(epochs)
        super().__init__()

    @property
    def run(self) -> LabRun:
        """The run of the current setting (made on first use, kept while the widget lives)."""
        key = (self._l2, self._rate)
        if key not in self.runs:
            self.runs[key] = LabRun(*key)
        return self.runs[key]

    def _build_controls(self):
        W = self._W
        style = {"description_width": "120px"}
        lay = W.Layout(width="360px")
        self.w_l2 = W.SelectionSlider(options=[(f"{v:g}", v) for v in L2_OPTIONS], value=self._l2,
                                      description="L2 strength λ", style=style, layout=lay)
        self.w_rate = W.SelectionSlider(options=[(f"{v:g}", v) for v in RATE_OPTIONS], value=self._rate,
                                        description="dropout rate", style=style, layout=lay)
        self.w_patience = W.IntSlider(value=self._patience0, min=1, max=20, description="ES patience",
                                      style=style, layout=lay)
        self.w_train = W.Button(description=f"Train {self._chunk} epochs", icon="step-forward")
        self.w_reset = W.Button(description="Reset this setting", icon="refresh")
        ticks = -(-MAX_EPOCHS * self.run.steps_per_epoch // self._steps)   # enough to train to the end
        self.w_play = W.Play(value=0, min=0, max=ticks, step=1, interval=80, description="play")
        self.w_l2.observe(self._on_setting, names="value")
        self.w_rate.observe(self._on_setting, names="value")
        self.w_patience.observe(self._on_patience, names="value")
        self.w_train.on_click(self._on_train)
        self.w_reset.on_click(self._on_reset)
        self.w_play.observe(self._on_play, names="value")
        self.controls = [W.HBox([W.VBox([self.w_l2, self.w_rate, self.w_patience]),
                                 W.VBox([W.HBox([self.w_train, self.w_reset]), self.w_play])])]

    # -- callbacks: one method each ---------------------------------------------------
    def _on_setting(self, change):
        self.select(self.w_l2.value, self.w_rate.value)

    def _on_patience(self, change):
        self.refresh()

    def _on_train(self, _button):
        self.train()

    def _on_reset(self, _button):
        self.reset()

    def _on_play(self, change):
        self.play_tick(change["new"])

    # -- actions ---------------------------------------------------------------------
    def select(self, l2: float, rate: float) -> None:
        """Show the setting (l2, rate): what is known of it at once; nothing is trained."""
        self._l2 = _check_option("l2", l2, L2_OPTIONS)
        self._rate = _check_option("rate", rate, RATE_OPTIONS)
        self.refresh()

    def train(self, epochs: int | None = None) -> None:
        """Train the current setting ``epochs`` more epochs (default: the Train chunk), redraw."""
        self.run.train(self._chunk if epochs is None else epochs)
        self.refresh()

    def reset(self) -> None:
        """Forget the current setting's training: back to the initial weights."""
        self.runs.pop((self._l2, self._rate), None)
        self.refresh()

    def play_tick(self, value: int) -> None:
        """One Play tick: ``steps`` mini-batches (ticks that waited behind a frame are skipped)."""
        now = time.perf_counter()
        if not value or now - self._last_tick < QUEUED_TICK_S:
            return
        if self.run.epoch < MAX_EPOCHS:
            self.run.train_steps(self._steps)
        self.refresh()
        self._last_tick = time.perf_counter()

    # -- picture -----------------------------------------------------------------------
    @property
    def reference(self):
        return self.runs.get((0.0, 0.0))

    def render(self):
        self._update_status()
        return render(self.run, self.w_patience.value, self.reference)

    def render_png(self):
        self._update_status()
        patience = self.w_patience.value if hasattr(self, "w_patience") else self._patience0
        return self.frame_png(LabPicture, self.run, patience, self.reference)

    def _update_status(self):
        run = self.run
        if not run.epoch:
            self.status.value = "<i>This setting is not trained yet: press Train or Play.</i>"
            return
        h = run.history
        patience = self.w_patience.value if hasattr(self, "w_patience") else self._patience0
        stopped, best = early_stop_point(h["val_loss"], patience)
        rows = []
        for label, k in (("last epoch", run.epoch - 1), ("best epoch (restored by early stopping)", best - 1)):
            rows.append(f"<tr><td>{html.escape(label)} {k + 1}</td><td>{h['train_loss'][k]:.3f}</td>"
                        f"<td>{h['val_loss'][k]:.3f}</td><td>{h['val_loss'][k] - h['train_loss'][k]:.3f}</td>"
                        f"<td>{h['val_acc'][k]:.1%}</td></tr>")
        stop = f"early stopping stops after epoch {stopped}" if stopped else "early stopping has not stopped yet"
        dropped = ""
        if run.masks is not None and run.rate:
            tr, inf = run.masks
            share = float(np.mean((tr == 0) & (inf != 0)) / max(np.mean(inf != 0), 1e-9))
            dropped = f"; this step's mask dropped {share:.0%} of the active units shown (rate {run.rate:g})"
        self.status.value = (f"<table><tr><th></th><th>train loss</th><th>val loss</th><th>gap</th>"
                             f"<th>val acc</th></tr>{''.join(rows)}</table>{stop}{dropped}; "
                             f"trained settings: {len([r for r in self.runs.values() if r.epoch])}")
