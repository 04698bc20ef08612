"""Documents in and out of SQLite tables (issue 10): the SQLite repositories hand the services
the same dicts the MongoDB ones do, so one :class:`Table` per table says which columns it has
and which of them hold ids, times and flags.

A document's ``_id`` is the column ``id``; every other field is the column of the same name.
A field the table does not know is refused (a programming error, never silently dropped).
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from pymongo.errors import DuplicateKeyError

from .sqlite_db import SQLiteDatabase, oid, row_dict, when

# How many expired rows one write removes on its way (the work MongoDB's TTL monitor does).
EXPIRED_BATCH = 100


def column(field: str) -> str:
    return "id" if field == "_id" else field


def id_list(values: Iterable) -> str:
    """Ids as one JSON parameter, for ``IN (SELECT value FROM json_each(?))``: any number of
    them in one bound value, so no statement outgrows SQLite's variable limit."""
    return json.dumps([oid(v) for v in values])


@dataclass(frozen=True)
class Table:
    name: str
    fields: tuple[str, ...]
    ids: tuple[str, ...] = ()
    times: tuple[str, ...] = ()

    def stored(self, field: str, value: Any) -> Any:
        if field not in self.fields:
            raise ValueError(f"{self.name} has no field {field!r}")
        if field in self.ids:
            return oid(value)
        if field in self.times:
            return when(value)
        return value

    def doc(self, row: sqlite3.Row | None) -> dict | None:
        return row_dict(row, ids=self.ids, times=self.times, rename={"id": "_id"})

    def docs(self, rows: Iterable[sqlite3.Row]) -> list[dict]:
        return [self.doc(row) for row in rows]

    def insert(self, db: SQLiteDatabase | sqlite3.Connection, doc: dict) -> None:
        """Insert ``doc``; a unique constraint fails as pymongo's DuplicateKeyError, as the
        MongoDB repositories do, so callers and the error handler see the same thing."""
        values = {column(field): self.stored(field, value) for field, value in doc.items()}
        sql = (f"INSERT INTO {self.name} ({', '.join(values)}) "
               f"VALUES ({', '.join(':' + name for name in values)})")
        try:
            (db.write if isinstance(db, SQLiteDatabase) else db.execute)(sql, values)
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" not in str(exc) and "PRIMARY KEY" not in str(exc):
                raise
            raise DuplicateKeyError(f"{self.name}: {exc}", 11000) from exc

    def assignments(self, changes: dict) -> tuple[str, dict]:
        """``col = :set_col, ...`` and its parameters, for an UPDATE."""
        params = {f"set_{column(f)}": self.stored(f, v) for f, v in changes.items()}
        return ", ".join(f"{column(f)} = :set_{column(f)}" for f in changes), params

    def purge_expired(self, conn: sqlite3.Connection, now: datetime) -> None:
        """Remove a batch of rows whose ``expires_at`` has passed (reads already ignore them)."""
        conn.execute(f"DELETE FROM {self.name} WHERE id IN "
                     f"(SELECT id FROM {self.name} WHERE expires_at <= ? LIMIT ?)", (when(now), EXPIRED_BATCH))


def statements(sql: str) -> list[str]:
    """The complete statements of a script, in order: split where SQLite says a statement
    ends, so ``CREATE TRIGGER ... BEGIN a; b; END`` stays one statement."""
    found, pending = [], ""
    for piece in sql.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            found.append(pending.strip())
            pending = ""
    found.append(pending.strip())
    return [statement for statement in found if statement.strip(" \t\n;")]


def run_script(conn: sqlite3.Connection, sql: str) -> None:
    """Schema statements on ``conn``, in the caller's transaction."""
    for statement in statements(sql):
        conn.execute(statement)


SCHEMA_VERSIONS = "CREATE TABLE IF NOT EXISTS schema_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL)"


@dataclass(frozen=True)
class Migration:
    """A step an existing database takes once, when code that has it first starts on it (for
    what ``CREATE ... IF NOT EXISTS`` cannot do alone, such as filling a new index from the
    rows already there). A new database takes it too, on its empty tables."""
    version: int
    sql: str


class SQLiteRepository:
    """A repository over its own tables: ``SCHEMA`` holds their ``CREATE ... IF NOT EXISTS``
    statements, run by ``ensure_indexes`` at start-up, then the ``MIGRATIONS`` newer than the
    version recorded under ``SCHEMA_NAME`` in ``schema_versions``, all in one transaction (so
    several workers starting at once take each step once)."""

    SCHEMA = ""
    SCHEMA_NAME = ""
    MIGRATIONS: tuple[Migration, ...] = ()

    def __init__(self, database: SQLiteDatabase):
        self._db = database

    def ensure_indexes(self) -> None:
        with self._db.transaction() as conn:
            run_script(conn, self.SCHEMA)
            if self.MIGRATIONS:
                self._migrate(conn)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute(SCHEMA_VERSIONS)
        row = conn.execute("SELECT version FROM schema_versions WHERE name = ?", (self.SCHEMA_NAME,)).fetchone()
        current = row[0] if row else 0
        for step in sorted(self.MIGRATIONS, key=lambda m: m.version):
            if step.version > current:
                run_script(conn, step.sql)
                current = step.version
        conn.execute("INSERT INTO schema_versions (name, version) VALUES (?, ?) ON CONFLICT (name) "
                     "DO UPDATE SET version = excluded.version", (self.SCHEMA_NAME, current))

    def schema_version(self) -> int:
        """The last migration this database has taken (0: none)."""
        self._db.write(SCHEMA_VERSIONS)
        row = self._db.read_one("SELECT version FROM schema_versions WHERE name = ?", (self.SCHEMA_NAME,))
        return row[0] if row else 0
