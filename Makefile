# ModelDesk: `make run` starts the dashboard, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PORT ?= 8501
DEMO_PORT ?= 8765
# Branch coverage of core/, ui/, pages/ and the entrypoint by the suite (measured on the
# 2-core CI machine at 94.5–94.9 %, gated a little lower for run-to-run variance; the
# browser tests' server processes are not counted).
COVERAGE_MIN ?= 93.5

.PHONY: run test demo lint bench chromium litellm clean

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

## Start the dashboard on SQLite (data/), no secrets needed: local mode on 127.0.0.1,
## entered through the sign-in link it prints (MODELDESK_LOCAL_TOKEN fixes its token).
## Another port: make run PORT=8600
run: $(VENV)/.runtime
	PORT=$(PORT) $(PY) scripts/run.py

## Install Debian's Chromium for the browser tests when it is missing.
chromium:
	@[ -x /usr/bin/chromium ] || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

## LiteLLM's proxy for the real-server tests, in its own cached venv (offline: they skip).
litellm: $(VENV)/.runtime
	@$(PY) -m devtools.litellm_proxy install || \
		echo "LiteLLM could not be installed: the real-server tests will be skipped." >&2

## Lint and type-check, then every test: unit, page (AppTest), real server (LiteLLM) and
## end-to-end (Chromium).
test: lint chromium litellm
	$(PY) -m pytest --cov --cov-report=term:skip-covered --cov-fail-under=$(COVERAGE_MIN)

## ruff (lint + format) and mypy (types: core, ui, pages, devtools, benchmarks, scripts, tests).
lint: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

## Offline tour: the fake providers on loopback and the app pointed at them (runtime
## requirements only; its data is removed on exit). make demo PORT=8600 DEMO_PORT=8766
demo: $(VENV)/.runtime
	PORT=$(PORT) DEMO_PORT=$(DEMO_PORT) $(PY) scripts/demo.py

## Benchmarks (tables on stdout; minutes): catalogue, pages in Chromium, 1M ledger rows,
## 100k audit rows, and 50/100/200 streaming sessions over Streamlit's own protocol.
bench: $(VENV)/.dev chromium
	$(PY) -m benchmarks.catalog
	$(PY) -m benchmarks.ui
	$(PY) -m benchmarks.ledger --rows 1000000
	$(PY) -m benchmarks.audit --rows 100000
	$(PY) -m benchmarks.load --sessions 50,100,200

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
