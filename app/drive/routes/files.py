"""File routes: upload, list, download, info, versions (rename/move/copy/delete/star are
shared with folders, see items.py)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user, login_required

from ..repo import SORT_FIELDS
from ..service import UploadPart
from ..views import public_item, public_version
from ...errors import InvalidInput
from ...http import page_params, page_response, query_choice, send_download, send_preview
from .items import add_item_routes
from ...request import stage_uploads_into
from ...services import services

bp = Blueprint("files", __name__, url_prefix="/api")


@bp.post("/upload")
@login_required
def upload():
    """Upload one or more files, into a folder.
    ---
    tags: [files]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    description: >
      Multipart form with one or more parts named `file`. Each part streams to disk while
      its SHA-256 is computed; the request is all or nothing. Display names keep Unicode;
      they may not contain `/`, `\\`, control characters, be only dots, or exceed 255 bytes.
      Content already stored by this user is not stored twice. `folder_id` and
      `on_conflict` may be query parameters or form fields: a file with the same name
      (ignoring case) in the folder is a 409 `name_conflict` with `fail` (the default),
      gets `name (1).ext` with `rename`, and becomes a new version of that file with `replace`.
    parameters:
      - {name: folder_id, in: query, schema: {type: string, default: root}}
      - {name: on_conflict, in: query, schema: {type: string, enum: [fail, rename, replace], default: fail}}
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
              folder_id: {type: string, default: root}
              on_conflict: {type: string, enum: [fail, rename, replace]}
    responses:
      201:
        description: The stored files.
        content:
          application/json:
            schema:
              type: object
              required: [files]
              properties:
                files: {type: array, items: {$ref: '#/components/schemas/Item'}}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
      409: {$ref: '#/components/responses/Conflict'}
      413: {$ref: '#/components/responses/TooLarge'}
      507: {$ref: '#/components/responses/InsufficientStorage'}
    """
    if request.mimetype != "multipart/form-data":
        raise InvalidInput("Upload with Content-Type: multipart/form-data.", code="invalid_content_type")
    drive = services().drive
    stage_uploads_into(drive.stager_for(current_user.id))
    if "file" not in request.files and "file" in request.form:
        raise InvalidInput("The 'file' field must be a file, not text.", code="missing_file")
    parts = [UploadPart(f.filename, f.mimetype, f.stream) for f in request.files.getlist("file")]
    option = lambda name: request.args.get(name) or request.form.get(name)  # noqa: E731
    stored = drive.store_uploads(current_user.id, parts, option("folder_id"), option("on_conflict"))
    return jsonify(files=[public_item(item) for item in stored]), 201


@bp.get("/files")
@login_required
def list_files():
    """List all the caller's files, in every folder (not those in the trash).
    ---
    tags: [files]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    parameters:
      - $ref: '#/components/parameters/Limit'
      - $ref: '#/components/parameters/Page'
      - $ref: '#/components/parameters/Sort'
      - $ref: '#/components/parameters/Order'
    responses:
      200:
        description: One page of files.
        content: {application/json: {schema: {$ref: '#/components/schemas/FilePage'}}}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/Unauthorized'}
    """
    page, limit = page_params()
    sort = query_choice("sort", "created_at", tuple(SORT_FIELDS))
    descending = query_choice("order", "desc", ("asc", "desc")) == "desc"
    items, total = services().drive.list_files(current_user.id, sort, descending, page, limit)
    return page_response("files", [public_item(i) for i in items], total, page, limit)


@bp.get("/files/<file_id>")
@login_required
def download(file_id: str):
    """Download a file's bytes.
    ---
    tags: [files]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    description: >
      Always an attachment, with the UTF-8 name in `filename*` and an ASCII fallback.
      Supports `Range` (206), `If-None-Match` / `If-Modified-Since` (304) and `If-Range`.
    parameters:
      - $ref: '#/components/parameters/FileId'
      - {name: Range, in: header, required: false, schema: {type: string},
         description: 'Optional, e.g. `bytes=0-1023`; leave empty for the whole file.'}
    responses:
      200:
        description: The bytes, with the content type stored for the file.
        content: {'*/*': {schema: {type: string, format: binary}}}
      206: {description: The requested byte range.}
      304: {description: Not modified.}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
      416: {description: Range not satisfiable.}
    """
    return send_download(services().drive.open_download(current_user.id, file_id))


@bp.get("/files/<file_id>/preview")
@login_required
def preview(file_id: str):
    """Show a file inline, for the web app's preview: only types that cannot run script.
    ---
    tags: [files]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    description: >
      Images (PNG, JPEG, GIF, WebP, AVIF, BMP), plain text (as `text/plain`), audio and
      video are served `inline` under a sandboxing Content-Security-Policy; every other type,
      SVG, HTML and PDF (browsers do not render PDF sandboxed) included, is 415
      `preview_unavailable`: download it instead.
    parameters:
      - $ref: '#/components/parameters/FileId'
    responses:
      200:
        description: The bytes, inline, with the file's content type.
        content:
          image/*: {schema: {type: string, format: binary}}
          text/plain: {schema: {type: string}}
          audio/*: {schema: {type: string, format: binary}}
          video/*: {schema: {type: string, format: binary}}
      206: {description: The requested byte range (audio and video seek with Range).}
      304: {description: Not modified.}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
      415: {$ref: '#/components/responses/PreviewUnavailable'}
    """
    return send_preview(services().drive.open_download(current_user.id, file_id))


@bp.get("/files/<file_id>/info")
@login_required
def file_info(file_id: str):
    """A file's record.
    ---
    tags: [files]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    parameters:
      - $ref: '#/components/parameters/FileId'
    responses:
      200:
        description: The record.
        content: {application/json: {schema: {$ref: '#/components/schemas/Item'}}}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    return jsonify(public_item(services().drive.get(current_user.id, file_id, "file")))


@bp.get("/files/<file_id>/versions")
@login_required
def list_versions(file_id: str):
    """Earlier contents of a file, newest first.
    ---
    tags: [versions]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    description: >
      Uploading with `on_conflict=replace` keeps the previous content as a version. At most
      `MAX_VERSIONS_PER_FILE` are kept; older ones are deleted.
    parameters:
      - $ref: '#/components/parameters/FileId'
    responses:
      200:
        description: The versions.
        content:
          application/json:
            schema:
              type: object
              required: [versions]
              properties:
                versions: {type: array, items: {$ref: '#/components/schemas/Version'}}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    versions = services().versions.list(current_user.id, file_id)
    return jsonify(versions=[public_version(v) for v in versions])


@bp.get("/files/<file_id>/versions/<version_id>")
@login_required
def download_version(file_id: str, version_id: str):
    """Download an earlier version's bytes (same headers as a file download).
    ---
    tags: [versions]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    parameters:
      - $ref: '#/components/parameters/FileId'
      - $ref: '#/components/parameters/VersionId'
    responses:
      200:
        description: The bytes, with the content type stored for the version.
        content: {'*/*': {schema: {type: string, format: binary}}}
      206: {description: The requested byte range.}
      304: {description: Not modified.}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    return send_download(services().versions.open_version(current_user.id, file_id, version_id))


@bp.post("/files/<file_id>/versions/<version_id>/restore")
@login_required
def restore_version(file_id: str, version_id: str):
    """Make a version the current content; the current content becomes a version.
    ---
    tags: [versions]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    parameters:
      - $ref: '#/components/parameters/FileId'
      - $ref: '#/components/parameters/VersionId'
    responses:
      200:
        description: The file with its restored content.
        content: {application/json: {schema: {$ref: '#/components/schemas/Item'}}}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    return jsonify(public_item(services().versions.restore(current_user.id, file_id, version_id)))


@bp.delete("/files/<file_id>/versions/<version_id>")
@login_required
def delete_version(file_id: str, version_id: str):
    """Delete a version; its bytes go when nothing else uses them.
    ---
    tags: [versions]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    parameters:
      - $ref: '#/components/parameters/FileId'
      - $ref: '#/components/parameters/VersionId'
    responses:
      204: {description: Deleted.}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    services().versions.delete(current_user.id, file_id, version_id)
    return "", 204


add_item_routes(bp, "file", "/files")
