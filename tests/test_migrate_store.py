"""An embedded store written by the landed litemongo version (tests/fixtures/litemongo_store,
made by tests/fixtures/make_litemongo_store.py at commit 2e9423b) carries over to the SQLite
engine at start-up: every user, session, item, version, trashed item, blob, password-protected
share and token intact, and a second start (or an interrupted first) changes nothing. The old
engine itself is no longer a dependency: the migration reads its files with sqlite3 and bson."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap

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
    settings.update(EMBEDDED_DB_PATH=str(store / "data"), UPLOAD_FOLDER=str(store / "uploads"),
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


# Run in a fresh interpreter where any import of litemongo fails, as on a machine that never
# installed it: every module of the app is imported, then an app starts on the old store.
WITHOUT_LITEMONGO = textwrap.dedent("""
    import importlib, importlib.abc, json, pkgutil, sys

    class NoLitemongo(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "litemongo":
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)

    sys.meta_path.insert(0, NoLitemongo())
    import app, config
    for module in pkgutil.walk_packages(app.__path__, "app."):
        importlib.import_module(module.name)

    store = sys.argv[1]
    settings = config.TestingConfig.load({})
    settings.update(EMBEDDED_DB_PATH=store + "/data", UPLOAD_FOLDER=store + "/uploads",
                    INSTANCE_PATH=store + "/instance", SECRET_KEY="fixture")
    application = app.create_app(settings)
    client = application.test_client()
    login = client.post("/api/login", json={"username": "alice", "password": sys.argv[2]})
    files = client.get("/api/files?limit=200").get_json()["files"]
    command = application.test_cli_runner().invoke(args=["migrate-store", "--again"])
    print(json.dumps({"login": login.status_code, "files": sorted(f["name"] for f in files),
                      "command": [command.exit_code, command.output],
                      "loaded": sorted(m for m in sys.modules if m.split(".")[0] == "litemongo")}))
""")


def test_the_migration_runs_where_litemongo_cannot_be_imported(old_store):
    store, expected = old_store
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ran = subprocess.run([sys.executable, "-c", WITHOUT_LITEMONGO, str(store), expected["alice"]["password"]],
                         cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    assert result["login"] == 200
    assert result["files"] == sorted(expected["alice"]["files"])
    exit_code, output = result["command"]
    assert exit_code == 0 and "already there" in output, output
    assert result["loaded"] == []
