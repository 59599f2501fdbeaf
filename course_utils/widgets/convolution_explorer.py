"""Convolution explorer (notebook 11): a 3x3 kernel slid over a real photo, in the spirit of CNN Explainer.

Layer 1 (pure NumPy): :func:`load_photo` (a downscaled grayscale photo), :func:`explain` (the
padded input, the output feature map, the window at one output position with its products
and sum, the pooled map, the output-size formula). Layer 2: :class:`ConvPicture` /
:func:`render` (state → figure). Layer 3: :class:`ConvolutionExplorer`, a thin widget: kernel
presets and a 3x3 kernel editor, stride, padding, pooling, a **position** slider for the
window and a **Step** button that moves it on by one output position.

Everything is NumPy on a photo of about 43x64 pixels, so a control change redraws in well
under 100 ms; the figure is kept in a :class:`~course_utils.widgets.base.Frame` and only the
images, the window and the texts are redrawn.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from ..scratch import convolution as C
from .base import Explorer

__all__ = ["PHOTOS", "POOLINGS", "load_photo", "ConvState", "Explanation", "explain", "ConvPicture",
           "render", "ConvolutionExplorer"]

PHOTOS = ("china", "flower")
POOLINGS = ("none", "max 2x2", "avg 2x2", "min 2x2")
FIGSIZE = (11.0, 6.6)


@functools.lru_cache(maxsize=8)
def load_photo(name: str = "china", factor: int = 10) -> np.ndarray:
    """One of sklearn's two sample photos as grayscale in [0, 1], shrunk ``factor`` times by
    averaging ``factor x factor`` blocks: ``(427 // factor, 640 // factor)`` float64, read-only."""
    if name not in PHOTOS:
        raise ValueError(f"photo must be one of {PHOTOS}, got {name!r}")
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or not 1 <= factor <= 40:
        raise ValueError(f"factor must be an int from 1 to 40, got {factor!r}")
    from .. import data
    ds = data.load("sample_images", verbose=False)
    gray = C.rgb_to_gray(ds.X[PHOTOS.index(name)])[..., 0] / 255.0
    h, w = (s // factor * factor for s in gray.shape)
    small = gray[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))
    small.flags.writeable = False
    return small


@dataclass
class ConvState:
    """What the explorer shows."""
    photo: str = "china"
    kernel: np.ndarray = field(default_factory=lambda: C.kernel_preset("sobel x (vertical edges)"))
    preset: str = "sobel x (vertical edges)"
    stride: int = 1
    padding: str = "valid"
    pooling: str = "none"
    position: int = 0          # output position of the window, row by row


@dataclass
class Explanation:
    """Everything the picture needs, computed from a state (layer 1)."""
    image: np.ndarray          # (h, w) the photo
    padded: np.ndarray         # (h + pt + pb, w + pl + pr) with the zeros of "same"
    pad: tuple                 # (top, bottom, left, right)
    output: np.ndarray         # (oh, ow) the feature map
    pooled: np.ndarray | None  # (ph, pw) or None
    row: int                   # the window's output row and column
    col: int
    window: np.ndarray         # (3, 3) the input values under the window
    products: np.ndarray       # (3, 3) window * kernel
    value: float               # their sum = output[row, col]
    formula: str               # the output-size formula with the numbers


def _formula_line(axis: str, n: int, k: int, s: int, padding: str, pad_total: int, out: int) -> str:
    if padding == "same":
        return f"{axis}: ceil({n}/{s}) = {out}  ({pad_total} zero{'s' if pad_total != 1 else ''} added)"
    return f"{axis}: floor(({n} − {k})/{s}) + 1 = {out}"


def explain(state: ConvState) -> Explanation:
    """Convolve the photo with the state's kernel (cross-correlation, as Conv2D) and take the
    window at ``state.position`` (clipped to the output)."""
    kernel = np.asarray(state.kernel, dtype=np.float64)
    if kernel.shape != (3, 3) or not np.all(np.isfinite(kernel)):
        raise ValueError(f"kernel must be a finite (3, 3) array, got shape {kernel.shape}")
    if state.pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {state.pooling!r}")
    img = load_photo(state.photo)
    s, padding = int(state.stride), state.padding
    out = C.conv2d_fast(img[..., None], kernel, stride=s, padding=padding)[..., 0]
    padded = C.pad_images(img[..., None], 3, s, padding)[0, ..., 0]
    if padding == "same":
        top, bottom = C.same_padding(img.shape[0], 3, s)
        left, right = C.same_padding(img.shape[1], 3, s)
    else:
        top = bottom = left = right = 0
    oh, ow = out.shape
    pos = int(np.clip(state.position, 0, oh * ow - 1))
    r, c = divmod(pos, ow)
    window = padded[r * s: r * s + 3, c * s: c * s + 3]
    products = window * kernel
    pooled = None
    if state.pooling != "none":
        mode = state.pooling.split()[0]
        pooled = C.pool2d(out[..., None], 2, 2, "valid", mode)[..., 0] if min(oh, ow) >= 2 else None
    formula = "\n".join([
        _formula_line("H", img.shape[0], 3, s, padding, top + bottom, oh),
        _formula_line("W", img.shape[1], 3, s, padding, left + right, ow)])
    if pooled is not None:
        formula += (f"\npool 2x2, stride 2 ('valid'):\n"
                    f"  floor(({oh} − 2)/2) + 1 = {pooled.shape[0]}\n  floor(({ow} − 2)/2) + 1 = {pooled.shape[1]}")
    return Explanation(img, padded, (top, bottom, left, right), out, pooled, r, c, window, products,
                       float(products.sum()), formula)


class ConvPicture:
    """The explorer's figure, built once and updated in place (layer 2).

    ``update(state)`` returns the key of the static parts (here: nothing changes but the
    live artists, so the key is constant); :attr:`live` lists the images, the window marks and
    every text.
    """

    def __init__(self, fig):
        from matplotlib.patches import Rectangle
        self.fig = fig
        fig.set_size_inches(*FIGSIZE)
        gs = fig.add_gridspec(2, 3, width_ratios=[1.5, 1, 1], height_ratios=[1, 1],
                              left=0.02, right=0.98, top=0.92, bottom=0.03, wspace=0.12, hspace=0.28)
        self.ax_in = fig.add_subplot(gs[0, 0])
        self.ax_win = fig.add_subplot(gs[0, 1])
        self.ax_k = fig.add_subplot(gs[0, 2])
        self.ax_out = fig.add_subplot(gs[1, 0])
        self.ax_pool = fig.add_subplot(gs[1, 1])
        self.ax_txt = fig.add_subplot(gs[1, 2])
        for ax in (self.ax_in, self.ax_win, self.ax_k, self.ax_out, self.ax_pool, self.ax_txt):
            ax.set_axis_off()
        kw = dict(interpolation="nearest", cmap="gray")
        self.im_in = self.ax_in.imshow(np.zeros((2, 2)), vmin=0, vmax=1, **kw)
        self.frame_in = self.ax_in.add_patch(Rectangle((0, 0), 1, 1, fill=False, ec="#1f77b4", lw=1, ls="--"))
        self.box_in = self.ax_in.add_patch(Rectangle((0, 0), 3, 3, fill=False, ec="red", lw=2))
        self.im_out = self.ax_out.imshow(np.zeros((2, 2)), **kw)
        self.box_out = self.ax_out.add_patch(Rectangle((0, 0), 1, 1, fill=False, ec="red", lw=2))
        self.im_pool = self.ax_pool.imshow(np.zeros((2, 2)), **kw)
        self.no_pool = self.ax_pool.text(0.5, 0.5, "pooling: none\n(choose max, avg or min)", ha="center",
                                         va="center", transform=self.ax_pool.transAxes, fontsize=10)
        self.im_win = self.ax_win.imshow(np.zeros((3, 3)), vmin=0, vmax=1, **kw)
        self.im_k = self.ax_k.imshow(np.zeros((3, 3)), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        self.win_txt, self.k_txt = [], []
        for a in range(3):
            for b in range(3):
                self.win_txt.append(self.ax_win.text(b, a, "", ha="center", va="center", fontsize=9,
                                                     bbox=dict(fc="white", alpha=0.75, lw=0, pad=1)))
                self.k_txt.append(self.ax_k.text(b, a, "", ha="center", va="center", fontsize=11))
        self.ax_win.set_xlim(-0.5, 2.5)
        self.ax_win.set_ylim(2.5, -0.5)
        self.ax_k.set_xlim(-0.5, 2.5)
        self.ax_k.set_ylim(2.5, -0.5)
        self.titles = [ax.set_title(" ", fontsize=10) for ax in
                       (self.ax_in, self.ax_win, self.ax_k, self.ax_out, self.ax_pool)]
        self.formula = self.ax_txt.text(0.0, 1.0, "", transform=self.ax_txt.transAxes, ha="left", va="top",
                                        fontsize=9.5, family="monospace", linespacing=1.5)
        self.position_text = self.ax_txt.text(0.0, 0.12, "", transform=self.ax_txt.transAxes, ha="left",
                                              va="top", fontsize=9.5, family="monospace")
        self.suptitle = fig.suptitle(" ", fontsize=11)
        # redrawn every frame: what moves with the window (the rest changes with the key)
        self.live = [self.box_in, self.box_out, self.im_win, *self.win_txt, self.titles[0], self.titles[1],
                     self.titles[3], self.position_text]
        self.panels = None
        self.sprites = ()

    @staticmethod
    def _show(ax, im, data, vmin=None, vmax=None):
        h, w = data.shape
        im.set_data(data)
        im.set_extent((-0.5, w - 0.5, h - 0.5, -0.5))
        if vmin is not None:
            im.set_clim(vmin, vmax)
        ax.set_xlim(-0.5, w - 0.5)
        ax.set_ylim(h - 0.5, -0.5)

    def update(self, state: ConvState):
        e = explain(state)
        s = int(state.stride)
        top, _, left, _ = e.pad
        self._show(self.ax_in, self.im_in, e.padded)
        self.frame_in.set_bounds(left - 0.5, top - 0.5, e.image.shape[1], e.image.shape[0])
        self.frame_in.set_visible(state.padding == "same")
        self.box_in.set_bounds(e.col * s - 0.5, e.row * s - 0.5, 3, 3)
        lo, hi = np.percentile(e.output, [1, 99])
        lo, hi = (lo, hi) if hi > lo else (lo - 1, lo + 1)
        self._show(self.ax_out, self.im_out, e.output, lo, hi)
        self.box_out.set_bounds(e.col - 0.5, e.row - 0.5, 1, 1)
        self.im_pool.set_visible(e.pooled is not None)
        self.no_pool.set_visible(e.pooled is None)
        if e.pooled is not None:
            self._show(self.ax_pool, self.im_pool, e.pooled, lo, hi)
            self.no_pool.set_text("")
        else:
            self.no_pool.set_text("pooling: none\n(choose max, avg or min)" if state.pooling == "none"
                                  else "output too small to pool")
        self.im_win.set_data(e.window)
        kmax = max(float(np.abs(state.kernel).max()), 1e-9)
        self.im_k.set_data(np.asarray(state.kernel, dtype=float))
        self.im_k.set_clim(-kmax, kmax)
        kernel = np.asarray(state.kernel, dtype=float)
        for idx in range(9):
            a, b = divmod(idx, 3)
            self.win_txt[idx].set_text(f"{e.window[a, b]:.2f}\n×{kernel[a, b]:.3g}")
            self.k_txt[idx].set_text(f"{kernel[a, b]:.3g}")
            self.k_txt[idx].set_color("white" if abs(kernel[a, b]) > 0.6 * kmax else "black")
        h, w = e.image.shape
        ph, pw = e.padded.shape
        self.titles[0].set_text(f"input {h}x{w}" + (f", padded to {ph}x{pw}" if (ph, pw) != (h, w) else "")
                                + f"; window at ({e.row * s}, {e.col * s})")
        self.titles[1].set_text(f"window × kernel, summed = {e.value:.3f}")
        self.titles[2].set_text(f"kernel ({state.preset})")
        oh, ow = e.output.shape
        self.titles[3].set_text(f"feature map {oh}x{ow}; output[{e.row}, {e.col}] = {e.output[e.row, e.col]:.3f}")
        self.titles[4].set_text(f"after {state.pooling} pooling" + (
            f": {e.pooled.shape[0]}x{e.pooled.shape[1]}" if e.pooled is not None else ""))
        self.formula.set_text("output size, per axis:\n valid: floor((n − k)/s) + 1\n same:  ceil(n/s)\n"
                              f"here k = 3, s = {s}, '{state.padding}':\n{e.formula}")
        self.position_text.set_text(f"window: position {e.row * ow + e.col + 1} of {oh * ow}\n"
                                    f"(row {e.row}, column {e.col})")
        self.suptitle.set_text(f"Conv2D by hand on the '{state.photo}' photo (grayscale, cross-correlation "
                               "as in Keras)")
        # the key: the photo; each panel is redrawn alone when what it shows changes (not the window)
        kernel_key = (np.asarray(state.kernel, dtype=float).tobytes(), state.preset)
        geometry = (state.photo, s, state.padding)
        self.panels = {self.ax_k: kernel_key, self.ax_in: geometry, self.ax_out: geometry + kernel_key,
                       self.ax_pool: geometry + kernel_key + (state.pooling,),
                       self.ax_txt: geometry + (state.pooling,)}
        return state.photo


def render(state: ConvState):
    """The explorer's picture of ``state`` as a new pyplot Figure."""
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=FIGSIZE)
    ConvPicture(fig).update(state)
    return fig


class ConvolutionExplorer(Explorer):
    """A kernel editor with presets, stride, padding and pooling on a real photo.

    Parameters
    ----------
    photo : "china" or "flower"
    preset : a key of ``cu.scratch.KERNEL_PRESETS``
    """

    layout = "vertical"

    def __init__(self, photo: str = "china", preset: str = "sobel x (vertical edges)"):
        if photo not in PHOTOS:
            raise ValueError(f"photo must be one of {PHOTOS}, got {photo!r}")
        self.state = ConvState(photo=photo, kernel=C.kernel_preset(preset), preset=preset)
        self._syncing = False
        super().__init__()
        self.ui.add_class("convolution-explorer")
        self.image.add_class("convolution-explorer-image")
        self._update_status()

    # -- controls --------------------------------------------------------------------
    def _build_controls(self):
        W = self._W
        st = self.state
        self.w_photo = W.Dropdown(options=list(PHOTOS), value=st.photo, description="photo")
        self.w_preset = W.Dropdown(options=list(C.KERNEL_PRESETS), value=st.preset, description="kernel")
        self.w_stride = W.IntSlider(value=st.stride, min=1, max=3, description="stride", continuous_update=False)
        self.w_padding = W.ToggleButtons(options=["valid", "same"], value=st.padding, description="padding")
        self.w_pooling = W.Dropdown(options=list(POOLINGS), value=st.pooling, description="pooling")
        self.w_position = W.IntSlider(value=0, min=0, max=self._n_out() - 1, description="position",
                                      continuous_update=False)
        self.step_button = W.Button(description="Step", button_style="primary",
                                    tooltip="move the window to the next output position")
        self.w_cells = [W.FloatText(value=float(st.kernel[a, b]), layout=W.Layout(width="70px"))
                        for a in range(3) for b in range(3)]
        self.w_photo.observe(self._on_photo, names="value")
        self.w_preset.observe(self._on_preset, names="value")
        self.w_stride.observe(self._on_geometry, names="value")
        self.w_padding.observe(self._on_geometry, names="value")
        self.w_pooling.observe(self._on_pooling, names="value")
        self.w_position.observe(self._on_position, names="value")
        self.step_button.on_click(self._on_step)
        for cell in self.w_cells:
            cell.observe(self._on_cell, names="value")
        grid = W.VBox([W.HTML("<b>kernel editor</b> (row 0 = top)")]
                      + [W.HBox(self.w_cells[3 * a: 3 * a + 3]) for a in range(3)])
        self.controls = [
            W.HBox([self.w_photo, self.w_preset, self.w_pooling]),
            W.HBox([self.w_stride, self.w_padding]),
            W.HBox([grid, W.VBox([self.w_position, self.step_button])]),
        ]

    def render(self):
        return render(self.state)

    def render_png(self):
        return self.frame_png(ConvPicture, self.state)

    # -- callbacks: one method each ----------------------------------------------------
    def _on_photo(self, change):
        self.set_photo(change["new"])

    def _on_preset(self, change):
        if not self._syncing:
            self.set_preset(change["new"])

    def _on_geometry(self, change):
        self.set_geometry(self.w_stride.value, self.w_padding.value)

    def _on_pooling(self, change):
        self.set_pooling(change["new"])

    def _on_position(self, change):
        if not self._syncing:
            self.set_position(change["new"])

    def _on_step(self, _button):
        self.step()

    def _on_cell(self, change):
        if not self._syncing:
            self.set_kernel(np.array([c.value for c in self.w_cells], dtype=float).reshape(3, 3))

    # -- actions -------------------------------------------------------------------------
    def set_photo(self, name: str):
        if name not in PHOTOS:
            raise ValueError(f"photo must be one of {PHOTOS}, got {name!r}")
        self.state.photo = name
        self._clip_position()
        self._redraw()

    def set_preset(self, name: str):
        """Load a preset kernel into the editor."""
        self.state.kernel = C.kernel_preset(name)
        self.state.preset = name
        self._sync_controls()
        self._redraw()

    def set_kernel(self, kernel):
        """Use ``kernel`` (3x3 numbers) as typed in the editor."""
        k = np.asarray(kernel, dtype=float)
        if k.shape != (3, 3) or not np.all(np.isfinite(k)):
            raise ValueError(f"kernel must be 3x3 finite numbers, got shape {k.shape}")
        self.state.kernel = k
        match = [n for n in C.KERNEL_PRESETS if np.allclose(C.kernel_preset(n), k)]
        self.state.preset = match[0] if match else "edited"
        self._redraw()

    def set_geometry(self, stride: int, padding: str):
        if padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
        if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or not 1 <= stride <= 3:
            raise ValueError(f"stride must be 1, 2 or 3, got {stride!r}")
        self.state.stride, self.state.padding = int(stride), padding
        self._clip_position()
        self._redraw()

    def set_pooling(self, pooling: str):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.state.pooling = pooling
        self._redraw()

    def set_position(self, position: int):
        self.state.position = int(np.clip(position, 0, self._n_out() - 1))
        self._redraw()

    def step(self):
        """Move the window to the next output position (back to the first after the last)."""
        self.state.position = (self.state.position + 1) % self._n_out()
        self._syncing = True
        try:
            self.w_position.value = self.state.position
        finally:
            self._syncing = False
        self._redraw()

    # -- helpers -------------------------------------------------------------------------
    def _out_shape(self) -> tuple[int, int]:
        h, w = load_photo(self.state.photo).shape
        s, p = self.state.stride, self.state.padding
        return C.conv_output_size(h, 3, s, p), C.conv_output_size(w, 3, s, p)

    def _n_out(self) -> int:
        oh, ow = self._out_shape()
        return oh * ow

    def _clip_position(self):
        n = self._n_out()
        self.state.position = min(self.state.position, n - 1)
        self._syncing = True
        try:
            self.w_position.max = n - 1
            self.w_position.value = self.state.position
        finally:
            self._syncing = False

    def _sync_controls(self):
        self._syncing = True
        try:
            for idx, cell in enumerate(self.w_cells):
                cell.value = float(self.state.kernel.flat[idx])
            if self.state.preset in C.KERNEL_PRESETS:
                self.w_preset.value = self.state.preset
        finally:
            self._syncing = False

    def _redraw(self):
        self.refresh()
        self._update_status()

    def _update_status(self):
        oh, ow = self._out_shape()
        st = self.state
        self.status.value = (f"feature map {oh}x{ow} ({st.padding}, stride {st.stride}); "
                             f"window at output position {st.position + 1} of {oh * ow}")
