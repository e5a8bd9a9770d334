# Ushauri: `make run` sets everything up and starts the bot; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= var

.PHONY: run setup test test-fast bench install clean help

help:
	@echo "make run    set up (venv, install, model, starter knowledge base, index) and start the bot"
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
	$(BIN)/ushauri chat --data-dir $(DATA_DIR)

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

bench: setup
	$(BIN)/ushauri bench --data-dir $(DATA_DIR)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
