"""Box/IoU explorer (notebook 14): move two boxes and read their IoU; slide the score and NMS
thresholds over a detector's raw grid output on a held-out image.

Three layers (CONVENTIONS.md, "Widgets"):

- pure NumPy: :func:`iou_parts` (the intersection and union of two centre-format boxes, and
  their IoU), :func:`overlap_raster` (the picture of the union, with the intersection in
  another colour), :func:`nms_view` (which of an image's cells pass the score threshold and which
  survive greedy NMS, with ``cu.scratch.nms_greedy``), :func:`synthetic_raw_output` (detector-
  like raw grids made from the ground truth, for tests and the benchmark);
- :class:`BoxPicture` (kept figure, updated in place) and :func:`render` (state -> Figure);
- :class:`BoxIoUExplorer`, the thin widget. It takes the detector's raw output (logits
  ``(n, S, S, 5 + C)``) computed once: a control change decodes nothing and runs no model, it
  only filters the decoded cells, runs NMS in NumPy on at most ``S * S`` boxes and redraws the
  artists that changed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..scratch import detection as D
from .base import Explorer

__all__ = ["IoUParts", "iou_parts", "overlap_raster", "NmsView", "nms_view", "synthetic_raw_output",
           "ExplorerState", "BoxPicture", "render", "BoxIoUExplorer", "demo_explorer"]

CANVAS = 64            # the IoU panel's square canvas, in pixels of a 64x64 image
RASTER = 256           # resolution of the union/intersection picture
FIGSIZE = (12.0, 4.3)
#: the IoU panel's colours: outside both boxes, in one only (the union minus the intersection), in both
RASTER_COLOURS = np.array([[255, 255, 255], [174, 199, 232], [214, 39, 40]], dtype=np.uint8)
CLASS_COLOURS = ("#ff7f0e", "#17becf", "#e377c2", "#bcbd22", "#9467bd", "#8c564b")


# ----------------------------------------------------------------------------- layer 1

@dataclass(frozen=True)
class IoUParts:
    """Two boxes in corners format, their intersection (``None`` if empty) and the areas."""
    box_a: np.ndarray
    box_b: np.ndarray
    intersection: np.ndarray | None
    inter_area: float
    union_area: float
    iou: float


def _centre_box(box, name: str) -> np.ndarray:
    b = np.asarray(box, dtype=float).reshape(-1)
    if b.shape != (4,) or not np.all(np.isfinite(b)):
        raise ValueError(f"{name} must be 4 finite numbers (cx, cy, w, h), got {box!r}")
    if b[2] < 0 or b[3] < 0:
        raise ValueError(f"{name}: width and height must be >= 0, got w={b[2]:g}, h={b[3]:g}")
    return b


def iou_parts(box_a, box_b) -> IoUParts:
    """IoU of two boxes given in centre format ``(cx, cy, w, h)``, with what the picture shows."""
    a = D.box_center_to_corners(_centre_box(box_a, "box_a"))
    b = D.box_center_to_corners(_centre_box(box_b, "box_b"))
    lo, hi = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
    wh = np.clip(hi - lo, 0, None)
    inter = float(wh[0] * wh[1])
    union = float(D.box_area(a) + D.box_area(b) - inter)
    iou = float(D.box_iou(a[None], b[None])[0, 0])
    return IoUParts(a, b, np.concatenate([lo, hi]) if inter > 0 else None, inter, union, iou)


def overlap_raster(parts: IoUParts, size: int = RASTER, extent: float = CANVAS) -> np.ndarray:
    """``(size, size)`` uint8 picture of the canvas: 0 outside both boxes, 1 in exactly one
    (the union minus the intersection), 2 in the intersection (pixel centres tested)."""
    c = (np.arange(size) + 0.5) * extent / size

    def inside(box):
        return ((c[None, :] >= box[0]) & (c[None, :] < box[2])) & ((c[:, None] >= box[1]) & (c[:, None] < box[3]))

    return inside(parts.box_a).astype(np.uint8) + inside(parts.box_b).astype(np.uint8)


@dataclass(frozen=True)
class NmsView:
    """One image's cells: decoded boxes, scores and classes, and what the thresholds keep."""
    boxes: np.ndarray        # (S*S, 4) corners
    scores: np.ndarray       # (S*S,)
    classes: np.ndarray      # (S*S,)
    candidates: np.ndarray   # indices with score > score_threshold, by decreasing score
    kept: np.ndarray         # indices kept by NMS, in the order kept


def nms_view(boxes, scores, classes, score_threshold: float, iou_threshold: float) -> NmsView:
    """Candidates (score above ``score_threshold``) and the boxes greedy NMS keeps among them
    (suppressing IoU greater than ``iou_threshold``, all classes together, as in the notebook)."""
    for name, v in (("score_threshold", score_threshold), ("iou_threshold", iou_threshold)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not 0 <= v <= 1:
            raise ValueError(f"{name} must be a number in [0, 1], got {v!r}")
    boxes, scores, classes = np.asarray(boxes, float), np.asarray(scores, float), np.asarray(classes)
    order = np.argsort(-scores, kind="stable")
    cand = order[scores[order] > score_threshold]
    kept = D.nms_greedy(boxes, scores, iou_threshold, score_threshold)
    return NmsView(boxes, scores, classes, cand, kept)


def synthetic_raw_output(boxes, classes, grid: int = 8, n_classes: int = 3, image_size: float = 64,
                         seed=0) -> np.ndarray:
    """Detector-like raw logits ``(n, grid, grid, 5 + n_classes)`` for images with ground truth
    ``boxes``/``classes`` (lists, one entry per image): each true object is predicted by its own
    cell (jittered box, confident) and, more weakly, by a neighbouring cell (a near-duplicate
    that NMS must remove); the other cells are unsure of everything. For tests and the
    benchmark, where no trained model is at hand."""
    rng = np.random.default_rng(seed)
    out = []
    for b, c in zip(boxes, classes):
        t = D.yolo_encode(b, c, grid, n_classes, image_size)
        z = rng.normal(-4.0, 1.0, t.shape)
        z[..., 5:] = rng.normal(0, 1, t[..., 5:].shape)
        rows, cols = np.nonzero(t[..., 0])
        for i, j in zip(rows, cols):
            for di, dj, conf in [(0, 0, 3.0), (rng.choice([-1, 1]), 0, 0.0), (0, rng.choice([-1, 1]), -1.0)]:
                ii, jj = i + di, j + dj
                if not (0 <= ii < grid and 0 <= jj < grid) or (t[ii, jj, 0] and (di or dj)):
                    continue
                p = np.clip(t[i, j, 1:5] + rng.normal(0, 0.05, 4), 0.02, 0.98)
                p[0] -= dj
                p[1] -= di
                p = np.clip(p, 0.02, 0.98)
                z[ii, jj, 0] = conf + rng.normal(0, 0.3)
                z[ii, jj, 1:5] = np.log(p / (1 - p))
                z[ii, jj, 5:] = 4.0 * t[i, j, 5:] + rng.normal(0, 0.5, n_classes)
        out.append(z)
    return np.stack(out).astype(np.float32)


# ----------------------------------------------------------------------------- layer 2

@dataclass
class ExplorerState:
    """What the explorer shows: two boxes ``(cx, cy, w, h)`` on a 64x64 canvas, an image index
    and the two NMS thresholds."""
    box_a: list = field(default_factory=lambda: [26.0, 28.0, 24.0, 20.0])
    box_b: list = field(default_factory=lambda: [36.0, 34.0, 20.0, 24.0])
    image: int = 0
    score_threshold: float = 0.2
    iou_threshold: float = 0.5


class BoxPicture:
    """The explorer's figure, built once and updated in place: the IoU panel (union raster,
    the two outlines, the numbers), the candidates before NMS and the boxes kept after it, over
    the image, with the ground truth dashed. Everything that changes is live; the key (the
    number of classes) never changes."""

    def __init__(self, fig, images, decoded, truths, class_names, max_boxes: int):
        from matplotlib.patches import Rectangle
        self.fig, self.images, self.decoded, self.truths = fig, images, decoded, truths
        self.class_names = list(class_names)
        fig.set_size_inches(*FIGSIZE)
        self.ax_iou = fig.add_axes([0.03, 0.08, 0.27, 0.78])
        self.ax_raw = fig.add_axes([0.36, 0.08, 0.29, 0.78])
        self.ax_nms = fig.add_axes([0.69, 0.08, 0.29, 0.78])
        self.raster = self.ax_iou.imshow(np.zeros((RASTER, RASTER, 3), np.uint8), extent=(0, CANVAS, CANVAS, 0),
                                         interpolation="nearest")
        self.rect_a = self.ax_iou.add_patch(Rectangle((0, 0), 1, 1, fill=False, ec="#1f77b4", lw=2))
        self.rect_b = self.ax_iou.add_patch(Rectangle((0, 0), 1, 1, fill=False, ec="#2ca02c", lw=2))
        self.label_a = self.ax_iou.text(0, 0, "A", color="#1f77b4", fontsize=11, fontweight="bold",
                                        ha="left", va="bottom")
        self.label_b = self.ax_iou.text(0, 0, "B", color="#2ca02c", fontsize=11, fontweight="bold",
                                        ha="left", va="bottom")
        self.ax_iou.set_xlim(0, CANVAS)
        self.ax_iou.set_ylim(CANVAS, 0)
        # a light 8-pixel grid (one detector cell) instead of tick labels: texts are what costs most to draw
        self.ax_iou.set_xticks(np.arange(0, CANVAS + 1, 8))
        self.ax_iou.set_yticks(np.arange(0, CANVAS + 1, 8))
        self.ax_iou.tick_params(labelleft=False, labelbottom=False, length=0)
        self.ax_iou.grid(True, color="#cccccc", lw=0.5)
        self.ax_iou.set_axisbelow(False)
        self.ax_iou.set_aspect("equal")
        self.iou_title = self.ax_iou.set_title(" ", fontsize=10)
        self.iou_text = self.ax_iou.text(1, 63, " ", fontsize=9, family="monospace", va="bottom",
                                         bbox=dict(fc="white", alpha=0.85, lw=0, pad=2))
        h, w = images.shape[1:3]
        self.im_raw = self.ax_raw.imshow(images[0], interpolation="nearest", extent=(0, w, h, 0))
        self.im_nms = self.ax_nms.imshow(images[0], interpolation="nearest", extent=(0, w, h, 0))
        self.raw_rects, self.nms_rects, self.nms_labels, self.gt_rects = [], [], [], []
        for _ in range(max_boxes):
            self.raw_rects.append(self.ax_raw.add_patch(Rectangle((0, 0), 1, 1, fill=False, lw=1, visible=False)))
            self.nms_rects.append(self.ax_nms.add_patch(Rectangle((0, 0), 1, 1, fill=False, lw=2, visible=False)))
            self.nms_labels.append(self.ax_nms.text(0, 0, "", fontsize=8, color="black", va="bottom",
                                                    visible=False, clip_on=True,
                                                    bbox=dict(lw=0, pad=0.5, alpha=0.9)))
        n_gt = max((len(b) for b, _ in truths), default=0)
        for _ in range(n_gt):   # white dashes over black: visible on any background
            self.gt_rects.append(self.ax_nms.add_patch(Rectangle((0, 0), 1, 1, fill=False, lw=2.2, ec="black",
                                                                 visible=False)))
            self.gt_rects.append(self.ax_nms.add_patch(Rectangle((0, 0), 1, 1, fill=False, lw=1.2, ec="white",
                                                                 ls="--", visible=False)))
        for ax in (self.ax_raw, self.ax_nms):
            ax.set_xlim(0, w)
            ax.set_ylim(h, 0)
            ax.set_xticks([])
            ax.set_yticks([])
        self.raw_title = self.ax_raw.set_title(" ", fontsize=10)
        self.nms_title = self.ax_nms.set_title(" ", fontsize=10)
        handles = [Rectangle((0, 0), 1, 1, fill=False, ec=CLASS_COLOURS[k % len(CLASS_COLOURS)], lw=2)
                   for k in range(len(self.class_names))]
        fig.legend(handles, self.class_names, loc="lower center", ncol=len(handles), fontsize=9,
                   frameon=False, bbox_to_anchor=(0.67, -0.01))
        # nothing is redrawn every frame: each panel is redrawn alone when what it shows changes
        self.live = []
        self.panels = None

    def update(self, state: ExplorerState):
        p = iou_parts(state.box_a, state.box_b)
        self.raster.set_data(RASTER_COLOURS[overlap_raster(p)])
        for rect, label, box in ((self.rect_a, self.label_a, p.box_a), (self.rect_b, self.label_b, p.box_b)):
            rect.set_bounds(box[0], box[1], box[2] - box[0], box[3] - box[1])
            label.set_position((box[0] + 0.5, box[1] - 0.3))
        self.iou_title.set_text(f"IoU(A, B) = {p.iou:.3f}")
        self.iou_text.set_text(f"intersection {p.inter_area:7.1f}\nunion        {p.union_area:7.1f}\n"
                               f"IoU = {p.inter_area:.1f} / {p.union_area:.1f}")
        boxes, scores, classes = self.decoded[state.image]
        v = nms_view(boxes, scores, classes, state.score_threshold, state.iou_threshold)
        img = self.images[state.image]
        self.im_raw.set_data(img)
        self.im_nms.set_data(img)
        top = max(float(scores.max()), 1e-9)
        for k, rect in enumerate(self.raw_rects):
            if k < len(v.candidates):
                i = v.candidates[k]
                b = boxes[i]
                rect.set_bounds(b[0], b[1], b[2] - b[0], b[3] - b[1])
                rect.set_edgecolor(CLASS_COLOURS[classes[i] % len(CLASS_COLOURS)])
                rect.set_linewidth(0.6 + 2.4 * scores[i] / top)
                rect.set_visible(True)
            else:
                rect.set_visible(False)
        for k, (rect, label) in enumerate(zip(self.nms_rects, self.nms_labels)):
            if k < len(v.kept):
                i = v.kept[k]
                b = boxes[i]
                colour = CLASS_COLOURS[classes[i] % len(CLASS_COLOURS)]
                rect.set_bounds(b[0], b[1], b[2] - b[0], b[3] - b[1])
                rect.set_edgecolor(colour)
                label.set_text(f"{self.class_names[classes[i]]} {scores[i]:.2f}")
                label.set_position((b[0], max(b[1], 0) - 0.3))
                label.get_bbox_patch().set_facecolor(colour)
                rect.set_visible(True)
                label.set_visible(True)
            else:
                rect.set_visible(False)
                label.set_visible(False)
        gt_boxes, _ = self.truths[state.image]
        for k, rect in enumerate(self.gt_rects):
            if k // 2 < len(gt_boxes):
                b = gt_boxes[k // 2]
                rect.set_bounds(b[0], b[1], b[2] - b[0], b[3] - b[1])
            rect.set_visible(k // 2 < len(gt_boxes))
        self.raw_title.set_text(f"before NMS: {len(v.candidates)} of {len(scores)} cells\n"
                                f"with score > {state.score_threshold:.2f} (image {state.image})")
        self.nms_title.set_text(f"after NMS (IoU > {state.iou_threshold:.2f} removed):\n"
                                f"{len(v.kept)} kept, {len(gt_boxes)} true (dashed)")
        nms_key = (state.image, state.score_threshold, state.iou_threshold)
        self.panels = {self.ax_iou: (tuple(state.box_a), tuple(state.box_b)), self.ax_raw: nms_key,
                       self.ax_nms: nms_key}
        return len(self.class_names)


def _decode_all(raw, image_size):
    return [D.yolo_decode(r, image_size, from_logits=True) for r in raw]


def render(state: ExplorerState, images, raw, truths, class_names=D.SHAPE_CLASSES):
    """The explorer's picture of ``state`` as a new pyplot Figure (``raw``: the detector's logits)."""
    import matplotlib.pyplot as plt
    images = np.asarray(images)
    fig = plt.figure(figsize=FIGSIZE)
    BoxPicture(fig, images, _decode_all(raw, images.shape[1]), truths, class_names,
               raw.shape[1] * raw.shape[2]).update(state)
    return fig


# ----------------------------------------------------------------------------- layer 3

class BoxIoUExplorer(Explorer):
    """Two boxes to move (IoU panel) and an NMS panel over a detector's raw grid output.

    Parameters
    ----------
    images : (n, H, W, 3) floats in [0, 1], the (held-out) images
    raw_output : (n, S, S, 5 + C) the detector's logits on those images, computed once
    truths : list of ``(boxes (k, 4) corners, classes (k,))``, one per image (drawn dashed)
    class_names : C names
    """

    layout = "vertical"

    def __init__(self, images, raw_output, truths, class_names=D.SHAPE_CLASSES, image: int = 0,
                 score_threshold: float = 0.2, iou_threshold: float = 0.5):
        images = np.asarray(images)
        raw = np.asarray(raw_output)
        if images.ndim != 4 or images.shape[-1] != 3 or images.shape[1] != images.shape[2]:
            raise ValueError(f"images must have shape (n, H, H, 3), got {images.shape}")
        if raw.ndim != 4 or raw.shape[0] != len(images) or raw.shape[1] != raw.shape[2]:
            raise ValueError(f"raw_output must have shape ({len(images)}, S, S, 5 + C), got {raw.shape}")
        if raw.shape[-1] != 5 + len(class_names):
            raise ValueError(f"raw_output has {raw.shape[-1] - 5} class channels but {len(class_names)} "
                             "class names were given")
        if len(truths) != len(images):
            raise ValueError(f"truths must have one (boxes, classes) pair per image: {len(images)} images, "
                             f"{len(truths)} truths")
        if not 0 <= image < len(images):
            raise ValueError(f"image must be an index from 0 to {len(images) - 1}, got {image}")
        self.images = np.clip(images, 0, 1)
        self.raw = raw
        self.truths = [(np.asarray(b, float).reshape(-1, 4), np.asarray(c)) for b, c in truths]
        self.class_names = tuple(class_names)
        self.decoded = _decode_all(raw, images.shape[1])
        self.state = ExplorerState(image=int(image), score_threshold=float(score_threshold),
                                   iou_threshold=float(iou_threshold))
        nms_view(*self.decoded[0], self.state.score_threshold, self.state.iou_threshold)  # validates
        self.picture = None
        super().__init__()
        self.ui.add_class("box-iou-explorer")
        self.image.add_class("box-iou-explorer-image")
        self._update_status()

    # -- controls --------------------------------------------------------------------
    def _build_controls(self):
        W = self._W
        st = self.state

        def slider(value, lo, hi, name):
            s = W.FloatSlider(value=value, min=lo, max=hi, step=0.5, description=name, continuous_update=True,
                              layout=W.Layout(width="230px"), style={"description_width": "28px"})
            s.observe(self._on_box, names="value")
            return s

        self.a_sliders = [slider(v, 0, CANVAS, n) for v, n in zip(st.box_a, ("cx", "cy", "w", "h"))]
        self.b_sliders = [slider(v, 0, CANVAS, n) for v, n in zip(st.box_b, ("cx", "cy", "w", "h"))]
        self.a_cx, self.a_cy, self.a_w, self.a_h = self.a_sliders
        self.b_cx, self.b_cy, self.b_w, self.b_h = self.b_sliders
        self.w_image = W.IntSlider(value=st.image, min=0, max=len(self.images) - 1, description="image",
                                   continuous_update=False)
        self.w_score = W.FloatSlider(value=st.score_threshold, min=0.0, max=0.95, step=0.01,
                                     description="score >", continuous_update=True)
        self.w_iou = W.FloatSlider(value=st.iou_threshold, min=0.0, max=1.0, step=0.05,
                                   description="NMS IoU >", continuous_update=True)
        self.w_image.observe(self._on_nms, names="value")
        self.w_score.observe(self._on_nms, names="value")
        self.w_iou.observe(self._on_nms, names="value")
        self.controls = [W.HBox([W.VBox([W.HTML("<b>box A</b> (blue)")] + self.a_sliders),
                                 W.VBox([W.HTML("<b>box B</b> (green)")] + self.b_sliders),
                                 W.VBox([W.HTML("<b>non-max suppression</b> on the detector's grid output")]
                                        + [self.w_image, self.w_score, self.w_iou])])]

    def render(self):
        return render(self.state, self.images, self.raw, self.truths, self.class_names)

    def render_png(self):
        return self.frame_png(lambda fig: BoxPicture(fig, self.images, self.decoded, self.truths,
                                                     self.class_names, self.raw.shape[1] * self.raw.shape[2]),
                              self.state)

    # -- callbacks: one method each ----------------------------------------------------
    def _on_box(self, change):
        self.set_boxes([s.value for s in self.a_sliders], [s.value for s in self.b_sliders])

    def _on_nms(self, change):
        self.set_nms(self.w_image.value, self.w_score.value, self.w_iou.value)

    # -- actions -------------------------------------------------------------------------
    def set_boxes(self, box_a, box_b):
        """Show boxes ``box_a`` and ``box_b`` given as ``(cx, cy, w, h)``."""
        a, b = _centre_box(box_a, "box_a"), _centre_box(box_b, "box_b")
        self.state.box_a, self.state.box_b = a.tolist(), b.tolist()
        self._redraw()

    def set_nms(self, image: int, score_threshold: float, iou_threshold: float):
        if isinstance(image, bool) or not isinstance(image, (int, np.integer)) or not 0 <= image < len(self.images):
            raise ValueError(f"image must be an index from 0 to {len(self.images) - 1}, got {image!r}")
        nms_view(*self.decoded[image], score_threshold, iou_threshold)   # validates the thresholds
        self.state.image, self.state.score_threshold, self.state.iou_threshold = (
            int(image), float(score_threshold), float(iou_threshold))
        self._redraw()

    @property
    def iou(self) -> float:
        """IoU of the two boxes shown."""
        return iou_parts(self.state.box_a, self.state.box_b).iou

    @property
    def view(self) -> NmsView:
        """The NMS panel's candidates and kept boxes for the current image and thresholds."""
        st = self.state
        return nms_view(*self.decoded[st.image], st.score_threshold, st.iou_threshold)

    def _redraw(self):
        self.refresh()
        self._update_status()

    def _update_status(self):
        v = self.view
        self.status.value = (f"IoU(A, B) = {self.iou:.3f}; image {self.state.image}: {len(v.candidates)} boxes "
                             f"above the score threshold, {len(v.kept)} after NMS")


def demo_explorer(n_images: int = 20, seed: int = 0):
    """An explorer on generated held-out scenes with :func:`synthetic_raw_output` standing in for
    the trained detector (no TensorFlow; for tests and ``make bench-widgets``)."""
    from .. import data
    photos = data.load("sample_images", verbose=False).X
    images, boxes, classes = D.shape_scenes(n_images, photos, seed=seed, x_range=(0.7, 1.0))
    raw = synthetic_raw_output(boxes, classes, seed=seed)
    return BoxIoUExplorer(images, raw, list(zip(boxes, classes)))
