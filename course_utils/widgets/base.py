"""What every widget shares: figure → PNG, the image view, and headless display.

A widget subclasses :class:`Explorer`, builds its controls in ``_build_controls`` and
implements ``render()`` (its state → a matplotlib Figure). Callbacks change the state
and call :meth:`Explorer.refresh`, which renders once, writes the PNG into the same
``widgets.Image`` and closes the figure, so nothing flickers and figures never pile up.
Uses only the ipywidgets API that 7.7 and 8 share.
"""
from __future__ import annotations

import base64
import io

__all__ = ["fig_to_png", "Explorer", "is_png"]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def fig_to_png(fig, dpi: int = 80) -> bytes:
    """Render a Figure to PNG bytes and close it (so open figures do not grow)."""
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return buf.getvalue()


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
        self.png = fig_to_png(self.render(), dpi=self.dpi)
        self.image.value = self.png
        return self.png

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
