# The team's vocabulary; CI calls the same targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint typecheck crds e2e bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,ssh]'
	touch $(STAMP)

# The main job on the embedded default: a local API, the operator, a demo pool, a demo task.
run: install
	$(BIN)/orchestrator dev --demo

# The whole suite: lint (incl. import layers), types, then every test (crds/ drift included).
test: lint typecheck
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check operator tests bench
	$(BIN)/ruff format --check operator tests bench
	$(BIN)/lint-imports --no-logo --no-cache

typecheck: install
	$(BIN)/mypy

crds: install
	$(BIN)/orchestrator crds --output crds

e2e: install
	$(BIN)/pytest -q -m e2e tests/e2e

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
