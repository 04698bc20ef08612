"""The OpenAPI document's shared parts; each route documents itself in its docstring."""
from __future__ import annotations

from .version import __version__


def _error_response(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


SWAGGER_CONFIG = {
    "openapi": "3.0.3",
    "uiversion": 3,
    "headers": [],
    "specs": [{"endpoint": "apispec", "route": "/apispec.json",
               "rule_filter": lambda rule: rule.rule.startswith("/api/"),
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
            "Every error is JSON: `{\"error\": {\"code\", \"message\"}}`."),
    },
    "components": {
        "securitySchemes": {
            "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session",
                           "description": "Set by POST /api/login."},
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
            "Me": {
                "allOf": [{"$ref": "#/components/schemas/User"}, {
                    "type": "object", "required": ["used_bytes", "file_count", "quota_bytes"],
                    "properties": {"used_bytes": {"type": "integer"}, "file_count": {"type": "integer"},
                                   "quota_bytes": {"type": "integer", "description": "0 means unlimited"}}}],
            },
            "File": {
                "type": "object",
                "required": ["id", "name", "size", "content_type", "sha256", "created_at"],
                "properties": {
                    "id": {"type": "string"}, "name": {"type": "string", "example": "تقرير.pdf"},
                    "size": {"type": "integer"}, "content_type": {"type": "string"},
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "created_at": {"type": "string", "format": "date-time"},
                },
            },
            "FilePage": {
                "type": "object", "required": ["files", "page", "limit", "total", "pages"],
                "properties": {
                    "files": {"type": "array", "items": {"$ref": "#/components/schemas/File"}},
                    "page": {"type": "integer"}, "limit": {"type": "integer"},
                    "total": {"type": "integer"}, "pages": {"type": "integer"},
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
        "responses": {
            "BadRequest": _error_response("Invalid input; `code` says which (e.g. `malformed_json`, `invalid_name`)."),
            "Unauthorized": _error_response("`unauthorized`: not logged in (or `invalid_credentials` on login)."),
            "NotFound": _error_response("`file_not_found`: no such file for this user."),
            "TooLarge": _error_response("`payload_too_large`: the request exceeds MAX_CONTENT_LENGTH."),
            "InsufficientStorage": _error_response("`quota_exceeded` (your quota) or `storage_full` (server disk)."),
            "TooManyRequests": _error_response("`too_many_requests`: wait for `Retry-After` seconds."),
        },
    },
}
