# Two commands: `make run` (service with demo data on SQLite) and `make test` (whole suite).
# Both install exactly the locked versions (requirements/*.txt, with hashes); `make lock` updates them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest-xdist processes for the parallel phase of `make test` (the 2-core CI machine: 2; 0 = one process)
TEST_PROCESSES ?= 2

.PHONY: run test lint format bench lock audit sbom clean

$(STAMP): pyproject.toml requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/mimamori serve --demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m release.lockfile
	$(BIN)/python -m release.audit
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist worksteal -m "not alone" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m alone $(PYTEST_ARGS) || test $$? -eq 5  # 5: none selected

# Recompile both locks after a change to pyproject.toml's dependencies (keeps existing pins that
# still fit; `make lock LOCK_ARGS=--upgrade` moves every pin to the newest allowed release).
lock: $(STAMP)
	$(BIN)/python -m release.lock $(LOCK_ARGS)

audit: $(STAMP)
	$(BIN)/python -m release.audit

sbom: $(STAMP)
	$(BIN)/python -m release.sbom

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var/*.sqlite3 .pytest_cache build/sbom
