"""How shares are shown: to their owner, and to anyone with the link."""
from __future__ import annotations

from ..drive.repo import FILE
from ..timeutil import isoformat


def _iso(value):
    return isoformat(value) if value else None


def owner_share(share: dict, state: str) -> dict:
    return {"id": str(share["_id"]), "item_id": str(share["item_id"]), "item_type": share["item_type"],
            "label": share.get("label"), "expires_at": _iso(share.get("expires_at")),
            "has_password": share.get("password_hash") is not None,
            "max_downloads": share.get("max_downloads"), "download_count": share["download_count"],
            "last_used_at": _iso(share.get("last_used_at")), "created_at": isoformat(share["created_at"]),
            "revoked_at": _iso(share.get("revoked_at")), "state": state}


def public_entry(item: dict) -> dict:
    out = {"id": str(item["_id"]), "type": item["type"], "name": item["name"],
           "updated_at": isoformat(item["updated_at"])}
    if item["type"] == FILE:
        out.update(size=item["size"], content_type=item["content_type"])
    return out


def public_share(share: dict, item: dict, unlocked: bool) -> dict:
    """What the link shows: before a password is given, only that one is needed."""
    out = {"type": item["type"], "requires_password": share.get("password_hash") is not None, "unlocked": unlocked}
    if unlocked:
        left = None if share.get("max_downloads") is None else share["max_downloads"] - share["download_count"]
        out.update(item=public_entry(item), label=share.get("label"), expires_at=_iso(share.get("expires_at")),
                   downloads_left=left)
    return out
