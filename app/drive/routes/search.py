"""Finding things: search, starred items, usage."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user, login_required

from ..views import public_item
from ...errors import InvalidInput
from ...http import page_params, page_response, query_choice, query_datetime, query_int
from ...services import services

bp = Blueprint("search", __name__, url_prefix="/api")
MAX_SIZE = 2**62


@bp.get("/search")
@login_required
def search():
    """Search the caller's files and folders by name and filters.
    ---
    tags: [search]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    description: >
      `q` matches anywhere in the name, ignoring case (Unicode-aware); it is taken literally
      (`a.*` finds names containing "a.*"). Each result carries `path`, its folder's path.
      Items in the trash are not searched.
    parameters:
      - {name: q, in: query, schema: {type: string, maxLength: 255}}
      - {name: type, in: query, schema: {type: string, enum: [file, folder]}}
      - {name: content_type, in: query, schema: {type: string}, description: 'prefix, e.g. image/'}
      - {name: min_size, in: query, schema: {type: integer, minimum: 0}}
      - {name: max_size, in: query, schema: {type: integer, minimum: 0}}
      - {name: created_after, in: query, schema: {type: string, format: date-time}}
      - {name: created_before, in: query, schema: {type: string, format: date-time}}
      - $ref: '#/components/parameters/Limit'
      - $ref: '#/components/parameters/Page'
    responses:
      200:
        description: One page of matches, folders first, by name.
        content: {application/json: {schema: {$ref: '#/components/schemas/ItemPage'}}}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/Unauthorized'}
    """
    page, limit = page_params()
    text = request.args.get("q", "")
    if len(text) > 255:
        raise InvalidInput("'q' can be at most 255 characters.", code="invalid_query")
    results, total = services().search.search(
        current_user.id, text, kind=query_choice("type", None, ("file", "folder")),
        content_type=request.args.get("content_type") or None,
        min_size=query_int("min_size", None, 0, MAX_SIZE), max_size=query_int("max_size", None, 0, MAX_SIZE),
        created_after=query_datetime("created_after"), created_before=query_datetime("created_before"),
        page=page, limit=limit)
    return page_response("items", [public_item(item, path) for item, path in results], total, page, limit)


@bp.get("/starred")
@login_required
def starred():
    """The caller's starred files and folders (not those in the trash).
    ---
    tags: [search]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    parameters:
      - $ref: '#/components/parameters/Limit'
      - $ref: '#/components/parameters/Page'
    responses:
      200:
        description: One page of starred items.
        content: {application/json: {schema: {$ref: '#/components/schemas/ItemPage'}}}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/Unauthorized'}
    """
    page, limit = page_params()
    items, total = services().drive.list_starred(current_user.id, page, limit)
    return page_response("items", [public_item(i) for i in items], total, page, limit)


@bp.get("/me/usage")
@login_required
def usage():
    """Storage usage: bytes on disk (each stored content once, trash included), bytes in the
    trash, quota, counts. Quota checks use `used_bytes`.
    ---
    tags: [auth]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    responses:
      200:
        description: The figures.
        content: {application/json: {schema: {$ref: '#/components/schemas/Usage'}}}
      401: {$ref: '#/components/responses/Unauthorized'}
    """
    return jsonify(services().search.usage(current_user.id))
