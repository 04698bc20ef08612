"""``flask backup`` and ``flask restore`` (app/backup.py): a backup taken while parallel
clients upload, replace and delete on a live Gunicorn restores into a fresh installation where
every file acknowledged before the backup began downloads with its SHA-256, and repair is clean."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading

import pytest
import requests

from tests.live_server import REPO_ROOT, GunicornServer

pytestmark = pytest.mark.e2e
PASSWORD = "password123"


def flask(server: GunicornServer, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=REPO_ROOT,
                          env={**server.env, **env}, capture_output=True, text=True, timeout=300)


def logged_in(server: GunicornServer, username: str = "alice") -> requests.Session:
    session = requests.Session()
    session.post(server.url("/api/register"), json={"username": username, "password": PASSWORD}, timeout=30)
    assert session.post(server.url("/api/login"), json={"username": username, "password": PASSWORD},
                        timeout=30).status_code == 200
    return session


def put(session, server, name: str, data: bytes, replace: bool = False) -> dict:
    query = "?on_conflict=replace" if replace else "?on_conflict=rename"
    response = session.post(server.url("/api/upload" + query), files={"file": (name, data)}, timeout=60)
    assert response.status_code == 201, response.text
    return response.json()["files"][0]


class Load:
    """Clients that upload, replace and delete (for good) their own files until stopped."""

    def __init__(self, server: GunicornServer, clients: int = 4):
        self.server, self.stop, self.done, self.errors = server, threading.Event(), [0] * clients, []
        self.threads = [threading.Thread(target=self.run, args=(n,)) for n in range(clients)]

    def run(self, number: int) -> None:
        session = logged_in(self.server, f"load{number}")
        try:
            mine = []
            while not self.stop.is_set():
                step = self.done[number]
                mine.append(put(session, self.server, f"load-{step % 7}.bin", os.urandom(2000 + step * 37 % 60000),
                                replace=step % 3 == 0))
                if len(mine) > 3:
                    gone = mine.pop(0)["id"]
                    session.delete(self.server.url(f"/api/files/{gone}"), timeout=30)
                    session.delete(self.server.url(f"/api/trash/{gone}"), timeout=30)
                self.done[number] += 1
        except Exception as error:  # reported by the test
            self.errors.append(repr(error))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


def test_a_backup_under_load_restores_every_acknowledged_file(server, tmp_path):
    alice = logged_in(server)
    folder = alice.post(server.url("/api/folders"), json={"name": "Été 2026", "parent_id": "root"}, timeout=30).json()
    acknowledged = {}
    for n in range(40):
        data = os.urandom(1000 + n * 4099)
        query = f"?folder_id={folder['id']}" if n % 2 else ""
        response = alice.post(server.url("/api/upload" + query), files={"file": (f"file {n}.bin", data)}, timeout=60)
        assert response.status_code == 201
        acknowledged[response.json()["files"][0]["id"]] = hashlib.sha256(data).hexdigest()
    dest = tmp_path / "backup"
    with Load(server) as load:
        while sum(load.done) < 8 and not load.errors:
            threading.Event().wait(0.05)
        before = sum(load.done)
        result = flask(server, "backup", str(dest))
        during = sum(load.done) - before
    assert not load.errors, load.errors
    assert result.returncode == 0, result.stderr
    assert "backup done" in result.stdout and during > 0  # the service kept serving writes meanwhile
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["blobs"] >= 40

    again = flask(server, "backup", str(dest))  # run again: only what is new is copied
    assert again.returncode == 0 and "bytes known at the start" in again.stdout

    restored = GunicornServer(tmp_path / "restored")
    result = flask(restored, "restore", str(dest))
    assert result.returncode == 0, result.stderr
    assert "restore done" in result.stdout
    repair = flask(restored, "repair")
    assert repair.returncode == 0 and repair.stdout.strip().endswith("clean"), repair.stdout
    restored.start()
    try:
        alice = requests.Session()
        assert alice.post(restored.url("/api/login"), json={"username": "alice", "password": PASSWORD},
                          timeout=30).status_code == 200
        for file_id, digest in acknowledged.items():
            response = alice.get(restored.url(f"/api/files/{file_id}"), timeout=60)
            assert response.status_code == 200 and hashlib.sha256(response.content).hexdigest() == digest
        names = {i["name"] for i in alice.get(restored.url(f"/api/folders/{folder['id']}/children?limit=200"),
                                               timeout=30).json()["items"]}
        assert len(names) == 20
    finally:
        restored.kill()
    again = flask(restored, "restore", str(dest))
    assert again.returncode != 0 and "empty installation" in again.stderr


def test_an_interrupted_backup_and_restore_finish_when_run_again(server, tmp_path):
    alice = logged_in(server)
    for n in range(6):
        put(alice, server, f"f{n}.txt", os.urandom(5000))
    dest = tmp_path / "backup"
    assert flask(server, "backup", str(dest)).returncode == 0
    # As if cut off: no manifest yet, half the bytes not copied.
    (dest / "manifest.json").unlink()
    blobs = sorted(p for p in (dest / "blobs").rglob("*") if p.is_file())
    for path in blobs[:3]:
        path.unlink()
    restored = GunicornServer(tmp_path / "restored")
    refused = flask(restored, "restore", str(dest))
    assert refused.returncode != 0 and "no finished backup" in refused.stderr
    result = flask(server, "backup", str(dest))
    assert result.returncode == 0 and "(3 copied" in result.stdout, result.stdout

    marker_then_cut = flask(restored, "restore", str(dest))
    assert marker_then_cut.returncode == 0
    for path in sorted(p for p in (tmp_path / "restored" / "uploads").rglob("*") if p.is_file())[:2]:
        path.unlink()  # bytes lost as if the restore had been cut off: the marker makes it resumable
    (tmp_path / "restored" / "data" / "RESTORING").write_text(json.loads((dest / "manifest.json").read_text())
                                                                  ["started_at"])
    resumed = flask(restored, "restore", str(dest))
    assert resumed.returncode == 0, resumed.stderr
    assert flask(restored, "repair").stdout.strip().endswith("clean")


def test_a_backup_of_encrypted_bytes_needs_its_key(new_server, tmp_path):
    key = "11" * 32
    server = new_server(ENCRYPTION_KEY=key)
    server.start()
    try:
        plan = b"the plan" * 100
        put(logged_in(server), server, "secret.txt", plan)
        dest = tmp_path / "backup"
        assert flask(server, "backup", str(dest)).returncode == 0
        again = flask(server, "backup", str(dest))  # sealed blobs are larger than their content: still 0 copied
        assert again.returncode == 0 and "(0 copied" in again.stdout, again.stdout
    finally:
        server.kill()
    stored = [p.read_bytes() for p in (dest / "blobs").rglob("*") if p.is_file()]
    assert stored and all(b"the plan" not in data for data in stored)  # as stored: sealed
    assert [p.name for p in (dest / "keys").iterdir()]  # with the users' data keys (sealed too)
    restored = GunicornServer(tmp_path / "restored")
    refused = flask(restored, "restore", str(dest))
    assert refused.returncode != 0 and "ENCRYPTION_KEY" in refused.stderr
    assert flask(restored, "restore", str(dest), ENCRYPTION_KEY=key).returncode == 0
    restored.env["ENCRYPTION_KEY"] = key
    restored.start()
    try:
        alice = requests.Session()
        alice.post(restored.url("/api/login"), json={"username": "alice", "password": PASSWORD}, timeout=30)
        file = alice.get(restored.url("/api/files"), timeout=30).json()["files"][0]
        assert alice.get(restored.url(f"/api/files/{file['id']}"), timeout=30).content == plan
    finally:
        restored.kill()
