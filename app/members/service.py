"""Grants: the owner of a file or folder shares it with another user as viewer or editor; the
recipient finds it under "Shared with me" (see access.py for what a grant allows)."""
from __future__ import annotations

import logging

from ..drive.repo import ItemsRepository
from ..errors import Conflict, ErrorCode, InvalidInput, NotFound
from ..timeutil import utcnow
from bson import ObjectId
from .access import RANK, READ, Access, AccessRule, owner_only
from .repo import ROLES, VIEWER

log = logging.getLogger(__name__)
RECEIVED_AT_MOST = 10_000  # "Shared with me" reads at most this many grants


def _no_user() -> NotFound:
    return NotFound("No such user.", code=ErrorCode.USER_NOT_FOUND)


class MembersService:
    def __init__(self, access: AccessRule, grants, users, items: ItemsRepository):
        self.access = access
        self.grants = grants
        self.users = users
        self.items = items

    def _managing(self, actor_id: str, item_id: str) -> Access:
        """The item and the caller's right to manage its members: the owner, or a member whose
        grant lets them share it on."""
        access = self.access.resolve(actor_id, item_id, None, READ)
        if access.item is None:
            raise NotFound("No such item.", code=ErrorCode.ITEM_NOT_FOUND)
        if not access.is_owner and not access.grant.get("can_reshare"):
            raise owner_only("share this item with others (ask the owner to let you share it on)")
        return access

    def _names(self, user_ids) -> dict[str, str]:
        names = {}
        for user_id in set(user_ids):
            user = self.users.get(user_id) if user_id else None
            if user is not None:
                names[user_id] = user["username"]
        return names

    def _rows(self, grants: list[dict]) -> list[dict]:
        names = self._names([g["grantee_id"] for g in grants] + [g.get("granted_by") for g in grants])
        return [{**g, "username": names.get(g["grantee_id"]), "granted_by_name": names.get(g.get("granted_by"))}
                for g in grants if g["grantee_id"] in names]

    def list(self, actor_id: str, item_id: str) -> tuple[dict, list[dict]]:
        access = self._managing(actor_id, item_id)
        return access.item, self._rows(self.grants.for_item(access.item["_id"]))

    def add(self, actor_id: str, item_id: str, username: str, role: str = VIEWER, can_reshare: bool = False) -> dict:
        access = self._managing(actor_id, item_id)
        if role not in ROLES:
            raise InvalidInput(f"role must be one of: {', '.join(ROLES)}.", code=ErrorCode.INVALID_INPUT)
        if not access.is_owner and (RANK[role] > RANK[access.role] or can_reshare):
            raise owner_only("give a wider role than your own, or let others share on")
        grantee = self.users.get_by_username(username or "")
        if grantee is None or grantee.get("disabled"):
            raise _no_user()
        grantee_id = str(grantee["_id"])
        if grantee_id == access.owner_id:
            raise InvalidInput(f"{grantee['username']} owns this item.", code=ErrorCode.INVALID_INPUT)
        if grantee_id == actor_id:
            raise InvalidInput("You cannot share an item with yourself.", code=ErrorCode.INVALID_INPUT)
        now = utcnow()
        grant = {"_id": ObjectId(), "owner_id": access.owner_id, "item_id": access.item["_id"],
                 "item_type": access.item["type"], "grantee_id": grantee_id, "role": role,
                 "can_reshare": bool(can_reshare), "granted_by": actor_id, "created_at": now, "updated_at": now}
        if not self.grants.insert(grant):
            raise Conflict(f"{grantee['username']} has access already; change the role with PATCH.",
                           code=ErrorCode.ALREADY_MEMBER)
        log.info("grant added owner_id=%s item_id=%s grantee_id=%s role=%s", access.owner_id, grant["item_id"],
                 grantee_id, role)
        return self._rows([grant])[0]

    def _member(self, item: dict, username: str) -> tuple[str, dict]:
        grantee = self.users.get_by_username(username or "")
        grant = self.grants.get(item["_id"], str(grantee["_id"])) if grantee else None
        if grant is None:
            raise NotFound(f"{username} has no access to this item.", code=ErrorCode.USER_NOT_FOUND)
        return str(grantee["_id"]), grant

    def update(self, actor_id: str, item_id: str, username: str, role: str | None = None,
               can_reshare: bool | None = None) -> dict:
        access = self._managing(actor_id, item_id)
        grantee_id, grant = self._member(access.item, username)
        if not access.is_owner:
            raise owner_only("change what others may do")
        changes: dict = {"updated_at": utcnow()}
        if role is not None:
            if role not in ROLES:
                raise InvalidInput(f"role must be one of: {', '.join(ROLES)}.", code=ErrorCode.INVALID_INPUT)
            changes["role"] = role
        if can_reshare is not None:
            changes["can_reshare"] = bool(can_reshare)
        updated = self.grants.update(access.item["_id"], grantee_id, changes)
        if updated is None:
            raise NotFound(f"{username} has no access to this item.", code=ErrorCode.USER_NOT_FOUND)
        return self._rows([updated])[0]

    def remove(self, actor_id: str, item_id: str, username: str) -> dict:
        """End a grant: the owner ends anyone's, a member who shared on ends the grants they
        gave, and a member may leave (end their own grant on this item)."""
        me = self.users.get(actor_id)
        if me is not None and (username or "").lower() == me["username"].lower():
            access = self.access.resolve(actor_id, item_id, None, READ)
            if not access.is_owner:
                grant = self.grants.get(access.item["_id"], actor_id)
                if grant is None or not self.grants.delete(grant["item_id"], actor_id):
                    raise NotFound("You have no grant on this item itself (it is inside a folder shared with you: "
                                   "leave that one).", code=ErrorCode.USER_NOT_FOUND)
                return grant
        access = self._managing(actor_id, item_id)
        grantee_id, grant = self._member(access.item, username)
        if not access.is_owner and grant.get("granted_by") != actor_id:
            raise owner_only("remove what someone else granted")
        if not self.grants.delete(access.item["_id"], grantee_id):
            raise NotFound(f"{username} has no access to this item.", code=ErrorCode.USER_NOT_FOUND)
        return grant

    def received(self, actor_id: str, page: int, limit: int) -> tuple[list[dict], int]:
        """The items shared with the caller that they can use now, newest grant first."""
        grants, _ = self.grants.received(actor_id, 1, RECEIVED_AT_MOST)
        usable = []
        for grant in grants:
            try:
                access = self.access.resolve(actor_id, grant["item_id"], grant["item_type"], READ)
            except NotFound:
                continue  # trashed, deleted, its owner disabled
            if access.root_id != grant["item_id"]:
                continue  # inside a wider grant of the same owner: reached from there
            usable.append((grant, access.item))
        names = self._names([g["owner_id"] for g, _ in usable])
        rows = [{"item": item, "owner": names.get(g["owner_id"]), "role": g["role"],
                 "can_reshare": bool(g.get("can_reshare")), "shared_at": g["created_at"]} for g, item in usable]
        start = (page - 1) * limit
        return rows[start:start + limit], len(rows)
