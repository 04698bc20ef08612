"""Routes that files and folders share (rename/move, delete, copy, star), defined once and
registered on both blueprints; the docstrings name the kind."""
from __future__ import annotations

from flask import Blueprint

from ...contract import arguments, authenticated, document, response
from ...errors import CONFLICT, IF_MATCH_FAILED, MEMBER_FORBIDDEN, NOT_FOUND
from ...http import if_match
from .. import actions
from ..schemas import DeleteQuery, ItemSchema, ItemUpdateSchema

_UPDATE_DOC = """Rename and/or move a {kind} (metadata only; no bytes move).

Send `name` to rename, `parent_id` (a folder id or `root`) to move, or both. A sibling
with the same name (ignoring case) is a 409 `name_conflict` unless `on_conflict` is
`rename` (gives `name (1)`).{extra} `If-Match` with the file's ETag (its `sha256`, quoted)
makes the change only if nobody changed the file since (else 412). In a folder shared with
you as an editor, it moves only within what is shared with you (403 `outside_share`)."""

_DELETE_DOC = """Delete a {kind}: to the trash by default, for good with `permanent=true`.

Without `permanent` the {kind} moves to the trash{recursive}: it leaves listings and
search, its bytes still count toward the quota, and `POST /api/trash/<id>/restore` puts it
back. With `permanent=true` the records are deleted, then bytes that nothing else uses.
An editor of a shared folder puts items in its owner's trash (shown as `trashed_by`); only
the owner deletes for good."""

_COPY_DOC = """Copy a {kind}{recursive}; bytes are shared, never duplicated on disk.

Optional JSON body: `parent_id` (default: the same folder), `name` (default: the same
name), `on_conflict` (`rename` by default, giving `name (1)`; or `fail` for a 409). A {kind}
shared with you copies into your own drive with `parent_id` (`root` or one of your folders):
its bytes are stored again there and count against your quota."""


IF_MATCH_HEADER = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
                   "description": "Optional: the file's ETag (its `sha256`, quoted) as you last read it; the "
                                  "change is made only if it is still the file's (else 412)."}


def add_item_routes(bp: Blueprint, kind: str, prefix: str) -> None:
    id_name = f"{kind}_id"
    fill = {"kind": kind, "recursive": " with everything inside it" if kind == "folder" else "",
            "extra": " Moving a folder into itself or its own subfolder is a 409 `move_into_descendant`."
            if kind == "folder" else ""}

    @arguments(ItemUpdateSchema)
    @response(ItemSchema, description=f"The updated {kind}.", errors=(NOT_FOUND, CONFLICT, MEMBER_FORBIDDEN,
                                                                       IF_MATCH_FAILED))
    @document(parameters_raw=[IF_MATCH_HEADER])
    def update(body: dict, **ids: str):
        precondition = if_match()
        return actions.update_item(ids[id_name], kind, body, precondition.check if precondition else None)

    @arguments(DeleteQuery, "query")
    @response(None, 204, "Deleted.", errors=(NOT_FOUND, MEMBER_FORBIDDEN))
    def delete(query: dict, **ids: str):
        actions.delete_item(ids[id_name], kind, query["permanent"])

    @arguments(ItemUpdateSchema, "optional_json")
    @response(ItemSchema, 201, f"The new {kind}.", errors=(NOT_FOUND, CONFLICT, MEMBER_FORBIDDEN))
    def copy(body: dict, **ids: str):
        return actions.copy_item(ids[id_name], kind, body)

    @response(ItemSchema, description=f"The {kind}.", errors=(NOT_FOUND, MEMBER_FORBIDDEN))
    def star(**ids: str):
        return actions.set_star(ids[id_name], kind, True)

    @response(ItemSchema, description=f"The {kind}.", errors=(NOT_FOUND, MEMBER_FORBIDDEN))
    def unstar(**ids: str):
        return actions.set_star(ids[id_name], kind, False)

    routes = [
        ("PATCH", "", update, _UPDATE_DOC.format(**fill)),
        ("DELETE", "", delete, _DELETE_DOC.format(**fill)),
        ("POST", "/copy", copy, _COPY_DOC.format(**fill)),
        ("PUT", "/star", star, f"Star a {kind}."),
        ("DELETE", "/star", unstar, f"Unstar a {kind}."),
    ]
    for method, suffix, view, doc in routes:
        view.__doc__ = doc
        view.__name__ = f"{view.__name__}_{kind}"
        bp.add_url_rule(f"{prefix}/<{id_name}>{suffix}", endpoint=view.__name__, view_func=authenticated(view),
                        methods=[method])
