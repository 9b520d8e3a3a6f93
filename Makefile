# riskassess: `make demo` starts the demo, `make test` runs every check. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock
PORT ?= 5000
HOST ?= 127.0.0.1
# The web scanner (wapiti) has its own virtualenv and hash-locked file: its dependencies must
# not clash with the app's, and it needs Python 3.12 or newer. The first one found is used.
SCAN_VENV := .venv-scan
SCAN_LOCK := requirements-scan.lock
SCAN_STAMP := $(SCAN_VENV)/.installed-stamp
# axe-core, which the browser tests inject into every page they check, comes from the npm
# registry pinned with its integrity hash by tests/browser/package-lock.json.
JS_DIR := tests/browser
JS_STAMP := $(JS_DIR)/node_modules/.installed-stamp
SCAN_PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 python3 \
	$$HOME/.pyenv/versions/3.1[234]*/bin/python3; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 12))' 2>/dev/null \
	&& { command -v "$$p"; break; }; done)

.PHONY: help install lock lock-scan demo test lint format typecheck pytest scan scan-run translations screenshots clean
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

# Like `lock`, for the scanner's own virtualenv.
lock-scan: ## Re-resolve requirements-scan.lock (with hashes) from scan/requirements.in
	test -x $(BIN)/uv || ($(PYTHON) -m venv $(VENV) && \
		$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK))
	$(BIN)/uv pip compile scan/requirements.in --universal --python-version 3.12 \
		--generate-hashes --custom-compile-command 'make lock-scan' --output-file $(SCAN_LOCK)

# Wheels only: no package's build step runs unhashed code.
$(SCAN_STAMP): $(SCAN_LOCK)
	rm -rf $(SCAN_VENV)
	$(SCAN_PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --only-binary :all: --require-hashes -r $(SCAN_LOCK)
	$(SCAN_VENV)/bin/python -m pip check
	touch $(SCAN_STAMP)

# `npm ci` installs exactly the lock file, checks each hash and runs no package scripts; it
# runs again only when the lock changes. Without npm the accessibility checks are skipped,
# except with RISKASSESS_REQUIRE_ALL_SUITES=1 (CI), where they fail.
$(JS_STAMP): $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		(cd $(JS_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) \
		&& touch $(JS_STAMP); \
	elif [ "$$RISKASSESS_REQUIRE_ALL_SUITES" = 1 ]; then \
		echo "axe-core: npm is not installed" >&2; exit 1; \
	else echo "axe-core: skipped: npm is not installed, the accessibility checks will skip"; fi

demo: $(STAMP) ## Serve demo mode (fictional data); `make demo PORT=8080` picks the port
	$(BIN)/riskassess demo --host $(HOST) --port $(PORT)

test: lint typecheck pytest scan ## Run the whole suite: ruff, mypy, pytest (unit, integration, browser, security), scan

lint: $(STAMP) ## ruff lint and format check, bandit on the package
	$(BIN)/ruff check riskassess tests migrations benchmarks scan
	$(BIN)/ruff format --check riskassess tests migrations benchmarks scan
	$(BIN)/bandit --quiet --configfile pyproject.toml --recursive riskassess

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff check --fix riskassess tests migrations benchmarks scan
	$(BIN)/ruff format riskassess tests migrations benchmarks scan

typecheck: $(STAMP) ## mypy on the package and the scan
	$(BIN)/mypy riskassess scan

pytest: $(STAMP) $(JS_STAMP) ## pytest only
	$(BIN)/python -m pytest

# The browser tests take them while they walk the demo; pngquant and optipng, where installed,
# make them smaller (apt-get install pngquant optipng).
screenshots: $(STAMP) $(JS_STAMP) ## Retake the demo's screenshots in docs/screenshots (browser tests)
	rm -f docs/screenshots/*.png
	RISKASSESS_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q -p no:randomly \
		tests/browser/test_accessibility.py
	if command -v pngquant >/dev/null 2>&1; then pngquant --force --skip-if-larger --strip \
		--ext .png --quality 80-95 docs/screenshots/*.png || test $$? = 98 -o $$? = 99; fi
	if command -v optipng >/dev/null 2>&1; then optipng -quiet -o2 -strip all docs/screenshots/*.png; fi

# Without Python 3.12+ the scan is skipped, except with RISKASSESS_REQUIRE_ALL_SUITES=1 (CI).
scan: $(STAMP) ## wapiti on a throwaway demo, loopback only, as caseworker, auditor and anonymous
	@if [ -n "$(SCAN_PYTHON)" ]; then $(MAKE) --no-print-directory scan-run; \
	elif [ "$$RISKASSESS_REQUIRE_ALL_SUITES" = 1 ]; then \
		echo "scan: wapiti needs Python 3.12 or newer; none found (set SCAN_PYTHON)" >&2; exit 1; \
	else echo "scan: skipped: wapiti needs Python 3.12 or newer; none found (set SCAN_PYTHON)"; fi

scan-run: $(STAMP) $(SCAN_STAMP)
	$(BIN)/python -m scan.wapiti_scan --wapiti $(SCAN_VENV)/bin/wapiti --reports build/scan

translations: $(STAMP) ## Extract messages, update the catalogues and compile them
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output -o riskassess/translations/messages.pot .
	$(BIN)/pybabel update -i riskassess/translations/messages.pot -d riskassess/translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d riskassess/translations --statistics

clean: ## Remove the virtual environments, caches and scan reports (keeps instance/)
	rm -rf $(VENV) $(SCAN_VENV) $(JS_DIR)/node_modules .pytest_cache .mypy_cache .ruff_cache build/scan
