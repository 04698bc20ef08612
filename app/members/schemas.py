"""The contract of sharing with users: grants on an item, and "Shared with me"."""
from __future__ import annotations

from marshmallow import fields

from ..contract import ApiSchema, Id, Timestamp
from ..drive.schemas import ItemSchema
from ..errors import ErrorCode
from ..schemas import page_of
from .repo import ROLES

_ROLE_DOC = ("viewer: list, preview, download, copy to their own drive; editor: also upload, make folders, "
             "rename, move within the share, put in the trash and restore, restore versions")


def _role(**kwargs) -> fields.Raw:
    return fields.Raw(metadata={"type": "string", "enum": list(ROLES), "error_code": ErrorCode.INVALID_INPUT,
                                "description": _ROLE_DOC}, **kwargs)


def _flag(**kwargs) -> fields.Boolean:
    return fields.Boolean(metadata={"error_code": ErrorCode.INVALID_INPUT, "description": (
        "the member may share the item on (with a role no wider than their own) and remove what they granted")},
        **kwargs)


class MemberCreateSchema(ApiSchema):
    username = fields.String(required=True, metadata={"example": "bob"}, error_messages={
        "required": "username names the user to share with."})
    role = _role(load_default="viewer")
    can_reshare = _flag(load_default=False)


class MemberUpdateSchema(ApiSchema):
    role = _role()
    can_reshare = _flag()


class MemberSchema(ApiSchema):
    """One user's access to an item."""

    username = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": list(ROLES)})
    can_reshare = fields.Boolean(required=True)
    granted_by = fields.String(attribute="granted_by_name", allow_none=True, dump_default=None,
                               metadata={"description": "who gave the access (the owner, or a member who shares on)"})
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


class MemberListSchema(ApiSchema):
    item_id = Id(attribute="item._id", required=True)
    members = fields.List(fields.Nested(MemberSchema), required=True)


class SharedItemSchema(ApiSchema):
    """An item someone shared with the caller."""

    item = fields.Nested(ItemSchema, required=True)
    owner = fields.String(required=True, metadata={"description": "the owner's username"})
    role = fields.String(required=True, metadata={"enum": list(ROLES)})
    can_reshare = fields.Boolean(required=True)
    shared_at = Timestamp(required=True)


SharedPageSchema = page_of(SharedItemSchema, "shared", "SharedWithMePage")
