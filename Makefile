# The front door. Each target creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo serve serve-demo test check lint typecheck policy-check bench clean

DEMO_STAMP := $(VENV)/.installed-demo

# The test, lint and benchmark tools (several hundred MB: browsers' drivers, fuzzers, data
# frames); `make test` and `make check` install them on first use.
$(STAMP): pyproject.toml setup.py $(wildcard gateway/*/_*.c)
	@echo "== installing the gateway with its test and lint tools into $(VENV) (first run only; a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The demo and the server need only the gateway and Node.js for the development provider.
$(DEMO_STAMP): pyproject.toml setup.py $(wildcard gateway/*/_*.c)
	@echo "== installing the gateway and Node.js into $(VENV) (first run only; about a minute)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[demo]'
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)  ## the main job end to end on the embedded default (SQLite + local files)
	$(BIN)/gateway demo

serve: $(DEMO_STAMP)  ## the HTTP server in the foreground on 127.0.0.1:8000, on the data in var/
	@echo "== serving the data folder $${GATEWAY_DATA_DIR:-var} (the demo's data: make serve-demo)"
	$(BIN)/gateway serve

serve-demo: $(DEMO_STAMP)  ## serve what `make demo` left in var/demo (console at 127.0.0.1:8000/console/)
	$(BIN)/gateway demo --serve

test: $(STAMP)  ## the test suite
	$(BIN)/gateway policy check
	$(BIN)/python -m pytest

bench: $(STAMP)  ## benchmarks (not tests): figures and ratios to same-run baselines
	$(BIN)/python -m bench

check: lint typecheck policy-check  ## linters and type checks

lint: $(STAMP)
	$(BIN)/ruff check gateway tests bench
	$(BIN)/ruff format --check gateway tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

policy-check: $(STAMP)
	$(BIN)/gateway policy check

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
