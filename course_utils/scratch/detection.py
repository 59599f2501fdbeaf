"""NumPy references for notebook 14 (object detection basics): box formats, IoU, greedy non-max
suppression, YOLO's grid target (encode / decode) and loss, VOC-style average precision and mAP,
and the generated "shapes on real photo textures" scenes the tiny detector learns from.

Conventions (the notebook explains them):

- a box in **corners** format is ``(x1, y1, x2, y2)`` in pixels, ``x1 <= x2``, ``y1 <= y2``, x to the
  right, y down (``tf.image.non_max_suppression`` wants ``(y1, x1, y2, x2)``: swap the columns);
  **centre** format is ``(cx, cy, w, h)``;
- a YOLO grid target for an image of ``image_size`` pixels and an ``S x S`` grid is an array
  ``(S, S, 5 + C)``: per cell ``[objectness, tx, ty, tw, th, one-hot class (C)]`` where ``(tx, ty)``
  in ``[0, 1)`` is the box centre's offset inside the cell (in cell units) and
  ``tw = sqrt(w / image_size)``, ``th = sqrt(h / image_size)`` (YOLOv1's square roots); one object
  per cell, owned by the cell that holds its centre;
- a detector's raw output has the same layout, as logits: sigmoid for objectness and the four box
  numbers, softmax for the classes (:func:`yolo_activate`).
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, positive_int

__all__ = ["box_corners_to_center", "box_center_to_corners", "box_area", "box_iou", "box_iou_paired",
           "nms_greedy", "yolo_encode", "yolo_activate", "yolo_decode", "yolo_loss_numpy",
           "detection_match", "average_precision_voc", "mean_average_precision",
           "SHAPE_CLASSES", "shape_scenes", "texture_crops"]

#: class names of :func:`shape_scenes`, in class-index order
SHAPE_CLASSES = ("circle", "square", "triangle")


# ----------------------------------------------------------------------------- boxes

def _boxes(x, name: str) -> np.ndarray:
    a = as_float_array(x, name, ndim=(1, 2))
    if a.shape[-1] != 4:
        raise ValueError(f"{name} must have 4 numbers per box (shape (4,) or (n, 4)), got shape {a.shape}")
    return a


def box_corners_to_center(boxes) -> np.ndarray:
    """``(..., 4)`` corners ``(x1, y1, x2, y2)`` -> centre/size ``(cx, cy, w, h)``."""
    b = _boxes(boxes, "boxes")
    x1, y1, x2, y2 = np.moveaxis(b, -1, 0)
    return np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], axis=-1)


def box_center_to_corners(boxes) -> np.ndarray:
    """``(..., 4)`` centre/size ``(cx, cy, w, h)`` -> corners ``(x1, y1, x2, y2)``."""
    b = _boxes(boxes, "boxes")
    cx, cy, w, h = np.moveaxis(b, -1, 0)
    if np.any(w < 0) or np.any(h < 0):
        raise ValueError("boxes in centre format need w >= 0 and h >= 0")
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


def box_area(boxes) -> np.ndarray:
    """Area of corner boxes ``(..., 4)`` (0 for a degenerate box)."""
    b = _boxes(boxes, "boxes")
    return np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)


def _check_corners(b: np.ndarray, name: str) -> None:
    if np.any(b[..., 2] < b[..., 0]) or np.any(b[..., 3] < b[..., 1]):
        raise ValueError(f"{name}: corner boxes need x1 <= x2 and y1 <= y2 (got a box with x2 < x1 or y2 < y1; "
                         "were they in centre format?)")


def box_iou(boxes_a, boxes_b) -> np.ndarray:
    """Pairwise intersection over union of corner boxes: ``(n, 4)`` and ``(m, 4)`` -> ``(n, m)``.

    ``IoU = area(A ∩ B) / area(A ∪ B)``, with ``area(A ∪ B) = area(A) + area(B) - area(A ∩ B)``;
    boxes that only touch, or do not overlap, give 0; so does a pair whose union is empty
    (two degenerate boxes), as in ``tf.image.non_max_suppression``.
    """
    a = _boxes(boxes_a, "boxes_a").reshape(-1, 4)
    b = _boxes(boxes_b, "boxes_b").reshape(-1, 4)
    _check_corners(a, "boxes_a")
    _check_corners(b, "boxes_b")
    lo = np.maximum(a[:, None, :2], b[None, :, :2])       # (n, m, 2): top-left of the intersection
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])       # bottom-right
    wh = np.clip(hi - lo, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def box_iou_paired(boxes_a, boxes_b) -> np.ndarray:
    """IoU of matching rows: ``(..., 4)`` and ``(..., 4)`` (broadcast) -> ``(...)``."""
    a, b = _boxes(boxes_a, "boxes_a"), _boxes(boxes_b, "boxes_b")
    _check_corners(a, "boxes_a")
    _check_corners(b, "boxes_b")
    wh = np.clip(np.minimum(a[..., 2:], b[..., 2:]) - np.maximum(a[..., :2], b[..., :2]), 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(a) + box_area(b) - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


# ----------------------------------------------------------------------------- NMS

def nms_greedy(boxes, scores, iou_threshold: float = 0.5, score_threshold: float = -np.inf,
               max_output_size: int | None = None) -> np.ndarray:
    """Greedy non-max suppression, with the rules of ``tf.image.non_max_suppression``.

    Visit the boxes by decreasing score (equal scores: lower index first); keep a box unless its
    IoU with a box kept before is **greater than** ``iou_threshold``; only boxes with a score
    **greater than** ``score_threshold`` take part; stop after ``max_output_size`` kept boxes.
    Returns the kept indices, in the order they were kept (``int64``).
    """
    b = _boxes(boxes, "boxes").reshape(-1, 4)
    s = as_float_array(scores, "scores", ndim=1)
    if len(s) != len(b):
        raise ValueError(f"scores must have one number per box: {len(b)} boxes, {len(s)} scores")
    if not 0.0 <= float(iou_threshold) <= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold}")
    limit = len(b) if max_output_size is None else positive_int("max_output_size", max_output_size)
    order = np.argsort(-s, kind="stable")
    order = order[s[order] > score_threshold]
    if len(order) == 0:
        return np.zeros(0, dtype=np.int64)
    iou = box_iou(b[order], b[order])
    alive = np.ones(len(order), dtype=bool)
    kept = []
    for k in range(len(order)):
        if not alive[k]:
            continue
        kept.append(order[k])
        if len(kept) == limit:
            break
        alive[k + 1:] &= iou[k, k + 1:] <= iou_threshold
    return np.asarray(kept, dtype=np.int64)


# ----------------------------------------------------------------------------- YOLO grid

def _grid_args(grid, n_classes, image_size):
    return (positive_int("grid", grid), positive_int("n_classes", n_classes),
            float(as_float_array(image_size, "image_size", ndim=0)))


def yolo_encode(boxes, classes, grid: int, n_classes: int, image_size: float) -> np.ndarray:
    """Ground-truth corner boxes ``(k, 4)`` and class indices ``(k,)`` of one image -> the grid
    target ``(grid, grid, 5 + n_classes)`` (layout in the module docstring).

    The cell at row ``i = floor(cy / cell)``, column ``j = floor(cx / cell)`` owns the object.
    Raises ``ValueError`` if two objects fall into the same cell (one box per cell here).
    """
    S, C, size = _grid_args(grid, n_classes, image_size)
    b = _boxes(boxes, "boxes").reshape(-1, 4)
    _check_corners(b, "boxes")
    cls = np.asarray(classes).reshape(-1)
    if len(cls) != len(b):
        raise ValueError(f"classes must have one entry per box: {len(b)} boxes, {len(cls)} classes")
    if len(cls) and (not np.issubdtype(cls.dtype, np.integer) or cls.min() < 0 or cls.max() >= C):
        raise ValueError(f"classes must be integers in [0, {C}), got {cls.tolist()}")
    if np.any(b < 0) or np.any(b > size):
        raise ValueError(f"boxes must lie inside the image [0, {size:g}]")
    cell = size / S
    target = np.zeros((S, S, 5 + C))
    cx, cy, w, h = box_corners_to_center(b).T
    cols = np.minimum((cx / cell).astype(int), S - 1)
    rows = np.minimum((cy / cell).astype(int), S - 1)
    for k in range(len(b)):
        i, j = rows[k], cols[k]
        if target[i, j, 0] == 1:
            raise ValueError(f"two objects have their centre in cell (row {i}, column {j}); "
                             "this grid holds one object per cell")
        target[i, j, :5] = [1.0, cx[k] / cell - j, cy[k] / cell - i, np.sqrt(w[k] / size), np.sqrt(h[k] / size)]
        target[i, j, 5 + cls[k]] = 1.0
    return target


def yolo_activate(logits) -> np.ndarray:
    """A detector's raw output ``(..., S, S, 5 + C)`` -> probabilities / box numbers: sigmoid on
    the first 5 channels, softmax over the class channels."""
    z = as_float_array(logits, "logits")
    if z.ndim < 3 or z.shape[-1] < 6:
        raise ValueError(f"logits must have shape (..., S, S, 5 + C) with C >= 1, got {z.shape}")
    head = 1.0 / (1.0 + np.exp(-z[..., :5]))
    c = z[..., 5:] - z[..., 5:].max(axis=-1, keepdims=True)
    e = np.exp(c)
    return np.concatenate([head, e / e.sum(axis=-1, keepdims=True)], axis=-1)


def yolo_decode(grid_output, image_size: float, from_logits: bool = False):
    """One image's grid ``(S, S, 5 + C)`` -> every cell's box, score and class.

    Returns ``boxes (S*S, 4)`` in corners format (pixels, clipped to the image), ``scores (S*S,)``
    = objectness x probability of the best class (YOLO's class-specific confidence) and
    ``classes (S*S,)`` (the best class), in row-major cell order. ``from_logits``: apply
    :func:`yolo_activate` first.
    """
    g = yolo_activate(grid_output) if from_logits else as_float_array(grid_output, "grid_output")
    if g.ndim != 3 or g.shape[0] != g.shape[1] or g.shape[2] < 6:
        raise ValueError(f"grid_output must have shape (S, S, 5 + C), got {g.shape}")
    S = g.shape[0]
    size = float(image_size)
    cell = size / S
    rows, cols = np.meshgrid(np.arange(S), np.arange(S), indexing="ij")
    cx = (cols + g[..., 1]) * cell
    cy = (rows + g[..., 2]) * cell
    w = g[..., 3] ** 2 * size
    h = g[..., 4] ** 2 * size
    boxes = np.clip(box_center_to_corners(np.stack([cx, cy, w, h], axis=-1).reshape(-1, 4)), 0, size)
    probs = g[..., 5:].reshape(S * S, -1)
    classes = probs.argmax(axis=1)
    scores = g[..., 0].reshape(-1) * probs.max(axis=1)
    return boxes, scores, classes


def yolo_loss_numpy(y_true, logits, lambda_coord: float = 5.0, lambda_noobj: float = 0.5) -> float:
    """YOLO's sum-squared loss (Redmon et al., 2016, eq. 3, one box per cell), averaged over images.

    With ``p = yolo_activate(logits)`` and ``1_obj`` the cells that hold an object::

        lambda_coord * sum_obj [(tx - px)^2 + (ty - py)^2 + (tw - pw)^2 + (th - ph)^2]   # tw = sqrt(w / size)
      + sum_obj (1 - p_obj)^2 + lambda_noobj * sum_noobj (0 - p_obj)^2
      + sum_obj sum_c (t_c - p_c)^2

    (YOLOv1's objectness target is the IoU of the predicted box with the truth; here it is 1, as in
    most re-implementations.) ``y_true`` and ``logits``: ``(n, S, S, 5 + C)`` or one image.
    """
    t = as_float_array(y_true, "y_true")
    p = yolo_activate(logits)
    if t.shape != p.shape:
        raise ValueError(f"y_true and logits must have the same shape, got {t.shape} and {p.shape}")
    if t.ndim == 3:
        t, p = t[None], p[None]
    obj = t[..., 0]
    coord = np.sum(obj[..., None] * (t[..., 1:5] - p[..., 1:5]) ** 2, axis=(1, 2, 3))
    conf_obj = np.sum(obj * (1.0 - p[..., 0]) ** 2, axis=(1, 2))
    conf_noobj = np.sum((1.0 - obj) * p[..., 0] ** 2, axis=(1, 2))
    cls = np.sum(obj[..., None] * (t[..., 5:] - p[..., 5:]) ** 2, axis=(1, 2, 3))
    return float(np.mean(lambda_coord * coord + conf_obj + lambda_noobj * conf_noobj + cls))


# ----------------------------------------------------------------------------- AP / mAP

def detection_match(pred_boxes, pred_scores, gt_boxes, iou_threshold: float = 0.5) -> np.ndarray:
    """Which detections of one class in one image are true positives (PASCAL VOC's rule).

    Detections are visited by decreasing score; each is assigned to the ground-truth box it
    overlaps most; it is a true positive if that IoU is ``>= iou_threshold`` and that ground truth
    was not claimed by a higher-scored detection; otherwise (low overlap, or a **duplicate**) a
    false positive. Returns a bool array aligned with the input order.
    """
    pb = _boxes(pred_boxes, "pred_boxes").reshape(-1, 4)
    ps = as_float_array(pred_scores, "pred_scores", ndim=1)
    gb = _boxes(gt_boxes, "gt_boxes").reshape(-1, 4)
    if len(ps) != len(pb):
        raise ValueError(f"pred_scores must have one number per box: {len(pb)} boxes, {len(ps)} scores")
    tp = np.zeros(len(pb), dtype=bool)
    if len(pb) == 0 or len(gb) == 0:
        return tp
    iou = box_iou(pb, gb)
    claimed = np.zeros(len(gb), dtype=bool)
    for k in np.argsort(-ps, kind="stable"):
        g = int(np.argmax(iou[k]))
        if iou[k, g] >= iou_threshold and not claimed[g]:
            tp[k] = claimed[g] = True
    return tp


def average_precision_voc(scores, is_tp, n_ground_truth: int) -> float:
    """Area under the interpolated precision–recall curve (PASCAL VOC 2010+ "all points").

    ``scores``, ``is_tp``: one entry per detection of a class (all images pooled); ``n_ground_truth``:
    how many ground-truth objects of the class exist. Rank by decreasing score (ties: input order);
    after the k-th detection, precision = TP/k, recall = TP/n_ground_truth; interpolated precision at
    recall r is the best precision at any recall >= r (it makes the curve non-increasing); AP is
    the area under that step curve, from recall 0 to the last recall reached (recall never reached
    adds nothing). 0.0 if there is no detection; ``nan`` if ``n_ground_truth`` is 0.
    """
    s = as_float_array(scores, "scores", ndim=1)
    tp = np.asarray(is_tp, dtype=bool).reshape(-1)
    if len(tp) != len(s):
        raise ValueError(f"is_tp must have one entry per score: {len(s)} scores, {len(tp)} flags")
    if isinstance(n_ground_truth, bool) or not isinstance(n_ground_truth, (int, np.integer)) or n_ground_truth < 0:
        raise ValueError(f"n_ground_truth must be an int >= 0, got {n_ground_truth!r}")
    if int(tp.sum()) > n_ground_truth:
        raise ValueError(f"more true positives ({int(tp.sum())}) than ground-truth objects ({n_ground_truth})")
    if n_ground_truth == 0:
        return float("nan")
    if len(s) == 0:
        return 0.0
    order = np.argsort(-s, kind="stable")
    hits = np.cumsum(tp[order])
    precision = hits / np.arange(1, len(s) + 1)
    recall = hits / n_ground_truth
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.diff(np.concatenate([[0.0], recall]))
    return float(np.sum(steps * envelope))


def mean_average_precision(detections, ground_truths, n_classes: int, iou_threshold: float = 0.5):
    """mAP over images: ``detections[i] = (boxes (k, 4), scores (k,), classes (k,))`` and
    ``ground_truths[i] = (boxes (g, 4), classes (g,))`` for image ``i``.

    Per class: match each image's detections of that class with :func:`detection_match`, pool all
    images, :func:`average_precision_voc`. Returns ``(mAP, ap_per_class)``; a class without any
    ground-truth object gets ``nan`` and is left out of the mean (as in VOC).
    """
    C = positive_int("n_classes", n_classes)
    if len(detections) != len(ground_truths):
        raise ValueError(f"one detection tuple per image: {len(detections)} detections, "
                         f"{len(ground_truths)} ground truths")
    scores = [[] for _ in range(C)]
    flags = [[] for _ in range(C)]
    n_gt = np.zeros(C, dtype=int)
    for (pb, ps, pc), (gb, gc) in zip(detections, ground_truths):
        pb, gb = np.asarray(pb, float).reshape(-1, 4), np.asarray(gb, float).reshape(-1, 4)
        ps, pc, gc = np.asarray(ps, float).reshape(-1), np.asarray(pc).reshape(-1), np.asarray(gc).reshape(-1)
        for c in range(C):
            d, g = pc == c, gc == c
            n_gt[c] += int(g.sum())
            if d.any():
                scores[c].append(ps[d])
                flags[c].append(detection_match(pb[d], ps[d], gb[g], iou_threshold))
    ap = np.array([average_precision_voc(np.concatenate(scores[c]) if scores[c] else np.zeros(0),
                                         np.concatenate(flags[c]) if flags[c] else np.zeros(0, bool),
                                         int(n_gt[c])) for c in range(C)])
    valid = ~np.isnan(ap)
    return (float(ap[valid].mean()) if valid.any() else float("nan")), ap


# ----------------------------------------------------------------------------- generated scenes

def texture_crops(photos, n: int, size: int = 64, rng=None, x_range=(0.0, 1.0)) -> np.ndarray:
    """``n`` random square crops of real photos, resized to ``size x size`` (nearest pixel), as
    float32 in [0, 1]: ``(n, size, size, 3)``.

    ``photos``: ``(p, H, W, 3)`` uint8 (e.g. ``cu.data.load("sample_images").X``). Each crop has a
    random side from ``size`` to ``3 * size`` pixels (zoomed out up to 3x) and a random horizontal
    flip; ``x_range`` (fractions of the width) says which columns of the photos crops may come
    from, so training and test scenes can use different parts of the photos.
    """
    P = np.asarray(photos)
    if P.ndim != 4 or P.shape[-1] != 3:
        raise ValueError(f"photos must have shape (p, H, W, 3), got {P.shape}")
    n, size = positive_int("n", n), positive_int("size", size)
    rng = np.random.default_rng(rng)
    lo, hi = (int(round(f * P.shape[2])) for f in x_range)
    max_side = min(3 * size, hi - lo, P.shape[1])
    if max_side < size:
        raise ValueError(f"x_range {x_range} leaves {hi - lo} columns: too few for {size}-pixel crops")
    out = np.empty((n, size, size, 3), dtype=np.float32)
    for k in range(n):
        side = int(rng.integers(size, max_side + 1))
        y0 = int(rng.integers(0, P.shape[1] - side + 1))
        x0 = int(rng.integers(lo, hi - side + 1))
        idx = (np.arange(size) * side) // size
        crop = P[int(rng.integers(len(P))), y0 + idx[:, None], x0 + idx[None, :]]
        out[k] = (crop[:, ::-1] if rng.random() < 0.5 else crop) / 255.0
    return out


def _shape_mask(kind: int, x0: float, y0: float, s: float, size: int):
    """Anti-aliased coverage of a shape of side ``s`` with top-left corner (x0, y0) in a
    ``size x size`` image, over the pixels its box touches (3 x 3 samples per pixel): returns
    ``(rows, cols, coverage)`` with the slices of that window."""
    sub = 3
    r0, r1 = max(0, int(np.floor(y0))), min(size, int(np.ceil(y0 + s)))
    c0, c1 = max(0, int(np.floor(x0))), min(size, int(np.ceil(x0 + s)))
    ys = r0 + (np.arange((r1 - r0) * sub) + 0.5) / sub
    xs = c0 + (np.arange((c1 - c0) * sub) + 0.5) / sub
    u, v = (xs[None, :] - x0) / s, (ys[:, None] - y0) / s     # 0..1 inside the box
    if kind == 0:    # circle
        m = (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25
    elif kind == 1:  # square
        m = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    else:            # triangle, apex up
        m = (v <= 1) & (v >= 2 * np.abs(u - 0.5))
    return slice(r0, r1), slice(c0, c1), m.reshape(r1 - r0, sub, c1 - c0, sub).mean(axis=(1, 3))


def shape_scenes(n: int, photos, size: int = 64, grid: int = 8, max_objects: int = 3,
                 side_range=(12, 26), seed=0, x_range=(0.0, 1.0), noise: float = 0.03):
    """``n`` generated detection scenes: 1 to ``max_objects`` shapes (:data:`SHAPE_CLASSES`) of
    random colour and size pasted on crops of real photos (:func:`texture_crops`).

    Each shape is an axis-aligned circle, square or apex-up triangle with a side (its box's width
    and height) drawn from ``side_range`` pixels, a colour that differs from the photo under it
    by at least 0.25 on average over the RGB channels, no two box centres in the same cell of a
    ``grid x grid`` grid and no two boxes overlapping by more than IoU 0.1. Pixel noise of standard
    deviation ``noise`` is added.

    Returns ``images (n, size, size, 3)`` float32 in [0, 1], ``boxes`` (a list of ``(k, 4)`` corner
    boxes in pixels) and ``classes`` (a list of ``(k,)`` int arrays).
    """
    n, size, grid = positive_int("n", n), positive_int("size", size), positive_int("grid", grid)
    max_objects = positive_int("max_objects", max_objects)
    lo_side, hi_side = side_range
    if not 2 <= lo_side <= hi_side <= size:
        raise ValueError(f"side_range must satisfy 2 <= low <= high <= size, got {side_range}")
    rng = np.random.default_rng(seed)
    images = texture_crops(photos, n, size, rng, x_range)
    cell = size / grid
    all_boxes, all_classes = [], []
    for k in range(n):
        img = images[k]
        boxes, classes, cells = [], [], set()
        want = int(rng.integers(1, max_objects + 1))
        tries = 0
        while len(boxes) < want and tries < 100:
            tries += 1
            s = float(rng.uniform(lo_side, hi_side))
            x0, y0 = (float(rng.uniform(0, size - s)) for _ in range(2))
            box = np.array([x0, y0, x0 + s, y0 + s])
            c_cell = (int((y0 + s / 2) // cell), int((x0 + s / 2) // cell))
            if c_cell in cells or (boxes and box_iou_paired(box, np.array(boxes)).max() > 0.1):
                continue
            kind = int(rng.integers(len(SHAPE_CLASSES)))
            rows, cols, m = _shape_mask(kind, x0, y0, s, size)
            m = m[..., None]
            patch = img[rows, cols]
            under = (patch * m).sum(axis=(0, 1)) / m.sum()
            for _ in range(20):
                colour = rng.uniform(0, 1, 3)
                if np.abs(colour - under).mean() >= 0.25:
                    break
            else:
                colour = np.where(under > 0.5, 0.0, 1.0)
            img[rows, cols] = patch * (1 - m) + colour * m
            boxes.append(box)
            classes.append(kind)
            cells.add(c_cell)
        all_boxes.append(np.array(boxes, dtype=np.float64).reshape(-1, 4))
        all_classes.append(np.array(classes, dtype=np.int64))
    if noise:
        images += rng.standard_normal(images.shape, dtype=np.float32) * np.float32(noise)
        np.clip(images, 0, 1, out=images)
    return images, all_boxes, all_classes
