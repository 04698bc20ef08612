"""WebDAV locks in the database (MongoDB here, SQLite in sqlite_repo.py): they survive restarts
and every worker and node sees the same ones. A lock is keyed by its token and found by its
root's key: the path with every segment compared as sibling names are (app.dav.locks), so a
lock on ``/alice/Notes.txt`` is found for ``/alice/notes.txt`` too. Paths start with the
username, so locks are per user."""
from __future__ import annotations

import re

from pymongo import ASCENDING, ReturnDocument


class DavLocksRepository:
    def __init__(self, database):
        self._locks = database.collection("dav_locks")

    def ensure_indexes(self) -> None:
        self._locks.create_index([("root_key", ASCENDING)], name="by_root")

    def insert(self, lock: dict) -> None:
        """``lock`` has ``_id`` (the token), ``root``, ``root_key``, ``expire`` (epoch seconds,
        -1 for never) and the lock's fields."""
        self._locks.insert_one(lock)

    def get(self, token: str) -> dict | None:
        return self._locks.find_one({"_id": token})

    def delete(self, token: str) -> bool:
        return self._locks.delete_one({"_id": token}).deleted_count == 1

    def refresh(self, token: str, timeout: float, expire: float) -> dict | None:
        return self._locks.find_one_and_update({"_id": token}, {"$set": {"timeout": timeout, "expire": expire}},
                                               return_document=ReturnDocument.AFTER)

    def at(self, root_key: str) -> list[dict]:
        """Locks whose root is exactly this key."""
        return list(self._locks.find({"root_key": root_key}))

    def below(self, root_key: str) -> list[dict]:
        """Locks whose root is strictly below this key (an anchored prefix: the index serves it)."""
        prefix = root_key.rstrip("/") + "/"
        return list(self._locks.find({"root_key": {"$regex": "^" + re.escape(prefix)}}))

    def delete_expired(self, now: float) -> int:
        return self._locks.delete_many({"expire": {"$gte": 0, "$lt": now}}).deleted_count


def dav_locks_repository(database):
    """The locks repository of one database: SQLite's, or MongoDB's (also on mongomock)."""
    if database.kind == "sqlite":
        from .sqlite_repo import SQLiteDavLocksRepository
        return SQLiteDavLocksRepository(database)
    return DavLocksRepository(database)
