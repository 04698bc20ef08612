"""The ``shares`` collection; only a SHA-256 of each link token is stored."""
from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, ReturnDocument

from ..ids import parse_object_id


class SharesRepository:
    def __init__(self, database):
        self._shares = database.collection("shares")

    def ensure_indexes(self) -> None:
        self._shares.create_index([("token_hash", ASCENDING)], unique=True, name="share_token")
        self._shares.create_index([("owner_id", ASCENDING), ("item_id", ASCENDING)], name="shares_by_item")
        self._shares.create_index([("owner_id", ASCENDING), ("created_at", ASCENDING)], name="shares_by_owner")

    def insert(self, share: dict) -> None:
        self._shares.insert_one(share)

    def by_token_hash(self, token_hash: str) -> dict | None:
        return self._shares.find_one({"token_hash": token_hash})

    def get_owned(self, owner_id: str, share_id: str) -> dict | None:
        oid = parse_object_id(share_id)
        return self._shares.find_one({"_id": oid, "owner_id": owner_id}) if oid else None

    def for_owner(self, owner_id: str, item_id=None) -> list[dict]:
        query = {"owner_id": owner_id}
        if item_id is not None:
            query["item_id"] = item_id
        return list(self._shares.find(query, sort=[("created_at", -1), ("_id", -1)]))

    def update(self, share_id, changes: dict) -> dict:
        return self._shares.find_one_and_update({"_id": share_id}, {"$set": changes},
                                                return_document=ReturnDocument.AFTER)

    def count_download(self, share_id, now: datetime) -> dict | None:
        """Count one download, atomically refusing once ``max_downloads`` is reached."""
        return self._shares.find_one_and_update(
            {"_id": share_id, "$or": [{"max_downloads": None},
                                      {"$expr": {"$lt": ["$download_count", "$max_downloads"]}}]},
            {"$inc": {"download_count": 1}, "$set": {"last_used_at": now}},
            return_document=ReturnDocument.AFTER)

    def delete_for_items(self, owner_id: str, item_ids: list) -> None:
        self._shares.delete_many({"owner_id": owner_id, "item_id": {"$in": item_ids}})
