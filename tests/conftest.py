"""Shared test setup: headless matplotlib, no downloads, repo paths."""
import os
from pathlib import Path

import pytest

import matplotlib

matplotlib.use("Agg")  # in this process only: kernels started by tests keep the inline backend
os.environ["COURSE_OFFLINE"] = "1"  # nothing downloads in tests (the download test serves its own files)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo():
    return REPO


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt
    plt.close("all")
