"""What every widget shares: figure → PNG, the image view, and headless display.

A widget subclasses :class:`Explorer`, builds its controls in ``_build_controls`` and
implements ``render()`` (its state → a matplotlib Figure). Callbacks change the state
and call :meth:`Explorer.refresh`, which renders once, writes the PNG into the same
``widgets.Image`` and closes the figure, so nothing flickers and figures never pile up.
Uses only the ipywidgets API that 7.7 and 8 share.

Speed (CONVENTIONS.md: a new picture within 100 ms on 2 cores): building a figure and
drawing its ticks and texts costs 0.2–0.5 s a frame, most of it for parts that do not
change between frames. A widget may therefore override :meth:`Explorer.render_png` and keep
one figure in a :class:`Frame`: the parts that stay (axes, ticks, labels, legends,
contours) are drawn once into a cached background, and each frame only updates the artists
that change (``set_data``, ``set_array`` ...) and draws those over it, pixel for pixel what a
full redraw of the same figure gives. PNGs are encoded with zlib level 1 (:func:`png_bytes`):
a few ms instead of tens, for files of about the same size.
"""
from __future__ import annotations

import base64
import io
import struct
import time
import zlib

import numpy as np

__all__ = ["fig_to_png", "Explorer", "is_png", "Frame", "png_bytes", "in_draw_order", "text_width", "split_title",
           "PNG_LEVEL", "QUEUED_TICK_S", "TextStamp"]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: panels a Frame keeps the pixels of, to paste back when a panel's key comes back (a slider
#: moved to and fro): about 0.5 MB each
PANEL_CACHE = 24
#: zlib level of the widgets' PNGs: 1 encodes several times faster than matplotlib's
#: savefig (Pillow, level 6) for files of about the same size (flat colours and lines).
PNG_LEVEL = 1
#: A Play tick that arrives this soon after the previous frame ended waited in the front end's
#: queue while that frame was drawn (a fresh tick can come at any time): it is dropped.
QUEUED_TICK_S = 0.01


def png_bytes(canvas, compress_level: int = PNG_LEVEL) -> bytes:
    """Encode what an Agg ``canvas`` holds now as a PNG.

    Written directly (RGBA rows as Agg holds them, unfiltered, zlib ``compress_level``):
    about three times as fast as Pillow's encoder at level 1. Dropping the (opaque) alpha
    channel would make the file 10% smaller but copying the pixels out costs more than the
    compression saves.
    """
    rgba = np.asarray(canvas.buffer_rgba())
    h, w = rgba.shape[:2]
    raw = np.empty((h, 1 + 4 * w), dtype=np.uint8)
    raw[:, 0] = 0  # each row: filter type 0 (none), then R G B A ...
    raw[:, 1:] = rgba.reshape(h, 4 * w)
    return _png_file(w, h, zlib.compress(raw, compress_level))


def _png_file(width: int, height: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    return PNG_MAGIC + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def fig_to_png(fig, dpi: int = 80) -> bytes:
    """Render a Figure to PNG bytes and close it (so open figures do not grow).

    The same pixels as ``fig.savefig(format="png", dpi=dpi)`` for an opaque figure, encoded
    faster (:func:`png_bytes`).
    """
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    try:
        fig.set_dpi(dpi)
        canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
        canvas.draw()
        return png_bytes(canvas)
    finally:
        plt.close(fig)


class Frame:
    """One figure kept for the life of a widget and redrawn fast, frame after frame.

    ``Frame(fig, dpi)`` attaches an Agg canvas to ``fig`` (a ``matplotlib.figure.Figure``
    made without pyplot, so it never counts among pyplot's open figures and needs no
    closing). :meth:`png` draws the figure and returns PNG bytes, in layers:

    - the background: everything except the ``live`` parts, drawn in full the first time and
      whenever ``key`` differs from the previous frame's, and kept;
    - panels: an Axes (or any other artist) listed in ``panels`` with a key of its own is
      redrawn alone into the kept background when only its key changed (an Axes with its
      ticks, labels and legend), not the whole figure; if what it covers overlaps another
      Axes or a figure-level text, the whole background is redrawn instead. The last panels
      drawn are kept (:data:`PANEL_CACHE`): a panel whose key comes back is pasted, not drawn;
    - every frame, the ``live`` parts are drawn over the background, in the order given: an
      ``Axes`` in full (its data, ticks, labels and title), any other artist on its own
      (data that move in a fixed frame: set_data, set_array, set_text ...);
    - ``sprites``: live artists that do not change but lie over live ones (a legend over
      moving curves, a marker over a path) are drawn once onto a transparent layer, kept, and
      blended in at their turn each frame instead of drawn (same pixels, to rounding). A
      sprite is drawn again with a new ``key``, or when it is a new object (a legend made
      anew when its panel is rebuilt).

    The caller keeps the picture right by making live every artist that lies over a live
    one (a scatter over a live image must be live too), by listing the live parts in drawing
    order (:func:`in_draw_order`) and by changing ``key`` (or the panel's key) whenever a part
    that is not live, or a sprite, changes. Drawn so, a frame is what :meth:`full_png` (one
    full draw of the same figure) gives.
    """

    def __init__(self, fig, dpi: int = 80):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        self.fig = fig
        fig.set_dpi(dpi)
        self.canvas = FigureCanvasAgg(fig)
        self._background = None
        self._key = None
        self._panel_keys = {}
        self._boxes = {}       # id(panel) -> what it covers (display Bbox), from its last draw
        self._sprites = {}     # id(artist) -> (rows, cols, what it adds, what it lets through)
        self._panel_cache = {}  # (id(panel), key) -> (box, rows, cols, pixels), the newest last
        self._live = []
        self.full_draws = 0    # frames that redrew the whole background (for tests and tuning)
        self.panel_draws = 0   # panels redrawn alone

    def _buffer(self):
        return np.asarray(self.canvas.buffer_rgba())

    @staticmethod
    def _extent(artist, renderer):
        """What ``artist`` covers in the background: for an Axes, all but its live parts."""
        from matplotlib.axes import Axes
        if not isinstance(artist, Axes):
            return artist.get_window_extent(renderer)
        live = [c for c in artist.get_children() if c.get_animated() and c.get_visible()]
        # measuring places the titles again, and would place a hidden one wrongly: keep them
        titles = [(t, t.get_position()) for t in (artist.title, artist._left_title, artist._right_title)]
        for c in live:
            c.set_visible(False)
        try:
            return artist.get_tightbbox(renderer)
        finally:
            for c in live:
                c.set_visible(True)
            for t, xy in titles:
                t.set_position(xy)

    def _draw_background(self, live, panels):
        from matplotlib.axes import Axes
        ids = {id(a) for a in live}
        for a in self._live:  # parts no longer live belong to the background again
            if not isinstance(a, Axes) and id(a) not in ids:
                a.set_animated(False)
        # hidden while the background is drawn: live Axes, and live images (matplotlib before
        # 3.11 draws an animated AxesImage anyway, so a stale map showed through its NaN cells)
        hidden = [a for a in live if isinstance(a, Axes) or _is_image(a)]
        for a in live:
            if isinstance(a, Axes):
                a.set_visible(False)
            else:
                a.set_animated(True)  # skipped by the background draw, drawn each frame
        for a in hidden:
            a.set_visible(False)
        try:
            self.canvas.draw()
        finally:
            for a in hidden:
                a.set_visible(True)
        self._background = self._buffer().copy()
        self._panel_cache.clear()  # new axes may reuse the ids of old ones
        self._panel_keys = {id(a): k for a, k in panels.items()}
        self._boxes = {}
        if panels:
            renderer = self.canvas.get_renderer()
            self._boxes = {id(ax): self._extent(ax, renderer) for ax in self.fig.axes if ax.get_visible()}
            self._boxes.update({id(a): self._extent(a, renderer) for a in panels})
        self.full_draws += 1

    def _redraw_panels(self, changed, keys, live=()) -> bool:
        """Redraw the changed panels into the background (or paste what a panel looked like
        the last time it had the same key); False (nothing drawn) if what one covers, before
        or after the change, overlaps another part of the background."""
        import math
        from matplotlib.colors import to_rgba
        from matplotlib.transforms import Bbox
        renderer = self.canvas.get_renderer()
        suptitle = getattr(self.fig, "_suptitle", None)
        others = [t.get_window_extent(renderer)
                  for t in (*self.fig.texts, *self.fig.legends, *([suptitle] if suptitle else []))
                  if t.get_visible() and not t.get_animated() and all(t is not c for c in changed)]
        new_boxes, regions = {}, []
        for a in changed:
            old = self._boxes.get(id(a))
            if old is None:
                return False
            cached = self._panel_cache.get((id(a), keys[a]))
            new_boxes[id(a)] = cached[0] if cached else self._extent(a, renderer)
            region = Bbox.union([old, new_boxes[id(a)]]).padded(2)
            boxes = [b for i, b in self._boxes.items() if i != id(a)] + others
            if any(region.overlaps(b) for b in boxes):
                return False
            regions.append(region)
        buf = self._buffer()
        buf[...] = self._background
        height, width = buf.shape[:2]
        face = (np.array(to_rgba(self.fig.get_facecolor())) * 255).round().astype(np.uint8)
        for region in regions:
            x0, x1 = max(0, math.floor(region.x0)), min(width, math.ceil(region.x1))
            top, bottom = max(0, height - math.ceil(region.y1)), min(height, height - math.floor(region.y0))
            buf[top:bottom, x0:x1] = face
        for a in changed:
            key = (id(a), keys[a])
            if key in self._panel_cache:
                box, rows, cols, pixels = self._panel_cache.pop(key)
                buf[rows, cols] = pixels
            else:
                images = [c for c in live if _is_image(c) and c.axes is a and c.get_visible()]
                for c in images:
                    c.set_visible(False)
                try:
                    a.draw(renderer)  # an Axes leaves out its live (animated) artists
                finally:
                    for c in images:
                        c.set_visible(True)
                box = new_boxes[id(a)]
                x0, x1 = max(0, math.floor(box.x0) - 2), min(width, math.ceil(box.x1) + 2)
                top = max(0, height - math.ceil(box.y1) - 2)
                bottom = min(height, height - math.floor(box.y0) + 2)
                rows, cols = slice(top, bottom), slice(x0, x1)
                pixels = buf[rows, cols].copy()
            self._panel_cache[key] = (box, rows, cols, pixels)  # the newest last
            while len(self._panel_cache) > PANEL_CACHE:
                self._panel_cache.pop(next(iter(self._panel_cache)))
            self._boxes[id(a)] = new_boxes[id(a)]
            self.panel_draws += 1
        self._background = buf.copy()
        return True

    def _make_sprites(self, sprites, keep: bool = False):
        """Draw each sprite alone, once on black and once on white, and keep what it adds and
        how much it lets through (``keep``: only those not kept yet; a sprite's layer does not
        depend on what lies under it)."""
        import math
        ids = {id(a) for a in sprites}
        self._sprites = {i: v for i, v in self._sprites.items() if keep and i in ids}
        todo = [a for a in sprites if id(a) not in self._sprites]
        if not todo:
            return
        renderer = self.canvas.get_renderer()
        buf = self._buffer()
        height, width = buf.shape[:2]
        for a in todo:
            # only the sprite's box is filled and read (filling and converting the whole
            # canvas cost about 15 ms a sprite)
            box = a.get_window_extent(renderer).padded(2)
            x0, x1 = max(0, math.floor(box.x0)), min(width, math.ceil(box.x1))
            top, bottom = max(0, height - math.ceil(box.y1)), min(height, height - math.floor(box.y0))
            region = buf[top:bottom, x0:x1]
            layers = []
            for value in (0, 255):
                region[..., :3] = value  # opaque black, then opaque white
                region[..., 3] = 255
                a.draw(renderer)
                layers.append(region[..., :3].astype(np.float32))
            on_black, on_white = layers
            # over any colour d the sprite gives on_black + d * (on_white - on_black) / 255
            self._sprites[id(a)] = (slice(top, bottom), slice(x0, x1), on_black + 0.5,
                                    (on_white - on_black) / 255.0)
        buf[...] = self._background

    def png(self, live=(), key=None, panels=None, sprites=()) -> bytes:
        """Draw the frame (see the class docstring) and return it as PNG bytes.

        ``panels``: ``{artist: key}``; ``sprites``: artists of ``live`` to blend in from a
        kept layer. Between two frames with the same ``key`` the live list may change only
        by artists made since the background was drawn; a part that stops being live, or
        starts being, needs a new ``key``.
        """
        from matplotlib.axes import Axes
        live, panels = list(live), dict(panels or {})
        sprites = [a for a in live if any(a is b for b in sprites)]
        if self._background is None or key != self._key:
            self._draw_background(live, panels)
            self._key = key
            self._make_sprites(sprites)
        else:
            for a in live:
                if not isinstance(a, Axes) and not a.get_animated():
                    a.set_animated(True)  # made since the background was drawn
            changed = [a for a, k in panels.items() if self._panel_keys.get(id(a)) != k]
            if changed and not self._redraw_panels(changed, panels, live):
                self._draw_background(live, panels)
                self._make_sprites(sprites)
            else:
                if changed:
                    self._panel_keys.update({id(a): panels[a] for a in changed})
                else:
                    self._buffer()[...] = self._background
                self._make_sprites(sprites, keep=True)
        self._live = live
        renderer = self.canvas.get_renderer()
        buf = self._buffer()
        for a in live:
            sprite = self._sprites.get(id(a))
            if sprite is None:
                a.draw(renderer)
            else:
                rows, cols, add, through = sprite
                dst = buf[rows, cols, :3]
                dst[...] = (add + dst * through).astype(np.uint8)
        return png_bytes(self.canvas)

    def full_png(self) -> bytes:
        """The same figure drawn in one go with nothing cached (to check :meth:`png` against)."""
        animated = [a for a in self.fig.findobj() if a.get_animated()]
        for a in animated:
            a.set_animated(False)
        try:
            self.canvas.draw()
            return png_bytes(self.canvas)
        finally:
            for a in animated:
                a.set_animated(True)
            self._background = None  # the buffer no longer holds the background


def _is_image(artist) -> bool:
    from matplotlib.image import AxesImage
    return isinstance(artist, AxesImage)


#: strings a :class:`TextStamp` keeps the pixels of
STAMP_CACHE = 32


class TextStamp:
    """A text of a :class:`Frame`'s picture rendered once per string and colour, then pasted.

    Text costs about 0.1 ms a glyph to render (matplotlib 3.11), and most texts of a frame did
    not change since the last one. The first time the text shows a string, it is drawn as
    usual (with its bbox patch, if it has one), and the pixels of its place are kept as they
    were before and after. A later frame with the same string and colour and the same pixels
    under it (a title on the plain figure, a label over a map cell whose colour did not change)
    pastes the kept pixels: exactly what drawing it gives. Anything else draws it again. Use it
    for texts anchored at a fixed point (a string then always lands in the same place). The
    text stays in the figure (a full draw draws it as usual); put the stamp, not the text, in
    the Frame's live list: it marks the text animated with itself. ``draws`` counts the
    renderings (for tests and tuning).
    """

    def __init__(self, text):
        self.text = text
        self._cache = {}   # (string, colour) -> (rows, cols, pixels before, pixels after), newest last
        self._animated = False
        self.draws = 0

    def get_animated(self):
        return self._animated

    def set_animated(self, b):
        self._animated = bool(b)
        self.text.set_animated(b)

    def get_zorder(self):
        return self.text.get_zorder()

    def draw(self, renderer):
        import math
        from matplotlib.transforms import Bbox
        t = self.text
        string = t.get_text()
        if not t.get_visible() or not string.strip():
            return
        key = (string, str(t.get_color()))
        buf = np.asarray(renderer.buffer_rgba())
        hit = self._cache.pop(key, None)
        if hit is not None and np.array_equal(buf[hit[0], hit[1]], hit[2]):
            buf[hit[0], hit[1]] = hit[3]
        else:
            box, pad = t.get_window_extent(renderer), 1.0   # the glyphs, and a pixel more
            patch = t.get_bbox_patch()
            if patch is not None:   # its box, and the half of its edge line that lies outside
                t.update_bbox_position_size(renderer)
                box = Bbox.union([box, patch.get_window_extent(renderer)])
                pad += math.ceil(renderer.points_to_pixels(patch.get_linewidth()))
            box = box.padded(pad)   # (a title sits 3-4 px over its axes)
            height, width = buf.shape[:2]
            rows = slice(max(0, height - math.ceil(box.y1)), min(height, height - math.floor(box.y0)))
            cols = slice(max(0, math.floor(box.x0)), min(width, math.ceil(box.x1)))
            before = buf[rows, cols].copy()
            t.draw(renderer)
            self.draws += 1
            hit = (rows, cols, before, buf[rows, cols].copy())
        self._cache[key] = hit
        while len(self._cache) > STAMP_CACHE:
            self._cache.pop(next(iter(self._cache)))


def text_width(text: str, size: float) -> float:
    """Width in points of ``text`` (one line, no mathtext) in the default font at ``size``
    points, at any dpi: where to split a text into a fixed part and a live number."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath
    return TextToPath().get_text_width_height_descent(text, FontProperties(size=size), ismath=False)[0]


def split_title(ax, y: float, words: str, typical: str, size: float):
    """A title over ``ax`` as two texts: ``words`` (fixed: drawn with the background) and a
    live number left-aligned after them, placed so that ``words + typical`` is centred at
    ``y`` (axes fraction). Each glyph drawn costs about 0.1 ms a frame: only the number is
    drawn each frame. Returns ``(fixed, live)`` Text objects; put the live one in ``live``."""
    width = 72 * ax.figure.get_figwidth() * ax.get_position().width
    split = 0.5 + (text_width(words, size) - text_width(typical, size)) / 2 / width
    fixed = ax.text(split, y, words, transform=ax.transAxes, ha="right", va="baseline", fontsize=size)
    live = ax.text(split, y, "", transform=ax.transAxes, ha="left", va="baseline", fontsize=size)
    return fixed, live


def in_draw_order(ax, artists) -> list:
    """``artists`` (children of ``ax``) sorted as ``ax.draw`` draws them: by zorder, then in
    the order they were added. Live parts drawn in this order look as in a full draw."""
    index = {id(a): i for i, a in enumerate(ax.get_children())}
    return sorted(artists, key=lambda a: (a.get_zorder(), index.get(id(a), len(index))))


def is_png(data: bytes) -> bool:
    """True if ``data`` (bytes, or the memoryview ipywidgets 8 returns) is a decodable PNG."""
    if isinstance(data, memoryview):
        data = data.tobytes()
    if not isinstance(data, (bytes, bytearray)) or not data.startswith(PNG_MAGIC):
        return False
    from PIL import Image
    try:
        Image.open(io.BytesIO(data)).verify()
        return True
    except Exception:
        return False


class Explorer:
    """Base class: holds the ``widgets.Image``, the control box and the display logic.

    Subclasses set ``self.controls`` (a list of widgets shown above or beside the image)
    in ``_build_controls`` and implement ``render() -> Figure``.
    """

    dpi = 80
    layout = "vertical"  # or "horizontal": controls left, picture right

    def __init__(self):
        import ipywidgets as W
        self._W = W
        # flex-start: show the PNG at its own size instead of stretched to the output width
        self.image = W.Image(format="png", layout=W.Layout(align_self="flex-start"))
        self.status = W.HTML(value="")
        self.controls = []
        self._build_controls()
        self.refresh()
        box = W.VBox if self.layout == "vertical" else W.HBox
        if self.layout == "vertical":
            self.ui = W.VBox([W.VBox(self.controls), self.image, self.status])
        else:
            self.ui = box([W.VBox(self.controls + [self.status]), self.image])

    # -- to implement ---------------------------------------------------------------
    def _build_controls(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def render(self):  # pragma: no cover - abstract
        """Return a matplotlib Figure showing the current state."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------
    def refresh(self) -> bytes:
        """Render the current state into the image (and close the figure)."""
        self.png = self.render_png()
        self.image.value = self.png
        return self.png

    def frame_png(self, make_picture, *state) -> bytes:
        """PNG of a kept picture: ``make_picture(fig)`` once, then ``picture.update(*state)``
        (which returns the key of its static parts) and :meth:`Frame.png` every frame.

        A picture has ``fig``, ``update(*state) -> key``, ``live`` and optionally ``panels``
        and ``sprites`` (see :class:`Frame`).
        """
        if getattr(self, "picture", None) is None:
            from matplotlib.figure import Figure
            fig = Figure()
            self.frame = Frame(fig, self.dpi)  # the canvas first: a picture may measure text
            self.picture = make_picture(fig)
        key = self.picture.update(*state)
        return self.frame.png(self.picture.live, key, getattr(self.picture, "panels", None),
                              getattr(self.picture, "sprites", ()))

    def play_tick(self) -> bool:
        """One tick of the widget's ``play`` control: :meth:`play_step`, unless the tick waited
        while the previous frame was drawn (it arrives within ``queued_tick_s`` of that frame's
        end, or half the Play interval); such ticks are dropped and counted in
        ``skipped_ticks``, so a frame slower than the interval does not make Play fall further
        and further behind. Returns whether it stepped."""
        now = time.monotonic()
        waited = min(getattr(self, "queued_tick_s", QUEUED_TICK_S), 0.5 * self.play.interval / 1000.0)
        if now - getattr(self, "_last_tick_end", 0.0) < waited:
            self.skipped_ticks = getattr(self, "skipped_ticks", 0) + 1
            return False
        self.play_step()
        self._last_tick_end = time.monotonic()
        return True

    def play_step(self):  # pragma: no cover - for widgets with a Play control
        """What one Play tick does (a training chunk and a new picture)."""
        raise NotImplementedError

    def render_png(self) -> bytes:
        """PNG bytes of the current state: :meth:`render`'s figure, drawn and closed.

        Widgets that must draw faster override this with a kept :class:`Frame`; ``render()``
        still returns a full Figure of the same picture (for notebooks and tests).
        """
        return fig_to_png(self.render(), dpi=self.dpi)

    def _ipython_display_(self):
        # The widget for live front ends, plus a PNG of the current state that static
        # renderers (papermill/nbval outputs, HTML export, GitHub) show instead.
        from IPython.display import display
        bundle = {
            "text/plain": f"{type(self).__name__} (run the notebook to interact)",
            "image/png": base64.b64encode(self.png).decode("ascii"),
            "application/vnd.jupyter.widget-view+json": {
                "version_major": 2, "version_minor": 0, "model_id": self.ui.model_id},
        }
        display(bundle, raw=True)
