"""cu.scratch references of notebook 12 (CNN classifier) against Keras, TensorFlow and sklearn."""
import numpy as np
import pytest

from course_utils.scratch import cnn as C

KERAS_CNN = [("conv", 32, 3), ("pool", 2), ("conv", 64, 3), ("pool", 2), ("flatten",), ("dropout",),
             ("dense", 10), ("softmax",)]


def _keras_model(input_shape, layers):
    import keras
    L = keras.layers
    out = []
    for spec in layers:
        kind, args = spec[0], spec[1:]
        if kind == "conv":
            s = args[2] if len(args) > 2 else 1
            pad = args[3] if len(args) > 3 else "valid"
            out.append(L.Conv2D(args[0], args[1], strides=s, padding=pad, activation="relu"))
        elif kind == "pool":
            out.append(L.MaxPooling2D(args[0], strides=args[1] if len(args) > 1 else None))
        elif kind == "flatten":
            out.append(L.Flatten())
        elif kind == "dropout":
            out.append(L.Dropout(0.5))
        elif kind == "dense":
            out.append(L.Dense(args[0]))
        else:
            out.append(L.Softmax())
    return keras.Sequential([keras.Input(input_shape)] + out)


@pytest.mark.parametrize("input_shape,layers", [
    ((28, 28, 1), KERAS_CNN),
    ((32, 32, 3), [("conv", 8, 5, 2, "same"), ("pool", 3, 2), ("conv", 4, 3, 1, "same"), ("flatten",),
                   ("dense", 7)]),
    ((17, 23, 2), [("conv", 3, 4, 3), ("pool", 2, 1), ("flatten",), ("dense", 5), ("dense", 2)]),
])
def test_layer_table_matches_keras(input_shape, layers):
    model = _keras_model(input_shape, layers)
    rows = C.cnn_layer_table(input_shape, layers)
    assert len(rows) == len(model.layers)
    for row, layer in zip(rows, model.layers):
        assert row.params == layer.count_params(), (row, layer.name)
        assert row.output_shape == tuple(layer.output.shape[1:]), (row, layer.name)
    assert C.cnn_param_count(input_shape, layers) == model.count_params()


def test_known_counts_and_errors():
    assert C.cnn_param_count((28, 28, 1), KERAS_CNN) == 34_826
    assert C.count_conv2d_params(3, 1, 32) == 320 and C.count_conv2d_params(3, 32, 64, use_bias=False) == 18_432
    assert C.count_dense_params(784, 256) == 200_960
    assert C.cnn_output_length(28, 3) == 26 and C.cnn_output_length(28, 3, 2, "same") == 14
    with pytest.raises(ValueError, match="padding must be"):
        C.cnn_output_length(28, 3, padding="full")
    with pytest.raises(ValueError, match="does not fit"):
        C.cnn_output_length(2, 3)
    with pytest.raises(ValueError, match="flatten first"):
        C.cnn_layer_table((28, 28, 1), [("dense", 10)])
    with pytest.raises(ValueError, match="unknown kind"):
        C.cnn_layer_table((28, 28, 1), [("convolution", 3, 3)])
    with pytest.raises(ValueError, match="input_shape"):
        C.cnn_layer_table((28, 28), [])


def test_confusion_counts_equals_sklearn():
    from sklearn.metrics import confusion_matrix
    rng = np.random.default_rng(0)
    t = rng.integers(0, 10, 500)
    p = np.where(rng.random(500) < 0.8, t, rng.integers(0, 10, 500))
    np.testing.assert_array_equal(C.confusion_counts(t, p), confusion_matrix(t, p))
    np.testing.assert_array_equal(C.confusion_counts([0, 1], [1, 1], n_classes=4),
                                  confusion_matrix([0, 1], [1, 1], labels=range(4)))
    with pytest.raises(ValueError, match="same length"):
        C.confusion_counts([0, 1], [1])
    with pytest.raises(ValueError, match="n_classes is 2"):
        C.confusion_counts([0, 5], [1, 1], n_classes=2)


def test_paired_gap():
    a = np.array([1, 1, 1, 0, 1, 1, 0, 1])
    b = np.array([1, 0, 1, 0, 1, 0, 0, 1])
    gap, se = C.paired_accuracy_gap(a, b)
    d = a - b
    assert gap == pytest.approx(0.25) and se == pytest.approx(d.std(ddof=1) / np.sqrt(8))
    with pytest.raises(ValueError, match="0/1"):
        C.paired_accuracy_gap([0.5, 1], [1, 1])


def test_grad_cam_equals_tensorflow():
    import keras
    import tensorflow as tf
    keras.utils.set_random_seed(1)
    inp = keras.Input((12, 12, 1))
    a = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inp)
    out = keras.layers.Dense(3)(keras.layers.Flatten()(a))
    probe = keras.Model(inp, [a, out])
    x = np.random.default_rng(1).random((2, 12, 12, 1)).astype("float32")
    with tf.GradientTape() as tape:
        acts, logits = probe(x, training=False)
        score = tf.reduce_sum(logits[:, 1])
    grads = tape.gradient(score, acts)
    alpha = tf.reduce_mean(grads, axis=(1, 2))
    cam_tf = tf.nn.relu(tf.einsum("nhwk,nk->nhw", acts, alpha)).numpy()
    cam = C.grad_cam_heatmap(acts.numpy(), grads.numpy(), normalize=False)
    np.testing.assert_allclose(cam, cam_tf, rtol=1e-5, atol=1e-6)
    norm = C.grad_cam_heatmap(acts.numpy()[0], grads.numpy()[0])
    assert norm.shape == (10, 10) and (norm.max() == pytest.approx(1.0) or norm.max() == 0)
    np.testing.assert_allclose(C.grad_cam_weights(grads.numpy()), alpha.numpy(), rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="same shape"):
        C.grad_cam_heatmap(np.zeros((3, 3, 2)), np.zeros((3, 3, 1)))


@pytest.mark.parametrize("shape,size", [((5, 5), (28, 28)), ((11, 11, 2), (28, 28)), ((7, 3), (4, 9))])
def test_resize_bilinear_equals_tf(shape, size):
    import tensorflow as tf
    x = np.random.default_rng(2).random(shape)
    t = x if x.ndim == 3 else x[..., None]
    ref = tf.image.resize(t, size, method="bilinear").numpy()
    got = C.resize_bilinear(x, size)
    np.testing.assert_allclose(got if got.ndim == 3 else got[..., None], ref, atol=1e-5)


def test_top_k_and_occlusion():
    assert C.top_k_classes([0.1, 0.5, 0.1, 0.3], k=3) == [(1, 0.5), (3, 0.3), (0, 0.1)]
    with pytest.raises(ValueError, match="at most"):
        C.top_k_classes([0.5, 0.5], k=3)

    def predict(batch):   # "class 1" = mean of the top-left 4x4 corner
        s = batch[:, :4, :4].mean(axis=(1, 2))
        return np.stack([1 - s, s], axis=1)

    img = np.ones((8, 8))
    m = C.occlusion_sensitivity(predict, img, 1, patch=4)
    np.testing.assert_allclose(m, [[1, 0], [0, 0]])
    m2 = C.occlusion_sensitivity(predict, img, 1, patch=2, stride=3)
    assert m2.shape == (3, 3) and m2[0, 0] == pytest.approx(0.25) and m2[1, 1] == pytest.approx(1 / 16)
    with pytest.raises(ValueError, match="must fit"):
        C.occlusion_sensitivity(predict, img, 1, patch=9)
