"""Drive the box/IoU explorer without a browser (notebook 14). No TensorFlow: the detector's raw
output is stood in for by synthetic_raw_output."""
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils.scratch import detection as D  # noqa: E402
from course_utils.widgets import box_iou_explorer as BE  # noqa: E402
from course_utils.widgets.base import is_png  # noqa: E402


@pytest.fixture(scope="module")
def scenes():
    rng = np.random.default_rng(0)
    photos = (rng.random((2, 100, 160, 3)) * 255).astype(np.uint8)
    X, B, C = D.shape_scenes(6, photos, seed=1)
    return X, BE.synthetic_raw_output(B, C, seed=1), list(zip(B, C))


@pytest.fixture
def explorer(scenes):
    return BE.BoxIoUExplorer(*scenes)


def _pixels(png):
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGB")).astype(int)


def test_iou_parts_and_raster():
    p = BE.iou_parts([5, 5, 10, 10], [10, 5, 10, 10])         # 5x10 overlap of two 10x10 boxes
    assert p.inter_area == 50 and p.union_area == 150 and np.isclose(p.iou, 1 / 3)
    np.testing.assert_allclose(p.intersection, [5, 0, 10, 10])
    r = BE.overlap_raster(p, size=64, extent=64)
    assert r.max() == 2 and (r == 2).sum() == 50 and (r >= 1).sum() == 150
    touching = BE.iou_parts([5, 5, 10, 10], [15, 5, 10, 10])
    assert touching.iou == 0 and touching.intersection is None
    with pytest.raises(ValueError, match="box_a must be 4 finite numbers"):
        BE.iou_parts([1, 2, 3], [1, 2, 3, 4])
    with pytest.raises(ValueError, match="width and height must be >= 0"):
        BE.iou_parts([1, 2, 3, 4], [1, 2, -3, 4])


def test_nms_view_and_synthetic_output(scenes):
    X, raw, truths = scenes
    assert raw.shape == (6, 8, 8, 8)
    b, s, c = D.yolo_decode(raw[0], 64, from_logits=True)
    v = BE.nms_view(b, s, c, 0.05, 0.5)
    np.testing.assert_array_equal(v.kept, D.nms_greedy(b, s, 0.5, 0.05))
    assert np.all(s[v.candidates] > 0.05) and np.all(np.diff(s[v.candidates]) <= 0)
    assert set(v.kept) <= set(v.candidates)
    # the synthetic detector finds every object with its own cell, and NMS removes its duplicates
    m, _ = D.mean_average_precision([(b_[k], s_[k], c_[k]) for b_, s_, c_ in
                                     (D.yolo_decode(r, 64, from_logits=True) for r in raw)
                                     for k in [D.nms_greedy(b_, s_, 0.5, 0.01)]], truths, 3)
    assert m > 0.9
    with pytest.raises(ValueError, match="score_threshold must be a number in"):
        BE.nms_view(b, s, c, 1.5, 0.5)


def test_controls_change_state_and_picture(explorer):
    n_figs = len(plt.get_fignums())
    first = explorer.png
    assert is_png(first) and "box-iou-explorer" in explorer.ui._dom_classes
    explorer.a_sliders[0].value = 40.0
    assert explorer.state.box_a[0] == 40.0 and explorer.png != first
    explorer.b_sliders[2].value = 2.0
    assert explorer.state.box_b[2] == 2.0
    np.testing.assert_allclose(explorer.iou, BE.iou_parts(explorer.state.box_a, explorer.state.box_b).iou)
    explorer.w_score.value = 0.01
    many = len(explorer.view.candidates)
    explorer.w_score.value = 0.6
    assert len(explorer.view.candidates) < many
    explorer.w_iou.value = 1.0                      # nothing is suppressed
    assert len(explorer.view.kept) == len(explorer.view.candidates)
    before = explorer.png
    explorer.w_image.value = 3
    assert explorer.state.image == 3 and explorer.png != before
    assert "after NMS" in explorer.status.value or "NMS" in explorer.status.value
    assert len(plt.get_fignums()) == n_figs
    # the kept frame draws what a full draw of the same figure draws
    np.testing.assert_array_equal(_pixels(explorer.png), _pixels(explorer.frame.full_png()))


def test_default_boxes_and_the_browser_step(explorer):
    """The step suggested for the real-browser test: box A's cx from 26 to 36 takes IoU 0.25 to 0.5."""
    assert "IoU(A, B) = 0.250" in explorer.status.value
    explorer.a_cx.value = 36.0                     # A = [24, 48] x [18, 38], B = [26, 46] x [22, 46]
    assert np.isclose(explorer.iou, 0.5) and "IoU(A, B) = 0.500" in explorer.status.value


def test_bad_input(explorer, scenes):
    X, raw, truths = scenes
    with pytest.raises(ValueError, match="image must be an index"):
        explorer.set_nms(99, 0.2, 0.5)
    with pytest.raises(ValueError, match="iou_threshold must be"):
        explorer.set_nms(0, 0.2, -0.1)
    with pytest.raises(ValueError, match="box_b"):
        explorer.set_boxes([1, 2, 3, 4], [1, 2, 3])
    with pytest.raises(ValueError, match="raw_output must have shape"):
        BE.BoxIoUExplorer(X, raw[:2], truths)
    with pytest.raises(ValueError, match="class channels"):
        BE.BoxIoUExplorer(X, raw, truths, class_names=("a", "b"))
    with pytest.raises(ValueError, match="truths must have one"):
        BE.BoxIoUExplorer(X, raw, truths[:3])


def test_render_returns_a_figure(scenes):
    X, raw, truths = scenes
    fig = BE.render(BE.ExplorerState(image=2, score_threshold=0.1), X, raw, truths)
    assert len(fig.axes) == 3
    plt.close(fig)
