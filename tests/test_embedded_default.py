"""The embedded default (the SQLite engine, used when MONGO_URI is unset): data on disk, kept
across restarts, safe under threads."""
import threading

import pytest

from app import create_app
from app.db import close_database
from config import TestingConfig
from tests.conftest import AuthActions, upload


@pytest.fixture
def make_embedded_app(tmp_path):
    apps = []

    def make():
        settings = TestingConfig.load({})
        settings.update(EMBEDDED_DB_PATH=str(tmp_path / "data"), UPLOAD_FOLDER=str(tmp_path / "uploads"),
                        INSTANCE_PATH=str(tmp_path / "instance"))
        app = create_app(settings)
        apps.append(app)
        return app
    yield make
    for app in apps:
        close_database(app)


def test_users_and_files_survive_a_restart(make_embedded_app):
    first = make_embedded_app()
    assert first.extensions["drive_db"].kind == "sqlite"
    client = first.test_client()
    AuthActions(client).signup()
    record = upload(client, ("notes.txt", b"keep me")).get_json()["files"][0]
    close_database(first)

    second = make_embedded_app()
    client = second.test_client()
    assert AuthActions(client).login().status_code == 200
    assert client.get(f"/api/files/{record['id']}/info").get_json() == record
    assert AuthActions(client).register().status_code == 409


def test_concurrent_requests_on_threads_keep_the_unique_index(make_embedded_app):
    app = make_embedded_app()
    results = []

    def register():
        response = app.test_client().post("/api/register", json={"username": "same", "password": "password123"})
        results.append(response.status_code)
    threads = [threading.Thread(target=register) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [201] + [409] * 7


def test_concurrent_uploads_on_threads_are_all_recorded(make_embedded_app):
    app = make_embedded_app()
    client = app.test_client()
    AuthActions(client).signup()
    cookie = client.get_cookie("session").value
    statuses = []

    def send(i):
        worker = app.test_client()
        worker.set_cookie("session", cookie)
        statuses.append(upload(worker, (f"f{i}.txt", b"x" * i)).status_code)
    threads = [threading.Thread(target=send, args=(i,)) for i in range(1, 13)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 12
    listing = client.get("/api/files?limit=50").get_json()
    assert listing["total"] == 12
    assert client.get("/api/me").get_json()["used_bytes"] == sum(range(1, 13))
