"""The uploads' API contract: the owner's unfinished resumable uploads, and the tus headers
the protocol's routes take and answer (documented raw: tus speaks in headers, not bodies)."""
from __future__ import annotations

from marshmallow import fields

from ..contract import ApiSchema, Id, Timestamp


class UploadSchema(ApiSchema):
    id = Id(attribute="_id", required=True)
    name = fields.String(required=True)
    folder_id = fields.String(allow_none=True, metadata={"description": "a folder id, or null for the root"})
    relative_path = fields.String(allow_none=True, metadata={
        "description": "the folders below folder_id the file goes into (made when it finishes), from relativePath"})
    size = fields.Integer(required=True, metadata={"description": "Upload-Length: the whole file's bytes"})
    offset = fields.Integer(attribute="received", required=True, metadata={"description": "bytes received"})
    state = fields.String(required=True, metadata={"enum": ["active", "completing"]})
    created_at = Timestamp(required=True)
    expires_at = Timestamp(required=True, metadata={"description": "swept then unless more bytes arrive"})


class UploadListSchema(ApiSchema):
    uploads = fields.List(fields.Nested(UploadSchema), required=True)


def _header(name: str, description: str, schema: dict, required: bool = False) -> dict:
    return {"name": name, "in": "header", "required": required, "schema": schema, "description": description}


TUS_RESUMABLE = _header("Tus-Resumable", "The protocol version: `1.0.0`.", {"type": "string", "enum": ["1.0.0"]},
                        required=True)
UPLOAD_OFFSET = _header("Upload-Offset", "Where this chunk starts: the offset HEAD reported.",
                        {"type": "integer", "minimum": 0}, required=True)
UPLOAD_CHECKSUM = _header("Upload-Checksum", "`sha256 <base64 digest>` of this chunk (also `sha1`, `md5`); a "
                          "mismatch is a 460 and nothing of the chunk is kept.", {"type": "string"})
CREATION_HEADERS = [
    TUS_RESUMABLE,
    _header("Upload-Length", "The whole file's size in bytes (reserved against the quota now).",
            {"type": "integer", "minimum": 0}, required=True),
    _header("Upload-Metadata", "Comma-separated `key base64(value)`: `filename` (or `name`), `folder_id`, "
            "`relativePath` (`Photos/2026/a.jpg`: the folders below `folder_id` are made as needed when the upload "
            "finishes), `on_conflict` (`fail`, `rename`, `replace`), `filetype` (or `type`), `lastModified` (ms "
            "since the epoch).", {"type": "string"}),
    UPLOAD_CHECKSUM,
]
PATCH_HEADERS = [TUS_RESUMABLE, UPLOAD_OFFSET, UPLOAD_CHECKSUM]
CHUNK_BODY = {"content": {"application/offset+octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
_PROGRESS = {"Upload-Offset": {"schema": {"type": "integer"}, "description": "bytes received so far"},
             "Upload-File-Id": {"schema": {"type": "string"}, "description": "once finished: the id of the file it made"},
             "Upload-Expires": {"schema": {"type": "string"}, "description": "when an idle upload is swept"}}
CREATED = {"201": {"description": "Created: `Location` is the upload's URL (`Upload-Offset` when the request had "
                                  "a body).",
                   "headers": {"Location": {"schema": {"type": "string"}, "description": "the upload's URL"},
                               **_PROGRESS}}}
APPENDED = {"204": {"description": "Appended and durable: `Upload-Offset` is the new offset; at `Upload-Length` the "
                                   "file exists, as a multipart upload would have made it.", "headers": _PROGRESS}}
