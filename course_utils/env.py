"""Run environment: seeds, fast mode, device and Colab detection, headline results.

Nothing here imports TensorFlow at module import time; ``setup`` imports it only to
seed it and report the device, and only if it is installed.
"""
from __future__ import annotations

import json
import os
import platform
import random
import re
import sys
import tempfile
import time
from contextlib import contextmanager
from importlib import metadata

import numpy as np

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def fast_mode() -> bool:
    """Return True when the environment variable ``COURSE_FAST`` asks for fast mode.

    ``COURSE_FAST=1`` (also ``true``/``yes``/``on``) means fast mode; unset, empty or
    ``0`` means the full run. Anything else is an error rather than a silent guess.
    """
    raw = os.environ.get("COURSE_FAST", "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(
        f"COURSE_FAST must be 1/true/yes/on or 0/false/no/off (or unset), got {raw!r}. "
        "Hint: `export COURSE_FAST=1` for fast mode."
    )


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules


def offline() -> bool:
    """True when downloads are forbidden (``COURSE_OFFLINE=1``, or running under CI)."""
    return (os.environ.get("COURSE_OFFLINE", "").lower() in _TRUE
            or os.environ.get("CI", "").lower() in _TRUE)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


_BLAS_CONTROLLER: list = []


def one_blas_thread():
    """Context manager: NumPy's BLAS/LAPACK on one thread inside it.

    Products of small or thin arrays (a widget's 256 x 100 layers, thin SVD blocks) gain
    nothing from a second thread on 2 cores, and when the other core is busy (the browser,
    another process) the two threads wait for each other: several times the CPU time and up
    to twice the wall time. Uses threadpoolctl (it comes with scikit-learn; without it,
    nothing changes); its controller is made once.
    """
    from contextlib import nullcontext
    if not _BLAS_CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
            _BLAS_CONTROLLER.append(ThreadpoolController())
        except ImportError:
            _BLAS_CONTROLLER.append(None)
    controller = _BLAS_CONTROLLER[0]
    return controller.limit(limits=1, user_api="blas") if controller else nullcontext()


def seed_everything(seed: int, keras: bool | None = None) -> None:
    """Seed Python's ``random``, NumPy and Keras.

    ``keras=None`` seeds Keras only if it is already imported (so a NumPy-only notebook
    never pays for importing TensorFlow); ``True`` imports and seeds it.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed))
    os.environ["PYTHONHASHSEED"] = str(int(seed))
    if keras is None:
        keras = "keras" in sys.modules
    if keras:
        with quiet_tensorflow_start():
            import keras as _keras
        _keras.utils.set_random_seed(int(seed))
        _reset_keras_seed_generator()


def _reset_keras_seed_generator() -> None:
    """Drop Keras' global SeedGenerator so ``keras.random.*(seed=None)`` restarts from the seed.

    Keras 3.11 and newer do this in ``set_random_seed``; 3.10 (the ``oldest`` stack) does not, and
    without it a second ``cu.setup(seed)`` gave different ``keras.random.normal`` draws.
    """
    try:
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
    except ImportError:  # a Keras without these internals: nothing to reset
        return
    # the attribute's name: a constant since Keras 3.11, a literal in seed_generator() before
    name = getattr(seed_generator, "GLOBAL_SEED_GENERATOR", "global_seed_generator")
    global_state.set_global_attribute(name, None)


# What TensorFlow's C++ side writes to file descriptor 2 while it starts: informational lines
# ("I0000 ... oneDNN custom operations are on", "This TensorFlow binary is optimized ...") that
# TF_CPP_MIN_LOG_LEVEL no longer silences (TensorFlow 2.19+, tensorflow#100442) and that
# ipykernel shows as a red stderr box under the setup cell. Warnings and errors are kept.
_TF_INFO_LINE = re.compile(
    r"^(I\d{4} \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: I |"
    r"WARNING: All log messages before absl::InitializeLog\(\) is called|"
    r"To enable the following instructions: .* rebuild TensorFlow)")


@contextmanager
def quiet_tensorflow_start():
    """Drop TensorFlow's informational start-up lines from file descriptor 2; keep the rest.

    C++ code writes to the process's stderr directly, below Python's ``sys.stderr``; this
    points descriptor 2 at a temporary file for the block, then writes every line that is not
    informational (see ``_TF_INFO_LINE``) to ``sys.stderr``, so real warnings still show.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 to redirect (embedded interpreters)
        yield
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            lines = tmp.read().decode("utf-8", errors="replace").splitlines()
            kept = [line for line in lines if line.strip() and not _TF_INFO_LINE.match(line)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")


def device() -> str:
    """Describe the compute device: ``"GPU (name)"`` or ``"CPU"``. Imports TensorFlow."""
    gpus = gpu_info()
    if gpus is None:
        return "CPU (TensorFlow not installed)"
    if not gpus:
        return "CPU"
    return f"GPU ({', '.join(g['name'] for g in gpus)})"


def _nvidia_smi_memory() -> list[int]:
    """Total memory of each NVIDIA GPU in MiB from ``nvidia-smi`` (empty list if it is not there)."""
    import shutil
    import subprocess
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run([exe, "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
        return [int(float(x)) for x in out.split()]
    except (OSError, subprocess.SubprocessError, ValueError):
        return []


def gpu_info() -> list[dict] | None:
    """The GPUs TensorFlow sees: ``[{"name", "compute_capability", "memory_mib"}]``; ``None`` without TensorFlow.

    ``compute_capability`` is a ``(major, minor)`` tuple or ``None``; ``memory_mib`` comes from
    ``nvidia-smi`` when it is installed (Colab, most GPU machines), else ``None``. Imports TensorFlow.
    """
    try:
        with quiet_tensorflow_start():
            import tensorflow as tf
            gpus = tf.config.list_physical_devices("GPU")
    except ImportError:
        return None
    memory = _nvidia_smi_memory() if gpus else []
    out = []
    for k, g in enumerate(gpus):
        try:
            details = tf.config.experimental.get_device_details(g)
        except Exception:  # pragma: no cover - depends on the driver
            details = {}
        cc = details.get("compute_capability")
        out.append({"name": details.get("device_name", g.name), "compute_capability": tuple(cc) if cc else None,
                    "memory_mib": memory[k] if k < len(memory) else None})
    return out


#: The course's GPU policy (README, "GPUs"): what ``setup`` does when TensorFlow is used.
POLICY = """\
TF32 is off. On Ampere and newer NVIDIA GPUs (compute capability 8.0+: A100, L4, RTX 30xx/40xx) TensorFlow
would otherwise run float32 matrix products and convolutions in TensorFloat-32, which keeps only 10 bits of
the mantissa (relative error about 1e-3). The course checks that code written from scratch equals Keras to
1e-5, and those checks would fail there for no fault of the learner's. cu.setup(precision="fast") turns
TF32 on (faster training, looser numbers); notebook 06 ("Going further") measures the trade-off on a GPU."""


def apply_gpu_policy(precision: str = "exact", deterministic: bool = False) -> dict:
    """Apply the course's GPU policy to TensorFlow and return what was set.

    precision : ``"exact"`` (default) turns TensorFloat-32 off, so float32 results on Ampere+ GPUs match
        NumPy to float32 precision; ``"fast"`` leaves TF32 on (TensorFlow's default).
    deterministic : turn on TensorFlow's op determinism (same seed, same numbers on a GPU too; some
        GPU ops get slower, and ops without a deterministic kernel raise an error).
    Also lets TensorFlow grow GPU memory as needed instead of reserving it all at start.
    Returns ``{"tf32": bool, "deterministic": bool, "memory_growth": bool}``. Imports TensorFlow.
    """
    if precision not in ("exact", "fast"):
        raise ValueError(f"precision must be 'exact' or 'fast', got {precision!r}")
    if not isinstance(deterministic, (bool, np.bool_)):
        raise TypeError(f"deterministic must be True or False, got {deterministic!r}")
    with quiet_tensorflow_start():
        import tensorflow as tf
    tf.config.experimental.enable_tensor_float_32_execution(precision == "fast")
    growth = False
    for g in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(g, True)
            growth = True
        except (RuntimeError, ValueError):   # already initialised (setup called twice): keep what was set
            growth = growth or bool(tf.config.experimental.get_memory_growth(g))
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    return {"tf32": bool(tf.config.experimental.tensor_float_32_execution_enabled()),
            "deterministic": bool(deterministic), "memory_growth": growth}


def setup(seed: int = 42, fast: bool | None = None, tensorflow: bool = True,
          quiet: bool = False, precision: str = "exact", deterministic: bool = False) -> dict:
    """Prepare a notebook run and print an environment report.

    Seeds Python, NumPy and Keras; reports Python and library versions, the device
    (CPU/GPU), fast or full mode and whether this is Colab.

    Parameters
    ----------
    seed : int
        Seed for every random number generator.
    fast : bool or None
        Fast mode; ``None`` reads ``COURSE_FAST`` (see :func:`fast_mode`).
    tensorflow : bool
        If False, do not import TensorFlow (NumPy-only notebooks start in a second).
    quiet : bool
        If True, do not print the report.
    precision : {"exact", "fast"}
        The GPU policy (:data:`POLICY`, :func:`apply_gpu_policy`): ``"exact"`` turns TensorFloat-32
        off so scratch-equals-Keras checks hold on any GPU; ``"fast"`` leaves it on.
    deterministic : bool
        Turn on TensorFlow's op determinism, for notebooks that assert identical numbers on a GPU.

    Returns
    -------
    dict with keys ``python``, ``numpy``, ``tensorflow``, ``keras``, ``device``, ``gpus``,
    ``policy``, ``fast``, ``colab``, ``seed``.
    """
    if fast is None:
        fast = fast_mode()
    if not isinstance(fast, (bool, np.bool_)):
        raise TypeError(f"fast must be True, False or None, got {fast!r}")
    if precision not in ("exact", "fast"):
        raise ValueError(f"precision must be 'exact' or 'fast', got {precision!r}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    tf_installed = tensorflow and (_version("tensorflow") or _version("tensorflow-cpu")) is not None
    gpus = gpu_info() if tf_installed else []
    policy = apply_gpu_policy(precision, deterministic) if tf_installed else None
    report = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tensorflow": (_version("tensorflow") or _version("tensorflow-cpu")) if tensorflow else None,
        "keras": _version("keras") if tensorflow else None,
        "device": ((f"GPU ({', '.join(g['name'] for g in gpus)})" if gpus else "CPU") if tf_installed
                   else "CPU (TensorFlow not installed)" if tensorflow else "CPU (TensorFlow not loaded)"),
        "gpus": gpus or [],
        "policy": policy,
        "fast": bool(fast),
        "colab": in_colab(),
        "seed": int(seed),
    }
    # seed last: finding the device imports TensorFlow, which may draw from Python's random
    seed_everything(seed, keras=bool(tensorflow and _version("keras") is not None))
    if not quiet:
        print("Hands-On Deep Learning environment")
        print(f"  Python      {report['python']}")
        print(f"  NumPy       {report['numpy']}")
        if tensorflow:
            print(f"  TensorFlow  {report['tensorflow'] or 'not installed'}")
            print(f"  Keras       {report['keras'] or 'not installed'}")
        print(f"  Device      {report['device']}")
        for g in report["gpus"]:
            cc = ".".join(map(str, g["compute_capability"])) if g["compute_capability"] else "?"
            mem = f"{g['memory_mib'] / 1024:.0f} GiB" if g["memory_mib"] else "memory unknown"
            print(f"    GPU       {g['name']}, compute capability {cc}, {mem}")
        if policy is not None:
            tf32_matters = any((g["compute_capability"] or (0,))[0] >= 8 for g in report["gpus"])
            tf32 = "on (precision='fast')" if policy["tf32"] else "off"
            print(f"  Precision   float32, TF32 {tf32}"
                  f"{'' if report['gpus'] else ' (matters on GPUs only)'}; determinism "
                  f"{'on' if policy['deterministic'] else 'off'}")
            if tf32_matters and not policy["tf32"]:
                print("\n" + POLICY + "\n")
        print(f"  Mode        {'FAST (small data, few epochs)' if fast else 'FULL'}")
        print(f"  Colab       {'yes' if report['colab'] else 'no'}")
        print(f"  Seed        {seed}")
    return report


def record_headline(name: str, value: float, target: float | None = None,
                    higher_is_better: bool = True, unit: str = "") -> bool | None:
    """Print a notebook's headline result and record it for ``make run`` / ``make bench``.

    When ``COURSE_RESULTS`` names a file (the runner sets it), one JSON line is appended.

    Parameters
    ----------
    name : str
        What was measured, e.g. ``"test accuracy (bundled MNIST 5k)"``.
    value : float
        The measured number.
    target : float, optional
        The headline's goal; if given, the return value says whether it was reached.
    higher_is_better : bool
        Direction of the comparison with ``target``.
    unit : str
        Printed after the value (``"%"``, ``"s"``...).

    Returns
    -------
    True/False if a target was given (reached or not), else None.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"value must be a number, got {type(value).__name__}: {value!r}") from None
    reached = None
    if target is not None:
        reached = value >= target if higher_is_better else value <= target
    goal = "" if target is None else f"  (target {'≥' if higher_is_better else '≤'} {target:g}{unit}: {'reached' if reached else 'NOT reached'})"
    print(f"HEADLINE  {name}: {value:.4g}{unit}{goal}")
    path = os.environ.get("COURSE_RESULTS")
    if path:
        row = {"name": name, "value": value, "target": target, "reached": reached,
               "unit": unit, "fast": fast_mode(), "time": time.time()}
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
    return reached
