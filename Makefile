# Two entry points: `make demo` (quickstart) and `make test` (lint + tests).
# Both create .venv and install torch==2.13.0 (the CPU wheel on disk) before anything that depends on
# torch, so pip never resolves a multi-GB CUDA build.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test test-slow clean browser

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

setup: $(BIN)/.installed

demo: setup
	$(BIN)/domaintune run

# Debian's chromium, for the report and UI browser tests (headless; Playwright drives it, never
# downloading a browser of its own); best effort outside CI.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		echo "chromium could not be installed: the report browser test will be skipped"

test: setup browser
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q

test-slow: setup browser
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) runs
