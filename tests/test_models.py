import numpy as np
import pytest

from course_utils import models


def test_mlp_shapes_and_params():
    m = models.mlp(4, hidden=(8, 6), outputs=3, output_activation="softmax")
    assert m.input_shape == (None, 4) and m.output_shape == (None, 3)
    assert m.count_params() == (4 * 8 + 8) + (8 * 6 + 6) + (6 * 3 + 3)
    out = np.asarray(m(np.zeros((2, 4), "float32")))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)


def test_mlp_images_get_flatten_dropout_l2_batchnorm():
    m = models.mlp((28, 28), hidden=(16,), outputs=10, dropout=0.3, l2=1e-4, batchnorm=True)
    kinds = [type(layer).__name__ for layer in m.layers]
    assert kinds == ["Flatten", "Dense", "BatchNormalization", "Activation", "Dropout", "Dense"]
    assert m.layers[0].count_params() == 0  # Flatten only reshapes
    assert abs(m.layers[4].rate - 0.3) < 1e-12
    assert len(m.losses) == 2  # the L2 penalties of both kernels


def test_linear_model_when_no_hidden_layers():
    m = models.mlp(3, hidden=())
    assert m.count_params() == 4


@pytest.mark.parametrize("kwargs,match", [
    ({"input_shape": 0}, "input_shape"), ({"input_shape": "4"}, "input_shape"),
    ({"hidden": 8}, "hidden"), ({"hidden": (8, -1)}, "hidden"), ({"outputs": 0}, "outputs"),
    ({"activation": "rellu"}, "activation"), ({"dropout": 1.0}, "dropout"), ({"l2": -1}, "l2")])
def test_mlp_validation_names_the_argument(kwargs, match):
    args = {"input_shape": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        models.mlp(**args)
