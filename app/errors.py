"""Domain errors raised by services, and the one handler that turns every error into JSON.

Every error body is ``{"error": {"code": ..., "message": ...}}``; ``code`` is stable and
meant for programs, ``message`` is for people.
"""
from __future__ import annotations

import errno
import logging
import sqlite3

from flask import Flask, jsonify, request
from pymongo.errors import ConnectionFailure, PyMongoError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class AppError(Exception):
    """Base of all domain errors. Not a ValueError on purpose: Werkzeug's form parser
    silently swallows ValueErrors raised while it streams an upload."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class InvalidInput(AppError):
    status, code = 400, "invalid_input"


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class QuotaExceeded(AppError):
    """507 like WebDAV and Nextcloud: the request is fine, the user's space is not."""

    status, code = 507, "quota_exceeded"


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


class StorageFull(AppError):
    status, code = 507, "storage_full"


class DatabaseUnavailable(AppError):
    status, code = 503, "database_unavailable"


# Werkzeug's names turned into stable snake_case codes.
_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
    411: "length_required", 412: "precondition_failed", 413: "payload_too_large",
    415: "unsupported_media_type", 416: "range_not_satisfiable", 429: "too_many_requests",
    431: "request_header_fields_too_large", 500: "internal_error", 503: "service_unavailable",
}

_HTTP_MESSAGES = {
    404: "The requested resource was not found.",
    429: "Too many attempts; wait before trying again.",
}


def error_response(status: int, code: str, message: str):
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    return response


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
        return error_response(503, "database_unavailable",
                              "The database cannot be reached; try again shortly.")

    @app.errorhandler(PyMongoError)
    def handle_database_error(error: PyMongoError):
        log.exception("database error")
        return error_response(503, "database_error", "The database could not complete the request.")

    @app.errorhandler(sqlite3.OperationalError)
    def handle_sqlite_error(error: sqlite3.OperationalError):
        # "database is locked" past the busy timeout, "disk I/O error", a full disk under the
        # database file: the embedded engine cannot complete the request, as a lost MongoDB.
        log.exception("embedded database error")
        return error_response(503, "database_error", "The database could not complete the request.")

    @app.errorhandler(OSError)
    def handle_os_error(error: OSError):
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            log.error("disk full while writing")
            return error_response(507, "storage_full", "The server has no space left for this upload.")
        log.exception("I/O error")
        return error_response(500, "internal_error", "An unexpected error occurred.")

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "An unexpected error occurred.")
