"""The "ZONE | Cloud" contract (seed 000): ``/upload``, ``/download/<name>``, ``/list``,
``/delete/<name>``, ``/status``, authenticated by ``key`` = one of the user's API tokens.

The key travels in the form or the query string because that contract's clients send it
there; it is never logged (the access log records paths without query strings). Files are
addressed by name in the user's root folder.
"""
from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify, request

from ..auth.models import User
from ..contract import NO_SECURITY, document, response
from ..drive.routes.files import DOWNLOAD_RESPONSES
from ..errors import (BAD_API_KEY, BAD_REQUEST, CONFLICT, FORBIDDEN, INSUFFICIENT_STORAGE, NOT_FOUND, TOO_LARGE,
                      ErrorCode, Forbidden, InvalidInput, Unauthorized)
from ..drive.service import UploadPart
from ..http import send_download
from ..request import stage_uploads_into
from ..security import bearer_secret, cross_site_allowed
from ..services import services
from .schemas import CompatDeletedSchema, CompatStatusSchema, CompatUploadedSchema

bp = Blueprint("compat", __name__)
LIST_LIMIT = 10_000
KEY_QUERY = {"name": "key", "in": "query", "required": True, "schema": {"type": "string"}}
UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["key", "file"],
    "properties": {"key": {"type": "string"}, "file": {"type": "string", "format": "binary"}}}}}}


def _key_outside_body() -> str:
    """A key sent in the query string or as a Bearer header (readable before the body)."""
    return request.args.get("key") or bearer_secret() or ""


def _key_user(write: bool) -> User:
    """The user whose API token is the ``key`` (query, Bearer header, or form field)."""
    key = _key_outside_body() or request.form.get("key")
    user = services().tokens.authenticate(key) if key else None
    if user is None:
        raise Unauthorized("Send a valid API key as 'key' (create one with POST /api/tokens).", code=ErrorCode.INVALID_API_KEY)
    if write and user.scope != "read-write":
        raise Forbidden("This key can only read.", code=ErrorCode.INSUFFICIENT_SCOPE)
    return user


@bp.post("/upload")
@cross_site_allowed
@response(CompatUploadedSchema, description="Stored.", errors=(BAD_REQUEST, BAD_API_KEY, FORBIDDEN, CONFLICT, TOO_LARGE,
                                                            INSUFFICIENT_STORAGE))
@document(security=NO_SECURITY, request_body_raw=UPLOAD_BODY)
def upload():
    """Upload a file to the root folder by API key (seed-compatible).

    Form fields `key` (an API token with `read-write` scope) and `file`. A file with the
    same name is replaced and its previous content kept as a version.
    """
    if request.mimetype != "multipart/form-data":
        raise InvalidInput("Upload with Content-Type: multipart/form-data.", code=ErrorCode.INVALID_CONTENT_TYPE)
    drive = services().drive
    if _key_outside_body():
        # Known before the body: refuse a bad key unread, stream into the user's folder under quota.
        user = _key_user(write=True)
        stage_uploads_into(drive.stager_for(user.id))
        files = request.files.getlist("file")
    else:
        # The seed's clients put the key in the form, so the owner is known only after the
        # body: it is staged in uploads/.incoming (bounded by MAX_CONTENT_LENGTH) and
        # discarded unless the key is good.
        stage_uploads_into(drive.anonymous_stager())
        files = request.files.getlist("file")
        user = _key_user(write=True)
    if len(files) > 1:
        raise InvalidInput("Send one file per request.", code=ErrorCode.TOO_MANY_FILES)
    parts = [UploadPart(f.filename, f.mimetype, f.stream) for f in files]
    [stored] = drive.store_uploads(user.id, parts, None, "replace")
    return stored


@bp.get("/download/<filename>")
@document(security=NO_SECURITY, errors=(BAD_API_KEY, NOT_FOUND), parameters_raw=[KEY_QUERY],
          responses_raw={"200": DOWNLOAD_RESPONSES["200"]})
def download(filename: str):
    """Download a file of the root folder by name and API key (seed-compatible)."""
    user = _key_user(write=False)
    drive = services().drive
    return send_download(drive.download(drive.file_named(user.id, None, filename)))


@bp.get("/list")
@document(security=NO_SECURITY, errors=(BAD_API_KEY,), parameters_raw=[KEY_QUERY], responses_raw={"200": {
    "description": "File names, by name.",
    "content": {"application/json": {"schema": {"type": "array", "items": {"type": "string"}}}}}})
def list_names():
    """The names of the files in the root folder (seed-compatible)."""
    user = _key_user(write=False)
    return jsonify(services().drive.file_names(user.id, None, LIST_LIMIT))


@bp.delete("/delete/<filename>")
@cross_site_allowed
@response(CompatDeletedSchema, description="Deleted (moved to the trash, restorable for TRASH_RETENTION_DAYS).",
          errors=(BAD_API_KEY, FORBIDDEN, NOT_FOUND))
@document(security=NO_SECURITY, parameters_raw=[KEY_QUERY])
def delete(filename: str):
    """Delete a file of the root folder by name (to the trash; seed-compatible)."""
    user = _key_user(write=True)
    file = services().drive.file_named(user.id, None, filename)
    services().trash.trash(user.id, str(file["_id"]), "file")
    return file


@bp.get("/status")
@response(CompatStatusSchema, description="Up.")
@document(security=NO_SECURITY)
def status():
    """Liveness for seed clients (no key): `{status, uptime}`; see /api/status for details."""
    return {"uptime": round(time.monotonic() - current_app.config["STARTED_AT"], 3)}
