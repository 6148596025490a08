# Two commands: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/pistil_test

.PHONY: run test test-postgres lint format worker clean

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	@echo "Pistil is serving on http://$(HOST):$(PORT)  (storefront /, register /register, back office /manage)"
	$(FLASK) run --host $(HOST) --port $(PORT)

test: $(VENV)/.dev-installed
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres: $(VENV)/.dev-installed
	psql "$(dir $(PG_TEST_URL))postgres" -qc "DROP DATABASE IF EXISTS $(notdir $(PG_TEST_URL)) WITH (FORCE)" -c "CREATE DATABASE $(notdir $(PG_TEST_URL))"
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: $(VENV)/.installed
	$(FLASK) worker

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
