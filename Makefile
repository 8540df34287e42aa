# Two commands a newcomer needs: `make run` and `make test`. Both build their own venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test lint fuzz bench bench-outbox bench-http bench-import venv clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "motcua needs Python 3.11+")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/motcua db upgrade
	$(BIN)/motcua deploy --shipped
	$(BIN)/motcua catalogue load
	$(BIN)/motcua serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# schemathesis against every operation with many more examples than `make test` (FUZZ_EXAMPLES per operation).
FUZZ_EXAMPLES ?= 300
fuzz: $(STAMP)
	MOTCUA_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/test_fuzz.py tests/test_properties.py -q -s $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-http: $(STAMP)
	$(BIN)/python -m bench.http $(BENCH_ARGS)

bench-outbox: $(STAMP)
	$(BIN)/python -m bench.outbox $(BENCH_ARGS)

# Legacy dossier import on PostgreSQL, 2 processes: `make bench-import BENCH_ARGS="--rows 20000 --jobs 1"`
bench-import: $(STAMP)
	$(BIN)/python -m bench.legacy_import --rows 100000 --jobs 2 $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache .ruff_cache
