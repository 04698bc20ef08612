"""The ``grants`` collection: who may use another user's file or folder, and how.

A grant is ``{_id, owner_id, item_id, item_type, grantee_id, role, can_reshare, granted_by,
created_at, updated_at}``; one per (item, grantee), enforced by a unique index. A grant on a
folder covers everything below it (see access.py): the rule asks for the grants of one
grantee on a chain of ancestors, one indexed query."""
from __future__ import annotations

from typing import Iterable

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

VIEWER, EDITOR = "viewer", "editor"
ROLES = (VIEWER, EDITOR)
EDITABLE = frozenset({"role", "can_reshare", "updated_at"})


class GrantsRepository:
    def __init__(self, database):
        self._grants = database.collection("grants")

    def ensure_indexes(self) -> None:
        c = self._grants
        c.create_index([("item_id", ASCENDING), ("grantee_id", ASCENDING)], unique=True, name="one_grant_per_item")
        c.create_index([("grantee_id", ASCENDING), ("owner_id", ASCENDING), ("item_id", ASCENDING)],
                       name="grants_of_grantee")
        c.create_index([("grantee_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                       name="received_newest_first")
        c.create_index([("owner_id", ASCENDING)], name="grants_of_owner")

    def insert(self, grant: dict) -> bool:
        """False when the grantee has a grant on this item already."""
        try:
            self._grants.insert_one(grant)
        except DuplicateKeyError:
            return False
        return True

    def get(self, item_id: ObjectId, grantee_id: str) -> dict | None:
        return self._grants.find_one({"item_id": item_id, "grantee_id": grantee_id})

    def update(self, item_id: ObjectId, grantee_id: str, changes: dict) -> dict | None:
        assert set(changes) <= EDITABLE, changes
        return self._grants.find_one_and_update({"item_id": item_id, "grantee_id": grantee_id}, {"$set": changes},
                                                return_document=ReturnDocument.AFTER)

    def delete(self, item_id: ObjectId, grantee_id: str) -> bool:
        return self._grants.delete_one({"item_id": item_id, "grantee_id": grantee_id}).deleted_count == 1

    def for_item(self, item_id: ObjectId) -> list[dict]:
        return list(self._grants.find({"item_id": item_id}).sort([("created_at", ASCENDING), ("_id", ASCENDING)]))

    def covering(self, grantee_id: str, owner_id: str, item_ids: Iterable[ObjectId]) -> list[dict]:
        """The grantee's grants on any of these items of the owner (an item and its ancestors)."""
        return list(self._grants.find({"grantee_id": grantee_id, "owner_id": owner_id,
                                       "item_id": {"$in": list(item_ids)}}))

    def received(self, grantee_id: str, page: int, limit: int) -> tuple[list[dict], int]:
        query = {"grantee_id": grantee_id}
        found = list(self._grants.find(query).sort([("created_at", DESCENDING), ("_id", DESCENDING)])
                     .skip((page - 1) * limit).limit(limit))
        return found, self._grants.count_documents(query)

    def delete_for_items(self, item_ids: Iterable[ObjectId]) -> int:
        ids = list(item_ids)
        return self._grants.delete_many({"item_id": {"$in": ids}}).deleted_count if ids else 0

    def delete_for_user(self, user_id: str) -> int:
        """Every grant the user gave or received (account deletion)."""
        return self._grants.delete_many({"$or": [{"owner_id": user_id}, {"grantee_id": user_id}]}).deleted_count

    def everything(self) -> list[dict]:
        return list(self._grants.find({}))


def grants_repository(database):
    """The grants repository of one database: SQLite's, or MongoDB's (also on mongomock)."""
    if database.kind == "sqlite":
        from .sqlite_repo import SQLiteGrantsRepository
        return SQLiteGrantsRepository(database)
    return GrantsRepository(database)
