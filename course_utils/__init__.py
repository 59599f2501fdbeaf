"""course_utils: the helper package of Hands-On Deep Learning.

``import course_utils as cu`` is cheap: it does not import TensorFlow. Modules that need
Keras (``models``, parts of ``widgets``) import it inside the functions that use it.

Modules, by what a learner reaches for:

- ``cu.env``     setup(seed), fast_mode(), device and Colab detection, record_headline
- ``cu.data``    load(name) for every dataset of the course, toy 2-D generators
- ``cu.models``  Keras model builders (mlp, ...)
- ``cu.plots``   static figures: training history, decision boundary, image grid, confusion matrix
- ``cu.scratch`` NumPy reference implementations built in the notebooks
- ``cu.checks``  the checks exercise test cells use
- ``cu.widgets`` interactive explorers (imported on first use)
"""
from importlib import import_module

from . import checks, data, env, plots, scratch
from .env import fast_mode, in_colab, record_headline, setup

__version__ = "0.1.0"
__all__ = ["checks", "data", "env", "models", "plots", "scratch", "widgets",
           "setup", "fast_mode", "in_colab", "record_headline"]


def __getattr__(name):
    # models needs Keras and widgets needs ipywidgets: load them on first use only.
    if name in ("models", "widgets"):
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'course_utils' has no attribute {name!r}")
