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
