# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# `make run` is the development server: DEBUG on unless the environment says otherwise.
RUN_ENV := DEBUG=$${DEBUG:-1}
MANAGE := $(RUN_ENV) $(BIN)/python manage.py
DEMO_DEPLOYMENTS ?= 20000

.PHONY: install run test lint migrations-check bench screenshots clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(INSTALLED)

# Local mode seeds demo data into an empty database; upstream mode (a LaunchDarkly token
# in the environment) syncs the configured scopes instead. The tasks worker runs beside
# the web server and stops with it.
run: install
	$(MANAGE) migrate --no-input
	@if [ -n "$$LAUNCHDARKLY_API_TOKEN" ]; then \
		echo "Upstream mode: syncing from $${LAUNCHDARKLY_BASE_URL:-https://app.launchdarkly.com} instead of seeding demo data"; \
		$(MANAGE) sync_deployments || echo "The sync did not complete; the dashboard serves the cache as it is."; \
	else \
		$(MANAGE) seed_demo --if-empty --deployments $(DEMO_DEPLOYMENTS); \
	fi
	$(MANAGE) create_demo_users
	@echo
	@echo "Deployments dashboard: http://127.0.0.1:8000/  (sign in with a login above)"
	@echo
	$(MANAGE) db_worker --no-startup-delay >/dev/null 2>&1 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(MANAGE) runserver 127.0.0.1:8000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

migrations-check: install
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

# Includes the browser tests (headless Chromium at /usr/bin/chromium; skipped, loudly, without it).
test: lint migrations-check
	$(BIN)/pytest

# Rewrites docs/screenshots/*.png (list and detail; light and dark; desktop and phone).
screenshots: install
	$(BIN)/pytest -m screenshots tests/browser

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis staticfiles
