# 民情地图 — the one entry point: `make run` starts the dashboard, `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test lint bench clean-db .system-deps

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# Start the dashboard on the embedded SQLite demo database (created and filled on first run), behind
# the security headers of serve.py.
run: $(VENV)/.installed
	$(PY) -m services.cli demo --if-empty
	@if [ "$${SIMULATE:-0}" = 1 ]; then $(PY) -m services.cli simulate > data/simulator.log 2>&1 & SIM=$$!; fi; \
	trap '[ -n "$$SIM" ] && kill $$SIM' EXIT; \
	$(VENV)/bin/streamlit run serve.py --server.port $(PORT) --server.address $${HOST:-127.0.0.1}

# System packages the tests need: PostGIS for the second store, Chromium and CJK fonts for the
# browser tests, poppler-utils (pdftoppm, pdftotext, pdffonts) to render and read the report PDFs.
# Installed only when missing.
.system-deps:
	@if [ ! -f /usr/share/postgresql/15/extension/postgis.control ] || ! command -v chromium >/dev/null \
	   || [ ! -d /usr/share/fonts/opentype/noto ] || ! command -v pdftoppm >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    postgresql-15 postgresql-15-postgis-3 chromium fonts-noto-cjk poppler-utils >/dev/null; fi

# Every test, on SQLite and on a throwaway PostGIS cluster started on 127.0.0.1 by the run.
test: $(VENV)/.dev-installed .system-deps
	REQUIRE_POSTGIS=1 $(PY) -m pytest

# Style and types; the type checker's settings are in pyproject.toml ([tool.mypy]).
lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(VENV)/.dev-installed .system-deps
	$(PY) -m bench.run_all

clean-db:
	rm -f data/minqing.db data/minqing.db-*
