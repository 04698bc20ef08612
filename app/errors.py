"""Domain errors raised by services, the one enumeration of error codes, and the one handler
that turns every error into JSON.

Every error body is ``{"error": {"code": ..., "message": ...}}``; ``code`` is stable and
meant for programs, ``message`` is for people. :class:`ErrorCode` lists every code the API
answers with, its status and an example message (the README's error table is checked
against it, and the OpenAPI document's error examples come from it).
"""
from __future__ import annotations

import errno
import logging
import sqlite3
from dataclasses import dataclass
from enum import StrEnum

from flask import Flask, jsonify, request
from pymongo.errors import ConnectionFailure, PyMongoError
from werkzeug.exceptions import HTTPException

from .metrics import count_error

log = logging.getLogger(__name__)


class ErrorCode(StrEnum):
    """Every error code of the API, with its HTTP status and an example message."""

    def __new__(cls, code: str, status: int, example: str):
        member = str.__new__(cls, code)
        member._value_ = code
        member.status = status
        member.example = example
        return member

    BAD_REQUEST = "bad_request", 400, "The request is not valid."
    MALFORMED_JSON = "malformed_json", 400, "The request body is not valid JSON."
    INVALID_CONTENT_TYPE = "invalid_content_type", 400, "Send a JSON body with Content-Type: application/json."
    INVALID_INPUT = "invalid_input", 400, "'parent_id' must be a string."
    INVALID_SCOPE = "invalid_scope", 400, "scope must be 'read' or 'read-write'."
    INVALID_EXPIRY = "invalid_expiry", 400, "expires_at must be in the future."
    INVALID_LABEL = "invalid_label", 400, "label must be a string of at most 200 characters."
    INVALID_MAX_DOWNLOADS = "invalid_max_downloads", 400, "max_downloads must be a positive integer."
    SHARE_REVOKED = "share_revoked", 400, "A revoked link cannot be changed; create a new one."
    TOO_MANY_TOKENS = "too_many_tokens", 400, "At most 100 tokens per user."
    TOO_MANY_FILES = "too_many_files", 400, "Send one file per request."
    INVALID_USERNAME = "invalid_username", 400, "Username must be 3-32 characters: letters, digits, '.', '_' or '-'."
    INVALID_PASSWORD = "invalid_password", 400, "Password must be 8 to 1024 characters."
    INVALID_CREDENTIALS_FORMAT = "invalid_credentials_format", 400, "Send a username and a password."
    INVALID_NAME = "invalid_name", 400, "A name cannot contain '/' or '\\'."
    INVALID_ON_CONFLICT = "invalid_on_conflict", 400, "on_conflict must be one of: fail, rename."
    MISSING_FILE = "missing_file", 400, "Send the file in a multipart field named 'file'."
    EMPTY_FILE_PART = "empty_file_part", 400, "A 'file' part is empty: choose a file to upload."
    UNEXPECTED_FILE = "unexpected_file", 400, "File parts are only accepted by upload endpoints."
    INVALID_QUERY = "invalid_query", 400, "'limit' must be an integer."
    INVALID_EMAIL = "invalid_email", 400, "That is not an email address."
    INVALID_LINK = "invalid_link", 400, "This link does not work: it was used already, has expired or was replaced."
    UNAUTHORIZED = "unauthorized", 401, "Log in first: POST /api/login."
    INVALID_CREDENTIALS = "invalid_credentials", 401, "Invalid username or password."
    INVALID_API_KEY = "invalid_api_key", 401, "Send a valid API key as 'key' (create one with POST /api/tokens)."
    PASSWORD_REQUIRED = "password_required", 401, "This link needs its password: POST /s/<token>/unlock."
    WRONG_PASSWORD = "wrong_password", 401, "Wrong password."
    TWO_FACTOR_REQUIRED = "two_factor_required", 401, "Now the code from your authenticator app: POST /api/login/2fa."
    INVALID_CODE = "invalid_code", 401, "The code is wrong, too old, or was used already."
    FORBIDDEN = "forbidden", 403, "This is not allowed."
    READ_ONLY = "read_only", 403, "You can view this item but not change it: it was shared with you as a viewer."
    OWNER_ONLY = "owner_only", 403, "Only the owner can do this."
    OUTSIDE_SHARE = "outside_share", 403, "Items shared with you stay inside the shared folder."
    CROSS_SITE_REQUEST = "cross_site_request", 403, "Cross-site requests are not allowed."
    INSUFFICIENT_SCOPE = "insufficient_scope", 403, "This token can only read; create a read-write token to change things."
    SESSION_REQUIRED = "session_required", 403, "Log in with a password to manage tokens."
    ACCOUNT_DISABLED = "account_disabled", 403, "This account is disabled; ask an administrator."
    REAUTHENTICATION_REQUIRED = "reauthentication_required", 403, "Log in again (within the last 15 minutes) to create a token."
    REGISTRATION_CLOSED = "registration_closed", 403, "Registration is closed on this server; ask an administrator for an account."
    INVITE_REQUIRED = "invite_required", 403, "Registration needs an invitation on this server; ask an administrator for one."
    INVITE_INVALID = "invite_invalid", 403, "This invitation does not exist, was used already or has expired."
    NOT_FOUND = "not_found", 404, "The requested resource was not found."
    FILE_NOT_FOUND = "file_not_found", 404, "No such file."
    FOLDER_NOT_FOUND = "folder_not_found", 404, "No such folder."
    ITEM_NOT_FOUND = "item_not_found", 404, "No such file or folder."
    VERSION_NOT_FOUND = "version_not_found", 404, "No such version."
    SHARE_NOT_FOUND = "share_not_found", 404, "This link does not exist or no longer works."
    TOKEN_NOT_FOUND = "token_not_found", 404, "No such token."
    UPLOAD_NOT_FOUND = "upload_not_found", 404, "No such upload (finished long ago, cancelled or expired)."
    USER_NOT_FOUND = "user_not_found", 404, "No such user."
    SESSION_NOT_FOUND = "session_not_found", 404, "No such session."
    INVITE_NOT_FOUND = "invite_not_found", 404, "No such invitation."
    METHOD_NOT_ALLOWED = "method_not_allowed", 405, "The method is not allowed for the requested URL."
    NOT_ACCEPTABLE = "not_acceptable", 406, "No representation the client accepts."
    CONFLICT = "conflict", 409, "The request conflicts with the current state."
    ALREADY_MEMBER = "already_member", 409, "This user has access already; change the role with PATCH."
    USERNAME_TAKEN = "username_taken", 409, "That username is already taken."
    EMAIL_TAKEN = "email_taken", 409, "Another account uses this email address."
    EMAIL_UNAVAILABLE = "email_unavailable", 409, "This server does not send email; ask an administrator."
    LINK_FULL = "link_full", 409, "This link takes no more files (its limit on files or bytes is reached)."
    NAME_CONFLICT = "name_conflict", 409, "An item named 'report.pdf' already exists in this folder."
    MOVE_INTO_DESCENDANT = "move_into_descendant", 409, "A folder cannot be moved into itself or one of its subfolders."
    OFFSET_MISMATCH = "offset_mismatch", 409, "Upload-Offset is 0 but the upload has 1048576 bytes: resume from there."
    LENGTH_REQUIRED = "length_required", 411, "A request with this body must send Content-Length."
    PRECONDITION_FAILED = "precondition_failed", 412, "A precondition of the request failed."
    UNSUPPORTED_TUS_VERSION = "unsupported_tus_version", 412, "Send Tus-Resumable: 1.0.0 (see Tus-Version)."
    PAYLOAD_TOO_LARGE = "payload_too_large", 413, "The upload is larger than the server allows."
    ZIP_TOO_LARGE = "zip_too_large", 413, "A ZIP holds at most 10000 files and folders; choose fewer."
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type", 415, "The body's media type is not supported."
    PREVIEW_UNAVAILABLE = "preview_unavailable", 415, "This type cannot be previewed; download it instead."
    THUMBNAIL_UNAVAILABLE = "thumbnail_unavailable", 415, "This file has no thumbnail; show its type's icon instead."
    RANGE_NOT_SATISFIABLE = "range_not_satisfiable", 416, "The requested range is not satisfiable."
    UPLOAD_LOCKED = "upload_locked", 423, "Another request is writing to this upload; try again shortly."
    CHECKSUM_MISMATCH = "checksum_mismatch", 460, "The chunk does not match its Upload-Checksum; nothing was kept."
    TOO_MANY_REQUESTS = "too_many_requests", 429, "Too many attempts; wait before trying again."
    REQUEST_HEADER_FIELDS_TOO_LARGE = "request_header_fields_too_large", 431, "The request's headers are too large."
    INTERNAL_ERROR = "internal_error", 500, "An unexpected error occurred."
    STORAGE_UNAVAILABLE = "storage_unavailable", 500, "The storage cannot be used safely; nothing was written."
    RESUMABLE_UNAVAILABLE = "resumable_unavailable", 501, "This server's storage cannot resume uploads yet."
    SERVICE_UNAVAILABLE = "service_unavailable", 503, "The service is unavailable; try again shortly."
    DATABASE_UNAVAILABLE = "database_unavailable", 503, "The database cannot be reached; try again shortly."
    DATABASE_ERROR = "database_error", 503, "The database could not complete the request."
    TRY_AGAIN = "try_again", 503, "Too many changes to this file at once; try again."
    QUOTA_EXCEEDED = "quota_exceeded", 507, "This upload would exceed your storage quota."
    STORAGE_FULL = "storage_full", 507, "The server has no space left for this upload."


@dataclass(frozen=True)
class ErrorResponse:
    """An error status as the OpenAPI document shows it: what it means on the routes that use
    it, and the codes it can carry (all of one status)."""

    name: str
    meaning: str
    codes: tuple[ErrorCode, ...]

    @property
    def status(self) -> int:
        return self.codes[0].status


def _documented(name: str, meaning: str, *codes: ErrorCode) -> ErrorResponse:
    assert len({code.status for code in codes}) == 1, name
    return ErrorResponse(name, meaning, codes)


E = ErrorCode
BAD_REQUEST = _documented("BadRequest", "invalid input; `code` says what is wrong.", E.MALFORMED_JSON,
                          E.INVALID_CONTENT_TYPE, E.INVALID_INPUT, E.INVALID_NAME, E.INVALID_QUERY, E.MISSING_FILE)
UNAUTHORIZED = _documented("Unauthorized", "not logged in (no session cookie or Bearer token, or one that no "
                           "longer works).", E.UNAUTHORIZED)
BAD_API_KEY = _documented("BadApiKey", "no `key`, or not a valid API token.", E.INVALID_API_KEY)
LINK_LOCKED = _documented("LinkLocked", "the link has a password: unlock it first.", E.PASSWORD_REQUIRED)
WRONG_LINK_PASSWORD = _documented("WrongLinkPassword", "the password is wrong.", E.WRONG_PASSWORD)
FORBIDDEN = _documented("Forbidden", "a read token tried to write, a token tried to manage tokens, or another "
                        "site sent the request.", E.INSUFFICIENT_SCOPE, E.SESSION_REQUIRED, E.CROSS_SITE_REQUEST)
MEMBER_FORBIDDEN = _documented("MemberForbidden", "the item was shared with you: as a viewer you cannot change it "
                               "(`read_only`), some changes are its owner's (`owner_only`), and what you change "
                               "stays inside the share (`outside_share`); or a read token tried to write, or another site "
                               "sent the request.", E.READ_ONLY, E.OWNER_ONLY, E.OUTSIDE_SHARE, E.INSUFFICIENT_SCOPE,
                               E.CROSS_SITE_REQUEST)
IF_MATCH_FAILED = _documented("PreconditionFailed", "`If-Match` names an ETag the file no longer has: someone "
                              "changed it since you read it; nothing was written.", E.PRECONDITION_FAILED)
ALREADY_MEMBER = _documented("AlreadyMember", "the user has a grant on this item already.", E.ALREADY_MEMBER)
NOT_FOUND = _documented("NotFound", "no such thing for this user (other users' ids included).", E.FILE_NOT_FOUND,
                        E.FOLDER_NOT_FOUND, E.ITEM_NOT_FOUND, E.VERSION_NOT_FOUND, E.SHARE_NOT_FOUND,
                        E.TOKEN_NOT_FOUND)
CONFLICT = _documented("Conflict", "a sibling already has that name, or a folder would move into its own "
                       "subtree.", E.NAME_CONFLICT, E.MOVE_INTO_DESCENDANT)
USERNAME_TAKEN = _documented("UsernameTaken", "the username exists (in any letter case).", E.USERNAME_TAKEN)
REGISTRATION_REFUSED = _documented("RegistrationRefused", "this server does not let this request register "
                                   "(REGISTRATION=closed, or invite without a valid invitation).",
                                   E.REGISTRATION_CLOSED, E.INVITE_REQUIRED, E.INVITE_INVALID)
ACCOUNT_DISABLED = _documented("AccountDisabled", "the password is right but an administrator disabled the "
                               "account.", E.ACCOUNT_DISABLED)
WRONG_CURRENT_PASSWORD = _documented("WrongCurrentPassword", "the current password is wrong.", E.WRONG_PASSWORD)
LOGIN_REFUSED = _documented("LoginRefused", "wrong username or password (`invalid_credentials`); or the password "
                            "was right and the account has two-factor login (`two_factor_required`): send the code "
                            "to POST /api/login/2fa.", E.INVALID_CREDENTIALS, E.TWO_FACTOR_REQUIRED)
WRONG_CODE = _documented("WrongCode", "the code is wrong, too old or used already (or no login is waiting for "
                         "one).", E.INVALID_CODE, E.UNAUTHORIZED)
REAUTHENTICATION_REQUIRED = _documented("ReauthenticationRequired", "the session's login is older than "
                                        "TOKEN_CREATION_LOGIN_MINUTES.", E.REAUTHENTICATION_REQUIRED,
                                        E.SESSION_REQUIRED, E.INSUFFICIENT_SCOPE, E.CROSS_SITE_REQUEST)
USER_NOT_FOUND = _documented("UserNotFound", "no such user (and for anyone but an administrator, no such "
                             "route).", E.USER_NOT_FOUND, E.NOT_FOUND)
TWO_FACTOR_STATE = _documented("TwoFactorState", "two-factor login is already on (setup, enable) or is not on "
                               "(disable), or enable came before setup.", E.CONFLICT)
ADMIN_ONLY = _documented("AdminOnly", "you are not an administrator: for you this route does not exist.",
                         E.NOT_FOUND)
SESSION_NOT_FOUND = _documented("SessionNotFound", "no such session of yours.", E.SESSION_NOT_FOUND)
INVITE_NOT_FOUND = _documented("InviteNotFound", "no such invitation.", E.INVITE_NOT_FOUND, E.NOT_FOUND)
EMAIL_UNAVAILABLE = _documented("EmailUnavailable", "this server sends no email (SMTP_HOST is not set): an "
                                "administrator resets passwords.", E.EMAIL_UNAVAILABLE)
INVALID_EMAIL = _documented("InvalidEmail", "not an email address (at most 254 characters, one `@`).",
                            E.INVALID_EMAIL)
INVALID_LINK = _documented("InvalidLink", "the emailed link was used already, has expired, or a newer one "
                           "replaced it.", E.INVALID_LINK)
LINK_FULL = _documented("LinkFull", "the upload-only link has taken its `max_files` or `max_total_bytes`.",
                        E.LINK_FULL)
EMAIL_TAKEN = _documented("EmailTaken", "another account verified this address first.", E.EMAIL_TAKEN)
TOO_LARGE = _documented("TooLarge", "the request exceeds MAX_CONTENT_LENGTH.", E.PAYLOAD_TOO_LARGE)
ZIP_TOO_LARGE = _documented("ZipTooLarge", "the ZIP would hold more than ZIP_MAX_ENTRIES files and folders; "
                            "nothing was sent.", E.ZIP_TOO_LARGE)
PREVIEW_UNAVAILABLE = _documented("PreviewUnavailable", "this type is only downloaded.", E.PREVIEW_UNAVAILABLE)
THUMBNAIL_UNAVAILABLE = _documented("ThumbnailUnavailable", "the file has no thumbnail: not an image, PDF or "
                                    "video, unreadable, or over THUMBNAIL_MAX_PIXELS or THUMBNAIL_MAX_SOURCE_BYTES; "
                                    "show an icon instead.", E.THUMBNAIL_UNAVAILABLE)
TOO_MANY_REQUESTS = _documented("TooManyRequests", "wait for `Retry-After` seconds.", E.TOO_MANY_REQUESTS)
UPLOAD_NOT_FOUND = _documented("UploadNotFound", "no such upload for this user (other users' ids included), or "
                               "its folder is gone.", E.UPLOAD_NOT_FOUND, E.FOLDER_NOT_FOUND)
OFFSET_CONFLICT = _documented("UploadConflict", "Upload-Offset is not where the upload is (ask with HEAD and "
                              "resume from there), or the finished file's name is taken.", E.OFFSET_MISMATCH,
                              E.NAME_CONFLICT)
TUS_VERSION = _documented("TusVersion", "no `Tus-Resumable: 1.0.0` header.", E.UNSUPPORTED_TUS_VERSION)
UPLOAD_LOCKED = _documented("UploadLocked", "another request is writing to this upload.", E.UPLOAD_LOCKED)
CHECKSUM_MISMATCH = _documented("ChecksumMismatch", "the chunk does not match Upload-Checksum; the offset did not "
                                "move.", E.CHECKSUM_MISMATCH)
UNSUPPORTED_MEDIA = _documented("UnsupportedMediaType", "the body's Content-Type is not the one this route takes.",
                                E.UNSUPPORTED_MEDIA_TYPE)
RESUMABLE_UNAVAILABLE = _documented("ResumableUnavailable", "the storage backend cannot resume uploads yet (S3, "
                                    "encryption at rest).", E.RESUMABLE_UNAVAILABLE)
INSUFFICIENT_STORAGE = _documented("InsufficientStorage", "your quota is used up, or the server's disk is full.",
                                   E.QUOTA_EXCEEDED, E.STORAGE_FULL)
del E


class AppError(Exception):
    """Base of all domain errors. Not a ValueError on purpose: Werkzeug's form parser
    silently swallows ValueErrors raised while it streams an upload."""

    status = 400
    code = ErrorCode.BAD_REQUEST

    def __init_subclass__(cls, **kwargs):
        """A subclass names its code; its status is the code's."""
        super().__init_subclass__(**kwargs)
        cls.code = ErrorCode(cls.code)
        cls.status = cls.code.status

    def __init__(self, message: str, code: ErrorCode | str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = ErrorCode(code)  # an unknown code fails here, where it is raised
            self.status = self.code.status
        if status:
            self.status = status


class InvalidInput(AppError):
    code = ErrorCode.INVALID_INPUT


class Unauthorized(AppError):
    code = ErrorCode.UNAUTHORIZED


class Forbidden(AppError):
    code = ErrorCode.FORBIDDEN


class NotFound(AppError):
    code = ErrorCode.NOT_FOUND


class Conflict(AppError):
    code = ErrorCode.CONFLICT


class PayloadTooLarge(AppError):
    code = ErrorCode.PAYLOAD_TOO_LARGE


class QuotaExceeded(AppError):
    """507 like WebDAV and Nextcloud: the request is fine, the user's space is not."""

    code = ErrorCode.QUOTA_EXCEEDED


def human_size(size: int) -> str:
    """``1 GiB``, ``3.2 MiB``, ``500 KiB``, ``12 B``: binary units, as config.py reads them."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            break
        value /= 1024
    if unit == "B" or value >= 100 or value == int(value):
        return f"{value:.0f} {unit}"
    return f"{value:.1f} {unit}"


def quota_exceeded(quota_bytes: int, used_bytes: int) -> QuotaExceeded:
    """The 507 for the caller's own quota, saying how much of it is left (never use it for
    another user's quota: it would tell their usage)."""
    free = max(quota_bytes - used_bytes, 0)
    lead = "This upload would exceed your storage quota" if free else "Your storage quota is used up"
    return QuotaExceeded(f"{lead}: {human_size(free)} of your {human_size(quota_bytes)} quota is free.")


def too_large_message(limit: int | None, upload: bool = True) -> str:
    """The 413 message, naming the limit that applied to this request."""
    what = "The upload" if upload else "The request body"
    return f"{what} is larger than the server allows" + (f" ({human_size(limit)})." if limit else ".")


# Werkzeug's names turned into stable snake_case codes.
_HTTP_CODES = {code.status: code for code in (
    ErrorCode.BAD_REQUEST, ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND,
    ErrorCode.METHOD_NOT_ALLOWED, ErrorCode.NOT_ACCEPTABLE, ErrorCode.CONFLICT, ErrorCode.LENGTH_REQUIRED,
    ErrorCode.PRECONDITION_FAILED, ErrorCode.PAYLOAD_TOO_LARGE, ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    ErrorCode.RANGE_NOT_SATISFIABLE, ErrorCode.TOO_MANY_REQUESTS, ErrorCode.REQUEST_HEADER_FIELDS_TOO_LARGE,
    ErrorCode.INTERNAL_ERROR, ErrorCode.SERVICE_UNAVAILABLE)}

_HTTP_MESSAGES = {
    404: "The requested resource was not found.",
    429: "Too many attempts; wait before trying again.",
}


def error_response(status: int, code: str, message: str):
    count_error(code)  # database and storage failures, for /metrics
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    return response


def coded_response(code: ErrorCode):
    """The error answer of a code, with its example as the message."""
    return error_response(code.status, code, code.example)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(AppError)
    def handle_app_error(error: AppError):
        return error_response(error.status, error.code, error.message)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        status = error.code or 500
        code = _HTTP_CODES.get(status, f"http_{status}")
        message = _HTTP_MESSAGES.get(status, error.description or error.name)
        if status == 413:
            message = too_large_message(request.max_content_length, request.mimetype == "multipart/form-data")
        response = error_response(status, code, message)
        # Keep headers Werkzeug attached (Allow on 405, Retry-After on 429, ...).
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(ConnectionFailure)
    def handle_database_down(error: ConnectionFailure):
        log.error("database unreachable: %s", type(error).__name__)
        return coded_response(ErrorCode.DATABASE_UNAVAILABLE)

    @app.errorhandler(PyMongoError)
    def handle_database_error(error: PyMongoError):
        log.exception("database error")
        return coded_response(ErrorCode.DATABASE_ERROR)

    @app.errorhandler(sqlite3.OperationalError)
    def handle_sqlite_error(error: sqlite3.OperationalError):
        # "database is locked" past the busy timeout, "disk I/O error", a full disk under the
        # database file: the embedded engine cannot complete the request, as a lost MongoDB.
        log.exception("embedded database error")
        return coded_response(ErrorCode.DATABASE_ERROR)

    @app.errorhandler(OSError)
    def handle_os_error(error: OSError):
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            log.error("disk full while writing")
            return coded_response(ErrorCode.STORAGE_FULL)
        log.exception("I/O error")
        return coded_response(ErrorCode.INTERNAL_ERROR)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        log.exception("unhandled error")
        return coded_response(ErrorCode.INTERNAL_ERROR)
