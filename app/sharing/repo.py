"""The ``shares`` collection (only a SHA-256 of each link token is stored) and the
``share_grants`` collection (resume allowances of browser sessions, see ShareService.charge)."""
from __future__ import annotations

from datetime import datetime

from bson import ObjectId
from pymongo import ASCENDING, ReturnDocument

from ..ids import parse_object_id


class SharesRepository:
    def __init__(self, database):
        self._shares = database.collection("shares")
        self._grants = database.collection("share_grants")

    def ensure_indexes(self) -> None:
        self._shares.create_index([("token_hash", ASCENDING)], unique=True, name="share_token")
        self._shares.create_index([("owner_id", ASCENDING), ("item_id", ASCENDING)], name="shares_by_item")
        self._shares.create_index([("owner_id", ASCENDING), ("created_at", ASCENDING)], name="shares_by_owner")
        self._grants.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0, name="share_grants_expire")

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

    def delete_for_owner(self, owner_id: str) -> int:
        """Every link of the owner and the resume allowances of those links (an account's deletion)."""
        ids = [s["_id"] for s in self._shares.find({"owner_id": owner_id}, {"_id": 1})]
        if ids:
            self._grants.delete_many({"share_id": {"$in": ids}})
        return self._shares.delete_many({"owner_id": owner_id}).deleted_count

    def update(self, share_id, changes: dict) -> dict:
        """Apply ``changes`` and bump the link's epoch in the same atomic write, which ends every
        unlock and resume allowance given under the previous epoch."""
        update = {"$inc": {"epoch": 1}, **({"$set": changes} if changes else {})}
        return self._shares.find_one_and_update({"_id": share_id}, update, return_document=ReturnDocument.AFTER)

    def update_unless_revoked(self, share_id, changes: dict) -> dict | None:
        """``update``, atomically refused (None) once the link is revoked: an edit or a second
        revoke that lost a race with a revoke changes nothing and bumps no epoch."""
        return self._shares.find_one_and_update({"_id": share_id, "revoked_at": None},
                                                {"$inc": {"epoch": 1}, **({"$set": changes} if changes else {})},
                                                return_document=ReturnDocument.AFTER)

    def count_download(self, share_id, now: datetime) -> dict | None:
        """Count one download, atomically refusing once ``max_downloads`` is reached or the link
        was revoked meanwhile."""
        return self._shares.find_one_and_update(
            {"_id": share_id, "revoked_at": None,
             "$or": [{"max_downloads": None}, {"$expr": {"$lt": ["$download_count", "$max_downloads"]}}]},
            {"$inc": {"download_count": 1}, "$set": {"last_used_at": now}},
            return_document=ReturnDocument.AFTER)

    # -- upload-only links ("file drop") -----------------------------------------------------

    def reserve_drop(self, share_id, files: int, nbytes: int, now: datetime) -> dict | None:
        """Count ``files`` uploads of ``nbytes`` in all on an upload-only link, atomically
        refused (None) when that would pass its ``max_files`` or ``max_total_bytes``, or the
        link was revoked meanwhile: parallel uploads never take it past its limits."""
        return self._shares.find_one_and_update(
            {"_id": share_id, "revoked_at": None, "mode": "upload",
             "$and": [{"$or": [{"max_files": None},
                               {"$expr": {"$lte": [{"$add": ["$uploaded_files", files]}, "$max_files"]}}]},
                      {"$or": [{"max_total_bytes": None},
                               {"$expr": {"$lte": [{"$add": ["$uploaded_bytes", nbytes]}, "$max_total_bytes"]}}]}]},
            {"$inc": {"uploaded_files": files, "uploaded_bytes": nbytes}, "$set": {"last_used_at": now}},
            return_document=ReturnDocument.AFTER)

    def release_drop(self, share_id, files: int, nbytes: int) -> None:
        """Give back a reservation whose upload was not stored."""
        self._shares.update_one({"_id": share_id}, {"$inc": {"uploaded_files": -files, "uploaded_bytes": -nbytes}})

    # -- resume allowances ---------------------------------------------------------------------

    def create_grant(self, share_id, file_id, epoch: int, served: int, expires_at: datetime) -> str:
        grant_id = ObjectId()
        self._grants.insert_one({"_id": grant_id, "share_id": share_id, "file_id": file_id, "epoch": epoch,
                                 "served": served, "expires_at": expires_at})
        return str(grant_id)

    @staticmethod
    def _grant_query(grant_ids: list[str], share_id, epoch: int, now: datetime) -> dict:
        oids = [oid for oid in map(parse_object_id, grant_ids) if oid is not None]
        return {"_id": {"$in": oids}, "share_id": share_id, "epoch": epoch, "expires_at": {"$gt": now}}

    def has_live_grant(self, grant_ids: list[str], share_id, epoch: int, now: datetime) -> bool:
        return bool(grant_ids) and self._grants.find_one(self._grant_query(grant_ids, share_id, epoch, now),
                                                         {"_id": 1}) is not None

    def use_grant(self, grant_ids: list[str], share_id, file_id, epoch: int, served: int, budget: int,
                  now: datetime) -> bool:
        """Add ``served`` bytes to the live grant of this file, atomically refusing if that would
        take it past ``budget``."""
        if not grant_ids or served > budget:
            return False
        query = {**self._grant_query(grant_ids, share_id, epoch, now), "file_id": file_id,
                 "served": {"$lte": budget - served}}
        return self._grants.find_one_and_update(query, {"$inc": {"served": served}}) is not None
