"""Workers starting at the same moment on a fresh embedded install agree on everything
they set up: the generated secret key (or one worker's cookies would not work in the other),
the database file and its tables. Each race is run by real processes, many times."""
from __future__ import annotations

import multiprocessing
import os

from flask import Flask

ROUNDS = 40


def _start_worker(folder: str, rounds: int, barrier, results) -> None:
    from app.security import ensure_secret_key

    keys = []
    for n in range(rounds):
        barrier.wait(timeout=60)
        app = Flask("worker", instance_path=os.path.join(folder, str(n)))
        app.config.update(SECRET_KEY=None, SECRET_KEY_REQUIRED=False)
        try:
            ensure_secret_key(app)
            keys.append(app.config["SECRET_KEY"])
        except Exception as exc:  # noqa: BLE001  (a worker that fails to boot)
            keys.append(f"failed: {exc!r}")
    results.put(keys)


def race(target, *args, processes: int = 2) -> list:
    """Run ``target(*args, barrier, results)`` in ``processes`` fresh interpreters at once and
    return what each put on ``results``."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    procs = [context.Process(target=target, args=(*args, barrier, results)) for _ in range(processes)]
    for proc in procs:
        proc.start()
    out = [results.get(timeout=300) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    return out


def test_workers_generating_the_secret_key_at_once_end_with_the_same_key(tmp_path):
    first, second = race(_start_worker, str(tmp_path), ROUNDS)
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
        barrier.wait(timeout=60)
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
    for outcomes in race(_start_app, str(tmp_path), 8):
        assert outcomes == ["201 200"] * 8
