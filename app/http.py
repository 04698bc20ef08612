"""Small helpers routes share for reading input and shaping output."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from flask import current_app, jsonify, redirect, request, send_file
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from .drive.names import content_disposition
from .errors import AppError, InvalidInput
from .storage import OpenedBlob, SignedRedirect
from .timeutil import as_utc

class UnsupportedPreview(AppError):
    status, code = 415, "preview_unavailable"


# User bytes must never run as script in our origin, even if a browser ignores the attachment.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


def json_object(optional: bool = False) -> dict:
    """The request body as a JSON object, or a 400 that says what is wrong.
    With ``optional``, an empty body is an empty object."""
    if optional and not request.content_length and not request.data:
        return {}
    if not request.is_json:
        raise InvalidInput("Send a JSON body with Content-Type: application/json.", code="invalid_content_type")
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidInput("The request body is not valid JSON.", code="malformed_json")
    if not isinstance(data, dict):
        raise InvalidInput("The JSON body must be an object.", code="malformed_json")
    try:  # JSON may escape a lone surrogate ("\ud800"), which no database or header can encode
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("The JSON body has text that is not valid Unicode.", code="malformed_json") from None
    return data


def json_or_form() -> dict:
    """A JSON object, or the fields of an HTML form (for browsers and ``curl -d``)."""
    if request.is_json:
        return json_object()
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.to_dict()
    raise InvalidInput("Send JSON or form fields.", code="invalid_content_type")


def optional_str(data: dict, name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"'{name}' must be a string.", code="invalid_input")
    return value


def query_int(name: str, default: int | None, minimum: int, maximum: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"'{name}' must be an integer.", code="invalid_query") from None
    if not minimum <= value <= maximum:
        raise InvalidInput(f"'{name}' must be between {minimum} and {maximum}.", code="invalid_query")
    return value


def query_choice(name: str, default: str | None, choices) -> str | None:
    value = request.args.get(name) or default
    if value is not None and value not in choices:
        raise InvalidInput(f"'{name}' must be one of: {', '.join(choices)}.", code="invalid_query")
    return value


def query_bool(name: str) -> bool:
    value = request.args.get(name, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise InvalidInput(f"'{name}' must be true or false.", code="invalid_query")
    return value in ("true", "1")


def parse_datetime(raw: str, name: str, code: str = "invalid_input") -> datetime:
    """An ISO 8601 date or date-time; naive values are UTC."""
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise InvalidInput(f"'{name}' must be an ISO 8601 date or time.", code=code) from None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def query_datetime(name: str) -> datetime | None:
    raw = request.args.get(name)
    return parse_datetime(raw, name, code="invalid_query") if raw else None


def page_params() -> tuple[int, int]:
    config = current_app.config
    limit = query_int("limit", config["PAGE_SIZE_DEFAULT"], 1, config["PAGE_SIZE_MAX"])
    return query_int("page", 1, 1, 1_000_000), limit


def page_response(key: str, rows: list, total: int, page: int, limit: int, **extra):
    return jsonify({key: rows, "page": page, "limit": limit, "total": total, "pages": (total + limit - 1) // limit,
                    **extra})


def _send_opened(download, blob: OpenedBlob):
    """send_file of the bytes the storage opened: a local file (opened without following
    links; Gunicorn sends it with sendfile) or a stream. Given a path, send_file would open
    it again and follow a link swapped in since; given a file object, it knows no size, so
    Content-Length, Range and 304 are set up here."""
    response = send_file(blob.file, mimetype=download.content_type, conditional=False, etag=download.sha256,
                         last_modified=as_utc(download.modified_at), max_age=None)
    response.content_length = blob.size
    try:
        return response.make_conditional(request.environ, accept_ranges=True, complete_length=blob.size)
    except RequestedRangeNotSatisfiable:
        blob.close()
        raise


def _send_stored(download, disposition: str, policy: str, allow_redirect: bool = False):
    """Stored bytes with validators for Range and 304, cached only by the user's own browser;
    or, where allowed and the storage offers one, a redirect to a signed URL (which serves
    the bytes with ``disposition`` itself, and expires: never cached)."""
    served = download.serve(disposition) if allow_redirect else download.open()
    if isinstance(served, SignedRedirect):
        response = redirect(served.url, code=302)
        response.headers["Cache-Control"] = "private, no-store"
        return response
    response = _send_opened(download, served)
    response.headers["Content-Disposition"] = disposition
    response.headers["Content-Security-Policy"] = policy
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def send_download(download):
    """Stream stored bytes as an attachment (an owner's may be a signed redirect)."""
    return _send_stored(download, content_disposition(download.name), DOWNLOAD_CSP, allow_redirect=True)


# Types a browser shows without running anything of the file's, and that still render under a CSP
# sandbox. SVG and HTML can run script; PDF cannot be shown sandboxed (Chromium's viewer refuses
# to render in a sandboxed document), so PDFs are download-only.
PREVIEW_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp", "text/plain"}
PREVIEW_PREFIXES = ("audio/", "video/")
PREVIEW_CSP = "default-src 'none'; media-src 'self'; img-src 'self'; frame-ancestors 'none'; sandbox"


def previewable(content_type: str) -> bool:
    return content_type in PREVIEW_TYPES or content_type.startswith(PREVIEW_PREFIXES)


def send_preview(download):
    """Stored bytes inline, sandboxed, for the types above; 415 for anything else."""
    if not previewable(download.content_type):
        raise UnsupportedPreview("This type cannot be previewed; download it instead.", code="preview_unavailable")
    # Werkzeug appends "; charset=utf-8" to text/* itself.
    return _send_stored(download, "inline", PREVIEW_CSP)
