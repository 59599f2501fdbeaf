"""The Playground widget (notebook 06), driven without a browser."""
import matplotlib.pyplot as plt
import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("keras")

from course_utils.widgets import playground_core as pc  # noqa: E402
from course_utils.widgets.base import is_png  # noqa: E402
from course_utils.widgets.playground import Playground, render  # noqa: E402

SMALL = "n=100;layers=3,2"


@pytest.fixture
def pg():
    return Playground(SMALL)


def test_starts_with_a_png_and_css_classes(pg):
    assert is_png(pg.png) and pg.image.value == pg.png
    assert "playground" in pg.ui._dom_classes
    assert "playground-image" in pg.image._dom_classes
    assert "playground-step" in pg.step_button._dom_classes
    assert pg.step_button.description == "Step"
    for w in (pg.w_dataset, pg.w_noise, pg.w_lr, pg.w_nlayers, pg.play, pg.reset_button):
        assert w.description


def test_step_button_trains_and_redraws(pg):
    png0, loss0 = pg.png, pg.trainer.history["train_loss"][-1]
    pg.step_button.click()
    assert pg.trainer.epoch == pg.config.epochs_per_step
    assert pg.png != png0 and is_png(pg.png)
    assert "epoch 5" in pg.status.value
    pg.set_config("n=100;layers=3,2;ds=gaussian;epochs=20")
    pg.step_button.click()
    assert pg.trainer.history["train_loss"][-1] < 0.5 * pg.trainer.history["train_loss"][0]
    assert pg.trainer.history["train_loss"][-1] < loss0


def test_controls_change_the_state(pg):
    pg.w_dataset.value = "spiral"
    assert pg.config.dataset == "spiral" and pg.trainer.epoch == 0
    pg.w_nlayers.value = 3
    assert pg.config.layers == (3, 2, 4)
    assert pg.w_units[2].layout.display == "" and pg.w_units[3].layout.display == "none"
    pg.w_units[0].value = 8
    assert pg.config.layers == (8, 2, 4)
    assert [l.units for l in pg.model.layers] == [8, 2, 4, 1]
    pg.w_features["sin1"].value = True
    assert pg.config.features == ("x1", "x2", "sin1") and pg.model.input_shape == (None, 3)
    pg.w_act.value = "relu"
    assert pg.model.layers[0].get_config()["activation"] == "relu"
    pg.w_reg.value = "l2"
    pg.w_rate.value = 0.01
    assert pg.config.regularization == "l2" and pg.config.reg_rate == 0.01
    assert pg.model.layers[0].kernel_regularizer is not None
    pg.step()
    w = [a.copy() for a in pg.model.get_weights()]
    pg.w_lr.value = 0.1
    pg.w_opt.value = "rmsprop"
    assert type(pg.trainer.optimizer).__name__ == "RMSprop"
    assert pg.trainer.epoch == 5 and all(np.array_equal(a, b) for a, b in zip(w, pg.model.get_weights()))
    pg.w_loss.value = "mse"
    assert pg.config.loss == "mse" and pg.trainer.epoch == 0
    pg.w_noise.value = 0.3
    pg.w_train.value = 0.7
    pg.w_batch.value = 25
    pg.w_epochs.value = 2
    assert (pg.config.noise, pg.config.train_ratio, pg.config.batch_size) == (0.3, 0.7, 25)
    assert len(pg.trainer.X_train) == 70
    pg.step()
    assert pg.trainer.epoch == 2
    assert pg.w_share.value == pg.to_string()


def test_unticking_every_feature_is_refused_with_a_message(pg):
    pg.w_features["x1"].value = False
    assert pg.config.features == ("x2",)
    pg.w_features["x2"].value = False
    assert pg.config.features == ("x2",) and pg.w_features["x2"].value is True
    assert "features" in pg.status.value


def test_run_trains_several_steps_and_draws_once(pg):
    png0 = pg.png
    r = pg.run(3)
    assert pg.trainer.epoch == 3 * pg.config.epochs_per_step == r["epoch"]
    assert pg.trainer.history["epoch"] == [0, 5, 10, 15]
    assert pg.png != png0 and is_png(pg.png)
    with pytest.raises(ValueError, match="steps"):
        pg.run(0)


def test_reset_and_play(pg):
    pg.step()
    pg.reset_button.click()
    assert pg.trainer.epoch == 0 and pg.trainer.history["epoch"] == [0]
    pg.play.value = 1
    assert pg.trainer.epoch == pg.config.epochs_per_step
    pg.play.value = 2  # arrives right after the previous step: skipped, no pile-up
    assert pg.trainer.epoch == pg.config.epochs_per_step and pg.skipped_ticks == 1
    pg._last_tick_end = 0.0
    pg.play.value = 3
    assert pg.trainer.epoch == 2 * pg.config.epochs_per_step


def test_share_string_round_trip_through_the_widget(pg):
    text = "ds=xor;noise=0.05;n=200;feat=x1,x2,x1x2;layers=4,4;act=relu;reg=l1;rate=0.001;lr=0.01;opt=adam;loss=mse;batch=16;epochs=3;seed=7"
    pg.w_share.value = text
    pg.load_button.click()
    cfg = pg.config
    assert pc.from_string(text) == cfg
    assert pg.w_dataset.value == "xor" and pg.w_nlayers.value == 2 and pg.w_features["x1x2"].value
    assert pg.w_opt.value == "adam" and pg.w_seed.value == 7
    other = Playground(pg.to_string())
    assert other.config == cfg
    np.testing.assert_array_equal(other.trainer.X_train, pg.trainer.X_train)


def test_setups_outside_the_slider_ranges_survive_other_changes(pg):
    pg.load_string("n=1500;seed=500;batch=100;epochs=80;layers=2")
    assert (pg.w_points.value, pg.w_seed.value, pg.w_batch.value, pg.w_epochs.value) == (1500, 500, 100, 80)
    pg.w_act.value = "relu"  # reading the controls back must not clip them
    assert (pg.config.n_points, pg.config.seed, pg.config.batch_size, pg.config.epochs_per_step) == \
        (1500, 500, 100, 80)


def test_invalid_share_string(pg):
    before = pg.config
    pg.w_share.value = "ds=spiral;layers=8,9"
    pg.load_button.click()
    assert pg.config == before and "layers" in pg.status.value
    with pytest.raises(ValueError, match="unknown key"):
        pg.load_string("dataset=spiral")
    with pytest.raises(TypeError):
        Playground(3)


def test_code_export_runs_and_matches(pg):
    pg.load_string("feat=x1,x2,sin2;layers=6,3,2;act=elu;reg=l2;rate=0.03;opt=adam")
    pg.code_button.click()
    assert pg.code_box.layout.display == "" and pg.code_box.value == pg.keras_code()
    ns = {}
    exec(pg.code_box.value, ns)
    assert [l.units for l in ns["model"].layers] == [l.units for l in pg.model.layers] == [6, 3, 2, 1]
    assert ns["model"].count_params() == pg.model.count_params()


def test_figures_do_not_pile_up_over_50_callbacks(pg):
    pg.step()
    n0 = len(plt.get_fignums())
    for i in range(50):
        if i % 5 == 0:
            pg.step_button.click()
        elif i % 5 == 1:
            pg.w_noise.value = 0.05 * (i % 3)
        elif i % 5 == 2:
            pg.w_batch.value = 5 + i % 7
        elif i % 5 == 3:
            pg.w_lr.value = [0.01, 0.03, 0.1][i % 3]
        else:
            pg.w_act.value = ["tanh", "relu"][i % 2]
    assert len(plt.get_fignums()) <= n0
    assert is_png(pg.png)


def test_render_shows_divergence_and_is_a_figure():
    t = pc.Trainer(pc.Config(n_points=100, features=("x1sq", "x2sq", "x1x2"), layers=(8, 8),
                             activation="linear", learning_rate=10.0, batch_size=1))
    t.step(3)
    fig = render(t, resolution=16)
    titles = [ax.get_title() for ax in fig.axes]
    assert any("diverged" in s for s in titles)
    plt.close(fig)
    with pytest.raises(TypeError):
        render("not a trainer")


def test_default_step_is_interactive_speed():
    import time
    pg = Playground()
    pg.step()  # the first step traces the training loop
    t0 = time.perf_counter()
    pg.step()
    # < 1 s on an idle 2-core CPU; generous here because tests share the machine
    assert time.perf_counter() - t0 < 5.0
