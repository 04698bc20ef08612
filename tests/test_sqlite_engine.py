"""The SQLite engine itself: durable settings, several processes on one file, and a busy or
failing database answered as a database error (503), never a 500 or a half-done write."""
from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from app import create_app
from app.db import close_database
from app.drive.sqlite_repo import SQLiteBlobsRepository
from app.sqlite_db import SQLiteDatabase
from config import TestingConfig
from tests.conftest import AuthActions, upload

OWNER = "c" * 24


def test_every_commit_is_durable_and_readers_never_block_the_writer(tmp_path):
    db = SQLiteDatabase(str(tmp_path / "x.sqlite3"))
    try:
        assert db.read_one("PRAGMA journal_mode")[0] == "wal"
        assert db.read_one("PRAGMA synchronous")[0] == 2  # FULL: fsync at every commit
        assert db.read_one("PRAGMA foreign_keys")[0] == 1
    finally:
        db.close()


def _charge_many(path: str, times: int, results) -> None:
    db = SQLiteDatabase(path)
    blobs = SQLiteBlobsRepository(db)
    results.put(sum(blobs.charge(OWNER, 1, 60) for _ in range(times)))
    db.close()


def test_a_quota_holds_across_processes_sharing_the_file(tmp_path):
    """Several Gunicorn workers are several processes: the conditional UPDATE holds there too."""
    path = str(tmp_path / "shared.sqlite3")
    db = SQLiteDatabase(path)
    SQLiteBlobsRepository(db).ensure_indexes()
    results = multiprocessing.get_context("spawn").Queue()
    workers = [multiprocessing.get_context("spawn").Process(target=_charge_many, args=(path, 50, results))
               for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert sum(results.get(timeout=5) for _ in workers) == 60
    assert SQLiteBlobsRepository(db).used_bytes(OWNER) == 60
    db.close()


@pytest.fixture
def sqlite_app(tmp_path):
    settings = TestingConfig.load({})
    settings.update(EMBEDDED_DB_PATH=str(tmp_path / "data"),
                    UPLOAD_FOLDER=str(tmp_path / "uploads"), INSTANCE_PATH=str(tmp_path / "instance"))
    app = create_app(settings)
    yield app
    close_database(app)


def test_a_locked_database_is_a_503_and_the_upload_leaves_nothing(sqlite_app, monkeypatch):
    client = sqlite_app.test_client()
    AuthActions(client).signup()

    def locked(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")
    monkeypatch.setattr(SQLiteBlobsRepository, "insert", locked)
    response = upload(client, ("a.txt", b"never stored"))
    monkeypatch.undo()
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "database_error"
    assert client.get("/api/files").get_json()["files"] == []
    assert client.get("/api/me/usage").get_json()["used_bytes"] == 0


def test_opening_waits_while_another_process_holds_the_new_file(tmp_path):
    """A second worker starting while the first is writing the fresh file (before WAL is on:
    creating tables, migrating an old store) got "database is locked" at once, and did not
    boot: SQLite's busy handler does not wait for a lock a journal-mode switch needs."""
    import sqlite3
    import threading

    from app.sqlite_db import SQLiteDatabase

    path = str(tmp_path / "drive.sqlite3")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    releaser = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
    releaser.start()
    try:
        db = SQLiteDatabase(path)
    finally:
        releaser.join()
        holder.close()
    assert db.read_one("PRAGMA journal_mode")[0] == "wal"
    db.close()
