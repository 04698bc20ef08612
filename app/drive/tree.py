"""Walking the folder tree and placing names in it; shared by the drive's services.

Every change to the shape of a user's tree (create, rename, move, copy, trash, restore,
delete for good) runs under that user's tree lock: one document per user in the database
with a lease, so it holds across threads, Gunicorn workers and app servers. Under it a
check and the writes that depend on it cannot interleave with another change: a folder
cannot be moved into one that is moving into it (a cycle), nothing is created or moved into
a folder while it goes to the trash, and a copy sees its source as of one moment. The lease
is renewed by long operations and ends by itself if a process dies holding it.
"""
from __future__ import annotations

import logging

import random
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Iterator, TypeVar

from bson import ObjectId

from ..errors import AppError, Conflict, ErrorCode, InvalidInput, NotFound
from .names import MAX_NAME_BYTES, name_key, numbered_name, validate_display_name
from .repo import FILE, FOLDER, ItemsRepository, NameTaken, new_item, slot_for

log = logging.getLogger(__name__)
T = TypeVar("T")
ROOT = "root"
CONFLICT_POLICIES = ("fail", "rename", "replace")
MAX_DEPTH = 10_000  # a guard against a corrupted parent chain, far beyond real trees
LOCK_LEASE_S = 30.0  # a holder that died frees the lock after this long
LOCK_WAIT_S = 20.0  # then a waiting request answers 503 try_again
LOCK_POLL_MAX_S = 0.05  # a waiting request tries again at least this often (with jitter)
_left_behind: list = []  # (repository, owner, holder): locks whose release failed
_left_behind_guard = threading.Lock()
_held = threading.local()  # (repository, owner) -> [holder, last renewal]: the locks this thread holds

_NOT_FOUND = {FILE: ("No such file.", ErrorCode.FILE_NOT_FOUND),
              FOLDER: ("No such folder.", ErrorCode.FOLDER_NOT_FOUND),
              None: ("No such item.", ErrorCode.ITEM_NOT_FOUND)}


def not_found(kind: str | None) -> NotFound:
    message, code = _NOT_FOUND[kind]
    return NotFound(message, code=code)


class Tree:
    def __init__(self, items: ItemsRepository):
        self.items = items

    @contextmanager
    def locked(self, owner_id: str) -> Iterator[None]:
        """Hold the owner's tree lock for the block; re-entrant within one thread."""
        held = _held.__dict__.setdefault("locks", {})
        key = (id(self.items), owner_id)
        if key in held:
            yield
            return
        self._release_left_behind()
        held[key] = [self._take(owner_id), time.monotonic()]
        try:
            yield
        finally:
            holder = held.pop(key)[0]
            try:
                self.items.release_tree_lock(owner_id, holder)
            except Exception:  # the database went away: release it once it is back (the
                # work is done; the lease ends it anyway, and this is no reason to fail)
                log.warning("tree lock left held user_id=%s", owner_id, exc_info=True)
                with _left_behind_guard:
                    _left_behind.append((self.items, owner_id, holder))

    def in_transaction(self, owner_id: str, work: Callable[[], T]) -> T:
        """``work()`` as one write transaction under the owner's tree lock, where the store
        batches writes (SQLite): a crash or an error anywhere in it leaves none of its writes.

        The lock's row is not written: inside the transaction, which holds the database's write
        lock, the lock is checked free (no row: nobody holds it) and counted as held by this
        thread, so nested ``locked`` blocks join, and no other request can take it before
        the commit. If another request holds it (between two of its own transactions), the
        transaction is given up and ``work`` runs after taking the lock the usual way, still as
        one transaction (so after a lapsed lease, which is taken over). Elsewhere (MongoDB):
        ``work()`` under ``locked``. Nothing in ``work`` may yield to other work of this thread
        (no waiting inside a SQLite transaction)."""
        held = _held.__dict__.setdefault("locks", {})
        key = (id(self.items), owner_id)
        if self.items.batches_writes and key not in held:
            with self.items.batch():
                if self.items.tree_lock(owner_id) is None:  # (a lapsed lease is taken over below,
                    # the usual way: its stalled holder then finds it lost at its next renewal)
                    held[key] = [None, time.monotonic()]  # no row to renew or release
                    try:
                        return work()
                    finally:
                        held.pop(key, None)
        with self.locked(owner_id), self.items.batch():
            return work()

    def holds(self, owner_id: str) -> bool:
        """Whether this thread holds the owner's tree lock already (a bulk request's steps)."""
        return (id(self.items), owner_id) in _held.__dict__.get("locks", {})

    def _take(self, owner_id: str) -> str:
        """Wait for the owner's tree lock (saying so, for a long holder to hand it over) and
        take it: its holder id; 503 ``try_again`` after LOCK_WAIT_S."""
        holder = uuid.uuid4().hex
        deadline = time.monotonic() + LOCK_WAIT_S
        delay = 0.002
        while not self.items.take_tree_lock(owner_id, holder, time.time() + LOCK_LEASE_S, time.time()):
            if time.monotonic() > deadline:
                raise AppError("Too many changes to your files at once; try again.", code=ErrorCode.TRY_AGAIN)
            self.items.want_tree_lock(owner_id, time.time())
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, LOCK_POLL_MAX_S)
        return holder

    def hand_over_if_wanted(self, owner_id: str) -> None:
        """Between two whole steps of a long operation that holds the owner's tree lock (a bulk
        request's chunks): when another request waits for it, let it go first (release, wait
        until the other took it, at most one of its polls, then wait in turn), so others wait
        for one step, never for the whole operation. Renews the lease otherwise."""
        entry = _held.__dict__.get("locks", {}).get((id(self.items), owner_id))
        if entry is None or entry[0] is None:
            return
        self.keep_lock(owner_id)
        state = self.items.tree_lock(owner_id)
        if state is None or state["holder"] != entry[0] or state["wanted"] is None:
            return
        self.items.release_tree_lock(owner_id, entry[0])
        deadline = time.monotonic() + LOCK_POLL_MAX_S * 2
        while time.monotonic() < deadline:
            state = self.items.tree_lock(owner_id)
            if state is not None and state["holder"] != entry[0]:
                break  # taken by the one who waited
            time.sleep(0.002)
        entry[:] = [self._take(owner_id), time.monotonic()]

    def _release_left_behind(self) -> None:
        """Release locks this process could not release when the database was down, so its
        user waits no longer than the outage (other processes wait for the lease at most)."""
        with _left_behind_guard:
            pending, _left_behind[:] = list(_left_behind), []
        for index, (items, owner_id, holder) in enumerate(pending):
            try:
                items.release_tree_lock(owner_id, holder)
            except Exception:
                with _left_behind_guard:
                    _left_behind.extend(pending[index:])
                raise

    def keep_lock(self, owner_id: str) -> None:
        """Renew the lease from inside a long operation; 503 if it ran out and was taken meanwhile."""
        entry = _held.__dict__.get("locks", {}).get((id(self.items), owner_id))
        if entry is None or entry[0] is None or time.monotonic() - entry[1] < LOCK_LEASE_S / 3:
            return  # (no holder: held inside one transaction, see in_transaction)
        if not self.items.extend_tree_lock(owner_id, entry[0], time.time() + LOCK_LEASE_S):
            raise AppError("The change took too long and was interrupted; try again.", code=ErrorCode.TRY_AGAIN)
        entry[1] = time.monotonic()

    def live(self, owner_id: str, item_id, kind: str | None) -> dict:
        item = self.items.get(owner_id, item_id, kind=kind, live=True)
        if item is None:
            raise not_found(kind)
        return item

    def folder_id(self, owner_id: str, folder_id) -> ObjectId | None:
        """The id of a live folder of the owner (None for the root), or 404."""
        if folder_id in (None, "", ROOT):
            return None
        return self.live(owner_id, folder_id, FOLDER)["_id"]

    def resolve(self, owner_id: str, path: str, within: dict | None = None) -> dict | None:
        """The live item a path names, ``/Reports/2026/q1.pdf``, compared as sibling names are
        (any case, Unicode-normalised); None for ``/``, the root. ``within``: a folder the path
        starts from instead of the root (a shared folder, for its members; returned for ``/``). One named repository
        operation per segment (``at_name``, on the unique slot index), at most MAX_DEPTH.
        400 for a path that is not absolute or has an empty, ``.`` or ``..`` segment; 404
        when a segment is missing, trashed, or a file with more path below it. Decoding a
        URL is the caller's work: the path arrives as text."""
        if not isinstance(path, str) or not path.startswith("/"):
            raise InvalidInput("A path starts with '/'.", code=ErrorCode.INVALID_INPUT)
        segments = path[1:].split("/")
        folder_only = segments[-1] == "" and len(segments) > 1
        if folder_only:
            segments.pop()  # "/Reports/" names the folder, as WebDAV clients write it
        elif segments == [""]:
            segments = []
        if len(segments) > MAX_DEPTH:
            raise InvalidInput("The path is too deep.", code=ErrorCode.INVALID_INPUT)
        keys = []
        for segment in segments:
            if segment in ("", ".", ".."):
                raise InvalidInput("A path cannot have empty, '.' or '..' segments.", code=ErrorCode.INVALID_NAME)
            try:
                keys.append(name_key(validate_display_name(segment)))
            except InvalidInput:
                raise not_found(None) from None  # no item can have a name that is not valid
        item = within
        for key in keys:
            if item is not None and item["type"] != FOLDER:
                raise not_found(None)
            item = self.items.at_name(owner_id, None if item is None else item["_id"], key, live_only=True)
            if item is None:
                raise not_found(None)
        if folder_only and item["type"] != FOLDER:
            raise not_found(None)
        return item

    def ancestors(self, owner_id: str, parent_id: ObjectId | None) -> list[dict]:
        """Folders from the top down to ``parent_id`` (any state); stops at a missing one."""
        chain: list[dict] = []
        seen = set()
        while parent_id is not None and parent_id not in seen and len(chain) < MAX_DEPTH:
            folder = self.items.get(owner_id, parent_id, live=None)
            if folder is None:
                break
            seen.add(parent_id)
            chain.append(folder)
            parent_id = folder["parent_id"]
        return list(reversed(chain))

    def check_not_inside(self, owner_id: str, folder_id: ObjectId, target_parent: ObjectId | None) -> None:
        """409 when ``target_parent`` is ``folder_id`` itself or one of its descendants."""
        if target_parent == folder_id or any(a["_id"] == folder_id for a in self.ancestors(owner_id, target_parent)):
            raise Conflict("A folder cannot be moved into itself or one of its subfolders.",
                           code=ErrorCode.MOVE_INTO_DESCENDANT)

    def subtree(self, owner_id: str, root_id: ObjectId, include: str, limit: int | None = None) -> list[dict]:
        """Every item below ``root_id`` (breadth first): ``live`` ones, or ``with_parent``
        (everything but what was trashed on its own; see ItemsRepository.below). With ``limit``,
        the walk stops once it found more than that many (the caller refuses such a tree)."""
        found: list[dict] = []
        seen = {root_id}
        frontier = [root_id]
        while frontier and (limit is None or len(found) <= limit):
            children = [c for c in self.items.below(owner_id, frontier, include) if c["_id"] not in seen]
            found.extend(children)
            frontier = [c["_id"] for c in children if c["type"] == FOLDER]
            seen.update(frontier)
        return found

    def _folders_above(self, owner_id: str, items) -> Callable[[ObjectId | None], list[dict]]:
        """Every folder above ``items`` fetched level by level (one query per level, not per
        item); returns ``up(parent_id)``: the folders from ``parent_id`` up to the top."""
        folders: dict[ObjectId, dict] = {}
        wanted = {i["parent_id"] for i in items if i["parent_id"] is not None}
        for _ in range(MAX_DEPTH):
            missing = wanted - folders.keys()
            if not missing:
                break
            found = self.items.by_ids(owner_id, missing)
            if not found:
                break
            folders.update(found)
            wanted = {f["parent_id"] for f in found.values() if f["parent_id"] is not None}

        def up(parent_id: ObjectId | None) -> list[dict]:
            chain: list[dict] = []
            while parent_id is not None and parent_id in folders and len(chain) < MAX_DEPTH:
                chain.append(folders[parent_id])
                parent_id = folders[parent_id]["parent_id"]
            return chain
        return up

    def paths(self, owner_id: str, items: list[dict]) -> dict[ObjectId, str]:
        """``/Folder/Sub`` (the containing folder's path) for each item, with few queries."""
        up = self._folders_above(owner_id, items)
        return {i["_id"]: "/" + "/".join(reversed([f["name"] for f in up(i["parent_id"])])) for i in items}

    def lineages(self, owner_id: str, item_ids) -> dict[ObjectId, list[ObjectId]]:
        """For each of the owner's items among ``item_ids`` (any state; others are left out):
        the ids of the folders above it, nearest first, with few queries."""
        items = self.items.by_ids(owner_id, item_ids)
        up = self._folders_above(owner_id, items.values())
        return {item_id: [f["_id"] for f in up(item["parent_id"])] for item_id, item in items.items()}

    def place(self, owner_id: str, parent_id: ObjectId | None, name: str, is_file: bool,
              on_conflict: str, write: Callable[[str], T]) -> T:
        """Call ``write(name)``; on a sibling clash, fail (409) or try ``name (1)``, ``name (2)``..."""
        try:
            return write(name)
        except NameTaken:
            if on_conflict != "rename":
                raise
        stem_key = name_key(numbered_name(name, 0, is_file).rsplit(" (0)", 1)[0])
        taken = self.items.names_like(owner_id, parent_id, stem_key)
        for number in range(1, 10_000):
            candidate = numbered_name(name, number, is_file)
            if name_key(candidate) in taken:
                continue
            if len(candidate.encode()) > MAX_NAME_BYTES:
                raise InvalidInput("The name is too long to number.", code=ErrorCode.INVALID_NAME)
            try:
                return write(candidate)
            except NameTaken:
                continue
        raise Conflict("No free name found.", code=ErrorCode.NAME_CONFLICT)

    def create(self, owner_id: str, kind: str, parent_id: ObjectId | None, name: str, on_conflict: str,
               now: datetime, **fields: Any) -> dict:
        """Insert a new item in a live folder (404 when it is not), under ``name`` or, with
        ``rename``, a free variant."""
        def insert(candidate: str) -> dict:
            item = new_item(owner_id, kind, candidate, name_key(candidate), parent_id, now, **fields)
            self.items.insert(item)
            return item

        def create() -> dict:
            if parent_id is not None and self.items.get(owner_id, parent_id, FOLDER) is None:
                raise not_found(FOLDER)
            return self.place(owner_id, parent_id, name, kind == FILE, on_conflict, insert)
        return self.in_transaction(owner_id, create)

    def folders_along(self, owner_id: str, parent_id: ObjectId | None, names: list[str], now: datetime) -> ObjectId | None:
        """The folder at ``names`` below ``parent_id`` (None: the root), each missing one made.
        Under the owner's tree lock, so parallel uploads with the same relative path (on any
        worker or node) share every folder instead of making ``Photos (1)``. A live file in
        the way is a 409; a trashed folder of that name is left alone and a new one made."""
        if not names:
            return parent_id
        return self.in_transaction(owner_id, lambda: self._folders_along(owner_id, parent_id, names, now))

    def _folders_along(self, owner_id: str, parent_id: ObjectId | None, names: list[str], now: datetime) -> ObjectId | None:
        if parent_id is not None and self.items.get(owner_id, parent_id, FOLDER) is None:
            raise not_found(FOLDER)
        for name in names:
            key = name_key(name)
            found = self.items.at_name(owner_id, parent_id, key, live_only=True)
            if found is None:
                found = new_item(owner_id, FOLDER, name, key, parent_id, now)
                self.items.insert(found)
            elif found["type"] != FOLDER:
                raise Conflict(f"A file named '{found['name']}' is where the folder '{name}' should be.",
                               code=ErrorCode.NAME_CONFLICT)
            parent_id = found["_id"]
        return parent_id

    def relocate(self, owner_id: str, item: dict, parent_id: ObjectId | None, name: str, on_conflict: str,
                 **changes: Any) -> dict:
        """Give an existing item a (new) name and folder, with the same clash policy as create.
        The caller holds the owner's lock and has checked the item and the folder."""
        def write(candidate: str) -> dict:
            key = name_key(candidate)
            return self.items.update(owner_id, item["_id"], {
                "name": candidate, "name_key": key, "parent_id": parent_id, "slot": slot_for(parent_id, key),
                **changes})
        return self.place(owner_id, parent_id, name, item["type"] == FILE, on_conflict, write)


def conflict_policy(value, allowed=CONFLICT_POLICIES, default: str = "fail") -> str:
    value = default if value in (None, "") else value
    if value not in allowed:
        raise InvalidInput(f"on_conflict must be one of: {', '.join(allowed)}.", code=ErrorCode.INVALID_ON_CONFLICT)
    return value

