# The two commands of the README: `make serve` and `make test`. Each one builds .venv first if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JS := tests/js
JS_STAMP := $(JS)/node_modules/.installed
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: serve test lint typecheck pytest coverage emulator schema clean bench

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

# The JavaScript GraphQL clients the tests run and puppeteer-core, from the lock file, and the browser
# puppeteer-core drives (it downloads none).
$(JS_STAMP): $(JS)/package.json $(JS)/package-lock.json | $(CHROMIUM)
	npm ci --prefix $(JS) --no-audit --no-fund
	# @wry/* (under Apollo Client) ship their monorepo's build files, which name a directory beside that
	# repository; nothing installed here runs them, and the project needs nothing beside its own checkout.
	rm -f $(JS)/node_modules/@wry/*/rollup.config.js
	for package in $(JS)/node_modules/@wry/*/; do npm pkg delete scripts --prefix "$$package"; done
	touch $(JS_STAMP)

# Debian's Chromium for tests/test_browser.py, installed only where it is missing.
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

serve: $(STAMP)
	$(BIN)/metastudio-gateway serve

emulator: $(STAMP)
	$(BIN)/metastudio-gateway emulator

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check gateway schema tests bench
	$(BIN)/ruff format --check gateway schema tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers a core (tests/conftest.py); tests that share a Redis take a database per worker
# (tests/support/redis.py).
# Python keeps its compiled bytecode (__pycache__, git-ignored) even where the environment says not to, so
# the gateway processes the suite starts, and the next run's workers, load it instead of compiling again.
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest

pytest: $(STAMP) $(JS_STAMP)
	$(PYTEST) -n auto --dist worksteal

# The same run, reporting which lines of gateway/ and schema/ it reached (not part of `make test`).
coverage: $(STAMP) $(JS_STAMP)
	$(PYTEST) -n auto --dist worksteal --cov=gateway --cov=schema --cov-report=term:skip-covered

schema: $(STAMP)
	$(BIN)/python -m schema

# On demand, never part of `make test`: loopback only, about 5 minutes (`python -m bench --quick`: about 2).
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(JS)/node_modules
