"""Earlier contents of a file. A version holds the reference to its blob that the file
held before; restoring swaps the two, so no reference count changes hands twice."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

from bson import ObjectId

from ..errors import NotFound
from ..timeutil import utcnow
from .repo import FILE, ItemsRepository, VersionsRepository
from .tree import Tree

if TYPE_CHECKING:
    from .blobs import BlobStore
    from .service import Download

log = logging.getLogger(__name__)
CONTENT_FIELDS = ("blob_id", "size", "sha256", "content_type")


class VersionsService:
    def __init__(self, items: ItemsRepository, versions: VersionsRepository, blobs: "BlobStore", max_versions: int):
        self.items = items
        self.tree = Tree(items)
        self.versions = versions
        self.blobs = blobs
        self.max_versions = max_versions

    def replace_content(self, owner_id: str, file: dict, content: dict, undo: list[Callable[[], None]]) -> dict:
        """Make ``content`` the file's current content; the previous one becomes a version."""
        if content["sha256"] == file["sha256"]:
            self.blobs.release(owner_id, content["blob_id"])  # same bytes: nothing to keep
            undo.pop()  # the caller's release of that reference is done already
            return file
        version = self._version_of(owner_id, file)
        self.versions.insert(version)
        undo.append(lambda: self.versions.delete(version["_id"]))
        previous = {k: file[k] for k in CONTENT_FIELDS} | {"updated_at": file["updated_at"]}
        updated = self.items.update(owner_id, file["_id"], {**content, "updated_at": utcnow()})
        undo.append(lambda: self.items.update(owner_id, file["_id"], previous))
        log.info("new version user_id=%s file_id=%s", owner_id, file["_id"])
        return updated

    def _version_of(self, owner_id: str, file: dict) -> dict:
        return {"_id": ObjectId(), "owner_id": owner_id, "file_id": file["_id"],
                **{k: file[k] for k in CONTENT_FIELDS}, "created_at": file["updated_at"]}

    def trim(self, owner_id: str, file_id: ObjectId) -> None:
        """Keep at most ``max_versions``; older ones release their bytes."""
        for version in self.versions.for_file(file_id)[self.max_versions:]:
            self._drop(owner_id, version)

    def _drop(self, owner_id: str, version: dict) -> None:
        self.versions.delete(version["_id"])
        self.blobs.release(owner_id, version["blob_id"])

    def _file_and_version(self, owner_id: str, file_id: str, version_id: str) -> tuple[dict, dict]:
        file = self.tree.live(owner_id, file_id, FILE)
        version = self.versions.get(file["_id"], version_id)
        if version is None:
            raise NotFound("No such version.", code="version_not_found")
        return file, version

    def list(self, owner_id: str, file_id: str) -> list[dict]:
        return self.versions.for_file(self.tree.live(owner_id, file_id, FILE)["_id"])

    def open_version(self, owner_id: str, file_id: str, version_id: str) -> "Download":
        file, version = self._file_and_version(owner_id, file_id, version_id)
        return self.download_of(file, version["blob_id"], version)

    def download_of(self, file: dict, blob_id: ObjectId, content: dict) -> "Download":
        from .service import Download
        blob = self.blobs.get(blob_id)
        try:
            if blob is None:
                raise FileNotFoundError(blob_id)
            path = self.blobs.path(blob)
        except FileNotFoundError:
            log.error("record without bytes file_id=%s blob_id=%s", file["_id"], blob_id)
            raise NotFound("No such file.", code="file_not_found") from None
        modified = content.get("updated_at") or content["created_at"]
        return Download(file["name"], content["content_type"], content["sha256"], modified, path)

    def restore(self, owner_id: str, file_id: str, version_id: str) -> dict:
        """The version becomes current; the current content becomes a version."""
        file, version = self._file_and_version(owner_id, file_id, version_id)
        self.versions.insert(self._version_of(owner_id, file))
        self.versions.delete(version["_id"])
        restored = self.items.update(owner_id, file["_id"],
                                     {**{k: version[k] for k in CONTENT_FIELDS}, "updated_at": utcnow()})
        self.trim(owner_id, file["_id"])
        log.info("version restored user_id=%s file_id=%s", owner_id, file["_id"])
        return restored

    def delete(self, owner_id: str, file_id: str, version_id: str) -> None:
        _, version = self._file_and_version(owner_id, file_id, version_id)
        self._drop(owner_id, version)

    def delete_all(self, owner_id: str, file_id: ObjectId) -> None:
        for version in self.versions.for_file(file_id):
            self._drop(owner_id, version)
