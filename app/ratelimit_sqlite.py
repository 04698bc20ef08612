"""A `limits` storage in SQLite, so the rate limits of the embedded default hold across
Gunicorn workers: every worker counts in one file beside the embedded database.

Importing this module registers the ``sqlite`` scheme with `limits`
(``RATELIMIT_STORAGE_URI=sqlite:////abs/path/ratelimit.sqlite3``: the path is everything
after ``sqlite://``). It implements what the fixed-window strategy (Flask-Limiter's default,
the one this app uses) needs. Each hit is one ``INSERT ... ON CONFLICT DO UPDATE ...
RETURNING`` in a ``BEGIN IMMEDIATE`` transaction: the count, the start of a new window when
the old one has expired, and the removal of a batch of expired rows happen atomically, so
workers never lose a hit and the table never grows without bound.

The counters have their own file, not a table of the drive's database: a login attempt then
never waits for an upload's commit to release the write lock.
"""
from __future__ import annotations

import os
import sqlite3
import time

from limits.errors import ConfigurationError
from limits.storage import Storage

from .sqlite_db import SQLiteDatabase

SCHEME = "sqlite"
FILE_NAME = "ratelimit.sqlite3"
# How many expired counters one hit removes on its way: more than a hit can add (one).
EXPIRED_BATCH = 100

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rate_limits (
    key TEXT PRIMARY KEY,
    hits INTEGER NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rate_limits_expiry ON rate_limits (expires_at)
"""
# In SQLite's DO UPDATE every expression reads the row as it was: both CASEs see the old expiry.
_HIT = """
INSERT INTO rate_limits (key, hits, expires_at) VALUES (:key, :amount, :now + :expiry)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN expires_at <= :now THEN :amount ELSE hits + :amount END,
    expires_at = CASE WHEN expires_at <= :now THEN :now + :expiry ELSE expires_at END
RETURNING hits
"""
_PURGE = ("DELETE FROM rate_limits WHERE key IN "
          "(SELECT key FROM rate_limits WHERE expires_at <= ? LIMIT ?)")


def storage_uri(folder: str) -> str:
    """The URI of the counters file in ``folder`` (the embedded database's folder)."""
    return f"{SCHEME}://{os.path.join(os.path.abspath(folder), FILE_NAME)}"


class SQLiteStorage(Storage):
    """Fixed-window counters in a SQLite file shared by every process that opens it."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: float | str | bool):
        path = uri[len(f"{SCHEME}://"):]
        if not path:
            raise ConfigurationError(f"{uri!r}: a SQLite rate-limit storage needs a file, "
                                     f"e.g. {SCHEME}:////var/lib/drive/{FILE_NAME}")
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._db = SQLiteDatabase(path)
        self._db.script(_SCHEMA)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count ``amount`` hits on ``key`` (a new window of ``expiry`` seconds if the last one
        ended) and return the window's total."""
        now = time.time()
        with self._db.transaction() as conn:
            conn.execute(_PURGE, (now, EXPIRED_BATCH))
            # Read to the end before the commit, as SQLite requires of RETURNING.
            [(hits,)] = conn.execute(_HIT, {"key": key, "amount": amount, "now": now, "expiry": expiry}).fetchall()
        return hits

    def get(self, key: str) -> int:
        row = self._db.read_one("SELECT hits FROM rate_limits WHERE key = ? AND expires_at > ?", (key, time.time()))
        return row["hits"] if row else 0

    def get_expiry(self, key: str) -> float:
        """When the key's window ends (now, for a key with no live window), as a Unix time."""
        now = time.time()
        row = self._db.read_one("SELECT expires_at FROM rate_limits WHERE key = ? AND expires_at > ?", (key, now))
        return row["expires_at"] if row else now

    def check(self) -> bool:
        try:
            self._db.ping()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._db.write("DELETE FROM rate_limits").rowcount

    def clear(self, key: str) -> None:
        self._db.write("DELETE FROM rate_limits WHERE key = ?", (key,))

    def close(self) -> None:
        self._db.close()
