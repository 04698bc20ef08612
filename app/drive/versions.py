"""Earlier contents of a file. A version holds the reference to its blob that the file
held before; restoring swaps the two, so no reference count changes hands twice."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

from bson import ObjectId

from ..errors import AppError, NotFound
from ..timeutil import utcnow
from .repo import FILE, ItemsRepository, VersionsRepository
from .tree import Tree

if TYPE_CHECKING:
    from .blobs import BlobStore
    from .service import Download

log = logging.getLogger(__name__)
CONTENT_FIELDS = ("blob_id", "size", "sha256", "content_type")
_COMMIT_ATTEMPTS = 100


def revision_of(item: dict) -> int:
    """The commit number of a file's content (1 for its first; files older than revisions: 1)."""
    return item.get("revision") or 1


class VersionsService:
    def __init__(self, items: ItemsRepository, versions: VersionsRepository, blobs: "BlobStore", max_versions: int):
        self.items = items
        self.tree = Tree(items)
        self.versions = versions
        self.blobs = blobs
        self.max_versions = max_versions

    def replace_content(self, owner_id: str, file: dict, content: dict,
                        undo: list[Callable[[], None]]) -> dict | None:
        """Make ``content`` (whose blob reference the caller holds) the file's current content
        as its next commit; the previous content becomes a version, keeping its reference.

        The commit is a compare-and-swap on the file's revision, so of many parallel replaces
        each one either becomes exactly one commit or retries on the newer state. Returns None
        when the file left its name meanwhile (trashed, deleted): the caller places it anew."""
        for _ in range(_COMMIT_ATTEMPTS):
            if content["sha256"] == file["sha256"]:
                self.blobs.release(owner_id, content["blob_id"])  # same bytes: nothing to keep
                undo.pop()  # the caller's release of that reference is done already
                return file
            seen = file.get("revision")
            revision = revision_of(file) + 1
            updated = self.items.commit_content(owner_id, file["_id"], seen,
                                                {**content, "revision": revision, "updated_at": utcnow()})
            if updated is not None:
                version = self._version_of(owner_id, file)
                self.versions.insert(version)
                undo.append(lambda: self._revert(owner_id, file, version, revision))
                log.info("new version user_id=%s file_id=%s revision=%d", owner_id, file["_id"], revision)
                return updated
            file = self.items.get(owner_id, file["_id"], kind=FILE)
            if file is None:
                return None
        raise AppError("Too many changes to this file at once; try again.", code="try_again", status=503)

    def _revert(self, owner_id: str, previous: dict, version: dict, revision: int) -> None:
        """Undo a commit of a request that failed later: the content it committed leaves the
        file or the version list; the caller's undo then releases that content's reference."""
        restored = self.items.commit_content(owner_id, previous["_id"], revision,
                                             {**{k: previous[k] for k in CONTENT_FIELDS},
                                              "revision": previous.get("revision"), "updated_at": previous["updated_at"]})
        if restored is not None:
            self.versions.delete(version["_id"])  # its reference is the file's again
        else:  # a later commit made ours a version already
            self.versions.take_revision(previous["_id"], revision)

    def _version_of(self, owner_id: str, file: dict) -> dict:
        return {"_id": ObjectId(), "owner_id": owner_id, "file_id": file["_id"],
                **{k: file[k] for k in CONTENT_FIELDS}, "revision": revision_of(file),
                "created_at": file["updated_at"]}

    def trim(self, owner_id: str, file_id: ObjectId) -> None:
        """Keep at most ``max_versions``, the newest commits; older ones release their bytes."""
        for version in self.versions.for_file(file_id)[self.max_versions:]:
            self._drop(owner_id, version)

    def _drop(self, owner_id: str, version: dict) -> None:
        if self.versions.delete(version["_id"]):  # only the caller that removed it releases
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
        """The version's content becomes the file's next commit; the current one a version."""
        file, version = self._file_and_version(owner_id, file_id, version_id)
        if not self.versions.delete(version["_id"]):  # a parallel restore or delete took it
            raise NotFound("No such version.", code="version_not_found")
        # From here this call holds the version's reference to its blob.
        try:
            for _ in range(_COMMIT_ATTEMPTS):
                revision = revision_of(file) + 1
                restored = self.items.commit_content(
                    owner_id, file["_id"], file.get("revision"),
                    {**{k: version[k] for k in CONTENT_FIELDS}, "revision": revision, "updated_at": utcnow()})
                if restored is not None:
                    self.versions.insert(self._version_of(owner_id, file))
                    break
                file = self.tree.live(owner_id, file_id, FILE)
            else:
                raise AppError("Too many changes to this file at once; try again.", code="try_again", status=503)
        except BaseException:
            self.versions.insert(version)  # nothing changed: the version is back
            raise
        self.trim(owner_id, file["_id"])
        log.info("version restored user_id=%s file_id=%s revision=%d", owner_id, file["_id"], revision)
        return restored

    def delete(self, owner_id: str, file_id: str, version_id: str) -> None:
        _, version = self._file_and_version(owner_id, file_id, version_id)
        self._drop(owner_id, version)

    def delete_all(self, owner_id: str, file_id: ObjectId) -> None:
        for version in self.versions.for_file(file_id):
            self._drop(owner_id, version)
