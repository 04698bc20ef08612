"""Login counters on MongoDB are kept in the app's own database (tests/mongo_wire.py's server)."""
from __future__ import annotations

import pymongo
import pytest

from tests.mongo_wire import make_wire_app, mongo_wire  # noqa: F401  (fixtures)

pytestmark = pytest.mark.e2e  # needs the wire server from .venv-secantus


def _wrong_login(client) -> int:
    return client.post("/api/login", json={"username": "alice", "password": "wrong guess"}).status_code


def test_two_drives_on_one_mongodb_server_do_not_share_login_counters(make_wire_app, mongo_wire):  # noqa: F811
    apps = []
    for _ in range(2):  # one after the other: the process has one limiter, bound to the last app
        apps.append(make_wire_app())
        apps[-1].config.update(LOGIN_RATE_LIMIT="2 per minute")
        with apps[-1].test_client() as client:  # the second drive has counted nothing yet
            assert [_wrong_login(client) for _ in range(3)] == [401, 401, 429]
    first, second = apps

    server = pymongo.MongoClient(mongo_wire, serverSelectionTimeoutMS=5000)
    try:
        for app in (first, second):
            database = server[app.config["RATELIMIT_STORAGE_OPTIONS"]["database_name"]]
            assert database["ratelimit_counters"].count_documents({}) >= 1
        assert "limits" not in server.list_database_names()
    finally:
        server.close()
