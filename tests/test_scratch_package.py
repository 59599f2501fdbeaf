"""What every `cu.scratch` module promises: its public names are `cu.scratch`'s, and the NumPy
references load and run without TensorFlow or Keras (one test for all modules; each module's own
file tests what it computes)."""
import importlib
import pkgutil
import subprocess
import sys

import pytest

import course_utils.scratch as scratch

MODULES = sorted(m.name for m in pkgutil.iter_modules(scratch.__path__) if not m.name.startswith("_"))


def test_every_module_is_imported_by_the_package():
    assert {"activations", "neurons", "generalization", "convolution", "pipelines"} <= set(MODULES)
    for name in MODULES:
        assert f"from .{name} import *" in open(scratch.__file__).read(), f"scratch/__init__.py misses {name}"


@pytest.mark.parametrize("name", MODULES)
def test_public_names_are_reexported_by_cu_scratch(name):
    mod = importlib.import_module(f"course_utils.scratch.{name}")
    assert mod.__all__, f"{name} has no __all__"
    for attr in mod.__all__:
        assert getattr(scratch, attr) is getattr(mod, attr), f"{name}.{attr}"


def test_references_load_and_run_without_tensorflow():
    code = ("import sys\n"
            "import course_utils as cu\n"
            "import course_utils.widgets.neuron_explorer\n"
            "cu.scratch.gelu(1.0)\n"
            "cu.scratch.perceptron_fit(*cu.scratch.gate_data('AND'))\n"
            "cu.scratch.nested_subsets([0, 1, 0, 1], [2, 4])\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
            "print(bad)\n"
            "sys.exit(1 if bad else 0)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"tensorflow/keras imported: {r.stdout} {r.stderr}"
