"""Drive the augmentation previewer without a browser (notebook 10)."""
import matplotlib

matplotlib.use("Agg")

import io  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils.scratch import pipelines as P  # noqa: E402
from course_utils.widgets import augmentation_previewer as A  # noqa: E402
from course_utils.widgets.base import is_png  # noqa: E402


@pytest.fixture(scope="module")
def previewer():
    return A.AugmentationPreviewer()


def _pixels(png):
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGB"))


# --------------------------------------------------------------------------- pure layer

def test_sources():
    photo, fill = A.load_source("photo: china")
    assert photo.shape == (85, 128, 3) and photo.dtype == np.float32 and fill == "reflect"
    assert 0 <= photo.min() and photo.max() <= 255 and photo.std() > 20
    digit, fill = A.load_source("digit: 6")
    assert digit.shape == (28, 28, 1) and fill == "constant" and digit.max() > 200
    with pytest.raises(ValueError, match="source must be one of"):
        A.load_source("cat")


def test_settings_are_checked():
    with pytest.raises(ValueError, match=r"rotation must be a factor in \[0, 0.5\]"):
        A.AugmentSettings(rotation=0.7)
    with pytest.raises(ValueError, match="flip must be one of"):
        A.AugmentSettings(flip="diagonal")
    with pytest.raises(ValueError, match="seed must be an integer"):
        A.AugmentSettings(seed=-1)
    with pytest.raises(ValueError, match="source must be one of"):
        A.AugmentSettings(source="photo: cat")
    with pytest.raises(TypeError, match="settings must be an AugmentSettings"):
        A.augment_samples({"rotation": 0.1})


def test_layers_and_text():
    s = A.AugmentSettings(flip="none", rotation=0.0, zoom=0.2, translation=0.0, contrast=0.3)
    assert [k for k, _ in A.build_layers(s)] == ["zoom", "contrast"]
    assert A.pipeline_text(s) == "RandomZoom(0.2) → RandomContrast(0.3)"
    none = A.AugmentSettings(flip="none", rotation=0, zoom=0, translation=0, contrast=0)
    assert A.build_layers(none) == [] and A.pipeline_text(none) == "no augmentation layer"
    x = A.augment_samples(none)
    np.testing.assert_array_equal(x, np.broadcast_to(A.load_source("photo: china")[0], x.shape))


def test_samples_reproducible_and_varied():
    s = A.AugmentSettings(seed=3)
    a = A.augment_samples(s)
    A._RESULTS.clear()
    b = A.augment_samples(s)
    np.testing.assert_array_equal(a, b)                      # a fixed seed: the same pictures
    assert a.shape == (7, 85, 128, 3)
    assert len({x.tobytes() for x in a}) == 7                 # seven different draws
    c = A.augment_samples(A.AugmentSettings(seed=4))
    assert not np.array_equal(a, c)


def test_inference_is_the_identity():
    for source in A.SOURCES:
        s = A.AugmentSettings(source=source, flip="horizontal_and_vertical", rotation=0.5, zoom=0.5,
                              translation=0.3, contrast=0.9, training=False)
        x = A.augment_samples(s)
        image = A.load_source(source)[0]
        np.testing.assert_array_equal(x, np.broadcast_to(image, x.shape))


def test_flip_only_is_the_scratch_flip():
    """RandomFlip alone: each output is the input or its mirror image, as flip_images computes."""
    s = A.AugmentSettings(source="digit: 6", flip="horizontal_and_vertical", rotation=0, zoom=0,
                          translation=0, contrast=0, seed=1)
    x = A.augment_samples(s)
    image = A.load_source("digit: 6")[0]
    turned = P.flip_images(image, "horizontal_and_vertical")
    kinds = [0 if np.array_equal(o, image) else 1 if np.array_equal(o, turned) else 2 for o in x]
    assert 2 not in kinds and 0 in kinds and 1 in kinds      # half-turned 6s (they read as 9s) and plain ones


def test_mosaic_layout():
    image = A.load_source("digit: 2")[0]
    tiles = A.mosaic(image, np.repeat(image[None], 7, axis=0))
    assert tiles.dtype == np.uint8 and tiles.shape[-1] == 4
    assert tiles.shape[:2] == (2 * (A.LABEL + 112) + A.GAP, 4 * 112 + 3 * A.GAP)
    assert tiles[..., 3].sum() == 8 * 112 * 112 * 255          # opaque cells, transparent gaps


# --------------------------------------------------------------------------- the widget

def test_default_png_and_controls(previewer):
    assert is_png(previewer.png) and is_png(previewer.image.value)
    assert [c.description for c in previewer.controls] == ["image", "RandomFlip", "Rotation", "Zoom",
                                                            "Translation", "Contrast", "seed", "mode"]
    assert "RandomFlip('horizontal')" in previewer.status.value


def test_every_control_changes_state_and_picture(previewer):
    n_open = len(plt.get_fignums())
    changes = [("rotation", 0.3), ("zoom", 0.4), ("translation", 0.2), ("contrast", 0.8), ("seed", 5),
               ("flip", "vertical"), ("source", "digit: 6"), ("mode", "inference"), ("mode", "training"),
               ("source", "photo: flower")]
    for name, value in changes:
        before_png, before = bytes(previewer.png), previewer.settings
        getattr(previewer, name).value = value
        assert previewer.settings != before, name
        assert is_png(previewer.png) and bytes(previewer.png) != before_png, name
    assert previewer.settings.source == "photo: flower" and previewer.settings.training
    assert len(plt.get_fignums()) == n_open


def test_inference_picture_shows_the_input(previewer):
    previewer.mode.value = "inference"
    try:
        assert not previewer.settings.training
        image = A.load_source(previewer.settings.source)[0]
        np.testing.assert_array_equal(previewer.samples, np.broadcast_to(image, previewer.samples.shape))
        assert "identical to the input" in previewer.status.value
    finally:
        previewer.mode.value = "training"


def test_fast_frame_equals_full_render(previewer):
    previewer.set(source="photo: china", rotation=0.2, seed=2)
    fast = _pixels(previewer.png)
    full = _pixels(previewer.frame.full_png())
    np.testing.assert_array_equal(fast, full)
    fig = A.render(previewer.settings)
    try:
        assert fig.get_size_inches()[0] * fig.dpi == pytest.approx(fast.shape[1], abs=1)
    finally:
        plt.close(fig)


def test_bad_value_is_a_clear_error_and_keeps_state(previewer):
    before = previewer.settings
    with pytest.raises(ValueError, match="zoom must be a factor"):
        previewer.set(zoom=2.0)
    with pytest.raises(TypeError):
        previewer.set(colour="red")
    assert previewer.settings == before
