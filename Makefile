# Two entry points a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-output

.PHONY: demo test install lint typecheck unit bench clean browser java screenshots messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files: reinstall only when the project's metadata changes. The demo needs the
# package alone; the tests, lint and type checks add the dev extra.
$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.demo-installed

# The spark extra (PySpark, sqlglot): for the engine tests, not for the demo.
$(VENV)/.spark-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.demo-installed
	rm -rf $(DEMO_DIR)
	$(BIN)/rse-adoption demo --out $(DEMO_DIR)/exports
	$(BIN)/rse-adoption directory $(DEMO_DIR)/exports/directory.csv --data-dir $(DEMO_DIR)/rse-data
	$(BIN)/rse-adoption ingest $(DEMO_DIR)/exports/events --data-dir $(DEMO_DIR)/rse-data
	$(BIN)/rse-adoption report --data-dir $(DEMO_DIR)/rse-data
	$(BIN)/rse-adoption report --data-dir $(DEMO_DIR)/rse-data --format json --out $(DEMO_DIR)/report.json --quiet
	@echo "JSON report: $(DEMO_DIR)/report.json"
	@printf "HTML report: "
	@$(BIN)/rse-adoption report --data-dir $(DEMO_DIR)/rse-data --format html --out $(DEMO_DIR)/report.html

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install $(VENV)/.spark-installed
	$(BIN)/mypy

unit: install $(VENV)/.spark-installed browser java
	RSE_ADOPTION_REQUIRE_CHROMIUM=1 RSE_ADOPTION_REQUIRE_SPARK=1 $(BIN)/pytest

# Headless Chromium renders the HTML report in one test: Debian's package, installed when
# absent (CI runs as root; elsewhere sudo is used if there).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The Spark engine's tests run Spark in local mode: a Java 17+ runtime, Debian's package,
# installed when absent like chromium.
java:
	@command -v java >/dev/null 2>&1 || [ -n "$$JAVA_HOME" ] || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq default-jre-headless >/dev/null; }

test: lint typecheck unit

# The screenshots in docs/ (README): the demo's overview and its Lyon page, as a browser shows them.
screenshots: demo browser
	$(BIN)/rse-adoption report --data-dir $(DEMO_DIR)/rse-data --format html --site Lyon --out $(DEMO_DIR)/lyon.html --quiet
	$(BIN)/python -m tests.browser $(DEMO_DIR)/report.html docs/images/overview.png 1280x1800
	$(BIN)/python -m tests.browser $(DEMO_DIR)/lyon.html docs/images/site-lyon.png 1280x1800

# The French catalogue (docs/operations.md, "Languages"): extract every message of the
# package and its templates (babel.cfg), merge them into the .po (new ones untranslated,
# for a translator to fill in; tests/test_french.py fails until they are), compile the .mo
# the package loads. Commit both.
LOCALE := src/rse_adoption/locale
messages: install
	mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg -k Message:2 -k plural_message:2,3 --no-location \
	  --sort-output --project rse-adoption \
	  --copyright-holder "rse-adoption contributors" -o build/rse_adoption.pot .
	$(BIN)/pybabel update -i build/rse_adoption.pot -d $(LOCALE) -D rse_adoption -l fr \
	  --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d $(LOCALE) -D rse_adoption -l fr --statistics

# vivainsights is the habit benchmark's baseline only: installed here, never a dependency.
bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/habit.py
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) rse-data .pytest_cache .mypy_cache .ruff_cache
