"""Sharing with users: the members of an item (grants), and the recipient's "Shared with me"."""
from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from ..audit.record import audit
from ..contract import arguments, authenticated, response
from ..errors import ALREADY_MEMBER, BAD_REQUEST, MEMBER_FORBIDDEN, NOT_FOUND
from ..schemas import PageQuery, paged
from ..services import services
from .schemas import MemberCreateSchema, MemberListSchema, MemberSchema, MemberUpdateSchema, SharedPageSchema

bp = Blueprint("members", __name__, url_prefix="/api")


@bp.get("/items/<item_id>/members")
@authenticated
@response(MemberListSchema, description="Who else can use the item.", errors=(NOT_FOUND, MEMBER_FORBIDDEN))
def list_members(item_id: str):
    """The users a file or folder is shared with, and their roles (owner, or a member who may share on)."""
    item, members = services().members.list(current_user.id, item_id)
    return {"item": item, "members": members}


@bp.post("/items/<item_id>/members")
@authenticated
@arguments(MemberCreateSchema)
@response(MemberSchema, 201, "The new member.", errors=(BAD_REQUEST, NOT_FOUND, MEMBER_FORBIDDEN, ALREADY_MEMBER))
def add_member(body: dict, item_id: str):
    """Share a file or folder with another user of this server, by username.

    `role` is `viewer` (list, preview, download, copy to their drive) or `editor` (also
    upload, make folders, rename, move within the share, trash and restore, restore
    versions); a grant on a folder covers everything below it. The member reaches it from
    `GET /api/shared-with-me` and then by id through the same routes as their own files;
    what an editor uploads counts against the owner's quota. `can_reshare` lets the member
    share it on (never with a wider role). A user that does not exist is a 404 `user_not_found`.
    """
    member = services().members.add(current_user.id, item_id, body["username"], body["role"], body["can_reshare"])
    audit("member_added", owner_id=member["owner_id"], target_id=item_id, member=member["grantee_id"],
          role=member["role"])
    return member


@bp.patch("/items/<item_id>/members/<username>")
@authenticated
@arguments(MemberUpdateSchema)
@response(MemberSchema, description="The member.", errors=(BAD_REQUEST, NOT_FOUND, MEMBER_FORBIDDEN))
def update_member(body: dict, item_id: str, username: str):
    """Change a member's role or `can_reshare` (owner only); it applies to their next request."""
    member = services().members.update(current_user.id, item_id, username, body.get("role"), body.get("can_reshare"))
    audit("member_changed", owner_id=member["owner_id"], target_id=item_id, member=member["grantee_id"],
          role=member["role"])
    return member


@bp.delete("/items/<item_id>/members/<username>")
@authenticated
@response(None, 204, "Removed.", errors=(NOT_FOUND, MEMBER_FORBIDDEN))
def remove_member(item_id: str, username: str):
    """End a member's access at once (after this, every id below the item is a 404 for them).

    The owner removes anyone; a member who shares on removes whom they added; a member
    leaves by removing themselves.
    """
    grant = services().members.remove(current_user.id, item_id, username)
    audit("member_removed", owner_id=grant["owner_id"], target_id=item_id, member=grant["grantee_id"])


@bp.get("/shared-with-me")
@authenticated
@arguments(PageQuery, "query")
@response(SharedPageSchema, description="One page of what others shared with you.")
def shared_with_me(query: dict):
    """Files and folders other users shared with you, newest first.

    They do not appear in your `/api/files`, folder tree or search; open a shared folder with
    `GET /api/folders/<id>/children`. A shared item's `parent_id` is `null`: nothing above
    it is yours to see.
    """
    rows, total = services().members.received(current_user.id, query["page"], query["limit"])
    return paged(rows, total, query)
