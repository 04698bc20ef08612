"""The SQLite rate-limit storage (app/ratelimit_sqlite.py): counters every worker of the
embedded default shares, exact under concurrent processes, and a file that does not grow."""
from __future__ import annotations

import sqlite3

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from app import create_app
from app import ratelimit_sqlite
from app.db import close_database
from app.ratelimit_sqlite import SQLiteStorage, storage_uri
from config import TestingConfig
from tests.processes import RACE_TIMEOUT_S, race

HITS_PER_PROCESS = 300


class Clock:
    """Stands in for time.time() in the storage, so windows end when the test says."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(ratelimit_sqlite.time, "time", fake)
    return fake


@pytest.fixture
def storage(tmp_path):
    store = storage_from_string(storage_uri(str(tmp_path)))
    yield store
    store.close()


def rows(store: SQLiteStorage) -> int:
    return store._db.read_one("SELECT count(*) AS n FROM rate_limits")["n"]


def test_the_sqlite_scheme_makes_a_sqlite_storage_in_the_named_file(tmp_path, storage):
    assert isinstance(storage, SQLiteStorage)
    assert (tmp_path / "ratelimit.sqlite3").is_file()
    assert storage.check()


def test_a_uri_without_a_file_is_refused():
    from limits.errors import ConfigurationError
    with pytest.raises(ConfigurationError, match="needs a file"):
        storage_from_string("sqlite://")


def test_hits_count_up_within_a_window_and_start_again_after_it(storage, clock):
    limiter = FixedWindowRateLimiter(storage)
    five = parse("5 per minute")
    assert [limiter.hit(five, "alice") for _ in range(6)] == [True] * 5 + [False]
    assert storage.get(five.key_for("alice")) == 6
    assert storage.get_expiry(five.key_for("alice")) == clock.now + 60
    assert limiter.hit(five, "bob"), "another key has its own counter"
    clock.now += 59.9
    assert not limiter.hit(five, "alice")
    clock.now += 0.1
    assert storage.get(five.key_for("alice")) == 0
    assert limiter.hit(five, "alice"), "a new window starts once the old one ended"
    assert storage.get(five.key_for("alice")) == 1
    assert storage.get_expiry(five.key_for("alice")) == clock.now + 60


def test_clear_forgets_one_key_and_reset_all(storage, clock):
    for key in ("a", "a", "b"):
        storage.incr(key, 60)
    storage.clear("a")
    assert (storage.get("a"), storage.get("b")) == (0, 1)
    assert storage.get_expiry("a") == clock.now
    assert storage.reset() == 1
    assert storage.get("b") == 0


def test_expired_counters_do_not_pile_up(storage, clock):
    """A stream of distinct addresses, one a second, each counted for a minute: the table
    keeps about a minute's worth, not everything it has ever seen."""
    for address in range(2000):
        storage.incr(f"login-ip:{address}", 60)
        clock.now += 1
    assert rows(storage) <= 61


def _hit_many(path: str, barrier, results) -> None:
    store = SQLiteStorage(storage_uri(path))
    barrier.wait(timeout=RACE_TIMEOUT_S)
    results.put([store.incr("login:alice", 3600) for _ in range(HITS_PER_PROCESS)])
    store.close()


def test_two_processes_counting_the_same_key_lose_no_hit(tmp_path):
    first, second = race(_hit_many, (str(tmp_path),), (str(tmp_path),))
    total = 2 * HITS_PER_PROCESS
    # Every hit saw its own count: no two hits read the same total, none was lost.
    assert sorted(first + second) == list(range(1, total + 1))
    store = SQLiteStorage(storage_uri(str(tmp_path)))
    assert store.get("login:alice") == total
    store.close()


# -- the app picks it by default on the embedded database -----------------------------------

def sqlite_app(tmp_path, **overrides):
    settings = TestingConfig.load({})
    settings.update(UPLOAD_FOLDER=str(tmp_path / "uploads"), INSTANCE_PATH=str(tmp_path / "instance"),
                    EMBEDDED_DB_PATH=str(tmp_path / "data"), LOGIN_RATE_LIMIT="3 per minute", **overrides)
    return create_app(settings)


def wrong_logins(app, count: int) -> list[int]:
    client = app.test_client()
    return [client.post("/api/login", json={"username": "alice", "password": f"guess {n}"}).status_code
            for n in range(count)]


def test_login_attempts_counted_by_one_worker_hold_in_the_next(tmp_path):
    """A second app on the same embedded database (another worker, or the same server
    restarted) sees the attempts the first one counted."""
    first = sqlite_app(tmp_path)
    assert first.config["RATELIMIT_STORAGE_URI"] == f"sqlite://{tmp_path / 'data' / 'ratelimit.sqlite3'}"
    assert wrong_logins(first, 3) == [401, 401, 401]
    second = sqlite_app(tmp_path)
    try:
        assert wrong_logins(second, 1) == [429]
    finally:
        close_database(first)
        close_database(second)


def test_memory_storage_can_still_be_chosen(tmp_path):
    first = sqlite_app(tmp_path, RATELIMIT_STORAGE_URI="memory://")
    assert wrong_logins(first, 3) == [401, 401, 401]
    second = sqlite_app(tmp_path, RATELIMIT_STORAGE_URI="memory://")
    try:
        assert wrong_logins(second, 1) == [401], "memory:// counts per process"
        assert not (tmp_path / "data" / "ratelimit.sqlite3").exists()
    finally:
        close_database(first)
        close_database(second)


def test_the_counters_file_is_in_wal_mode(tmp_path, storage):
    conn = sqlite3.connect(tmp_path / "ratelimit.sqlite3")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
