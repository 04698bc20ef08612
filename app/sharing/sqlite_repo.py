"""The ``shares`` and ``share_grants`` tables: the SQLite twin of :mod:`app.sharing.repo`,
with the same operations and the same documents.

Every invariant is one conditional UPDATE, run under ``BEGIN IMMEDIATE`` (the write lock is
held from the first read of the statement): a download is counted only below
``max_downloads``, a resume allowance is spent only within its budget, and an edit bumps the
epoch in the same statement that applies it.

MongoDB removes expired allowances with a TTL index (about once a minute); here a lookup
never sees an expired one, and each new allowance removes a batch of expired ones.
"""
from __future__ import annotations

from datetime import datetime

from bson import ObjectId

from ..ids import parse_object_id
from ..sqlite_db import oid
from ..sqlite_db import when as time_text
from ..sqlite_tables import Migration, SQLiteRepository, Table, id_list
from ..timeutil import utcnow

SHARES = Table("shares", ("_id", "owner_id", "item_id", "item_type", "token_hash", "created_at", "download_count",
                          "last_used_at", "revoked_at", "label", "expires_at", "password_hash", "max_downloads",
                          "epoch", "mode", "max_file_bytes", "max_total_bytes", "max_files", "uploaded_files",
                          "uploaded_bytes"),
               ids=("_id", "item_id"), times=("created_at", "last_used_at", "revoked_at", "expires_at"))
GRANTS = Table("share_grants", ("_id", "share_id", "file_id", "epoch", "served", "expires_at"),
               ids=("_id", "share_id", "file_id"), times=("expires_at",))
# What an edit may change (anything else is a programming error, refused).
EDITABLE = frozenset({"label", "expires_at", "password_hash", "max_downloads", "revoked_at", "max_file_bytes",
                      "max_total_bytes", "max_files"})

_LIVE_GRANTS = """id IN (SELECT value FROM json_each(:grant_ids)) AND share_id = :share_id
                  AND epoch = :epoch AND expires_at > :now"""


class SQLiteSharesRepository(SQLiteRepository):
    SCHEMA = """
            CREATE TABLE IF NOT EXISTS shares (
                id TEXT PRIMARY KEY,
                owner_id TEXT NOT NULL,
                item_id TEXT NOT NULL,
                item_type TEXT NOT NULL,
                token_hash TEXT NOT NULL,
                created_at TEXT NOT NULL,
                download_count INTEGER NOT NULL DEFAULT 0 CHECK (download_count >= 0),
                last_used_at TEXT,
                revoked_at TEXT,
                label TEXT,
                expires_at TEXT,
                password_hash TEXT,
                max_downloads INTEGER,
                epoch INTEGER NOT NULL DEFAULT 0);
            CREATE UNIQUE INDEX IF NOT EXISTS share_token ON shares (token_hash);
            CREATE INDEX IF NOT EXISTS shares_by_item ON shares (owner_id, item_id, created_at, id);
            CREATE INDEX IF NOT EXISTS shares_by_owner ON shares (owner_id, created_at, id);
            CREATE TABLE IF NOT EXISTS share_grants (
                id TEXT PRIMARY KEY,
                share_id TEXT NOT NULL,
                file_id TEXT NOT NULL,
                epoch INTEGER NOT NULL,
                served INTEGER NOT NULL CHECK (served >= 0),
                expires_at TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS share_grants_expire ON share_grants (expires_at)"""
    SCHEMA_NAME = "shares"
    # Version 1: upload-only links (issue 16's file drop): the mode, the limits, what was uploaded.
    MIGRATIONS = (Migration(1, "ALTER TABLE shares ADD COLUMN mode TEXT NOT NULL DEFAULT 'read'; "
                               "ALTER TABLE shares ADD COLUMN max_file_bytes INTEGER; "
                               "ALTER TABLE shares ADD COLUMN max_total_bytes INTEGER; "
                               "ALTER TABLE shares ADD COLUMN max_files INTEGER; "
                               "ALTER TABLE shares ADD COLUMN uploaded_files INTEGER NOT NULL DEFAULT 0 "
                               "CHECK (uploaded_files >= 0); "
                               "ALTER TABLE shares ADD COLUMN uploaded_bytes INTEGER NOT NULL DEFAULT 0 "
                               "CHECK (uploaded_bytes >= 0)"),)

    def insert(self, share: dict) -> None:
        SHARES.insert(self._db, share)

    def by_token_hash(self, token_hash: str) -> dict | None:
        return SHARES.doc(self._db.read_one("SELECT * FROM shares WHERE token_hash = ?", (token_hash,)))

    def get_owned(self, owner_id: str, share_id: str) -> dict | None:
        share_oid = parse_object_id(share_id)
        return SHARES.doc(self._db.read_one("SELECT * FROM shares WHERE id = ? AND owner_id = ?",
                                            (oid(share_oid), owner_id))) if share_oid else None

    def delete_for_owner(self, owner_id: str) -> int:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM share_grants WHERE share_id IN (SELECT id FROM shares WHERE owner_id = ?)",
                         (owner_id,))
            return conn.execute("DELETE FROM shares WHERE owner_id = ?", (owner_id,)).rowcount

    def for_owner(self, owner_id: str, item_id=None) -> list[dict]:
        if item_id is None:
            rows = self._db.read("SELECT * FROM shares WHERE owner_id = ? ORDER BY created_at DESC, id DESC",
                                 (owner_id,))
        else:
            rows = self._db.read("SELECT * FROM shares WHERE owner_id = ? AND item_id = ? "
                                 "ORDER BY created_at DESC, id DESC", (owner_id, oid(item_id)))
        return SHARES.docs(rows)

    def _update_one(self, sql: str, params: dict) -> dict | None:
        """One ``UPDATE ... RETURNING *`` in its own write transaction: the row after it, or None."""
        with self._db.transaction() as conn:
            return SHARES.doc(conn.execute(sql, params).fetchone())

    def _edit(self, share_id, changes: dict, condition: str = "") -> dict | None:
        unknown = set(changes) - EDITABLE
        if unknown:
            raise ValueError(f"a share link cannot change {sorted(unknown)}")
        assignments, params = SHARES.assignments(changes)
        return self._update_one(f"UPDATE shares SET epoch = epoch + 1{', ' if changes else ''}{assignments} "
                                f"WHERE id = :share_id {condition} RETURNING *", {**params, "share_id": oid(share_id)})

    def update(self, share_id, changes: dict) -> dict | None:
        """Apply ``changes`` and bump the link's epoch in the same atomic write, which ends every
        unlock and resume allowance given under the previous epoch."""
        return self._edit(share_id, changes)

    def update_unless_revoked(self, share_id, changes: dict) -> dict | None:
        """``update``, atomically refused (None) once the link is revoked: an edit or a second
        revoke that lost a race with a revoke changes nothing and bumps no epoch."""
        return self._edit(share_id, changes, "AND revoked_at IS NULL")

    def count_download(self, share_id, now: datetime) -> dict | None:
        """Count one download, atomically refusing once ``max_downloads`` is reached or the link
        was revoked meanwhile."""
        return self._update_one(
            "UPDATE shares SET download_count = download_count + 1, last_used_at = :now "
            "WHERE id = :share_id AND revoked_at IS NULL "
            "AND (max_downloads IS NULL OR download_count < max_downloads) RETURNING *",
            {"share_id": oid(share_id), "now": time_text(now)})

    # -- upload-only links ("file drop") -----------------------------------------------------

    def reserve_drop(self, share_id, files: int, nbytes: int, now: datetime) -> dict | None:
        """Count ``files`` uploads of ``nbytes`` in all, atomically refused (None) past the
        link's ``max_files`` or ``max_total_bytes`` or once it is revoked."""
        return self._update_one(
            "UPDATE shares SET uploaded_files = uploaded_files + :files, uploaded_bytes = uploaded_bytes + :bytes, "
            "last_used_at = :now WHERE id = :share_id AND revoked_at IS NULL AND mode = 'upload' "
            "AND (max_files IS NULL OR uploaded_files + :files <= max_files) "
            "AND (max_total_bytes IS NULL OR uploaded_bytes + :bytes <= max_total_bytes) RETURNING *",
            {"share_id": oid(share_id), "files": files, "bytes": nbytes, "now": time_text(now)})

    def release_drop(self, share_id, files: int, nbytes: int) -> None:
        self._db.write("UPDATE shares SET uploaded_files = uploaded_files - ?, uploaded_bytes = uploaded_bytes - ? "
                       "WHERE id = ?", (files, nbytes, oid(share_id)))

    # -- resume allowances ---------------------------------------------------------------------

    def create_grant(self, share_id, file_id, epoch: int, served: int, expires_at: datetime) -> str:
        grant_id = ObjectId()
        with self._db.transaction() as conn:
            GRANTS.purge_expired(conn, utcnow())
            GRANTS.insert(conn, {"_id": grant_id, "share_id": share_id, "file_id": file_id, "epoch": epoch,
                                 "served": served, "expires_at": expires_at})
        return str(grant_id)

    @staticmethod
    def _grant_params(grant_ids: list[str], share_id, epoch: int, now: datetime) -> dict:
        return {"grant_ids": id_list(g for g in map(parse_object_id, grant_ids) if g is not None),
                "share_id": oid(share_id), "epoch": epoch, "now": time_text(now)}

    def has_live_grant(self, grant_ids: list[str], share_id, epoch: int, now: datetime) -> bool:
        return bool(grant_ids) and self._db.read_one(
            f"SELECT 1 FROM share_grants WHERE {_LIVE_GRANTS} LIMIT 1",
            self._grant_params(grant_ids, share_id, epoch, now)) is not None

    def use_grant(self, grant_ids: list[str], share_id, file_id, epoch: int, served: int, budget: int,
                  now: datetime) -> bool:
        """Add ``served`` bytes to the live grant of this file, atomically refusing if that would
        take it past ``budget``."""
        if not grant_ids or served > budget:
            return False
        params = {**self._grant_params(grant_ids, share_id, epoch, now), "file_id": oid(file_id),
                  "served": served, "room": budget - served}
        # Like find_one_and_update: at most one allowance pays, even if the session holds several.
        return self._db.write(
            "UPDATE share_grants SET served = served + :served WHERE id = "
            f"(SELECT id FROM share_grants WHERE {_LIVE_GRANTS} AND file_id = :file_id AND served <= :room LIMIT 1)",
            params).rowcount == 1
