# WhereWhen: `make run` starts the platform with demo data, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
FRONTEND_SRC := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	$(wildcard frontend/index.html frontend/vite.config.ts frontend/tsconfig*.json frontend/openapi.json)

.PHONY: help install run test lint format schema bench clean screenshots

help:
	@echo "make run    start web + Celery workers with demo data (embedded defaults)"
	@echo "make test   lint, Python tests (unit, integration, end-to-end), frontend tests"
	@echo "make schema regenerate the OpenAPI schema and the frontend's API types"
	@echo "make screenshots  regenerate docs/screenshots (every page, in Chromium)"

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "WhereWhen needs Python 3.11"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[worker,dev]'
	touch $@

frontend/node_modules/.installed: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

frontend/dist/index.html: frontend/node_modules/.installed $(FRONTEND_SRC)
	cd frontend && npm run build

install: $(VENV)/.installed frontend/dist/index.html

run: install
	$(PY) manage.py up

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

schema: install
	$(PY) manage.py spectacular --format openapi-json --file frontend/openapi.json
	cd frontend && npm run gen:api

test: install lint
	cd frontend && npm run typecheck && npm run lint && npm test && npm run check:api
	$(PY) -m pytest --basetemp=$(CURDIR)/var/pytest-tmp

# Pictures of every page (1440 x 900 and 390 px wide) from the end-to-end tests' data.
screenshots: install
	rm -rf docs/screenshots
	WHEREWHEN_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PY) -m pytest -q -p no:cacheprovider \
		tests/e2e/test_pages_accessible.py tests/e2e/test_trial_stimulus_visible.py \
		tests/e2e/test_annotate_keyboard.py

bench: install
	for script in bench/bench_*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist var
