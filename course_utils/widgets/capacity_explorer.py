"""Capacity explorer (notebook 07): width, depth, training-set size and epochs, on real digits.

A real Keras MLP (``Dense`` ReLU layers, a 10-logit output, Adam) learns the 8x8 digits of
``sklearn`` from a stratified training subset; after every epoch both losses are measured on
all the training images and on a fixed validation set. The picture: the current run's
learning curves, and a **validation map**, the validation loss at the chosen epoch for every
width × training-set size trained so far (for the chosen depth), with the map's optimum starred.

Three layers:

- pure (Keras, no ipywidgets): :func:`digits_split` (the notebook's split), :class:`CurveRun`
  (one configuration, trained in chunks by a compiled loop that calls the model directly,
  traced once per architecture and shared by its runs),
  :class:`RunBook` (every run so far, keyed by ``(depth, width, n_train)``);
- :func:`render` ``(book, state) -> Figure``, drawn by :class:`CapacityPicture`, which the
  widget keeps: a control change only moves curves, the map's colours and texts;
- :class:`CapacityExplorer`, the thin widget. Width, depth, size and epoch controls show what
  is known at once (the runs already trained, the notebook's sweep); **Train** adds a chunk of
  epochs to the current configuration, **Play** repeats it and, with "sweep" ticked, moves on to
  the next untrained cell of the map when a run is complete.

Example
-------
>>> book = RunBook(digits_split(seed=0))
>>> run = book.get(1, 32, 200)      # depth 1, width 32, 200 training images (built, untrained)
>>> run.train(20)                   # 20 epochs; run.history["val_loss"] has 20 values
>>> CapacityExplorer(book=book)     # in a notebook: the widget, with that run already known
"""
from __future__ import annotations

import html
import math
import threading
import time
from dataclasses import dataclass

import numpy as np

from .base import Explorer, TextStamp

__all__ = ["WIDTHS", "DEPTHS", "SIZES", "MAX_EPOCHS", "digits_split", "digits_test", "chunk_epochs",
           "CurveRun", "RunBook", "State", "render", "CapacityPicture", "CapacityExplorer"]

WIDTHS = (2, 4, 8, 16, 32, 64, 128, 256)
DEPTHS = (1, 2, 3)
SIZES = (50, 100, 200, 400, 1077)     # 1077: the whole training pool of digits_split
MAX_EPOCHS = 100
BATCH_SIZE = 32
LEARNING_RATE = 2e-3
PLAY_INTERVAL_MS = 90     # a frame (a chunk of epochs and the picture) takes 40-75 ms on 2 cores
QUEUED_TICK_S = 0.015   # a Play tick this soon after a frame waited for it (base.Explorer.play_tick)
VMIN, VMAX = 0.05, 2.5               # the map's colour range (validation cross-entropy, log scale)
CHANCE = math.log(10)


# --------------------------------------------------------------------------- data

def _split(seed: int):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y)
    X_pool, X_val, y_pool, y_val = train_test_split(X_rest, y_rest, test_size=0.25, random_state=seed,
                                                    stratify=y_rest)
    return X_pool, y_pool, X_val, y_val, X_test, y_test


def digits_split(seed: int = 0) -> dict:
    """sklearn's 1,797 digits (8x8, scaled to 0–1, flattened to 64), split three ways.

    20% test (kept out: :func:`digits_test` gives it), then 25% of the rest for validation:
    returns ``{"X_pool", "y_pool"}`` (1,077 training images; runs train on stratified nested
    subsets of them, :func:`course_utils.scratch.nested_subsets`), ``{"X_val", "y_val"}``
    (360) and ``"seed"``. No array of the test part is returned.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    X_pool, y_pool, X_val, y_val, _, _ = _split(int(seed))
    return {"X_pool": X_pool, "y_pool": y_pool, "X_val": X_val, "y_val": y_val, "seed": int(seed)}


def digits_test(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The 360 test images and labels of :func:`digits_split` with the same ``seed``."""
    _, _, _, _, X_test, y_test = _split(int(seed))
    return X_test, y_test


def chunk_epochs(n_train: int, batch_size: int = BATCH_SIZE, steps: int = 160) -> int:
    """Epochs in one Train/Play chunk: about ``steps`` updates, 1 to 10 epochs."""
    per_epoch = math.ceil(n_train / batch_size)
    return int(max(1, min(10, steps // per_epoch)))


# --------------------------------------------------------------------------- one run

def _seeded_mlp(n_features: int, hidden: tuple, seed: int):
    """``mlp(n_features, hidden, 10 logits)`` with the initial weights that
    ``keras.utils.set_random_seed(seed)`` gives (tested), without resetting TensorFlow's global
    seed: that empties TensorFlow's caches, and the next call of any compiled function (the
    shared training loop, see ``_Engine``) then costs a third of a second. Keras draws its
    initializers' seeds from Python's ``random``; its state is put back afterwards."""
    import random
    from ..models import mlp
    state = random.getstate()
    random.seed(seed)
    try:
        return mlp(n_features, hidden=hidden, outputs=10, name="capacity_mlp")
    finally:
        random.setstate(state)


class CurveRun:
    """One configuration (``hidden`` widths, ``n_train`` images) trained in chunks of epochs.

    The model is a real ``keras.Sequential`` (:func:`course_utils.models.mlp` with 10 logits);
    :meth:`train` runs epochs of mini-batch Adam in one compiled TensorFlow loop that calls the
    model directly, and records after each epoch the cross-entropy on all ``n_train`` training
    images (``history["loss"]``, with the weights of that moment: ``fit``'s ``loss`` averages
    the epoch's batches instead), on the validation images (``"val_loss"``) and the validation
    accuracy. Reproducible: the initial weights come from ``seed`` and each epoch's batch order
    from a NumPy generator seeded with it.
    """

    def __init__(self, data: dict, hidden, n_train: int, seed: int = 0, lr: float = LEARNING_RATE,
                 batch_size: int = BATCH_SIZE, subset=None):
        import keras
        from ..scratch.generalization import nested_subsets
        hidden = tuple(hidden)
        if not hidden or not all(isinstance(h, (int, np.integer)) and h > 0 for h in hidden):
            raise ValueError(f"hidden must be a non-empty tuple of positive widths like (32, 32), got {hidden!r}")
        n_pool = len(data["y_pool"])
        if not isinstance(n_train, (int, np.integer)) or not 1 <= n_train <= n_pool:
            raise ValueError(f"n_train must be an int in [1, {n_pool}], got {n_train!r}")
        if not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.hidden, self.n_train, self.seed = hidden, int(n_train), int(seed)
        self.lr, self.batch_size = float(lr), int(batch_size)
        if subset is None:
            sizes = sorted(set(SIZES) | {self.n_train})
            subset = nested_subsets(data["y_pool"], [s for s in sizes if s <= n_pool], seed=seed)[
                [s for s in sizes if s <= n_pool].index(self.n_train)]
        self.subset = np.asarray(subset)
        self.X = np.ascontiguousarray(data["X_pool"][self.subset], dtype=np.float32)
        self.y = np.asarray(data["y_pool"][self.subset], dtype=np.int32)
        self.X_val = np.asarray(data["X_val"], dtype=np.float32)
        self.y_val = np.asarray(data["y_val"], dtype=np.int32)
        self.model = _seeded_mlp(self.X.shape[1], hidden, self.seed)
        self.optimizer = keras.optimizers.Adam(learning_rate=self.lr)
        self.optimizer.build(self.model.trainable_variables)
        self._rng = np.random.default_rng(self.seed)
        self.history = {"loss": [], "val_loss": [], "val_accuracy": []}
        self.best_val, self.best_epoch = float("inf"), 0
        self._best_vars = None   # the weights of the best epoch, copied inside the compiled loop
        self.seconds = 0.0

    @property
    def epoch(self) -> int:
        return len(self.history["loss"])

    @property
    def best_weights(self):
        """The weights (``get_weights`` order) of the best validation epoch so far, or None."""
        if self._best_vars is None or not self.best_epoch:
            return None
        return [v.numpy() for v in self._best_vars]

    @property
    def params(self) -> int:
        return int(self.model.count_params())

    def train(self, epochs: int, perms=None) -> dict:
        """Train ``epochs`` more epochs; ``perms`` (epochs, n_train) fixes the batch order
        (default: a fresh permutation per epoch). Keeps the weights of the best validation
        epoch so far (:meth:`restore_best`). Returns the last epoch's numbers."""
        import tensorflow as tf
        if not isinstance(epochs, (int, np.integer)) or isinstance(epochs, bool) or not 1 <= epochs <= 10_000:
            raise ValueError(f"epochs must be an int in [1, 10000], got {epochs!r}")
        if perms is None:
            perms = np.stack([self._rng.permutation(self.n_train) for _ in range(epochs)])
        perms = np.asarray(perms, dtype=np.int32)
        if perms.shape != (epochs, self.n_train):
            raise ValueError(f"perms must have shape ({epochs}, {self.n_train}), got {perms.shape}")
        t0 = time.perf_counter()
        engine = _engine(self.hidden, self.lr, self.batch_size, self.X.shape[1])
        if self._best_vars is None:
            self._best_vars = [tf.Variable(w, trainable=False) for w in self.model.weights]
        rows = engine.train(self, perms)
        for loss, val_loss, val_acc in rows:
            self.history["loss"].append(float(loss))
            self.history["val_loss"].append(float(val_loss))
            self.history["val_accuracy"].append(float(val_acc))
            if val_loss < self.best_val:   # the same comparison (float32) as the compiled loop's
                self.best_val, self.best_epoch = float(val_loss), self.epoch
        self.seconds += time.perf_counter() - t0
        return {k: v[-1] for k, v in self.history.items()}

    def restore_best(self) -> int:
        """Put back the weights of the best validation epoch so far (as ``EarlyStopping`` with
        ``restore_best_weights=True`` does); returns that epoch. Training on afterwards
        continues from them, but the history keeps every epoch trained."""
        if self.best_weights is None:
            raise ValueError("nothing trained yet: call train() first")
        self.model.set_weights(self.best_weights)
        return self.best_epoch

    def summary(self) -> dict:
        """:func:`course_utils.scratch.curve_summary` of the curves so far, with the regime."""
        from ..scratch.generalization import curve_summary, fit_regime
        s = curve_summary(self.history["loss"], self.history["val_loss"])
        s["regime"] = fit_regime(self.history["loss"], self.history["val_loss"], CHANCE)
        s["best_val_accuracy"] = self.history["val_accuracy"][s["best_epoch"] - 1]
        return s


# --------------------------------------------------------------------------- all runs

class _Engine:
    """One compiled training loop per architecture, shared by every run of that architecture.

    Tracing a run's training loop costs about a third of a second (several Play frames);
    runs of the same widths, learning rate and batch size differ only in their numbers (the
    weights, Adam's state, the best weights so far) and their training images. So the loop is
    traced once, over a Keras model and a Keras ``Adam`` of that architecture of its own: a
    chunk copies the run's weights and optimizer state in, trains, and copies them back into
    the run's own model and optimizer (a few small arrays), with the training images passed
    as arguments. The numbers are those of the run's own loop (same operations, same order).
    """

    def __init__(self, hidden: tuple, lr: float, batch_size: int, n_features: int):
        import keras
        import tensorflow as tf
        self.model = _seeded_mlp(n_features, hidden, 0)   # its weights are always copied in
        self.optimizer = keras.optimizers.Adam(learning_rate=lr)
        self.optimizer.build(self.model.trainable_variables)
        model, opt = self.model, self.optimizer
        weights = list(model.weights)   # the order of get_weights
        self.best_vars = [tf.Variable(tf.convert_to_tensor(w), trainable=False) for w in weights]
        self.best_val = tf.Variable(float("inf"), dtype=tf.float32, trainable=False)
        best_vars, best_val, batch = self.best_vars, self.best_val, int(batch_size)

        def ce(labels, logits):
            return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))

        images, labels = tf.TensorSpec([None, n_features], tf.float32), tf.TensorSpec([None], tf.int32)

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32), images, labels, images, labels])
        def run(perms, X, y, Xv, yv):
            n_epochs, n = tf.shape(perms)[0], tf.shape(perms)[1]
            out = tf.TensorArray(tf.float32, size=n_epochs)
            for e in tf.range(n_epochs):
                for start in tf.range(0, n, batch):
                    idx = perms[e, start:tf.minimum(start + batch, n)]
                    with tf.GradientTape() as tape:
                        loss = ce(tf.gather(y, idx), model(tf.gather(X, idx), training=True))
                    grads = tape.gradient(loss, model.trainable_variables)
                    opt.apply_gradients(zip(grads, model.trainable_variables))
                logits_v = model(Xv, training=False)
                acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits_v, axis=1, output_type=tf.int32), yv),
                                             tf.float32))
                val = ce(yv, logits_v)
                if val < best_val:   # keep the best epoch's weights (no round trip to NumPy per epoch)
                    best_val.assign(val)
                    for b, w in zip(best_vars, weights):
                        b.assign(w)
                out = out.write(e, tf.stack([ce(y, model(X, training=False)), val, acc]))
            return out.stack()

        self._fn = run
        self._data = {}   # id(run) -> (run, its images as tensors), the last 8

    @staticmethod
    def _copy(src, dst) -> None:
        for a, b in zip(src, dst):
            b.assign(a)

    def train(self, run: "CurveRun", perms: np.ndarray) -> np.ndarray:
        """Train ``run`` (its model, optimizer and best weights) on ``perms``; rows of
        (training loss, validation loss, validation accuracy), one per epoch."""
        import tensorflow as tf
        key = id(run)
        if key not in self._data:
            while len(self._data) >= 8:
                self._data.pop(next(iter(self._data)))
            self._data[key] = (run, tuple(tf.constant(a) for a in (run.X, run.y, run.X_val, run.y_val)))
        data = self._data[key][1]
        self._copy(run.model.weights, self.model.weights)
        self._copy(run.optimizer.variables, self.optimizer.variables)
        self._copy(run._best_vars, self.best_vars)
        self.best_val.assign(run.best_val)
        # the whole chunk in one compiled call: a call per epoch costs about 1 ms more each
        rows = self._fn(tf.constant(perms), *data).numpy()
        self._copy(self.model.weights, run.model.weights)
        self._copy(self.optimizer.variables, run.optimizer.variables)
        self._copy(self.best_vars, run._best_vars)
        return rows


_ENGINES: dict = {}
_ENGINES_LOCK = threading.Lock()


def _engine(hidden: tuple, lr: float, batch_size: int, n_features: int) -> _Engine:
    """The shared :class:`_Engine` of an architecture (the last 12 kept)."""
    key = (tuple(int(h) for h in hidden), float(lr), int(batch_size), int(n_features))
    with _ENGINES_LOCK:   # built once, even when a background thread prepares it (prepare_engine)
        if key not in _ENGINES:
            while len(_ENGINES) >= 12:
                _ENGINES.pop(next(iter(_ENGINES)))
            _ENGINES[key] = _Engine(*key)
        return _ENGINES[key]


def prepare_engine(hidden: tuple, lr: float = LEARNING_RATE, batch_size: int = BATCH_SIZE,
                   n_features: int = 64) -> threading.Thread | None:
    """Build and trace the training loop of an architecture in a background thread (a call
    with no epochs: nothing trains), so that Play reaching its first cell does not stall for
    half a second. Returns the thread, or None if that loop is ready already."""
    import tensorflow as tf
    key = (tuple(int(h) for h in hidden), float(lr), int(batch_size), int(n_features))
    if key in _ENGINES:
        return None

    def work():
        engine = _engine(*key)
        X = tf.zeros((1, key[3]), tf.float32)
        y = tf.zeros((1,), tf.int32)
        engine._fn(tf.zeros((0, 1), tf.int32), X, y, X, y)
    thread = threading.Thread(target=work, name="capacity-explorer-trace", daemon=True)
    thread.start()
    return thread


class RunBook:
    """Every run so far, keyed by ``(depth, width, n_train)``; finished histories may be added
    without a model (:meth:`add_history`)."""

    def __init__(self, data: dict | None = None, seed: int = 0, max_epochs: int = MAX_EPOCHS):
        self.data = digits_split(seed) if data is None else data
        self.seed = self.data.get("seed", seed)
        self.max_epochs = int(max_epochs)
        self.runs: dict = {}
        self.histories: dict = {}

    @staticmethod
    def _key(depth, width, n_train):
        if depth not in DEPTHS and not (isinstance(depth, int) and depth >= 1):
            raise ValueError(f"depth must be a positive int, got {depth!r}")
        if not (isinstance(width, (int, np.integer)) and width >= 1):
            raise ValueError(f"width must be a positive int, got {width!r}")
        return int(depth), int(width), int(n_train)

    def get(self, depth: int, width: int, n_train: int) -> CurveRun:
        """The run of this configuration, built (untrained) on first use."""
        key = self._key(depth, width, n_train)
        if key not in self.runs:
            self.runs[key] = CurveRun(self.data, (key[1],) * key[0], key[2], seed=self.seed)
            self.histories.pop(key, None)   # a history added from outside is replaced by the new run
        return self.runs[key]

    def add_run(self, run: CurveRun) -> tuple:
        """Add a run trained elsewhere (equal widths only); returns its key."""
        if not isinstance(run, CurveRun):
            raise TypeError(f"run must be a CurveRun, got {type(run).__name__}")
        if len(set(run.hidden)) != 1:
            raise ValueError(f"the map holds networks of equal widths, got hidden={run.hidden}")
        key = self._key(len(run.hidden), run.hidden[0], run.n_train)
        self.runs[key] = run
        self.histories.pop(key, None)
        return key

    def add_history(self, depth: int, width: int, n_train: int, history: dict) -> None:
        """Add a finished run's ``{"loss", "val_loss", "val_accuracy"}`` (e.g. the notebook's sweep)."""
        key = self._key(depth, width, n_train)
        h = {k: [float(v) for v in history[k]] for k in ("loss", "val_loss")}
        h["val_accuracy"] = [float(v) for v in history.get("val_accuracy", [np.nan] * len(h["loss"]))]
        if not h["loss"] or len(h["loss"]) != len(h["val_loss"]):
            raise ValueError(f"history for {key} needs equally long, non-empty 'loss' and 'val_loss'")
        self.histories[key] = h
        self.runs.pop(key, None)

    def history(self, depth: int, width: int, n_train: int) -> dict | None:
        key = self._key(depth, width, n_train)
        if key in self.runs and self.runs[key].epoch:
            return self.runs[key].history
        return self.histories.get(key)

    def epochs(self, depth, width, n_train) -> int:
        h = self.history(depth, width, n_train)
        return 0 if h is None else len(h["loss"])

    def done(self, depth, width, n_train) -> bool:
        return self.epochs(depth, width, n_train) >= self.max_epochs or (
            self._key(depth, width, n_train) in self.histories)

    def train_chunk(self, depth: int, width: int, n_train: int) -> int:
        """Train the configuration one chunk further (up to ``max_epochs``); epochs added."""
        if self.done(depth, width, n_train):
            return 0
        run = self.get(depth, width, n_train)
        k = min(chunk_epochs(n_train, run.batch_size), self.max_epochs - run.epoch)
        run.train(k)
        return k

    def grid(self, depth: int, epoch: int, widths=WIDTHS, sizes=SIZES) -> np.ndarray:
        """Validation loss at ``epoch`` (or the run's last epoch, if shorter) for each
        (size, width), shape (len(sizes), len(widths)); NaN where nothing was trained."""
        out = np.full((len(sizes), len(widths)), np.nan)
        for i, n in enumerate(sizes):
            for j, w in enumerate(widths):
                h = self.history(depth, w, n)
                if h is not None and h["val_loss"]:
                    out[i, j] = h["val_loss"][min(epoch, len(h["val_loss"])) - 1]
        return out


# --------------------------------------------------------------------------- picture

@dataclass
class State:
    """What the picture shows: the configuration and the epoch read on the map."""
    width: int = 32
    depth: int = 1
    n_train: int = 200
    epoch: int = MAX_EPOCHS

    def check(self):
        if self.width not in WIDTHS:
            raise ValueError(f"width must be one of {WIDTHS}, got {self.width!r}")
        if self.depth not in DEPTHS:
            raise ValueError(f"depth must be one of {DEPTHS}, got {self.depth!r}")
        if self.n_train not in SIZES:
            raise ValueError(f"n_train must be one of {SIZES}, got {self.n_train!r}")
        if not isinstance(self.epoch, (int, np.integer)) or not 1 <= self.epoch <= MAX_EPOCHS:
            raise ValueError(f"epoch must be an int in [1, {MAX_EPOCHS}], got {self.epoch!r}")
        return self


FIGSIZE = (11.0, 4.3)




class CapacityPicture:
    """The explorer's figure, built once and updated in place (layer 2).

    Left: the current run's training and validation loss per epoch (log scale), the epoch read
    on the map (grey line) and the validation optimum (star). Right: the validation map for the
    current depth, the current cell framed, the map's lowest cell starred. Axes never move, so
    a frame redraws only curves, colours and texts (:attr:`live`); the figure's title is in the
    background, and a text whose string did not change is pasted (:class:`.base.TextStamp`): a Play
    frame renders only the line "gap at the end", the trained cell's number and, while the
    validation optimum still moves, the "best val loss" line.
    """

    def __init__(self, fig):
        from matplotlib.colors import LogNorm
        from matplotlib.patches import Rectangle
        self.fig = fig
        fig.set_size_inches(*FIGSIZE)
        ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.05]})
        fig.subplots_adjust(left=0.065, right=0.93, bottom=0.13, top=0.82, wspace=0.28)
        self.ax, self.bx = ax, bx
        ax.set_yscale("log")
        ax.set_xlim(0, MAX_EPOCHS)
        ax.set_ylim(1e-3, 4.0)
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy (log scale)")
        ax.axhline(CHANCE, color="0.6", lw=0.8, ls=":")
        ax.text(MAX_EPOCHS * 0.99, CHANCE * 1.12, "guessing: ln 10", ha="right", va="bottom", fontsize=8,
                color="0.45")
        ax.grid(True, which="major", alpha=0.3)
        (self.train_line,) = ax.plot([], [], "-", color="C0", lw=1.8, label="training loss")
        (self.val_line,) = ax.plot([], [], "-", color="C1", lw=1.8, label="validation loss")
        self.epoch_line = ax.axvline(MAX_EPOCHS, color="0.35", lw=1.0, ls="--")
        (self.best_mark,) = ax.plot([], [], "*", color="gold", mec="k", ms=13, zorder=5)
        ax.legend(loc="lower left", fontsize=9, framealpha=0.9)
        from matplotlib.transforms import ScaledTranslation
        up = ScaledTranslation(0, 12 / 72, fig.dpi_scale_trans)   # one line (10 pt text) higher
        # two one-line titles per panel: the upper one changes only with the configuration (or
        # the regime, the epoch read), so it is pasted, not drawn, while Play trains
        self.curve_title = ax.text(0.0, 1.03, "", transform=ax.transAxes + up, fontsize=10, va="bottom")
        self.curve_numbers = ax.text(0.0, 1.03, "", transform=ax.transAxes, fontsize=10, va="bottom")
        # the one text that changes with every chunk: short, right of the configuration's line
        self.curve_end = ax.text(1.17, 1.03, "", transform=ax.transAxes + up, fontsize=10, va="bottom", ha="right")
        self.empty = ax.text(0.5, 0.55, "", transform=ax.transAxes, ha="center", va="center", fontsize=11,
                             color="0.3")
        self.norm = LogNorm(VMIN, VMAX)
        nan_grid = np.full((len(SIZES), len(WIDTHS)), np.nan)
        import matplotlib as mpl
        cmap = mpl.colormaps["viridis"].with_extremes(bad="0.93")
        self.image = bx.imshow(nan_grid, cmap=cmap, norm=self.norm, origin="lower", aspect="auto")
        bx.set_xticks(range(len(WIDTHS)), [str(w) for w in WIDTHS])
        bx.set_yticks(range(len(SIZES)), [str(s) for s in SIZES])
        bx.set_xlabel("width (units per hidden layer)")
        bx.set_ylabel("training images")
        cb = fig.colorbar(self.image, ax=bx, fraction=0.05, pad=0.02)
        cb.set_label("validation loss (log scale)")
        self.cells = [[bx.text(j, i, "", ha="center", va="center", fontsize=8)
                       for j in range(len(WIDTHS))] for i in range(len(SIZES))]
        self.frame_box = Rectangle((-0.5, -0.5), 1, 1, fill=False, ec="red", lw=2.2, zorder=4)
        bx.add_patch(self.frame_box)
        (self.star,) = bx.plot([], [], "*", color="gold", mec="k", ms=11, zorder=5)
        self.map_title = bx.text(0.0, 1.03, "", transform=bx.transAxes + up, fontsize=10, va="bottom")
        self.map_best = bx.text(0.0, 1.03, "", transform=bx.transAxes, fontsize=10, va="bottom")
        # the figure's title never changes: it is part of the background (update's key)
        self.suptitle = fig.text(0.5, 0.975, "", ha="center", va="top", fontsize=11)
        self.stamps = {t: TextStamp(t) for t in (self.curve_title, self.curve_numbers, self.curve_end, self.empty,
                                              self.map_title,
                                              self.map_best, *[t for row in self.cells for t in row])}
        S = self.stamps
        self.live = [self.train_line, self.val_line, self.epoch_line, self.best_mark, S[self.curve_title],
                     S[self.curve_numbers], S[self.curve_end], S[self.empty], self.image,
                     *[S[t] for row in self.cells for t in row],
                     self.frame_box, self.star, *self.bx.spines.values(), S[self.map_title],
                     S[self.map_best]]   # the map's frame over its (live) image, as a full draw has it

    def update(self, book: RunBook, state: State):
        state.check()
        h = book.history(state.depth, state.width, state.n_train)
        cfg = f"{state.depth} × {state.width} units, {state.n_train} training images"
        if h is None or not h["loss"]:
            for line in (self.train_line, self.val_line, self.best_mark):
                line.set_data([], [])
            self.curve_title.set_text(f"{cfg}: not trained yet")
            self.curve_numbers.set_text("")
            self.curve_end.set_text("")
            self.empty.set_text("press Train or Play")
        else:
            from ..scratch.generalization import curve_summary, fit_regime
            ep = np.arange(1, len(h["loss"]) + 1)
            self.train_line.set_data(ep, np.clip(h["loss"], 1e-3, None))
            self.val_line.set_data(ep, h["val_loss"])
            s = curve_summary(h["loss"], h["val_loss"])
            self.best_mark.set_data([s["best_epoch"]], [s["best_val"]])
            regime = fit_regime(h["loss"], h["val_loss"], CHANCE)
            # the epochs trained show on the x-axis (where the curves end) and in the status line
            self.curve_title.set_text(f"{cfg}: {regime}")
            self.curve_numbers.set_text(f"best val loss {s['best_val']:.3f} at epoch {s['best_epoch']}, "
                                        f"gap there {s['gap_at_best']:+.3f}")
            self.curve_end.set_text(f"gap at the end {s['gap_end']:+.3f}")
            self.empty.set_text("")
        self.epoch_line.set_xdata([state.epoch, state.epoch])
        grid = book.grid(state.depth, state.epoch)
        self.image.set_data(np.ma.masked_invalid(grid))
        for i in range(len(SIZES)):
            for j in range(len(WIDTHS)):
                v = grid[i, j]
                t = self.cells[i][j]
                t.set_text("" if np.isnan(v) else f"{v:.2f}")
                t.set_color("white" if (not np.isnan(v) and self.norm(v) < 0.55) else "black")   # dark cells: white
        j, i = WIDTHS.index(state.width), SIZES.index(state.n_train)
        self.frame_box.set_xy((j - 0.5, i - 0.5))
        if np.all(np.isnan(grid)):
            self.star.set_data([], [])
            where = "nothing trained at this depth yet"
        else:
            bi, bj = np.unravel_index(np.nanargmin(grid), grid.shape)
            self.star.set_data([bj - 0.32], [bi + 0.3])   # the cell's top left corner, clear of its number
            # its value is in the starred cell: this line changes only when the lowest cell moves
            where = f"lowest (★): width {WIDTHS[bj]}, {SIZES[bi]} images"
        self.map_title.set_text(f"validation loss at epoch {state.epoch}, depth {state.depth}")
        self.map_best.set_text(where)
        title = f"Capacity explorer: real Keras MLPs on sklearn digits (validation: {len(book.data['y_val'])} images)"
        if self.suptitle.get_text() != title:
            self.suptitle.set_text(title)
        return title   # the background (with this title) is redrawn only if it changes


def render(book: RunBook, state: State | None = None):
    """The explorer's picture of ``book`` at ``state`` as a new matplotlib Figure (layer 2)."""
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    fig = Figure()
    FigureCanvasAgg(fig)
    CapacityPicture(fig).update(book, state or State())
    return fig


# --------------------------------------------------------------------------- widget

class CapacityExplorer(Explorer):
    """Width, depth, training-set size and epoch controls over a :class:`RunBook`.

    Parameters
    ----------
    book : RunBook or None      runs already known (None: a new book on ``digits_split(seed)``)
    state : State or None       the starting configuration
    warm_epochs : int           if the starting configuration is unknown, train it this many
                                epochs first (0: show it untrained)
    """

    dpi = 72

    def __init__(self, book: RunBook | None = None, state: State | None = None, warm_epochs: int = 0,
                 seed: int = 0):
        if book is not None and not isinstance(book, RunBook):
            raise TypeError(f"book must be a RunBook or None, got {type(book).__name__}")
        if not isinstance(warm_epochs, int) or not 0 <= warm_epochs <= MAX_EPOCHS:
            raise ValueError(f"warm_epochs must be an int in [0, {MAX_EPOCHS}], got {warm_epochs!r}")
        self.book = book if book is not None else RunBook(seed=seed)
        self.state = (state or State()).check()
        if warm_epochs and self.book.epochs(self.state.depth, self.state.width, self.state.n_train) == 0:
            self.book.get(self.state.depth, self.state.width, self.state.n_train).train(warm_epochs)
        self._syncing = False
        self._last_tick_end = 0.0
        self.skipped_ticks = 0
        self.queued_tick_s = QUEUED_TICK_S
        self.timings = {"train_s": 0.0, "render_s": 0.0}
        self._prepare = None   # the thread tracing the next widths' training loop (prepare_engine)
        super().__init__()
        self._update_status()

    def _build_controls(self):
        W = self._W
        st = self.state
        style = {"description_width": "110px"}
        self.w_width = W.SelectionSlider(options=list(WIDTHS), value=st.width, description="Width",
                                         style=style, layout=W.Layout(width="380px"), continuous_update=False)
        self.w_depth = W.ToggleButtons(options=list(DEPTHS), value=st.depth, description="Hidden layers",
                                       style={**style, "button_width": "40px"})
        self.w_size = W.SelectionSlider(options=list(SIZES), value=st.n_train, description="Training images",
                                        style=style, layout=W.Layout(width="380px"), continuous_update=False)
        self.w_epoch = W.IntSlider(value=st.epoch, min=1, max=MAX_EPOCHS, description="Map at epoch",
                                   style=style, layout=W.Layout(width="380px"), continuous_update=False)
        for w in (self.w_width, self.w_depth, self.w_size, self.w_epoch):
            w.observe(self._on_setting, names="value")
        self.train_button = W.Button(description="Train", button_style="primary",
                                     tooltip="train the current configuration a few more epochs")
        self.train_button.on_click(self._on_train)
        self.play = W.Play(value=0, min=0, max=100000, step=1, interval=PLAY_INTERVAL_MS, description="Play")
        self.play.observe(self._on_play, names="value")
        self.w_sweep = W.Checkbox(value=True, description="Play sweeps the map", indent=False)
        self.controls = [W.HBox([W.VBox([self.w_width, self.w_size]), W.VBox([self.w_depth, self.w_epoch])]),
                         W.HBox([self.train_button, self.play, self.w_sweep])]

    # -- callbacks: each calls one method -----------------------------------------------
    def _on_setting(self, change):
        if not self._syncing:
            self.apply_controls()

    def _on_train(self, _button):
        self.train_step()

    def _on_play(self, change):
        self.play_tick()

    # -- actions --------------------------------------------------------------------------
    def apply_controls(self) -> State:
        """Read the controls into the state and redraw (no training: what is known shows at once)."""
        self.state = State(self.w_width.value, self.w_depth.value, self.w_size.value,
                           self.w_epoch.value).check()
        self.refresh()
        self._update_status()
        return self.state

    def select(self, width: int | None = None, depth: int | None = None, n_train: int | None = None,
               epoch: int | None = None) -> State:
        """Set any of the controls at once (one redraw)."""
        st = self.state
        new = State(st.width if width is None else width, st.depth if depth is None else depth,
                    st.n_train if n_train is None else n_train, st.epoch if epoch is None else epoch).check()
        self._syncing = True
        try:
            self.w_width.value, self.w_depth.value = new.width, new.depth
            self.w_size.value, self.w_epoch.value = new.n_train, new.epoch
        finally:
            self._syncing = False
        return self.apply_controls()

    def next_untrained(self, other_width: bool = False):
        """The next configuration of the current depth not trained to the end, or None
        (sizes first, then widths, starting after the current cell: the next cell usually has
        the same widths, whose compiled training loop is already traced, see ``_Engine``).
        ``other_width``: the next such cell of another width."""
        cells = [(n, w) for w in WIDTHS for n in SIZES]
        start = cells.index((self.state.n_train, self.state.width))
        for k in range(1, len(cells) + 1):
            n, w = cells[(start + k) % len(cells)]
            if not self.book.done(self.state.depth, w, n) and not (other_width and w == self.state.width):
                return w, n
        return None

    def train_step(self) -> int:
        """Train the current configuration one chunk (or, when it is complete and sweeping,
        move to the next untrained cell and train that); redraw. Returns the epochs added."""
        st = self.state
        t0 = time.perf_counter()
        if self.book.done(st.depth, st.width, st.n_train) and self.w_sweep.value:
            nxt = self.next_untrained()
            if nxt is None:
                self.play.playing = False
                self._update_status(note="every cell of this depth is trained")
                return 0
            self._syncing = True
            try:
                self.w_width.value, self.w_size.value = nxt
            finally:
                self._syncing = False
            self.state = State(nxt[0], st.depth, nxt[1], st.epoch)
        added = self.book.train_chunk(self.state.depth, self.state.width, self.state.n_train)
        self.timings["train_s"] = time.perf_counter() - t0
        if self.w_sweep.value and (self._prepare is None or not self._prepare.is_alive()):
            nxt = self.next_untrained(other_width=True)   # its loop is traced while these cells train
            if nxt is not None:
                self._prepare = prepare_engine((nxt[0],) * self.state.depth)
        self.refresh()
        self._update_status()
        return added

    def play_step(self):
        """One Play tick's work (:meth:`base.Explorer.play_tick` drops the ticks that queued up)."""
        self.train_step()

    def refresh(self) -> bytes:
        t0 = time.perf_counter()
        png = super().refresh()
        self.timings["render_s"] = time.perf_counter() - t0
        return png

    def render(self):
        return render(self.book, self.state)

    def render_png(self):
        return self.frame_png(CapacityPicture, self.book, self.state)

    def _update_status(self, note: str | None = None):
        st = self.state
        n = self.book.epochs(st.depth, st.width, st.n_train)
        msg = (f"{st.depth} × {st.width}, {st.n_train} images: {n} of {self.book.max_epochs} epochs trained · "
               f"last: train {self.timings['train_s'] * 1000:.0f} ms, draw {self.timings['render_s'] * 1000:.0f} ms")
        if note:
            msg = f"<b>{html.escape(note)}</b><br>" + msg
        self.status.value = msg
