"""The account and token routes' contract."""
from __future__ import annotations

from marshmallow import fields, validate

from ..contract import ApiSchema, Id, StrictBool, Timestamp
from ..drive.schemas import UsageSchema
from ..errors import ErrorCode
from .service import PASSWORD_MAX, PASSWORD_MIN, USERNAME_PATTERN
from .tokens import SCOPES

USERNAME_MESSAGE = "Username must be 3-32 characters: letters, digits, '.', '_' or '-'."
PASSWORD_MESSAGE = f"Password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters."
CREDENTIALS_MESSAGE = "Send a username and a password."


def _credential(message: str, code: ErrorCode, **metadata) -> fields.String:
    """A credential field; the service applies the rules, with this code and message."""
    return fields.String(required=True, error_messages={"invalid": message, "required": message},
                         metadata={"error_code": code, **metadata})


class CredentialsSchema(ApiSchema):
    """A new account's username and password."""

    username = _credential(USERNAME_MESSAGE, ErrorCode.INVALID_USERNAME, pattern=f"^{USERNAME_PATTERN.pattern}$",
                           example="john")
    password = _credential(PASSWORD_MESSAGE, ErrorCode.INVALID_PASSWORD, minLength=PASSWORD_MIN,
                           maxLength=PASSWORD_MAX, example="password123")


class RegistrationSchema(CredentialsSchema):
    """With REGISTRATION=invite, the invitation an administrator made (``cdi_...``)."""

    invite = fields.String(load_default=None, metadata={"example": "cdi_Xq3...",
                                                        "description": "needed when REGISTRATION=invite"})


class LoginSchema(ApiSchema):
    username = _credential(CREDENTIALS_MESSAGE, ErrorCode.INVALID_CREDENTIALS_FORMAT, example="john")
    password = _credential(CREDENTIALS_MESSAGE, ErrorCode.INVALID_CREDENTIALS_FORMAT, example="password123")
    remember = StrictBool(load_default=True, metadata={
        "description": "true (default): the session and its cookie last SESSION_LIFETIME_DAYS; false: the "
                       "cookie ends with the browser and the session after SESSION_UNREMEMBERED_HOURS"})


class UserSchema(ApiSchema):
    """The user as shown to clients: never the password hash."""

    id = Id(attribute="_id", required=True)
    username = fields.String(required=True)
    created_at = Timestamp(required=True)
    role = fields.String(dump_default="user", metadata={"enum": ["user", "admin"]})
    two_factor = fields.Boolean(attribute="totp_enabled", dump_default=False,
                                metadata={"description": "two-factor login is on"})
    email = fields.String(allow_none=True, dump_default=None,
                          metadata={"description": "the verified address reset links go to (null: none)"})


MeSchema = UserSchema.from_dict(dict(UsageSchema._declared_fields), name="Me")


class ApiTokenSchema(ApiSchema):
    id = Id(attribute="_id", required=True)
    name = fields.String(required=True)
    scope = fields.String(required=True, metadata={"enum": list(SCOPES)})
    prefix = fields.String(required=True, metadata={"description": "the first characters of the secret"})
    created_at = Timestamp(required=True)
    expires_at = Timestamp(allow_none=True, dump_default=None)
    last_used_at = Timestamp(allow_none=True, dump_default=None)


class TokenCreateSchema(ApiSchema):
    """The service checks name and scope (invalid_name, invalid_scope)."""

    name = fields.Raw(required=True, error_messages={"required": "Give the token a name of 1-100 characters."},
                      metadata={"type": "string", "maxLength": 100, "example": "backup script",
                                "error_code": ErrorCode.INVALID_NAME})
    scope = fields.Raw(required=True, error_messages={"required": "scope must be 'read' or 'read-write'."},
                       metadata={"type": "string", "enum": list(SCOPES), "error_code": ErrorCode.INVALID_SCOPE})
    expires_at = Timestamp(allow_none=True, load_default=None, metadata={"error_code": ErrorCode.INVALID_EXPIRY})


class TokenCreatedSchema(ApiSchema):
    token = fields.Nested(ApiTokenSchema, required=True)
    secret = fields.String(required=True, metadata={"example": "cdt_3q2..."})


class TokenListSchema(ApiSchema):
    tokens = fields.List(fields.Nested(ApiTokenSchema), required=True)


class PasswordChangeSchema(ApiSchema):
    current_password = fields.String(required=True, metadata={"error_code": ErrorCode.INVALID_INPUT})
    new_password = _credential(PASSWORD_MESSAGE, ErrorCode.INVALID_PASSWORD, minLength=PASSWORD_MIN,
                               maxLength=PASSWORD_MAX)
    revoke_tokens = StrictBool(load_default=False, metadata={
        "description": "also revoke every API token (scripts, WebDAV clients)"})


class SessionSchema(ApiSchema):
    id = fields.String(attribute="_id", required=True, metadata={"description": "names the session (not its cookie)"})
    created_at = Timestamp(required=True)
    last_used_at = Timestamp(allow_none=True, dump_default=None)
    expires_at = Timestamp(required=True)
    address = fields.String(allow_none=True, dump_default=None)
    user_agent = fields.String(allow_none=True, dump_default=None)
    current = fields.Boolean(required=True, metadata={"description": "the session of this request"})


class SessionListSchema(ApiSchema):
    sessions = fields.List(fields.Nested(SessionSchema), required=True)


class PasswordConfirmSchema(ApiSchema):
    password = fields.String(required=True, metadata={"description": "your password, to confirm",
                                                      "error_code": ErrorCode.INVALID_INPUT})


class AccountDeleteSchema(PasswordConfirmSchema):
    code = fields.String(load_default=None, validate=validate.Length(max=40), metadata={
        "description": "with two-factor login on: a code from the app, or a recovery code"})


class CodeSchema(ApiSchema):
    code = fields.String(required=True, validate=validate.Length(max=40), metadata={
        "example": "123456", "description": "six digits from the app, or a recovery code (xxxx-xxxx-xxxx-xxxx)",
        "error_code": ErrorCode.INVALID_INPUT})


class TwoFactorOffSchema(CodeSchema):
    password = fields.String(required=True, metadata={"error_code": ErrorCode.INVALID_INPUT})


class TwoFactorSetupSchema(ApiSchema):
    secret = fields.String(required=True, metadata={"description": "base32, for typing into the app"})
    otpauth_uri = fields.String(required=True)
    qr_svg = fields.String(required=True, metadata={"description": "the URI as a QR code, an SVG document"})


class RecoveryCodesSchema(ApiSchema):
    recovery_codes = fields.List(fields.String(), required=True)


def _email_field(**metadata) -> fields.Raw:
    """An email address; the service checks it (invalid_email)."""
    return fields.Raw(required=True, error_messages={"required": "Send an email address as 'email'."},
                      metadata={"type": "string", "maxLength": 254, "example": "john@example.com",
                                "error_code": ErrorCode.INVALID_EMAIL, **metadata})


class PasswordForgotSchema(ApiSchema):
    email = _email_field(description="the account's verified address")


class PasswordResetLinkSchema(ApiSchema):
    token = fields.String(required=True, validate=validate.Length(max=200), metadata={
        "description": "the `token` of the emailed link (`cdm_...`)", "error_code": ErrorCode.INVALID_LINK})
    new_password = _credential(PASSWORD_MESSAGE, ErrorCode.INVALID_PASSWORD, minLength=PASSWORD_MIN,
                               maxLength=PASSWORD_MAX)


class EmailLinkSchema(ApiSchema):
    token = fields.String(required=True, validate=validate.Length(max=200), metadata={
        "description": "the `token` of the emailed link (`cdm_...`)", "error_code": ErrorCode.INVALID_LINK})


class EmailChangeSchema(PasswordConfirmSchema):
    email = _email_field(description="the new address: a link is sent there, and it is used once opened")


class AcceptedSchema(ApiSchema):
    message = fields.String(required=True)
