# The two commands of the README: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3.11
SHELL := /bin/bash
VENV := .venv
INSTALLED := $(VENV)/.installed

.PHONY: demo test test-dates postgres browser bench bench-features schema-doc events-doc clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(VENV)/bin/credit demo

# PostgreSQL tests run, never skip, wherever the server is installed: start it if it is down.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
	  command -v pg_ctlcluster >/dev/null && \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start && \
	  for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; } || true

# The console's browser tests drive Debian's chromium (Playwright never downloads a browser here).
browser:
	@test -x /usr/bin/chromium || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The suite runs on one pytest-xdist worker per core, at most 4: its largest units of work (the
# live servers, tests/cli, tests/servicing) keep a worker busy 4 to 5 minutes each, so more workers
# would mostly wait. tests/workers.py says which tests share a worker; TEST_WORKERS=0 runs the
# suite in this one process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n < 4 ? n : 4 )))
test: $(INSTALLED) postgres browser
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

# The tests that read the clock, on the dates that break calendars: a month's first, 5th and last
# day, 29 February and 1 January; each first with the clock set (CREDIT_NOW), then with the
# machine's own date moved (Debian's faketime, for anything that would read it directly).
# Known: under libfaketime 0.9.10 a timed wait never ends (threading.Event().wait(1) hangs), so
# tests/servicing/test_run_concurrency.py hangs in the faketime pass, on workers or not; and
# FAKETIME_DONT_FAKE_MONOTONIC=1, which cures that, makes time.sleep() fail with EINVAL.
DATES ?= 2027-03-01T00:00:00 2027-03-05T12:00:00 2027-03-31T23:30:00 2028-02-29T12:00:00 2027-01-01T00:00:00
DATE_SENSITIVE ?= tests/test_clock.py tests/cli/test_demo_book.py tests/ledger tests/cli/test_ledger.py \
	tests/api/credit_lines tests/api/checkout tests/api/console tests/monitoring tests/scoring \
	tests/simulate/test_ends_at.py tests/ingest/test_validation_rules.py tests/cli/test_demo_end_to_end.py tests/standing \
	tests/servicing tests/cli/test_servicing.py tests/api/installments \
	tests/financing tests/api/financing/test_order_invoice.py \
	tests/api/monitoring/test_financing_route.py tests/cli/test_monitor_financing.py tests/api/loans \
	tests/events tests/api/test_events.py tests/webhooks tests/sandbox tests/api/sandbox tests/cli/test_month_end.py
test-dates: $(INSTALLED) postgres browser
	@command -v faketime >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null; }
	@set -o pipefail; for at in $(DATES); do \
	  echo "== clock set to $$at (CREDIT_NOW)"; \
	  CREDIT_NOW=$$at $(VENV)/bin/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup $(DATE_SENSITIVE) | grep -E '^(FAILED|ERROR)|passed|failed' || exit 1; \
	  echo "== machine date moved to $$at (faketime)"; \
	  faketime "$$(echo $$at | tr T ' ')" $(VENV)/bin/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup $(DATE_SENSITIVE) | grep -E '^(FAILED|ERROR)|passed|failed' || exit 1; \
	done

bench: $(INSTALLED)
	$(VENV)/bin/python benchmarks/simulate_ingest.py

bench-features: $(INSTALLED)
	$(VENV)/bin/python benchmarks/features.py

schema-doc: $(INSTALLED)
	$(VENV)/bin/credit schema --out docs/schema.md

events-doc: $(INSTALLED)
	$(VENV)/bin/python -m credit.events.reference > docs/events.md

clean:
	rm -rf $(VENV) var .pytest_cache
