from __future__ import annotations

import os

import mongomock
import pytest

from app import create_app
from app.db import close_database
from config import TestingConfig
from tests.live_server import backend, new_server, server  # noqa: F401  (fixtures: a live Gunicorn server)
from tests.mongo_wire import mongo_wire  # noqa: F401  (a fixture: the MongoDB wire server)


# The unit tests run on mongomock (standing in for MongoDB); DRIVE_TEST_DB=sqlite runs them on
# the SQLite engine instead (`make test` does so for a representative set of files).
TEST_DB = os.environ.get("DRIVE_TEST_DB", "mongomock")
mongo_only = pytest.mark.skipif(TEST_DB != "mongomock", reason="reaches into MongoDB collections directly")


def make_app(tmp_path, **settings):
    """An app on the test database (mongomock, or SQLite with DRIVE_TEST_DB=sqlite or when
    ``EMBEDDED_DB_PATH`` is given) with these settings over TestingConfig's."""
    config = TestingConfig.load({})
    config.update(UPLOAD_FOLDER=str(tmp_path / "uploads"), INSTANCE_PATH=str(tmp_path / "instance"), **settings)
    if TEST_DB == "sqlite" or settings.get("EMBEDDED_DB_PATH"):
        config.setdefault("EMBEDDED_DB_PATH", str(tmp_path / "data"))
    else:
        config["MONGO_CLIENT_FACTORY"] = lambda: mongomock.MongoClient(tz_aware=True)
    return create_app(config)


@pytest.fixture
def app(tmp_path):
    application = make_app(tmp_path)
    yield application
    close_database(application)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_client(app):
    """A fresh client (its own cookie jar), for a second user."""
    return app.test_client


class AuthActions:
    def __init__(self, client):
        self.client = client

    def register(self, username="alice", password="correct horse"):
        return self.client.post("/api/register", json={"username": username, "password": password})

    def login(self, username="alice", password="correct horse"):
        return self.client.post("/api/login", json={"username": username, "password": password})

    def signup(self, username="alice", password="correct horse"):
        assert self.register(username, password).status_code == 201
        response = self.login(username, password)
        assert response.status_code == 200
        return response.get_json()


@pytest.fixture
def auth(client):
    return AuthActions(client)


def multipart_body(parts) -> tuple[bytes, str]:
    """Encode (field, filename, bytes, content_type) parts by hand, exactly as given."""
    boundary = "----test-boundary-7MA4YWxkTrZu0gW"
    chunks = []
    for field, filename, data, content_type in parts:
        escaped = filename.replace("\\", "\\\\").replace('"', '\\"')
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{escaped}"\r\n'
                      f"Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def upload(client, *files, query="", **headers):
    """POST /api/upload with (name, bytes[, content_type]) tuples, in one request."""
    body, content_type = multipart_body(
        [("file", f[0], f[1], f[2] if len(f) > 2 else "application/octet-stream") for f in files])
    return client.post("/api/upload" + query, data=body, content_type=content_type, headers=headers)


@pytest.fixture
def uploaded(client, auth):
    """A logged-in alice with one uploaded file; returns its record."""
    auth.signup()
    response = upload(client, ("report.txt", b"hello world\n", "text/plain"))
    assert response.status_code == 201
    return response.get_json()["files"][0]
