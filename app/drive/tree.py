"""Walking the folder tree and placing names in it; shared by the drive's services."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, TypeVar

from bson import ObjectId

from ..errors import Conflict, InvalidInput, NotFound
from .names import MAX_NAME_BYTES, name_key, numbered_name
from .repo import FILE, FOLDER, ItemsRepository, NameTaken, new_item, slot_for

T = TypeVar("T")
ROOT = "root"
CONFLICT_POLICIES = ("fail", "rename", "replace")
MAX_DEPTH = 10_000  # a guard against a corrupted parent chain, far beyond real trees

_NOT_FOUND = {FILE: ("No such file.", "file_not_found"), FOLDER: ("No such folder.", "folder_not_found"),
              None: ("No such item.", "item_not_found")}


def not_found(kind: str | None) -> NotFound:
    message, code = _NOT_FOUND[kind]
    return NotFound(message, code=code)


class Tree:
    def __init__(self, items: ItemsRepository):
        self.items = items

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

    def ancestors(self, owner_id: str, parent_id: ObjectId | None) -> list[dict]:
        """Folders from the top down to ``parent_id`` (any state); stops at a missing one."""
        chain: list[dict] = []
        while parent_id is not None and len(chain) < MAX_DEPTH:
            folder = self.items.get(owner_id, parent_id, live=None)
            if folder is None:
                break
            chain.append(folder)
            parent_id = folder["parent_id"]
        return list(reversed(chain))

    def check_not_inside(self, owner_id: str, folder_id: ObjectId, target_parent: ObjectId | None) -> None:
        """409 when ``target_parent`` is ``folder_id`` itself or one of its descendants."""
        if target_parent == folder_id or any(a["_id"] == folder_id for a in self.ancestors(owner_id, target_parent)):
            raise Conflict("A folder cannot be moved into itself or one of its subfolders.",
                           code="move_into_descendant")

    def subtree(self, owner_id: str, root_id: ObjectId, extra: dict) -> list[dict]:
        """Every item below ``root_id`` (breadth first) matching ``extra``."""
        found: list[dict] = []
        frontier = [root_id]
        while frontier:
            children = self.items.find({"owner_id": owner_id, "parent_id": {"$in": frontier}, **extra})
            found.extend(children)
            frontier = [c["_id"] for c in children if c["type"] == FOLDER]
        return found

    def paths(self, owner_id: str, items: list[dict]) -> dict[ObjectId, str]:
        """``/Folder/Sub`` (the containing folder's path) for each item, with few queries."""
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

        def path_of(parent_id):
            names = []
            while parent_id is not None and parent_id in folders and len(names) < MAX_DEPTH:
                names.append(folders[parent_id]["name"])
                parent_id = folders[parent_id]["parent_id"]
            return "/" + "/".join(reversed(names))
        return {i["_id"]: path_of(i["parent_id"]) for i in items}

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
                raise InvalidInput("The name is too long to number.", code="invalid_name")
            try:
                return write(candidate)
            except NameTaken:
                continue
        raise Conflict("No free name found.", code="name_conflict")

    def create(self, owner_id: str, kind: str, parent_id: ObjectId | None, name: str, on_conflict: str,
               now: datetime, **fields: Any) -> dict:
        """Insert a new item in a folder, under ``name`` or, with ``rename``, a free variant."""
        def insert(candidate: str) -> dict:
            item = new_item(owner_id, kind, candidate, name_key(candidate), parent_id, now, **fields)
            self.items.insert(item)
            return item
        return self.place(owner_id, parent_id, name, kind == FILE, on_conflict, insert)

    def relocate(self, owner_id: str, item: dict, parent_id: ObjectId | None, name: str, on_conflict: str,
                 **changes: Any) -> dict:
        """Give an existing item a (new) name and folder, with the same clash policy as create."""
        def write(candidate: str) -> dict:
            key = name_key(candidate)
            return self.items.update(owner_id, item["_id"], {
                "name": candidate, "name_key": key, "parent_id": parent_id, "slot": slot_for(parent_id, key),
                **changes})
        return self.place(owner_id, parent_id, name, item["type"] == FILE, on_conflict, write)


def conflict_policy(value, allowed=CONFLICT_POLICIES, default: str = "fail") -> str:
    value = default if value in (None, "") else value
    if value not in allowed:
        raise InvalidInput(f"on_conflict must be one of: {', '.join(allowed)}.", code="invalid_on_conflict")
    return value

