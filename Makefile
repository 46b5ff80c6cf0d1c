# Two entry points: `make train` and `make test`. Both create or reuse .venv and install the
# package with the pinned dependencies of constraints.txt; a torch 2.13.0 already in .venv (the
# CPU wheel, say: README "Install") is kept.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
PRESET ?= mlp2
ARGS ?=

.PHONY: install train test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

train: $(STAMP)
	$(BIN)/counterfeit train --preset $(PRESET) $(ARGS)

# The tests also need the `ray`, `tensorboard` and `browser` extras: the experiment runner's Ray
# backend, the TensorBoard events and the report's pages in Chromium are tested, never skipped.
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test,ray,tensorboard,browser]'
	touch $(TEST_STAMP)

test: $(TEST_STAMP)
	$(BIN)/python -m pytest $(ARGS)

bench: $(STAMP)
	$(BIN)/counterfeit bench $(ARGS)

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
