# The two commands of the README: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3.11
VENV := .venv
INSTALLED := $(VENV)/.installed

.PHONY: demo test postgres browser bench bench-features schema-doc clean

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

test: $(INSTALLED) postgres browser
	$(VENV)/bin/python -m pytest

bench: $(INSTALLED)
	$(VENV)/bin/python benchmarks/simulate_ingest.py

bench-features: $(INSTALLED)
	$(VENV)/bin/python benchmarks/features.py

schema-doc: $(INSTALLED)
	$(VENV)/bin/credit schema --out docs/schema.md

clean:
	rm -rf $(VENV) var .pytest_cache
