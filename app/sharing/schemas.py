"""The share links' contract: for their owner, and for anyone with the link."""
from __future__ import annotations

from marshmallow import fields, post_dump

from ..contract import ApiSchema, Id, QuerySchema, Timestamp
from ..drive.repo import FILE
from ..drive.schemas import KINDS
from ..errors import ErrorCode
from ..schemas import PageQuery, page_of
from .service import LABEL_MAX, PASSWORD_MAX, mode_of

STATES = ["active", "expired", "exhausted", "revoked", "item_unavailable"]


def _setting(type_: str, **metadata) -> fields.Raw:
    """A link setting the service checks (with its own codes); ``null`` clears it."""
    return fields.Raw(allow_none=True, metadata={"type": type_, "nullable": True, **metadata})


class ShareSettingsSchema(ApiSchema):
    """Label, expiry, password and download limit; ``null`` removes one."""

    label = _setting("string", maxLength=LABEL_MAX)
    expires_at = Timestamp(allow_none=True, metadata={"error_code": ErrorCode.INVALID_EXPIRY})
    password = _setting("string", maxLength=PASSWORD_MAX)
    max_downloads = _setting("integer", minimum=1)
    max_file_bytes = _setting("integer", minimum=1, description="upload-only links: the largest file taken")
    max_total_bytes = _setting("integer", minimum=1, description="upload-only links: all uploads together")
    max_files = _setting("integer", minimum=1, description="upload-only links: how many files in all")


class ShareCreateSchema(ShareSettingsSchema):
    mode = fields.Raw(load_default="read", metadata={
        "type": "string", "enum": ["read", "upload"], "error_code": ErrorCode.INVALID_INPUT,
        "description": "read (default): open, browse, download; upload (folders only): a file drop where "
                       "anyone with the link uploads and sees nothing of the folder"})
    item_id = fields.String(required=True, error_messages={"required": "item_id must be the id of a file or folder.",
                                                  "invalid": "item_id must be the id of a file or folder."})


class ShareSchema(ApiSchema):
    """A link as its owner sees it, with its state."""

    id = Id(attribute="share._id", required=True)
    item_id = Id(attribute="share.item_id", required=True)
    item_type = fields.String(attribute="share.item_type", required=True, metadata={"enum": list(KINDS)})
    label = fields.String(attribute="share.label", allow_none=True, dump_default=None)
    expires_at = Timestamp(attribute="share.expires_at", allow_none=True, dump_default=None)
    has_password = fields.Function(lambda row: row["share"].get("password_hash") is not None, required=True,
                                   metadata={"type": "boolean"})
    max_downloads = fields.Integer(attribute="share.max_downloads", allow_none=True, dump_default=None)
    download_count = fields.Integer(attribute="share.download_count", required=True)
    last_used_at = Timestamp(attribute="share.last_used_at", allow_none=True, dump_default=None)
    created_at = Timestamp(attribute="share.created_at", required=True)
    revoked_at = Timestamp(attribute="share.revoked_at", allow_none=True, dump_default=None)
    state = fields.String(required=True, metadata={"enum": STATES})
    mode = fields.Function(lambda row: mode_of(row["share"]), required=True,
                           metadata={"type": "string", "enum": ["read", "upload"]})
    max_file_bytes = fields.Integer(attribute="share.max_file_bytes", allow_none=True, dump_default=None)
    max_total_bytes = fields.Integer(attribute="share.max_total_bytes", allow_none=True, dump_default=None)
    max_files = fields.Integer(attribute="share.max_files", allow_none=True, dump_default=None)
    uploaded_files = fields.Integer(attribute="share.uploaded_files", dump_default=0)
    uploaded_bytes = fields.Integer(attribute="share.uploaded_bytes", dump_default=0)


def owned(share: dict, state: str) -> dict:
    """What ShareSchema serializes."""
    return {"share": share, "state": state}


class ShareCreatedSchema(ApiSchema):
    share = fields.Nested(ShareSchema, required=True)
    url = fields.String(required=True)
    token = fields.String(required=True)


class ShareListSchema(ApiSchema):
    shares = fields.List(fields.Nested(ShareSchema), required=True)


class ShareListQuery(QuerySchema):
    item_id = fields.String(load_default=None)


class PublicEntrySchema(ApiSchema):
    """A shared item, or an item inside a shared folder."""

    id = Id(attribute="_id", required=True)
    type = fields.String(required=True, metadata={"enum": list(KINDS)})
    name = fields.String(required=True)
    updated_at = Timestamp(required=True)
    size = fields.Integer()
    content_type = fields.String()

    @post_dump(pass_original=True)
    def _files_only(self, data: dict, item: dict, **kwargs) -> dict:
        if item["type"] != FILE:
            data.pop("size", None)
            data.pop("content_type", None)
        return data


class DroppedSchema(ApiSchema):
    """A file someone uploaded through an upload-only link (as it was stored: renamed on a clash)."""

    name = fields.String(required=True)
    size = fields.Integer(required=True)


class PublicShareSchema(ApiSchema):
    """What the link shows: before a password is given, only that one is needed."""

    type = fields.String(required=True, metadata={"enum": list(KINDS)})
    requires_password = fields.Boolean(required=True)
    unlocked = fields.Boolean(required=True)
    item = fields.Nested(PublicEntrySchema)
    label = fields.String(allow_none=True)
    expires_at = Timestamp(allow_none=True)
    downloads_left = fields.Integer(allow_none=True)
    mode = fields.String(required=True, metadata={"enum": ["read", "upload"]})
    max_file_bytes = fields.Integer(allow_none=True, metadata={"description": "upload-only links"})
    uploaded = fields.List(fields.Nested(DroppedSchema), metadata={
        "description": "upload-only links: what this browser session uploaded (nothing else is shown)"})


class DropResultSchema(ApiSchema):
    files = fields.List(fields.Nested(DroppedSchema), required=True)


def public_share(share: dict, item: dict, unlocked: bool, uploaded: list | None = None) -> dict:
    """What PublicShareSchema serializes. An upload-only link shows its folder's name, never
    what is in it: only what this session uploaded."""
    out = {"type": item["type"], "requires_password": share.get("password_hash") is not None, "unlocked": unlocked,
           "mode": mode_of(share)}
    if unlocked and mode_of(share) == "upload":
        out.update(item={"_id": item["_id"], "name": item["name"], "type": item["type"]}, label=share.get("label"),
                   expires_at=share.get("expires_at"), max_file_bytes=share.get("max_file_bytes"),
                   uploaded=uploaded or [])
    elif unlocked:
        left = None if share.get("max_downloads") is None else share["max_downloads"] - share["download_count"]
        out.update(item=item, label=share.get("label"), expires_at=share.get("expires_at"), downloads_left=left)
    return out


class UnlockSchema(ApiSchema):
    password = fields.Raw(load_default=None, allow_none=True, metadata={"type": "string"})


class PublicFolderQuery(PageQuery):
    folder_id = fields.String(load_default=None)


class ZipQuery(QuerySchema):
    folder_id = fields.String(load_default=None)


PublicPageSchema = page_of(PublicEntrySchema, "items", "PublicPage",
                           folder=fields.Nested(PublicEntrySchema, required=True))
