"""The ``grants`` table: the SQLite twin of :mod:`app.members.repo`."""
from __future__ import annotations

from typing import Iterable

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..sqlite_db import oid
from ..sqlite_tables import SQLiteRepository, Table, id_list
from .repo import EDITABLE

GRANTS = Table("grants", ("_id", "owner_id", "item_id", "item_type", "grantee_id", "role", "can_reshare",
                          "granted_by", "created_at", "updated_at"),
               ids=("_id", "item_id"), times=("created_at", "updated_at"))


def _grant(doc: dict | None) -> dict | None:
    if doc is not None:
        doc["can_reshare"] = bool(doc["can_reshare"])
    return doc


class SQLiteGrantsRepository(SQLiteRepository):
    SCHEMA_NAME = "grants"
    SCHEMA = """
        CREATE TABLE IF NOT EXISTS grants (
            id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, item_id TEXT NOT NULL, item_type TEXT NOT NULL,
            grantee_id TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('viewer', 'editor')),
            can_reshare INTEGER NOT NULL DEFAULT 0, granted_by TEXT, created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL, UNIQUE (item_id, grantee_id), CHECK (owner_id <> grantee_id));
        CREATE INDEX IF NOT EXISTS grants_of_grantee ON grants (grantee_id, owner_id, item_id);
        CREATE INDEX IF NOT EXISTS received_newest_first ON grants (grantee_id, created_at DESC, id DESC);
        CREATE INDEX IF NOT EXISTS grants_of_owner ON grants (owner_id)"""

    def _one(self, sql: str, params: tuple) -> dict | None:
        return _grant(GRANTS.doc(self._db.read_one(sql, params)))

    def _many(self, sql: str, params: tuple) -> list[dict]:
        return [_grant(doc) for doc in GRANTS.docs(self._db.read(sql, params))]

    def insert(self, grant: dict) -> bool:
        try:
            GRANTS.insert(self._db, {**grant, "can_reshare": int(bool(grant.get("can_reshare")))})
        except DuplicateKeyError:
            return False
        return True

    def get(self, item_id: ObjectId, grantee_id: str) -> dict | None:
        return self._one("SELECT * FROM grants WHERE item_id = ? AND grantee_id = ?", (oid(item_id), grantee_id))

    def update(self, item_id: ObjectId, grantee_id: str, changes: dict) -> dict | None:
        assert set(changes) <= EDITABLE, changes
        if "can_reshare" in changes:
            changes = {**changes, "can_reshare": int(bool(changes["can_reshare"]))}
        sets, params = GRANTS.assignments(changes)
        row = self._db.returning(f"UPDATE grants SET {sets} WHERE item_id = :item_id AND grantee_id = :grantee_id "
                                 "RETURNING *", {**params, "item_id": oid(item_id), "grantee_id": grantee_id})
        return _grant(GRANTS.doc(row))

    def delete(self, item_id: ObjectId, grantee_id: str) -> bool:
        return self._db.write("DELETE FROM grants WHERE item_id = ? AND grantee_id = ?",
                              (oid(item_id), grantee_id)).rowcount == 1

    def for_item(self, item_id: ObjectId) -> list[dict]:
        return self._many("SELECT * FROM grants WHERE item_id = ? ORDER BY created_at, id", (oid(item_id),))

    def covering(self, grantee_id: str, owner_id: str, item_ids: Iterable[ObjectId]) -> list[dict]:
        return self._many("SELECT * FROM grants WHERE grantee_id = ? AND owner_id = ? "
                          "AND item_id IN (SELECT value FROM json_each(?))", (grantee_id, owner_id, id_list(item_ids)))

    def received(self, grantee_id: str, page: int, limit: int) -> tuple[list[dict], int]:
        found = self._many("SELECT * FROM grants WHERE grantee_id = ? ORDER BY created_at DESC, id DESC "
                           "LIMIT ? OFFSET ?", (grantee_id, limit, (page - 1) * limit))
        total = self._db.read_one("SELECT count(*) FROM grants WHERE grantee_id = ?", (grantee_id,))[0]
        return found, total

    def delete_for_items(self, item_ids: Iterable[ObjectId]) -> int:
        return self._db.write("DELETE FROM grants WHERE item_id IN (SELECT value FROM json_each(?))",
                              (id_list(item_ids),)).rowcount

    def delete_for_user(self, user_id: str) -> int:
        return self._db.write("DELETE FROM grants WHERE owner_id = ? OR grantee_id = ?", (user_id, user_id)).rowcount

    def everything(self) -> list[dict]:
        return self._many("SELECT * FROM grants", ())
