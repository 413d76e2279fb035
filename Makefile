# The two commands: `make run` (portal on http://127.0.0.1:8000 with web, worker and beat) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run test install migrate bench bench-metering bench-pdf bench-pages bench-soak typecheck lint clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py seed_demo
	$(BIN)/honcho start -f Procfile

# One worker per core, each with its own test database (`pytest` alone runs in one process).
test: install
	$(BIN)/pytest -n auto --dist loadgroup

typecheck: install
	$(BIN)/mypy billing_portal/payments/stripe_adapter.py

lint: install
	$(BIN)/ruff check .

# Benchmarks print figures against a baseline measured in the same run; they need PostgreSQL (DATABASE_URL).
bench: bench-metering bench-pdf bench-pages

# The usage hot path under gunicorn: events/s and p50/p99 against a bare one-UPDATE view; the batch endpoint.
bench-metering: install
	$(BIN)/python bench/metering.py

# Invoice PDF render times (one page, ten pages, 200 lines) and the worker's peak memory.
bench-pdf: install
	$(BIN)/python bench/pdf.py

# Every billing page's server time on an org with 1,000 members, 2,000 invoices and 100,000 usage events.
bench-pages: install
	$(BIN)/python bench/pages.py

# Mixed traffic at a steady rate for a bounded time (gunicorn, PostgreSQL, Redis, a Celery worker), then the books:
# events counted once, ledgers equal balances, no quota beyond its grace, zero 5xx, RSS per process. Needs Redis too.
bench-soak: install
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) var
