"""The ``uploads`` collection: one record per resumable upload, from creation until it is
finished, cancelled or expired.

A record's ``received`` (its tus offset) only moves under a lease: a PATCH claims the upload at
the offset it was sent for (a conditional update), appends, and advances ``received`` with the
same lease token; a second PATCH meanwhile finds the lease taken. Completion is a conditional
state change (``active`` → ``completing``), so a finished upload becomes a file once.
"""
from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, ReturnDocument

from ..ids import parse_object_id

ACTIVE, COMPLETING, COMPLETED = "active", "completing", "completed"
UNFINISHED = (ACTIVE, COMPLETING)


class UploadsRepository:
    def __init__(self, database):
        self._uploads = database.collection("uploads")

    def ensure_indexes(self) -> None:
        self._uploads.create_index([("owner_id", ASCENDING), ("created_at", ASCENDING)], name="uploads_by_owner")
        self._uploads.create_index([("expires_at", ASCENDING)], name="uploads_by_expiry")
        self._uploads.create_index([("drive_id", ASCENDING)], name="uploads_by_drive", sparse=True)

    def insert(self, upload: dict) -> None:
        self._uploads.insert_one(upload)

    def get_owned(self, owner_id: str, upload_id: str) -> dict | None:
        oid = parse_object_id(upload_id)
        return self._uploads.find_one({"_id": oid, "owner_id": owner_id}) if oid else None

    def for_owner(self, owner_id: str, states: tuple[str, ...] = UNFINISHED) -> list[dict]:
        return list(self._uploads.find({"owner_id": owner_id, "state": {"$in": list(states)}},
                                       sort=[("created_at", ASCENDING), ("_id", ASCENDING)]))

    def into_drive(self, drive_id: str) -> list[dict]:
        """Uploads by others into this user's drive (folders shared with them), any state."""
        return list(self._uploads.find({"drive_id": drive_id}, sort=[("created_at", ASCENDING), ("_id", ASCENDING)]))

    def unfinished(self) -> list[dict]:
        """Every user's unfinished uploads (for repair)."""
        return list(self._uploads.find({"state": {"$in": list(UNFINISHED)}}, sort=[("created_at", ASCENDING)]))

    def claim(self, upload_id, received: int, token: str, now: datetime, until: datetime) -> dict | None:
        """Take the lease of an active upload that has exactly ``received`` bytes and no live
        lease; None when it is not so."""
        return self._uploads.find_one_and_update(
            {"_id": upload_id, "state": ACTIVE, "received": received,
             "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}]},
            {"$set": {"lease_token": token, "lease_until": until}}, return_document=ReturnDocument.AFTER)

    def renew(self, upload_id, token: str, until: datetime) -> bool:
        return self._uploads.update_one({"_id": upload_id, "lease_token": token},
                                        {"$set": {"lease_until": until}}).matched_count == 1

    def advance(self, upload_id, token: str, received: int, expires_at: datetime) -> dict | None:
        """Record ``received`` bytes (made durable by the caller first), under the lease."""
        return self._uploads.find_one_and_update(
            {"_id": upload_id, "lease_token": token, "state": ACTIVE, "received": {"$lte": received}},
            {"$set": {"received": received, "expires_at": expires_at}}, return_document=ReturnDocument.AFTER)

    def release(self, upload_id, token: str) -> None:
        self._uploads.update_one({"_id": upload_id, "lease_token": token},
                                 {"$set": {"lease_token": None, "lease_until": None}})

    def begin_completion(self, upload_id, token: str, size: int) -> dict | None:
        """``active`` → ``completing``, once, for the lease holder of a fully received upload;
        its reservation is zeroed in the same write (the caller then gives it back)."""
        return self._uploads.find_one_and_update(
            {"_id": upload_id, "lease_token": token, "state": ACTIVE, "size": size, "received": size},
            {"$set": {"state": COMPLETING, "reserved": 0}}, return_document=ReturnDocument.BEFORE)

    def finish(self, upload_id, file_id, expires_at: datetime) -> None:
        self._uploads.update_one({"_id": upload_id, "state": COMPLETING},
                                 {"$set": {"state": COMPLETED, "file_id": file_id, "expires_at": expires_at,
                                           "lease_token": None, "lease_until": None}})

    def take_idle(self, upload_id, now: datetime, owner_id: str | None = None) -> dict | None:
        """Delete an upload nobody is writing to (active without a live lease, or completed);
        the record as it was, or None."""
        query = {"_id": upload_id, "state": {"$in": [ACTIVE, COMPLETED]},
                 "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}]}
        if owner_id is not None:
            query["owner_id"] = owner_id
        return self._uploads.find_one_and_delete(query)

    def expired(self, now: datetime, limit: int = 1000) -> list[dict]:
        return list(self._uploads.find({"expires_at": {"$lte": now}}, limit=limit))

    def delete(self, upload_id) -> None:
        self._uploads.delete_one({"_id": upload_id})

    def reserved_by_owner(self) -> dict[str, int]:
        """Quota held by unfinished uploads, per user whose drive they go into (repair counts it as used)."""
        totals: dict[str, int] = {}
        for upload in self._uploads.find({"reserved": {"$gt": 0}}, {"owner_id": 1, "drive_id": 1, "reserved": 1}):
            drive = upload.get("drive_id") or upload["owner_id"]
            totals[drive] = totals.get(drive, 0) + upload["reserved"]
        return totals


def uploads_repository(database):
    """The uploads repository of one database: SQLite's, or MongoDB's (also on mongomock)."""
    if database.kind == "sqlite":
        from .sqlite_repo import SQLiteUploadsRepository
        return SQLiteUploadsRepository(database)
    return UploadsRepository(database)
