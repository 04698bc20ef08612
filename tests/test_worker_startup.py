"""Workers starting at the same moment on a fresh embedded install agree on everything
they set up: the generated secret key (or one worker's cookies would not work in the other),
the database file and its tables. Each race is run by real processes, many times."""
from __future__ import annotations

import os
import time

from flask import Flask

from tests.processes import RACE_TIMEOUT_S, race

ROUNDS = 40


def _start_worker(folder: str, rounds: int, barrier, results) -> None:
    from app.security import ensure_secret_key

    keys = []
    for n in range(rounds):
        barrier.wait(timeout=RACE_TIMEOUT_S)
        app = Flask("worker", instance_path=os.path.join(folder, str(n)))
        app.config.update(SECRET_KEY=None, SECRET_KEY_REQUIRED=False)
        try:
            ensure_secret_key(app)
            keys.append(app.config["SECRET_KEY"])
        except Exception as exc:  # noqa: BLE001  (a worker that fails to boot)
            keys.append(f"failed: {exc!r}")
    results.put(keys)


def test_workers_generating_the_secret_key_at_once_end_with_the_same_key(tmp_path):
    first, second = race(_start_worker, *[(str(tmp_path), ROUNDS)] * 2)
    for n, (mine, theirs) in enumerate(zip(first, second)):
        assert len(mine) == 64 and mine == theirs, f"round {n}: {mine!r} vs {theirs!r}"
        with open(tmp_path / str(n) / "secret_key", encoding="ascii") as fh:
            assert fh.read() == mine
    assert not [name for n in range(ROUNDS) for name in os.listdir(tmp_path / str(n)) if name != "secret_key"]


def _start_app(folder: str, rounds: int, barrier, results) -> None:
    from app import create_app
    from app.db import close_database
    from config import TestingConfig

    outcomes = []
    for n in range(rounds):
        settings = TestingConfig.load({})
        root = os.path.join(folder, str(n))
        settings.update(UPLOAD_FOLDER=os.path.join(root, "uploads"), INSTANCE_PATH=os.path.join(root, "instance"),
                        EMBEDDED_DB_PATH=os.path.join(root, "data"), SECRET_KEY=None)
        barrier.wait(timeout=RACE_TIMEOUT_S)
        try:
            app = create_app(settings)
        except Exception as exc:  # noqa: BLE001  (a worker that fails to boot)
            outcomes.append(f"failed: {exc!r}")
            continue
        client = app.test_client()
        name = f"user{os.getpid()}"
        registered = client.post("/api/register", json={"username": name, "password": "correct horse"})
        logged_in = client.post("/api/login", json={"username": name, "password": "correct horse"})
        outcomes.append(f"{registered.status_code} {logged_in.status_code}")
        close_database(app)
    results.put(outcomes)


def test_workers_creating_a_fresh_database_at_once_both_serve(tmp_path):
    """Both create the database file, switch it to WAL, create the tables and run the start-up
    migration check at the same moment; both then serve (register and log in)."""
    for outcomes in race(_start_app, *[(str(tmp_path), 8)] * 2):
        assert outcomes == ["201 200"] * 8


def _start_on_old_store(store: str, role: str, barrier, results) -> None:
    """One worker's start on an old litemongo store, the second one slower to go from its
    look at the store to the copy; the first, once serving, revokes every share link."""
    from app import create_app, migrate_store
    from app.db import close_database, get_db
    from config import TestingConfig

    look = migrate_store.migrated
    delay = {"first": 0.2, "second": 1.5}[role]

    def slow_look(db):
        answer = look(db)
        time.sleep(delay)
        return answer

    migrate_store.migrated = slow_look
    settings = TestingConfig.load({})
    settings.update(EMBEDDED_DB_PATH=os.path.join(store, "data"), UPLOAD_FOLDER=os.path.join(store, "uploads"),
                    INSTANCE_PATH=os.path.join(store, "instance"), SECRET_KEY="fixture")
    barrier.wait(timeout=RACE_TIMEOUT_S)
    app = create_app(settings)
    with app.app_context():
        if role == "first":
            get_db().write("DELETE FROM shares")
        results.put((role, get_db().read_one("SELECT count(*) AS n FROM shares")["n"]))
    close_database(app)


def test_a_share_revoked_while_another_worker_starts_stays_revoked(tmp_path):
    """Two workers start on a store of the old engine at once. The one that finishes its
    start first serves a user who revokes their share links; the other, still starting,
    must not copy them back from the old files."""
    import shutil

    from tests.test_migrate_store import FIXTURE

    shutil.copytree(FIXTURE, tmp_path / "store")
    counts = dict(race(_start_on_old_store, (str(tmp_path / "store"), "first"), (str(tmp_path / "store"), "second")))
    assert counts["first"] == 0
    from app.sqlite_db import SQLiteDatabase
    db = SQLiteDatabase(str(tmp_path / "store" / "data" / "drive.sqlite3"))
    try:
        assert db.read_one("SELECT count(*) AS n FROM shares")["n"] == 0, "a revoked share link came back"
    finally:
        db.close()
