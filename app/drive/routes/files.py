"""File routes: upload, list, download, info, versions (rename/move/copy/delete/star are
shared with folders, see items.py)."""
from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user

from ...contract import arguments, authenticated, document, response
from ...errors import (CONFLICT, INSUFFICIENT_STORAGE, NOT_FOUND, PREVIEW_UNAVAILABLE, TOO_LARGE, ErrorCode,
                       InvalidInput)
from ...http import send_download, send_preview
from ...request import stage_uploads_into
from ...schemas import paged
from ...audit.record import audit
from ...services import services
from ..schemas import (UPLOAD_CONFLICT, FileListSchema, FilePageSchema, FilesQuery, ItemSchema, UploadQuery,
                       VersionListSchema)
from ..service import UploadPart, folder_names, modification_time
from .items import add_item_routes

bp = Blueprint("files", __name__, url_prefix="/api")

_BYTES = {"content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}
DOWNLOAD_RESPONSES = {
    "200": {"description": "The bytes, as an attachment, with the content type stored for the file.", **_BYTES},
    "206": {"description": "The requested byte range."},
    "304": {"description": "Not modified."},
}
RANGE_HEADER = {"name": "Range", "in": "header", "required": False, "schema": {"type": "string"},
                "description": "Optional, e.g. `bytes=0-1023`; leave empty for the whole file."}
UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                   "folder_id": {"type": "string", "default": "root"},
                   "on_conflict": {"type": "string", "enum": list(UPLOAD_CONFLICT)},
                   "relative_path": {"type": "string", "description": "folders below folder_id, made as needed"},
                   "last_modified": {"type": "array", "items": {"type": "string"}, "description": (
                       "The files' modification times (ms since the epoch or ISO 8601): one for "
                       "all parts, or one per part in order.")}}}}}}


@bp.post("/upload")
@authenticated
@arguments(UploadQuery, "query")
@response(FileListSchema, 201, "The stored files.", errors=(NOT_FOUND, CONFLICT, TOO_LARGE, INSUFFICIENT_STORAGE))
@document(request_body_raw=UPLOAD_BODY)
def upload(query: dict):
    """Upload one or more files, into a folder.

    Multipart form with one or more parts named `file`. Each part streams to disk while
    its SHA-256 is computed; the request is all or nothing. Display names keep Unicode;
    they may not contain `/`, `\\`, control characters, be only dots, or exceed 255 bytes.
    Content already stored by this user is not stored twice. `folder_id` and
    `on_conflict` may be query parameters or form fields: a file with the same name
    (ignoring case) in the folder is a 409 `name_conflict` with `fail` (the default),
    gets `name (1).ext` with `rename`, and becomes a new version of that file with `replace`.
    `last_modified` (query parameter or form fields; milliseconds since the epoch or ISO
    8601) is kept as the files' modification time (`modified_at`, the download's
    Last-Modified): one value for every part, or one per part in their order; without it
    a file's modification time is the time it was stored. `relative_path` (`Photos/2026`)
    puts the files in those folders below `folder_id`, made as needed (a folder upload).
    """
    if request.mimetype != "multipart/form-data":
        raise InvalidInput("Upload with Content-Type: multipart/form-data.", code=ErrorCode.INVALID_CONTENT_TYPE)
    drive = services().drive
    stage_uploads_into(drive.stager_for(current_user.id))
    if "file" not in request.files and "file" in request.form:
        raise InvalidInput("The 'file' field must be a file, not text.", code=ErrorCode.MISSING_FILE)
    files = request.files.getlist("file")
    times = _modification_times(query["last_modified"], request.form.getlist("last_modified"), len(files))
    parts = [UploadPart(f.filename, f.mimetype, f.stream, when) for f, when in zip(files, times)]
    folder_id = query["folder_id"] or request.form.get("folder_id")
    on_conflict = query["on_conflict"] or request.form.get("on_conflict")
    relative = query["relative_path"] or request.form.get("relative_path")
    if relative:  # checked whole before a folder is made; the folders stay if the upload fails
        folder_id = drive.folder_path(current_user.id, folder_id, folder_names(relative, "relative_path"))
    stored = drive.store_uploads(current_user.id, parts, folder_id, on_conflict)
    for file in stored:
        audit("file_uploaded", owner_id=current_user.id, target_id=file["_id"], size=file["size"])
    return {"files": stored}


def _modification_times(from_query: str | None, from_form: list[str], count: int) -> list:
    """One modification time per part (None: the time of storing) from ``last_modified``."""
    given = [from_query] if from_query is not None else from_form
    if len(given) > 1 and len(given) != count:
        raise InvalidInput(f"Send one last_modified for all {count} files or one per file "
                           f"({len(given)} given).", code=ErrorCode.INVALID_INPUT)
    times = [modification_time(value) for value in given]
    return times * count if len(times) == 1 else times or [None] * count


@bp.get("/files")
@authenticated
@arguments(FilesQuery, "query")
@response(FilePageSchema, description="One page of files.")
def list_files(query: dict):
    """List all the caller's files, in every folder (not those in the trash)."""
    items, total = services().drive.list_files(current_user.id, query["sort"], query["order"] == "desc",
                                               query["page"], query["limit"])
    return paged(items, total, query)


@bp.get("/files/<file_id>")
@authenticated
@document(errors=(NOT_FOUND,), parameters_raw=[RANGE_HEADER],
          responses_raw={**DOWNLOAD_RESPONSES, "416": {"description": "Range not satisfiable."}})
def download(file_id: str):
    """Download a file's bytes.

    Always an attachment, with the UTF-8 name in `filename*` and an ASCII fallback.
    Supports `Range` (206), `If-None-Match` / `If-Modified-Since` (304) and `If-Range`.
    """
    response = send_download(services().drive.open_download(current_user.id, file_id))
    audit("file_downloaded", owner_id=current_user.id, target_id=file_id, status=response.status_code)
    return response


@bp.get("/files/<file_id>/preview")
@authenticated
@document(errors=(NOT_FOUND, PREVIEW_UNAVAILABLE), responses_raw={
    "200": {"description": "The bytes, inline, with the file's content type.", "content": {
        "image/*": {"schema": {"type": "string", "format": "binary"}}, "text/plain": {"schema": {"type": "string"}},
        "audio/*": {"schema": {"type": "string", "format": "binary"}},
        "video/*": {"schema": {"type": "string", "format": "binary"}}}},
    "206": {"description": "The requested byte range (audio and video seek with Range)."},
    "304": {"description": "Not modified."}})
def preview(file_id: str):
    """Show a file inline, for the web app's preview: only types that cannot run script.

    Images (PNG, JPEG, GIF, WebP, AVIF, BMP), plain text (as `text/plain`), audio and
    video are served `inline` under a sandboxing Content-Security-Policy; every other type,
    SVG, HTML and PDF (browsers do not render PDF sandboxed) included, is 415
    `preview_unavailable`: download it instead.
    """
    return send_preview(services().drive.open_download(current_user.id, file_id))


@bp.get("/files/<file_id>/info")
@authenticated
@response(ItemSchema, description="The record.", errors=(NOT_FOUND,))
def file_info(file_id: str):
    """A file's record."""
    return services().drive.get(current_user.id, file_id, "file")


@bp.get("/files/<file_id>/versions")
@authenticated
@response(VersionListSchema, description="The versions.", errors=(NOT_FOUND,))
@document(tags=["versions"])
def list_versions(file_id: str):
    """Earlier contents of a file, newest first.

    Uploading with `on_conflict=replace` keeps the previous content as a version. At most
    `MAX_VERSIONS_PER_FILE` are kept; older ones are deleted.
    """
    return {"versions": services().versions.list(current_user.id, file_id)}


@bp.get("/files/<file_id>/versions/<version_id>")
@authenticated
@document(tags=["versions"], errors=(NOT_FOUND,), responses_raw=DOWNLOAD_RESPONSES)
def download_version(file_id: str, version_id: str):
    """Download an earlier version's bytes (same headers as a file download)."""
    return send_download(services().versions.open_version(current_user.id, file_id, version_id))


@bp.post("/files/<file_id>/versions/<version_id>/restore")
@authenticated
@response(ItemSchema, description="The file with its restored content.", errors=(NOT_FOUND,))
@document(tags=["versions"])
def restore_version(file_id: str, version_id: str):
    """Make a version the current content; the current content becomes a version."""
    return services().versions.restore(current_user.id, file_id, version_id)


@bp.delete("/files/<file_id>/versions/<version_id>")
@authenticated
@response(None, 204, "Deleted.", errors=(NOT_FOUND,))
@document(tags=["versions"])
def delete_version(file_id: str, version_id: str):
    """Delete a version; its bytes go when nothing else uses them."""
    services().versions.delete(current_user.id, file_id, version_id)


add_item_routes(bp, "file", "/files")
