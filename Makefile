# Two entry points a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-output

.PHONY: demo test install lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# A stamp file: reinstall only when the project's metadata changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	rm -rf $(DEMO_DIR)
	$(BIN)/rse-adoption demo --out $(DEMO_DIR)/exports
	$(BIN)/rse-adoption directory $(DEMO_DIR)/exports/directory.csv --data-dir $(DEMO_DIR)/rse-data
	$(BIN)/rse-adoption ingest $(DEMO_DIR)/exports/events --data-dir $(DEMO_DIR)/rse-data
	$(BIN)/rse-adoption report --data-dir $(DEMO_DIR)/rse-data
	$(BIN)/rse-adoption report --data-dir $(DEMO_DIR)/rse-data --format json --out $(DEMO_DIR)/report.json
	@echo "JSON report written to $(DEMO_DIR)/report.json"

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest

test: lint typecheck unit

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) rse-data .pytest_cache .mypy_cache .ruff_cache
