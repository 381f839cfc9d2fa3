# Coach Connect. `make run` runs the whole product; `make test` runs every check and test.
# Both set themselves up on a fresh machine: virtualenv, packages, database, demo data.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PORT ?= 8000
# Links in e-mails, Stripe return URLs and the local Stripe's API base follow the port.
export SITE_URL ?= http://127.0.0.1:$(PORT)
# `make run` and the steps before it are development (DEBUG on, the local Stripe, the dev
# inbox); uvicorn and celery alone would start with production settings. The tests choose
# theirs in pyproject.toml, the benchmarks in tests/bench/.
run migrate seed: export DJANGO_SETTINGS_MODULE = marketplace.settings.development

.PHONY: run test install test-tools migrate seed lint typecheck pytest bench clean-data

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is needed"; exit 1; }
	@$(PYTHON) -m venv --help >/dev/null 2>&1 && $(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv; \
	  else echo "Install python3-venv (sudo apt-get install python3-venv)"; exit 1; fi; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

# The tests drive Debian's Chromium and check docker-compose.yml with docker compose.
test-tools:
	@missing=""; [ -x /usr/bin/chromium ] || missing="chromium"; \
	{ docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null; } || missing="$$missing docker-compose"; \
	if [ -z "$$missing" ]; then exit 0; \
	elif [ "$$(id -u)" = 0 ]; then echo "Installing Debian packages for the tests:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "The tests need:$$missing  (sudo apt-get install$$missing)"; exit 1; fi

migrate: install
	$(BIN)/python manage.py migrate --no-input

seed: migrate
	$(BIN)/python manage.py stripe_sandbox_setup
	$(BIN)/python manage.py seed_demo

# marketplace/devrun.py migrates, seeds, starts the Procfile with honcho, prints the demo
# sign-ins again once the site answers, and on Ctrl-C stops what it started (the embedded
# PostgreSQL and Redis included, when this run started them).
run: install
	PATH="$(CURDIR)/$(BIN):$$PATH" PORT=$(PORT) $(BIN)/python -m marketplace.devrun

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy marketplace coaches bookings payments messaging

pytest: install test-tools
	$(BIN)/pytest

test: lint typecheck pytest

bench: install
	@for bench in tests/bench/[!_]*.py; do echo "== $$bench"; $(BIN)/python $$bench || exit 1; done

clean-data:
	rm -rf .data
