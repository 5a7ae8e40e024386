# Two entry points for a fresh machine: `make demo` (set up + run the workbench on the embedded benchmark)
# and `make test` (the test suite, as CI runs it). Everything else is a building block of those two.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= notebooks,dev

.PHONY: venv test lint format demo clean

$(BIN)/unimd: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0 -e '.[$(EXTRAS)]'
	touch $@

venv: $(BIN)/unimd

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: venv lint
	$(BIN)/python -m pytest -n 2 tests

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
