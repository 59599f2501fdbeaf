"""Feature-map browser (notebook 12): pick an image or draw a digit on a click grid, and see every
convolution and pooling layer's feature maps, the top-3 classes and the Grad-CAM overlay of a
trained Keras model.

Three layers (CONVENTIONS.md, "Widgets"):

- pure functions: :func:`feature_layers` (the model's conv / pooling layers), :func:`Analyser`
  (one forward pass of ``model(x, training=False)`` on one image under a ``tf.GradientTape``:
  every feature map, the probabilities and Grad-CAM of the top class, cached per image),
  :func:`mosaic_maps` (all maps of a layer tiled into one array), :func:`drawing_to_image` and
  :func:`image_to_drawing` (the click grid <-> a 28x28 image);
- :func:`render` (an analysis -> Figure) and the kept :class:`BrowserPicture`, whose frames only
  replace image data, bar lengths and texts;
- :class:`FeatureMapBrowser`, the thin widget (takes the trained model as an argument).

Grad-CAM uses the scores before the softmax when the model ends in a ``Softmax`` layer (its
input), else the log of the output probabilities. The model's inner tensors are read with
``keras.Model(model.inputs, [layer.output ...])``, which works for Functional models and for
``Sequential`` models built with an ``Input``.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..scratch.cnn import grad_cam_heatmap, resize_bilinear, top_k_classes
from .base import Explorer

__all__ = ["feature_layers", "ImageAnalysis", "Analyser", "mosaic_maps", "drawing_to_image",
           "image_to_drawing", "cam_rgba", "BrowserPicture", "render", "FeatureMapBrowser", "demo_model", "demo_browser"]

_CONV = ("Conv2D", "MaxPooling2D", "AveragePooling2D", "DepthwiseConv2D", "SeparableConv2D")
CACHE_SIZE = 256


def feature_layers(model) -> list[str]:
    """Names of the model's convolution and pooling layers, in order (the layers whose feature maps
    the browser shows); the last convolution among them is the Grad-CAM layer."""
    names = [layer.name for layer in model.layers if type(layer).__name__ in _CONV]
    if not names:
        raise ValueError("the model has no Conv2D or pooling layer: the browser shows feature maps of a CNN")
    if not any("Conv" in type(model.get_layer(n)).__name__ for n in names):
        raise ValueError("the model has pooling but no convolution layer: Grad-CAM needs a convolution")
    return names


@dataclass(frozen=True)
class ImageAnalysis:
    """What the browser shows for one image: ``maps`` ``{layer: (h, w, c)}``, ``probs`` ``(classes,)``,
    ``top3`` ``[(class, p), ...]``, ``cam`` (Grad-CAM of the top class, upsampled to the image size,
    0-1) and ``cam_layer``."""
    image: np.ndarray
    maps: dict
    probs: np.ndarray
    top3: list
    cam: np.ndarray
    cam_layer: str


class Analyser:
    """Runs one image through ``model`` (directly, ``training=False``) and caches the result per key.

    ``model``: a trained Keras model mapping ``(n, h, w, 1)`` or ``(n, h, w)`` images to class
    probabilities ``(n, classes)``.
    """

    def __init__(self, model, cache_size: int = CACHE_SIZE):
        import keras
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a trained keras.Model, got {type(model).__name__}")
        shape = tuple(model.inputs[0].shape[1:])
        if len(shape) not in (2, 3) or (len(shape) == 3 and shape[-1] != 1) or None in shape[:2]:
            raise ValueError(f"model must take grayscale images (h, w, 1) or (h, w) of a fixed size, "
                             f"got input shape {shape}")
        self.model = model
        self.image_shape = shape[:2]
        self._channel = len(shape) == 3
        self.layers = feature_layers(model)
        self.cam_layer = [n for n in self.layers if "Conv" in type(model.get_layer(n)).__name__][-1]
        last = model.layers[-1]
        probs_t = model.outputs[0]
        if type(last).__name__ == "Softmax":
            self.score_is_logit, score_t = True, last.input
        else:
            self.score_is_logit, score_t = False, probs_t
        outputs = [model.get_layer(n).output for n in self.layers] + [score_t, probs_t]
        self.probe = keras.Model(model.inputs[0], outputs)
        self.cam_index = self.layers.index(self.cam_layer)
        self._cache = OrderedDict()
        self.cache_size = cache_size
        self.calls = 0   # model calls (cache misses), for tests

    def check_image(self, image) -> np.ndarray:
        x = np.asarray(image, dtype=np.float32)
        if x.ndim == 3 and x.shape[-1] == 1:
            x = x[..., 0]
        if x.shape != self.image_shape:
            raise ValueError(f"image must have shape {self.image_shape} (grayscale, 0-1), got {np.shape(image)}")
        if not np.isfinite(x).all():
            raise ValueError("image contains NaN or infinite values")
        return x

    def analyse(self, image, key=None) -> ImageAnalysis:
        """The analysis of one image; ``key`` (hashable) caches it (default: the image's bytes)."""
        import tensorflow as tf
        x = self.check_image(image)
        key = ("bytes", x.tobytes()) if key is None else key
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        batch = tf.convert_to_tensor(x[None, ..., None] if self._channel else x[None])
        with tf.GradientTape() as tape:
            outs = self.probe(batch, training=False)
            scores, probs = outs[-2], outs[-1]
            top = int(tf.argmax(probs[0]))
            score = scores[0, top] if self.score_is_logit else tf.math.log(probs[0, top] + 1e-12)
        acts = outs[self.cam_index]
        grads = tape.gradient(score, acts)
        self.calls += 1
        maps = {n: np.asarray(a)[0] for n, a in zip(self.layers, outs[:-2])}
        cam = grad_cam_heatmap(np.asarray(acts)[0], np.asarray(grads)[0])
        cam = np.clip(resize_bilinear(cam, self.image_shape), 0.0, 1.0).astype(np.float32)
        p = np.asarray(probs)[0].astype(np.float64)
        result = ImageAnalysis(x, maps, p, top_k_classes(p, min(3, p.size)), cam, self.cam_layer)
        self._cache[key] = result
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return result


def mosaic_maps(maps: np.ndarray, ncols: int | None = None, gap: int = 1) -> np.ndarray:
    """All ``c`` maps of a ``(h, w, c)`` layer output tiled into one 2-D array, ``ncols`` maps a row
    (default: about twice as many columns as rows), NaN in the gaps (drawn white), scaled by the
    layer's maximum to 0-1 (so the maps of one layer can be compared)."""
    a = np.asarray(maps, dtype=np.float32)
    if a.ndim != 3:
        raise ValueError(f"maps must have shape (h, w, channels), got {a.shape}")
    h, w, c = a.shape
    if ncols is None:
        ncols = int(np.ceil(np.sqrt(2 * c))) if c > 1 else 1
        ncols = min(c, ncols)
    nrows = -(-c // ncols)
    top = a.max()
    a = a / top if top > 0 else a
    out = np.full((nrows * h + (nrows - 1) * gap, ncols * w + (ncols - 1) * gap), np.nan, dtype=np.float32)
    for k in range(c):
        r, q = divmod(k, ncols)
        out[r * (h + gap):r * (h + gap) + h, q * (w + gap):q * (w + gap) + w] = a[:, :, k]
    return out


def _blur(x: np.ndarray) -> np.ndarray:
    k = np.array([0.25, 0.5, 0.25])
    p = np.pad(x, 1)
    x = k[0] * p[:-2, 1:-1] + k[1] * p[1:-1, 1:-1] + k[2] * p[2:, 1:-1]
    p = np.pad(x, 1)
    return k[0] * p[1:-1, :-2] + k[1] * p[1:-1, 1:-1] + k[2] * p[1:-1, 2:]


def drawing_to_image(grid) -> np.ndarray:
    """A click grid (``(g, g)`` of 0/1) to an image of twice its side in 0-1: each cell 2x2 pixels,
    softened by a small blur like MNIST's anti-aliased strokes."""
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim != 2 or not np.isin(g, (0, 1)).all():
        raise ValueError(f"grid must be a 2-D array of 0/1, got shape {g.shape}")
    img = _blur(np.kron(g, np.ones((2, 2))))
    top = img.max()
    return (np.clip(img / top, 0, 1) if top > 0 else img).astype(np.float32)


def image_to_drawing(image, threshold: float = 0.35) -> np.ndarray:
    """An image (even sides, 0-1) to the click grid: the mean of each 2x2 block above ``threshold``."""
    x = np.asarray(image, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] % 2 or x.shape[1] % 2:
        raise ValueError(f"image must be 2-D with even sides, got shape {x.shape}")
    h, w = x.shape
    return (x.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)) > threshold).astype(np.int8)


def cam_rgba(cam, alpha: float = 0.65) -> np.ndarray:
    """Grad-CAM (0-1) as an RGBA overlay: jet colours, opacity growing with the value, so the image
    shows through where the map is low."""
    from matplotlib import colormaps
    c = np.clip(np.asarray(cam, dtype=np.float32), 0, 1)
    rgba = colormaps["jet"](c)
    rgba[..., 3] = alpha * c
    return rgba


class BrowserPicture:
    """The kept figure: the input with the Grad-CAM overlay, the top-3 bars, and one mosaic per
    feature layer. Frames replace image data, bar widths and texts; axes and titles stay."""

    def __init__(self, fig):
        self.fig = fig
        self.live = []
        self._key = None

    def _build(self, a: ImageAnalysis, names):
        from matplotlib import colormaps
        from matplotlib.gridspec import GridSpec
        fig = self.fig
        fig.clear()
        n = len(names)
        ncols = 2 if n > 1 else 1
        nrows = -(-n // ncols)
        fig.set_size_inches(10.5, 2.5 * max(2, nrows) + 0.4)
        gs = GridSpec(nrows, ncols, figure=fig, left=0.27, right=0.99, top=0.88, bottom=0.02, wspace=0.06,
                      hspace=0.22)
        ax_in = fig.add_axes([0.015, 0.40, 0.22, 0.46])
        self.input_im = ax_in.imshow(a.image, cmap="gray", vmin=0, vmax=1)
        self.cam_im = ax_in.imshow(cam_rgba(a.cam))
        ax_in.set_xticks([])
        ax_in.set_yticks([])
        ax_in.set_title(f"input + Grad-CAM ({a.cam_layer})", fontsize=9)
        ax_bar = fig.add_axes([0.03, 0.07, 0.21, 0.22])
        k = a.probs.size
        self.bars = ax_bar.bar(np.arange(k), np.zeros(k), color="0.7", width=0.75)
        ax_bar.set_ylim(0, 1)
        ax_bar.set_xlim(-0.6, k - 0.4)
        ax_bar.set_xticks(np.arange(k))
        ax_bar.set_yticks([0, 0.5, 1])
        ax_bar.tick_params(labelsize=8)
        ax_bar.set_title("p(class): top 3 in colour", fontsize=9)
        cmap = colormaps["magma"].with_extremes(bad="white")
        self.map_ims = []
        for i, name in enumerate(names):
            r, c = divmod(i, ncols)
            ax = fig.add_subplot(gs[r, c])
            shape = a.maps[name].shape
            self.map_ims.append(ax.imshow(mosaic_maps(a.maps[name]), cmap=cmap, vmin=0, vmax=1,
                                          interpolation="nearest"))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{name}: {shape[2]} maps of {shape[0]}×{shape[1]}", fontsize=9)
        self.header = fig.text(0.5, 0.965, "", ha="center", va="center", fontsize=11)
        self.live = [self.input_im, self.cam_im, *self.bars, *self.map_ims, self.header]

    def update(self, a: ImageAnalysis, title: str = "", overlay: bool = True):
        names = list(a.maps)
        key = (tuple(names), tuple(a.maps[n].shape for n in names), a.image.shape, a.probs.size, a.cam_layer)
        if key != self._key:
            self._build(a, names)
            self._key = key
        self.input_im.set_data(a.image)
        self.cam_im.set_data(cam_rgba(a.cam))
        self.cam_im.set_visible(bool(overlay))
        colours = {cls: c for (cls, _), c in zip(a.top3, ("C3", "C1", "C0"))}
        for cls, (bar, p) in enumerate(zip(self.bars, a.probs)):
            bar.set_height(p)
            bar.set_color(colours.get(cls, "0.7"))
        for im, name in zip(self.map_ims, names):
            im.set_data(mosaic_maps(a.maps[name]))
        self.header.set_text(title)
        return key


def render(analysis: ImageAnalysis, title: str = "", overlay: bool = True):
    """A full Figure of one analysis (for notebooks and tests)."""
    import matplotlib.pyplot as plt
    fig = plt.figure(dpi=80)
    BrowserPicture(fig).update(analysis, title, overlay)
    return fig


class FeatureMapBrowser(Explorer):
    """Every layer's feature maps, the top-3 classes and Grad-CAM of a trained CNN, for a chosen image
    or a digit drawn on a click grid.

    Parameters
    ----------
    model : keras.Model
        Trained, mapping ``(n, h, w, 1)`` (or ``(n, h, w)``) images in 0-1 to class probabilities.
    images : ndarray ``(n, h, w)`` or ``(n, h, w, 1)``, values in 0-1
        The images to pick from.
    labels : optional sequence of ``n`` true classes, shown next to the prediction.
    """

    layout = "horizontal"

    def __init__(self, model, images, labels=None):
        self.analyser = Analyser(model)
        imgs = np.asarray(images, dtype=np.float32)
        if imgs.ndim == 4 and imgs.shape[-1] == 1:
            imgs = imgs[..., 0]
        if imgs.ndim != 3 or imgs.shape[1:] != self.analyser.image_shape or len(imgs) == 0:
            raise ValueError(f"images must have shape (n, {self.analyser.image_shape[0]}, "
                             f"{self.analyser.image_shape[1]}) with n >= 1 (the model's input), got {np.shape(images)}")
        if imgs.min() < 0 or imgs.max() > 1:
            raise ValueError(f"images must be scaled to 0-1 (as the model was trained), got values in "
                             f"[{imgs.min():g}, {imgs.max():g}]")
        if labels is not None and len(labels) != len(imgs):
            raise ValueError(f"labels must have one entry per image ({len(imgs)}), got {len(labels)}")
        h, w = self.analyser.image_shape
        if h % 2 or w % 2:
            raise ValueError(f"the drawing grid needs even image sides, got {h}x{w}")
        self.images, self.labels = imgs, None if labels is None else np.asarray(labels)
        self.grid = np.zeros((h // 2, w // 2), dtype=np.int8)
        self.mode, self.index, self.overlay = "image", 0, True
        self.picture = None
        self._syncing = False
        super().__init__()

    # -- controls -----------------------------------------------------------------------------
    def _build_controls(self):
        W = self._W
        self.image_index = W.IntSlider(value=0, min=0, max=len(self.images) - 1, description="image",
                                       continuous_update=False, layout=W.Layout(width="300px"))
        self.source = W.ToggleButtons(options=["image", "drawing"], value="image", description="show",
                                      style={"button_width": "80px"})
        self.cam_toggle = W.Checkbox(value=True, description="Grad-CAM overlay", indent=False)
        self.copy_button = W.Button(description="copy image to grid", layout=W.Layout(width="145px"))
        self.clear_button = W.Button(description="clear grid", layout=W.Layout(width="100px"))
        g = self.grid.shape
        self.cells = [[W.ToggleButton(value=False, layout=W.Layout(width="16px", height="16px", padding="0px",
                                                                   margin="0px"))
                       for _ in range(g[1])] for _ in range(g[0])]
        self.center_cell = self.cells[g[0] // 2][g[1] // 2]   # one grid cell by name (the frame-time benchmark)
        self.image_index.observe(self._on_index, names="value")
        self.source.observe(self._on_source, names="value")
        self.cam_toggle.observe(self._on_overlay, names="value")
        self.copy_button.on_click(lambda _b: self.copy_to_grid())
        self.clear_button.on_click(lambda _b: self.clear())
        for r, row in enumerate(self.cells):
            for c, cell in enumerate(row):
                cell.observe(lambda ch, r=r, c=c: self._on_cell(r, c, ch["new"]), names="value")
        grid_box = W.VBox([W.HBox(row, layout=W.Layout(margin="0px")) for row in self.cells],
                          layout=W.Layout(margin="4px 0px"))
        self.controls = [self.image_index, self.source, self.cam_toggle,
                         W.HBox([self.copy_button, self.clear_button]),
                         W.HTML("<small>click cells to draw (each cell = 2×2 pixels)</small>"), grid_box]

    def _on_index(self, change):
        self.show_image(change["new"])

    def _on_source(self, change):
        self.set_mode(change["new"])

    def _on_overlay(self, change):
        self.overlay = bool(change["new"])
        self.refresh()

    def _on_cell(self, r, c, value):
        if not self._syncing:
            self.set_cell(r, c, value)

    # -- actions ------------------------------------------------------------------------------
    def show_image(self, index: int):
        """Show image ``index`` of the set (and switch to it from a drawing)."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(self.images):
            raise ValueError(f"index must be an integer in [0, {len(self.images) - 1}], got {index!r}")
        self.index, self.mode = int(index), "image"
        self._sync_controls()
        self.refresh()

    def set_mode(self, mode: str):
        if mode not in ("image", "drawing"):
            raise ValueError(f"mode must be 'image' or 'drawing', got {mode!r}")
        if mode != self.mode:
            self.mode = mode
            self.refresh()

    def set_cell(self, r: int, c: int, value: bool):
        """Set one cell of the drawing grid and show the drawing."""
        self.grid[r, c] = 1 if value else 0
        self.mode = "drawing"
        self._sync_controls()
        self.refresh()

    def set_drawing(self, grid):
        """Replace the drawing with ``grid`` (0/1, the grid's shape) and show it."""
        g = np.asarray(grid)
        if g.shape != self.grid.shape or not np.isin(g, (0, 1)).all():
            raise ValueError(f"grid must be a {self.grid.shape} array of 0/1, got shape {g.shape}")
        self.grid = g.astype(np.int8)
        self.mode = "drawing"
        self._sync_controls()
        self.refresh()

    def copy_to_grid(self):
        """Start a drawing from the current image (thresholded 2x2 blocks)."""
        self.set_drawing(image_to_drawing(self.images[self.index]))

    def clear(self):
        self.set_drawing(np.zeros_like(self.grid))

    def _sync_controls(self):
        self._syncing = True
        try:
            if self.image_index.value != self.index:
                self.image_index.unobserve(self._on_index, names="value")
                self.image_index.value = self.index
                self.image_index.observe(self._on_index, names="value")
            if self.source.value != self.mode:
                self.source.unobserve(self._on_source, names="value")
                self.source.value = self.mode
                self.source.observe(self._on_source, names="value")
            for r, row in enumerate(self.cells):
                for c, cell in enumerate(row):
                    if cell.value != bool(self.grid[r, c]):
                        cell.value = bool(self.grid[r, c])
        finally:
            self._syncing = False

    # -- state and drawing --------------------------------------------------------------------
    @property
    def current_image(self) -> np.ndarray:
        return self.images[self.index] if self.mode == "image" else drawing_to_image(self.grid)

    @property
    def analysis(self) -> ImageAnalysis:
        if self.mode == "image":
            return self.analyser.analyse(self.images[self.index], key=("image", self.index))
        return self.analyser.analyse(drawing_to_image(self.grid), key=("drawing", self.grid.tobytes()))

    @property
    def top3(self):
        return self.analysis.top3

    def _title(self, a: ImageAnalysis) -> str:
        top = ", ".join(f"{c} ({p:.1%})" for c, p in a.top3)
        if self.mode == "image":
            truth = "" if self.labels is None else f", label {self.labels[self.index]}"
            return f"image {self.index}{truth}: top 3 {top}"
        return f"your drawing ({int(self.grid.sum())} cells): top 3 {top}"

    def render(self):
        a = self.analysis
        return render(a, self._title(a), self.overlay)

    def render_png(self):
        a = self.analysis
        png = self.frame_png(BrowserPicture, a, self._title(a), self.overlay)
        self.status.value = ("<small>" + " · ".join(f"{n} {a.maps[n].shape[0]}×{a.maps[n].shape[1]}×"
                                                     f"{a.maps[n].shape[2]}" for n in a.maps)
                             + f"; model calls so far: {self.analyser.calls}</small>")
        return png


def demo_model(n_train: int = 1000, epochs: int = 1, seed: int = 0):
    """A small Functional CNN (conv 8 -> pool -> conv 16 -> pool -> dense) trained a few seconds on
    the bundled MNIST subset: for tests and the frame-time benchmark. Returns ``(model, X, y)``
    with the remaining images (0-1, ``(n, 28, 28)``) and their labels."""
    import keras
    from .. import data
    ds = data.load("mnist", source="bundled", verbose=False)
    order = np.random.default_rng(seed).permutation(len(ds.y))   # the file is sorted by digit
    X, y = ds.X[order].astype(np.float32) / 255.0, ds.y[order]
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((28, 28, 1))
    h = keras.layers.Conv2D(8, 3, activation="relu", name="conv1")(inputs)
    h = keras.layers.MaxPooling2D(2, name="pool1")(h)
    h = keras.layers.Conv2D(16, 3, activation="relu", name="conv2")(h)
    h = keras.layers.MaxPooling2D(2, name="pool2")(h)
    h = keras.layers.Dense(10, name="logits")(keras.layers.Flatten()(h))
    model = keras.Model(inputs, keras.layers.Softmax(name="probs")(h))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(X[:n_train, ..., None], y[:n_train], epochs=epochs, batch_size=32, verbose=0)
    return model, X[n_train:], y[n_train:]


def demo_browser(n_images: int = 100):
    """A browser on :func:`demo_model` (for ``make bench-widgets``)."""
    model, X, y = demo_model()
    return FeatureMapBrowser(model, X[:n_images], y[:n_images])
