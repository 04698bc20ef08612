"""File routes: upload, list, download, info, delete."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, send_file
from flask_login import current_user, login_required

from ..errors import InvalidInput
from ..http import page_size, query_choice, query_int
from ..request import stage_uploads_into
from ..services import services
from ..timeutil import as_utc
from .names import content_disposition
from .repo import SORT_FIELDS
from .service import UploadPart, public_file

# User bytes must never run as script in our origin, even if a browser ignores the attachment.
DOWNLOAD_CSP = "default-src 'none'; sandbox"

bp = Blueprint("files", __name__, url_prefix="/api")


@bp.post("/upload")
@login_required
def upload():
    """Upload one or more files.
    ---
    tags: [files]
    security: [{cookieAuth: []}]
    description: >
      Multipart form with one or more parts named `file`. Each part streams to disk while
      its SHA-256 is computed; the request is all or nothing. Display names keep Unicode;
      they may not contain `/`, `\\`, control characters, be only dots, or exceed 255 bytes.
    requestBody:
      required: true
      content:
        multipart/form-data:
          schema:
            type: object
            required: [file]
            properties:
              file:
                type: array
                items: {type: string, format: binary}
    responses:
      201:
        description: The stored files.
        content:
          application/json:
            schema:
              type: object
              properties:
                files: {type: array, items: {$ref: '#/components/schemas/File'}}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/Unauthorized'}
      413: {$ref: '#/components/responses/TooLarge'}
      507: {$ref: '#/components/responses/InsufficientStorage'}
    """
    if request.mimetype != "multipart/form-data":
        raise InvalidInput("Upload with Content-Type: multipart/form-data.", code="invalid_content_type")
    files = services().files
    stage_uploads_into(files.stager_for(current_user.id))
    if "file" not in request.files and "file" in request.form:
        raise InvalidInput("The 'file' field must be a file, not text.", code="missing_file")
    parts = [UploadPart(f.filename, f.mimetype, f.stream) for f in request.files.getlist("file")]
    stored = files.store_uploads(current_user.id, parts)
    return jsonify(files=[public_file(r) for r in stored]), 201


@bp.get("/files")
@login_required
def list_files():
    """List the caller's files.
    ---
    tags: [files]
    security: [{cookieAuth: []}]
    parameters:
      - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 200, default: 50}}
      - {name: page, in: query, schema: {type: integer, minimum: 1, default: 1}}
      - {name: sort, in: query, schema: {type: string, enum: [name, created_at, size], default: created_at}}
      - {name: order, in: query, schema: {type: string, enum: [asc, desc], default: desc}}
    responses:
      200:
        description: One page of files.
        content: {application/json: {schema: {$ref: '#/components/schemas/FilePage'}}}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/Unauthorized'}
    """
    limit = page_size()
    page = query_int("page", 1, 1, 1_000_000)
    sort = query_choice("sort", "created_at", tuple(SORT_FIELDS))
    descending = query_choice("order", "desc", ("asc", "desc")) == "desc"
    items, total = services().files.list_files(current_user.id, sort, descending, page, limit)
    return jsonify(files=[public_file(r) for r in items], page=page, limit=limit, total=total,
                   pages=(total + limit - 1) // limit)


@bp.get("/files/<file_id>")
@login_required
def download(file_id: str):
    """Download a file's bytes.
    ---
    tags: [files]
    security: [{cookieAuth: []}]
    description: >
      Always an attachment, with the UTF-8 name in `filename*` and an ASCII fallback.
      Supports `Range` (206), `If-None-Match` / `If-Modified-Since` (304) and `If-Range`.
    parameters:
      - {name: file_id, in: path, required: true, schema: {type: string}}
      - {name: Range, in: header, required: false, schema: {type: string}, example: bytes=0-1023}
    responses:
      200:
        description: The bytes.
        content: {application/octet-stream: {schema: {type: string, format: binary}}}
      206: {description: The requested byte range.}
      304: {description: Not modified.}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
      416: {description: Range not satisfiable.}
    """
    found = services().files.open_download(current_user.id, file_id)
    record = found.record
    response = send_file(found.path, mimetype=record["content_type"], conditional=True,
                         etag=record["sha256"], last_modified=as_utc(record["created_at"]), max_age=None)
    response.headers["Content-Disposition"] = content_disposition(record["name"])
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/files/<file_id>/info")
@login_required
def file_info(file_id: str):
    """A file's record.
    ---
    tags: [files]
    security: [{cookieAuth: []}]
    parameters:
      - {name: file_id, in: path, required: true, schema: {type: string}}
    responses:
      200:
        description: The record.
        content: {application/json: {schema: {$ref: '#/components/schemas/File'}}}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    return jsonify(public_file(services().files.get_file(current_user.id, file_id)))


@bp.delete("/files/<file_id>")
@login_required
def delete_file(file_id: str):
    """Delete a file for good: its record, then its bytes.
    ---
    tags: [files]
    security: [{cookieAuth: []}]
    parameters:
      - {name: file_id, in: path, required: true, schema: {type: string}}
    responses:
      204: {description: Deleted.}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    services().files.delete_file(current_user.id, file_id)
    return "", 204
