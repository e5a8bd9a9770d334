# Ushauri: `make run` sets everything up and starts the bot; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= var

.PHONY: run chat setup test test-fast bench install browser clean help

help:
	@echo "make run    set up (venv, install, model, starter knowledge base, index, classifier) and start the server"
	@echo "make chat   set up, then chat in the terminal instead"
	@echo "make test   run the whole test suite (installs what it needs)"
	@echo "make bench  print speed and quality figures"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch first, pinned to the CPU build, so nothing pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

setup: install
	$(BIN)/ushauri setup --data-dir $(DATA_DIR)

run: setup
	$(BIN)/ushauri serve --data-dir $(DATA_DIR)

chat: setup
	$(BIN)/ushauri chat --data-dir $(DATA_DIR)

# The web chat test drives Debian's Chromium (Playwright's own browser download needs the internet).
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  { echo "installing chromium for the browser test"; \
	    if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	    else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

test: install browser
	$(BIN)/python -m pytest

test-fast: install browser
	$(BIN)/python -m pytest -m "not slow"

bench: setup
	$(BIN)/ushauri bench --data-dir $(DATA_DIR)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
