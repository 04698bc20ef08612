"""The OpenAPI document, made by apispec from the routes' schemas and decorators
(app/contract.py) and served by flasgger at /apispec.json; /apidocs is our own page."""
from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flasgger import Swagger
from flask import Flask, current_app

from . import errors
from .contract import NO_SECURITY, Operation, docstring_parts, operation_of
from .docs.routes import bp as docs_bp
from .errors import ErrorResponse
from .schemas import ErrorSchema
from .version import __version__

# flasgger builds /apispec.json only; its bundled Swagger UI (old, and configurable from the
# query string) is off, and app.docs serves a vendored current one instead.
SWAGGER_CONFIG = {
    "openapi": "3.0.3",
    "headers": [],
    # The document is apispec's (DocumentedSwagger.get_apispecs), not read from docstrings.
    "specs": [{"endpoint": "apispec", "route": "/apispec.json",
               "rule_filter": lambda rule: False, "model_filter": lambda tag: True}],
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
    ("members", "Share files and folders with other users of this server; what others shared with you."),
    ("tokens", "Personal access tokens for scripts."),
    ("account", "Your password and your login sessions."),
    ("Administration", "Users, quotas, invitations (administrators only; 404 for anyone else)."),
    ("system", "Health."),
    ("compatibility", "The seed's API-key routes, kept for existing clients."),
    ("web", "The web app's page."),
)]

# The tag of a blueprint's routes, unless a route names its own.
BLUEPRINT_TAGS = {"auth": "auth", "tokens": "tokens", "files": "files", "folders": "folders", "trash": "trash",
                  "search": "search", "shares": "sharing", "public": "public links", "system": "system",
                  "compat": "compatibility", "web": "web", "admin": "Administration",
                  "members": "members", "bulk": "files"}

PATH_IDS = {
    "file_id": "A file id", "folder_id": "A folder id, or `root`", "item_id": "A file or folder id",
    "version_id": "A version id", "share_id": "A share link's id", "token_id": "A token id",
    "token": "The link's token", "filename": "A file name in the root folder",
    "user_id": "A user's id", "invite_id": "An invitation's id", "session_id": "One of your sessions' ids",
    "username": "A user's username (any letter case)",
}

INFO_DESCRIPTION = (
    "A self-hosted, multi-user file service. Log in with `POST /api/login` (here, with "
    "*Try it out*); the session cookie is then sent with every call from this page. "
    "Scripts can use a personal access token instead (*Authorize* → bearerAuth). "
    "Every error is JSON: `{\"error\": {\"code\", \"message\"}}`. Each user's drive is also "
    "a WebDAV share at `/dav/<username>/` (HTTP Basic with an API token; see the README).")

SECURITY_SCHEMES = {
    "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session", "description": "Set by POST /api/login."},
    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "A personal access token from POST /api/tokens."},
}
_PATH_ARGUMENT = re.compile(r"<(?:[^<>:]*:)?([^<>]*)>")


def _configured_range(converter, field, **kwargs) -> dict:
    """Bounds and defaults the configuration decides (PAGE_SIZE_MAX, ...), as this app has them."""
    out = {}
    if "range" in field.metadata:
        low, high = field.metadata["range"]
        out.update(minimum=low, maximum=high() if callable(high) else high)
    if "default_of" in field.metadata:
        out["default"] = field.metadata["default_of"]()
    return out


def _error_response(documented: ErrorResponse) -> dict:
    """A documented error status with one example body per code it can carry, so Swagger UI
    never shows one status's example with another status's code."""
    return {
        "description": ", ".join(f"`{code}`" for code in documented.codes) + f": {documented.meaning}",
        "content": {"application/json": {
            "schema": "Error",
            "examples": {code: {"value": {"error": {"code": code, "message": code.example}}}
                         for code in documented.codes},
        }},
    }


def _json_content(schema, form: bool = False) -> dict:
    content = {"application/json": {"schema": schema}}
    if form:
        content["application/x-www-form-urlencoded"] = {"schema": schema}
    return content


def _operation(rule, blueprint: str, view, operation: Operation) -> dict:
    summary, description = docstring_parts(view)
    doc: dict = {"tags": operation.tags or [BLUEPRINT_TAGS[blueprint]], "summary": summary,
                 "security": operation.security if operation.security is not None else NO_SECURITY}
    if description:
        doc["description"] = description
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"},
                   "description": operation.path_ids.get(name, PATH_IDS.get(name, name))}
                  for name in _PATH_ARGUMENT.findall(rule.rule)]
    for schema, location in operation.arguments:
        if location == "query":
            parameters.append({"in": "query", "schema": schema})
        else:
            doc["requestBody"] = {"required": schema is not None and location != "optional_json",
                                  "content": _json_content(schema, form=location == "json_or_form")}
    parameters += operation.extra.get("parameters_raw", [])
    if parameters:
        doc["parameters"] = parameters
    if "request_body_raw" in operation.extra:
        doc["requestBody"] = operation.extra["request_body_raw"]
    responses: dict = {}
    for status, answer in operation.responses.items():
        responses[str(status)] = {"description": answer["description"] or summary}
        if answer["one_of"]:
            responses[str(status)]["content"] = _json_content({"oneOf": [answer["schema"], *answer["one_of"]]})
        elif answer["schema"] is not None:
            responses[str(status)]["content"] = _json_content(answer["schema"])
    responses.update(operation.extra.get("responses_raw", {}))
    for documented in operation.errors:
        responses[str(documented.status)] = {"$ref": f"#/components/responses/{documented.name}"}
    doc["responses"] = dict(sorted(responses.items()))
    return doc


def build_document(app: Flask) -> dict:
    """The OpenAPI document of ``app``'s routes, from their schemas and notes."""
    plugin = MarshmallowPlugin()
    spec = APISpec(title="Cloud Drive API", version=__version__, openapi_version=SWAGGER_CONFIG["openapi"],
                   plugins=[plugin], info={"description": INFO_DESCRIPTION}, tags=TAGS)
    plugin.converter.add_attribute_function(_configured_range)
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    spec.components.schema("Error", schema=ErrorSchema)
    for documented in {value for value in vars(errors).values() if isinstance(value, ErrorResponse)}:
        spec.components.response(documented.name, _error_response(documented))
    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        operation = operation_of(view)
        if operation is None:
            continue
        path = _PATH_ARGUMENT.sub(lambda m: "{" + m.group(1) + "}", rule.rule)
        blueprint = rule.endpoint.rpartition(".")[0]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, blueprint, view, operation)
    for path in sorted(paths):
        spec.path(path=path, operations=paths[path])
    document = spec.to_dict()
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                _no_null_default(parameter)
    return document


def _no_null_default(parameter: dict) -> None:
    """A query parameter that is absent by default: a query string cannot say null."""
    schema = parameter.get("schema", {})
    if parameter.get("in") == "query" and "default" in schema and schema["default"] is None:
        del schema["default"]
        schema.pop("nullable", None)


class DocumentedSwagger(Swagger):
    """flasgger, serving the document apispec made for the app that answers (built once)."""

    def get_apispecs(self, endpoint: str = "apispec") -> dict:
        app = current_app._get_current_object()
        if "openapi_document" not in app.extensions:
            app.extensions["openapi_document"] = build_document(app)
        return app.extensions["openapi_document"]


def init_api_docs(app: Flask) -> None:
    """Serve /apispec.json (flasgger) and /apidocs (our page), unless API_DOCS_ENABLED is off:
    then both are unknown URLs, a 404 like any other."""
    if not app.config["API_DOCS_ENABLED"]:
        return
    app.config["SWAGGER"] = SWAGGER_CONFIG
    DocumentedSwagger(app)
    app.register_blueprint(docs_bp)
