"""What the API does to one file or folder for the logged-in caller: the access rule
(app.members.access), the service call, the audit event. The single-item routes
(routes/items.py, routes/trash.py) and the bulk route (bulk.py) both call these, so one item
goes through the same rules however it is asked for.

``kind`` is ``file`` or ``folder`` as the single routes' URLs say it, or None for an id of
either kind (bulk requests): the item's own type is then used once access is resolved, and
an id the caller cannot reach is ``item_not_found``.
"""
from __future__ import annotations

from typing import Callable

from flask_login import current_user

from ..audit.record import audit
from ..members.access import (READ, WRITE, Access, access_to, may_change_place, outside_share, owner_only,
                              same_drive)
from ..services import services


def moved_to(body: dict) -> dict:
    """``parent_id`` given (``null`` is the root) or not at all."""
    return {"parent": body["parent_id"] or "root"} if "parent_id" in body else {}


def _resolved(item_id: str, kind: str | None, need: str) -> tuple[Access, str]:
    access = access_to(item_id, kind, need)
    return access, kind or access.item["type"]


def update_item(item_id: str, kind: str | None, body: dict, check: Callable[[dict], None] | None = None) -> dict:
    """Rename and/or move (``name``, ``parent_id``, ``on_conflict``); ``check`` is If-Match's."""
    access, kind = _resolved(item_id, kind, WRITE)
    moved = moved_to(body)
    if not access.is_owner and ("parent" in moved or body.get("name") is not None):
        may_change_place(access, "rename or move")
        if "parent" in moved:
            same_drive(access, moved["parent"], "move items out of the share")
    updated = services().drive.update(access.owner_id, item_id, kind, name=body.get("name"),
                                      on_conflict=body.get("on_conflict"), check=check, **moved)
    if not access.is_owner:
        audit("member_changed_item", owner_id=access.owner_id, target_id=item_id, kind=kind)
    return updated


def delete_item(item_id: str, kind: str | None, permanent: bool) -> None:
    """To the owner's trash (a member's deletion shows who), or for good (the owner only)."""
    access, kind = _resolved(item_id, kind, WRITE)
    if not access.is_owner:
        if permanent:
            raise owner_only("delete for good (put it in the trash instead)")
        may_change_place(access, "put in the trash (remove yourself from it instead)")
    if permanent:
        services().trash.delete_forever(access.owner_id, item_id, kind, must_be_trashed=False)
    else:
        services().trash.trash(access.owner_id, item_id, kind, by=None if access.is_owner else current_user.username)
    audit("deleted_for_good" if permanent else "trashed", owner_id=access.owner_id, target_id=item_id, kind=kind)


def copy_item(item_id: str, kind: str | None, body: dict) -> dict:
    """Copy (``parent_id``, ``name``, ``on_conflict``); out of a share only into the caller's own drive."""
    access, kind = _resolved(item_id, kind, READ)
    drive, moved = services().drive, moved_to(body)
    if access.is_owner:
        return drive.copy(current_user.id, item_id, kind, name=body.get("name"),
                          on_conflict=body.get("on_conflict"), **moved)
    if "parent" not in moved:  # beside the original: in the share, as an editor
        if access.item["_id"] == access.root_id:
            raise outside_share("copy the shared item beside itself (give parent_id: root copies it to "
                                "your drive)")
        moved = {"parent": str(access.item["parent_id"])}
    target = access_to(moved["parent"], "folder", WRITE)
    if target.owner_id == access.owner_id:
        return drive.copy(access.owner_id, item_id, kind, name=body.get("name"),
                          on_conflict=body.get("on_conflict"), **moved)
    copied = drive.copy_across(access.owner_id, item_id, kind, target.owner_id, moved["parent"],
                               name=body.get("name"), on_conflict=body.get("on_conflict"))
    audit("copied_from_share", owner_id=access.owner_id, target_id=item_id, kind=kind)
    return copied


def set_star(item_id: str, kind: str | None, starred: bool) -> dict:
    """Stars are the owner's marks on their items: a member gets 403 ``owner_only``."""
    access, kind = _resolved(item_id, kind, READ)
    if not access.is_owner:
        raise owner_only("star it")
    return services().drive.set_starred(access.owner_id, item_id, kind, starred)


def restore_item(item_id: str) -> dict:
    """Out of the trash, where it was: ``{"item", "note"}``."""
    access = access_to(item_id, None, WRITE, live=False)
    may_change_place(access, "restore")
    item, note = services().trash.restore(access.owner_id, item_id)
    audit("restored", owner_id=access.owner_id, target_id=item_id)
    return {"item": item, "note": note}


def delete_trashed(item_id: str) -> None:
    """Delete one of the caller's trashed items for good (with what was trashed with it)."""
    services().trash.delete_forever(current_user.id, item_id)
    audit("deleted_for_good", owner_id=current_user.id, target_id=item_id)
