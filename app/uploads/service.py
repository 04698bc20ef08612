"""Resumable uploads: create, append, finish, cancel, expire.

The bytes go to staging kept between requests (StagedBlob.keep / BlobStore.resume_staged);
the record (repo.py) says how many of them are acknowledged. Each append is fsynced before the
record moves, so an offset the server reports is never one it cannot serve; bytes past the
recorded offset (a PATCH cut off by a crash, or refused on its checksum) are cut off by the
next resume. The declared length is reserved against the quota at creation; at completion the
reservation is given back and the file is placed by DriveService.store_staged, exactly as a
multipart upload of the same bytes (dedup, versions on replace, the real charge).
"""
from __future__ import annotations

import hashlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO, Iterator

from bson import ObjectId

from ..drive.blobs import BlobStore
from ..drive.names import validate_display_name
from ..drive.repo import FOLDER
from ..drive.service import DriveService, relative_folders
from ..drive.tree import ROOT, conflict_policy
from ..errors import AppError, ErrorCode, NotFound
from ..storage import StagedBlob, UploadBudget
from ..timeutil import utcnow
from .repo import ACTIVE, COMPLETED, COMPLETING, UploadsRepository

log = logging.getLogger(__name__)

# A PATCH holds the upload's lease while it writes, renewed as bytes arrive; a writer killed
# with the server leaves it for at most this long.
LEASE_S = 30
RENEW_EVERY_S = 5
CHECKSUM_ALGORITHMS = {"sha256": hashlib.sha256, "sha1": hashlib.sha1, "md5": hashlib.md5}


@dataclass(frozen=True)
class NewUpload:
    """What a client declares when it creates an upload (tus ``Upload-Length`` and
    ``Upload-Metadata``)."""

    size: int
    name: str | None
    folder_id: str | None = None
    on_conflict: str | None = None
    content_type: str | None = None
    modified_at: datetime | None = None
    relative_path: str | None = None


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes


def drive_of(upload: dict) -> str:
    """The user whose drive (quota, storage, folders) an upload goes into: the uploader's own,
    or the owner of a folder shared with them (``drive_id``)."""
    return upload.get("drive_id") or upload["owner_id"]


def upload_not_found() -> NotFound:
    return NotFound("No such upload.", code=ErrorCode.UPLOAD_NOT_FOUND)


class UploadsService:
    def __init__(self, uploads: UploadsRepository, blobs: BlobStore, drive: DriveService, max_size: int | None,
                 expiry_hours: int):
        self.uploads = uploads
        self.blobs = blobs
        self.drive = drive
        self.max_size = max_size
        self.expiry = timedelta(hours=expiry_hours)

    # -- reading --------------------------------------------------------------------------------

    def get(self, owner_id: str, upload_id: str) -> dict:
        """The owner's upload (finished ones too, until they expire), else 404."""
        upload = self.uploads.get_owned(owner_id, upload_id)
        if upload is None or upload["expires_at"] <= utcnow():
            raise upload_not_found()
        return upload

    def position(self, owner_id: str, upload_id: str) -> dict:
        """The upload for a HEAD: while its last request is still making the file (an S3
        upload is read back to be hashed), 423, not "all bytes received", so a client never
        takes an upload for done before the file exists (or was refused)."""
        upload = self.get(owner_id, upload_id)
        if upload["state"] == COMPLETING:
            raise AppError("The upload is being stored; ask again shortly.", code=ErrorCode.UPLOAD_LOCKED)
        return upload

    def list_unfinished(self, owner_id: str) -> list[dict]:
        now = utcnow()
        return [u for u in self.uploads.for_owner(owner_id) if u["expires_at"] > now]

    # -- creating -------------------------------------------------------------------------------

    def create(self, owner_id: str, new: NewUpload, drive_id: str | None = None) -> dict:
        """A new empty upload: its name and folder checked now (so no byte is sent for
        nothing), its length reserved against the quota (507), MAX_CONTENT_LENGTH applied (413).
        ``drive_id``: the drive it goes into when that is not the uploader's (a folder shared
        with them, checked by the caller): its quota and storage hold the upload."""
        uploader_id, owner_id = owner_id, drive_id or owner_id
        from ..errors import too_large_message
        if self.max_size is not None and new.size > self.max_size:
            raise AppError(too_large_message(self.max_size), code=ErrorCode.PAYLOAD_TOO_LARGE)
        storage_limit = self.blobs.storage.max_resumable_size
        if storage_limit is not None and new.size > storage_limit:
            raise AppError(f"{too_large_message(storage_limit)} (the most a resumable upload can hold on this "
                           "server's storage)", code=ErrorCode.PAYLOAD_TOO_LARGE)
        folders, last_segment = relative_folders(new.relative_path)
        if not (new.name or last_segment):
            raise AppError("Name the file: Upload-Metadata needs 'filename' (or 'name').",
                           code=ErrorCode.INVALID_INPUT)
        name = validate_display_name(new.name or last_segment)
        policy = conflict_policy(new.on_conflict)
        if new.folder_id not in (None, "", ROOT):
            self.drive.get(owner_id, new.folder_id, FOLDER)
        if policy == "fail":
            self.drive.check_free(owner_id, new.folder_id, folders, name)
        self.blobs.reserve(owner_id, new.size)
        now = utcnow()
        try:
            staged = self.blobs.stage(owner_id, UploadBudget(None))  # the reservation bounds it
            try:
                staging_id = staged.keep()
            except NotImplementedError:
                staged.discard()
                raise AppError("This server's storage cannot resume uploads yet; use POST /api/upload.",
                               code=ErrorCode.RESUMABLE_UNAVAILABLE) from None
            upload = {"_id": ObjectId(), "owner_id": uploader_id, "staging_id": staging_id, "size": new.size,
                      "received": 0, "reserved": new.size, "state": ACTIVE, "name": name,
                      "folder_id": new.folder_id or None, "on_conflict": policy, "content_type": new.content_type,
                      "modified_at": new.modified_at, "relative_path": "/".join(folders) or None,
                      "created_at": now, "expires_at": now + self.expiry,
                      "lease_token": None, "lease_until": None, "file_id": None}
            if owner_id != uploader_id:
                upload["drive_id"] = owner_id
            self.uploads.insert(upload)
        except BaseException:
            self.blobs.release_reservation(owner_id, new.size)
            raise
        log.info("resumable upload created user_id=%s upload_id=%s size=%d", owner_id, upload["_id"], new.size)
        return upload

    def start(self, owner_id: str, new: NewUpload, body: BinaryIO | None, checksum: Checksum | None = None,
              drive_id: str | None = None) -> dict:
        """Create, and append the creation request's body if it has one (creation-with-upload);
        an empty file is finished at once."""
        upload = self.create(owner_id, new, drive_id)
        if body is None and new.size:
            return upload
        return self.append(owner_id, str(upload["_id"]), 0, body or _EMPTY, checksum)

    # -- appending ------------------------------------------------------------------------------

    def append(self, owner_id: str, upload_id: str, offset: int, body: BinaryIO,
               checksum: Checksum | None = None) -> dict:
        """Append ``body`` at ``offset`` (409 elsewhere, 423 while another request writes),
        durably, then record the new offset; the last byte makes the file (once)."""
        upload = self.get(owner_id, upload_id)
        if upload["state"] != ACTIVE or upload["received"] != offset:
            raise _offset_mismatch(offset, upload["received"])
        token, now = uuid.uuid4().hex, utcnow()
        claimed = self.uploads.claim(upload["_id"], offset, token, now, now + timedelta(seconds=LEASE_S))
        if claimed is None:
            again = self.get(owner_id, upload_id)
            if again["state"] != ACTIVE or again["received"] != offset:
                raise _offset_mismatch(offset, again["received"])
            raise AppError("Another request is writing to this upload; try again shortly.",
                           code=ErrorCode.UPLOAD_LOCKED)
        try:
            return self._append_claimed(claimed, token, body, checksum)
        finally:
            self.uploads.release(claimed["_id"], token)

    def _append_claimed(self, upload: dict, token: str, body: BinaryIO, checksum: Checksum | None) -> dict:
        owner_id = drive_of(upload)
        try:
            staged = self.blobs.resume_staged(owner_id, upload["staging_id"], upload["received"])
        except FileNotFoundError:
            self._lost(upload)
            raise upload_not_found() from None
        digest = CHECKSUM_ALGORITHMS[checksum.algorithm]() if checksum else None
        try:
            staged.append(self._pieces(upload, token, body, upload["size"] - upload["received"], digest))
        except BaseException:
            # A cut-off body keeps what arrived whole (tus lets a server keep a partial PATCH),
            # unless it carried a checksum, which then cannot be checked, or the storage cannot
            # make it durable (sync raises: the offset stays at the last durable one).
            if checksum is None and staged.size > upload["received"]:
                try:
                    self._record(upload, token, staged)
                except Exception:  # noqa: BLE001 - the original error is the answer
                    log.warning("could not keep a cut-off chunk upload_id=%s", upload["_id"], exc_info=True)
            _let_go(staged)
            raise
        if digest is not None and digest.digest() != checksum.digest:
            _let_go(staged)  # the next resume cuts the refused bytes off
            raise AppError("The chunk does not match its Upload-Checksum; resend it.",
                           code=ErrorCode.CHECKSUM_MISMATCH)
        try:
            recorded = self._record(upload, token, staged)
        except BaseException:
            _let_go(staged)
            raise
        if recorded["received"] < recorded["size"]:
            _let_go(staged)
            return recorded
        return self._complete(recorded, token, staged)

    def _pieces(self, upload: dict, token: str, body: BinaryIO, room: int, digest) -> Iterator[bytes]:
        """The body in pieces, hashed for the checksum, never past the declared length, the
        lease renewed as they arrive."""
        renewed = time.monotonic()
        while piece := body.read(1024 * 1024):
            if len(piece) > room:
                raise AppError("The body goes past Upload-Length.", code=ErrorCode.PAYLOAD_TOO_LARGE)
            room -= len(piece)
            if digest is not None:
                digest.update(piece)
            if time.monotonic() - renewed > RENEW_EVERY_S:
                if not self.uploads.renew(upload["_id"], token, utcnow() + timedelta(seconds=LEASE_S)):
                    raise AppError("The upload was cancelled meanwhile.", code=ErrorCode.UPLOAD_NOT_FOUND)
                renewed = time.monotonic()
            yield piece

    def _record(self, upload: dict, token: str, staged: StagedBlob) -> dict:
        """fsync, then move the recorded offset: an offset is reported only once durable."""
        staged.sync()
        recorded = self.uploads.advance(upload["_id"], token, staged.size, utcnow() + self.expiry)
        if recorded is None:
            raise AppError("The upload was cancelled meanwhile.", code=ErrorCode.UPLOAD_NOT_FOUND)
        return recorded

    def _complete(self, upload: dict, token: str, staged: StagedBlob) -> dict:
        """The one transition to ``completing`` makes the file; the reservation is swapped for
        what storing the content really costs (nothing when the user has it already)."""
        owner_id = drive_of(upload)
        before = self.uploads.begin_completion(upload["_id"], token, upload["size"])
        if before is None:  # cannot happen under the lease; never make a second file
            _let_go(staged)
            raise _offset_mismatch(upload["size"], upload["received"])
        self.blobs.release_reservation(owner_id, before["reserved"])
        try:
            folder_id = upload["folder_id"]
            if upload.get("relative_path"):  # its folders are made now, not for an upload never finished
                folder_id = self.drive.folder_path(owner_id, folder_id, upload["relative_path"].split("/"))
            item = self.drive.store_staged(owner_id, staged, upload["name"], upload["content_type"],
                                           folder_id, upload["on_conflict"],
                                           modified_at=upload.get("modified_at"))
        except BaseException:
            staged.discard()
            self.uploads.delete(upload["_id"])
            log.info("resumable upload refused at completion user_id=%s upload_id=%s", owner_id, upload["_id"])
            raise
        self.uploads.finish(upload["_id"], item["_id"], utcnow() + self.expiry)
        log.info("resumable upload finished user_id=%s upload_id=%s file_id=%s", owner_id, upload["_id"],
                 item["_id"])
        return {**upload, "state": COMPLETED, "file_id": item["_id"], "reserved": 0}

    # -- ending ---------------------------------------------------------------------------------

    def terminate(self, owner_id: str, upload_id: str) -> None:
        """Cancel: the record goes, then the staged bytes and the reservation (423 while a
        PATCH writes)."""
        upload = self.get(owner_id, upload_id)
        gone = self.uploads.take_idle(upload["_id"], utcnow(), owner_id)
        if gone is None:
            if self.uploads.get_owned(owner_id, upload_id) is None:
                raise upload_not_found()
            raise AppError("Another request is writing to this upload; try again shortly.",
                           code=ErrorCode.UPLOAD_LOCKED)
        self._clean_up(gone)
        log.info("resumable upload cancelled user_id=%s upload_id=%s", owner_id, upload_id)

    def sweep_expired(self) -> int:
        """Remove uploads idle past TUS_EXPIRY_HOURS (and finished ones kept for late HEADs)."""
        now, removed = utcnow(), 0
        for upload in self.uploads.expired(now):
            gone = self.uploads.take_idle(upload["_id"], now)
            if gone is not None:
                self._clean_up(gone)
                removed += gone["state"] == ACTIVE
        return removed

    def unfinished(self) -> list[dict]:
        """Every user's unfinished uploads (for repair)."""
        return self.uploads.unfinished()

    def _clean_up(self, gone: dict) -> None:
        if gone["state"] == ACTIVE:
            self.blobs.release_reservation(drive_of(gone), gone["reserved"])
            self.blobs.discard_staged(drive_of(gone), gone["staging_id"])

    def _lost(self, upload: dict) -> None:
        """The staged bytes are gone (swept, or removed by hand): the upload cannot go on."""
        log.error("resumable upload lost its staging user_id=%s upload_id=%s", upload["owner_id"], upload["_id"])
        self.uploads.delete(upload["_id"])
        self.blobs.release_reservation(drive_of(upload), upload["reserved"])


class _Empty:
    @staticmethod
    def read(size: int = -1) -> bytes:
        return b""


_EMPTY = _Empty()


def _offset_mismatch(sent: int, actual: int) -> AppError:
    return AppError(f"Upload-Offset is {sent} but the upload has {actual} bytes: resume from there.",
                    code=ErrorCode.OFFSET_MISMATCH)


def _let_go(staged: StagedBlob) -> None:
    """Close the staging and keep its bytes for the next request (best effort: the record, not
    the file, says what is acknowledged)."""
    try:
        staged.keep()
    except Exception:  # a full disk, a closed file: the next resume decides
        log.warning("could not close resumable staging cleanly", exc_info=True)
