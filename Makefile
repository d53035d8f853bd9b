# Every target manages its own virtual environment in .venv, created on first use
# from pyproject.toml, so a fresh clone needs nothing but Python, pip and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

.PHONY: install generate check-generated test lint demo bench docs clean update-spec vendor

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,testing,redis,docs]'
	touch $(STAMP)

install: $(STAMP)

generate: $(STAMP)
	$(PY) -m codegen generate

check-generated: $(STAMP)
	$(PY) -m codegen check

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check codegen klaviyo_campaigns tests examples bench docs/hooks.py
	$(BIN)/ruff format --check codegen klaviyo_campaigns tests examples bench docs/hooks.py
	$(BIN)/mypy codegen klaviyo_campaigns examples bench docs/hooks.py

# Take the specs Klaviyo published, same revisions or later ones (a revision is its spec's
# info.version): make update-spec SPEC=path/to/stable.json PRE_SPEC=path/to/beta.json (either
# alone works too). A spec it cannot take fails with one line and writes nothing. Without them it
# regenerates from what is committed (e.g. after editing overlays/) and reports what changed.
# Then the tests run.
update-spec: $(STAMP)
	$(PY) -m codegen.update $(if $(SPEC),--spec "$(SPEC)") $(if $(PRE_SPEC),--pre-spec "$(PRE_SPEC)") $(if $(REPORT),--report "$(REPORT)")
	$(MAKE) test

# Copy the package into another tree under another import name (needs only Python).
vendor:
	@test -n "$(DEST)" -a -n "$(NAME)" || { echo "usage: make vendor DEST=dir NAME=pkgname" >&2; exit 2; }
	$(PYTHON) -m codegen.vendor "$(DEST)" "$(NAME)"

demo: $(STAMP)
	$(PY) examples/demo.py

# Ratios against a baseline in the same run, printed as one table (a few minutes).
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m bench

# The documentation site into site/ (not committed); warnings are errors. The variable hides a
# banner Material prints about its own end of life.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) site .pytest_cache .mypy_cache .ruff_cache
