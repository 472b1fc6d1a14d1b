# Memory Vault: the developer's commands. `make` alone runs the whole test suite.
PY ?= .venv/bin/python

.PHONY: test test-fast lint cov docs bench-quick

test:  ## the README's test command: everything, with coverage (floor 90%)
	$(PY) -m pytest -q

test-fast:  ## the unit layer alone, in process, no coverage (a few seconds)
	$(PY) -m pytest -q --no-cov -n 0 tests/unit

lint:  ## pinned linters, strict types (code and tests), generated docs up to date
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m memory_vault.settings.docs --check
	$(PY) -m memory_vault.sources.presets_doc --check

cov:  ## the whole suite with the lines coverage missed
	$(PY) -m pytest -q --cov-report=term-missing:skip-covered

docs:  ## regenerate .env.example, the README's settings and presets tables
	$(PY) -m memory_vault.settings.docs
	$(PY) -m memory_vault.sources.presets_doc

bench-quick:  ## the benchmark's smoke run
	$(PY) bench/run.py --quick
