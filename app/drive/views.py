"""How drive records are shown to clients."""
from __future__ import annotations

from ..timeutil import isoformat
from .repo import FILE
from .versions import revision_of


def public_item(item: dict, path: str | None = None) -> dict:
    out = {"id": str(item["_id"]), "type": item["type"], "name": item["name"],
           "parent_id": str(item["parent_id"]) if item["parent_id"] else "root",
           "created_at": isoformat(item["created_at"]), "updated_at": isoformat(item["updated_at"]),
           "starred": item.get("starred", False)}
    if item["type"] == FILE:
        out.update(size=item["size"], content_type=item["content_type"], sha256=item["sha256"],
                   revision=revision_of(item))
    if item.get("trashed_at"):
        out["trashed_at"] = isoformat(item["trashed_at"])
    if path is not None:
        out["path"] = path
    return out


def public_version(version: dict) -> dict:
    return {"id": str(version["_id"]), "size": version["size"], "sha256": version["sha256"],
            "content_type": version["content_type"], "created_at": isoformat(version["created_at"]),
            "revision": revision_of(version)}
