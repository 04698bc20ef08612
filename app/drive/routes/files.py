"""File routes: upload, list, download, info, versions (rename/move/copy/delete/star are
shared with folders, see items.py)."""
from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user

from ...contract import arguments, authenticated, document, response
from ...errors import (CONFLICT, IF_MATCH_FAILED, INSUFFICIENT_STORAGE, MEMBER_FORBIDDEN, NOT_FOUND,
                       PREVIEW_UNAVAILABLE, THUMBNAIL_UNAVAILABLE, TOO_LARGE, ErrorCode, InvalidInput)
from ...http import if_match, send_download, send_preview, send_thumbnail
from ...members.access import WRITE, access_to, owner_only
from ...request import stage_uploads_into
from ...schemas import paged
from ...audit.record import audit
from ...services import services
from ...thumbnails.schemas import ThumbnailQuery
from ..schemas import (UPLOAD_CONFLICT, FileListSchema, FilePageSchema, FilesQuery, ItemSchema, UploadQuery,
                       VersionListSchema)
from ..service import UploadPart, folder_names, modification_time
from .items import IF_MATCH_HEADER, add_item_routes

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
@response(FileListSchema, 201, "The stored files.", errors=(NOT_FOUND, CONFLICT, TOO_LARGE, INSUFFICIENT_STORAGE,
                                                            MEMBER_FORBIDDEN, IF_MATCH_FAILED))
@document(request_body_raw=UPLOAD_BODY, parameters_raw=[IF_MATCH_HEADER])
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
    With `on_conflict=replace`, `If-Match` (the file's ETag: its `sha256`, quoted) replaces
    the file only if nobody changed it since (else 412, nothing stored). A folder shared with
    you as an editor takes uploads too (give its `folder_id` in the query): they count
    against its owner's quota.
    """
    if request.mimetype != "multipart/form-data":
        raise InvalidInput("Upload with Content-Type: multipart/form-data.", code=ErrorCode.INVALID_CONTENT_TYPE)
    drive = services().drive
    owner_id = access_to(query["folder_id"], "folder", WRITE).owner_id  # the drive that pays for the bytes
    stage_uploads_into(drive.stager_for(owner_id))
    if "file" not in request.files and "file" in request.form:
        raise InvalidInput("The 'file' field must be a file, not text.", code=ErrorCode.MISSING_FILE)
    files = request.files.getlist("file")
    times = _modification_times(query["last_modified"], request.form.getlist("last_modified"), len(files))
    parts = [UploadPart(f.filename, f.mimetype, f.stream, when) for f, when in zip(files, times)]
    folder_id = query["folder_id"] or request.form.get("folder_id")
    if not query["folder_id"] and folder_id:  # named in the form, after the bytes: its drive now
        owner_id = access_to(folder_id, "folder", WRITE).owner_id
    on_conflict = query["on_conflict"] or request.form.get("on_conflict")
    relative = query["relative_path"] or request.form.get("relative_path")
    if relative:  # checked whole before a folder is made; the folders stay if the upload fails
        folder_id = drive.folder_path(owner_id, folder_id, folder_names(relative, "relative_path"))
    precondition = if_match()
    stored = drive.store_uploads(owner_id, parts, folder_id, on_conflict,
                                 check=precondition.check if precondition else None)
    for file in stored:
        audit("file_uploaded", owner_id=owner_id, target_id=file["_id"], size=file["size"])
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
    access = access_to(file_id, "file")
    response = send_download(services().drive.download(access.item, redirect_allowed=True))
    audit("file_downloaded", owner_id=access.owner_id, target_id=file_id, status=response.status_code)
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
    return send_preview(services().drive.download(access_to(file_id, "file").item, redirect_allowed=True))


@bp.get("/files/<file_id>/thumbnail")
@authenticated
@arguments(ThumbnailQuery, "query")
@document(errors=(NOT_FOUND, THUMBNAIL_UNAVAILABLE), responses_raw={
    "200": {"description": "The thumbnail, WebP, within size×size with the aspect kept; its ETag names the "
                           "content and size.", "content": {"image/webp": {"schema": {"type": "string",
                                                                                      "format": "binary"}}}},
    "304": {"description": "Not modified (If-None-Match): nothing is drawn."}})
def thumbnail(query: dict, file_id: str):
    """A small picture of a file for the web app's grid and list views, drawn on the server.

    Images (JPEG, PNG, GIF, WebP, BMP, TIFF, AVIF; turned as their EXIF says), a PDF's first
    page and a frame of a video (at a tenth of its length). `size` is one of 64, 128, 256
    (default) or 512. Every other type, and a file that cannot be read or is over
    `THUMBNAIL_MAX_PIXELS` or `THUMBNAIL_MAX_SOURCE_BYTES`, is 415 `thumbnail_unavailable`:
    show the type's icon. Cached on the server by content; `Cache-Control: private, no-cache`
    with an ETag, so revalidating is a 304 that draws nothing.
    """
    download = services().drive.download(access_to(file_id, "file").item)
    return send_thumbnail(services().thumbnails.thumbnail(download, query["size"]))


@bp.get("/files/<file_id>/info")
@authenticated
@response(ItemSchema, description="The record.", errors=(NOT_FOUND,))
def file_info(file_id: str):
    """A file's record."""
    return access_to(file_id, "file").item


@bp.get("/files/<file_id>/versions")
@authenticated
@response(VersionListSchema, description="The versions.", errors=(NOT_FOUND,))
@document(tags=["versions"])
def list_versions(file_id: str):
    """Earlier contents of a file, newest first.

    Uploading with `on_conflict=replace` keeps the previous content as a version. At most
    `MAX_VERSIONS_PER_FILE` are kept; older ones are deleted.
    """
    return {"versions": services().versions.list(access_to(file_id, "file").owner_id, file_id)}


@bp.get("/files/<file_id>/versions/<version_id>")
@authenticated
@document(tags=["versions"], errors=(NOT_FOUND,), responses_raw=DOWNLOAD_RESPONSES)
def download_version(file_id: str, version_id: str):
    """Download an earlier version's bytes (same headers as a file download)."""
    return send_download(services().versions.open_version(access_to(file_id, "file").owner_id, file_id, version_id))


@bp.post("/files/<file_id>/versions/<version_id>/restore")
@authenticated
@response(ItemSchema, description="The file with its restored content.", errors=(NOT_FOUND, MEMBER_FORBIDDEN,
                                                                                IF_MATCH_FAILED))
@document(tags=["versions"], parameters_raw=[IF_MATCH_HEADER])
def restore_version(file_id: str, version_id: str):
    """Make a version the current content; the current content becomes a version.

    `If-Match` (the file's ETag) restores only if nobody changed the file since (else 412).
    """
    access = access_to(file_id, "file", WRITE)
    precondition = if_match()
    restored = services().versions.restore(access.owner_id, file_id, version_id,
                                           check=precondition.check if precondition else None)
    if not access.is_owner:
        audit("member_restored_version", owner_id=access.owner_id, target_id=file_id)
    return restored


@bp.delete("/files/<file_id>/versions/<version_id>")
@authenticated
@response(None, 204, "Deleted.", errors=(NOT_FOUND, MEMBER_FORBIDDEN))
@document(tags=["versions"])
def delete_version(file_id: str, version_id: str):
    """Delete a version; its bytes go when nothing else uses them (the owner's to do)."""
    if not access_to(file_id, "file", WRITE).is_owner:
        raise owner_only("delete versions")
    services().versions.delete(current_user.id, file_id, version_id)


add_item_routes(bp, "file", "/files")
