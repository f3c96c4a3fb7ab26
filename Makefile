# Two commands do all the set-up on a fresh machine (see README.md):
#   make run    installs factorwatch in .venv and runs the daemon (embedded SQLite, no config)
#   make test   installs the test servers (apt), factorwatch with its test tools in .venv,
#               and runs every test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run demo test lint install install-test system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

run: install
	$(BIN)/factorwatch run

demo: install
	$(BIN)/factorwatch demo

lint: install-test
	$(BIN)/ruff check service probes tests
	$(BIN)/mypy

system-packages:
	bash devtools/install-system-packages

test: system-packages install-test lint
	$(BIN)/pytest -q
