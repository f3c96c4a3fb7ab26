# Two commands do all the set-up on a fresh machine (see README.md):
#   make run    installs factorwatch in .venv and runs the daemon (embedded SQLite, no config)
#   make test   installs the test servers (apt), factorwatch with its test tools in .venv,
#               and runs every test
# `make demo` runs the daemon against simulated providers. `make run LISTEN=host:port` (or
# `make demo LISTEN=...`) serves on another port; both also read FACTORWATCH_LISTEN and every
# other FACTORWATCH_* setting from the environment.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# This Makefile's directory: pip installs the project from here whatever the working directory.
ROOT   := $(patsubst %/,%,$(dir $(realpath $(lastword $(MAKEFILE_LIST)))))
# Stamps of the last install: pip runs again only when pyproject.toml has changed since.
INSTALLED      := $(VENV)/.installed
INSTALLED_TEST := $(VENV)/.installed-test

.PHONY: run demo test test-unit lint install install-test system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(INSTALLED): $(ROOT)/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '$(ROOT)'
	touch $@

$(INSTALLED_TEST): $(ROOT)/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '$(ROOT)[test]'
	touch $@ $(INSTALLED)

install: $(INSTALLED)

install-test: $(INSTALLED_TEST)

ifdef LISTEN
run demo: export FACTORWATCH_LISTEN := $(LISTEN)
endif

run: install
	$(BIN)/factorwatch run

demo: install
	$(BIN)/factorwatch demo

lint: install-test
	$(BIN)/ruff check service probes tests dashboards devtools bench
	$(BIN)/mypy
	$(BIN)/lint-imports

system-packages:
	bash devtools/install-system-packages

test: system-packages install-test lint
	$(BIN)/pytest -q

# The in-process tests only, in under a minute: no test server to install, no lint.
test-unit: install-test
	$(BIN)/pytest -q -m unit
