# Tandem: `make run` serves the demo, `make test` runs every test. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export DJANGO_SETTINGS_MODULE := tandem.settings

.PHONY: run test test-fast lint typecheck bench demo clean setup browser

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tandem needs Python >= 3.11; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
	$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

setup: $(VENV)/.installed

run: setup
	$(BIN)/tandem migrate --no-input -v 0
	$(BIN)/tandem demo
	@$(BIN)/tandem demo_logins
	$(BIN)/tandem serve

demo: setup
	$(BIN)/tandem migrate --no-input -v 0
	$(BIN)/tandem demo

test: setup lint typecheck
	TANDEM_PROFILE=test $(BIN)/tandem makemigrations --check --dry-run -v 0
	TANDEM_PROFILE=test $(BIN)/pytest -q

test-fast: setup
	TANDEM_PROFILE=test $(BIN)/pytest -q -m "not browser" -x

lint: setup
	$(BIN)/ruff check tandem tests benchmarks

typecheck: setup
	TANDEM_PROFILE=test $(BIN)/mypy tandem

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) var .pgdata
