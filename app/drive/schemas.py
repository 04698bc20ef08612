"""The drive's API contract: what its routes accept and answer."""
from __future__ import annotations

from marshmallow import ValidationError, fields, post_dump, validate, validates_schema

from ..contract import ApiSchema, Id, QueryBool, QuerySchema, RowSchema, Timestamp, text
from ..errors import ErrorCode
from ..schemas import ErrorDetail, PageQuery, page_of, query_choice, query_int, sorted_page_query
from ..members.access import hidden_parent
from .names import MAX_NAME_BYTES
from .repo import FILE, SORT_FIELDS
from .versions import content_modified, revision_of

KINDS = ("file", "folder")
MAX_SIZE = 2**62
SEARCH_TEXT_MAX = 255
FOLDER_CONFLICT = ("fail", "rename")
UPLOAD_CONFLICT = ("fail", "rename", "replace")
_FILE_ONLY = ("size", "content_type", "sha256", "revision", "modified_at")
RESTORE_NOTES = ("parent_recreated", "restored_to_root", "renamed")
BULK_ACTIONS = ("move", "copy", "trash", "restore", "delete", "star", "unstar")
BULK_MAX_IDS = 10_000
WITH_FOLDER = "with_folder"


def display_name(example: str, **kwargs) -> fields.String:
    """A display name; the service applies the name rules (invalid_name)."""
    return fields.String(error_messages={"invalid": "A name must be a string.",
                                         "required": "A name must be a string."},
                         metadata={"error_code": ErrorCode.INVALID_NAME, "example": example,
                                   "description": f"no '/', '\\' or control characters; at most "
                                                  f"{MAX_NAME_BYTES} bytes of UTF-8"}, **kwargs)


def parent_id(description: str = "a folder id or `root`", **kwargs) -> fields.String:
    return text(allow_none=True, metadata={"description": description, "example": "root"}, **kwargs)


def on_conflict(choices, checked: bool = False, **kwargs) -> fields.String:
    """The service checks the value (invalid_on_conflict); the document lists it. ``checked``:
    the schema checks it (a bulk request is refused whole before its first item)."""
    metadata: dict = {"enum": list(choices)}
    if checked:
        kwargs["validate"] = validate.OneOf(choices, error=f"on_conflict must be one of: {', '.join(choices)}.")
        metadata["error_code"] = ErrorCode.INVALID_ON_CONFLICT
    return text(allow_none=True, metadata=metadata, **kwargs)


# -- records -----------------------------------------------------------------------------------

def _parent_of(item: dict) -> str | None:
    """The parent's id, ``root``, or None where the caller sees the item through a grant on
    it (app.members.access): nothing above a shared item is shown to its members."""
    if hidden_parent(item["_id"]):
        return None
    return str(item["parent_id"]) if item["parent_id"] else "root"


class ItemSchema(RowSchema):
    """A file or folder."""

    id = Id(attribute="_id", required=True)
    type = fields.String(required=True, metadata={"enum": list(KINDS)})
    name = fields.String(required=True, metadata={"example": "تقرير.pdf"})
    parent_id = fields.Function(_parent_of, required=True, metadata={
        "type": "string", "nullable": True, "description": "a folder id or `root`; `null` for an item shared with "
                                                           "you (its owner's folders are not yours to see)"})
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)
    starred = fields.Boolean(required=True, dump_default=False)
    size = fields.Integer(metadata={"description": "files only"})
    content_type = fields.String(metadata={"description": "files only"})
    sha256 = fields.String(metadata={"pattern": "^[0-9a-f]{64}$", "description": "files only"})
    revision = fields.Function(revision_of, metadata={
        "type": "integer", "minimum": 1, "description": "files only: the commit number of the current content "
                                                        "(1 for the first, +1 for each replace or restore)"})
    modified_at = fields.Function(lambda item: content_modified(item), metadata={
        "type": "string", "format": "date-time", "description": "files only: the content's modification time, as "
        "the client gave it when uploading (tus `lastModified`, the multipart `last_modified`, the CLI's file "
        "time), else when the content was stored; also the download's `Last-Modified`"})
    trashed_at = Timestamp(metadata={"description": "in the trash only"})
    trashed_by = fields.String(metadata={"description": "in the trash only, when someone the owner shared the item "
                                                        "with put it there: their username"})
    path = fields.String(metadata={"description": "search results only: the folder's path",
                                   "example": "/Documents/Reports"})

    @post_dump(pass_original=True)
    def _only_what_applies(self, data: dict, item: dict, **kwargs) -> dict:
        if item["type"] != FILE:
            for name in _FILE_ONLY:
                data.pop(name, None)
        if data.get("trashed_at") is None:
            data.pop("trashed_at", None)
            data.pop("trashed_by", None)
        elif data.get("trashed_by") is None:
            data.pop("trashed_by", None)
        return data


class RootFolderSchema(ApiSchema):
    """The root folder: it has no parent and no timestamps."""

    id = fields.Constant("root", required=True, metadata={"type": "string", "enum": ["root"]})
    type = fields.Constant("folder", required=True, metadata={"type": "string", "enum": ["folder"]})
    name = fields.Constant("", required=True, metadata={"type": "string", "enum": [""]})
    parent_id = fields.Constant(None, required=True, metadata={"type": "string", "nullable": True, "enum": [None]})
    starred = fields.Constant(False, required=True, metadata={"type": "boolean"})


class FolderNodeSchema(ApiSchema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    children = fields.List(fields.Nested(lambda: FolderNodeSchema()), required=True)


class FolderTreeSchema(ApiSchema):
    id = fields.String(required=True, metadata={"example": "root"})
    name = fields.String(required=True)
    children = fields.List(fields.Nested(FolderNodeSchema), required=True)


class CrumbSchema(ApiSchema):
    id = fields.String()
    name = fields.String()


class FolderPathSchema(ApiSchema):
    path = fields.List(fields.Nested(CrumbSchema), required=True)


class VersionSchema(ApiSchema):
    id = Id(attribute="_id", required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    content_type = fields.String(required=True)
    created_at = Timestamp(required=True)
    modified_at = fields.Function(lambda version: content_modified(version), metadata={
        "type": "string", "format": "date-time", "description": "the content's modification time (see the file's)"})
    revision = fields.Function(revision_of, metadata={"type": "integer", "minimum": 1,
                                                      "description": "the commit that stored this content"})


class VersionListSchema(ApiSchema):
    versions = fields.List(fields.Nested(VersionSchema), required=True)


class FileListSchema(ApiSchema):
    files = fields.List(fields.Nested(ItemSchema), required=True)


class RestoredSchema(ApiSchema):
    item = fields.Nested(ItemSchema, required=True)
    note = fields.String(allow_none=True, required=True, metadata={"enum": [*RESTORE_NOTES, None]})


class DeletedCountSchema(ApiSchema):
    deleted = fields.Integer(required=True)


class BulkResultSchema(ApiSchema):
    """What became of one id of a bulk request."""

    id = fields.String(required=True)
    ok = fields.Boolean(required=True)
    item = fields.Nested(ItemSchema, metadata={"description": "move, copy (the new item), restore, star, unstar"})
    note = fields.String(metadata={
        "enum": [*RESTORE_NOTES, WITH_FOLDER],
        "description": "restore: as `POST /api/trash/<id>/restore` says it; `with_folder`: a folder above the "
                       "item was in the same request and the item went with it"})
    error = fields.Nested(ErrorDetail, metadata={"description": "why this item failed: the code and message its "
                                                                "single route answers with"})


class BulkResultsSchema(ApiSchema):
    results = fields.List(fields.Nested(BulkResultSchema), required=True, metadata={
        "description": "one per id sent, in the same order"})
    succeeded = fields.Integer(required=True)
    failed = fields.Integer(required=True)


class RetentionSchema(ApiSchema):
    trash_days = fields.Integer(required=True, metadata={
        "description": "days a trashed item stays before it is deleted for good (TRASH_RETENTION_DAYS)"})
    versions_per_file = fields.Integer(required=True, metadata={
        "description": "earlier contents kept per file; older ones are deleted (MAX_VERSIONS_PER_FILE)"})


class UsageSchema(ApiSchema):
    used_bytes = fields.Integer(required=True, metadata={
        "description": "bytes on disk: each stored content once, trash included"})
    trash_bytes = fields.Integer(required=True, metadata={"description": "total size of files in the trash"})
    quota_bytes = fields.Integer(required=True, metadata={"description": "0 means unlimited"})
    file_count = fields.Integer(required=True)
    folder_count = fields.Integer(required=True)
    trashed_file_count = fields.Integer()
    file_bytes = fields.Integer(required=True, metadata={
        "description": "live files at their sizes (identical contents are stored once: see used_bytes)"})
    version_bytes = fields.Integer(required=True, metadata={"description": "kept earlier contents, at their sizes"})
    version_count = fields.Integer(required=True)
    retention = fields.Nested(RetentionSchema, required=True)


ItemPageSchema = page_of(ItemSchema, "items", "ItemPage")
FilePageSchema = page_of(ItemSchema, "files", "FilePage")


# -- requests ----------------------------------------------------------------------------------

class FolderCreateSchema(ApiSchema):
    name = display_name("Reports", required=True)
    parent_id = parent_id()
    on_conflict = on_conflict(FOLDER_CONFLICT)


class ItemUpdateSchema(ApiSchema):
    """Rename (``name``), move (``parent_id``; ``null`` is the root), or both."""

    name = text(allow_none=True)
    parent_id = parent_id()
    on_conflict = on_conflict(FOLDER_CONFLICT)


class BulkSchema(ApiSchema):
    """One action on many files and folders (of any kinds, in any folders)."""

    action = fields.String(required=True, validate=validate.OneOf(
        BULK_ACTIONS, error=f"'action' must be one of: {', '.join(BULK_ACTIONS)}."),
        error_messages={"required": f"'action' is required: one of {', '.join(BULK_ACTIONS)}.",
                        "invalid": "'action' must be a string."},
        metadata={"enum": list(BULK_ACTIONS)})
    ids = fields.List(
        fields.String(error_messages={"invalid": "Every entry of 'ids' must be a string (a file or folder id)."}),
        required=True, validate=validate.Length(min=1, max=BULK_MAX_IDS,
                                                error=f"'ids' must list 1 to {BULK_MAX_IDS} ids."),
        error_messages={"required": "'ids' is required: a list of file and folder ids.",
                        "invalid": "'ids' must be a list of file and folder ids."},
        metadata={"description": f"files and folders, mixed; at most {BULK_MAX_IDS}; a repeated id is done once"})
    parent_id = parent_id("move (required), copy (optional: else beside each original): a folder id or `root`")
    on_conflict = on_conflict(FOLDER_CONFLICT, checked=True)

    @validates_schema
    def _move_needs_a_folder(self, data: dict, **kwargs) -> None:
        if data.get("action") == "move" and "parent_id" not in data:
            raise ValidationError("A move needs 'parent_id': a folder id or root.", "parent_id")


class DeleteQuery(QuerySchema):
    permanent = QueryBool()


class UploadQuery(QuerySchema):
    """May also come as form fields of the upload (the query wins)."""

    folder_id = fields.String(load_default=None, metadata={"default": "root"})
    on_conflict = on_conflict(UPLOAD_CONFLICT, load_default=None)
    relative_path = fields.String(load_default=None, metadata={
        "description": "folders below folder_id to put the files in, made as needed (`Photos/2026`)"})
    last_modified = fields.String(load_default=None, metadata={
        "description": "the files' modification time, ms since the epoch or ISO 8601 (or one form field per file)"})


ChildrenQuery = sorted_page_query(SORT_FIELDS, "name", "asc", "ChildrenQuery", name=fields.String(
    load_default=None, metadata={"description": "only the item with this name (any case)"}))
FilesQuery = sorted_page_query(SORT_FIELDS, "created_at", "desc", "FilesQuery")


class SearchQuery(PageQuery):
    q = fields.String(load_default="", validate=validate.Length(
        max=SEARCH_TEXT_MAX, error=f"'q' can be at most {SEARCH_TEXT_MAX} characters."))
    type = query_choice("type", KINDS, load_default=None)
    content_type = fields.String(load_default=None, metadata={"description": "prefix, e.g. image/"})
    min_size = query_int("min_size", 0, MAX_SIZE, load_default=None)
    max_size = query_int("max_size", 0, MAX_SIZE, load_default=None)
    created_after = Timestamp(load_default=None)
    created_before = Timestamp(load_default=None)
    folder_id = fields.String(load_default=None, metadata={
        "description": "only below this folder (`root`: the whole drive, the default); a folder shared with "
                       "the caller searches inside the share, with paths that start at it"})


class ZipSelectionSchema(ApiSchema):
    """Files and folders to download as one ZIP."""

    ids = fields.List(text(), required=True, validate=validate.Length(
        min=1, error="Choose at least one file or folder ('ids')."), error_messages={
        "invalid": "'ids' must be a list of file and folder ids.",
        "required": "Choose at least one file or folder ('ids')."}, metadata={
        "description": "file and folder ids, mixed (in an HTML form, one `ids` field per id)"})
    name = display_name("Holiday", load_default=None)
    check = fields.Boolean(load_default=False, metadata={
        "description": "only check (204, nothing sent or recorded): every id can be zipped and the archive is "
                       "within `ZIP_MAX_ENTRIES` (the web app asks first, so a refusal is a message, not a page)"})
