"""Small helpers routes share: dates read from input, stored bytes served (input and output
otherwise go through the schemas, app/contract.py)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterator

from flask import current_app, redirect, request, send_file, stream_with_context
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.http import is_resource_modified
from werkzeug.wsgi import FileWrapper

from .drive.names import content_disposition
from .errors import AppError, ErrorCode, InvalidInput
from .storage import LocalFile, OpenedBlob, SignedRedirect
from .timeutil import as_utc

class UnsupportedPreview(AppError):
    code = ErrorCode.PREVIEW_UNAVAILABLE


STREAM_BLOCK = 256 * 1024  # read size of a download from a stream (not a local file)
# User bytes must never run as script in our origin, even if a browser ignores the attachment.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


class IfMatch:
    """A request's ``If-Match`` (RFC 9110 13.1.1) against a file's ETag, its SHA-256: writes to
    an existing file take it, so two people never overwrite each other unknowingly. The
    services call :meth:`check` on the file as they are about to commit, at each retry, so it
    holds against a parallel commit (a commit is conditional on the revision it read)."""

    def __init__(self, tags):
        self.tags = tags

    def check(self, item: dict | None) -> None:
        """412 ``precondition_failed`` unless ``item`` exists and has one of the tags (``*``:
        any file; a folder has no ETag, so only ``*`` matches it)."""
        if item is not None and (self.tags.star_tag or (item.get("type") == "file"
                                                        and self.tags.contains(item["sha256"]))):
            return
        raise AppError("The file changed since you read it (If-Match does not match its ETag); nothing was "
                       "written. Read it again and retry.", code=ErrorCode.PRECONDITION_FAILED)


def if_match() -> IfMatch | None:
    """The request's If-Match, or None when it has none."""
    return IfMatch(request.if_match) if "If-Match" in request.headers else None


def parse_datetime(raw: str, name: str, code: ErrorCode = ErrorCode.INVALID_INPUT) -> datetime:
    """An ISO 8601 date or date-time; naive values are UTC."""
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise InvalidInput(f"'{name}' must be an ISO 8601 date or time.", code=code) from None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _send_opened(download, blob: OpenedBlob):
    """send_file of the bytes the storage opened: a local file (opened without following
    links; Gunicorn sends it with sendfile) or a stream. Given a path, send_file would open
    it again and follow a link swapped in since; given a file object, it knows no size, so
    Content-Length, Range and 304 are set up here."""
    response = send_file(blob.file, mimetype=download.content_type, conditional=False, etag=download.sha256,
                         last_modified=as_utc(download.modified_at), max_age=None)
    response.content_length = blob.size
    if not isinstance(blob, LocalFile):
        # Werkzeug's wrapper, not the server's: it can seek, so a Range starts where it asks
        # (the server's reads, and drops, every byte before it: a whole object fetched for a tail).
        response.response = FileWrapper(blob.file, STREAM_BLOCK)
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


def send_attachment(download):
    """Stored bytes as an attachment, always through the app (WebDAV clients send credentials
    with every request and may not follow a redirect to a signed URL)."""
    return _send_stored(download, content_disposition(download.name), DOWNLOAD_CSP)


def send_download(download):
    """Stream stored bytes as an attachment (an owner's may be a signed redirect)."""
    return _send_stored(download, content_disposition(download.name), DOWNLOAD_CSP, allow_redirect=True)


ZIP_RESPONSES = {"200": {"description": "The archive, streamed as it is built.", "content": {
    "application/zip": {"schema": {"type": "string", "format": "binary"}}}}}


def send_zip(chunks: Iterator[bytes], name: str):
    """A ZIP as an attachment named ``name``, sent while it is built (never held whole)."""
    response = current_app.response_class(stream_with_context(chunks), mimetype="application/zip")
    response.headers["Content-Disposition"] = content_disposition(name)
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response


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
        raise UnsupportedPreview("This type cannot be previewed; download it instead.",
                                 code=ErrorCode.PREVIEW_UNAVAILABLE)
    # Werkzeug appends "; charset=utf-8" to text/* itself.
    return _send_stored(download, "inline", PREVIEW_CSP)


def send_thumbnail(thumbnail):
    """A drawn thumbnail, revalidated by its ETag (content hash and size): 304 on a matching
    ``If-None-Match`` before anything is drawn or read. ``no-cache``: the URL names the file, not
    its content, so a changed file must show its new thumbnail at the next look."""
    response = current_app.response_class(mimetype=thumbnail.mimetype)
    response.set_etag(thumbnail.etag)
    response.headers["Cache-Control"] = "private, no-cache"
    if not is_resource_modified(request.environ, etag=thumbnail.etag):
        response.status_code = 304
        return response
    response.set_data(thumbnail.data())
    return response
