"""Routes that files and folders share (rename/move, delete, copy, star), defined once.

Each is registered on both blueprints with its Swagger docstring filled in for the kind.
"""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user, login_required

from ..views import public_item
from ...http import json_object, optional_str, query_bool
from ...services import services

_ID = "{{name: {kind}_id, in: path, required: true, schema: {{type: string}}, description: 'The {kind} id'}}"

_UPDATE_DOC = """Rename and/or move a {kind} (metadata only; no bytes move).
---
tags: [{tag}]
security: [{{cookieAuth: []}}, {{bearerAuth: []}}]
description: >
  Send `name` to rename, `parent_id` (a folder id or `root`) to move, or both. A sibling
  with the same name (ignoring case) is a 409 `name_conflict` unless `on_conflict` is
  `rename` (gives `name (1)`).{extra}
parameters:
  - {id}
requestBody:
  required: true
  content:
    application/json:
      schema: {{$ref: '#/components/schemas/ItemUpdate'}}
responses:
  200:
    description: The updated {kind}.
    content: {{application/json: {{schema: {{$ref: '#/components/schemas/Item'}}}}}}
  400: {{$ref: '#/components/responses/BadRequest'}}
  401: {{$ref: '#/components/responses/Unauthorized'}}
  404: {{$ref: '#/components/responses/NotFound'}}
  409: {{$ref: '#/components/responses/Conflict'}}
"""

_DELETE_DOC = """Delete a {kind}: to the trash by default, for good with `permanent=true`.
---
tags: [{tag}]
security: [{{cookieAuth: []}}, {{bearerAuth: []}}]
description: >
  Without `permanent` the {kind} moves to the trash{recursive}: it leaves listings and
  search, its bytes still count toward the quota, and `POST /api/trash/<id>/restore` puts it
  back. With `permanent=true` the records are deleted, then bytes that nothing else uses.
parameters:
  - {id}
  - {{name: permanent, in: query, schema: {{type: boolean, default: false}}}}
responses:
  204: {{description: Deleted.}}
  400: {{$ref: '#/components/responses/BadRequest'}}
  401: {{$ref: '#/components/responses/Unauthorized'}}
  404: {{$ref: '#/components/responses/NotFound'}}
"""

_COPY_DOC = """Copy a {kind}{recursive}; bytes are shared, never duplicated on disk.
---
tags: [{tag}]
security: [{{cookieAuth: []}}, {{bearerAuth: []}}]
description: >
  Optional JSON body: `parent_id` (default: the same folder), `name` (default: the same
  name), `on_conflict` (`rename` by default, giving `name (1)`; or `fail` for a 409).
parameters:
  - {id}
requestBody:
  required: false
  content:
    application/json:
      schema: {{$ref: '#/components/schemas/ItemUpdate'}}
responses:
  201:
    description: The new {kind}.
    content: {{application/json: {{schema: {{$ref: '#/components/schemas/Item'}}}}}}
  400: {{$ref: '#/components/responses/BadRequest'}}
  401: {{$ref: '#/components/responses/Unauthorized'}}
  404: {{$ref: '#/components/responses/NotFound'}}
  409: {{$ref: '#/components/responses/Conflict'}}
"""

_STAR_DOC = """{verb} a {kind}.
---
tags: [{tag}]
security: [{{cookieAuth: []}}, {{bearerAuth: []}}]
parameters:
  - {id}
responses:
  200:
    description: The {kind}.
    content: {{application/json: {{schema: {{$ref: '#/components/schemas/Item'}}}}}}
  401: {{$ref: '#/components/responses/Unauthorized'}}
  404: {{$ref: '#/components/responses/NotFound'}}
"""

_MISSING_PARENT = object()


def add_item_routes(bp: Blueprint, kind: str, prefix: str) -> None:
    tag = f"{kind}s"
    id_name = f"{kind}_id"
    fill = {"kind": kind, "tag": tag, "id": _ID.format(kind=kind),
            "recursive": " with everything inside it" if kind == "folder" else "",
            "extra": " Moving a folder into itself or its own subfolder is a 409 `move_into_descendant`."
            if kind == "folder" else ""}

    def update(**ids: str):
        item_id = ids[id_name]
        data = json_object()
        parent = data["parent_id"] if "parent_id" in data else _MISSING_PARENT
        if parent is not _MISSING_PARENT:
            parent = optional_str(data, "parent_id") or "root"
        kwargs = {} if parent is _MISSING_PARENT else {"parent": parent}
        item = services().drive.update(current_user.id, item_id, kind, name=optional_str(data, "name"),
                                       on_conflict=optional_str(data, "on_conflict"), **kwargs)
        return jsonify(public_item(item))

    def delete(**ids: str):
        item_id = ids[id_name]
        if query_bool("permanent"):
            services().trash.delete_forever(current_user.id, item_id, kind, must_be_trashed=False)
        else:
            services().trash.trash(current_user.id, item_id, kind)
        return "", 204

    def copy(**ids: str):
        item_id = ids[id_name]
        data = json_object(optional=True)
        kwargs = {"parent": optional_str(data, "parent_id") or "root"} if "parent_id" in data else {}
        item = services().drive.copy(current_user.id, item_id, kind, name=optional_str(data, "name"),
                                     on_conflict=optional_str(data, "on_conflict"), **kwargs)
        return jsonify(public_item(item)), 201

    def star(**ids: str):
        item_id = ids[id_name]
        return jsonify(public_item(services().drive.set_starred(current_user.id, item_id, kind, True)))

    def unstar(**ids: str):
        item_id = ids[id_name]
        return jsonify(public_item(services().drive.set_starred(current_user.id, item_id, kind, False)))

    routes = [
        ("PATCH", "", update, _UPDATE_DOC.format(**fill)),
        ("DELETE", "", delete, _DELETE_DOC.format(**fill)),
        ("POST", "/copy", copy, _COPY_DOC.format(**fill)),
        ("PUT", "/star", star, _STAR_DOC.format(verb="Star", **fill)),
        ("DELETE", "/star", unstar, _STAR_DOC.format(verb="Unstar", **fill)),
    ]
    for method, suffix, view, doc in routes:
        view.__doc__ = doc
        view.__name__ = f"{view.__name__}_{kind}"
        bp.add_url_rule(f"{prefix}/<{id_name}>{suffix}", endpoint=view.__name__, view_func=login_required(view),
                        methods=[method])
