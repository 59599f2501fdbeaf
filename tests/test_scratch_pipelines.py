"""NumPy references of notebook 10 against Keras: batching order and augmentations."""
import math

import numpy as np
import pytest

from course_utils.scratch import pipelines as P


@pytest.mark.parametrize("n,b", [(10, 3), (9, 3), (1, 5), (0, 4), (128, 32), (1000, 64)])
def test_batch_order_covers_every_sample_once(n, b):
    batches = P.batch_index_order(n, b)
    assert len(batches) == P.count_batches(n, b) == math.ceil(n / b)
    np.testing.assert_array_equal(np.concatenate(batches) if batches else [], np.arange(n))
    assert all(len(x) == b for x in batches[:-1])
    if n:
        assert len(batches[-1]) == n - (len(batches) - 1) * b
    dropped = P.batch_index_order(n, b, drop_remainder=True)
    assert len(dropped) == P.count_batches(n, b, drop_remainder=True) == n // b
    assert all(len(x) == b for x in dropped)
    shuffled = P.batch_index_order(n, b, shuffle=True, seed=3)
    assert sorted(np.concatenate(shuffled).tolist() if shuffled else []) == list(range(n))
    again = P.batch_index_order(n, b, shuffle=True, seed=3)
    assert all(np.array_equal(u, v) for u, v in zip(shuffled, again))


def test_batch_order_matches_tf_data_and_pydataset():
    keras = pytest.importorskip("keras")
    tf = pytest.importorskip("tensorflow")
    x = np.arange(23)
    ref = P.batch_index_order(23, 5)
    got = [b.numpy() for b in tf.data.Dataset.from_tensor_slices(x).batch(5)]
    assert len(got) == len(ref) and all(np.array_equal(u, x[v]) for u, v in zip(got, ref))
    got = [b.numpy() for b in tf.data.Dataset.from_tensor_slices(x).batch(5, drop_remainder=True)]
    assert len(got) == P.count_batches(23, 5, drop_remainder=True)

    class Rows(keras.utils.PyDataset):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)

        def __len__(self):
            return P.count_batches(23, 5)

        def __getitem__(self, i):
            return x[ref[i]], x[ref[i]]
    rows = Rows()
    assert len(rows) == 5 and np.array_equal(rows[4][0], [20, 21, 22])


def test_batching_errors():
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        P.count_batches(10, 0)
    with pytest.raises(ValueError, match="n must be an integer >= 0"):
        P.batch_index_order(-1, 2)
    with pytest.raises(ValueError, match="batch_size"):
        P.batch_index_order(10, 2.5)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(0, 255, (6, 7, 9, 3)).astype("float32")


@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_flip_equals_keras_random_flip(images, mode):
    keras = pytest.importorskip("keras")
    layer = keras.layers.RandomFlip(mode, seed=5)
    t = layer.get_random_transformation(images, training=True)
    want = np.asarray(layer.transform_images(images, t, training=True))
    flips = np.asarray(t["flips"]).reshape(-1)
    assert 0 < flips.sum() < len(flips)   # this seed flips some and keeps others
    np.testing.assert_array_equal(P.flip_images(images, mode, flips), want)


def test_flip_both_ways_is_a_half_turn(images):
    np.testing.assert_array_equal(P.flip_images(images, "horizontal_and_vertical"), np.rot90(images, 2, axes=(1, 2)))
    np.testing.assert_array_equal(P.flip_images(images[0], "horizontal"), images[0][:, ::-1])
    with pytest.raises(ValueError, match="mode must be"):
        P.flip_images(images, "diagonal")
    with pytest.raises(ValueError, match="add a channel axis"):
        P.flip_images(images[..., 0][0])
    with pytest.raises(ValueError, match="one bool per image"):
        P.flip_images(images, "horizontal", [True])


def test_translate_equals_keras_random_translation(images):
    keras = pytest.importorskip("keras")
    layer = keras.layers.RandomTranslation(0.3, 0.3, fill_mode="constant", interpolation="nearest", seed=1)
    shifts = np.array([[2, 0], [-3, 1], [0, -2], [1, 3], [-1, -1], [0, 0]], dtype="float32")  # (dx, dy) pixels
    want = np.asarray(layer.transform_images(images, {"translations": shifts, "input_shape": images.shape},
                                             training=True))
    got = P.translate_images(images, shifts[:, 0].astype(int), shifts[:, 1].astype(int))
    np.testing.assert_array_equal(got, want)
    right = P.translate_images(images[0], 2, 0)
    np.testing.assert_array_equal(right[:, 2:], images[0][:, :-2])
    assert np.all(right[:, :2] == 0)
    assert np.all(P.translate_images(images, 9, 0) == 0)
    with pytest.raises(ValueError, match="whole numbers"):
        P.translate_images(images, 0.5, 0)


def test_contrast_equals_keras_random_contrast(images):
    keras = pytest.importorskip("keras")
    layer = keras.layers.RandomContrast(0.8, seed=2)
    t = layer.get_random_transformation(images, training=True)
    want = np.asarray(layer.transform_images(images, t, training=True))
    f = np.asarray(t["contrast_factor"]).reshape(-1)
    np.testing.assert_allclose(P.adjust_contrast(images, f), want, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(P.adjust_contrast(images, 1.0), images, atol=1e-4)
    flat = P.adjust_contrast(images, 0.0)
    np.testing.assert_allclose(flat, np.broadcast_to(images.mean(axis=(1, 2), keepdims=True), images.shape),
                               rtol=1e-6)


def test_inactive_at_inference(images):
    keras = pytest.importorskip("keras")
    for layer in (keras.layers.RandomFlip(), keras.layers.RandomRotation(0.3), keras.layers.RandomZoom(0.3),
                  keras.layers.RandomTranslation(0.2, 0.2), keras.layers.RandomContrast(0.5)):
        np.testing.assert_array_equal(np.asarray(layer(images, training=False)), images)


def test_pipeline_epoch_seconds():
    assert P.pipeline_epoch_seconds(10, 0.2, 0.1) == pytest.approx(3.0)
    assert P.pipeline_epoch_seconds(10, 0.2, 0.1, parallel=4) == pytest.approx(1.5)
    assert P.pipeline_epoch_seconds(10, 0.2, 0.1, prefetch=True) == pytest.approx(0.2 + 9 * 0.2 + 0.1)
    assert P.pipeline_epoch_seconds(10, 0.2, 0.1, parallel=4, prefetch=True) == pytest.approx(0.05 + 0.9 + 0.1)
    assert P.pipeline_epoch_seconds(0, 0.2, 0.1, prefetch=True) == 0.0
    assert P.pipeline_epoch_seconds(1, 0.2, 0.1, prefetch=True) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="parallel must be"):
        P.pipeline_epoch_seconds(10, 0.2, 0.1, parallel=0)
    with pytest.raises(ValueError, match="read_s must be"):
        P.pipeline_epoch_seconds(10, -1, 0.1)
