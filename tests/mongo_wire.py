"""A real MongoDB wire-protocol server for the tests: secantusdb, from its own virtualenv.

No mongod can be installed on the machines this project is built on, but secantusdb (PyPI,
GPL-2.0, beta, single node, WiredTiger underneath) speaks the wire protocol to the real
pymongo driver. It is a test tool, never a dependency of the app: ``make test`` installs it
into ``.venv-secantus/`` (requirements-secantus.txt) and the session-scoped ``mongo_wire``
fixture starts it once, on a free loopback port with a temporary data directory, as a
standalone server (no replica-set advertisement, so no transactions, like a plain mongod).

Every test gets a database of its own on that one server (``wire_database_uri``), so tests
never see each other's users or rate-limit counters.

Without the virtualenv the tests that need the server are skipped, unless
``REQUIRE_MONGO_WIRE=1`` (CI sets it), in which case they fail.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import pymongo
import pytest

from tests.live_server import REPO_ROOT, _free_port

SECANTUS_PYTHON = os.path.join(REPO_ROOT, ".venv-secantus", "bin", "python")
START_TIMEOUT_S = 60  # about 1 s on an idle 2-core machine
STOP_TIMEOUT_S = 20


def _missing(reason: str):
    if os.environ.get("REQUIRE_MONGO_WIRE") == "1":
        pytest.fail(f"{reason} (REQUIRE_MONGO_WIRE=1)")
    pytest.skip(reason)


def _ping(uri: str) -> bool:
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=250, connectTimeoutMS=250)
    try:
        client.admin.command("ping")
        return True
    except pymongo.errors.PyMongoError:
        return False
    finally:
        client.close()


def _stop(proc: subprocess.Popen) -> None:
    """TERM the server's process group, then KILL whatever is left of it."""
    for sig, grace in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def mongo_wire(tmp_path_factory):
    """The URI (no database) of a secantusdb server on loopback, for the whole test session."""
    if not os.path.exists(SECANTUS_PYTHON):
        _missing(f"no MongoDB wire server: {SECANTUS_PYTHON} is missing (`make test` installs "
                 "secantusdb there from requirements-secantus.txt)")
    home = tmp_path_factory.mktemp("secantus")
    port = _free_port()
    uri = f"mongodb://127.0.0.1:{port}"
    log_path = home / "secantus.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [SECANTUS_PYTHON, "-m", "secantus", "--host", "127.0.0.1", "--port", str(port),
             "--storage-path", str(home / "data"), "--standalone", "--log-level", "WARNING"],
            cwd=home, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _ping(uri):
            if proc.poll() is not None or time.monotonic() > deadline:
                what = f"exited with {proc.returncode}" if proc.poll() is not None else \
                    f"did not answer ping within {START_TIMEOUT_S}s"
                pytest.fail(f"secantusdb {what}:\n{log_path.read_text(errors='replace')[-4000:]}")
            time.sleep(0.05)
        yield uri
    finally:
        _stop(proc)


def wire_env(server_uri: str) -> dict[str, str]:
    """Settings (environment variables) for an app on a database of its own on the wire server.

    The app reads the database name from the URI's path, and keeps its login counters there
    too. Tests log many clients in from 127.0.0.1 within a minute, so the login limits are
    lifted; the rate-limit tests set their own."""
    return {"MONGO_URI": f"{server_uri}/drive_{uuid.uuid4().hex[:12]}",
            "LOGIN_RATE_LIMIT": "10000 per minute", "LOGIN_IP_RATE_LIMIT": "10000 per minute"}


@pytest.fixture
def make_wire_app(mongo_wire, tmp_path):
    """Build the unit tests' app on a fresh database of the wire server (like ``app``, which uses
    mongomock); the clients are closed at the end."""
    from app import create_app
    from config import TestingConfig

    apps = []

    def make():
        settings = TestingConfig.load(wire_env(mongo_wire))
        settings.update(UPLOAD_FOLDER=str(tmp_path / "uploads"), INSTANCE_PATH=str(tmp_path / "instance"))
        apps.append(create_app(settings))
        return apps[-1]
    yield make
    for app in apps:
        app.extensions["drive_db"].close()
