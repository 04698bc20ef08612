"""The one access rule for items (issue 16): the caller may use an item when they own it, or
when a grant on it or on one of its ancestors gives them a role that allows what they ask.

Every route that takes an item id (files, folders, versions, trash restore, uploads into a
folder, tus) asks :meth:`AccessRule.resolve` first and then works in the drive it answers,
``Access.owner_id``: the services are unchanged and never see who is asking.

What the rule promises:
- someone else's item without a grant covering it is a 404, the same answer as an id that does
  not exist (nothing tells the two apart);
- a viewer asking to write gets 403 ``read_only``; a grant on a folder covers what is below it;
- a grant works only while both accounts are enabled and the shared item is live (removing the
  grant, trashing or deleting the item, or disabling either account ends access at the next
  request: nothing is cached);
- what a member sees never reaches above the shared item: the routes mask its ``parent_id``
  (``Access.roots`` feeds the item schema) and breadcrumbs start at it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from bson import ObjectId
from flask import g, has_request_context

from ..drive.repo import FOLDER, ItemsRepository
from ..drive.tree import MAX_DEPTH, Tree, not_found
from ..errors import ErrorCode, Forbidden
from ..ids import parse_object_id
from .repo import EDITOR, VIEWER

OWNER = "owner"
READ, WRITE = "read", "write"
RANK = {VIEWER: 1, EDITOR: 2, OWNER: 3}


@dataclass
class Access:
    """The drive an item lives in and what the caller may do there. ``root_id`` is the
    shared item the grant is on (None for the owner); ``grant`` the grant that decided."""

    owner_id: str
    role: str
    item: dict | None = None
    root_id: ObjectId | None = None
    grant: dict | None = None
    chain: list[dict] = field(default_factory=list)

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER

    @property
    def can_write(self) -> bool:
        return self.role in (OWNER, EDITOR)


def read_only() -> Forbidden:
    return Forbidden("You can view this item but not change it: its owner shared it with you as a viewer.",
                     code=ErrorCode.READ_ONLY)


def owner_only(what: str) -> Forbidden:
    return Forbidden(f"Only the owner can {what}.", code=ErrorCode.OWNER_ONLY)


def remember_root(root_id: ObjectId) -> None:
    """The item schema hides this item's ``parent_id`` for the rest of the request."""
    if has_request_context():
        g.setdefault("share_roots", set()).add(root_id)


def hidden_parent(item_id) -> bool:
    return has_request_context() and item_id in g.get("share_roots", ())


class AccessRule:
    def __init__(self, items: ItemsRepository, grants, owner_active: Callable[[str], bool]):
        self.items = items
        self.tree = Tree(items)
        self.grants = grants
        self.owner_active = owner_active

    def resolve(self, actor_id: str, item_id, kind: str | None, need: str = READ, live: bool | None = True) -> Access:
        """The caller's access to an item (``root``/None for a folder id means the caller's
        own root). 404 when they have none, 403 ``read_only`` when ``need`` is ``write`` and
        they are a viewer."""
        if kind == FOLDER and item_id in (None, "", "root"):
            return Access(actor_id, OWNER)
        own = self.items.get(actor_id, item_id, kind=kind, live=live)
        if own is not None:
            return Access(actor_id, OWNER, own)
        access = self._as_member(actor_id, item_id, kind, live)
        if need == WRITE and not access.can_write:
            raise read_only()
        remember_root(access.root_id)
        return access

    def _as_member(self, actor_id: str, item_id, kind: str | None, live: bool | None) -> Access:
        oid = item_id if isinstance(item_id, ObjectId) else parse_object_id(item_id)
        owner_id = self.items.owner_of(oid) if oid else None
        if owner_id is None or owner_id == actor_id:
            raise not_found(kind)
        item = self.items.get(owner_id, oid, kind=kind, live=live)
        if item is None:
            raise not_found(kind)
        return self._grant_for(actor_id, item, kind)

    def _grant_for(self, actor_id: str, item: dict, kind: str | None = None) -> Access:
        owner_id = item["owner_id"]
        chain = [item] + list(reversed(self.tree.ancestors(owner_id, item["parent_id"])))[:MAX_DEPTH]
        grants = self.grants.covering(actor_id, owner_id, [i["_id"] for i in chain]) if chain else []
        if not grants or not self.owner_active(owner_id) or not self.owner_active(actor_id):
            raise not_found(kind)
        position = {i["_id"]: n for n, i in enumerate(chain)}
        # The widest role wins; the highest shared folder is the root the member sees from.
        grants.sort(key=lambda gr: (-RANK[gr["role"]], -position[gr["item_id"]]))
        best = grants[0]
        root_id = max(grants, key=lambda gr: position[gr["item_id"]])["item_id"]
        root = chain[position[root_id]]
        if root["trashed_at"] is not None:  # the shared item itself went to the owner's trash
            raise not_found(kind)
        if item["trashed_at"] is not None and not self._trashed_below_live(chain, position[root_id]):
            raise not_found(kind)
        return Access(owner_id, best["role"], item, root_id, best, chain[:position[root_id] + 1])

    def may_change_place(self, actor_id: str, access: Access, what: str) -> None:
        """Renaming, moving, trashing or restoring an item changes the folder that holds it, so a
        member needs to be an editor of that folder too: never of the shared item itself (its
        folder is the owner's, outside the share: 403 ``owner_only``), and not where a wider grant
        makes them only a viewer (a folder shared as viewer, a subfolder as editor: 403 ``read_only``)."""
        if access.is_owner:
            return
        if access.item["_id"] == access.root_id:
            raise owner_only(f"{what} the shared item itself")
        self.resolve(actor_id, str(access.item["parent_id"]), FOLDER, WRITE)

    @staticmethod
    def _trashed_below_live(chain: list[dict], root_at: int) -> bool:
        """A trashed item is a member's (to restore) when every folder between it and the
        shared item is live: it was put in the trash on its own, inside the share."""
        return all(folder["trashed_at"] is None for folder in chain[1:root_at + 1])


def outside_share(what: str) -> Forbidden:
    return Forbidden(f"Items shared with you stay inside the share: you cannot {what}.",
                     code=ErrorCode.OUTSIDE_SHARE)


def access_to(item_id, kind: str | None, need: str = READ, live: bool | None = True) -> Access:
    """The rule for the logged-in caller, as routes ask it."""
    from flask_login import current_user

    from ..services import services
    return services().access.resolve(current_user.id, item_id, kind, need, live)


def same_drive(access: Access, folder_id, what: str) -> Access:
    """A destination folder for something a member changes in a shared drive: writable by them
    and in the same owner's drive (403 ``outside_share`` for their own drive or another)."""
    target = access_to(folder_id, FOLDER, WRITE)
    if target.owner_id != access.owner_id:
        raise outside_share(what)
    return target


def may_change_place(access: Access, what: str) -> None:
    """:meth:`AccessRule.may_change_place` for the logged-in caller."""
    from flask_login import current_user

    from ..services import services
    services().access.may_change_place(current_user.id, access, what)
