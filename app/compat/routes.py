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
from ..errors import Forbidden, InvalidInput, Unauthorized
from ..drive.service import UploadPart
from ..drive.versions import revision_of
from ..http import send_download
from ..request import stage_uploads_into
from ..security import bearer_secret, cross_site_allowed
from ..services import services

bp = Blueprint("compat", __name__)
LIST_LIMIT = 10_000


def _key_outside_body() -> str:
    """A key sent in the query string or as a Bearer header (readable before the body)."""
    return request.args.get("key") or bearer_secret() or ""


def _key_user(write: bool) -> User:
    """The user whose API token is the ``key`` (query, Bearer header, or form field)."""
    key = _key_outside_body() or request.form.get("key")
    user = services().tokens.authenticate(key) if key else None
    if user is None:
        raise Unauthorized("Send a valid API key as 'key' (create one with POST /api/tokens).", code="invalid_api_key")
    if write and user.scope != "read-write":
        raise Forbidden("This key can only read.", code="insufficient_scope")
    return user


@bp.post("/upload")
@cross_site_allowed
def upload():
    """Upload a file to the root folder by API key (seed-compatible).
    ---
    tags: [compatibility]
    security: []
    description: >
      Form fields `key` (an API token with `read-write` scope) and `file`. A file with the
      same name is replaced and its previous content kept as a version.
    requestBody:
      required: true
      content:
        multipart/form-data:
          schema:
            type: object
            required: [key, file]
            properties:
              key: {type: string}
              file: {type: string, format: binary}
    responses:
      200:
        description: Stored.
        content:
          application/json:
            schema:
              type: object
              required: [filename, id, size, sha256]
              properties:
                filename: {type: string}
                id: {type: string}
                size: {type: integer}
                sha256: {type: string}
                revision: {type: integer, description: "the file's commit number: 1 for its first content, +1 for each replace"}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/BadApiKey'}
      403: {$ref: '#/components/responses/Forbidden'}
      409: {$ref: '#/components/responses/Conflict'}
      413: {$ref: '#/components/responses/TooLarge'}
      507: {$ref: '#/components/responses/InsufficientStorage'}
    """
    if request.mimetype != "multipart/form-data":
        raise InvalidInput("Upload with Content-Type: multipart/form-data.", code="invalid_content_type")
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
        raise InvalidInput("Send one file per request.", code="too_many_files")
    parts = [UploadPart(f.filename, f.mimetype, f.stream) for f in files]
    [stored] = drive.store_uploads(user.id, parts, None, "replace")
    return jsonify(filename=stored["name"], id=str(stored["_id"]), size=stored["size"], sha256=stored["sha256"],
                   revision=revision_of(stored))


@bp.get("/download/<filename>")
def download(filename: str):
    """Download a file of the root folder by name and API key (seed-compatible).
    ---
    tags: [compatibility]
    security: []
    parameters:
      - {name: filename, in: path, required: true, schema: {type: string}}
      - {name: key, in: query, required: true, schema: {type: string}}
    responses:
      200:
        description: The bytes, as an attachment, with the content type stored for the file.
        content: {'*/*': {schema: {type: string, format: binary}}}
      401: {$ref: '#/components/responses/BadApiKey'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    user = _key_user(write=False)
    drive = services().drive
    return send_download(drive.download(drive.file_named(user.id, None, filename)))


@bp.get("/list")
def list_names():
    """The names of the files in the root folder (seed-compatible).
    ---
    tags: [compatibility]
    security: []
    parameters:
      - {name: key, in: query, required: true, schema: {type: string}}
    responses:
      200:
        description: File names, by name.
        content: {application/json: {schema: {type: array, items: {type: string}}}}
      401: {$ref: '#/components/responses/BadApiKey'}
    """
    user = _key_user(write=False)
    return jsonify(services().drive.file_names(user.id, None, LIST_LIMIT))


@bp.delete("/delete/<filename>")
@cross_site_allowed
def delete(filename: str):
    """Delete a file of the root folder by name (to the trash; seed-compatible).
    ---
    tags: [compatibility]
    security: []
    parameters:
      - {name: filename, in: path, required: true, schema: {type: string}}
      - {name: key, in: query, required: true, schema: {type: string}}
    responses:
      200:
        description: Deleted (moved to the trash, restorable for TRASH_RETENTION_DAYS).
        content:
          application/json:
            schema:
              type: object
              required: [status, file]
              properties: {status: {type: string, enum: [deleted]}, file: {type: string}}
      401: {$ref: '#/components/responses/BadApiKey'}
      403: {$ref: '#/components/responses/Forbidden'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    user = _key_user(write=True)
    file = services().drive.file_named(user.id, None, filename)
    services().trash.trash(user.id, str(file["_id"]), "file")
    return jsonify(status="deleted", file=file["name"])


@bp.get("/status")
def status():
    """Liveness for seed clients (no key): `{status, uptime}`; see /api/status for details.
    ---
    tags: [compatibility]
    security: []
    responses:
      200:
        description: Up.
        content:
          application/json:
            schema:
              type: object
              required: [status, uptime]
              properties: {status: {type: string}, uptime: {type: number}}
    """
    return jsonify(status="ok", uptime=round(time.monotonic() - current_app.config["STARTED_AT"], 3))
