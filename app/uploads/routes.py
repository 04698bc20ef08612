"""Resumable uploads: the tus 1.0 protocol at ``/api/tus/`` (core, creation,
creation-with-upload, termination, checksum, expiration) and the owner's list of unfinished
uploads. Authenticated like the rest of the API (session cookie, cross-site writes refused,
or a Bearer token: a read token may only look)."""
from __future__ import annotations

from flask import Blueprint, current_app
from flask_login import current_user

from ..contract import authenticated, document, response
from ..errors import (BAD_REQUEST, CHECKSUM_MISMATCH, FORBIDDEN, INSUFFICIENT_STORAGE, MEMBER_FORBIDDEN,
                      OFFSET_CONFLICT, RESUMABLE_UNAVAILABLE, TOO_LARGE, TUS_VERSION, UNSUPPORTED_MEDIA, UPLOAD_LOCKED,
                      UPLOAD_NOT_FOUND)
from ..audit.record import audit
from ..members.access import WRITE, access_to
from ..services import services
from . import protocol
from .service import drive_of, upload_not_found
from .schemas import APPENDED, CHUNK_BODY, CREATED, CREATION_HEADERS, PATCH_HEADERS, TUS_RESUMABLE, UploadListSchema

bp = Blueprint("uploads", __name__, url_prefix="/api")
bp.after_request(protocol.add_protocol_headers)
TAGS = ["files"]  # uploads, beside the multipart one
_WRITE_ERRORS = (BAD_REQUEST, MEMBER_FORBIDDEN, UPLOAD_NOT_FOUND, OFFSET_CONFLICT, TOO_LARGE, INSUFFICIENT_STORAGE,
                 TUS_VERSION, UNSUPPORTED_MEDIA, CHECKSUM_MISMATCH, UPLOAD_LOCKED)


@bp.route("/tus/", methods=["OPTIONS"])
def tus_options():
    """What this tus server supports (no login needed)."""
    answer = protocol.options()
    answer.headers["Tus-Max-Size"] = str(current_app.config["MAX_CONTENT_LENGTH"])
    return answer


@bp.route("/tus/", methods=["POST"], provide_automatic_options=False)
@authenticated
@response(None, 201, errors=(*_WRITE_ERRORS, RESUMABLE_UNAVAILABLE))
@document(tags=TAGS, parameters_raw=CREATION_HEADERS, request_body_raw={"required": False, **CHUNK_BODY},
          responses_raw=CREATED)
def create():
    """Start a resumable upload (tus creation, with or without a first chunk).

    `Upload-Length` is reserved against the quota now (507 when it does not fit, 413 above
    MAX_CONTENT_LENGTH) and given back if the upload is cancelled or expires. The name and
    folder are checked now; at the last byte the file is stored exactly as `POST /api/upload`
    would store it (`on_conflict` included).
    """
    protocol.require_version()
    new = protocol.new_upload()
    drive_id = access_to(new.folder_id, "folder", WRITE).owner_id  # a folder shared with the caller: its owner's
    upload = services().uploads.start(current_user.id, new, protocol.chunk_body(required=False), protocol.checksum(),
                                      drive_id=drive_id)
    return protocol.progress(upload, 201, created=True)


def _still_allowed(upload: dict) -> None:
    """An upload into a folder shared with the caller goes on only while the grant does (404
    ``folder_not_found`` once it ended: the bytes wait for a cancel or the expiry)."""
    if drive_of(upload) != current_user.id:
        access = access_to(upload["folder_id"], "folder", WRITE)
        if access.owner_id != drive_of(upload):
            raise upload_not_found()


@bp.route("/tus/<upload_id>", methods=["HEAD"])
@authenticated
def offset(upload_id: str):
    """Where the upload is: Upload-Offset and Upload-Length (423 while its file is being made)."""
    upload = services().uploads.position(current_user.id, upload_id)
    protocol.require_version()
    return protocol.progress(upload, 200)


@bp.route("/tus/<upload_id>", methods=["PATCH"])
@authenticated
@response(None, 204, errors=_WRITE_ERRORS)
@document(tags=TAGS, parameters_raw=PATCH_HEADERS, request_body_raw={"required": True, **CHUNK_BODY},
          responses_raw=APPENDED)
def append(upload_id: str):
    """Append a chunk at `Upload-Offset` (tus core).

    The chunk is on disk (fsynced) before the new offset is answered. 409 when the offset is
    not the upload's (ask with HEAD), 423 while another request writes to it, 460 when
    `Upload-Checksum` does not match (the offset does not move).
    """
    uploads = services().uploads
    _still_allowed(uploads.get(current_user.id, upload_id))
    protocol.require_version()
    upload = uploads.append(current_user.id, upload_id, protocol.upload_offset(), protocol.chunk_body(required=True),
                            protocol.checksum())
    if upload.get("file_id") is not None:  # this request finished it
        audit("file_uploaded", owner_id=drive_of(upload), target_id=upload["file_id"], size=upload["size"],
              resumable=True)
    return protocol.progress(upload)


@bp.route("/tus/<upload_id>", methods=["DELETE"])
@authenticated
@response(None, 204, errors=(FORBIDDEN, UPLOAD_NOT_FOUND, TUS_VERSION, UPLOAD_LOCKED))
@document(tags=TAGS, parameters_raw=[TUS_RESUMABLE])
def cancel(upload_id: str):
    """Cancel an upload (tus termination): its bytes and its quota reservation go."""
    uploads = services().uploads
    uploads.get(current_user.id, upload_id)
    protocol.require_version()
    uploads.terminate(current_user.id, upload_id)
    return None


@bp.get("/uploads")
@authenticated
@response(UploadListSchema, description="The caller's unfinished resumable uploads, oldest first.")
@document(tags=TAGS)
def list_uploads():
    """List my unfinished resumable uploads (to resume or cancel)."""
    return {"uploads": services().uploads.list_unfinished(current_user.id)}
