# Every target manages its own virtual environment in .venv, created on first use
# from pyproject.toml, so a fresh clone needs nothing but Python, pip and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

.PHONY: install generate check-generated test lint demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,testing,redis]'
	touch $(STAMP)

install: $(STAMP)

generate: $(STAMP)
	$(PY) -m codegen generate

check-generated: $(STAMP)
	$(PY) -m codegen check

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check codegen klaviyo_campaigns tests examples bench
	$(BIN)/ruff format --check codegen klaviyo_campaigns tests examples bench
	$(BIN)/mypy codegen klaviyo_campaigns examples bench

demo: $(STAMP)
	$(PY) examples/demo.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
