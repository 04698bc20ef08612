"""The administration routes' contract."""
from __future__ import annotations

from marshmallow import fields, validate

from ..auth.schemas import PASSWORD_MESSAGE, USERNAME_MESSAGE, _credential
from ..auth.service import PASSWORD_MAX, PASSWORD_MIN, USERNAME_PATTERN
from ..contract import ApiSchema, Id, StrictBool, Timestamp, text
from ..errors import ErrorCode
from ..schemas import PageQuery, page_of
from .service import INVITE_HOURS_MAX, QUOTA_MAX, ROLES


class AdminUserSchema(ApiSchema):
    """A user as administrators see them: the account, usage and quota; never their files."""

    id = Id(attribute="_id", required=True)
    username = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": list(ROLES)})
    disabled = fields.Boolean(required=True)
    created_at = Timestamp(required=True)
    last_seen_at = Timestamp(allow_none=True, dump_default=None,
                             metadata={"description": "last request with a session or token (to the minute)"})
    used_bytes = fields.Integer(required=True)
    quota_bytes = fields.Integer(required=True, metadata={"description": "0 means unlimited"})
    own_quota = fields.Boolean(required=True, metadata={"description": "false: USER_QUOTA_BYTES applies"})
    email = fields.String(allow_none=True, dump_default=None, metadata={"description": "verified address"})


AdminUserPageSchema = page_of(AdminUserSchema, "users", "AdminUserPage")


class UserQuery(PageQuery):
    q = text(load_default=None, metadata={"description": "only usernames containing this (any case)"})


class AdminUserCreateSchema(ApiSchema):
    username = _credential(USERNAME_MESSAGE, ErrorCode.INVALID_USERNAME, pattern=f"^{USERNAME_PATTERN.pattern}$")
    password = _credential(PASSWORD_MESSAGE, ErrorCode.INVALID_PASSWORD, minLength=PASSWORD_MIN,
                           maxLength=PASSWORD_MAX)
    role = fields.String(load_default="user", metadata={"enum": list(ROLES)})
    quota_bytes = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(0, QUOTA_MAX),
                                 metadata={"description": "null: USER_QUOTA_BYTES; 0: unlimited"})


class AdminUserUpdateSchema(ApiSchema):
    quota_bytes = fields.Integer(allow_none=True, strict=True, validate=validate.Range(0, QUOTA_MAX),
                                 metadata={"description": "bytes; 0: unlimited; null: back to USER_QUOTA_BYTES"})
    disabled = StrictBool(metadata={
        "description": "true: their sessions end, their tokens and share links stop answering at once"})
    role = fields.String(metadata={"enum": list(ROLES)})
    email = fields.Raw(allow_none=True, metadata={
        "type": "string", "nullable": True, "error_code": ErrorCode.INVALID_EMAIL,
        "description": "set the account's address as verified (the user is trusted to own it); null removes it"})


class PasswordResetSchema(ApiSchema):
    password = _credential(PASSWORD_MESSAGE, ErrorCode.INVALID_PASSWORD, minLength=PASSWORD_MIN,
                           maxLength=PASSWORD_MAX)


class InviteSchema(ApiSchema):
    id = Id(attribute="_id", required=True)
    created_at = Timestamp(required=True)
    expires_at = Timestamp(required=True)
    note = fields.String(allow_none=True, dump_default=None)


class InviteCreateSchema(ApiSchema):
    hours = fields.Integer(load_default=72, strict=True, validate=validate.Range(1, INVITE_HOURS_MAX),
                           metadata={"minimum": 1, "maximum": INVITE_HOURS_MAX, "description": "valid this long"})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                         metadata={"maxLength": 200})
    email = fields.Raw(load_default=None, allow_none=True, metadata={
        "type": "string", "nullable": True, "error_code": ErrorCode.INVALID_EMAIL,
        "description": "email the invitation to this address (needs SMTP_HOST)"})


class InviteCreatedSchema(ApiSchema):
    invite = fields.Nested(InviteSchema, required=True)
    secret = fields.String(required=True, metadata={"description": "shown once: give it to the person"})
    url = fields.String(required=True, metadata={"description": "the web app's sign-up page with the invitation"})
    emailed = fields.Boolean(required=True, metadata={"description": "the invitation was sent to `email`"})


class InviteListSchema(ApiSchema):
    invites = fields.List(fields.Nested(InviteSchema), required=True)


class UserDeleteSchema(ApiSchema):
    confirm = fields.String(required=True, metadata={"description": "the account's username, to confirm",
                                                     "error_code": ErrorCode.INVALID_INPUT})
