# Workbench: `make demo` and `make test` do all set-up on a fresh machine (Python 3.11 + pip).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install test demo lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

test: install
	$(BIN)/python -m pytest

demo: install
	$(BIN)/workbench demo

lint: install
	$(BIN)/ruff check workbench tests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
