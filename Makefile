# usine: two commands on a fresh machine.
#   make demo   train the reference credit model and serve it on 127.0.0.1:8000
#   make test   format, lint and type checks, then the whole test suite
# Both create .venv and install the locked dependencies (uv.lock) first, and the few Debian
# packages usine calls (Tesseract OCR, Chromium for browser tests; scripts/system-deps.sh).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
# pytest-xdist workers for make test (one per core on the reference two-core machine).
TEST_WORKERS ?= 2
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: test-nightly system-deps install demo test lint audit dist publish format clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode is compiled at install, as pip does: otherwise every command (each `usine batch` a
# scheduler starts) compiles its imports again when PYTHONDONTWRITEBYTECODE is set: seconds.
# The image installs the exported requirements with pip from the package index; the container
# and model-wheel tests rehearse that offline, so uv's cache must also hold the index pages of
# those pins (uv sync reads the lock's URLs and never fetches them): a dry run fetches them once.
$(VENV)/.synced: pyproject.toml uv.lock Makefile | $(BIN)/uv
	$(BIN)/uv sync --frozen --quiet --compile-bytecode
	$(BIN)/python -m compileall -q src
	$(BIN)/uv export --frozen --no-dev --no-emit-project --quiet --output-file $(VENV)/image-requirements.txt
	$(BIN)/uv pip install --dry-run --quiet --target $(VENV)/image-dry-run --python $(BIN)/python \
		--require-hashes --no-deps --requirement $(VENV)/image-requirements.txt
	touch $@

system-deps:
	bash scripts/system-deps.sh ocr

install: system-deps $(VENV)/.synced

demo: install
	$(BIN)/usine quickstart

lint: install
	$(BIN)/ruff format --check src tests
	$(BIN)/ruff check src tests
	$(BIN)/mypy src
	$(BIN)/bandit --quiet --recursive src

test: lint
	bash scripts/system-deps.sh browser
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

# Everything make test runs, plus the long fault and load proofs and a deeper contract fuzzing.
test-nightly: lint
	bash scripts/system-deps.sh browser
	FUZZ_EXAMPLES=500 $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile -m "nightly or not nightly"

# Known vulnerabilities in the locked runtime dependencies (asks the PyPI advisory database).
audit: install
	$(BIN)/uv export --frozen --no-dev --no-hashes --no-emit-project > $(VENV)/requirements.txt
	$(BIN)/uvx pip-audit==2.10.1 --strict --requirement $(VENV)/requirements.txt

# The wheel and the sdist of usine-ml, built from the sources (version: src/usine/__init__.py).
dist: install
	$(BIN)/uv build --out-dir dist

# Upload dist/ to an index: set UV_PUBLISH_URL (e.g. https://nexus.bank.example/repository/pypi-internal/)
# and UV_PUBLISH_TOKEN, or UV_PUBLISH_USERNAME and UV_PUBLISH_PASSWORD.
publish: dist
	$(BIN)/uv publish dist/*

format: install
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

clean:
	rm -rf $(VENV) .usine .mypy_cache .ruff_cache .pytest_cache dist build
