# One command to run, one to test. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The MongoDB wire server of the tests (secantusdb), kept out of the app's venv.
VENV_SECANTUS := .venv-secantus

.PHONY: run test test-fast install install-dev bench clean purge-trash browser repair fuzz nginx node-clients dav-clients screenshots

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

$(VENV_SECANTUS)/.installed: requirements-secantus.txt
	$(PYTHON) -m venv $(VENV_SECANTUS)
	$(VENV_SECANTUS)/bin/pip install --quiet -r requirements-secantus.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: start Gunicorn on 127.0.0.1:8000 with the embedded database and ./uploads
run: install
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

## browser: Debian's Chromium for the browser tests (installed with apt-get when run as root)
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "note: chromium is not installed and this is not root: the browser tests will be skipped"; fi

## SQLITE_SUITE: the representative unit tests `make test` runs a second time on the SQLite engine
SQLITE_SUITE := tests/test_files.py tests/test_folders.py tests/test_trash_versions_search.py tests/test_auth.py \
	tests/test_compat.py tests/test_security_isolation.py tests/test_security_sessions.py \
	tests/test_revisions_and_usage.py tests/test_sharing.py tests/test_status_and_docs.py tests/test_dav.py \
	tests/test_admin_accounts.py tests/test_email.py tests/test_file_drop.py tests/test_bulk.py

## test: run the whole test suite (unit tests on mongomock, end-to-end on Gunicorn, browser tests in
## Chromium, the MongoDB tests on a secantusdb wire server from .venv-secantus/)
test: install-dev browser nginx node-clients dav-clients $(VENV_SECANTUS)/.installed
	$(BIN)/python -m pytest
	DRIVE_TEST_DB=sqlite $(BIN)/python -m pytest -q -m "not e2e" $(SQLITE_SUITE)

## test-fast: the in-process tests only (no Gunicorn, no browser, no fuzzer, no load run): the inner loop
test-fast: install-dev
	$(BIN)/python -m pytest -q -m "not e2e" --ignore=tests/test_fuzz_api.py --ignore=tests/test_load.py

## dav-clients: Debian's WebDAV clients for tests/test_dav_clients.py: litmus (the compliance
## suite), rclone and cadaver (installed with apt-get when run as root)
dav-clients:
	@if command -v litmus >/dev/null 2>&1 && command -v rclone >/dev/null 2>&1 && command -v cadaver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq litmus rclone cadaver >/dev/null; \
	else echo "note: litmus, rclone or cadaver is missing and this is not root: the WebDAV client tests will be skipped"; fi

## nginx: Debian's nginx (the download reference of `make bench`, the load balancer of
## tests/test_two_nodes.py, the TLS front of tests/test_deployment.py), logrotate and openssl for
## the deployment test (installed with apt-get when run as root)
nginx:
	@if command -v nginx >/dev/null 2>&1 && command -v logrotate >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx logrotate openssl >/dev/null; \
	else echo "note: nginx, logrotate or openssl is missing and this is not root: the deployment and two-node tests will fail or skip"; fi

## node-clients: the JavaScript tus client (tus-js-client) and axe-core, pinned in tests/js/package-lock.json:
## tests/test_tus_js_live.py runs the first in Node, tests/test_web_ui.py the second in Chromium
node-clients:
	@if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then \
		cd tests/js && npm ci --silent --no-audit --no-fund; \
	else echo "note: node and npm are not installed: the tus-js-client test will be skipped"; fi

## bench: API beside dd and nginx, 1 GiB and 1,000 x 64 KiB (not part of the pass/fail run; bench/README.md)
bench: install-dev nginx
	$(BIN)/python bench/compare.py

## screenshots: every view of the web app, light and dark, English and Arabic, 1366 and 390 px
## (test-artifacts/screenshots/views/; to look at, not part of the test run)
screenshots: install-dev browser
	$(BIN)/python tests/screenshots.py

clean:
	rm -rf $(VENV) $(VENV_SECANTUS) .pytest_cache

## purge-trash: delete for good what has been in the trash longer than TRASH_RETENTION_DAYS
purge-trash: install
	$(BIN)/flask --app wsgi purge-trash

## repair: report bytes without a record, records without bytes, wrong reference counts;
## `make repair ARGS=--fix` repairs them (stop the service first), ARGS=--verify hashes every byte
repair: install
	$(BIN)/flask --app wsgi repair $(ARGS)

## fuzz: tests/test_fuzz_api.py with more generated cases per operation than CI's 25 (about
## 20 minutes on 2 cores); `make fuzz FUZZ_EXAMPLES=500` for a longer run
FUZZ_EXAMPLES ?= 200
fuzz: install-dev
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/test_fuzz_api.py
