"""Trash routes: list, restore, delete for good, empty."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user, login_required

from ..views import public_item
from ...http import page_params, page_response
from ...services import services

bp = Blueprint("trash", __name__, url_prefix="/api")


@bp.get("/trash")
@login_required
def list_trash():
    """What is in the trash (items deleted directly; folders carry their contents), newest first.
    ---
    tags: [trash]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    description: Items stay for `TRASH_RETENTION_DAYS` (default 30) before they are purged.
    parameters:
      - $ref: '#/components/parameters/Limit'
      - $ref: '#/components/parameters/Page'
    responses:
      200:
        description: One page of trashed items.
        content: {application/json: {schema: {$ref: '#/components/schemas/ItemPage'}}}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/Unauthorized'}
    """
    page, limit = page_params()
    items, total = services().trash.list(current_user.id, page, limit)
    return page_response("items", [public_item(i) for i in items], total, page, limit)


@bp.post("/trash/<item_id>/restore")
@login_required
def restore(item_id: str):
    """Put a trashed item (and what was trashed with it) back where it was.
    ---
    tags: [trash]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    description: >
      If its folder is in the trash too, that folder path is made again (`note:
      parent_recreated`); if its folder was deleted for good, it goes to the root (`note:
      restored_to_root`). A name now taken gets ` (1)` (`note: renamed`).
    parameters:
      - $ref: '#/components/parameters/ItemId'
    responses:
      200:
        description: The restored item.
        content:
          application/json:
            schema:
              type: object
              required: [item]
              properties:
                item: {$ref: '#/components/schemas/Item'}
                note: {type: string, nullable: true, enum: [parent_recreated, restored_to_root, renamed, null]}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    item, note = services().trash.restore(current_user.id, item_id)
    return jsonify(item=public_item(item), note=note)


@bp.delete("/trash/<item_id>")
@login_required
def delete_forever(item_id: str):
    """Delete a trashed item for good (with everything trashed with it).
    ---
    tags: [trash]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    parameters:
      - $ref: '#/components/parameters/ItemId'
    responses:
      204: {description: Deleted.}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    services().trash.delete_forever(current_user.id, item_id)
    return "", 204


@bp.delete("/trash")
@login_required
def empty_trash():
    """Empty the trash: every trashed item is deleted for good.
    ---
    tags: [trash]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    responses:
      200:
        description: How many trashed items were deleted.
        content:
          application/json:
            schema: {type: object, required: [deleted], properties: {deleted: {type: integer}}}
      401: {$ref: '#/components/responses/Unauthorized'}
    """
    return jsonify(deleted=services().trash.empty(current_user.id))
