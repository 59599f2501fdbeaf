"""Augmentation previewer (notebook 10): one control per Keras augmentation layer, a grid of
augmented samples of a real photo or an MNIST digit, and the identity at inference.

Three layers (CONVENTIONS.md, "Widgets"):

- pure functions: :func:`load_source` (a downscaled photo of ``cu.data.load("sample_images")``
  or an MNIST digit, float32 0-255), :func:`build_layers` (the Keras layers for a
  :class:`AugmentSettings`) and :func:`augment_samples` (``n`` copies of the image through
  them). The pictures come from the Keras layers' own code: each layer draws its random
  transformation with a fixed seed (``get_random_transformation(x, seed=...)``, so a
  setting always shows the same pictures) and applies it (``transform_images``); at
  inference each layer is called with ``training=False`` and returns its input;
- :func:`render` (settings -> Figure) and the kept :class:`AugmentationPicture`;
- :class:`AugmentationPreviewer`, the thin widget.

Speed: a control change re-runs only the layers from the changed one onward (earlier results
are kept), on small images (a photo at 1/5 size, 85x128; a digit 28x28) and 7 samples: about
20-45 ms of Keras plus 10 ms of drawing on 2 cores.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from .base import Explorer

__all__ = ["SOURCES", "FLIP_MODES", "LIMITS", "AugmentSettings", "load_source", "build_layers",
           "augment_samples", "pipeline_text", "mosaic", "AugmentationPicture", "render", "AugmentationPreviewer"]

SOURCES = ("photo: china", "photo: flower", "digit: 6", "digit: 2")
FLIP_MODES = ("none", "horizontal", "vertical", "horizontal_and_vertical")
#: largest factor each slider allows (rotation in fractions of a full turn: 0.5 = up to ±180°)
LIMITS = {"rotation": 0.5, "zoom": 0.5, "translation": 0.3, "contrast": 0.9}
N_SAMPLES = 7
PHOTO_SHRINK = 5          # 427x640 -> 85x128 (block means)
_ORDER = ("flip", "rotation", "zoom", "translation", "contrast")


@dataclass(frozen=True)
class AugmentSettings:
    """One setting of the previewer: which image, each layer's factor, seed and mode.

    ``flip``: a mode of ``RandomFlip`` or ``"none"``; ``rotation``, ``zoom``, ``translation``,
    ``contrast``: the factor of ``RandomRotation``, ``RandomZoom``, ``RandomTranslation``
    (height and width), ``RandomContrast``, 0 leaving the layer out; ``training``: True shows
    augmented samples, False what the same layers return at inference.
    """
    source: str = "photo: china"
    flip: str = "horizontal"
    rotation: float = 0.1
    zoom: float = 0.2
    translation: float = 0.1
    contrast: float = 0.3
    seed: int = 0
    training: bool = True

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        if self.flip not in FLIP_MODES:
            raise ValueError(f"flip must be one of {FLIP_MODES}, got {self.flip!r}")
        for name, hi in LIMITS.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not 0 <= v <= hi:
                raise ValueError(f"{name} must be a factor in [0, {hi}], got {v!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not isinstance(self.training, (bool, np.bool_)):
            raise TypeError(f"training must be True or False, got {self.training!r}")


@functools.lru_cache(maxsize=None)
def load_source(name: str) -> tuple[np.ndarray, str]:
    """``(image, fill_mode)``: the image as float32 ``(h, w, c)`` in 0-255, and the fill mode
    its geometric layers use (``"reflect"``, Keras' default, for photos; ``"constant"``
    (black) for digits, whose background is black: reflecting would copy strokes in)."""
    if name not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {name!r}")
    from .. import data
    if name.startswith("photo"):
        photos = data.load("sample_images", verbose=False)
        x = photos.X[photos.target_names.index(name.split(": ")[1])].astype(np.float32)
        k = PHOTO_SHRINK
        h, w = x.shape[0] // k * k, x.shape[1] // k * k
        img = x[:h, :w].reshape(h // k, k, w // k, k, 3).mean(axis=(1, 3))
        fill = "reflect"
    else:
        digits = data.load("mnist", source="bundled", verbose=False)
        digit = int(name.split(": ")[1])
        img = digits.X[np.flatnonzero(digits.y == digit)[0]].astype(np.float32)[..., None]
        fill = "constant"
    img = np.ascontiguousarray(img, dtype=np.float32)
    img.flags.writeable = False
    return img, fill


@functools.lru_cache(maxsize=256)
def _layer(kind: str, factor, fill: str):
    import keras
    L = keras.layers
    if kind == "flip":
        return L.RandomFlip(factor)
    if kind == "rotation":
        return L.RandomRotation(factor, fill_mode=fill)
    if kind == "zoom":
        return L.RandomZoom(factor, fill_mode=fill)
    if kind == "translation":
        return L.RandomTranslation(factor, factor, fill_mode=fill)
    return L.RandomContrast(factor)


def build_layers(settings: AugmentSettings, fill_mode: str = "reflect") -> list:
    """``[(kind, layer), ...]``: the Keras layers of ``settings``, in the order flip, rotation,
    zoom, translation, contrast; a layer whose factor is 0 (or flip ``"none"``) is left out.
    Layers are made once per (kind, factor, fill mode) and reused."""
    out = []
    for kind in _ORDER:
        v = getattr(settings, kind)
        if (kind == "flip" and v == "none") or (kind != "flip" and float(v) == 0.0):
            continue
        out.append((kind, _layer(kind, v if kind == "flip" else round(float(v), 6), fill_mode)))
    return out


def pipeline_text(settings: AugmentSettings) -> str:
    """The layers as Keras code, e.g. ``RandomFlip('horizontal') → RandomRotation(0.1)``."""
    names = {"flip": "RandomFlip", "rotation": "RandomRotation", "zoom": "RandomZoom",
             "translation": "RandomTranslation", "contrast": "RandomContrast"}
    parts = []
    for kind in _ORDER:
        v = getattr(settings, kind)
        if kind == "flip":
            if v != "none":
                parts.append(f"RandomFlip({v!r})")
        elif float(v) > 0:
            parts.append(f"{names[kind]}({float(v):g})")
    return " → ".join(parts) if parts else "no augmentation layer"


_RESULTS: dict = {}   # (source, seed, training, settings of the first k layers) -> images after them
_RESULTS_MAX = 64


def augment_samples(settings: AugmentSettings, n: int = N_SAMPLES) -> np.ndarray:
    """``n`` copies of ``settings.source`` through the layers of ``settings``: float32
    ``(n, h, w, c)`` in 0-255. ``training=True``: each layer draws its transformation with
    seed ``10 * settings.seed + i`` (the same pictures every time); ``training=False``: each
    layer is called as at inference and returns its input unchanged."""
    if not isinstance(settings, AugmentSettings):
        raise TypeError(f"settings must be an AugmentSettings, got {type(settings).__name__}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    image, fill = load_source(settings.source)
    x = np.repeat(image[None], n, axis=0)
    done = ()
    for i, (kind, layer) in enumerate(build_layers(settings, fill)):
        done = done + ((kind, getattr(settings, kind)),)
        key = (settings.source, settings.seed, bool(settings.training), int(n), done)
        hit = _RESULTS.get(key)
        if hit is not None:
            x = hit
            continue
        if settings.training:
            t = layer.get_random_transformation(x, training=True, seed=10 * settings.seed + i)
            x = np.asarray(layer.transform_images(x, t, training=True), dtype=np.float32)
        else:
            x = np.asarray(layer(x, training=False), dtype=np.float32)
        x.flags.writeable = False
        _RESULTS[key] = x
        while len(_RESULTS) > _RESULTS_MAX:
            _RESULTS.pop(next(iter(_RESULTS)))
    return x


GAP = 6          # white pixels between two cells of the mosaic
LABEL = 16       # white pixels above each row of cells, for the cells' labels
NCOLS = 4
MARGIN = 8       # pixels around the mosaic
TITLE = 30       # pixels above it for the title


def _cells(image: np.ndarray, samples: np.ndarray) -> np.ndarray:
    cells = np.concatenate([np.asarray(image, dtype=np.float32)[None], samples], axis=0)
    cells = np.clip(cells, 0, 255).round().astype(np.uint8)
    if cells.shape[-1] == 1:
        cells = np.repeat(cells, 3, axis=-1)
    if cells.shape[1] < 50:   # a digit: 4x larger, pixel for pixel
        cells = cells.repeat(4, axis=1).repeat(4, axis=2)
    return cells


def mosaic(image: np.ndarray, samples: np.ndarray, ncols: int = NCOLS) -> np.ndarray:
    """The input and the samples in one uint8 RGBA array, ``ncols`` cells a row, each row under a
    strip for labels, gaps between cells (strips and gaps transparent: alpha 0); a digit is
    enlarged 4x (nearest)."""
    cells = _cells(image, samples)
    n, h, w, _ = cells.shape
    nrows = -(-n // ncols)
    out = np.zeros((nrows * (LABEL + h) + (nrows - 1) * GAP, ncols * w + (ncols - 1) * GAP, 4), dtype=np.uint8)
    for k in range(n):
        r, c = divmod(k, ncols)
        top, left = r * (LABEL + h + GAP) + LABEL, c * (w + GAP)
        out[top:top + h, left:left + w, :3] = cells[k]
        out[top:top + h, left:left + w, 3] = 255
        if k == 0:   # a red frame around the input
            out[top:top + h, left:left + w][[0, 1, -2, -1]] = (214, 39, 40, 255)
            out[top:top + h, left:left + w][:, [0, 1, -2, -1]] = (214, 39, 40, 255)
    return out


class AugmentationPicture:
    """The kept figure: the mosaic of the input (red frame) and ``N_SAMPLES`` outputs, drawn
    pixel for pixel (``figimage``, no resampling); a frame replaces its pixels, the title and
    the cells' labels lie in the white space around it and are drawn once."""

    dpi = 80

    def __init__(self, fig):
        self.fig = fig
        self.image = None
        self.texts = []
        self.live = []

    def _build(self, image, tiles, settings):
        fig = self.fig
        for t in self.texts:
            t.remove()
        if self.image is not None:
            self.image.remove()
        H, W = tiles.shape[:2]
        fw, fh = W + 2 * MARGIN, H + 2 * MARGIN + TITLE
        fig.set_size_inches(fw / self.dpi, fh / self.dpi)
        self.image = fig.figimage(tiles, xo=MARGIN, yo=MARGIN, origin="upper")
        cells = _cells(image, np.zeros((0,) + image.shape, np.float32))
        h, w = cells.shape[1:3]
        mode = ("training=True: random draws (fixed seed)" if settings.training
                else "training=False (inference): output = input")
        self.texts = [fig.text(0.5, 1 - 8 / fh, mode, ha="center", va="top", fontsize=11)]
        for k in range(N_SAMPLES + 1):
            r, c = divmod(k, NCOLS)
            x = MARGIN + c * (w + GAP)
            y = fh - TITLE - MARGIN - r * (LABEL + h + GAP)   # top of the label strip, from the bottom
            self.texts.append(fig.text(x / fw, (y - 2) / fh, "input" if k == 0 else f"output {k}",
                                       ha="left", va="top", fontsize=9, color="C3" if k == 0 else "black"))
        self.live = [self.image]

    def update(self, settings: AugmentSettings, samples: np.ndarray | None = None):
        image, _ = load_source(settings.source)
        if samples is None:
            samples = augment_samples(settings)
        tiles = mosaic(image, samples)
        key = (tiles.shape, bool(settings.training))
        if key != getattr(self, "_key", None):
            self._build(image, tiles, settings)
            self._key = key
        self.image.set_data(tiles)
        return key


def render(settings: AugmentSettings | None = None):
    """A full Figure of ``settings`` (for notebooks and tests)."""
    import matplotlib.pyplot as plt
    settings = settings or AugmentSettings()
    fig = plt.figure(dpi=AugmentationPicture.dpi)
    AugmentationPicture(fig).update(settings)
    return fig


class AugmentationPreviewer(Explorer):
    """Keras augmentation layers on a real photo or a digit: one control per layer, 7 outputs.

    Parameters: the fields of :class:`AugmentSettings` (``source``, ``flip``, ``rotation``,
    ``zoom``, ``translation``, ``contrast``, ``seed``, ``training``).
    """

    layout = "horizontal"

    def __init__(self, **settings):
        self.settings = AugmentSettings(**settings)
        self.picture = None
        self._last = None
        super().__init__()

    def _build_controls(self):
        W = self._W
        s = self.settings
        slider = dict(step=0.05, readout_format=".2f", continuous_update=False,
                      style={"description_width": "82px"}, layout=W.Layout(width="290px"))
        self.source = W.Dropdown(options=list(SOURCES), value=s.source, description="image",
                                 style={"description_width": "82px"}, layout=W.Layout(width="290px"))
        self.flip = W.Dropdown(options=list(FLIP_MODES), value=s.flip, description="RandomFlip",
                               style={"description_width": "82px"}, layout=W.Layout(width="290px"))
        self.rotation = W.FloatSlider(value=s.rotation, min=0, max=LIMITS["rotation"], description="Rotation",
                                      **slider)
        self.zoom = W.FloatSlider(value=s.zoom, min=0, max=LIMITS["zoom"], description="Zoom", **slider)
        self.translation = W.FloatSlider(value=s.translation, min=0, max=LIMITS["translation"],
                                         description="Translation", **slider)
        self.contrast = W.FloatSlider(value=s.contrast, min=0, max=LIMITS["contrast"], description="Contrast",
                                      **{**slider, "step": 0.1, "readout_format": ".1f"})
        self.seed = W.IntSlider(value=s.seed, min=0, max=20, description="seed", continuous_update=False,
                                style={"description_width": "82px"}, layout=W.Layout(width="290px"))
        self.mode = W.ToggleButtons(options=["training", "inference"],
                                    value="training" if s.training else "inference", description="mode",
                                    style={"description_width": "82px", "button_width": "90px"})
        for name in ("source", "flip", "rotation", "zoom", "translation", "contrast", "seed", "mode"):
            getattr(self, name).observe(self._on_change, names="value")
        self.controls = [self.source, self.flip, self.rotation, self.zoom, self.translation,
                         self.contrast, self.seed, self.mode]

    # -- one callback ----------------------------------------------------------------------
    def _on_change(self, _change):
        self.set(source=self.source.value, flip=self.flip.value, rotation=self.rotation.value,
                 zoom=self.zoom.value, translation=self.translation.value, contrast=self.contrast.value,
                 seed=self.seed.value, training=self.mode.value == "training")

    # -- actions ---------------------------------------------------------------------------
    def set(self, **changes):
        """Change settings (fields of :class:`AugmentSettings`) and redraw; a bad value raises
        a ValueError naming it and leaves the previewer as it was."""
        new = replace(self.settings, **changes)
        if new != self.settings:
            self.settings = new
            self.refresh()

    @property
    def samples(self) -> np.ndarray:
        """The outputs shown now, ``(7, h, w, c)`` float32."""
        return augment_samples(self.settings)

    def render(self):
        return render(self.settings)

    def render_png(self):
        png = self.frame_png(AugmentationPicture, self.settings)
        s = self.settings
        shown = "augmented" if s.training else "identical to the input (inference)"
        self.status.value = (f"<code>{pipeline_text(s)}</code><br><small>{N_SAMPLES} outputs {shown}; "
                             f"seed {s.seed}</small>")
        return png
