"""The OpenAPI document's shared parts; each route documents itself in its docstring."""
from __future__ import annotations

from flask import Flask

from .docs.routes import bp as docs_bp
from .extensions import swagger
from .version import __version__


def _error_response(meaning: str, *examples: tuple[str, str]) -> dict:
    """A documented error status with one example body per ``(code, message)`` it can carry,
    so Swagger UI never shows one status's example with another status's code."""
    codes = ", ".join(f"`{code}`" for code, _ in examples)
    return {
        "description": f"{codes}: {meaning}",
        "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"},
            "examples": {code: {"value": {"error": {"code": code, "message": message}}}
                         for code, message in examples},
        }},
    }


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

# flasgger builds /apispec.json only; its bundled Swagger UI (old, and configurable from the
# query string) is off, and app.docs serves a vendored current one instead.
SWAGGER_CONFIG = {
    "openapi": "3.0.3",
    "headers": [],
    "specs": [{"endpoint": "apispec", "route": "/apispec.json",
               "rule_filter": lambda rule: rule.rule == "/" or rule.rule.startswith(
                   ("/api/", "/s/", "/upload", "/download/", "/list", "/delete/", "/status")),
               "model_filter": lambda tag: True}],
    "swagger_ui": False,
}

# Swagger UI shows tags in this order: logging in first.
TAGS = [{"name": name, "description": description} for name, description in (
    ("auth", "Register, log in and out, who am I."),
    ("files", "Upload, download, rename, move, copy, star, delete."),
    ("versions", "Earlier contents of a file."),
    ("folders", "Create, list, rename, move, copy, delete."),
    ("trash", "Restore or delete for good."),
    ("search", "Find by name and filters; starred items."),
    ("sharing", "Links that work without an account."),
    ("public links", "What a link's holder can do."),
    ("tokens", "Personal access tokens for scripts."),
    ("system", "Health."),
    ("compatibility", "The seed's API-key routes, kept for existing clients."),
    ("web", "The web app's page."),
)]

TEMPLATE = {
    "tags": TAGS,
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
                    "code": {"type": "string", "description": "stable, for programs"},
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
                    "revision": {"type": "integer", "minimum": 1,
                                 "description": "files only: the commit number of the current content "
                                                "(1 for the first, +1 for each replace or restore)"},
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
                               "created_at": {"type": "string", "format": "date-time"},
                               "revision": {"type": "integer", "minimum": 1,
                                            "description": "the commit that stored this content"}},
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
                        "kind": {"type": "string", "enum": ["mongodb", "sqlite", "mongomock"]},
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
            "BadRequest": _error_response(
                "invalid input; `code` says what is wrong.",
                ("malformed_json", "The request body is not valid JSON."),
                ("invalid_name", "A name cannot contain '/' or '\\'."),
                ("invalid_query", "'limit' must be between 1 and 200."),
                ("missing_file", "Send the file in a multipart field named 'file'.")),
            "Unauthorized": _error_response(
                "not logged in (no session cookie or Bearer token, or one that no longer works).",
                ("unauthorized", "Log in first: POST /api/login.")),
            "BadCredentials": _error_response(
                "wrong username or password.", ("invalid_credentials", "Invalid username or password.")),
            "BadApiKey": _error_response(
                "no `key`, or not a valid API token.",
                ("invalid_api_key", "Send a valid API key as 'key' (create one with POST /api/tokens).")),
            "LinkLocked": _error_response(
                "the link has a password: unlock it first.",
                ("password_required", "This link needs its password: POST /s/<token>/unlock.")),
            "WrongLinkPassword": _error_response("the password is wrong.", ("wrong_password", "Wrong password.")),
            "Forbidden": _error_response(
                "a read token tried to write, a token tried to manage tokens, or another site sent the request.",
                ("insufficient_scope", "This token can only read; create a read-write token to change things."),
                ("session_required", "Log in with a password to manage tokens."),
                ("cross_site_request", "Cross-site requests are not allowed.")),
            "NotFound": _error_response(
                "no such thing for this user (other users' ids included).",
                ("file_not_found", "No such file."), ("folder_not_found", "No such folder."),
                ("item_not_found", "No such file or folder."), ("version_not_found", "No such version."),
                ("share_not_found", "This link does not exist or no longer works."),
                ("token_not_found", "No such token.")),
            "Conflict": _error_response(
                "a sibling already has that name, or a folder would move into its own subtree.",
                ("name_conflict", "An item named 'report.pdf' already exists in this folder."),
                ("move_into_descendant", "A folder cannot be moved into itself or one of its subfolders.")),
            "UsernameTaken": _error_response(
                "the username exists (in any letter case).",
                ("username_taken", "That username is already taken.")),
            "TooLarge": _error_response(
                "the request exceeds MAX_CONTENT_LENGTH.",
                ("payload_too_large", "The upload is larger than the server allows.")),
            "PreviewUnavailable": _error_response(
                "this type is only downloaded.",
                ("preview_unavailable", "This type cannot be previewed; download it instead.")),
            "TooManyRequests": _error_response(
                "wait for `Retry-After` seconds.",
                ("too_many_requests", "Too many attempts; wait before trying again.")),
            "InsufficientStorage": _error_response(
                "your quota is used up, or the server's disk is full.",
                ("quota_exceeded", "This upload would exceed your storage quota."),
                ("storage_full", "The server has no space left for this upload.")),
        },
    },
}


def init_api_docs(app: Flask) -> None:
    """Serve /apispec.json (flasgger) and /apidocs (our page), unless API_DOCS_ENABLED is off:
    then both are unknown URLs, a 404 like any other."""
    if not app.config["API_DOCS_ENABLED"]:
        return
    app.config["SWAGGER"] = SWAGGER_CONFIG
    swagger.template = TEMPLATE
    swagger.init_app(app)
    app.register_blueprint(docs_bp)
