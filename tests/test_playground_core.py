"""Pure parts of the Playground (notebook 06): config, share string, features, model, training."""
import random

import numpy as np
import pytest

from course_utils.widgets import playground_core as pc


# --------------------------------------------------------------------------- config + string

def _random_config(rng):
    n_layers = rng.randint(0, pc.MAX_LAYERS)
    feats = rng.sample(list(pc.FEATURES), rng.randint(1, len(pc.FEATURES)))
    return pc.Config(
        dataset=rng.choice(pc.DATASETS), noise=rng.choice([0.0, 0.05, 0.1, 0.35, 0.5]),
        n_points=rng.randint(20, 2000), train_ratio=rng.choice([0.1, 0.3, 0.5, 0.7, 0.9]),
        features=tuple(feats), layers=tuple(rng.randint(1, pc.MAX_UNITS) for _ in range(n_layers)),
        activation=rng.choice(pc.ACTIVATIONS), regularization=rng.choice(pc.REGULARIZATIONS),
        reg_rate=rng.choice(pc.REG_RATES), learning_rate=rng.choice(pc.LEARNING_RATES + (0.0123456789,)),
        batch_size=rng.randint(1, 64), loss=rng.choice(list(pc.LOSSES)),
        optimizer=rng.choice(list(pc.OPTIMIZERS)), epochs_per_step=rng.randint(1, 100),
        seed=rng.randint(0, 10_000))


def test_string_round_trip_many_configs():
    rng = random.Random(0)
    for _ in range(200):
        cfg = _random_config(rng)
        text = cfg.to_string()
        assert pc.from_string(text) == cfg, text


def test_string_is_short_and_readable():
    cfg = pc.Config(dataset="spiral", noise=0.1, features=("x1", "x2", "sin1"), layers=(8, 8, 4))
    text = cfg.to_string()
    assert text.startswith("ds=spiral;noise=0.1;")
    assert "feat=x1,x2,sin1" in text and "layers=8,8,4" in text and "lr=0.03" in text
    assert len(text) < 200


def test_partial_string_keeps_defaults_and_no_hidden_layers():
    cfg = pc.from_string(" ds=xor ; feat=x1,x2,x1x2; layers=none ;")
    assert cfg.dataset == "xor" and cfg.features == ("x1", "x2", "x1x2") and cfg.layers == ()
    assert cfg.learning_rate == pc.Config().learning_rate
    assert pc.from_string(cfg.to_string()) == cfg
    assert pc.from_string("layers=") .layers == ()


@pytest.mark.parametrize("text, fragment", [
    ("ds=spiral;foo=1", "unknown key 'foo'"),
    ("ds=spiral;ds=xor", "appears twice"),
    ("ds spiral", "has no '='"),
    ("ds=banana", "'ds'"),
    ("layers=8,x", "'layers'"),
    ("layers=9", "'layers'"),
    ("layers=1,1,1,1,1,1,1", "'layers'"),
    ("lr=fast", "'lr'"),
    ("lr=0", "'lr'"),
    ("lr=nan", "'lr'"),
    ("noise=0.9", "'noise'"),
    ("feat=x1,x3", "'feat'"),
    ("feat=", "'feat'"),
    ("feat=x1,x1", "'feat'"),
    ("batch=0", "'batch'"),
    ("batch=2.5", "'batch'"),
    ("act=softmax", "'act'"),
    ("opt=adagrad", "'opt'"),
    ("loss=hinge", "'loss'"),
    ("reg=l3", "'reg'"),
])
def test_invalid_strings_raise_clear_value_error(text, fragment):
    with pytest.raises(ValueError) as exc:
        pc.from_string(text)
    assert fragment in str(exc.value)


def test_from_string_type_error():
    with pytest.raises(TypeError, match="str"):
        pc.from_string(42)


def test_config_validation_and_replace():
    with pytest.raises(ValueError, match="train_ratio"):
        pc.Config(train_ratio=1.0)
    with pytest.raises(ValueError, match="unknown setting"):
        pc.Config().replace(colour="red")
    c = pc.Config(layers=[3, 2], features=["x2", "x1"])
    assert c.layers == (3, 2) and c.features == ("x2", "x1")
    assert c.n_train == 250 and pc.Config(n_points=20, train_ratio=0.9).n_train == 18


# --------------------------------------------------------------------------- features, data

def test_make_features_values_and_shape():
    X = np.array([[1.0, 2.0], [-0.5, 3.0]])
    F = pc.make_features(X, ("x1", "x2", "x1sq", "x2sq", "x1x2", "sin1", "sin2"))
    assert F.shape == (2, 7) and F.dtype == np.float32
    np.testing.assert_allclose(F[0], [1, 2, 1, 4, 2, np.sin(1), np.sin(2)], rtol=1e-6)
    np.testing.assert_allclose(F[1], [-0.5, 3, 0.25, 9, -1.5, np.sin(-0.5), np.sin(3)], rtol=1e-6)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        pc.make_features(np.zeros((3, 3)), ("x1",))
    with pytest.raises(ValueError, match="features"):
        pc.make_features(X, "x1")


def test_make_data_split_sizes_and_reproducible():
    cfg = pc.Config(dataset="moons", n_points=300, train_ratio=0.3, noise=0.2, seed=3)
    Xtr, ytr, Xte, yte = pc.make_data(cfg)
    assert Xtr.shape == (90, 2) and Xte.shape == (210, 2) and len(ytr) == 90 and len(yte) == 210
    Xtr2, *_ = pc.make_data(cfg)
    np.testing.assert_array_equal(Xtr, Xtr2)
    assert set(np.unique(np.r_[ytr, yte])) == {0, 1}


# --------------------------------------------------------------------------- NumPy forward

def test_activation_fn_matches_keras():
    keras = pytest.importorskip("keras")
    z = np.linspace(-6, 6, 41).reshape(1, -1)
    for name in pc.ACTIVATIONS + ("sigmoid", "softmax"):
        ours = pc.activation_fn(name)(z)
        theirs = np.asarray(keras.activations.get(name)(z.astype(np.float32)))
        np.testing.assert_allclose(ours, theirs, atol=1e-6, err_msg=name)
    with pytest.raises(ValueError, match="activation"):
        pc.activation_fn("swishy")


def test_mlp_forward_equals_keras_model_and_validates():
    cfg = pc.Config(features=("x1", "x2", "x1x2"), layers=(5, 3), activation="relu")
    model = pc.build_model(cfg)
    x = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    outs = pc.mlp_forward(x, model.get_weights(), ["relu", "relu", "sigmoid"])
    assert [o.shape for o in outs] == [(7, 5), (7, 3), (7, 1)]
    np.testing.assert_allclose(outs[-1], np.asarray(model(x, training=False)), atol=1e-5)
    with pytest.raises(ValueError, match="activations"):
        pc.mlp_forward(x, model.get_weights(), ["relu"])
    with pytest.raises(ValueError, match="layer 1"):
        pc.mlp_forward(x[:, :2], model.get_weights(), ["relu", "relu", "sigmoid"])
    with pytest.raises(ValueError, match="weights"):
        pc.mlp_forward(x, [], [])


def test_data_loss():
    y = np.array([0, 1, 1, 0])
    p = np.array([0.1, 0.8, 0.6, 0.3])
    bce = -np.mean(np.log([0.9, 0.8, 0.6, 0.7]))
    assert pc.data_loss(p, y, "bce") == pytest.approx(bce)
    assert pc.data_loss(p, y, "mse") == pytest.approx(np.mean([0.01, 0.04, 0.16, 0.09]))
    assert np.isfinite(pc.data_loss(np.array([0.0, 1.0]), np.array([1, 0])))
    with pytest.raises(ValueError, match="loss"):
        pc.data_loss(p, y, "hinge")


# --------------------------------------------------------------------------- model + code

def _describe(model):
    out = []
    for layer in model.layers:
        cfg = layer.get_config()
        reg = cfg.get("kernel_regularizer")
        out.append((type(layer).__name__, cfg.get("units"), cfg.get("activation"),
                    None if reg is None else (reg["class_name"], reg["config"])))
    return out


@pytest.mark.parametrize("text", [
    "layers=4,2;act=tanh",
    "feat=x1,x2,x1sq,x2sq,x1x2,sin1,sin2;layers=8,8,8,8,8,8;act=relu;reg=l2;rate=0.003;opt=adam",
    "layers=none;reg=l1;rate=0.01;loss=mse;opt=rmsprop;lr=0.001",
])
def test_keras_code_builds_the_same_model(text):
    cfg = pc.from_string(text)
    ns = {}
    exec(compile(pc.keras_code(cfg), "<playground export>", "exec"), ns)
    exported, built = ns["model"], pc.build_model(cfg)
    assert _describe(exported) == _describe(built)
    assert exported.count_params() == built.count_params()
    assert exported.input_shape == built.input_shape == (None, len(cfg.features))
    assert type(exported.optimizer).__name__ == pc.OPTIMIZERS[cfg.optimizer]
    assert float(exported.optimizer.learning_rate) == pytest.approx(cfg.learning_rate)
    assert exported.loss == pc.LOSSES[cfg.loss]
    X = np.array([[1.0, 2.0], [0.5, -1.0]])
    np.testing.assert_allclose(ns["features"](X), pc.make_features(X, cfg.features))


# --------------------------------------------------------------------------- trainer

def test_trainer_step_reduces_training_loss_on_an_easy_set():
    t = pc.Trainer(pc.Config(dataset="gaussian", noise=0.0, layers=(4,), n_points=200))
    first = t.history["train_loss"][-1]
    r = t.step(10)
    assert r["epoch"] == 10 and t.epoch == 10
    assert r["train_loss"] < 0.5 * first
    assert r["test_accuracy"] > 0.95
    assert len(t.history["epoch"]) == 2 and t.history["epoch"] == [0, 10]
    with pytest.raises(ValueError, match="epochs"):
        t.step(0)


def test_trainer_set_config_says_what_was_redone():
    t = pc.Trainer(pc.Config(n_points=100))
    t.step(2)
    w_before = [w.copy() for w in t.model.get_weights()]
    assert t.set_config(t.config.replace(batch_size=20)) == "none"
    assert t.epoch == 2
    assert t.set_config(t.config.replace(learning_rate=0.1, optimizer="adam")) == "optimizer"
    assert t.epoch == 2 and all(np.array_equal(a, b) for a, b in zip(w_before, t.model.get_weights()))
    assert type(t.optimizer).__name__ == "Adam"
    assert t.set_config(t.config.replace(layers=(3, 3, 3))) == "model"
    assert t.epoch == 0 and len(t.model.layers) == 4
    X_before = t.X_train.copy()
    assert t.set_config(t.config.replace(dataset="xor")) == "data"
    assert not np.array_equal(X_before, t.X_train)


def test_trainer_reset_gives_new_weights_and_grid_shapes():
    t = pc.Trainer(pc.Config(n_points=100, layers=(3, 2), features=("x1", "x2", "sin1")))
    w0 = t.model.get_weights()[0].copy()
    t.step(1)
    t.reset()
    assert t.epoch == 0 and t.history["epoch"] == [0]
    assert not np.allclose(w0, t.model.get_weights()[0])
    g = t.grid_activations(20)
    assert g["features"].shape == (20, 20, 3)
    assert [a.shape for a in g["layers"]] == [(20, 20, 3), (20, 20, 2)]
    assert g["output"].shape == (20, 20) and np.all((g["output"] >= 0) & (g["output"] <= 1))
    # the grid output equals the Keras model on the same points
    xmin, xmax, ymin, ymax = g["extent"]
    corner = pc.make_features(np.array([[xmin, ymin], [xmax, ymax]]), t.config.features)
    np.testing.assert_allclose(g["output"][[0, -1], [0, -1]], t.predict_proba(corner), atol=1e-5)


def test_trainer_detects_divergence():
    t = pc.Trainer(pc.Config(dataset="circle", features=("x1sq", "x2sq", "x1x2"), layers=(8, 8),
                             activation="linear", learning_rate=10.0, n_points=100, batch_size=1))
    assert not t.diverged
    t.step(3)
    assert t.diverged


def test_extent_is_symmetric_even_and_covers_the_points():
    t = pc.Trainer(pc.Config(n_points=100, noise=0.1, layers=(2,)))
    ext = t.extent()
    assert all(float(v).is_integer() and v % 2 == 0 for v in ext)
    assert ext[0] == -ext[1] and ext[2] == -ext[3]
    pts = np.r_[t.X_train, t.X_test]
    assert ext[0] <= pts[:, 0].min() - 0.5 and ext[1] >= pts[:, 0].max() + 0.5
    assert ext[2] <= pts[:, 1].min() - 0.5 and ext[3] >= pts[:, 1].max() + 0.5
    assert ext[1] <= np.abs(pts[:, 0]).max() + 2.5
    # a little more noise or another seed: the same view
    for change in ({"noise": 0.15}, {"seed": 3}):
        assert pc.Trainer(t.config.replace(**change)).extent() == ext
