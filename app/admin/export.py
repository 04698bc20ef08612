"""Export all my data (issue 15): a ZIP streamed as it is built, with every live file in its
folder tree under ``drive/`` (names made safe for every system, as in shared folders' ZIPs) and
``metadata.json``: the account, every item with its path, hashes and times, each file's
versions, stars, share links (never their secrets) and what is in the trash."""
from __future__ import annotations

import json
from typing import Iterator

from ..drive.repo import FILE, FOLDER
from ..sharing.archive import safe_archive_names, stream_zip
from ..timeutil import isoformat, utcnow

PREFIX = "drive/"


def _iso(value) -> str | None:
    return None if value is None else isoformat(value)


class AccountExport:
    def __init__(self, services):
        self.services = services

    def _tree(self, owner_id: str) -> list[tuple[str, str, dict]]:
        """(archive path, shown path, item) of every live item, folders before what they hold."""
        items = self.services.drive.items
        found, queue = [], [(None, PREFIX, "/")]
        while queue:
            parent_id, archive_path, shown_path = queue.pop(0)
            children = items.live_children(owner_id, parent_id)
            safe = safe_archive_names([c["name"] for c in children])
            for child, name in zip(children, safe):
                shown = shown_path + child["name"]
                if child["type"] == FOLDER:
                    found.append((archive_path + name + "/", shown + "/", child))
                    queue.append((child["_id"], archive_path + name + "/", shown + "/"))
                else:
                    found.append((archive_path + name, shown, child))
        return found

    def metadata(self, user: dict, tree: list[tuple[str, str, dict]]) -> dict:
        found = self.services
        owner_id = str(user["_id"])
        paths = {item["_id"]: shown for _, shown, item in tree}
        items = []
        for archive_path, shown, item in tree:
            entry = {"path": shown, "archive_path": archive_path, "type": item["type"], "starred": bool(item.get("starred")),
                     "created_at": _iso(item["created_at"]), "updated_at": _iso(item["updated_at"])}
            if item["type"] == FILE:
                entry.update(size=item["size"], sha256=item["sha256"], content_type=item["content_type"],
                             revision=item.get("revision"),
                             modified_at=_iso(item.get("modified_at") or item["updated_at"]),
                             versions=[{"revision": v.get("revision"), "size": v["size"], "sha256": v.get("sha256"),
                                        "created_at": _iso(v["created_at"])}
                                       for v in found.versions.versions.for_file(item)])
            items.append(entry)
        shares = [{"item": paths.get(share["item_id"]), "label": share.get("label"), "state": state,
                   "created_at": _iso(share["created_at"]), "expires_at": _iso(share.get("expires_at")),
                   "max_downloads": share.get("max_downloads"), "download_count": share.get("download_count", 0),
                   "password": share.get("password_hash") is not None}
                  for share, state in found.shares.list(owner_id)]
        trash = [{"name": item["name"], "type": item["type"], "trashed_at": _iso(item["trashed_at"]),
                  "size": item.get("size")} for item in found.drive.items.all_trash_roots(owner_id)]
        return {"exported_at": _iso(utcnow()),
                "account": {"username": user["username"], "created_at": _iso(user["created_at"]),
                            "email": user.get("email")},
                "usage": found.search.usage(owner_id), "items": items, "shares": shares, "trash": trash}

    def stream(self, user: dict) -> Iterator[bytes]:
        """The ZIP, built as it is sent: each file is read when its turn comes."""
        owner_id = str(user["_id"])
        tree = self._tree(owner_id)
        drive = self.services.drive

        def members():
            yield PREFIX, utcnow(), None
            for archive_path, _shown, item in tree:
                yield archive_path, item["updated_at"], None if item["type"] == FOLDER else drive.download(item)
            document = json.dumps(self.metadata(user, tree), ensure_ascii=False, indent=1).encode("utf-8")
            yield "metadata.json", utcnow(), document
        return stream_zip(members())
