"""The Capacity explorer (notebook 07), driven without a browser."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import scratch  # noqa: E402
from course_utils.widgets import capacity_explorer as C  # noqa: E402
from course_utils.widgets.base import is_png  # noqa: E402


@pytest.fixture(scope="module")
def data():
    return C.digits_split(0)


@pytest.fixture(scope="module")
def book(data):
    b = C.RunBook(data)
    b.get(1, 32, 200).train(12)
    b.get(1, 2, 50).train(5)
    return b


def test_split_keeps_test_out_and_is_stratified(data):
    assert set(data) == {"X_pool", "y_pool", "X_val", "y_val", "seed"}
    assert data["X_pool"].shape == (1077, 64) and data["X_val"].shape == (360, 64)
    X_test, y_test = C.digits_test(0)
    assert X_test.shape == (360, 64)
    assert np.bincount(data["y_val"]).min() >= 35 and np.bincount(y_test).min() >= 35
    pool = {r.tobytes() for r in data["X_pool"]}
    assert sum(r.tobytes() in pool for r in X_test) < 5   # (the digits hold a few duplicate images)


def test_curverun_matches_numpy_reference(data):
    run = C.CurveRun(data, (8, 8), 50, seed=3)
    start = [w.copy() for w in run.model.get_weights()]
    perms = np.stack([np.random.default_rng(e).permutation(50) for e in range(3)])
    run.train(3, perms=perms)
    ref = scratch.mlp_curves_numpy(start, run.X, run.y, run.X_val, run.y_val, perms, 32, lr=C.LEARNING_RATE)
    np.testing.assert_allclose(run.history["loss"], ref["loss"], rtol=1e-5)
    np.testing.assert_allclose(run.history["val_loss"], ref["val_loss"], rtol=1e-5)


def test_curverun_is_reproducible_and_restores_best(data):
    a = C.CurveRun(data, (16,), 100, seed=1)
    b = C.CurveRun(data, (16,), 100, seed=1)
    a.train(6)
    b.train(2)
    b.train(4)   # chunks give the same run
    np.testing.assert_allclose(a.history["val_loss"], b.history["val_loss"], rtol=1e-6)
    epoch = a.restore_best()
    assert epoch == int(np.argmin(a.history["val_loss"])) + 1
    val = scratch.softmax_ce_from_logits(np.asarray(a.model(a.X_val, training=False)), a.y_val)
    assert val == pytest.approx(min(a.history["val_loss"]), rel=1e-5)


def test_curverun_input_errors(data):
    with pytest.raises(ValueError, match="hidden"):
        C.CurveRun(data, (), 50)
    with pytest.raises(ValueError, match="n_train"):
        C.CurveRun(data, (4,), 5000)
    run = C.CurveRun(data, (4,), 50)
    with pytest.raises(ValueError, match="epochs"):
        run.train(0)
    with pytest.raises(ValueError, match="perms"):
        run.train(2, perms=np.zeros((2, 10), int))
    with pytest.raises(ValueError, match="nothing trained"):
        run.restore_best()


def test_runbook_grid_and_chunks(book):
    grid = book.grid(1, 10)
    i, j = C.SIZES.index(200), C.WIDTHS.index(32)
    assert grid[i, j] == pytest.approx(book.history(1, 32, 200)["val_loss"][9])
    assert np.isnan(grid).sum() == grid.size - 2
    assert book.grid(1, C.MAX_EPOCHS)[C.SIZES.index(50), 0] == book.history(1, 2, 50)["val_loss"][-1]
    assert C.chunk_epochs(50) == 10 and C.chunk_epochs(1077) == 4
    before = book.epochs(1, 2, 50)
    assert book.train_chunk(1, 2, 50) == 10 and book.epochs(1, 2, 50) == before + 10
    book.add_history(2, 8, 100, {"loss": [1.0, 0.5], "val_loss": [1.1, 0.9]})
    assert book.done(2, 8, 100) and book.train_chunk(2, 8, 100) == 0
    with pytest.raises(ValueError, match="equally long"):
        book.add_history(2, 8, 100, {"loss": [1.0], "val_loss": []})


def test_render_returns_figure_and_state_errors(book):
    fig = C.render(book, C.State(width=32, depth=1, n_train=200, epoch=10))
    assert len(fig.axes) == 3   # curves, map, colorbar
    with pytest.raises(ValueError, match="width"):
        C.State(width=3).check()
    with pytest.raises(ValueError, match="epoch"):
        C.State(epoch=0).check()


def test_widget_controls_train_and_play(book):
    n_figs = len(plt.get_fignums())
    w = C.CapacityExplorer(book=book, state=C.State(width=32, depth=1, n_train=200, epoch=10))
    assert is_png(w.image.value)
    first = bytes(w.image.value)
    w.w_width.value = 2
    w.w_size.value = 50
    assert (w.state.width, w.state.n_train) == (2, 50) and bytes(w.image.value) != first
    w.w_epoch.value = 3
    assert w.state.epoch == 3
    w.w_depth.value = 2
    assert w.state.depth == 2 and book.epochs(2, 2, 50) == 0   # a control change trains nothing
    w.train_button.click()
    assert book.epochs(2, 2, 50) == C.chunk_epochs(50)
    assert is_png(w.image.value)
    w.skipped_ticks = 0
    w._last_tick_end = 0.0
    assert w.play_tick()
    assert book.epochs(2, 2, 50) == 2 * C.chunk_epochs(50)
    # a complete run with "sweep" ticked moves on to the next untrained cell
    book.add_history(2, 4, 50, {"loss": [1.0] * C.MAX_EPOCHS, "val_loss": [1.0] * C.MAX_EPOCHS})
    w.select(width=4, n_train=50)
    assert w.next_untrained() == (4, 100)   # the same widths, the next size (its loop is traced)
    w.train_step()
    assert (w.state.width, w.state.n_train) == (4, 100) and book.epochs(2, 4, 100) > 0
    assert w.w_size.value == 100
    assert len(plt.get_fignums()) == n_figs
    with pytest.raises(TypeError, match="RunBook"):
        C.CapacityExplorer(book="nope")
    with pytest.raises(ValueError, match="warm_epochs"):
        C.CapacityExplorer(book=book, warm_epochs=-1)


def test_frame_matches_full_draw(book):
    w = C.CapacityExplorer(book=book, state=C.State(width=32, depth=1, n_train=200, epoch=7))
    w.w_width.value = 2
    from PIL import Image
    import io
    fast = np.asarray(Image.open(io.BytesIO(bytes(w.image.value))))
    full = np.asarray(Image.open(io.BytesIO(w.frame.full_png())))
    assert fast.shape == full.shape
    assert np.mean(np.abs(fast.astype(int) - full.astype(int)) > 8) < 0.002


def _pixels(png):
    from PIL import Image
    import io
    return np.asarray(Image.open(io.BytesIO(bytes(png)))).astype(int)


def test_play_frames_paste_unchanged_texts_and_match_full_draw(data):
    book = C.RunBook(data)
    book.get(1, 16, 100).train(3)
    w = C.CapacityExplorer(book=book, state=C.State(width=16, depth=1, n_train=100, epoch=C.MAX_EPOCHS))
    pic = w.picture
    assert pic.suptitle not in pic.live   # the figure's title is background, drawn once
    w.train_step()
    title = pic.stamps[pic.curve_title]
    before = title.draws
    for _ in range(2):
        w.train_step()
        fast, full = _pixels(w.image.value), _pixels(w.frame.full_png())
        w.refresh()   # full_png leaves no background: the next frame draws it again
        assert fast.shape == full.shape
        assert np.mean(np.abs(fast - full) > 8) < 0.002
    assert title.draws - before <= 1      # the configuration's line is pasted, not drawn, while it trains
    assert "gap at the end" in pic.curve_end.get_text() and "best val loss" in pic.curve_numbers.get_text()
    # a pasted frame gives the same pixels as a drawn one
    same = bytes(w.refresh())
    pic.stamps[pic.curve_title]._cache.clear()
    assert _pixels(w.refresh()).tolist() == _pixels(same).tolist()


def test_runs_of_one_architecture_share_one_traced_loop_and_keep_their_own_numbers(data):
    a = C.CurveRun(data, (8,), 50, seed=4)
    b = C.CurveRun(data, (8,), 100, seed=4)
    lone = C.CurveRun(data, (8,), 50, seed=4)
    a.train(3)
    b.train(2)
    a.train(2)          # b's weights and Adam state went through the shared loop in between
    lone.train(5)
    np.testing.assert_allclose(a.history["val_loss"], lone.history["val_loss"], rtol=1e-6)
    for x, y in zip(a.model.get_weights(), lone.model.get_weights()):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)
    assert int(a.optimizer.iterations) == int(lone.optimizer.iterations) == 5 * 2   # 2 batches an epoch
    engine = C._engine((8,), a.lr, a.batch_size, a.X.shape[1])
    assert engine._fn.experimental_get_tracing_count() == 1   # traced once


def test_initial_weights_are_those_of_set_random_seed_without_resetting_tensorflow(data):
    import random
    import keras
    import tensorflow as tf
    from course_utils.models import mlp
    keras.utils.set_random_seed(7)
    expected = mlp(64, hidden=(16, 16), outputs=10).get_weights()
    state = random.getstate()
    tf.random.set_seed(123)
    run = C.CurveRun(data, (16, 16), 50, seed=7)
    for got, want in zip(run.model.get_weights(), expected):
        np.testing.assert_array_equal(got, want)
    assert random.getstate() == state   # the learner's random state is left as it was


def test_best_weights_kept_by_the_compiled_loop(data):
    run = C.CurveRun(data, (8,), 100, seed=2)
    assert run.best_weights is None
    run.train(8)
    best = run.restore_best()
    val = scratch.softmax_ce_from_logits(np.asarray(run.model(run.X_val, training=False)), run.y_val)
    assert val == pytest.approx(run.history["val_loss"][best - 1], rel=1e-5)


def test_prepare_engine_traces_the_loop_in_the_background_without_training(data):
    thread = C.prepare_engine((24,))
    assert thread is not None
    thread.join(timeout=60)
    assert not thread.is_alive() and C.prepare_engine((24,)) is None   # ready: nothing to do
    engine = C._engine((24,), C.LEARNING_RATE, C.BATCH_SIZE, 64)
    assert engine._fn.experimental_get_tracing_count() == 1
    assert int(engine.optimizer.iterations) == 0                        # the call trained nothing
    run = C.CurveRun(data, (24,), 50, seed=1)
    run.train(2)                                                        # uses it: no new trace
    assert engine._fn.experimental_get_tracing_count() == 1 and len(run.history["loss"]) == 2
