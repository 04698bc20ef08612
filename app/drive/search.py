"""Finding items by name and filters, and what a user's storage adds up to."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from .names import name_key
from .repo import BlobsRepository, ItemsRepository
from .tree import Tree


class SearchService:
    def __init__(self, items: ItemsRepository, blobs: BlobsRepository, quota_of: Callable[[str], int | None]):
        self.items = items
        self.tree = Tree(items)
        self.blobs = blobs
        self.quota_of = quota_of

    def search(self, owner_id: str, text: str = "", kind: str | None = None, content_type: str | None = None,
               min_size: int | None = None, max_size: int | None = None,
               created_after: datetime | None = None, created_before: datetime | None = None,
               page: int = 1, limit: int = 50) -> tuple[list[tuple[dict, str]], int]:
        """Live items whose name contains ``text`` (any case), with their folder's path.
        The text is escaped: it is matched literally, never as a regular expression."""
        found, total = self.items.search(owner_id, name_key(text) if text else None, kind, content_type,
                                         min_size, max_size, created_after, created_before, page, limit)
        paths = self.tree.paths(owner_id, found)
        return [(item, paths[item["_id"]]) for item in found], total

    def usage(self, owner_id: str) -> dict:
        """Bytes on disk (each blob once, trash included), bytes in trash, counts, quota."""
        trash_bytes, trashed_files = self.items.trashed_file_totals(owner_id)
        file_count, folder_count = self.items.live_counts(owner_id)
        return {
            "used_bytes": self.blobs.used_bytes(owner_id),
            "trash_bytes": trash_bytes,
            "quota_bytes": self.quota_of(owner_id) or 0,
            "file_count": file_count,
            "folder_count": folder_count,
            "trashed_file_count": trashed_files,
        }
