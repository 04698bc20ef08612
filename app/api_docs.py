"""The OpenAPI document's shared parts; each route documents itself in its docstring."""
from __future__ import annotations

from .version import __version__


def _error_response(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _page_of(key: str) -> dict:
    return {
        "type": "object", "required": [key, "page", "limit", "total", "pages"],
        "properties": {key: {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
                       "page": {"type": "integer"}, "limit": {"type": "integer"},
                       "total": {"type": "integer"}, "pages": {"type": "integer"}},
    }


def _path_id(name: str, what: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": what}


_USAGE = {
    "type": "object",
    "required": ["used_bytes", "trash_bytes", "quota_bytes", "file_count", "folder_count"],
    "properties": {
        "used_bytes": {"type": "integer", "description": "bytes on disk: each stored content once, trash included"},
        "trash_bytes": {"type": "integer", "description": "total size of files in the trash"},
        "quota_bytes": {"type": "integer", "description": "0 means unlimited"},
        "file_count": {"type": "integer"}, "folder_count": {"type": "integer"},
        "trashed_file_count": {"type": "integer"},
    },
}

SWAGGER_CONFIG = {
    "openapi": "3.0.3",
    "uiversion": 3,
    "headers": [],
    "specs": [{"endpoint": "apispec", "route": "/apispec.json",
               "rule_filter": lambda rule: rule.rule == "/" or rule.rule.startswith(
                   ("/api/", "/s/", "/upload", "/download/", "/list", "/delete/", "/status")),
               "model_filter": lambda tag: True}],
    "static_url_path": "/flasgger_static",
    "swagger_ui": True,
    "specs_route": "/apidocs/",
}

TEMPLATE = {
    "info": {
        "title": "Cloud Drive API",
        "version": __version__,
        "description": (
            "A self-hosted, multi-user file service. Log in with `POST /api/login` (here, with "
            "*Try it out*); the session cookie is then sent with every call from this page. "
            "Scripts can use a personal access token instead (*Authorize* → bearerAuth). "
            "Every error is JSON: `{\"error\": {\"code\", \"message\"}}`."),
    },
    "components": {
        "securitySchemes": {
            "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session",
                           "description": "Set by POST /api/login."},
            "bearerAuth": {"type": "http", "scheme": "bearer",
                           "description": "A personal access token from POST /api/tokens."},
        },
        "schemas": {
            "Error": {
                "type": "object", "required": ["error"],
                "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "string", "example": "file_not_found"},
                    "message": {"type": "string"}}}},
            },
            "Credentials": {
                "type": "object", "required": ["username", "password"],
                "properties": {
                    "username": {"type": "string", "pattern": "^[A-Za-z0-9._-]{3,32}$", "example": "john"},
                    "password": {"type": "string", "minLength": 8, "maxLength": 1024, "example": "password123"},
                },
            },
            "User": {
                "type": "object", "required": ["id", "username", "created_at"],
                "properties": {"id": {"type": "string"}, "username": {"type": "string"},
                               "created_at": {"type": "string", "format": "date-time"}},
            },
            "Me": {"allOf": [{"$ref": "#/components/schemas/User"}, _USAGE]},
            "Item": {
                "type": "object",
                "required": ["id", "type", "name", "parent_id", "created_at", "updated_at", "starred"],
                "properties": {
                    "id": {"type": "string"},
                    "type": {"type": "string", "enum": ["file", "folder"]},
                    "name": {"type": "string", "example": "تقرير.pdf"},
                    "parent_id": {"type": "string", "nullable": True, "description": "a folder id or `root`"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "updated_at": {"type": "string", "format": "date-time"},
                    "starred": {"type": "boolean"},
                    "size": {"type": "integer", "description": "files only"},
                    "content_type": {"type": "string", "description": "files only"},
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "files only"},
                    "trashed_at": {"type": "string", "format": "date-time", "description": "in the trash only"},
                    "path": {"type": "string", "description": "search results only: the folder's path",
                             "example": "/Documents/Reports"},
                },
            },
            "RootFolder": {
                "type": "object", "required": ["id", "type", "name", "parent_id", "starred"],
                "description": "The root folder: it has no parent and no timestamps.",
                "properties": {
                    "id": {"type": "string", "enum": ["root"]},
                    "type": {"type": "string", "enum": ["folder"]},
                    "name": {"type": "string", "enum": [""]},
                    "parent_id": {"type": "string", "nullable": True, "enum": [None]},
                    "starred": {"type": "boolean"},
                },
            },
            "ItemUpdate": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "parent_id": {"type": "string", "description": "a folder id or `root`"},
                    "on_conflict": {"type": "string", "enum": ["fail", "rename"]},
                },
            },
            "FilePage": _page_of("files"),
            "ItemPage": _page_of("items"),
            "FolderNode": {
                "type": "object", "required": ["id", "name", "children"],
                "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                               "children": {"type": "array", "items": {"$ref": "#/components/schemas/FolderNode"}}},
            },
            "Version": {
                "type": "object", "required": ["id", "size", "sha256", "content_type", "created_at"],
                "properties": {"id": {"type": "string"}, "size": {"type": "integer"}, "sha256": {"type": "string"},
                               "content_type": {"type": "string"},
                               "created_at": {"type": "string", "format": "date-time"}},
            },
            "Usage": _USAGE,
            "Share": {
                "type": "object",
                "required": ["id", "item_id", "item_type", "has_password", "download_count", "created_at", "state"],
                "properties": {
                    "id": {"type": "string"}, "item_id": {"type": "string"},
                    "item_type": {"type": "string", "enum": ["file", "folder"]},
                    "label": {"type": "string", "nullable": True},
                    "expires_at": {"type": "string", "format": "date-time", "nullable": True},
                    "has_password": {"type": "boolean"},
                    "max_downloads": {"type": "integer", "nullable": True},
                    "download_count": {"type": "integer"},
                    "last_used_at": {"type": "string", "format": "date-time", "nullable": True},
                    "created_at": {"type": "string", "format": "date-time"},
                    "revoked_at": {"type": "string", "format": "date-time", "nullable": True},
                    "state": {"type": "string",
                              "enum": ["active", "expired", "exhausted", "revoked", "item_unavailable"]},
                },
            },
            "PublicEntry": {
                "type": "object", "required": ["id", "type", "name", "updated_at"],
                "properties": {"id": {"type": "string"}, "type": {"type": "string", "enum": ["file", "folder"]},
                               "name": {"type": "string"}, "updated_at": {"type": "string", "format": "date-time"},
                               "size": {"type": "integer"}, "content_type": {"type": "string"}},
            },
            "PublicShare": {
                "type": "object", "required": ["type", "requires_password", "unlocked"],
                "properties": {
                    "type": {"type": "string", "enum": ["file", "folder"]},
                    "requires_password": {"type": "boolean"}, "unlocked": {"type": "boolean"},
                    "item": {"$ref": "#/components/schemas/PublicEntry"},
                    "label": {"type": "string", "nullable": True},
                    "expires_at": {"type": "string", "format": "date-time", "nullable": True},
                    "downloads_left": {"type": "integer", "nullable": True},
                },
            },
            "ApiToken": {
                "type": "object", "required": ["id", "name", "scope", "prefix", "created_at"],
                "properties": {
                    "id": {"type": "string"}, "name": {"type": "string"},
                    "scope": {"type": "string", "enum": ["read", "read-write"]},
                    "prefix": {"type": "string", "description": "the first characters of the secret"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "expires_at": {"type": "string", "format": "date-time", "nullable": True},
                    "last_used_at": {"type": "string", "format": "date-time", "nullable": True},
                },
            },
            "Status": {
                "type": "object", "required": ["status", "version", "uptime_s", "database"],
                "properties": {
                    "status": {"type": "string", "enum": ["ok", "degraded"]},
                    "version": {"type": "string"}, "uptime_s": {"type": "number"},
                    "database": {"type": "object", "properties": {
                        "kind": {"type": "string", "enum": ["mongodb", "embedded", "mongomock"]},
                        "reachable": {"type": "boolean"}}},
                },
            },
        },
        "parameters": {
            "Limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
            "Page": {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
            "Sort": {"name": "sort", "in": "query",
                     "schema": {"type": "string", "enum": ["name", "created_at", "updated_at", "size"], "default": "created_at"}},
            "Order": {"name": "order", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"], "default": "desc"}},
            "FileId": _path_id("file_id", "A file id"),
            "FolderId": _path_id("folder_id", "A folder id, or `root`"),
            "ItemId": _path_id("item_id", "A file or folder id"),
            "VersionId": _path_id("version_id", "A version id"),
        },
        "responses": {
            "PreviewUnavailable": _error_response("`preview_unavailable`: this type is only downloaded."),
            "Forbidden": _error_response("`insufficient_scope` (a read token tried to write), `session_required`, "
                                         "or `cross_site_request`."),
            "Conflict": _error_response("`name_conflict` (a sibling has that name) or `move_into_descendant`."),
            "BadRequest": _error_response("Invalid input; `code` says which (e.g. `malformed_json`, `invalid_name`)."),
            "Unauthorized": _error_response("`unauthorized`: not logged in (or `invalid_credentials` on login)."),
            "NotFound": _error_response("`file_not_found`, `folder_not_found`, `item_not_found`, `version_not_found`: "
                                        "no such thing for this user (other users' ids included)."),
            "TooLarge": _error_response("`payload_too_large`: the request exceeds MAX_CONTENT_LENGTH."),
            "InsufficientStorage": _error_response("`quota_exceeded` (your quota) or `storage_full` (server disk)."),
            "TooManyRequests": _error_response("`too_many_requests`: wait for `Retry-After` seconds."),
        },
    },
}
