"""The SQLite database handle for the embedded default (issue 10): one file, WAL, every commit
fsynced (``synchronous=FULL``), one connection per thread, safe for several processes.

Repositories hold real tables and columns (their ``ensure_indexes`` creates them) and call
:meth:`SQLiteDatabase.transaction` around each named operation that writes more than one
row, so an invariant never depends on read-then-write in Python. Values cross the boundary
through the small converters below: ids are 24-hex strings in the database and ObjectIds in
the app; times are fixed-width ISO 8601 UTC strings (they sort as text) and timezone-aware
datetimes in the app.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator

from bson import ObjectId

BUSY_TIMEOUT_MS = 30_000
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def oid(value: ObjectId | str | None) -> str | None:
    """An id as stored: 24 hex digits (None stays None)."""
    return None if value is None else str(value)


def to_oid(value: str | None) -> ObjectId | None:
    return None if value is None else ObjectId(value)


def when(value: datetime | None) -> str | None:
    """A time as stored: UTC, microseconds, fixed width, so text order is time order."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime(_TIME_FORMAT)


def to_when(value: str | None) -> datetime | None:
    # fromisoformat reads what ``when`` writes (Python 3.11 takes the "Z"), 50 times faster
    # than strptime: a listing of 10,000 items spent a fifth of its time here.
    return None if value is None else datetime.fromisoformat(value)


class SQLiteDatabase:
    """Owns the file; lends connections from a small pool, one per operation or transaction.

    A connection is held only while SQL runs, never for a whole request: under Gunicorn's
    gevent worker every connection is a greenlet with its own "thread" locals, and hundreds of
    clients slowly sending a body would otherwise each keep a connection (and its files) open.
    """

    kind = "sqlite"
    IDLE_MAX = 8  # connections kept open between operations; more are closed when given back

    def __init__(self, path: str):
        os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
        self.path = path
        self._local = threading.local()  # the connection of the transaction this thread is in
        self._idle: list[sqlite3.Connection] = []
        self._all: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        # One write transaction at a time in this process, waited for here. Under the gevent
        # worker a transaction's greenlet could yield (to another greenlet's I/O) while it holds
        # SQLite's write lock: a second greenlet's BEGIN IMMEDIATE would then wait in SQLite's
        # busy handler, which sleeps in C without yielding, and the holder could never go on
        # until the busy timeout. A (gevent-patched) lock yields to the holder instead.
        self._writer = threading.Lock()
        self.commits = 0  # write transactions committed through this handle (tests count them)
        self._closed = False
        self._switch_to_wal()

    def _switch_to_wal(self) -> None:
        """Put the database in WAL mode (once per file; later a no-op). Outside any transaction:
        SQLite ignores a journal mode change inside one. The change needs the file to itself
        and SQLite answers "database is locked" at once, without its busy handler, while
        another process (a second worker starting) holds a lock on it: so wait here."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                with self._lease() as conn:
                    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower()
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        if mode != "wal":
            raise RuntimeError(f"{self.path}: SQLite could not switch to WAL (a file system without shared memory?)")

    def connection(self) -> sqlite3.Connection:
        """The connection this thread's next statement runs on (the transaction's, or the pool's
        most recent: a caller may set a trace callback on it)."""
        with self._lease() as conn:
            return conn

    @contextmanager
    def _lease(self) -> Iterator[sqlite3.Connection]:
        conn = getattr(self._local, "conn", None)
        if conn is not None:  # inside this thread's transaction
            yield conn
            return
        with self._guard:
            if self._closed:
                raise sqlite3.ProgrammingError("the database is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            self._give_back(conn)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        with self._guard:
            self._all.append(conn)
        return conn

    def _give_back(self, conn: sqlite3.Connection) -> None:
        reusable = not self._closed
        if reusable and conn.in_transaction:  # a failed COMMIT must not leak into the next lease
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                reusable = False
        with self._guard:
            if reusable and len(self._idle) < self.IDLE_MAX:
                self._idle.append(conn)
                return
            if conn in self._all:
                self._all.remove(conn)
        conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``: the write lock is taken at once, so two
        writers never deadlock upgrading a read); nested calls join the outer one."""
        if getattr(self._local, "conn", None) is not None:
            yield self._local.conn
            return
        if not self._writer.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            raise sqlite3.OperationalError("database is locked (another write in this process)")
        try:
            with self._lease() as conn:
                conn.execute("BEGIN IMMEDIATE")
                self._local.conn = conn
                try:
                    yield conn
                except BaseException:
                    self._local.conn = None
                    conn.execute("ROLLBACK")
                    raise
                self._local.conn = None
                conn.execute("COMMIT")
                self.commits += 1
        finally:
            self._writer.release()

    def read(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        with self._lease() as conn:
            return conn.execute(sql, params).fetchall()

    def read_one(self, sql: str, params: tuple | dict = ()) -> sqlite3.Row | None:
        with self._lease() as conn:
            return conn.execute(sql, params).fetchone()

    def write(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        """One statement in its own transaction (or the caller's)."""
        with self.transaction() as conn:
            return conn.execute(sql, params)

    def returning(self, sql: str, params: tuple | dict = ()) -> sqlite3.Row | None:
        """One ``... RETURNING`` statement in its own transaction (or the caller's): its row,
        read to the end before the commit, as SQLite requires."""
        with self.transaction() as conn:
            rows = conn.execute(sql, params).fetchall()
        return rows[0] if rows else None

    def script(self, sql: str) -> None:
        """Schema statements (each ``CREATE ... IF NOT EXISTS``), in one transaction."""
        with self.transaction() as conn:
            for statement in sql.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def ping(self) -> None:
        self.read_one("SELECT 1")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._guard:
            for conn in self._all:
                conn.close()
            self._all.clear()
            self._idle.clear()


def row_dict(row: sqlite3.Row | None, ids: tuple[str, ...] = (), times: tuple[str, ...] = (),
             flags: tuple[str, ...] = (), rename: dict[str, str] | None = None) -> dict[str, Any] | None:
    """A row as the dict the services know: ids as ObjectIds, times as datetimes, 0/1 as bools."""
    if row is None:
        return None
    out = dict(row)
    for old, new in (rename or {}).items():
        if old in out:
            out[new] = out.pop(old)
    for key in ids:
        if key in out:
            out[key] = to_oid(out[key])
    for key in times:
        if key in out:
            out[key] = to_when(out[key])
    for key in flags:
        if key in out and out[key] is not None:
            out[key] = bool(out[key])
    return out
