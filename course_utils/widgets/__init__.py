"""Interactive explorers, one module per widget (CONVENTIONS.md, "Widgets").

Each widget has three layers: pure functions (NumPy/Keras, no ipywidgets) → a
``render(state) -> Figure`` function → a thin widget class whose callbacks each call
one method. Figures go to PNG in a fixed ``widgets.Image`` and are closed, and a
widget displayed headless (papermill, nbval, HTML export) still leaves a static PNG.
Modules are imported on first use: ``cu.widgets.base``.
"""
from importlib import import_module


def __getattr__(name):
    try:
        return import_module(f".{name}", __name__)
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{name}":
            raise AttributeError(f"course_utils.widgets has no widget module {name!r}") from None
        raise
