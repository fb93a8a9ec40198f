# Newsroom: `make run` to try it, `make test` to check it. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell for candidate in python3.13 python3.12 python3.11 python3; do \
	command -v $$candidate >/dev/null 2>&1 && $$candidate -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$candidate; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
# The exact versions CI tested; pyproject.toml keeps the ranges they were chosen from
# (`make lock` chooses again after a range changes).
LOCK := requirements.lock
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
# Development, as `make run` gives it to Django: tasks run in the web process, and links in
# pages and emails point at HOST:PORT (newsroom/settings.py) unless SITE_URL is set.
DEVELOPMENT := DEBUG=1 TASKS_BACKEND=immediate HOST=$(HOST) PORT=$(PORT)

.PHONY: install run serve test lint lock migrate demo bench clean

$(STAMP): pyproject.toml $(LOCK)
	@if [ -z "$(PYTHON)" ]; then echo "Newsroom needs Python 3.11 or newer; none was found on PATH." >&2; exit 1; fi
	@echo "Setting up $(VENV) with $(PYTHON) ..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

migrate: install
	$(DEVELOPMENT) $(BIN)/python manage.py migrate --noinput

demo: migrate
	$(DEVELOPMENT) $(BIN)/python manage.py load_demo

run: demo
	@echo
	@echo "  Newsroom is starting at http://$(HOST):$(PORT)/"
	@echo "  Admin: http://$(HOST):$(PORT)/admin/ (logins printed above)"
	@echo
	$(DEVELOPMENT) $(BIN)/python manage.py runserver $(HOST):$(PORT)

# Production-like: Varnish on HOST:PORT in front of gunicorn on 127.0.0.1:PORT+1, with the
# task worker beside them, DEBUG off and compressed static files (deploy/serve; SIGTERM
# or Ctrl-C stops all three). Needs SECRET_KEY and ALLOWED_HOSTS in the environment (see
# README; DEBUG=0 unless given, so that a missing key stops it before migrating), add
# SECURE_SSL_REDIRECT=0 to try it over http, and Debian's varnish and varnish-modules.
serve: install
	DEBUG=$${DEBUG:-0} HOST=$(HOST) PORT=$(PORT) BIN=$(BIN) deploy/serve

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lock: install
	$(BIN)/pip-compile --quiet --extra dev --strip-extras --no-emit-index-url \
		--no-emit-find-links --output-file $(LOCK) pyproject.toml

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Generates 10,000 stories in the PostgreSQL database newsroom_bench, serves them with
# gunicorn alone and behind Varnish (deploy/varnish/newsroom.vcl), measures with wrk against
# nginx serving a saved page, and during a breaking-news run; writes docs/benchmarks.md.
# Needs varnish, varnish-modules, nginx and wrk, and for Lighthouse chromium and npm.
# About 20 minutes; see docs/benchmarks.md.
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/newsletter.py
	$(BIN)/python bench/editing.py
	$(BIN)/python bench/lighthouse.py

clean:
	rm -rf $(VENV) var/static var/test-static
