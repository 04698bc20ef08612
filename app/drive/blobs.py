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
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Iterator

from bson import ObjectId

from ..errors import AppError, ErrorCode, NotFound, quota_exceeded
from ..storage import BlobStorage, OpenedBlob, SignedRedirect, StagedBlob, StorageUnavailable, UploadBudget
from ..timeutil import utcnow
from .repo import BlobsRepository
from .versions import modified_time

log = logging.getLogger(__name__)
_ADOPT_ATTEMPTS = 5


@dataclass(frozen=True)
class Download:
    """One content of a file, ready to be served: the headers it goes out with, and its bytes
    as the storage hands them out (see :meth:`serve`)."""

    name: str
    content_type: str
    sha256: str
    modified_at: datetime
    size: int
    file_id: ObjectId
    blob: dict
    storage: BlobStorage
    # An owner's plain download may be a redirect to a signed URL where the backend offers
    # one; previews and share links are always served by the app (their headers and counting).
    redirect_allowed: bool = False

    def open(self) -> OpenedBlob:
        """The bytes, open for reading; 404 (and an error logged) when they are missing."""
        try:
            return self.storage.open(self.blob["owner_id"], self.blob["storage_key"])
        except FileNotFoundError:
            log.error("record without bytes file_id=%s blob_id=%s", self.file_id, self.blob["_id"])
            raise NotFound("No such file.", code=ErrorCode.FILE_NOT_FOUND) from None

    def serve(self, disposition: str) -> OpenedBlob | SignedRedirect:
        """A signed redirect carrying these headers, where allowed and offered; else :meth:`open`."""
        if self.redirect_allowed:
            url = self.storage.signed_url(self.blob["owner_id"], self.blob["storage_key"],
                                          content_type=self.content_type, disposition=disposition)
            if url is not None:
                return SignedRedirect(url)
        return self.open()


class BytesNeeded(Exception):
    """Raised inside a transaction that found no blob for content whose bytes were therefore
    not stored beforehand (it went meanwhile): store ``staged`` and run the transaction again."""

    def __init__(self, staged: StagedBlob):
        super().__init__("the content's bytes are needed")
        self.staged = staged


class BlobStore:
    def __init__(self, blobs: BlobsRepository, storage: BlobStorage,
                 quota_bytes: int | None | Callable[[str], int | None] = None):
        """``quota_bytes``: every user's quota (0 or None: unlimited), or a function giving a
        user's (an administrator may set one per user)."""
        self.blobs = blobs
        self.storage = storage
        self.quota_of = quota_bytes if callable(quota_bytes) else (lambda _owner_id: quota_bytes)
        self._deferred = threading.local()  # .keys: bytes freed inside deleting_after_commit()

    def adopt(self, owner_id: str, staged: StagedBlob) -> dict:
        """One reference to a blob holding the staged bytes: an existing one with the same
        content (the staged copy is dropped, nothing is charged) or a new one made durable
        from them, charged against the owner's quota first (507 when it does not fit)."""
        existing = self.blobs.acquire_existing(owner_id, staged.sha256)
        if existing is not None:
            self._note_md5(existing, staged)
            staged.discard()
            return existing
        self._charge(owner_id, staged.size)
        key, charged = None, True
        try:
            key = self.storage.commit(staged, owner_id)
            for _ in range(_ADOPT_ATTEMPTS):
                blob = self._new_blob(owner_id, staged, key)
                if self.blobs.insert(blob):
                    return blob
                # The same content was recorded meanwhile: share it, or wait for a dying copy to go.
                existing = self.blobs.acquire_existing(owner_id, staged.sha256)
                if existing is not None:
                    self._note_md5(existing, staged)
                    charged = False
                    self.blobs.uncharge(owner_id, staged.size)
                    self.storage.delete(owner_id, key)
                    return existing
                self._reap_dead(owner_id, staged.sha256)
                time.sleep(0.01)
            raise AppError("The upload collided with a concurrent change; try again.", code=ErrorCode.TRY_AGAIN)
        except BaseException:
            if key is not None:
                self.storage.delete(owner_id, key)
            if charged:
                try:
                    self.blobs.uncharge(owner_id, staged.size)
                except Exception:  # the database is gone: the count stays ahead until repair
                    log.warning("usage left ahead user_id=%s bytes=%d", owner_id, staged.size, exc_info=True)
            raise

    def record(self, owner_id: str, staged: StagedBlob, key: str | None, dead_keys: list[str]) -> tuple[dict, bool]:
        """Inside the caller's transaction (see DriveService._store_in_one_transaction): one
        reference to a blob with the staged content, and whether it is a new one. An existing
        blob is shared; else a new record for the bytes already stored under ``key`` is made,
        charged against the quota (507 when it does not fit); :class:`BytesNeeded` when there
        are no such bytes. The keys of dead records this removes (a release that stopped at a
        count of 0) are added to ``dead_keys``: their bytes go once the transaction commits."""
        existing = self.blobs.acquire_existing(owner_id, staged.sha256)
        if existing is not None:
            self._note_md5(existing, staged)
            return existing, False
        if key is None:
            raise BytesNeeded(staged)
        self._charge(owner_id, staged.size)
        blob = self._new_blob(owner_id, staged, key)
        if not self.blobs.insert(blob):
            gone = self.blobs.take_dead(owner_id, staged.sha256)
            if gone is None or not self.blobs.insert(blob):
                raise AppError("The upload collided with a concurrent change; try again.", code=ErrorCode.TRY_AGAIN)
            self.blobs.uncharge(owner_id, gone["size"])
            dead_keys.append(gone["storage_key"])
        return blob, True

    def _charge(self, owner_id: str, size: int) -> None:
        """Count ``size`` more bytes as the owner's; 507 (nothing counted) when over the quota."""
        quota = self.quota_of(owner_id)
        if not self.blobs.charge(owner_id, size, quota):
            raise quota_exceeded(quota, self.blobs.used_bytes(owner_id))

    @staticmethod
    def _new_blob(owner_id: str, staged: StagedBlob, key: str) -> dict:
        """The record of new content stored under ``key``, with its first reference."""
        return {"_id": ObjectId(), "owner_id": owner_id, "sha256": staged.sha256, "md5": staged.md5,
                "size": staged.size, "storage_key": key, "refs": 1, "created_at": utcnow()}

    def remove_bytes(self, owner_id: str, keys: Iterable[str]) -> None:
        """Delete stored bytes no record refers to (after a transaction gave them up or freed
        them); a failure is logged and left for ``flask repair``, which removes orphan bytes."""
        for key in keys:
            try:
                self.storage.delete(owner_id, key)
            except Exception:
                log.warning("unreferenced bytes left user_id=%s key=%s", owner_id, key, exc_info=True)

    def _note_md5(self, blob: dict, staged: StagedBlob) -> None:
        """Content stored before blobs kept an MD5 gets it from a new upload of the same bytes."""
        if not blob.get("md5"):
            blob["md5"] = staged.md5
            self.blobs.set_md5(blob["_id"], blob["md5"])

    def fill_md5(self, batch: int = 200) -> Iterator[tuple[dict, str | None]]:
        """Compute the MD5 of every blob that has none (stored before blobs kept one), reading
        each once; yields each blob and its MD5 (None when its bytes are missing or fail their
        check: repair's business). Resumable: what is done is not read again."""
        after = None
        while page := self.blobs.without_md5(after, batch):
            for blob in page:
                after = blob["_id"]
                try:
                    md5 = self.storage.digests_of(blob["owner_id"], blob["storage_key"]).md5
                except (FileNotFoundError, StorageUnavailable):
                    yield blob, None
                    continue
                self.blobs.set_md5(blob["_id"], md5)
                yield blob, md5

    def _reap_dead(self, owner_id: str, sha256: str) -> None:
        """Finish a release that stopped between lowering a count to 0 and deleting the record
        (a crash or a lost database): otherwise that content could never be stored again."""
        gone = self.blobs.take_dead(owner_id, sha256)
        if gone is not None:
            self.blobs.uncharge(owner_id, gone["size"])
            self.storage.delete(owner_id, gone["storage_key"])
            log.info("dead blob removed user_id=%s blob_id=%s", owner_id, gone["_id"])

    def content_hashes(self, owner_id: str) -> set[str]:
        """The SHA-256 of every content the owner stores (files, copies, versions, trash)."""
        return {blob["sha256"] for blob in self.blobs.of_owner(owner_id)}

    def add_ref(self, blob_id: ObjectId, count: int = 1) -> bool:
        return self.blobs.add_refs(blob_id, count)

    def release(self, owner_id: str, blob_id: ObjectId) -> None:
        """Drop one reference; the last one removes the record, then the bytes (inside
        :meth:`deleting_after_commit`, once the block is over)."""
        self.blobs.prepare_release(owner_id)
        gone = self.blobs.drop_ref(blob_id)
        if gone is not None:
            self.blobs.uncharge(owner_id, gone["size"])
            deferred = getattr(self._deferred, "keys", None)
            if deferred is not None:
                deferred.append((owner_id, gone["storage_key"]))
            else:
                self.storage.delete(owner_id, gone["storage_key"])
            log.info("blob removed user_id=%s blob_id=%s", owner_id, blob_id)

    @contextmanager
    def deleting_after_commit(self) -> Iterator[None]:
        """Around a write transaction that may release blobs: the bytes whose last reference
        goes are deleted when the block ends without error, after the commit, never while a
        rollback could still bring their records back (then they stay, still referenced)."""
        if getattr(self._deferred, "keys", None) is not None:
            yield  # an outer block deletes them
            return
        self._deferred.keys = []
        try:
            yield
            freed = self._deferred.keys
        finally:
            self._deferred.keys = None
        for owner_id, key in freed:
            self.remove_bytes(owner_id, [key])

    def download(self, file: dict, content: dict | None = None, redirect_allowed: bool = False) -> Download:
        """A content of ``file``: its current one, or ``content`` (a version's)."""
        content = file if content is None else content
        blob = self.blobs.get(content["blob_id"])
        if blob is None:
            log.error("record without bytes file_id=%s blob_id=%s", file["_id"], content["blob_id"])
            raise NotFound("No such file.", code=ErrorCode.FILE_NOT_FOUND)
        return Download(file["name"], content["content_type"], content["sha256"], modified_time(content), blob["size"],
                        file["_id"], blob, self.storage, redirect_allowed)

    # -- staging and quota --------------------------------------------------------------------

    def stage(self, owner_id: str | None, budget: UploadBudget) -> StagedBlob:
        """Staging for bytes from any stream, charged against ``budget`` as they arrive (the
        owner may be unknown until the request's body has been read)."""
        return self.storage.stage(owner_id, budget)

    def resume_staged(self, owner_id: str, staging_id: str, size: int) -> StagedBlob:
        """Staging kept earlier (StagedBlob.keep), continued after its first ``size`` bytes;
        what it may still receive is bounded by a reservation (:meth:`reserve`), not a budget."""
        return self.storage.resume_at(owner_id, staging_id, size, UploadBudget(None))

    def discard_staged(self, owner_id: str, staging_id: str) -> None:
        """Remove staging kept earlier; gone already is fine."""
        try:
            self.storage.resume(owner_id, staging_id, UploadBudget(None)).discard()
        except FileNotFoundError:
            pass

    def reserve(self, owner_id: str, size: int) -> None:
        """Hold ``size`` bytes of the owner's quota for an upload still arriving (507 when they
        do not fit): counted as used until :meth:`release_reservation`."""
        self._charge(owner_id, size)

    def release_reservation(self, owner_id: str, size: int) -> None:
        if size:
            self.blobs.uncharge(owner_id, size)

    def upload_budget(self, owner_id: str) -> UploadBudget:
        """What one upload request of the owner may write: 507 at once when the quota is used
        up; while bytes stream, the free space plus the largest content the user already has
        (only content the user already has can be stored for free). The exact check is
        :meth:`check_quota`, once the bytes are hashed."""
        quota = self.quota_of(owner_id)
        if not quota:
            return UploadBudget(None)
        used = self.blobs.used_bytes(owner_id)
        if used >= quota:
            raise quota_exceeded(quota, used)
        return UploadBudget(quota - used + self.blobs.largest_size(owner_id), refusal=quota_exceeded(quota, used))

    def check_quota(self, owner_id: str, staged: Iterable[StagedBlob]) -> None:
        """507 unless the content among ``staged`` the owner does not have yet fits the quota."""
        quota = self.quota_of(owner_id)
        if not quota:
            return
        staged = list(staged)
        known = self.blobs.known_contents(owner_id, [s.sha256 for s in staged])
        new_content = {s.sha256: s.size for s in staged if s.sha256 not in known}
        used = self.blobs.used_bytes(owner_id)
        if used + sum(new_content.values()) > quota:
            raise quota_exceeded(quota, used)
