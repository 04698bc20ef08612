"""An embedded store written by the landed litemongo version (tests/fixtures/litemongo_store,
made by tests/fixtures/make_litemongo_store.py at commit 2e9423b) carries over to the SQLite
engine at start-up: every user, session, item, version, trashed item, blob, password-protected
share and token intact, and a second start (or an interrupted first) changes nothing."""
from __future__ import annotations

import hashlib
import json
import os
import shutil

import pytest

from app import create_app
from app.db import close_database
from app.services import services
from config import TestingConfig

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "litemongo_store")


@pytest.fixture
def old_store(tmp_path):
    shutil.copytree(FIXTURE, tmp_path / "store")
    with open(FIXTURE + "/expected.json", encoding="utf-8") as fh:
        return tmp_path / "store", json.load(fh)


def sqlite_app(store):
    settings = TestingConfig.load({})
    settings.update(EMBEDDED_ENGINE="sqlite", EMBEDDED_DB_PATH=str(store / "data"), UPLOAD_FOLDER=str(store / "uploads"),
                    INSTANCE_PATH=str(store / "instance"), SECRET_KEY="fixture")
    return create_app(settings)


def login(app, username: str, password: str):
    client = app.test_client()
    response = client.post("/api/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return client


def sha_of(client, url: str) -> str:
    response = client.get(url)
    try:
        assert response.status_code == 200, (url, response.status_code)
        return hashlib.sha256(response.data).hexdigest()
    finally:
        response.close()


def test_an_old_store_carries_over_whole(old_store):
    store, expected = old_store
    app = sqlite_app(store)
    try:
        alice = login(app, "alice", expected["alice"]["password"])
        files = alice.get("/api/files?limit=200").get_json()["files"]
        assert {f["name"]: f["sha256"] for f in files} == expected["alice"]["files"]
        for file in files:
            assert sha_of(alice, f"/api/files/{file['id']}") == file["sha256"]
            assert file["revision"] == 1 or file["id"] == expected["alice"]["report_id"]
        [version] = alice.get(f"/api/files/{expected['alice']['report_id']}/versions").get_json()["versions"]
        assert sha_of(alice, f"/api/files/{expected['alice']['report_id']}/versions/{version['id']}") == \
            expected["alice"]["report_version_sha256"]
        trash = alice.get("/api/trash").get_json()["items"]
        assert [t["name"] for t in trash] == [expected["alice"]["trashed"]]
        assert [s["name"] for s in alice.get("/api/starred").get_json()["items"]] == [expected["alice"]["starred"]]
        usage = alice.get("/api/me/usage").get_json()
        assert usage["file_count"] == 3 and usage["used_bytes"] > 0

        token = app.test_client()
        assert token.get("/api/files", headers={"Authorization": f"Bearer {expected['alice']['token']}"}
                         ).status_code == 200

        bob = login(app, "bob", expected["bob"]["password"])
        assert {f["name"]: f["sha256"] for f in bob.get("/api/files").get_json()["files"]} == expected["bob"]["files"]
        assert bob.get(f"/api/files/{expected['alice']['report_id']}/info").status_code == 404

        link = expected["share"]["url"].split("/s/", 1)[1]
        visitor = app.test_client()
        assert visitor.get(f"/s/{link}/items", headers={"Accept": "application/json"}).status_code == 401
        unlocked = visitor.post(f"/s/{link}/unlock", json={"password": expected["share"]["password"]})
        assert unlocked.status_code in (200, 204), unlocked.get_json()
        assert visitor.get(f"/s/{link}/items", headers={"Accept": "application/json"}).status_code == 200

        with app.app_context():
            assert services().repair.scan(verify=True).clean
    finally:
        close_database(app)


def test_a_second_start_copies_nothing_again_and_the_command_reports(old_store):
    store, _ = old_store
    close_database(sqlite_app(store))
    app = sqlite_app(store)
    try:
        result = app.test_cli_runner().invoke(args=["migrate-store"])
        assert result.exit_code == 0, result.output
        assert "nothing to migrate" in result.output
        again = app.test_cli_runner().invoke(args=["migrate-store", "--again"])
        assert "items: 0 copied" in again.output and "already there" in again.output
        alice = login(app, "alice", "correct horse battery")
        assert len(alice.get("/api/files").get_json()["files"]) == 3
    finally:
        close_database(app)
