"""The trash: deleting moves items here, restoring puts them back, purging ends them."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Callable, TypeVar

from bson import ObjectId

from ..timeutil import utcnow
from .blobs import BlobStore
from .names import name_key
from .repo import FILE, FOLDER, ItemsRepository, trash_slot
from .tree import Tree, not_found
from .versions import VersionsService

log = logging.getLogger(__name__)
T = TypeVar("T")


class TrashService:
    def __init__(self, items: ItemsRepository, blobs: BlobStore, versions: VersionsService, retention_days: int,
                 grants=None):
        self.items = items
        self.grants = grants  # grants on what is deleted for good end with it
        self.tree = Tree(items)
        self.blobs = blobs
        self.versions = versions
        self.retention = timedelta(days=retention_days)

    def _under_lock(self, owner_id: str, item_id, work: Callable[[], T]) -> T:
        """``work()`` under the owner's tree lock. For a file, where the store batches writes
        (SQLite), as one write transaction (see Tree.in_transaction) whose freed bytes are
        deleted after its commit: a file's change is a few rows. A folder's may be a whole
        subtree, too long to hold the database's write lock for: its steps commit one by one,
        ordered so that a crash between two leaves nothing wrong (see _destroy)."""
        if self.items.batches_writes and not self.tree.holds(owner_id):  # (inside a bulk request's
            # chunk the transaction is the chunk's: bytes must not go before its commit)
            item = self.items.get(owner_id, item_id, live=None)  # (a file stays a file)
            if item is not None and item["type"] == FILE:
                with self.blobs.deleting_after_commit():
                    return self.tree.in_transaction(owner_id, work)
        with self.tree.locked(owner_id):
            return work()

    def trash(self, owner_id: str, item_id: str, kind: str | None, by: str | None = None) -> dict:
        """Move a live item (and, for a folder, everything live inside it) to the trash;
        ``by`` names a member who did it in the owner's drive (shown in the owner's trash)."""
        def work() -> dict:
            item = self.tree.live(owner_id, item_id, kind)
            now = utcnow()
            trashed = self.items.update(owner_id, item["_id"], {"trashed_at": now, "trash_root": True,
                                                                "slot": trash_slot(item["_id"]), "trashed_by": by})
            if item["type"] == FOLDER:
                inside = [c["_id"] for c in self.tree.subtree(owner_id, item["_id"], "live")]
                if inside:
                    self.items.trash_along(owner_id, inside, item["_id"], now)
            return trashed
        trashed = self._under_lock(owner_id, item_id, work)
        log.info("trashed user_id=%s item_id=%s", owner_id, trashed["_id"])
        return trashed

    def list(self, owner_id: str, page: int, limit: int) -> tuple[list[dict], int]:
        return self.items.trash_roots(owner_id, page, limit)

    def _trashed(self, owner_id: str, item_id: str) -> dict:
        item = self.items.get(owner_id, item_id, live=False)
        if item is None or not item["trash_root"]:
            raise not_found(None)
        return item

    def restore(self, owner_id: str, item_id: str) -> tuple[dict, str | None]:
        """Put an item back where it was. Returns the item and a note when the place changed:
        ``parent_recreated`` (its folder was in the trash: the path is made again) or
        ``restored_to_root`` (its folder was deleted for good); ``renamed`` on a name clash."""
        def work() -> tuple[dict, str | None]:
            item = self._trashed(owner_id, item_id)
            parent_id, note = self._restore_target(owner_id, item)
            restored = self.tree.relocate(owner_id, item, parent_id, item["name"], "rename",
                                          trashed_at=None, trash_root=False, trashed_with=None,
                                          trashed_by=None)
            if restored["name"] != item["name"] and note is None:
                note = "renamed"
            self.items.restore_along(owner_id, item["_id"])
            return restored, note
        restored, note = self._under_lock(owner_id, item_id, work)
        log.info("restored user_id=%s item_id=%s", owner_id, restored["_id"])
        return restored, note

    def _restore_target(self, owner_id: str, item: dict) -> tuple[ObjectId | None, str | None]:
        if item["parent_id"] is None:
            return None, None
        chain = self.tree.ancestors(owner_id, item["parent_id"])
        if not chain or chain[-1]["_id"] != item["parent_id"] or chain[0]["parent_id"] is not None:
            return None, "restored_to_root"  # some folder on the way was deleted for good
        live_depth = 0
        while live_depth < len(chain) and chain[live_depth]["trashed_at"] is None:
            live_depth += 1
        if live_depth == len(chain):
            return item["parent_id"], None
        parent_id = chain[live_depth - 1]["_id"] if live_depth else None
        for folder in chain[live_depth:]:
            parent_id = self._ensure_folder(owner_id, parent_id, folder["name"])
        return parent_id, "parent_recreated"

    def _ensure_folder(self, owner_id: str, parent_id: ObjectId | None, name: str) -> ObjectId:
        existing = self.items.at_name(owner_id, parent_id, name_key(name))
        if existing and existing["type"] == FOLDER:
            return existing["_id"]
        return self.tree.create(owner_id, FOLDER, parent_id, name, "rename", utcnow())["_id"]

    def delete_forever(self, owner_id: str, item_id: str, kind: str | None = None, must_be_trashed: bool = True) -> None:
        """Delete an item and everything inside it: records first, then bytes no longer used.
        Items inside that were trashed on their own stay in the trash."""
        def work() -> None:
            item = self._trashed(owner_id, item_id) if must_be_trashed else self.tree.live(owner_id, item_id, kind)
            if kind and item["type"] != kind:
                raise not_found(kind)
            self._destroy(owner_id, item)
        self._under_lock(owner_id, item_id, work)

    def _destroy(self, owner_id: str, item: dict) -> None:
        """Delete an item and what is inside it; the caller holds the owner's lock."""
        doomed = [item]
        if item["type"] == FOLDER:
            doomed += self.tree.subtree(owner_id, item["_id"], "with_parent")
        for victim in reversed(doomed):  # deepest first, so a crash leaves no orphans behind
            self.tree.keep_lock(owner_id)
            gone = self.items.take(victim["_id"])
            if gone is not None and gone["type"] == FILE:
                self.versions.delete_all(owner_id, gone)
                self.blobs.release(owner_id, gone["blob_id"])
        if self.grants is not None:  # one write; a grant left by a crash here opens nothing (its item is gone)
            self.grants.delete_for_items([victim["_id"] for victim in doomed])
        log.info("deleted for good user_id=%s item_id=%s items=%d", owner_id, item["_id"], len(doomed))

    def empty(self, owner_id: str) -> int:
        with self.tree.locked(owner_id):
            roots = self.items.all_trash_roots(owner_id)
            for item in roots:
                self._destroy(owner_id, item)
            return len(roots)

    def purge_expired(self) -> int:
        """Delete for good what has been in any user's trash longer than the retention."""
        cutoff = utcnow() - self.retention
        purged = 0
        for item in self.items.expired_trash_roots(cutoff):
            with self.tree.locked(item["owner_id"]):
                still = self.items.trash_root_if_expired(item["_id"], cutoff)  # not restored meanwhile
                if still is not None:
                    self._destroy(item["owner_id"], still)
                    purged += 1
        return purged

