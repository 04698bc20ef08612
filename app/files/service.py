"""File rules: ownership, quota, the order of bytes and records."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from bson import ObjectId

from ..errors import InvalidInput, NotFound, QuotaExceeded
from ..storage import BlobStorage, StagedBlob, UploadBudget
from ..timeutil import isoformat, utcnow
from .names import normalise_content_type, validate_display_name
from .repo import FilesRepository

log = logging.getLogger(__name__)


@dataclass
class UploadPart:
    """One received file part: the client's name and type, and the bytes already staged."""

    name: str | None
    content_type: str | None
    staged: StagedBlob


@dataclass
class Download:
    record: dict
    path: str


def public_file(record: dict) -> dict:
    return {"id": str(record["_id"]), "name": record["name"], "size": record["size"],
            "content_type": record["content_type"], "sha256": record["sha256"],
            "created_at": isoformat(record["created_at"])}


class FilesService:
    def __init__(self, files: FilesRepository, storage: BlobStorage, quota_bytes: int):
        self.files = files
        self.storage = storage
        self.quota_bytes = quota_bytes

    def stager_for(self, user_id: str) -> Callable[[], StagedBlob]:
        """A factory for staging the parts of one upload request, all charged to one budget.

        Refuses at once, before any byte is read, when the user has no space left.
        """
        budget = UploadBudget(self._remaining_quota(user_id))
        if budget.remaining is not None and budget.remaining <= 0:
            raise QuotaExceeded("Your storage quota is used up.")
        return lambda: self.storage.stage(user_id, budget)

    def _remaining_quota(self, user_id: str) -> int | None:
        if not self.quota_bytes:
            return None
        used, _ = self.files.usage(user_id)
        return self.quota_bytes - used

    def store_uploads(self, user_id: str, parts: list[UploadPart]) -> list[dict]:
        """Commit every staged part and record it; all or nothing."""
        if not parts:
            raise InvalidInput("Send the file in a multipart field named 'file'.", code="missing_file")
        checked = []
        for part in parts:
            if not part.name and part.staged.size == 0:
                raise InvalidInput("A 'file' part is empty: choose a file to upload.", code="empty_file_part")
            name = validate_display_name(part.name or "")
            checked.append((part, name, normalise_content_type(part.content_type, name)))

        stored: list[dict] = []
        try:
            for part, name, content_type in checked:
                stored.append(self._commit_one(user_id, part.staged, name, content_type))
        except BaseException:
            for record in stored:  # undo earlier parts so the request stays all-or-nothing
                self._remove(record)
            raise
        return stored

    def _commit_one(self, user_id: str, staged: StagedBlob, name: str, content_type: str) -> dict:
        key = self.storage.commit(staged)
        record = {"_id": ObjectId(), "owner_id": user_id, "name": name, "name_lower": name.casefold(),
                  "size": staged.size, "content_type": content_type, "sha256": staged.sha256,
                  "storage_key": key, "created_at": utcnow()}
        try:
            self.files.insert(record)
        except BaseException:
            self.storage.delete(user_id, key)  # bytes without a record must not survive
            raise
        log.info("upload user_id=%s file_id=%s size=%d", user_id, record["_id"], staged.size)
        return record

    def _remove(self, record: dict) -> None:
        self.files.delete(record["_id"])
        self.storage.delete(record["owner_id"], record["storage_key"])

    def list_files(self, user_id: str, sort: str, descending: bool, page: int, limit: int) -> tuple[list[dict], int]:
        items = self.files.list_owned(user_id, sort, descending, (page - 1) * limit, limit)
        return items, self.files.count_owned(user_id)

    def get_file(self, user_id: str, file_id: str) -> dict:
        record = self.files.get_owned(user_id, file_id)
        if record is None:
            raise NotFound("No such file.", code="file_not_found")
        return record

    def open_download(self, user_id: str, file_id: str) -> Download:
        record = self.get_file(user_id, file_id)
        try:
            path = self.storage.path_for(user_id, record["storage_key"])
        except FileNotFoundError:
            log.error("record without bytes file_id=%s", file_id)
            raise NotFound("No such file.", code="file_not_found") from None
        return Download(record, path)

    def delete_file(self, user_id: str, file_id: str) -> None:
        """Record first, then bytes: a crash in between leaves only unreferenced bytes."""
        record = self.files.delete_owned(user_id, file_id)
        if record is None:
            raise NotFound("No such file.", code="file_not_found")
        self.storage.delete(user_id, record["storage_key"])
        log.info("delete user_id=%s file_id=%s", user_id, file_id)

    def usage(self, user_id: str) -> dict:
        used, count = self.files.usage(user_id)
        return {"used_bytes": used, "file_count": count, "quota_bytes": self.quota_bytes}
