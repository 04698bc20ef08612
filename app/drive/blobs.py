"""Content-addressed bytes per user: one blob per distinct SHA-256, shared by every file,
copy and version with that content, removed when the last reference goes.

Reference counts change atomically (``$inc``) and a blob record is deleted only while its
count is still zero, so a concurrent upload of the same content either takes a reference
before the delete (and the blob stays) or finds no blob and stores its own bytes under a
new key. A crash between the two steps leaves at worst unreferenced bytes, never a record
pointing at nothing.
"""
from __future__ import annotations

import logging
import time

from bson import ObjectId

from ..errors import AppError, quota_exceeded
from ..storage import BlobStorage, StagedBlob
from ..timeutil import utcnow
from .repo import BlobsRepository

log = logging.getLogger(__name__)
_ADOPT_ATTEMPTS = 5


class BlobStore:
    def __init__(self, blobs: BlobsRepository, storage: BlobStorage, quota_bytes: int | None = None):
        self.blobs = blobs
        self.storage = storage
        self.quota_bytes = quota_bytes

    def adopt(self, owner_id: str, staged: StagedBlob) -> dict:
        """One reference to a blob holding the staged bytes: an existing one with the same
        content (the staged copy is dropped, nothing is charged) or a new one made durable
        from them, charged against the owner's quota first (507 when it does not fit)."""
        existing = self.blobs.acquire_existing(owner_id, staged.sha256)
        if existing is not None:
            staged.discard()
            return existing
        if not self.blobs.charge(owner_id, staged.size, self.quota_bytes):
            raise quota_exceeded(self.quota_bytes, self.blobs.used_bytes(owner_id))
        key, charged = None, True
        try:
            key = self.storage.commit(staged, owner_id)
            for _ in range(_ADOPT_ATTEMPTS):
                blob = {"_id": ObjectId(), "owner_id": owner_id, "sha256": staged.sha256, "size": staged.size,
                        "storage_key": key, "refs": 1, "created_at": utcnow()}
                if self.blobs.insert(blob):
                    return blob
                # The same content was recorded meanwhile: share it, or wait for a dying copy to go.
                existing = self.blobs.acquire_existing(owner_id, staged.sha256)
                if existing is not None:
                    charged = False
                    self.blobs.uncharge(owner_id, staged.size)
                    self.storage.delete(owner_id, key)
                    return existing
                self._reap_dead(owner_id, staged.sha256)
                time.sleep(0.01)
            raise AppError("The upload collided with a concurrent change; try again.", code="try_again", status=503)
        except BaseException:
            if key is not None:
                self.storage.delete(owner_id, key)
            if charged:
                try:
                    self.blobs.uncharge(owner_id, staged.size)
                except Exception:  # the database is gone: the count stays ahead until repair
                    log.warning("usage left ahead user_id=%s bytes=%d", owner_id, staged.size, exc_info=True)
            raise

    def _reap_dead(self, owner_id: str, sha256: str) -> None:
        """Finish a release that stopped between lowering a count to 0 and deleting the record
        (a crash or a lost database): otherwise that content could never be stored again."""
        gone = self.blobs.take_dead(owner_id, sha256)
        if gone is not None:
            self.blobs.uncharge(owner_id, gone["size"])
            self.storage.delete(owner_id, gone["storage_key"])
            log.info("dead blob removed user_id=%s blob_id=%s", owner_id, gone["_id"])

    def add_ref(self, blob_id: ObjectId, count: int = 1) -> bool:
        return self.blobs.add_refs(blob_id, count)

    def release(self, owner_id: str, blob_id: ObjectId) -> None:
        """Drop one reference; the last one removes the record, then the bytes."""
        self.blobs.prepare_release(owner_id)
        gone = self.blobs.drop_ref(blob_id)
        if gone is not None:
            self.blobs.uncharge(owner_id, gone["size"])
            self.storage.delete(owner_id, gone["storage_key"])
            log.info("blob removed user_id=%s blob_id=%s", owner_id, blob_id)

    def path(self, blob: dict) -> str:
        return self.storage.path_for(blob["owner_id"], blob["storage_key"])

    def get(self, blob_id: ObjectId) -> dict | None:
        return self.blobs.get(blob_id)
