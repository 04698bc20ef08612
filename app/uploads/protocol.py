"""tus 1.0 on the wire: reading its request headers and writing its response headers.
https://tus.io/protocols/resumable-upload"""
from __future__ import annotations

import base64
import binascii
from email.utils import format_datetime

from flask import Response, request, url_for

from ..drive.service import modification_time
from ..errors import AppError, ErrorCode, InvalidInput
from ..timeutil import as_utc
from .service import CHECKSUM_ALGORITHMS, Checksum, NewUpload

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
CHUNK_TYPE = "application/offset+octet-stream"


def require_version() -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise AppError("Send Tus-Resumable: 1.0.0.", code=ErrorCode.UNSUPPORTED_TUS_VERSION)


def _count(name: str) -> int:
    raw = request.headers.get(name, "")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise InvalidInput(f"{name} must be a number of bytes.")
    return int(raw)


def upload_offset() -> int:
    return _count("Upload-Offset")


def parse_metadata(raw: str) -> dict[str, str]:
    """``key base64,key2 base64,flag`` → values (a key without a value is an empty string)."""
    values: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in raw.split(","))):
        key, _, encoded = pair.partition(" ")
        try:
            values[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidInput(f"Upload-Metadata: the value of {key!r} is not base64 of UTF-8 text.") from None
    return values


def new_upload() -> NewUpload:
    """The creation request's Upload-Length and Upload-Metadata."""
    if "Upload-Defer-Length" in request.headers:
        raise InvalidInput("Upload-Defer-Length is not supported: send Upload-Length.")
    size = _count("Upload-Length")
    meta = parse_metadata(request.headers.get("Upload-Metadata", ""))
    return NewUpload(size=size, name=meta.get("filename") or meta.get("name"), folder_id=meta.get("folder_id"),
                     on_conflict=meta.get("on_conflict"), content_type=meta.get("filetype") or meta.get("type"),
                     modified_at=modification_time(meta.get("lastModified"), "lastModified"),
                     relative_path=meta.get("relativePath"))


def checksum() -> Checksum | None:
    raw = request.headers.get("Upload-Checksum")
    if raw is None:
        return None
    algorithm, _, encoded = raw.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise InvalidInput(f"Upload-Checksum: use one of {', '.join(CHECKSUM_ALGORITHMS)}.")
    try:
        return Checksum(algorithm, base64.b64decode(encoded.strip(), validate=True))
    except (binascii.Error, ValueError):
        raise InvalidInput("Upload-Checksum: the digest is not base64.") from None


def chunk_body(required: bool):
    """The request's body stream for a chunk (its Content-Type checked: 415), or None when a
    creation request carries none. Its size is bounded by the upload's length (the service
    checks), not by the in-memory body limit."""
    if request.mimetype != CHUNK_TYPE:
        if required or request.content_length:
            raise AppError(f"Send the chunk with Content-Type: {CHUNK_TYPE}.", code=ErrorCode.UNSUPPORTED_MEDIA_TYPE)
        return None
    request.max_content_length = None
    return request.stream


def progress(upload: dict, status: int = 204, created: bool = False) -> Response:
    """An empty tus answer saying where the upload is."""
    response = Response(status=status)
    headers = response.headers
    headers["Upload-Offset"] = str(upload["received"])
    headers["Upload-Length"] = str(upload["size"])
    headers["Upload-Expires"] = format_datetime(as_utc(upload["expires_at"]), usegmt=True)
    headers["Cache-Control"] = "no-store"
    if upload.get("file_id") is not None:  # finished: the file it made (our extension of tus)
        headers["Upload-File-Id"] = str(upload["file_id"])
    if created:
        headers["Location"] = url_for("uploads.append", upload_id=str(upload["_id"]), _external=True)
    return response


def options() -> Response:
    response = Response(status=204)
    response.headers.update({"Tus-Version": TUS_VERSION, "Tus-Extension": EXTENSIONS,
                             "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS)})
    return response


def add_protocol_headers(response: Response) -> Response:
    """Every tus answer names the protocol; a refused version says which one we speak."""
    response.headers["Tus-Resumable"] = TUS_VERSION
    if response.status_code == 412:
        response.headers["Tus-Version"] = TUS_VERSION
    return response
