"""Finding items by name and filters, and what a user's storage adds up to."""
from __future__ import annotations

import re
from datetime import datetime

from .names import name_key
from .repo import FILE, FOLDER, LIVE, BlobsRepository, ItemsRepository, sort_spec
from .tree import Tree


class SearchService:
    def __init__(self, items: ItemsRepository, blobs: BlobsRepository, quota_bytes: int):
        self.items = items
        self.tree = Tree(items)
        self.blobs = blobs
        self.quota_bytes = quota_bytes

    def search(self, owner_id: str, text: str = "", kind: str | None = None, content_type: str | None = None,
               min_size: int | None = None, max_size: int | None = None,
               created_after: datetime | None = None, created_before: datetime | None = None,
               page: int = 1, limit: int = 50) -> tuple[list[tuple[dict, str]], int]:
        """Live items whose name contains ``text`` (any case), with their folder's path.
        The text is escaped: it is matched literally, never as a regular expression."""
        query: dict = {"owner_id": owner_id, **LIVE}
        if text:
            query["name_key"] = {"$regex": re.escape(name_key(text))}
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
        found = self.items.find(query, sort=sort_spec("name", False, folders_first=True),
                                skip=(page - 1) * limit, limit=limit)
        paths = self.tree.paths(owner_id, found)
        return [(item, paths[item["_id"]]) for item in found], self.items.count(query)

    def usage(self, owner_id: str) -> dict:
        """Bytes on disk (each blob once, trash included), bytes in trash, counts, quota."""
        trash_bytes, trashed_files = self.items.sum_sizes({"owner_id": owner_id, "type": FILE,
                                                           "trashed_at": {"$ne": None}})
        return {
            "used_bytes": self.blobs.used_bytes(owner_id),
            "trash_bytes": trash_bytes,
            "quota_bytes": self.quota_bytes,
            "file_count": self.items.count({"owner_id": owner_id, "type": FILE, **LIVE}),
            "folder_count": self.items.count({"owner_id": owner_id, "type": FOLDER, **LIVE}),
            "trashed_file_count": trashed_files,
        }
