"""cu.scratch.detection: boxes, IoU, NMS, the YOLO grid and loss, AP/mAP and the generated scenes
(notebook 14). NumPy only, except the comparisons with TensorFlow / Keras (skipped without them)."""
import numpy as np
import pytest

from course_utils.scratch import detection as D


def _random_boxes(rng, n, lo=0, hi=64, smin=1, smax=30):
    c = rng.uniform(lo, hi, (n, 2))
    return D.box_center_to_corners(np.c_[c, rng.uniform(smin, smax, (n, 2))])


# ----------------------------------------------------------------------------- boxes and IoU

def test_formats_round_trip_and_known_values():
    b = np.array([[10.0, 20, 30, 60]])
    np.testing.assert_allclose(D.box_corners_to_center(b), [[20, 40, 20, 40]])
    np.testing.assert_allclose(D.box_center_to_corners(D.box_corners_to_center(b)), b)
    rng = np.random.default_rng(0)
    r = _random_boxes(rng, 50)
    np.testing.assert_allclose(D.box_center_to_corners(D.box_corners_to_center(r)), r, atol=1e-12)
    np.testing.assert_allclose(D.box_area(b), [800.0])
    with pytest.raises(ValueError, match="4 numbers per box"):
        D.box_corners_to_center(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="w >= 0"):
        D.box_center_to_corners([0, 0, -1, 2])


def test_iou_known_cases_and_edges():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [2, 3, 7, 9], [0, 0, 0, 0], [0, 0, 10, 10]], float)
    b = np.array([[5, 5, 15, 15], [10, 0, 20, 10], [2, 3, 7, 9], [0, 0, 0, 0], [2, 2, 4, 4]], float)
    np.testing.assert_allclose(np.diag(D.box_iou(a, b)), [1 / 7, 0, 1, 0, 4 / 100])
    np.testing.assert_allclose(D.box_iou_paired(a, b), np.diag(D.box_iou(a, b)))
    assert D.box_iou(a, b[:2]).shape == (5, 2)
    assert D.box_iou(np.zeros((0, 4)), b).shape == (0, 5)
    with pytest.raises(ValueError, match="x1 <= x2"):
        D.box_iou([[10, 0, 0, 10]], b)


def test_iou_is_symmetric_bounded_and_scale_free():
    rng = np.random.default_rng(1)
    a, b = _random_boxes(rng, 40), _random_boxes(rng, 30)
    m = D.box_iou(a, b)
    np.testing.assert_allclose(m, D.box_iou(b, a).T)
    assert m.min() >= 0 and m.max() <= 1
    np.testing.assert_allclose(D.box_iou(a * 7.5, b * 7.5), m, atol=1e-12)


def test_iou_equals_keras_where_available():
    keras = pytest.importorskip("keras")
    bb = getattr(keras.utils, "bounding_boxes", None)
    if bb is None:
        pytest.skip("this Keras has no bounding_boxes utilities")
    rng = np.random.default_rng(2)
    a, b = _random_boxes(rng, 20), _random_boxes(rng, 25)
    np.testing.assert_allclose(np.asarray(bb.compute_iou(a.astype("float32"), b.astype("float32"),
                                                         bounding_box_format="xyxy")), D.box_iou(a, b), atol=1e-5)


# ----------------------------------------------------------------------------- NMS

def test_nms_rules():
    boxes = np.array([[0, 0, 10, 10], [0, 5, 10, 15], [0, 0, 10, 10], [30, 30, 40, 40]], float)
    scores = np.array([0.9, 0.8, 0.9, 0.1])
    # ties: lower index first; box 2 (IoU 1 with box 0) suppressed; IoU(0, 1) = 1/3 is not > 1/3
    np.testing.assert_array_equal(D.nms_greedy(boxes, scores, 1 / 3), [0, 1, 3])
    np.testing.assert_array_equal(D.nms_greedy(boxes, scores, 0.3), [0, 3])
    np.testing.assert_array_equal(D.nms_greedy(boxes, scores, 0.5, score_threshold=0.1), [0, 1])   # strict >
    np.testing.assert_array_equal(D.nms_greedy(boxes, scores, 0.5, max_output_size=1), [0])
    assert D.nms_greedy(boxes, scores, 0.5, score_threshold=0.95).shape == (0,)
    with pytest.raises(ValueError, match="one number per box"):
        D.nms_greedy(boxes, scores[:2])
    with pytest.raises(ValueError, match="iou_threshold"):
        D.nms_greedy(boxes, scores, 1.5)


def test_nms_equals_tensorflow():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(3)
    for trial in range(6):
        corner = rng.integers(0, 48, (40, 2))               # integer boxes: some IoUs equal a threshold exactly
        boxes = np.c_[corner, corner + rng.integers(4, 24, (40, 2))].astype(float)
        scores = rng.random(40).astype("float32").astype(float)
        if trial % 2:
            scores = np.round(scores, 1)
        for thr in (0.0, 0.1, 0.2, 0.5, 0.8):
            want = tf.image.non_max_suppression(boxes[:, [1, 0, 3, 2]].astype("float32"), scores.astype("float32"),
                                                40, iou_threshold=thr, score_threshold=0.15).numpy()
            np.testing.assert_array_equal(D.nms_greedy(boxes, scores, thr, 0.15), want)


# ----------------------------------------------------------------------------- YOLO grid and loss

def test_encode_decode_round_trip_and_layout():
    boxes = np.array([[0.0, 0, 10, 20], [40, 40, 60, 60], [90, 80, 100, 100]])
    t = D.yolo_encode(boxes, np.array([2, 0, 1]), 5, 3, 100)
    assert t.shape == (5, 5, 8) and t[..., 0].sum() == 3
    np.testing.assert_allclose(t[0, 0, :5], [1, 0.25, 0.5, np.sqrt(0.1), np.sqrt(0.2)])
    np.testing.assert_allclose(t[2, 2, 1:3], [0.5, 0.5])            # centre (50, 50): cell (2, 2), middle
    np.testing.assert_allclose(t[4, 4, 1:3], [0.75, 0.5])           # centre (95, 90)
    np.testing.assert_array_equal(t[0, 0, 5:], [0, 0, 1])
    b, s, c = D.yolo_decode(t, 100)
    hit = s > 0.5
    np.testing.assert_allclose(np.sort(b[hit], axis=0), np.sort(boxes, axis=0), atol=1e-9)
    assert sorted(c[hit]) == [0, 1, 2]
    with pytest.raises(ValueError, match="same cell|cell"):
        D.yolo_encode(np.array([[0.0, 0, 4, 4], [1, 1, 5, 5]]), np.array([0, 1]), 8, 3, 64)
    with pytest.raises(ValueError, match="classes must be integers"):
        D.yolo_encode(boxes, np.array([0, 1, 3]), 5, 3, 100)
    with pytest.raises(ValueError, match="inside the image"):
        D.yolo_encode(np.array([[0.0, 0, 120, 10]]), np.array([0]), 5, 3, 100)
    assert D.yolo_encode(np.zeros((0, 4)), np.zeros(0, int), 4, 2, 32).sum() == 0


def test_activate_and_decode_from_logits():
    rng = np.random.default_rng(4)
    z = rng.normal(0, 3, (4, 4, 8))
    p = D.yolo_activate(z)
    np.testing.assert_allclose(p[..., :5], 1 / (1 + np.exp(-z[..., :5])))
    np.testing.assert_allclose(p[..., 5:].sum(-1), 1.0)
    b1, s1, c1 = D.yolo_decode(z, 32, from_logits=True)
    b2, s2, c2 = D.yolo_decode(p, 32)
    np.testing.assert_allclose(b1, b2)
    np.testing.assert_allclose(s1, p[..., 0].ravel() * p[..., 5:].reshape(16, 3).max(1))
    assert b1.min() >= 0 and b1.max() <= 32
    with pytest.raises(ValueError, match="shape"):
        D.yolo_activate(np.zeros((4, 4, 5)))


def test_yolo_loss_terms():
    boxes = np.array([[8.0, 8, 24, 24]])
    t = D.yolo_encode(boxes, np.array([1]), 4, 2, 32)
    perfect = np.where(t > 0.5, 30.0, -30.0)
    perfect[..., 1:5] = np.log(t[..., 1:5] + 1e-12) - np.log1p(-t[..., 1:5] + 1e-12)
    assert D.yolo_loss_numpy(t, perfect) < 1e-10
    # only the no-object term: every objectness at 0.5 (logit 0), everything else right
    z = perfect.copy()
    z[..., 0] = 0.0
    expected = (1 - 0.5) ** 2 + 0.5 * 15 * 0.5 ** 2
    np.testing.assert_allclose(D.yolo_loss_numpy(t, z), expected, rtol=1e-9)
    np.testing.assert_allclose(D.yolo_loss_numpy(t, z, lambda_noobj=0.0), 0.25, rtol=1e-9)
    # averaged over a batch
    np.testing.assert_allclose(D.yolo_loss_numpy(np.stack([t, t]), np.stack([z, perfect])), expected / 2, rtol=1e-9)


def test_yolo_loss_equals_a_tensorflow_version():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(5)
    boxes = [_random_boxes(rng, 1, 10, 54, 4, 20) for _ in range(6)]
    y = np.stack([D.yolo_encode(b, np.array([k % 3]), 8, 3, 64) for k, b in enumerate(boxes)]).astype("float32")
    z = rng.normal(0, 2, y.shape).astype("float32")
    obj = y[..., 0]
    p_obj, p_box, p_cls = tf.sigmoid(z[..., 0]), tf.sigmoid(z[..., 1:5]), tf.nn.softmax(z[..., 5:])
    per = (5 * tf.reduce_sum(obj[..., None] * (y[..., 1:5] - p_box) ** 2, axis=(1, 2, 3))
           + tf.reduce_sum(obj * (1 - p_obj) ** 2, axis=(1, 2)) + 0.5 * tf.reduce_sum((1 - obj) * p_obj ** 2, axis=(1, 2))
           + tf.reduce_sum(obj[..., None] * (y[..., 5:] - p_cls) ** 2, axis=(1, 2, 3)))
    np.testing.assert_allclose(float(tf.reduce_mean(per)), D.yolo_loss_numpy(y, z), rtol=1e-5)


# ----------------------------------------------------------------------------- AP and mAP

def test_average_precision_hand_cases():
    assert D.average_precision_voc([0.9, 0.8, 0.7], [1, 1, 1], 3) == 1.0
    assert D.average_precision_voc([0.9, 0.8], [0, 1], 1) == 0.5
    np.testing.assert_allclose(D.average_precision_voc([0.9, 0.8, 0.7, 0.6, 0.5], [1, 0, 1, 0, 1], 4),
                               0.25 + 0.25 * 2 / 3 + 0.25 * 0.6)
    np.testing.assert_allclose(D.average_precision_voc([0.5, 0.9], [1, 0], 1), 0.5)   # ranked by score, not order
    assert D.average_precision_voc([], [], 2) == 0.0
    assert np.isnan(D.average_precision_voc([], [], 0))
    with pytest.raises(ValueError, match="more true positives"):
        D.average_precision_voc([0.9, 0.8], [1, 1], 1)


def test_average_precision_equals_a_brute_force_envelope():
    rng = np.random.default_rng(6)
    for n in (1, 7, 50):
        s = rng.random(n)
        tp = rng.random(n) < 0.5
        n_true = int(tp.sum()) + 2
        order = np.argsort(-s)
        hits = np.cumsum(tp[order])
        prec, rec = hits / np.arange(1, n + 1), hits / n_true
        area, prev = 0.0, 0.0
        for k in range(n):
            area += (rec[k] - prev) * prec[k:].max()
            prev = rec[k]
        np.testing.assert_allclose(D.average_precision_voc(s, tp, n_true), area, atol=1e-12)


def test_match_duplicates_and_map():
    gt = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float)
    pred = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 31], [50, 50, 60, 60]], float)
    np.testing.assert_array_equal(D.detection_match(pred, np.array([0.9, 0.95, 0.8, 0.99]), gt),
                                  [False, True, True, False])        # the higher-scored duplicate claims first
    # mAP: class 0 perfect, class 1 one false positive ranked above its true positive
    dets = [(np.array([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], float), np.array([0.9, 0.6, 0.7]),
             np.array([0, 1, 1]))]
    truths = [(gt, np.array([0, 1]))]
    m, ap = D.mean_average_precision(dets, truths, 3)
    np.testing.assert_allclose(ap[:2], [1.0, 0.5])
    assert np.isnan(ap[2]) and m == 0.75
    perfect = [(gt, np.array([1.0, 1.0]), np.array([0, 1]))]
    assert D.mean_average_precision(perfect, truths, 2)[0] == 1.0
    with pytest.raises(ValueError, match="one detection tuple per image"):
        D.mean_average_precision(dets, truths * 2, 2)


# ----------------------------------------------------------------------------- generated scenes

def _photos():
    rng = np.random.default_rng(7)
    return (rng.random((2, 120, 200, 3)) * 255).astype(np.uint8)


def test_shape_scenes_are_valid_and_reproducible():
    photos = _photos()
    X, B, C = D.shape_scenes(40, photos, seed=3, x_range=(0.0, 0.7))
    assert X.shape == (40, 64, 64, 3) and X.dtype == np.float32 and 0 <= X.min() and X.max() <= 1
    for b, c in zip(B, C):
        assert 1 <= len(b) <= 3 and len(c) == len(b) and set(c) <= {0, 1, 2}
        assert np.all(b >= 0) and np.all(b <= 64)
        side = b[:, 2] - b[:, 0]
        assert np.all((side >= 12) & (side <= 26)) and np.allclose(side, b[:, 3] - b[:, 1])
        D.yolo_encode(b, c, 8, 3, 64)                                   # one object per cell
        if len(b) > 1:
            iou = D.box_iou(b, b)
            assert iou[~np.eye(len(b), dtype=bool)].max() <= 0.1
    X2, B2, _ = D.shape_scenes(40, photos, seed=3, x_range=(0.0, 0.7))
    np.testing.assert_array_equal(X, X2)
    assert all(np.array_equal(a, b) for a, b in zip(B, B2))
    with pytest.raises(ValueError, match="side_range"):
        D.shape_scenes(2, photos, side_range=(30, 20))
    with pytest.raises(ValueError, match="photos must have shape"):
        D.shape_scenes(2, photos[0])


def test_texture_crops_respect_the_column_range():
    photos = np.zeros((1, 100, 300, 3), np.uint8)
    photos[:, :, 200:] = 255                                            # the right third is white
    left = D.texture_crops(photos, 20, 32, rng=0, x_range=(0.0, 2 / 3))
    right = D.texture_crops(photos, 20, 32, rng=0, x_range=(2 / 3, 1.0))
    assert left.max() == 0 and right.min() == 1.0
    with pytest.raises(ValueError, match="too few"):
        D.texture_crops(photos, 2, 64, x_range=(0.9, 1.0))
