"""Carry an embedded store made by earlier versions (litemongo: one SQLite file per collection,
each document a BSON blob) over to the SQLite engine's tables (issue 10).

The old files are read directly with ``sqlite3`` and decoded with pymongo's ``bson``, so the
old engine is not needed. Each document becomes a row of the table of the same collection:
its ``_id`` is the ``id`` column, every field the table has is copied (ObjectIds as hex,
times as the engine's UTC text, booleans as 0/1), fields the table does not have are
counted and reported. Rows are inserted with ``ON CONFLICT (id) DO NOTHING``, one
transaction per collection, so an interrupted run is simply run again; a marker row says
when it finished, and the app does it at start-up when it finds an old store and no marker.
Derived state is not copied: usage counters are rebuilt from the blobs on first use, tree
locks and rate-limit counters start empty. The old files are left in place (read only).
"""
from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator

import bson
from bson.codec_options import CodecOptions

from .sqlite_db import SQLiteDatabase, when
from .timeutil import utcnow

log = logging.getLogger(__name__)
# Old collection -> new table. usage, tree_locks and the rate limiter's are derived or transient.
COLLECTIONS = {"users": "users", "sessions": "sessions", "api_tokens": "api_tokens", "items": "items",
               "blobs": "blobs", "versions": "versions", "shares": "shares", "share_grants": "share_grants"}
MARKER = "migrated_from_litemongo"
MIGRATION_LOCK = "migrate.lock"  # in the embedded folder; flock()ed while one process copies
_CODEC = CodecOptions(tz_aware=True)


@dataclass
class MigrationReport:
    copied: Counter = field(default_factory=Counter)
    already_there: Counter = field(default_factory=Counter)
    dropped_fields: Counter = field(default_factory=Counter)  # "collection.field" -> documents
    skipped: bool = False

    def lines(self) -> list[str]:
        if self.skipped:
            return ["nothing to migrate (no old store, or it was migrated already)"]
        out = [f"{name}: {self.copied[name]} copied, {self.already_there[name]} already there"
               for name in COLLECTIONS if self.copied[name] or self.already_there[name]]
        out += [f"field not kept: {name} ({count} document(s))" for name, count in sorted(self.dropped_fields.items())]
        return out


def old_store_folder(embedded_path: str, db_name: str) -> str:
    return os.path.join(embedded_path, db_name)


def has_old_store(embedded_path: str, db_name: str) -> bool:
    folder = old_store_folder(embedded_path, db_name)
    return any(os.path.isfile(os.path.join(folder, name)) for name in COLLECTIONS)


def old_documents(path: str) -> Iterator[dict]:
    """The documents of one old collection file, read only."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for (raw,) in conn.execute("SELECT doc FROM documents ORDER BY rowid"):
            yield bson.decode(raw, codec_options=_CODEC)
    finally:
        conn.close()


def _stored(value: Any) -> Any:
    if isinstance(value, bson.ObjectId):
        return str(value)
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, bool):
        return int(value)
    return value


def migrated(db: SQLiteDatabase) -> bool:
    _ensure_meta(db)
    return db.read_one("SELECT 1 FROM store_meta WHERE key = ?", (MARKER,)) is not None


def _ensure_meta(db: SQLiteDatabase) -> None:
    db.script("CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def migrate(db: SQLiteDatabase, embedded_path: str, db_name: str, force: bool = False) -> MigrationReport:
    """Copy the old store into ``db`` (whose tables exist); safe to run again."""
    if not has_old_store(embedded_path, db_name):
        return MigrationReport(skipped=True)
    # Workers start together: one copies while the others wait, then find the marker. A
    # worker that copied after another had started serving would bring back what users
    # deleted meanwhile.
    with open(os.path.join(embedded_path, MIGRATION_LOCK), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if migrated(db) and not force:
            return MigrationReport(skipped=True)
        return _copy(db, old_store_folder(embedded_path, db_name))


def _copy(db: SQLiteDatabase, folder: str) -> MigrationReport:
    report = MigrationReport()
    for collection, table in COLLECTIONS.items():
        path = os.path.join(folder, collection)
        if not os.path.isfile(path):
            continue
        columns = {row["name"] for row in db.read(f"PRAGMA table_info({table})")}
        with db.transaction() as conn:
            for doc in old_documents(path):
                row = {("id" if key == "_id" else key): _stored(value) for key, value in doc.items()}
                for key in set(row) - columns:
                    report.dropped_fields[f"{collection}.{key}"] += 1
                    del row[key]
                names = list(row)
                cursor = conn.execute(
                    f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
                    "ON CONFLICT (id) DO NOTHING", tuple(row[name] for name in names))
                (report.copied if cursor.rowcount == 1 else report.already_there)[collection] += 1
        log.info("migrated %s: %d copied, %d already there", collection, report.copied[collection],
                 report.already_there[collection])
    db.write("INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
             (MARKER, when(utcnow())))
    return report
