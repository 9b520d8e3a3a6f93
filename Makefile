# riskassess: `make demo` starts the demo, `make test` runs every check. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: help install demo test lint format typecheck pytest translations clean
.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install riskassess with its development tools

demo: $(STAMP) ## Serve demo mode (fictional data) at http://127.0.0.1:5000
	$(BIN)/riskassess demo

test: lint typecheck pytest ## Run the whole suite: ruff, mypy, pytest (unit, integration, browser, security)

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check riskassess tests migrations benchmarks
	$(BIN)/ruff format --check riskassess tests migrations benchmarks

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
