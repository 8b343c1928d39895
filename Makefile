# Two entry points that work on a fresh machine with only Python and make:
#   make demo   set up .venv and run the default scenario end to end
#   make test   set up .venv with test extras, lint, and run the test suite
#   make test-fast   the same without the slow, Dask, notebook and JAX tests (about a minute)
#   make notebooks   install Jupyter and rebuild and execute the claim notebooks
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Stamp files record which extras are installed; they are redone when pyproject.toml changes.
STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
STAMP_BENCH := $(VENV)/.installed-bench
STAMP_NOTEBOOKS := $(VENV)/.installed-notebooks

.PHONY: demo test test-fast lint bench wheel-check notebooks clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/logsim run scenarios/quickstart.toml
	$(BIN)/logsim plot results/quickstart.nc -o results/quickstart-figures

lint: $(STAMP_TEST)
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest

# The markers are registered in pyproject.toml; `make test` and CI run everything.
test-fast: lint
	$(BIN)/python -m pytest -m "not slow and not dask and not notebooks and not jax"

$(STAMP_BENCH): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@ $(STAMP_RUN)

# Benchmark suite: all workloads, table on stdout, JSON + figure under benchmarks/ (~5 min).
bench: $(STAMP_BENCH)
	$(BIN)/logsim bench --json benchmarks/latest.json --plot benchmarks/latest.png

# Build the wheel, install it in a fresh venv, run it from an empty folder (minutes).
wheel-check:
	.ci/wheel-check

$(STAMP_NOTEBOOKS): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[notebooks]'
	touch $@ $(STAMP_RUN)

# Rebuild every claim notebook from notebooks/build.py and execute it, so it is stored
# with its outputs (about a minute; the small claim results under results/claims are
# run first where missing). Open them with: .venv/bin/jupyter lab notebooks/
notebooks: $(STAMP_NOTEBOOKS)
	$(BIN)/python notebooks/build.py

clean:
	rm -rf $(VENV) results build *.egg-info
