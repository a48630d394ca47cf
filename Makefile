# The two commands: `make dev` runs the whole platform, `make test` runs the whole suite.
# Both create .venv and install the pinned dependencies (requirements.lock) on first use.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test browser lint lock bench clean

$(STAMP): requirements-dev.lock
	@command -v $(PYTHON) >/dev/null || { echo "NexJob needs Python 3.11 ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements-dev.lock
	touch $(STAMP)

dev: $(STAMP)
	$(PY) -m devstack

test: $(STAMP) browser
	$(PY) -m pytest

# Browser tests drive Debian's Chromium (Playwright's own browser download is not used).
browser:
	@command -v chromium >/dev/null || { \
	  echo "Installing Chromium for the browser tests (Debian package)"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

# After changing dependencies in pyproject.toml: pin them again (the locks name no index URLs).
# requirements.lock is what production images install; requirements-dev.lock adds the test tools.
lock: $(STAMP)
	$(VENV)/bin/uv pip compile --quiet pyproject.toml --python-version 3.11 -o requirements.lock
	$(VENV)/bin/uv pip compile --quiet pyproject.toml --extra dev --python-version 3.11 -o requirements-dev.lock

bench: $(STAMP)
	$(PY) bench/api.py

clean:
	rm -rf $(VENV) .pytest_cache
