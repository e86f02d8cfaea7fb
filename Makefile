# ctapipe-sst1m: one-command set-up, tests, demo and docs.
#   make test   create .venv (Python >= 3.12 found automatically), install, lint, run the tests
#   make demo   run the main job on the embedded default data (writes into demo_output/)
#   make docs   build the sphinx documentation (warnings are errors)
#   make bench  run the benchmarks and print their figures
# Override the interpreter with `make PYTHON=/path/to/python3.12 test`.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONSTRAINTS := requirements/constraints.txt
DEMO_DIR ?= demo_output
PYTEST_ARGS ?= -n auto

# keep numerical libraries to one thread per process: CI has 2 cores and we run 1 process per core
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MPLBACKEND ?= Agg

.PHONY: all venv install test lint demo docs bench clean constraints

all: test

$(BIN)/python:
	@py="$$(scripts/find-python.sh)" || exit 1; \
	echo "creating $(VENV) with $$py"; \
	$$py -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

$(STAMP): $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[test,docs]"
	@touch $(STAMP)

venv install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks docs/conf.py
	$(BIN)/ruff format --check src tests benchmarks

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py --output-dir $(DEMO_DIR)

docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# regenerate the pinned, reproducible set of versions after changing dependencies
constraints: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,docs]"
	$(BIN)/python -m pip freeze --exclude-editable | grep -v -i '^ctapipe-sst1m' > $(CONSTRAINTS)

clean:
	rm -rf $(VENV) docs/_build docs/api build $(DEMO_DIR) .pytest_cache .ruff_cache
