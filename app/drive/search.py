"""Finding items by name and filters, and what a user's storage adds up to."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from .names import name_key
from .repo import BlobsRepository, ItemsRepository, VersionsRepository
from .tree import Tree


class SearchService:
    def __init__(self, items: ItemsRepository, blobs: BlobsRepository, quota_of: Callable[[str], int | None],
                 versions: VersionsRepository, retention: dict):
        self.items = items
        self.tree = Tree(items)
        self.blobs = blobs
        self.quota_of = quota_of
        self.versions = versions
        self.retention = retention

    def search(self, owner_id: str, text: str = "", kind: str | None = None, content_type: str | None = None,
               min_size: int | None = None, max_size: int | None = None,
               created_after: datetime | None = None, created_before: datetime | None = None,
               page: int = 1, limit: int = 50, within: dict | None = None,
               paths_from: dict | None = None) -> tuple[list[tuple[dict, str]], int]:
        """Live items whose name contains ``text`` (any case), with their folder's path.
        The text is escaped: it is matched literally, never as a regular expression.
        ``within``: only below this folder. ``paths_from``: a folder above them all where paths
        start (a share's root, for its members: nothing above it is named)."""
        parent_ids = None if within is None else self._folders_below(owner_id, within["_id"])
        found, total = self.items.search(owner_id, name_key(text) if text else None, kind, content_type,
                                         min_size, max_size, created_after, created_before, page, limit,
                                         parent_ids=parent_ids)
        paths = self.tree.paths(owner_id, found + ([paths_from] if paths_from else []))
        cut = paths[paths_from["_id"]].rstrip("/") if paths_from else ""
        return [(item, paths[item["_id"]][len(cut):]) for item in found], total

    def _folders_below(self, owner_id: str, folder_id) -> list:
        """``folder_id`` and every live folder below it (one read of the owner's folders)."""
        inside: dict = {}
        for folder in self.items.live_folders(owner_id):
            inside.setdefault(folder["parent_id"], []).append(folder["_id"])
        found, frontier = {folder_id}, [folder_id]
        while frontier:
            frontier = [child for parent in frontier for child in inside.get(parent, ()) if child not in found]
            found.update(frontier)
        return list(found)

    def usage(self, owner_id: str) -> dict:
        """Bytes on disk (each blob once, trash included), bytes in trash, counts, quota; and what
        fills it: live files, kept versions and the trash at their sizes, with the settings that
        decide how long versions and trashed items stay."""
        trash_bytes, trashed_files = self.items.trashed_file_totals(owner_id)
        file_count, folder_count = self.items.live_counts(owner_id)
        file_bytes, _ = self.items.live_file_totals(owner_id)
        version_bytes, version_count = self.versions.totals(owner_id)
        return {
            "file_bytes": file_bytes,
            "version_bytes": version_bytes,
            "version_count": version_count,
            "retention": self.retention,
            "used_bytes": self.blobs.used_bytes(owner_id),
            "trash_bytes": trash_bytes,
            "quota_bytes": self.quota_of(owner_id) or 0,
            "file_count": file_count,
            "folder_count": folder_count,
            "trashed_file_count": trashed_files,
        }
