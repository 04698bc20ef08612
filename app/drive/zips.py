"""What goes into a ZIP download, for share links and logged-in users alike: the live items of
a folder or of a selection, each with its path in the archive, within ZIP_MAX_ENTRIES. Which
items a caller may have is decided before (the access rule, a share link); files are read
through the storage only when the stream reaches them (app/sharing/archive.py's stream_zip)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ..errors import ErrorCode, PayloadTooLarge
from ..sharing.archive import safe_archive_names, windows_safe_name
from .names import validate_display_name
from .repo import FILE, FOLDER, ItemsRepository
from .tree import Tree

if TYPE_CHECKING:
    from .blobs import Download
    from .service import DriveService

# (path in the archive, modification time, content: a file's Download, or None for a folder)
Member = tuple[str, datetime, "Download | None"]


class ZipContents:
    def __init__(self, items: ItemsRepository, drive: DriveService, max_entries: int):
        self.tree = Tree(items)
        self.drive = drive
        self.max_entries = max_entries or None  # 0: no limit

    def check_count(self, count: int) -> None:
        """413 ``zip_too_large`` for an archive of more than ZIP_MAX_ENTRIES files and folders."""
        if self.max_entries is not None and count > self.max_entries:
            raise PayloadTooLarge(f"A ZIP holds at most {self.max_entries} files and folders (ZIP_MAX_ENTRIES); "
                                  "choose fewer.", code=ErrorCode.ZIP_TOO_LARGE)

    def of_folder(self, folder: dict) -> list[Member]:
        """Everything live below ``folder``, inside a top directory named after it (which has no
        entry of its own); empty folders are directory entries."""
        return self._members(self._below(folder, windows_safe_name(folder["name"]), 0))

    def of_root(self, owner_id: str) -> list[Member]:
        """The whole drive: the root's live items at the top of the archive."""
        return self.of_selection(self.tree.items.live_children(owner_id, None))

    def of_selection(self, chosen: list[dict]) -> list[Member]:
        """Live files and folders side by side at the top of the archive, each folder with
        everything live below it. Top-level names are made safe and distinct as siblings' are
        (:func:`safe_archive_names`: a clash becomes ``a (2).txt``)."""
        self.check_count(len(chosen))
        entries: list[tuple[str, dict]] = []
        for item, name in zip(chosen, safe_archive_names([i["name"] for i in chosen])):
            if item["type"] == FOLDER:
                entries.append((name + "/", item))
                entries.extend(self._below(item, name, len(entries)))
            else:
                entries.append((name, item))
        return self._members(entries)

    @staticmethod
    def archive_name(name: str | None, chosen: list[dict]) -> str:
        """``<name>.zip``: the name asked for (the drive's name rules apply), else that of the
        only item chosen, else ``Download``."""
        if name is not None:
            name = validate_display_name(name)
        elif len(chosen) == 1:
            name = chosen[0]["name"]
        return (name or "Download") + ".zip"

    def _below(self, folder: dict, top: str, counted: int) -> list[tuple[str, dict]]:
        """(path, item) for every live item below ``folder``, paths starting with ``top``; folders
        end in '/'. Every path component is safe for Windows and unique per folder ignoring case."""
        limit = None if self.max_entries is None else self.max_entries - counted
        below = self.tree.subtree(folder["owner_id"], folder["_id"], "live", limit=limit)
        self.check_count(counted + len(below))
        siblings: dict = {}
        for item in below:
            siblings.setdefault(item["parent_id"], []).append(item)
        names = {folder["_id"]: top}
        for group in siblings.values():
            names.update(zip((i["_id"] for i in group), safe_archive_names([i["name"] for i in group])))
        parents = {folder["_id"]: None, **{item["_id"]: item["parent_id"] for item in below}}

        def path(item_id) -> str:
            parts = []
            while item_id is not None:
                parts.append(names[item_id])
                item_id = parents[item_id]
            return "/".join(reversed(parts))
        return [(path(i["_id"]) + ("/" if i["type"] == FOLDER else ""), i) for i in below]

    def _members(self, entries: list[tuple[str, dict]]) -> list[Member]:
        return [(name, item["updated_at"], self.drive.download(item) if item["type"] == FILE else None)
                for name, item in sorted(entries, key=lambda e: e[0])]
