"""Earlier contents of a file, and how a file's content changes: one commit at a time.

A commit is a compare-and-swap on the file's ``revision``. Before it, the content being
replaced is written as a *pending* version record (invisible, holding no reference); the
swap sets the file's new content, ``revision + 1`` and ``last_version_id`` = that record in
one atomic update, which is what makes the record a real version: the file's reference to
the old content passes to it. A pending record is settled (its flag cleared) right after,
or by the next commit; one whose swap lost is deleted, and ``repair`` deletes any a crash
left (they hold no reference). So every step before the swap changes nothing anyone can
see, and the swap is the one moment a replace or restore happens.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Callable

from bson import ObjectId

from ..errors import AppError, ErrorCode, NotFound
from ..timeutil import isoformat, utcnow
from .repo import FILE, ItemsRepository, VersionsRepository
from .tree import Tree

if TYPE_CHECKING:
    from .blobs import BlobStore, Download

log = logging.getLogger(__name__)
# A file's content: its bytes and what describes them. ``modified_at`` is the content's own
# modification time (the client's, such as tus lastModified; None for files stored before it).
CONTENT_FIELDS = ("blob_id", "size", "sha256", "content_type", "modified_at")
_COMMIT_ATTEMPTS = 100


def content_of(record: dict) -> dict:
    """The content fields of a file, version or new content (a missing one is None)."""
    return {k: record.get(k) for k in CONTENT_FIELDS}


def modified_time(record: dict) -> datetime | None:
    """A file's or version's modification time: the client's, else (content stored before
    modification times were kept) when the content was committed."""
    return record.get("modified_at") or record.get("updated_at") or record.get("created_at")


def content_modified(record: dict) -> str | None:
    """:func:`modified_time` as the API writes times."""
    when = modified_time(record)
    return isoformat(when) if when else None


def revision_of(item: dict) -> int:
    """The commit number of a file's content (1 for its first; files older than revisions: 1)."""
    return item.get("revision") or 1


def is_real_version(version: dict, file: dict | None) -> bool:
    """A version record that holds a reference: settled, or the one the file's last commit made."""
    return not version.get("pending") or (file is not None and file.get("last_version_id") == version["_id"])


class VersionsService:
    def __init__(self, items: ItemsRepository, versions: VersionsRepository, blobs: "BlobStore", max_versions: int):
        self.items = items
        self.tree = Tree(items)
        self.versions = versions
        self.blobs = blobs
        self.max_versions = max_versions

    def commit(self, owner_id: str, file: dict, content: dict) -> dict | None:
        """Make ``content`` (content fields whose reference the caller hands over) the file's
        next commit; the current content becomes a version. None when the file moved on (or
        left) since ``file`` was read: nothing changed, and the caller decides what next."""
        self.settle(file)
        revision = revision_of(file) + 1
        version = {**self._version_of(owner_id, file), "pending": True}
        self.versions.insert(version)
        try:
            updated = self.items.commit_content(owner_id, file["_id"], file.get("revision"), {
                **content_of(content), "revision": revision, "updated_at": utcnow(),
                "last_version_id": version["_id"]})
        except BaseException:
            if self._applied(owner_id, file, version):
                updated = self.items.get(owner_id, file["_id"], kind=FILE, live=None)
            else:
                self._forget(version)
                raise
        if updated is None:
            self.versions.delete(version["_id"])
            return None
        try:
            self.settle(updated)
        except Exception:  # committed already; the next commit or a listing settles it
            log.warning("version left pending file_id=%s version_id=%s", file["_id"], version["_id"], exc_info=True)
        log.info("new version user_id=%s file_id=%s revision=%d", owner_id, file["_id"], revision)
        return updated

    def _applied(self, owner_id: str, file: dict, version: dict) -> bool:
        """After an error from the swap: did it happen all the same (a connection lost after
        the server applied it)? When the file cannot even be read, say no: the caller's
        error stands, and repair settles what is left."""
        try:
            current = self.items.get(owner_id, file["_id"], kind=FILE, live=None)
        except Exception:
            return False
        return current is not None and current.get("last_version_id") == version["_id"]

    def _forget(self, version: dict) -> None:
        try:
            self.versions.delete(version["_id"])
        except Exception:  # the database is gone: repair deletes pending records nothing uses
            log.warning("pending version left behind version_id=%s", version["_id"], exc_info=True)

    def settle(self, file: dict) -> None:
        """Clear the pending flag of the version the file's last commit made (idempotent)."""
        if file.get("last_version_id") is not None:
            self.versions.settle(file["last_version_id"])

    def replace_content(self, owner_id: str, file: dict, content: dict,
                        undo: list[Callable[[], None]], check: Callable[[dict], None] | None = None) -> dict | None:
        """Make ``content`` (whose blob reference the caller holds, with its release as the
        last step of ``undo``) the file's current content as its next commit.

        Of many parallel replaces each becomes exactly one commit or retries on the newer
        state. Returns None when the file left its name meanwhile (trashed, deleted): the
        caller places it anew."""
        for _ in range(_COMMIT_ATTEMPTS):
            if check is not None:
                check(file)  # If-Match, against the state this commit is conditional on
            if content["sha256"] == file["sha256"]:
                self.blobs.release(owner_id, content["blob_id"])  # same bytes: nothing to keep
                undo.pop()  # the caller's release of that reference is done already
                return file
            updated = self.commit(owner_id, file, content)
            if updated is not None:
                undo.pop()  # the file holds that reference now
                undo.append(lambda: self._revert(owner_id, file, updated))
                return updated
            file = self.items.get(owner_id, file["_id"], kind=FILE)
            if file is None:
                return None
        raise AppError("Too many changes to this file at once; try again.", code=ErrorCode.TRY_AGAIN)

    def _revert(self, owner_id: str, previous: dict, committed: dict) -> None:
        """Undo a commit of a request that failed later, so that its content is kept nowhere.

        The version our commit made is claimed first (whoever deletes a record owns its
        reference); only then does the file swap back to it. If a later commit came first,
        our content is that commit's version: it goes, if it is still there, and its
        reference with it."""
        file_id, revision, ours = previous["_id"], committed["revision"], committed["blob_id"]
        for _ in range(_COMMIT_ATTEMPTS):
            claimed = self.versions.take(committed["last_version_id"])
            if claimed is None:
                return  # the previous content was deleted meanwhile: the file keeps ours
            restored = self.items.commit_content(owner_id, file_id, revision, {
                **content_of(previous), "revision": previous.get("revision"),
                "updated_at": previous["updated_at"], "last_version_id": previous.get("last_version_id")})
            if restored is not None:
                self.blobs.release(owner_id, ours)
                return
            self._put_back(owner_id, claimed)  # not ours to move
            current = self.items.get(owner_id, file_id, kind=FILE, live=None)
            if current is not None:
                self.settle(current)
            if self.versions.take_settled(file_id, revision, ours):
                self.blobs.release(owner_id, ours)
                return
            if current is None or current.get("revision") != revision:
                return  # deleted with its versions, or our commit is trimmed already
        log.warning("could not undo commit file_id=%s revision=%d", file_id, revision)

    def _put_back(self, owner_id: str, version: dict) -> None:
        """Return a version record taken out for a commit that did not happen. If its file was
        deleted for good meanwhile, that delete may have missed the record: it goes after all,
        with its reference (whichever of the two removes the record releases)."""
        self.versions.insert({**version, "pending": None})
        if self.items.get(owner_id, version["file_id"], kind=FILE, live=None) is None:
            self._drop(owner_id, version)

    def _version_of(self, owner_id: str, file: dict) -> dict:
        return {"_id": ObjectId(), "owner_id": owner_id, "file_id": file["_id"],
                **content_of(file), "revision": revision_of(file),
                "created_at": file["updated_at"]}

    def trim(self, owner_id: str, file: dict) -> None:
        """Keep at most ``max_versions``, the newest commits; older ones release their bytes."""
        for version in self.versions.for_file(file)[self.max_versions:]:
            self._drop(owner_id, version)

    def _drop(self, owner_id: str, version: dict) -> bool:
        """Remove a version; False when a parallel restore, delete or trim took it first."""
        if not self.versions.delete(version["_id"]):  # only the caller that removed it releases
            return False
        self.blobs.release(owner_id, version["blob_id"])
        return True

    def _file_and_version(self, owner_id: str, file_id: str, version_id: str) -> tuple[dict, dict]:
        file = self.tree.live(owner_id, file_id, FILE)
        version = self.versions.get(file, version_id)
        if version is None:
            raise NotFound("No such version.", code=ErrorCode.VERSION_NOT_FOUND)
        return file, version

    def list(self, owner_id: str, file_id: str) -> list[dict]:
        return self.versions.for_file(self.tree.live(owner_id, file_id, FILE))

    def open_version(self, owner_id: str, file_id: str, version_id: str) -> "Download":
        file, version = self._file_and_version(owner_id, file_id, version_id)
        return self.blobs.download(file, version, redirect_allowed=True)

    def restore(self, owner_id: str, file_id: str, version_id: str,
                check: Callable[[dict], None] | None = None) -> dict:
        """The version's content becomes the file's next commit; the current one a version.
        ``check`` (If-Match) sees the file as each commit attempt does."""
        file, version = self._file_and_version(owner_id, file_id, version_id)
        if check is not None:
            check(file)
        if not self.versions.delete(version["_id"]):  # a parallel restore or delete took it
            raise NotFound("No such version.", code=ErrorCode.VERSION_NOT_FOUND)
        # From here this call holds the version's reference to its blob.
        try:
            for _ in range(_COMMIT_ATTEMPTS):
                restored = self.commit(owner_id, file, version)
                if restored is not None:
                    break
                file = self.tree.live(owner_id, file_id, FILE)
                if check is not None:
                    check(file)
            else:
                raise AppError("Too many changes to this file at once; try again.", code=ErrorCode.TRY_AGAIN)
        except BaseException:
            self._put_back(owner_id, version)  # nothing changed: the version is back
            raise
        self.trim_quietly(owner_id, restored)
        log.info("version restored user_id=%s file_id=%s revision=%d", owner_id, file["_id"], restored["revision"])
        return restored

    def trim_quietly(self, owner_id: str, file: dict) -> None:
        """Trim after a commit: a failure leaves extra versions (or a count ahead), never harm."""
        try:
            self.trim(owner_id, file)
        except Exception:
            log.warning("could not trim versions file_id=%s", file["_id"], exc_info=True)

    def delete(self, owner_id: str, file_id: str, version_id: str) -> None:
        _, version = self._file_and_version(owner_id, file_id, version_id)
        if not self._drop(owner_id, version):  # restored or deleted meanwhile: not ours to answer for
            raise NotFound("No such version.", code=ErrorCode.VERSION_NOT_FOUND)

    def drop_first(self, owner_id: str, file: dict) -> None:
        """Remove the file's first version (content a later commit turned into one), if it is
        still there, and release its reference."""
        self.settle(file)
        first = self.versions.take_first(file["_id"])
        if first is not None:
            self.blobs.release(owner_id, first["blob_id"])

    def delete_all(self, owner_id: str, file: dict) -> None:
        """Every version record of a file whose record is gone (``file`` as it was deleted)."""
        for version in self.versions.all_for_file(file["_id"]):
            if self.versions.delete(version["_id"]) and is_real_version(version, file):
                self.blobs.release(owner_id, version["blob_id"])
