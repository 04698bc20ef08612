"""The drive's collections: ``items`` (files and folders), ``blobs`` (stored bytes) and
``versions`` (earlier contents of files).

Sibling names are unique through one unique index on ``(owner_id, slot)``: a live item's
slot is ``<parent id or "root">/<casefolded name>``; an item put in the trash directly gets
``trash/<its id>``, which frees its name. Items inside a trashed folder keep their slots:
nothing new can be created in a trashed folder, and they come back with it.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Iterable, Iterator

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from ..errors import AppError, Conflict, ErrorCode
from ..ids import parse_object_id

FOLDER, FILE = "folder", "file"
RANK = {FOLDER: 0, FILE: 1}
SORT_FIELDS = {"name": "name_key", "created_at": "created_at", "updated_at": "updated_at", "size": "size"}
LIVE = {"trashed_at": None}
_TAKE_ATTEMPTS = 100  # each retry means another commit landed first


def slot_for(parent_id: ObjectId | None, name_key: str) -> str:
    return f"{parent_id or 'root'}/{name_key}"


def trash_slot(item_id: ObjectId) -> str:
    return f"trash/{item_id}"


def sort_spec(sort: str, descending: bool, folders_first: bool) -> list[tuple[str, int]]:
    direction = DESCENDING if descending else ASCENDING
    spec = [("rank", ASCENDING)] if folders_first else []
    return spec + [(SORT_FIELDS[sort], direction), ("_id", direction)]


class NameTaken(Conflict):
    code = ErrorCode.NAME_CONFLICT


class ItemsRepository:
    def __init__(self, database):
        self._items = database.collection("items")
        self._locks = database.collection("tree_locks")

    def ensure_indexes(self) -> None:
        c = self._items
        c.create_index([("owner_id", ASCENDING), ("slot", ASCENDING)], unique=True, name="sibling_names_unique")
        for field in SORT_FIELDS.values():
            c.create_index([("owner_id", ASCENDING), ("parent_id", ASCENDING), ("trashed_at", ASCENDING),
                            ("rank", ASCENDING), (field, ASCENDING)], name=f"children_by_{field}")
            c.create_index([("owner_id", ASCENDING), ("type", ASCENDING), ("trashed_at", ASCENDING),
                            (field, ASCENDING)], name=f"by_type_{field}")
        c.create_index([("owner_id", ASCENDING), ("trashed_at", ASCENDING), ("name_key", ASCENDING)],
                       name="search_by_name")
        c.create_index([("owner_id", ASCENDING), ("starred", ASCENDING), ("trashed_at", ASCENDING)], name="starred")
        c.create_index([("owner_id", ASCENDING), ("trash_root", ASCENDING), ("trashed_at", ASCENDING)], name="trash")
        c.create_index([("trash_root", ASCENDING), ("trashed_at", ASCENDING)], name="trash_purge")
        c.create_index([("owner_id", ASCENDING), ("trashed_with", ASCENDING)], name="trashed_with")
        c.create_index([("owner_id", ASCENDING), ("blob_id", ASCENDING)], name="by_blob")

    # -- single items ------------------------------------------------------------------------

    def insert(self, item: dict) -> None:
        try:
            self._items.insert_one(item)
        except DuplicateKeyError as exc:
            raise NameTaken(f"An item named '{item['name']}' already exists in this folder.") from exc

    def get(self, owner_id: str, item_id, kind: str | None = None, live: bool | None = True) -> dict | None:
        """One of the owner's items, or None (also for malformed ids and other owners' items)."""
        oid = item_id if isinstance(item_id, ObjectId) else parse_object_id(item_id)
        if oid is None:
            return None
        query: dict[str, Any] = {"_id": oid, "owner_id": owner_id}
        if kind:
            query["type"] = kind
        if live is True:
            query.update(LIVE)
        elif live is False:
            query["trashed_at"] = {"$ne": None}
        return self._items.find_one(query)

    def owner_of(self, item_id) -> str | None:
        """Whose item this is (any state), or None: the first step of the access rule for an
        id that is not the caller's own (app.members.access)."""
        oid = item_id if isinstance(item_id, ObjectId) else parse_object_id(item_id)
        found = self._items.find_one({"_id": oid}, {"owner_id": 1}) if oid else None
        return found["owner_id"] if found else None

    def update(self, owner_id: str, item_id: ObjectId, changes: dict, live_only: bool = False) -> dict | None:
        """Apply ``$set`` changes and return the updated item (None if it is gone, or with
        ``live_only`` no longer live); a sibling name clash is NameTaken."""
        query = {"_id": item_id, "owner_id": owner_id, **(LIVE if live_only else {})}
        try:
            return self._items.find_one_and_update(query, {"$set": changes}, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError as exc:
            raise NameTaken(f"An item named '{changes.get('name', '')}' already exists in this folder.") from exc

    def delete(self, item_id: ObjectId) -> None:
        self._items.delete_one({"_id": item_id})

    def take_first_commit(self, item_id: ObjectId) -> dict | None:
        """Delete a file only while it still holds its first content (the undo of the request
        that created it); None when a later commit owns it now, or it is gone."""
        return self._items.find_one_and_delete({"_id": item_id, "revision": 1})

    def take(self, item_id: ObjectId) -> dict | None:
        """Delete an item and return it as it was at that moment (None if already gone): what
        its content and versions were is read from this, never from an earlier read.

        The delete names the revision read just before it and retries when a commit came in
        between. MongoDB's findAndModify alone would do, but a server that re-checks the
        filter at the delete and returns the document it read before (secantusdb 0.7.0b3,
        our CI's wire server, does) would hand back a stale content: its bytes released
        twice, the committed ones never."""
        for _ in range(_TAKE_ATTEMPTS):
            seen = self._items.find_one({"_id": item_id}, {"revision": 1})
            if seen is None:
                return None
            gone = self._items.find_one_and_delete({"_id": item_id, "revision": seen.get("revision")})
            if gone is not None:
                return gone
        raise AppError("Too many changes to this item at once; try again.", code=ErrorCode.TRY_AGAIN)

    def commit_content(self, owner_id: str, file_id: ObjectId, expected_revision: int | None,
                       changes: dict) -> dict | None:
        """Give a live file new content only if it is still at ``expected_revision`` (compare
        and swap); the updated file, or None when another commit (or the trash) came first."""
        return self._items.find_one_and_update(
            {"_id": file_id, "owner_id": owner_id, "type": FILE, "revision": expected_revision, **LIVE},
            {"$set": changes}, return_document=ReturnDocument.AFTER)

    # -- the per-user tree lock (see tree.Tree.locked) -----------------------------------------

    def take_tree_lock(self, owner_id: str, holder: str, until: float, now: float) -> bool:
        """Hold the owner's tree lock as ``holder`` until ``until`` (epoch seconds), if nobody
        holds it or the last holder's lease ran out before ``now``; one atomic write either way."""
        try:
            self._locks.insert_one({"_id": owner_id, "holder": holder, "until": until})
            return True
        except DuplicateKeyError:
            pass
        return self._locks.update_one({"_id": owner_id, "until": {"$lt": now}},
                                      {"$set": {"holder": holder, "until": until, "wanted": None}}).modified_count == 1

    def extend_tree_lock(self, owner_id: str, holder: str, until: float) -> bool:
        """Move the lease on; False when ``holder`` lost the lock (its lease ran out and was taken)."""
        return self._locks.update_one({"_id": owner_id, "holder": holder},
                                      {"$set": {"until": until}}).matched_count == 1

    def release_tree_lock(self, owner_id: str, holder: str) -> None:
        self._locks.delete_one({"_id": owner_id, "holder": holder})

    def want_tree_lock(self, owner_id: str, now: float) -> None:
        """Say that someone waits for the owner's tree lock (a long holder hands it over)."""
        self._locks.update_one({"_id": owner_id}, {"$set": {"wanted": now}})

    def tree_lock(self, owner_id: str) -> dict | None:
        """The owner's tree lock as it stands: ``holder``, ``until``, ``wanted`` (None: free)."""
        found = self._locks.find_one({"_id": owner_id})
        return None if found is None else {"holder": found["holder"], "until": found["until"],
                                           "wanted": found.get("wanted")}

    # Whether batch() makes a block's writes commit together. Not on MongoDB: no multi-document
    # transactions (the CI's wire server has none), so each write commits as it comes.
    batches_writes = False

    @contextmanager
    def batch(self) -> Iterator[None]:
        """A block whose writes commit together where the store can (see ``batches_writes``)."""
        yield

    # -- named reads: each has an index behind it (ensure_indexes) ---------------------------

    def _page(self, query: dict, sort, page: int, limit: int) -> tuple[list[dict], int]:
        return self._find(query, sort=sort, skip=(page - 1) * limit, limit=limit), self._count(query)

    def children(self, owner_id: str, parent_id: ObjectId | None, sort: str = "name", descending: bool = False,
                 page: int = 1, limit: int = 50, name_key: str | None = None) -> tuple[list[dict], int]:
        """A page of a folder's live items, folders first, and how many there are;
        ``name_key`` keeps only the one with that (case-folded) name."""
        query = {"owner_id": owner_id, "parent_id": parent_id, **LIVE}
        if name_key is not None:
            query["slot"] = slot_for(parent_id, name_key)
        return self._page(query, sort_spec(sort, descending, folders_first=True), page, limit)

    def all_files(self, owner_id: str, sort: str, descending: bool, page: int, limit: int) -> tuple[list[dict], int]:
        """A page of the owner's live files in every folder."""
        query = {"owner_id": owner_id, "type": FILE, **LIVE}
        return self._page(query, sort_spec(sort, descending, folders_first=False), page, limit)

    def starred(self, owner_id: str, page: int, limit: int) -> tuple[list[dict], int]:
        query = {"owner_id": owner_id, "starred": True, **LIVE}
        return self._page(query, sort_spec("name", False, folders_first=True), page, limit)

    def live_folders(self, owner_id: str) -> list[dict]:
        """Every live folder of the owner, by name."""
        return self._find({"owner_id": owner_id, "type": FOLDER, **LIVE}, sort=[("name_key", ASCENDING)])

    def file_names(self, owner_id: str, parent_id: ObjectId | None, limit: int) -> list[str]:
        """Names of a folder's live files, by name."""
        files = self._find({"owner_id": owner_id, "parent_id": parent_id, "type": FILE, **LIVE},
                          sort=sort_spec("name", False, folders_first=False), limit=limit, projection={"name": 1})
        return [f["name"] for f in files]

    def live_children(self, owner_id: str, parent_id: ObjectId | None) -> list[dict]:
        """Every live item of a folder, folders first, by name: one query (a WebDAV listing)."""
        return self._find({"owner_id": owner_id, "parent_id": parent_id, **LIVE},
                          sort=sort_spec("name", False, folders_first=True))

    def set_dead_property(self, owner_id: str, item_id: ObjectId, key: str, value: str | None) -> bool:
        """Set (or with None remove) one WebDAV dead property of a live item, atomically and
        without touching its others; ``key`` is safe as a field name (hex). False: no such item."""
        change = {"$unset": {f"dav_props.{key}": ""}} if value is None else {"$set": {f"dav_props.{key}": value}}
        return self._items.update_one({"_id": item_id, "owner_id": owner_id, **LIVE}, change).matched_count == 1

    def at_name(self, owner_id: str, parent_id: ObjectId | None, name_key: str, kind: str | None = None,
                live_only: bool = False) -> dict | None:
        """The item holding a name in a folder (a live one, or one inside a trashed folder,
        which keeps its name), or None."""
        query: dict[str, Any] = {"owner_id": owner_id, "slot": slot_for(parent_id, name_key)}
        if kind:
            query["type"] = kind
        if live_only:
            query.update(LIVE)
        return self._items.find_one(query)

    def below(self, owner_id: str, parent_ids: list[ObjectId], include: str) -> list[dict]:
        """The items directly inside any of ``parent_ids``: ``live`` ones, or (``with_parent``)
        those that are not trashed on their own (they went to the trash with their folder)."""
        state = dict(LIVE) if include == "live" else {"trash_root": False}
        return self._find({"owner_id": owner_id, "parent_id": {"$in": parent_ids}, **state})

    def search(self, owner_id: str, text_key: str | None, kind: str | None, content_type: str | None,
               min_size: int | None, max_size: int | None, created_after: datetime | None,
               created_before: datetime | None, page: int, limit: int,
               parent_ids: list[ObjectId] | None = None) -> tuple[list[dict], int]:
        """Live items whose case-folded name contains ``text_key`` literally, with filters;
        a size filter keeps files only; ``parent_ids``: only items directly in these folders.
        Folders first, then by name."""
        query: dict[str, Any] = {"owner_id": owner_id, **LIVE}
        if parent_ids is not None:
            query["parent_id"] = {"$in": list(parent_ids)}
        if text_key:
            query["name_key"] = {"$regex": re.escape(text_key)}
        if kind:
            query["type"] = kind
        if content_type:
            query["content_type"] = {"$regex": "^" + re.escape(content_type.lower())}
        size = {op: value for op, value in (("$gte", min_size), ("$lte", max_size)) if value is not None}
        if size:
            query["size"] = size
            query.setdefault("type", FILE)
        created = {op: value for op, value in (("$gte", created_after), ("$lte", created_before)) if value}
        if created:
            query["created_at"] = created
        return self._page(query, sort_spec("name", False, folders_first=True), page, limit)

    def live_counts(self, owner_id: str) -> tuple[int, int]:
        """(files, folders) the owner has outside the trash."""
        return (self._count({"owner_id": owner_id, "type": FILE, **LIVE}),
                self._count({"owner_id": owner_id, "type": FOLDER, **LIVE}))

    def trashed_file_totals(self, owner_id: str) -> tuple[int, int]:
        """(bytes, files) in the owner's trash."""
        return self._sum_sizes({"owner_id": owner_id, "type": FILE, "trashed_at": {"$ne": None}})

    def live_file_totals(self, owner_id: str) -> tuple[int, int]:
        """(bytes, files) the owner has outside the trash, each file at its size."""
        return self._sum_sizes({"owner_id": owner_id, "type": FILE, **LIVE})

    # -- the trash -----------------------------------------------------------------------------

    def trash_roots(self, owner_id: str, page: int, limit: int) -> tuple[list[dict], int]:
        """A page of what the owner put in the trash (not what went with a folder), newest first."""
        return self._page({"owner_id": owner_id, "trash_root": True}, [("trashed_at", DESCENDING), ("_id", DESCENDING)],
                          page, limit)

    def all_trash_roots(self, owner_id: str) -> list[dict]:
        return self._find({"owner_id": owner_id, "trash_root": True})

    def trash_along(self, owner_id: str, item_ids: list[ObjectId], folder_id: ObjectId, now: datetime) -> None:
        """Mark items as trashed together with ``folder_id`` (they keep their names)."""
        self._update_many({"owner_id": owner_id, "_id": {"$in": item_ids}}, {"trashed_at": now, "trashed_with": folder_id})

    def restore_along(self, owner_id: str, folder_id: ObjectId) -> None:
        """Bring back what went to the trash with ``folder_id``."""
        self._update_many({"owner_id": owner_id, "trashed_with": folder_id}, {"trashed_at": None, "trashed_with": None})

    def expired_trash_roots(self, cutoff: datetime) -> list[dict]:
        """Every user's trash roots trashed before ``cutoff``."""
        return self._find({"trash_root": True, "trashed_at": {"$lt": cutoff}})

    def trash_root_if_expired(self, item_id: ObjectId, cutoff: datetime) -> dict | None:
        """The item, if it is still a trash root trashed before ``cutoff`` (not restored meanwhile)."""
        return self._items.find_one({"_id": item_id, "trash_root": True, "trashed_at": {"$lt": cutoff}})

    # -- many items ----------------------------------------------------------------------------

    def _find(self, query: dict, sort=None, skip: int = 0, limit: int = 0, projection=None) -> list[dict]:
        return list(self._items.find(query, projection, sort=sort, skip=skip, limit=limit))

    def _count(self, query: dict) -> int:
        return self._items.count_documents(query)

    def by_ids(self, owner_id: str, ids: Iterable[ObjectId]) -> dict[ObjectId, dict]:
        ids = list(set(ids))
        if not ids:
            return {}
        return {doc["_id"]: doc for doc in self._items.find({"owner_id": owner_id, "_id": {"$in": ids}})}

    def _update_many(self, query: dict, changes: dict) -> int:
        return self._items.update_many(query, {"$set": changes}).modified_count

    def names_like(self, owner_id: str, parent_id: ObjectId | None, prefix_key: str) -> set[str]:
        """Name keys of live siblings starting with ``prefix_key`` (to pick a free "name (n)")."""
        docs = self._items.find({"owner_id": owner_id, "parent_id": parent_id, **LIVE,
                                 "name_key": {"$regex": "^" + re.escape(prefix_key)}}, {"name_key": 1})
        return {doc["name_key"] for doc in docs}

    def everything(self) -> list[dict]:
        """Every item of every user, in any state (for checks that walk whole trees)."""
        return self._find({})

    def file_contents(self) -> list[dict]:
        """Every file record of every user, live or trashed, with the fields that name its
        content (for the repair command)."""
        return self._find({"type": FILE}, projection={"owner_id": 1, "name": 1, "blob_id": 1, "sha256": 1,
                                                     "size": 1, "updated_at": 1, "trashed_at": 1,
                                                     "last_version_id": 1, "revision": 1})

    def _sum_sizes(self, query: dict) -> tuple[int, int]:
        rows = list(self._items.aggregate([
            {"$match": query}, {"$group": {"_id": None, "bytes": {"$sum": "$size"}, "n": {"$sum": 1}}}]))
        return (rows[0]["bytes"], rows[0]["n"]) if rows else (0, 0)


class BlobsRepository:
    """One record per distinct content per user, with a reference count."""

    def __init__(self, database):
        self._blobs = database.collection("blobs")
        self._usage = database.collection("usage")

    def ensure_indexes(self) -> None:
        self._blobs.create_index([("owner_id", ASCENDING), ("sha256", ASCENDING)], unique=True,
                                 name="content_per_user")
        self._blobs.create_index([("owner_id", ASCENDING), ("size", DESCENDING)], name="by_size")

    # -- usage: the bytes each user's blobs hold, kept as one counter per user so that a quota
    # is enforced by one conditional update (never exceeded under any concurrency) and read
    # without summing every blob. ``repair`` compares it with the sum and fixes it.

    def _ensure_usage(self, owner_id: str) -> None:
        """Create the owner's counter from the blobs on first use (accounts older than it).
        Every change to the owner's blobs calls this first, so the sum cannot move under it."""
        if self._usage.find_one({"_id": owner_id}, {"_id": 1}) is None:
            try:
                self._usage.insert_one({"_id": owner_id, "bytes": self.summed_bytes(owner_id)})
            except DuplicateKeyError:
                pass

    def charge(self, owner_id: str, size: int, quota: int | None) -> bool:
        """Count ``size`` more bytes against the owner, only if the total stays within
        ``quota`` (0 or None: no quota); False, and nothing counted, when it would not."""
        self._ensure_usage(owner_id)
        query: dict[str, Any] = {"_id": owner_id}
        if quota:
            query["bytes"] = {"$lte": quota - size}
        return self._usage.update_one(query, {"$inc": {"bytes": size}}).matched_count == 1

    def uncharge(self, owner_id: str, size: int) -> None:
        self._usage.update_one({"_id": owner_id}, {"$inc": {"bytes": -size}})

    def prepare_release(self, owner_id: str) -> None:
        """Call before dropping a reference: the counter must exist before a blob goes."""
        self._ensure_usage(owner_id)

    def used_bytes(self, owner_id: str) -> int:
        self._ensure_usage(owner_id)
        doc = self._usage.find_one({"_id": owner_id})
        return doc["bytes"] if doc else 0

    def counted_usage(self) -> dict[str, int]:
        """Every user's counter (for the repair command)."""
        return {doc["_id"]: doc["bytes"] for doc in self._usage.find({})}

    def set_usage(self, owner_id: str, seen: int | None, value: int) -> bool:
        """Set a counter only if it still reads ``seen`` (None: it does not exist yet)."""
        if seen is None:
            try:
                self._usage.insert_one({"_id": owner_id, "bytes": value})
                return True
            except DuplicateKeyError:
                return False
        return self._usage.update_one({"_id": owner_id, "bytes": seen}, {"$set": {"bytes": value}}).matched_count == 1

    def known_contents(self, owner_id: str, sha256s: Iterable[str]) -> set[str]:
        """Which of these contents the owner already has a blob record of."""
        return {b["sha256"] for b in self._blobs.find({"owner_id": owner_id, "sha256": {"$in": list(sha256s)}},
                                                     {"sha256": 1})}

    def acquire_existing(self, owner_id: str, sha256: str) -> dict | None:
        """Take one more reference to a live blob with this content, atomically."""
        return self._blobs.find_one_and_update({"owner_id": owner_id, "sha256": sha256, "refs": {"$gt": 0}},
                                               {"$inc": {"refs": 1}}, return_document=ReturnDocument.AFTER)

    def insert(self, blob: dict) -> bool:
        """Insert a new blob; False when the same content was recorded meanwhile."""
        try:
            self._blobs.insert_one(blob)
            return True
        except DuplicateKeyError:
            return False

    def add_refs(self, blob_id: ObjectId, count: int = 1) -> bool:
        """Take more references to a blob that is still alive; False when its last reference
        went meanwhile (its record is gone or going: the caller reads its source again)."""
        return self._blobs.update_one({"_id": blob_id, "refs": {"$gt": 0}},
                                      {"$inc": {"refs": count}}).matched_count == 1

    def drop_ref(self, blob_id: ObjectId) -> dict | None:
        """Release one reference; returns the blob when that was the last one and its record is gone."""
        blob = self._blobs.find_one_and_update({"_id": blob_id}, {"$inc": {"refs": -1}},
                                               return_document=ReturnDocument.AFTER)
        if blob is None or blob["refs"] > 0:
            return None
        # Only delete if nobody took a reference in between (or an adopter reaped it).
        return self._blobs.find_one_and_delete({"_id": blob_id, "refs": {"$lte": 0}})

    def get(self, blob_id: ObjectId) -> dict | None:
        return self._blobs.find_one({"_id": blob_id})

    def take_dead(self, owner_id: str, sha256: str) -> dict | None:
        """Delete and return the owner's record of this content if its count is 0 (atomic: only
        one caller, the releaser or an adopter, gets it and removes the bytes)."""
        return self._blobs.find_one_and_delete({"owner_id": owner_id, "sha256": sha256, "refs": {"$lte": 0}})

    def _find(self, query: dict) -> list[dict]:
        return list(self._blobs.find(query))

    def all_records(self) -> list[dict]:
        return list(self._blobs.find({}))

    def content(self, owner_id: str, sha256: str) -> dict | None:
        """The owner's blob record for this content, whatever its count."""
        return self._blobs.find_one({"owner_id": owner_id, "sha256": sha256})

    def of_owner(self, owner_id: str) -> list[dict]:
        """Every blob record of the owner (an account's deletion removes what is left)."""
        return list(self._blobs.find({"owner_id": owner_id}))

    def forget_owner(self, owner_id: str) -> None:
        """The owner's usage counter goes (with the account)."""
        self._usage.delete_one({"_id": owner_id})

    # -- extra digests (MD5 for WebDAV sync clients), filled for content stored before them

    def set_md5(self, blob_id: ObjectId, md5: str) -> None:
        """Record a blob's MD5 where it has none yet (the content never changes)."""
        self._blobs.update_one({"_id": blob_id, "md5": None}, {"$set": {"md5": md5}})

    def md5s(self, owner_id: str, blob_ids: Iterable[ObjectId]) -> dict[ObjectId, str]:
        """The MD5 of each of these blobs of the owner that has one: one query for a listing."""
        return {b["_id"]: b["md5"] for b in self._blobs.find(
            {"owner_id": owner_id, "_id": {"$in": list(set(blob_ids))}, "md5": {"$ne": None}}, {"md5": 1})}

    def without_md5(self, after: ObjectId | None, limit: int) -> list[dict]:
        """The next blobs (by id, after ``after``) that have no MD5 yet."""
        query: dict = {"md5": None}
        if after is not None:
            query["_id"] = {"$gt": after}
        return list(self._blobs.find(query).sort("_id", ASCENDING).limit(limit))

    def set_refs(self, blob_id: ObjectId, seen: int, refs: int) -> bool:
        """Set the count only if it is still ``seen``; False when it changed meanwhile."""
        return self._blobs.update_one({"_id": blob_id, "refs": seen}, {"$set": {"refs": refs}}).matched_count == 1

    def delete_unused(self, blob_id: ObjectId, seen: int) -> bool:
        """Delete a record nothing uses, only if its count is still ``seen``."""
        return self._blobs.delete_one({"_id": blob_id, "refs": seen}).deleted_count == 1

    def delete(self, blob_id: ObjectId) -> None:
        self._blobs.delete_one({"_id": blob_id})

    def set_storage_key(self, blob_id: ObjectId, key: str) -> None:
        self._blobs.update_one({"_id": blob_id}, {"$set": {"storage_key": key}})

    def largest_size(self, owner_id: str) -> int:
        biggest = list(self._blobs.find({"owner_id": owner_id}, {"size": 1}, sort=[("size", DESCENDING)], limit=1))
        return biggest[0]["size"] if biggest else 0

    def summed_bytes(self, owner_id: str) -> int:
        """The bytes of the owner's blob records, summed (what the usage counter must say)."""
        rows = list(self._blobs.aggregate([{"$match": {"owner_id": owner_id}},
                                           {"$group": {"_id": None, "bytes": {"$sum": "$size"}}}]))
        return rows[0]["bytes"] if rows else 0


class VersionsRepository:
    """Earlier contents of a file, newest first."""

    def __init__(self, database):
        self._versions = database.collection("versions")

    def ensure_indexes(self) -> None:
        self._versions.create_index([("file_id", ASCENDING), ("revision", DESCENDING), ("created_at", DESCENDING)],
                                    name="by_file_revision")
        self._versions.create_index([("owner_id", ASCENDING), ("blob_id", ASCENDING)], name="by_blob")

    def insert(self, version: dict) -> None:
        self._versions.insert_one(version)

    def for_file(self, file: dict) -> list[dict]:
        """A file's versions, newest commit first: settled ones and the one its last commit
        made (pending records of a commit that did not happen are not versions)."""
        real = [{"pending": None}]
        if file.get("last_version_id") is not None:
            real.append({"_id": file["last_version_id"]})
        return list(self._versions.find({"file_id": file["_id"], "$or": real},
                                        sort=[("revision", DESCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)]))

    def all_for_file(self, file_id: ObjectId) -> list[dict]:
        """Every record of a file, pending ones included (to delete them with it)."""
        return list(self._versions.find({"file_id": file_id}))

    def get(self, file: dict, version_id: str) -> dict | None:
        oid = parse_object_id(version_id)
        if oid is None:
            return None
        version = self._versions.find_one({"_id": oid, "file_id": file["_id"]})
        if version is None or (version.get("pending") and file.get("last_version_id") != oid):
            return None
        return version

    def settle(self, version_id: ObjectId) -> None:
        self._versions.update_one({"_id": version_id, "pending": True}, {"$set": {"pending": None}})

    def delete(self, version_id: ObjectId) -> bool:
        """Delete a version; True only for the one caller that removed it (who then owns its
        reference to the blob)."""
        return self._versions.delete_one({"_id": version_id}).deleted_count == 1

    def take(self, version_id: ObjectId) -> dict | None:
        """Delete a version and return it: the caller now owns its reference (None: another did)."""
        return self._versions.find_one_and_delete({"_id": version_id})

    def take_first(self, file_id: ObjectId) -> dict | None:
        """Delete and return the file's settled version of its first commit, if it has one."""
        return self._versions.find_one_and_delete({"file_id": file_id, "revision": 1, "pending": None})

    def take_settled(self, file_id: ObjectId, revision: int, blob_id: ObjectId) -> bool:
        """Delete the settled version holding exactly this commit; True if this call did."""
        return self._versions.delete_one({"file_id": file_id, "revision": revision, "blob_id": blob_id,
                                          "pending": None}).deleted_count == 1

    def _find(self, query: dict) -> list[dict]:
        return list(self._versions.find(query))

    def totals(self, owner_id: str) -> tuple[int, int]:
        """(bytes, versions) the owner keeps as earlier contents (settled ones; index by_blob)."""
        rows = list(self._versions.aggregate([
            {"$match": {"owner_id": owner_id, "pending": None}},
            {"$group": {"_id": None, "bytes": {"$sum": "$size"}, "n": {"$sum": 1}}}]))
        return (rows[0]["bytes"], rows[0]["n"]) if rows else (0, 0)

    def all_contents(self) -> list[dict]:
        """Every version of every user (for the repair command)."""
        return list(self._versions.find({}, {"owner_id": 1, "file_id": 1, "blob_id": 1, "sha256": 1, "size": 1,
                                             "created_at": 1, "revision": 1, "pending": 1}))

    def set_blob(self, version_id: ObjectId, blob_id: ObjectId) -> None:
        self._versions.update_one({"_id": version_id}, {"$set": {"blob_id": blob_id}})


def new_item(owner_id: str, kind: str, name: str, name_key: str, parent_id: ObjectId | None,
             now: datetime, **fields: Any) -> dict:
    return {"_id": ObjectId(), "owner_id": owner_id, "type": kind, "rank": RANK[kind], "name": name,
            "name_key": name_key, "parent_id": parent_id, "slot": slot_for(parent_id, name_key),
            "created_at": now, "updated_at": now, "starred": False, "trashed_at": None,
            "trash_root": False, "trashed_with": None, "size": 0, **fields}
