"""The Explorer base class every widget builds on."""
import base64

import matplotlib.pyplot as plt
import pytest

from course_utils.widgets import base


class Dot(base.Explorer):
    """A minimal explorer: a slider moves a dot."""

    def _build_controls(self):
        W = self._W
        self.x = W.FloatSlider(value=0.0, min=-1, max=1, description="x")
        self.x.observe(lambda change: self.refresh(), names="value")
        self.controls = [self.x]

    def render(self):
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([self.x.value], [0], "o")
        ax.set_xlim(-1, 1)
        return fig


def test_refresh_writes_png_into_the_same_image_and_closes_figures():
    w = Dot()
    image = w.image
    first = w.image.value
    assert base.is_png(first)
    n_open = len(plt.get_fignums())
    for k in range(50):
        w.x.value = -1 + k / 25
    assert w.image is image and w.image.value != first
    assert len(plt.get_fignums()) == n_open


def test_headless_display_carries_a_static_png(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append((obj, raw)))
    w = Dot()
    w._ipython_display_()
    bundle, raw = shown[0]
    assert raw is True
    assert base.is_png(base64.b64decode(bundle["image/png"]))
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == w.ui.model_id


def test_is_png_rejects_garbage():
    assert not base.is_png(b"\x89PNG\r\n\x1a\nnot really")
    assert not base.is_png("text")


def test_fig_to_png_closes_even_on_error():
    fig, ax = plt.subplots()
    n = len(plt.get_fignums())
    png = base.fig_to_png(fig)
    assert base.is_png(png) and len(plt.get_fignums()) == n - 1


def test_unknown_widget_module_is_a_clear_error():
    import course_utils as cu
    with pytest.raises(AttributeError, match="no widget module 'nope'"):
        cu.widgets.nope


# --------------------------------------------------------------------------- fast drawing (issue 10)

def _pixels(png):
    import io

    import numpy as np
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _new_frame(dpi=50):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(4, 2))
    return fig, base.Frame(fig, dpi)


def test_png_bytes_is_the_canvas_and_fig_to_png_matches_savefig():
    import io

    import numpy as np
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 3], [1, 0, 2], "o-")
    ax.set_title("title")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    png = base.fig_to_png(fig, dpi=60)
    assert base.is_png(png)
    np.testing.assert_array_equal(_pixels(png), _pixels(buf.getvalue()))
    fig2, frame = _new_frame()
    fig2.add_subplot().plot([0, 1], [0, 1])
    frame.canvas.draw()
    np.testing.assert_array_equal(_pixels(base.png_bytes(frame.canvas)),
                                  np.asarray(frame.canvas.buffer_rgba())[..., :3])


def test_frame_draws_live_parts_over_a_kept_background_like_a_full_draw():
    import numpy as np
    fig, frame = _new_frame()
    ax = fig.add_subplot()
    ax.set_xlim(0, 10)
    ax.set_ylim(-1.2, 1.2)
    ax.set_title("static")
    (line,) = ax.plot([], [], lw=2)
    note = ax.text(1, 1, "")
    assert plt.get_fignums() == [] or fig.number not in plt.get_fignums()  # not a pyplot figure
    # the spines lie over the line where it touches them: live too, in drawing order
    live = base.in_draw_order(ax, [note, line, *ax.spines.values()])
    pngs = []
    for k in range(5):
        x = np.linspace(0, 10, 50)
        line.set_data(x, np.sin(x + k))
        note.set_text(f"frame {k}")
        pngs.append(frame.png(live=live, key="layout"))
        np.testing.assert_array_equal(_pixels(pngs[-1]), _pixels(frame.full_png()))
    assert frame.full_draws == 5  # full_png drops the background each time
    for k in range(3):
        line.set_data([0, 10], [0, k / 3])
        frame.png(live=live, key="layout")
    assert frame.full_draws == 6  # the background is kept while the key stays
    assert len(set(pngs)) == 5
    ax.set_xlim(0, 20)  # a static part changed: a new key redraws the background
    frame.png(live=live, key="new layout")
    assert frame.full_draws == 7


def test_a_live_image_is_not_in_the_background_on_any_matplotlib():
    """matplotlib before 3.11 draws an animated AxesImage anyway: a Frame hides its live images
    while it draws the background (and a panel), or an old map shows through the NaN cells."""
    import numpy as np
    fig, frame = _new_frame()
    ax = fig.add_subplot()
    ax.set_title("panel")
    img = ax.imshow(np.ones((4, 6)), vmin=0, vmax=1, cmap="viridis")
    live = [img, *ax.spines.values()]   # the frame lies over the image's edges

    def show(columns):
        shown = np.full((4, 6), np.nan)
        shown[:, :columns] = 0.5
        img.set_data(shown)
    show(6)
    frame.png(live=live, key="layout", panels={ax: 1})   # the background: drawn with all 6 columns
    for columns, panel_key in ((3, 1), (1, 2)):          # a kept background, then a redrawn panel
        show(columns)
        png = frame.png(live=live, key="layout", panels={ax: panel_key})
        # equal but for a few edge pixels of the image (a stale map differs in a third of the panel)
        assert np.mean(_pixels(png) != _pixels(frame.full_png())) < 0.001
        show(6)
        frame.png(live=live, key="layout", panels={ax: panel_key})   # full_png dropped the background


def test_frame_live_axes_panels_and_sprites():
    import numpy as np
    fig, frame = _new_frame(dpi=60)
    left, right = fig.subplots(1, 2)
    fig.subplots_adjust(wspace=0.5)
    (moving,) = left.plot([], [], "r-")
    left.set_xlim(0, 1)
    left.set_ylim(0, 1)
    legend = left.legend(handles=[left.plot([], [], "k-", label="a legend")[0]], loc="center")
    (curve,) = right.plot([0, 1], [0, 1])
    live = base.in_draw_order(left, [moving, *left.spines.values(), legend])
    for k in range(4):
        moving.set_data([0, 1], [k / 4, 1 - k / 4])  # passes under the legend
        right.set_ylim(0, 1 + k // 2)                # the panel changes every other frame
        png = frame.png(live=live, key="fig", panels={right: right.get_ylim()}, sprites=[legend])
        diff = np.abs(_pixels(png) - _pixels(frame.full_png()))
        assert diff.max() <= 2, diff.max()
    assert frame.full_draws == 4 and frame.panel_draws == 0  # full_png drops the background
    for k in range(4):
        right.set_ylim(0, 1 + k // 2)
        png = frame.png(live=live, key="fig", panels={right: right.get_ylim()}, sprites=[legend])
    assert frame.full_draws == 5 and frame.panel_draws == 1  # only the right panel was redrawn
    assert np.abs(_pixels(png) - _pixels(frame.full_png())).max() <= 2
    pngs = {}
    for k in (0, 2, 0, 2):  # a panel key that comes back: its pixels are pasted, not drawn
        right.set_ylim(0, 1 + k)
        png = frame.png(live=live, key="fig", panels={right: right.get_ylim()}, sprites=[legend])
        assert pngs.setdefault(k, png) == png
    assert len(frame._panel_cache) == 2
    assert np.abs(_pixels(png) - _pixels(frame.full_png())).max() <= 2
    frame.png(live=[left], key="fig")  # a whole Axes can be live too
    assert np.abs(_pixels(frame.png(live=[left], key="fig")) - _pixels(frame.full_png())).max() == 0


def test_in_draw_order_sorts_by_zorder_then_insertion():
    fig, ax = plt.subplots()
    top = ax.plot([0, 1], [0, 1], zorder=5)[0]
    a = ax.plot([0, 1], [1, 0])[0]
    b = ax.plot([0, 1], [1, 1])[0]
    image = ax.imshow([[0, 1]])
    assert base.in_draw_order(ax, [top, b, a, image]) == [image, a, b, top]
    plt.close(fig)


def test_text_stamp_pastes_an_unchanged_text_pixel_for_pixel():
    from matplotlib.figure import Figure

    from course_utils.widgets.base import Frame, TextStamp
    fig = Figure(figsize=(3, 1.5))
    ax = fig.add_subplot()
    title = ax.set_title("epoch 1", bbox=dict(fc="w", ec="k"))
    stamp = TextStamp(title)
    frame = Frame(fig)
    pngs = [frame.png([stamp], key="k") for s in ("epoch 1", "epoch 1", "epoch 2", "epoch 1")
            if title.set_text(s) is None]
    assert stamp.draws == 2                      # "epoch 1" once, "epoch 2" once; the rest pasted
    assert pngs[0] == pngs[1] == pngs[3] != pngs[2]
    title.set_text("epoch 2")
    assert frame.png([stamp], key="k") == frame.full_png()   # pasted = drawn
