"""The ``dav_locks`` table: the SQLite twin of :mod:`app.dav.repo`, same operations and documents."""
from __future__ import annotations

import json

from ..sqlite_tables import SQLiteRepository

_COLUMNS = ("_id", "root", "root_key", "expire")


def _lock(row) -> dict | None:
    if row is None:
        return None
    return {"_id": row["id"], "root": row["root"], "root_key": row["root_key"], "expire": row["expire"],
            **json.loads(row["fields"])}


class SQLiteDavLocksRepository(SQLiteRepository):
    SCHEMA_NAME = "dav_locks"
    SCHEMA = """
        CREATE TABLE IF NOT EXISTS dav_locks (
            id TEXT PRIMARY KEY, root TEXT NOT NULL, root_key TEXT NOT NULL, expire REAL NOT NULL,
            fields TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS dav_locks_by_root ON dav_locks (root_key)
    """

    def insert(self, lock: dict) -> None:
        fields = {k: v for k, v in lock.items() if k not in _COLUMNS}
        self._db.write("INSERT INTO dav_locks (id, root, root_key, expire, fields) VALUES (?, ?, ?, ?, ?)",
                       (lock["_id"], lock["root"], lock["root_key"], lock["expire"], json.dumps(fields)))

    def get(self, token: str) -> dict | None:
        return _lock(self._db.read_one("SELECT * FROM dav_locks WHERE id = ?", (token,)))

    def delete(self, token: str) -> bool:
        return self._db.write("DELETE FROM dav_locks WHERE id = ?", (token,)).rowcount == 1

    def refresh(self, token: str, timeout: float, expire: float) -> dict | None:
        return _lock(self._db.returning(
            "UPDATE dav_locks SET expire = ?, fields = json_set(fields, '$.timeout', ?) WHERE id = ? RETURNING *",
            (expire, timeout, token)))

    def at(self, root_key: str) -> list[dict]:
        return [_lock(row) for row in self._db.read("SELECT * FROM dav_locks WHERE root_key = ?", (root_key,))]

    def below(self, root_key: str) -> list[dict]:
        # A range on the index: every key that starts with "<key>/" ('0' is the byte after '/').
        prefix = root_key.rstrip("/") + "/"
        return [_lock(row) for row in self._db.read(
            "SELECT * FROM dav_locks WHERE root_key >= ? AND root_key < ?", (prefix, prefix[:-1] + "0"))]

    def delete_expired(self, now: float) -> int:
        return self._db.write("DELETE FROM dav_locks WHERE expire >= 0 AND expire < ?", (now,)).rowcount
