import io

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils import data, plots


def _png_ok(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue().startswith(b"\x89PNG")


def test_history_from_dict_and_keras_like():
    fig = plots.history({"loss": [1, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6], "accuracy": [0.5, 0.7, 0.9]})
    assert len(fig.axes) == 2 and _png_ok(fig)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["train", "validation"]
    ticks = fig.axes[0].get_xticks()
    assert np.allclose(ticks, np.round(ticks))  # whole epochs only

    class H:
        history = {"loss": [1.0, 0.5]}
    assert len(plots.history(H()).axes) == 1


def test_history_validation():
    with pytest.raises(TypeError):
        plots.history([1, 2])
    with pytest.raises(ValueError, match="not in the history"):
        plots.history({"loss": [1]}, metrics=["acc"])


def test_decision_boundary_function_and_sklearn():
    X, y = data.toy("xor", n=100)
    fig = plots.decision_boundary(lambda P: (P[:, 0] * P[:, 1] > 0).astype(float), X, y, title="xor")
    assert _png_ok(fig) and fig.axes[0].get_title() == "xor"
    from sklearn.linear_model import LogisticRegression
    X, y = data.toy("gaussian", n=100)
    clf = LogisticRegression().fit(X, y)
    xx, yy, zz = plots.predict_grid(clf, (-3, 3), (-3, 3), 20)
    assert zz.shape == (20, 20) and 0 <= zz.min() and zz.max() <= 1
    assert zz[0, 0] < 0.5 < zz[-1, -1]  # bottom-left is class 0, top-right class 1
    assert _png_ok(plots.decision_boundary(clf, X, y, X_test=X[:10], y_test=y[:10]))


def test_decision_boundary_keras_model_multiclass():
    import keras
    m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="softmax")])
    X = np.random.default_rng(0).normal(size=(30, 2)).astype("float32")
    xx, yy, zz = plots.predict_grid(m, (-1, 1), (-1, 1), 10)
    assert zz.shape == (10, 10) and zz.dtype.kind == "i" and zz.max() <= 2
    assert _png_ok(plots.decision_boundary(m, X, np.arange(30) % 3))


def test_decision_boundary_validates():
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        plots.decision_boundary(lambda P: P[:, 0], np.zeros((5, 3)))
    with pytest.raises(ValueError, match="one label per row"):
        plots.decision_boundary(lambda P: P[:, 0], np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(TypeError, match="model_or_fn"):
        plots.predict_grid(42, (0, 1), (0, 1))


def test_image_grid_marks_wrong_predictions_red():
    imgs = np.random.default_rng(0).integers(0, 255, (6, 28 * 28))
    fig = plots.image_grid(imgs, labels=[1, 2, 3, 4, 5, 6], preds=[1, 2, 0, 4, 5, 6], ncols=3)
    titles = [(a.get_title(), a.title.get_color()) for a in fig.axes if a.get_title()]
    assert titles[2] == ("3 →0", "red") and titles[0][1] == "black"
    assert _png_ok(fig)
    with pytest.raises(ValueError, match="one per image"):
        plots.image_grid(imgs, labels=[1])
    with pytest.raises(ValueError, match="not square"):
        plots.image_grid(np.zeros((2, 10)))


def test_confusion_matrix_counts():
    fig = plots.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], class_names=["a", "b", "c"])
    np.testing.assert_array_equal(fig.confusion, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert "accuracy 66.7%" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="same length"):
        plots.confusion_matrix([0, 1], [0])


def test_save(tmp_path):
    fig, ax = plt.subplots()
    p = plots.save(fig, tmp_path / "sub" / "f.png")
    assert p.read_bytes().startswith(b"\x89PNG")
