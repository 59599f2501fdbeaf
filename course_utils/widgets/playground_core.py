"""The Playground's pure parts (notebook 06): configuration, features, a real Keras model
trained in chunks, the NumPy forward pass, code export and the share string.

Nothing here imports ipywidgets; Keras/TensorFlow are imported inside the functions that
need them, so ``import course_utils.widgets.playground_core`` is cheap.

- :class:`Config`            every setting of the Playground, validated; ``to_string`` /
                             :func:`from_string` round-trip it through a short text
- :func:`make_features`      (n, 2) points -> (n, k) input features (x1, x2, x1², x2², x1·x2, sin)
- :func:`make_data`          a toy set split into train and test points
- :func:`build_model`        the Keras model of a configuration
- :func:`keras_code`         runnable Python that builds (and compiles) the same model
- :func:`mlp_forward`        the forward pass of a Dense stack in NumPy, every layer's output
- :class:`Trainer`           data + model + optimizer; ``step(epochs)`` trains a few epochs
                             in one compiled loop, ``grid_activations`` feeds the pictures

Example
-------
>>> cfg = from_string("ds=spiral;noise=0.1;feat=x1,x2,sin1,sin2;layers=8,8,4;act=tanh")
>>> t = Trainer(cfg)
>>> t.step()            # a few epochs; returns {"epoch", "train_loss", "test_loss", ...}
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Config", "from_string", "FEATURES", "FEATURE_LABELS", "DATASETS", "ACTIVATIONS",
           "LOSSES", "OPTIMIZERS", "REGULARIZATIONS", "LEARNING_RATES", "REG_RATES",
           "MAX_LAYERS", "MAX_UNITS", "make_features", "make_data", "build_model", "keras_code",
           "mlp_forward", "activation_fn", "data_loss", "Trainer"]

DATASETS = ("circle", "xor", "gaussian", "spiral", "moons")
# name in the share string -> how it is computed from the two coordinates
FEATURES = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1sq": lambda x1, x2: x1 * x1,
    "x2sq": lambda x1, x2: x2 * x2,
    "x1x2": lambda x1, x2: x1 * x2,
    "sin1": lambda x1, x2: np.sin(x1),
    "sin2": lambda x1, x2: np.sin(x2),
}
FEATURE_LABELS = {"x1": "$x_1$", "x2": "$x_2$", "x1sq": "$x_1^2$", "x2sq": "$x_2^2$",
                  "x1x2": "$x_1 x_2$", "sin1": r"$\sin x_1$", "sin2": r"$\sin x_2$"}
# NumPy expressions of the features, used in the exported code
_FEATURE_CODE = {"x1": "x1", "x2": "x2", "x1sq": "x1 ** 2", "x2sq": "x2 ** 2", "x1x2": "x1 * x2",
                 "sin1": "np.sin(x1)", "sin2": "np.sin(x2)"}
ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear", "leaky_relu", "elu")
LOSSES = {"bce": "binary_crossentropy", "mse": "mean_squared_error"}
OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop"}
REGULARIZATIONS = ("none", "l1", "l2")
# TensorFlow Playground's menus
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REG_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
MAX_LAYERS = 6
MAX_UNITS = 8
LEAKY_SLOPE = 0.2  # keras.activations.leaky_relu's default negative_slope


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


@dataclass(frozen=True)
class Config:
    """Every setting of the Playground. Validated on creation (ValueError/TypeError).

    Attributes
    ----------
    dataset : one of DATASETS          noise : float in [0, 0.5]
    n_points : int in [20, 2000]       train_ratio : share of points used for training, [0.1, 0.9]
    features : tuple of FEATURES keys (at least one, no repeats)
    layers : tuple of 0..6 ints in 1..8 (units per hidden layer)
    activation : one of ACTIVATIONS (hidden layers; the output is always a sigmoid)
    regularization : "none", "l1" or "l2"        reg_rate : float >= 0
    learning_rate : float > 0          batch_size : int >= 1
    loss : "bce" (cross-entropy) or "mse"        optimizer : "sgd", "adam" or "rmsprop"
    epochs_per_step : int in [1, 100]  seed : int >= 0 (data and initial weights)
    """
    dataset: str = "circle"
    noise: float = 0.0
    n_points: int = 500
    train_ratio: float = 0.5
    features: tuple = ("x1", "x2")
    layers: tuple = (4, 2)
    activation: str = "tanh"
    regularization: str = "none"
    reg_rate: float = 0.0
    learning_rate: float = 0.03
    batch_size: int = 10
    loss: str = "bce"
    optimizer: str = "sgd"
    epochs_per_step: int = 5
    seed: int = 0

    def __post_init__(self):
        def bad(name, expected, got):
            raise ValueError(f"{name} must be {expected}, got {got!r}")
        if self.dataset not in DATASETS:
            bad("dataset", f"one of {DATASETS}", self.dataset)
        if not _is_num(self.noise) or not 0.0 <= float(self.noise) <= 0.5:
            bad("noise", "a number in [0, 0.5]", self.noise)
        if not _is_int(self.n_points) or not 20 <= self.n_points <= 2000:
            bad("n_points", "an int in [20, 2000]", self.n_points)
        if not _is_num(self.train_ratio) or not 0.1 <= float(self.train_ratio) <= 0.9:
            bad("train_ratio", "a number in [0.1, 0.9]", self.train_ratio)
        feats = tuple(self.features) if isinstance(self.features, (list, tuple)) else None
        if not feats or any(f not in FEATURES for f in feats) or len(set(feats)) != len(feats):
            bad("features", f"a non-empty list without repeats from {tuple(FEATURES)}", self.features)
        layers = tuple(self.layers) if isinstance(self.layers, (list, tuple)) else None
        if layers is None or len(layers) > MAX_LAYERS or not all(
                _is_int(u) and 1 <= u <= MAX_UNITS for u in layers):
            bad("layers", f"0 to {MAX_LAYERS} hidden-layer sizes, each an int in 1..{MAX_UNITS}",
                self.layers)
        if self.activation not in ACTIVATIONS:
            bad("activation", f"one of {ACTIVATIONS}", self.activation)
        if self.regularization not in REGULARIZATIONS:
            bad("regularization", f"one of {REGULARIZATIONS}", self.regularization)
        if not _is_num(self.reg_rate) or not 0.0 <= float(self.reg_rate) <= 100.0:
            bad("reg_rate", "a number in [0, 100]", self.reg_rate)
        if not _is_num(self.learning_rate) or not 0.0 < float(self.learning_rate) <= 100.0:
            bad("learning_rate", "a number in (0, 100]", self.learning_rate)
        if not _is_int(self.batch_size) or self.batch_size < 1:
            bad("batch_size", "an int >= 1", self.batch_size)
        if self.loss not in LOSSES:
            bad("loss", f"one of {tuple(LOSSES)} (cross-entropy or mean squared error)", self.loss)
        if self.optimizer not in OPTIMIZERS:
            bad("optimizer", f"one of {tuple(OPTIMIZERS)}", self.optimizer)
        if not _is_int(self.epochs_per_step) or not 1 <= self.epochs_per_step <= 100:
            bad("epochs_per_step", "an int in [1, 100]", self.epochs_per_step)
        if not _is_int(self.seed) or self.seed < 0:
            bad("seed", "an int >= 0", self.seed)
        # normalise types so that equal settings compare equal
        object.__setattr__(self, "features", feats)
        object.__setattr__(self, "layers", tuple(int(u) for u in layers))
        for name in ("noise", "train_ratio", "reg_rate", "learning_rate"):
            object.__setattr__(self, name, float(getattr(self, name)))
        for name in ("n_points", "batch_size", "epochs_per_step", "seed"):
            object.__setattr__(self, name, int(getattr(self, name)))

    def replace(self, **changes) -> "Config":
        """A copy with some settings changed (validated)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; settings are "
                             f"{[f.name for f in dataclasses.fields(self)]}")
        return dataclasses.replace(self, **changes)

    @property
    def n_train(self) -> int:
        """Number of training points (at least 1, at most n_points - 1)."""
        return int(min(max(round(self.n_points * self.train_ratio), 1), self.n_points - 1))

    def to_string(self) -> str:
        """The share string, e.g. ``"ds=spiral;noise=0.1;...;layers=8,8,4;act=tanh;..."``.

        :func:`from_string` turns it back into an equal Config.
        """
        parts = []
        for key, attr in _KEYS.items():
            v = getattr(self, attr)
            if attr in ("features", "layers"):
                s = ",".join(str(x) for x in v) if v else "none"
            elif isinstance(v, float):
                s = f"{v:g}" if float(f"{v:g}") == v else repr(v)  # short, and exact
            else:
                s = str(v)
            parts.append(f"{key}={s}")
        return ";".join(parts)


# share-string key -> Config attribute
_KEYS = {"ds": "dataset", "noise": "noise", "n": "n_points", "train": "train_ratio",
         "feat": "features", "layers": "layers", "act": "activation", "reg": "regularization",
         "rate": "reg_rate", "lr": "learning_rate", "batch": "batch_size", "loss": "loss",
         "opt": "optimizer", "epochs": "epochs_per_step", "seed": "seed"}
_INT = {"n_points", "batch_size", "epochs_per_step", "seed"}
_FLOAT = {"noise", "train_ratio", "reg_rate", "learning_rate"}


def from_string(text: str, base: Config | None = None) -> Config:
    """Parse a share string such as ``"ds=xor;feat=x1,x2,x1x2;layers=4;lr=0.1"``.

    Keys (any order, each at most once; missing keys keep the value of ``base``, by default
    the Playground's defaults): ``ds noise n train feat layers act reg rate lr batch loss
    opt epochs seed``. ``layers=none`` (or empty) means no hidden layer.

    Raises
    ------
    TypeError if ``text`` is not a string; ValueError naming the key for an unknown key, a
    repeated key, a missing ``=``, or a value of the wrong kind or out of range.
    """
    if not isinstance(text, str):
        raise TypeError(f"the share string must be a str, got {type(text).__name__}")
    base = base or Config()
    values = {}
    for raw in text.strip().strip(";").split(";"):
        item = raw.strip()
        if not item:
            continue
        if "=" not in item:
            raise ValueError(f"share string item {item!r} has no '='; expected key=value pairs "
                             f"separated by ';', e.g. 'ds=spiral;layers=8,4'")
        key, val = (s.strip() for s in item.split("=", 1))
        if key not in _KEYS:
            raise ValueError(f"unknown key {key!r} in the share string; keys are {list(_KEYS)}")
        attr = _KEYS[key]
        if attr in values:
            raise ValueError(f"key {key!r} appears twice in the share string")
        try:
            if attr in ("features", "layers"):
                items = [] if val.lower() in ("", "none") else [s.strip() for s in val.split(",")]
                values[attr] = tuple(int(s) for s in items) if attr == "layers" else tuple(items)
            elif attr in _INT:
                values[attr] = int(val)
            elif attr in _FLOAT:
                values[attr] = float(val)
                if not math.isfinite(values[attr]):
                    raise ValueError
            else:
                values[attr] = val.lower()
        except ValueError:
            kind = ("comma-separated ints" if attr == "layers" else "an int" if attr in _INT
                    else "a number" if attr in _FLOAT else "a name")
            raise ValueError(f"share string key {key!r}: expected {kind}, got {val!r}") from None
    try:
        return base.replace(**values)
    except ValueError as exc:
        inv = {v: k for k, v in _KEYS.items()}
        attr = str(exc).split(" ", 1)[0]
        raise ValueError(f"share string key {inv.get(attr, attr)!r}: {exc}") from None


# --------------------------------------------------------------------------- data

def make_features(X, features) -> np.ndarray:
    """Map points to input features.

    Parameters
    ----------
    X : array, shape (n, 2)           the coordinates x1, x2
    features : sequence of FEATURES keys, e.g. ("x1", "x2", "sin1")

    Returns
    -------
    ndarray, shape (n, len(features)), float32
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2), got {X.shape}")
    if isinstance(features, str) or not features or any(f not in FEATURES for f in features):
        raise ValueError(f"features must be a non-empty sequence of {tuple(FEATURES)}, "
                         f"got {features!r}")
    x1, x2 = X[:, 0], X[:, 1]
    return np.stack([FEATURES[f](x1, x2) for f in features], axis=1).astype(np.float32)


def make_data(config: Config):
    """Generate the toy set of ``config`` and split it.

    Returns
    -------
    X_train : (n_train, 2) float32, y_train : (n_train,) int64, X_test, y_test likewise.
    """
    from course_utils.data import toy
    X, y = toy(config.dataset, n=config.n_points, noise=config.noise, seed=config.seed)
    k = config.n_train  # toy() already shuffles the points
    return X[:k], y[:k], X[k:], y[k:]


# --------------------------------------------------------------------------- model

def build_model(config: Config, init_seed: int | None = None):
    """The Keras model of ``config``.

    ``Input(k features) → Dense(units, activation) per hidden layer → Dense(1, sigmoid)``,
    with an L1/L2 penalty on every kernel when ``regularization`` is not "none" and
    ``reg_rate > 0``. Weights are initialised (Glorot uniform) from ``init_seed``
    (default: ``config.seed``), so the same seed gives the same initial network.
    """
    import keras
    if not isinstance(config, Config):
        raise TypeError(f"config must be a Config, got {type(config).__name__}")
    seed = config.seed if init_seed is None else int(init_seed)
    reg = _regularizer(config)
    layers = [keras.Input(shape=(len(config.features),), name="features")]
    for i, units in enumerate(config.layers):
        layers.append(keras.layers.Dense(
            units, activation=config.activation, kernel_regularizer=reg,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 100 + i),
            name=f"hidden_{i + 1}"))
    layers.append(keras.layers.Dense(
        1, activation="sigmoid", kernel_regularizer=reg,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 100 + 99), name="output"))
    return keras.Sequential(layers, name="playground")


def _regularizer(config):
    import keras
    if config.regularization == "none" or config.reg_rate == 0:
        return None
    cls = keras.regularizers.L1 if config.regularization == "l1" else keras.regularizers.L2
    return cls(config.reg_rate)


def make_optimizer(config: Config):
    """A fresh Keras optimizer (SGD, Adam or RMSprop) with the configured learning rate."""
    import keras
    return getattr(keras.optimizers, OPTIMIZERS[config.optimizer])(learning_rate=config.learning_rate)


def keras_code(config: Config) -> str:
    """Runnable Python that builds and compiles the Keras model of ``config``.

    The code defines ``features(X)`` (points (n, 2) -> (n, k)), ``model`` (compiled) and
    needs only NumPy and Keras; executing it gives a model with the same layers, sizes,
    activations, regularizers, loss and optimizer as :func:`build_model`.
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be a Config, got {type(config).__name__}")
    reg = ""
    if config.regularization != "none" and config.reg_rate > 0:
        reg = f", kernel_regularizer=keras.regularizers.{config.regularization.upper()}({config.reg_rate!r})"
    lines = [
        f"# Playground setup: {config.to_string()}",
        "import numpy as np",
        "import keras",
        "",
        "",
        "def features(X):",
        '    """Points X, shape (n, 2) -> the input features, shape (n, '
        f'{len(config.features)})."""',
        "    x1, x2 = X[:, 0], X[:, 1]",
        "    return np.stack([" + ", ".join(_FEATURE_CODE[f] for f in config.features)
        + "], axis=1).astype(\"float32\")",
        "",
        "",
        "model = keras.Sequential([",
        f"    keras.Input(shape=({len(config.features)},)),  # "
        + ", ".join(config.features),
    ]
    for units in config.layers:
        lines.append(f"    keras.layers.Dense({units}, activation=\"{config.activation}\"{reg}),")
    lines.append(f"    keras.layers.Dense(1, activation=\"sigmoid\"{reg}),  # P(class 1)")
    lines.append("])")
    lines.append(f"model.compile(optimizer=keras.optimizers.{OPTIMIZERS[config.optimizer]}"
                 f"(learning_rate={config.learning_rate!r}),")
    lines.append(f"              loss=\"{LOSSES[config.loss]}\", metrics=[\"accuracy\"])")
    lines.append(f"# Train: model.fit(features(X_train), y_train, batch_size={config.batch_size}, "
                 f"epochs=...)")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- NumPy forward

def activation_fn(name: str):
    """The NumPy version of a Keras activation by name (ACTIVATIONS, "sigmoid", "softmax")."""
    def sigmoid(z):
        out = np.empty_like(z)
        pos = z >= 0
        out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
        ez = np.exp(z[~pos])
        out[~pos] = ez / (1.0 + ez)
        return out

    def softmax(z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    table = {
        "linear": lambda z: z, None: lambda z: z,
        "relu": lambda z: np.maximum(z, 0.0),
        "tanh": np.tanh,
        "sigmoid": sigmoid,
        "leaky_relu": lambda z: np.where(z >= 0, z, LEAKY_SLOPE * z),
        "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
        "softmax": softmax,
    }
    if name not in table:
        raise ValueError(f"activation must be one of {[k for k in table if k]}, got {name!r}")
    return table[name]


def mlp_forward(x, weights, activations) -> list:
    """Forward pass of a stack of Dense layers in NumPy, keeping every layer's output.

    Parameters
    ----------
    x : array, shape (n, d_0)
    weights : list ``[W_1, b_1, W_2, b_2, ...]`` as ``model.get_weights()`` returns it,
        ``W_l`` of shape (d_{l-1}, d_l) and ``b_l`` of shape (d_l,)
    activations : list of activation names, one per layer (``len(weights) // 2``)

    Returns
    -------
    list of float64 arrays, the output of each layer: shapes (n, d_1), ..., (n, d_L).
    The last one is the network's output ``model(x)``.
    """
    h = np.asarray(x, dtype=np.float64)
    if h.ndim != 2:
        raise ValueError(f"x must have shape (n, features), got {h.shape}")
    if not isinstance(weights, (list, tuple)) or len(weights) % 2 or not weights:
        raise ValueError("weights must be a non-empty list [W1, b1, W2, b2, ...] "
                         f"(model.get_weights()), got {type(weights).__name__} of length "
                         f"{len(weights) if hasattr(weights, '__len__') else '?'}")
    n_layers = len(weights) // 2
    if isinstance(activations, str) or len(activations) != n_layers:
        raise ValueError(f"activations must list one name per layer ({n_layers}), got {activations!r}")
    outs = []
    for l in range(n_layers):
        W, b = np.asarray(weights[2 * l], np.float64), np.asarray(weights[2 * l + 1], np.float64)
        if W.ndim != 2 or W.shape[0] != h.shape[1] or b.shape != (W.shape[1],):
            raise ValueError(f"layer {l + 1}: W has shape {W.shape} and b {b.shape}, but the "
                             f"input has {h.shape[1]} features; expected W ({h.shape[1]}, m), b (m,)")
        h = activation_fn(activations[l])(h @ W + b)
        outs.append(h)
    return outs


def data_loss(p, y, loss: str = "bce") -> float:
    """Mean loss of probabilities ``p`` (n,) against labels ``y`` (n,) in {0, 1}, no penalty.

    ``"bce"``: binary cross-entropy (p clipped to [1e-7, 1 - 1e-7], as Keras does);
    ``"mse"``: mean squared error.
    """
    p = np.asarray(p, np.float64).ravel()
    y = np.asarray(y, np.float64).ravel()
    if p.shape != y.shape:
        raise ValueError(f"p and y must have the same length, got {p.shape} and {y.shape}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {tuple(LOSSES)}, got {loss!r}")
    if loss == "mse":
        return float(np.mean((p - y) ** 2))
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


# --------------------------------------------------------------------------- trainer

@dataclass
class Trainer:
    """A Playground run: data, a Keras model, its optimizer and the loss history.

    ``step(epochs)`` trains ``epochs`` epochs of mini-batch updates in one compiled
    TensorFlow loop (no per-batch Python overhead), then records train and test loss
    from a direct call ``model(x, training=False)``.

    Attributes
    ----------
    config : Config
    model : keras.Model          rebuilt by :meth:`reset` and by architecture changes
    epoch : int                  epochs trained since the last reset
    history : dict of lists      "epoch", "train_loss", "test_loss" (one entry per step,
                                 plus the untrained network at epoch 0)
    """
    config: Config = field(default_factory=Config)
    resets: int = 0

    def __post_init__(self):
        if not isinstance(self.config, Config):
            raise TypeError(f"config must be a Config, got {type(self.config).__name__}")
        self._make_data()
        self.reset(new_weights=False)

    # -- set-up ---------------------------------------------------------------------
    def _make_data(self):
        self.X_train, self.y_train, self.X_test, self.y_test = make_data(self.config)
        self._features()

    def _features(self):
        self.F_train = make_features(self.X_train, self.config.features)
        self.F_test = make_features(self.X_test, self.config.features)

    def reset(self, new_weights: bool = True) -> None:
        """Build a fresh model (new random weights when ``new_weights``) and clear the history."""
        if new_weights:
            self.resets += 1
        self.model = build_model(self.config, init_seed=self.config.seed + 1000 * self.resets)
        self._new_optimizer()
        self.epoch = 0
        self.history = {"epoch": [], "train_loss": [], "test_loss": []}
        self._record()

    def _new_optimizer(self):
        import tensorflow as tf
        self.optimizer = make_optimizer(self.config)
        self.optimizer.build(self.model.trainable_variables)
        model, opt = self.model, self.optimizer
        loss_fn = _keras_loss(self.config.loss)

        @tf.function(reduce_retracing=True)
        def train(X, y, epochs, batch):
            n = tf.shape(X)[0]
            n_batches = (n + batch - 1) // batch
            loss = tf.constant(0.0)
            for _ in tf.range(epochs):
                perm = tf.random.shuffle(tf.range(n))
                for b in tf.range(n_batches):
                    idx = perm[b * batch: tf.minimum((b + 1) * batch, n)]
                    with tf.GradientTape() as tape:
                        p = model(tf.gather(X, idx), training=True)
                        loss = loss_fn(tf.gather(y, idx), p)
                        if model.losses:  # the L1/L2 penalties
                            loss = loss + tf.add_n(model.losses)
                    grads = tape.gradient(loss, model.trainable_variables)
                    opt.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        self._train = train

    def set_config(self, config: Config) -> str:
        """Switch to ``config`` and say what had to be redone.

        Returns one of ``"data"`` (new points and a new model: dataset, noise, points,
        ratio or seed changed), ``"model"`` (a new model: features, layers, activation,
        regularization or loss changed), ``"optimizer"`` (same weights, fresh optimizer:
        learning rate or optimizer changed), ``"none"`` (batch size or epochs per step,
        which only affect the next step).
        """
        if not isinstance(config, Config):
            raise TypeError(f"config must be a Config, got {type(config).__name__}")
        old, self.config = self.config, config
        changed = {f.name for f in dataclasses.fields(config)
                   if getattr(old, f.name) != getattr(config, f.name)}
        if changed & {"dataset", "noise", "n_points", "train_ratio", "seed"}:
            self._make_data()
            self.reset(new_weights=False)
            return "data"
        if changed & {"features", "layers", "activation", "regularization", "reg_rate", "loss"}:
            self._features()
            self.reset(new_weights=False)
            return "model"
        if changed & {"learning_rate", "optimizer"}:
            self._new_optimizer()
            return "optimizer"
        return "none"

    # -- training -------------------------------------------------------------------
    def step(self, epochs: int | None = None) -> dict:
        """Train ``epochs`` epochs (default ``config.epochs_per_step``) and record the losses.

        Returns the latest ``{"epoch", "train_loss", "test_loss", "test_accuracy"}``.
        """
        import tensorflow as tf
        epochs = self.config.epochs_per_step if epochs is None else epochs
        if not _is_int(epochs) or not 1 <= epochs <= 1000:
            raise ValueError(f"epochs must be an int in [1, 1000], got {epochs!r}")
        batch = min(self.config.batch_size, len(self.F_train))
        self._train(tf.constant(self.F_train), tf.constant(self.y_train[:, None].astype(np.float32)),
                    tf.constant(int(epochs)), tf.constant(int(batch)))
        self.epoch += int(epochs)
        return self._record()

    def predict_proba(self, F) -> np.ndarray:
        """P(class 1) for feature rows ``F`` (n, k): a direct model call, shape (n,)."""
        return np.asarray(self.model(np.asarray(F, np.float32), training=False)).ravel()

    def _record(self) -> dict:
        p_tr, p_te = self.predict_proba(self.F_train), self.predict_proba(self.F_test)
        tr, te = data_loss(p_tr, self.y_train, self.config.loss), data_loss(p_te, self.y_test, self.config.loss)
        self.history["epoch"].append(self.epoch)
        self.history["train_loss"].append(tr)
        self.history["test_loss"].append(te)
        self.test_accuracy = float(np.mean((p_te >= 0.5) == (self.y_test == 1))) if len(p_te) else float("nan")
        self.train_accuracy = float(np.mean((p_tr >= 0.5) == (self.y_train == 1)))
        return {"epoch": self.epoch, "train_loss": tr, "test_loss": te,
                "test_accuracy": self.test_accuracy}

    @property
    def diverged(self) -> bool:
        """True when the weights or the losses are no longer finite (learning rate too high)."""
        return not (np.isfinite(self.history["train_loss"][-1])
                    and all(np.all(np.isfinite(w)) for w in self.model.get_weights()))

    # -- pictures -------------------------------------------------------------------
    def extent(self, margin: float = 0.5) -> tuple:
        """(xmin, xmax, ymin, ymax) covering every point with at least ``margin`` to spare:
        symmetric about 0 (where the toy sets are centred), each half-width rounded up to an
        even number, so that more noise or another seed mostly keeps the view, as
        TensorFlow Playground's fixed square does (and the widget redraws the points, not
        the axes)."""
        pts = np.r_[self.X_train, self.X_test]
        half = np.ceil((np.abs(pts).max(axis=0) + margin) / 2) * 2
        return float(-half[0]), float(half[0]), float(-half[1]), float(half[1])

    def grid_activations(self, resolution: int = 50) -> dict:
        """Every node's output over a grid of the plane, computed in NumPy from the weights.

        Returns
        -------
        dict with ``extent`` (xmin, xmax, ymin, ymax), ``features`` (res, res, k),
        ``layers``: list of (res, res, units) arrays, one per hidden layer, and ``output``
        (res, res), P(class 1). Row 0 of each map is the bottom of the plane (``origin="lower"``).
        """
        if not _is_int(resolution) or not 2 <= resolution <= 500:
            raise ValueError(f"resolution must be an int in [2, 500], got {resolution!r}")
        xmin, xmax, ymin, ymax = self.extent()
        xx, yy = np.meshgrid(np.linspace(xmin, xmax, resolution), np.linspace(ymin, ymax, resolution))
        F = make_features(np.c_[xx.ravel(), yy.ravel()], self.config.features)
        acts = [self.config.activation] * len(self.config.layers) + ["sigmoid"]
        with np.errstate(all="ignore"):
            outs = mlp_forward(F, self.model.get_weights(), acts)
        shape = (resolution, resolution)
        return {"extent": (xmin, xmax, ymin, ymax),
                "features": F.reshape(*shape, -1).astype(np.float64),
                "layers": [o.reshape(*shape, -1) for o in outs[:-1]],
                "output": outs[-1].reshape(shape)}


def _keras_loss(name):
    import keras
    return keras.losses.BinaryCrossentropy() if name == "bce" else keras.losses.MeanSquaredError()
