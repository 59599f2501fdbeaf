"""NumPy reference implementations of what the notebooks build from scratch.

One submodule per topic; everything public is re-exported here, so a notebook can use
``cu.scratch.sigmoid`` once it has built its own. These are the references that exercise
checks compare against and that later cells use, so an unsolved exercise never breaks
the rest of a notebook.
"""
from ._validate import as_float_array  # noqa: F401
from .activations import *  # noqa: F401,F403
from .backprop import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from .descent import *  # noqa: F401,F403
from .neurons import *  # noqa: F401,F403
from .generalization import *  # noqa: F401,F403
from .regularization import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pipelines import *  # noqa: F401,F403
from .convolution import *  # noqa: F401,F403
from .cnn import *  # noqa: F401,F403
from .transfer import *  # noqa: F401,F403
from .detection import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .gated import *  # noqa: F401,F403
from .embeddings import *  # noqa: F401,F403
from .text_models import *  # noqa: F401,F403
from .timeseries import *  # noqa: F401,F403
