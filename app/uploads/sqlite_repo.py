"""The ``uploads`` table: the SQLite twin of :mod:`app.uploads.repo`, with the same operations
and the same documents. Every lease, offset and state change is one conditional UPDATE."""
from __future__ import annotations

from datetime import datetime

from ..ids import parse_object_id
from ..sqlite_db import oid, when
from ..sqlite_tables import Migration, SQLiteRepository, Table
from .repo import ACTIVE, COMPLETED, COMPLETING, UNFINISHED

UPLOADS = Table("uploads", ("_id", "owner_id", "staging_id", "size", "received", "reserved", "state", "name",
                            "folder_id", "on_conflict", "content_type", "modified_at", "relative_path", "created_at",
                            "expires_at",
                            "lease_token", "lease_until", "file_id", "drive_id"),
                ids=("_id", "file_id"), times=("modified_at", "created_at", "expires_at", "lease_until"))
_IDLE = "(lease_until IS NULL OR lease_until <= :now)"


class SQLiteUploadsRepository(SQLiteRepository):
    SCHEMA_NAME = "uploads"
    # Version 1: the folders of tus relativePath (made when the upload finishes).
    # Version 2 (issue 16): the drive an upload goes into when it is not the uploader's own (a
    # folder shared with them): its quota holds the reservation, its storage the staging.
    MIGRATIONS = (Migration(1, "ALTER TABLE uploads ADD COLUMN relative_path TEXT"),
                  Migration(2, "ALTER TABLE uploads ADD COLUMN drive_id TEXT; CREATE INDEX IF NOT EXISTS "
                               "uploads_by_drive ON uploads (drive_id) WHERE drive_id IS NOT NULL"))
    SCHEMA = """
            CREATE TABLE IF NOT EXISTS uploads (
                id TEXT PRIMARY KEY,
                owner_id TEXT NOT NULL,
                staging_id TEXT NOT NULL,
                size INTEGER NOT NULL CHECK (size >= 0),
                received INTEGER NOT NULL CHECK (received >= 0 AND received <= size),
                reserved INTEGER NOT NULL CHECK (reserved >= 0),
                state TEXT NOT NULL,
                name TEXT NOT NULL,
                folder_id TEXT,
                on_conflict TEXT,
                content_type TEXT,
                modified_at TEXT,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                lease_token TEXT,
                lease_until TEXT,
                file_id TEXT);
            CREATE INDEX IF NOT EXISTS uploads_by_owner ON uploads (owner_id, created_at, id);
            CREATE INDEX IF NOT EXISTS uploads_by_expiry ON uploads (expires_at)"""

    def _one(self, sql: str, params: dict) -> dict | None:
        return UPLOADS.doc(self._db.returning(sql, params))

    def insert(self, upload: dict) -> None:
        UPLOADS.insert(self._db, upload)

    def get_owned(self, owner_id: str, upload_id: str) -> dict | None:
        upload_oid = parse_object_id(upload_id)
        return UPLOADS.doc(self._db.read_one("SELECT * FROM uploads WHERE id = ? AND owner_id = ?",
                                             (oid(upload_oid), owner_id))) if upload_oid else None

    def for_owner(self, owner_id: str, states: tuple[str, ...] = UNFINISHED) -> list[dict]:
        marks = ", ".join("?" for _ in states)
        return UPLOADS.docs(self._db.read(f"SELECT * FROM uploads WHERE owner_id = ? AND state IN ({marks}) "
                                          "ORDER BY created_at, id", (owner_id, *states)))

    def into_drive(self, drive_id: str) -> list[dict]:
        return UPLOADS.docs(self._db.read("SELECT * FROM uploads WHERE drive_id = ? ORDER BY created_at, id",
                                          (drive_id,)))

    def unfinished(self) -> list[dict]:
        return UPLOADS.docs(self._db.read("SELECT * FROM uploads WHERE state IN (?, ?) ORDER BY created_at",
                                          UNFINISHED))

    def claim(self, upload_id, received: int, token: str, now: datetime, until: datetime) -> dict | None:
        return self._one(f"UPDATE uploads SET lease_token = :token, lease_until = :until WHERE id = :id "
                         f"AND state = '{ACTIVE}' AND received = :received AND {_IDLE} RETURNING *",
                         {"token": token, "until": when(until), "id": oid(upload_id), "received": received,
                          "now": when(now)})

    def renew(self, upload_id, token: str, until: datetime) -> bool:
        return self._db.write("UPDATE uploads SET lease_until = ? WHERE id = ? AND lease_token = ?",
                              (when(until), oid(upload_id), token)).rowcount == 1

    def advance(self, upload_id, token: str, received: int, expires_at: datetime) -> dict | None:
        return self._one(f"UPDATE uploads SET received = :received, expires_at = :expires WHERE id = :id "
                         f"AND lease_token = :token AND state = '{ACTIVE}' AND received <= :received RETURNING *",
                         {"received": received, "expires": when(expires_at), "id": oid(upload_id), "token": token})

    def release(self, upload_id, token: str) -> None:
        self._db.write("UPDATE uploads SET lease_token = NULL, lease_until = NULL WHERE id = ? AND lease_token = ?",
                       (oid(upload_id), token))

    def begin_completion(self, upload_id, token: str, size: int) -> dict | None:
        with self._db.transaction() as conn:
            before = conn.execute(f"SELECT * FROM uploads WHERE id = :id AND lease_token = :token "
                                  f"AND state = '{ACTIVE}' AND size = :size AND received = :size",
                                  {"id": oid(upload_id), "token": token, "size": size}).fetchone()
            if before is None:
                return None
            conn.execute(f"UPDATE uploads SET state = '{COMPLETING}', reserved = 0 WHERE id = ?", (oid(upload_id),))
        return UPLOADS.doc(before)

    def finish(self, upload_id, file_id, expires_at: datetime) -> None:
        self._db.write(f"UPDATE uploads SET state = '{COMPLETED}', file_id = ?, expires_at = ?, lease_token = NULL, "
                       f"lease_until = NULL WHERE id = ? AND state = '{COMPLETING}'",
                       (oid(file_id), when(expires_at), oid(upload_id)))

    def take_idle(self, upload_id, now: datetime, owner_id: str | None = None) -> dict | None:
        owner = "" if owner_id is None else "AND owner_id = :owner"
        return self._one(f"DELETE FROM uploads WHERE id = :id {owner} AND state IN ('{ACTIVE}', '{COMPLETED}') "
                         f"AND {_IDLE} RETURNING *", {"id": oid(upload_id), "owner": owner_id, "now": when(now)})

    def expired(self, now: datetime, limit: int = 1000) -> list[dict]:
        return UPLOADS.docs(self._db.read("SELECT * FROM uploads WHERE expires_at <= ? LIMIT ?", (when(now), limit)))

    def delete(self, upload_id) -> None:
        self._db.write("DELETE FROM uploads WHERE id = ?", (oid(upload_id),))

    def reserved_by_owner(self) -> dict[str, int]:
        rows = self._db.read("SELECT coalesce(drive_id, owner_id), SUM(reserved) FROM uploads WHERE reserved > 0 "
                             "GROUP BY coalesce(drive_id, owner_id)")
        return {row[0]: row[1] for row in rows}
