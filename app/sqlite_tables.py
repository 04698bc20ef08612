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


class SQLiteRepository:
    """A repository over its own tables: ``SCHEMA`` holds their ``CREATE ... IF NOT EXISTS``
    statements, run by ``ensure_indexes`` at start-up."""

    SCHEMA = ""

    def __init__(self, database: SQLiteDatabase):
        self._db = database

    def ensure_indexes(self) -> None:
        self._db.script(self.SCHEMA)
