# riskassess: `make demo` starts the demo, `make test` runs every check. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock
PORT ?= 5000
HOST ?= 127.0.0.1

.PHONY: help install lock demo test lint format typecheck pytest translations clean
.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

# Every package, transitive ones and the build backend included, comes from the lock file with
# its hash; the project itself is then installed editable without fetching anything more.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install riskassess and its tools from requirements.lock

# Needs only uv (locked too), so it works while pyproject.toml and the lock disagree.
lock: ## Re-resolve requirements.lock (with hashes) from pyproject.toml
	test -x $(BIN)/uv || ($(PYTHON) -m venv $(VENV) && \
		$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK))
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra postgres --group build \
		--universal --python-version 3.11 --generate-hashes \
		--custom-compile-command 'make lock' --output-file $(LOCK)

demo: $(STAMP) ## Serve demo mode (fictional data); `make demo PORT=8080` picks the port
	$(BIN)/riskassess demo --host $(HOST) --port $(PORT)

test: lint typecheck pytest ## Run the whole suite: ruff, mypy, pytest (unit, integration, browser, security)

lint: $(STAMP) ## ruff lint and format check, bandit on the package
	$(BIN)/ruff check riskassess tests migrations benchmarks
	$(BIN)/ruff format --check riskassess tests migrations benchmarks
	$(BIN)/bandit --quiet --configfile pyproject.toml --recursive riskassess

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff check --fix riskassess tests migrations benchmarks
	$(BIN)/ruff format riskassess tests migrations benchmarks

typecheck: $(STAMP) ## mypy on the package
	$(BIN)/mypy riskassess

pytest: $(STAMP) ## pytest only
	$(BIN)/python -m pytest

translations: $(STAMP) ## Extract messages, update the catalogues and compile them
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output -o riskassess/translations/messages.pot .
	$(BIN)/pybabel update -i riskassess/translations/messages.pot -d riskassess/translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d riskassess/translations --statistics

clean: ## Remove the virtual environment and caches (keeps instance/)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
