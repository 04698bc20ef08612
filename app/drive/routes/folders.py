"""Folder routes: create, tree, info, children, breadcrumbs (rename/move/copy/delete/star
are shared with files, see items.py)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user, login_required

from ..repo import SORT_FIELDS
from ..views import public_item
from ...http import json_object, optional_str, page_params, page_response, query_choice
from .items import add_item_routes
from ...services import services

bp = Blueprint("folders", __name__, url_prefix="/api")


@bp.post("/folders")
@login_required
def create_folder():
    """Create a folder.
    ---
    tags: [folders]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    description: >
      `parent_id` is a folder id or `root` (the default). Names follow the file name rules and
      are unique among siblings ignoring case: a clash is 409 `name_conflict`, or
      `Name (1)` with `on_conflict=rename`.
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [name]
            properties:
              name: {type: string, example: Reports}
              parent_id: {type: string, example: root}
              on_conflict: {type: string, enum: [fail, rename]}
    responses:
      201:
        description: The new folder.
        content: {application/json: {schema: {$ref: '#/components/schemas/Item'}}}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
      409: {$ref: '#/components/responses/Conflict'}
    """
    data = json_object()
    folder = services().drive.create_folder(current_user.id, data.get("name"), optional_str(data, "parent_id"),
                                            optional_str(data, "on_conflict"))
    return jsonify(public_item(folder)), 201


@bp.get("/folders/tree")
@login_required
def folder_tree():
    """Every folder of the caller, nested, in one call.
    ---
    tags: [folders]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    responses:
      200:
        description: The tree below the root.
        content:
          application/json:
            schema:
              type: object
              required: [id, name, children]
              properties:
                id: {type: string, example: root}
                name: {type: string}
                children: {type: array, items: {$ref: '#/components/schemas/FolderNode'}}
      401: {$ref: '#/components/responses/Unauthorized'}
    """
    return jsonify(id="root", name="", children=services().drive.folder_tree(current_user.id))


@bp.get("/folders/<folder_id>")
@login_required
def folder_info(folder_id: str):
    """A folder's record (`root` gives the root).
    ---
    tags: [folders]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    parameters:
      - $ref: '#/components/parameters/FolderId'
    responses:
      200:
        description: The folder (for `root`, a record without timestamps).
        content:
          application/json:
            schema:
              oneOf:
                - {$ref: '#/components/schemas/Item'}
                - {$ref: '#/components/schemas/RootFolder'}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    if folder_id == "root":
        return jsonify(id="root", type="folder", name="", parent_id=None, starred=False)
    return jsonify(public_item(services().drive.get(current_user.id, folder_id, "folder")))


@bp.get("/folders/<folder_id>/children")
@login_required
def list_children(folder_id: str):
    """A folder's contents: folders first, then files; paginated and sortable.
    ---
    tags: [folders]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    parameters:
      - $ref: '#/components/parameters/FolderId'
      - $ref: '#/components/parameters/Limit'
      - $ref: '#/components/parameters/Page'
      - {name: sort, in: query, schema: {type: string, enum: [name, created_at, updated_at, size], default: name}}
      - {name: order, in: query, schema: {type: string, enum: [asc, desc], default: asc}}
      - {name: name, in: query, schema: {type: string}, description: 'only the item with this name (any case)'}
    responses:
      200:
        description: One page of the folder's items.
        content: {application/json: {schema: {$ref: '#/components/schemas/ItemPage'}}}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    page, limit = page_params()
    sort = query_choice("sort", "name", tuple(SORT_FIELDS))
    descending = query_choice("order", "asc", ("asc", "desc")) == "desc"
    items, total = services().drive.list_children(current_user.id, folder_id, sort, descending, page, limit,
                                                  name=request.args.get("name"))
    return page_response("items", [public_item(i) for i in items], total, page, limit)


@bp.get("/folders/<folder_id>/path")
@login_required
def folder_path(folder_id: str):
    """The breadcrumb path of a folder, from the root down to it.
    ---
    tags: [folders]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    parameters:
      - $ref: '#/components/parameters/FolderId'
    responses:
      200:
        description: The crumbs; the first is the root.
        content:
          application/json:
            schema:
              type: object
              required: [path]
              properties:
                path:
                  type: array
                  items:
                    type: object
                    properties: {id: {type: string}, name: {type: string}}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    return jsonify(path=services().drive.breadcrumbs(current_user.id, folder_id))


add_item_routes(bp, "folder", "/folders")
