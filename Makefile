# sochi — developer entry points. Every target bootstraps .venv from pyproject.toml.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck pytest bench softhsm gost-engine tmux clean help

help:
	@echo "make demo   - run the main job end to end against the embedded sandbox operator"
	@echo "make test   - lint + type check + the whole test suite (installs SoftHSM2 and the"
	@echo "              OpenSSL gost engine if root)"
	@echo "make lint   - ruff check + ruff format --check"
	@echo "make bench  - run bench/*.py, print a table, write bench/results.json"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sochi demo

softhsm:
	@if command -v softhsm2-util >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing softhsm2 (Debian) for the PKCS#11 tests"; \
		(apt-get install -y -qq softhsm2 >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null && apt-get install -y -qq softhsm2 >/dev/null)) ; \
	else \
		echo "error: SoftHSM2 is missing — install it: sudo apt-get install softhsm2 (Debian/Ubuntu), brew install softhsm (macOS)"; \
		exit 1; \
	fi

# OpenSSL's gost engine (GOST R 34.10/34.11: sign, verify, digests); sochi loads it from libcrypto
GOST_ENGINE_DIR := $(shell openssl version -e 2>/dev/null | sed -n 's/^ENGINESDIR: "\(.*\)"/\1/p')
gost-engine:
	@if [ -n "$(GOST_ENGINE_DIR)" ] && [ -f "$(GOST_ENGINE_DIR)/gost.so" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing libengine-gost-openssl (Debian) for the GOST tests"; \
		(apt-get install -y -qq libengine-gost-openssl >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null && apt-get install -y -qq libengine-gost-openssl >/dev/null)) ; \
	else \
		echo "error: OpenSSL's gost engine is missing — install it: sudo apt-get install libengine-gost-openssl (Debian/Ubuntu)"; \
		exit 1; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check sochi_cli tests bench
	$(BIN)/ruff format --check sochi_cli tests bench

typecheck: $(STAMP)
	$(BIN)/mypy sochi_cli

tmux:
	@if command -v tmux >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing tmux (Debian) for the TUI smoke test"; \
		(apt-get install -y -qq tmux >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null && apt-get install -y -qq tmux >/dev/null)) ; \
	else \
		echo "error: tmux is missing — install it: sudo apt-get install tmux (the TUI smoke test drives sochi tui in it)"; \
		exit 1; \
	fi

pytest: $(STAMP) softhsm gost-engine tmux
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(STAMP) softhsm gost-engine
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
