"""Routes that files and folders share (rename/move, delete, copy, star), defined once and
registered on both blueprints; the docstrings name the kind."""
from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from ...contract import arguments, authenticated, response
from ...errors import CONFLICT, NOT_FOUND
from ...audit.record import audit
from ...services import services
from ..schemas import DeleteQuery, ItemSchema, ItemUpdateSchema

_UPDATE_DOC = """Rename and/or move a {kind} (metadata only; no bytes move).

Send `name` to rename, `parent_id` (a folder id or `root`) to move, or both. A sibling
with the same name (ignoring case) is a 409 `name_conflict` unless `on_conflict` is
`rename` (gives `name (1)`).{extra}"""

_DELETE_DOC = """Delete a {kind}: to the trash by default, for good with `permanent=true`.

Without `permanent` the {kind} moves to the trash{recursive}: it leaves listings and
search, its bytes still count toward the quota, and `POST /api/trash/<id>/restore` puts it
back. With `permanent=true` the records are deleted, then bytes that nothing else uses."""

_COPY_DOC = """Copy a {kind}{recursive}; bytes are shared, never duplicated on disk.

Optional JSON body: `parent_id` (default: the same folder), `name` (default: the same
name), `on_conflict` (`rename` by default, giving `name (1)`; or `fail` for a 409)."""


def _moved_to(body: dict) -> dict:
    """``parent_id`` given (``null`` is the root) or not at all."""
    return {"parent": body["parent_id"] or "root"} if "parent_id" in body else {}


def add_item_routes(bp: Blueprint, kind: str, prefix: str) -> None:
    id_name = f"{kind}_id"
    fill = {"kind": kind, "recursive": " with everything inside it" if kind == "folder" else "",
            "extra": " Moving a folder into itself or its own subfolder is a 409 `move_into_descendant`."
            if kind == "folder" else ""}

    @arguments(ItemUpdateSchema)
    @response(ItemSchema, description=f"The updated {kind}.", errors=(NOT_FOUND, CONFLICT))
    def update(body: dict, **ids: str):
        return services().drive.update(current_user.id, ids[id_name], kind, name=body.get("name"),
                                       on_conflict=body.get("on_conflict"), **_moved_to(body))

    @arguments(DeleteQuery, "query")
    @response(None, 204, "Deleted.", errors=(NOT_FOUND,))
    def delete(query: dict, **ids: str):
        if query["permanent"]:
            services().trash.delete_forever(current_user.id, ids[id_name], kind, must_be_trashed=False)
        else:
            services().trash.trash(current_user.id, ids[id_name], kind)
        audit("deleted_for_good" if query["permanent"] else "trashed", owner_id=current_user.id,
              target_id=ids[id_name], kind=kind)

    @arguments(ItemUpdateSchema, "optional_json")
    @response(ItemSchema, 201, f"The new {kind}.", errors=(NOT_FOUND, CONFLICT))
    def copy(body: dict, **ids: str):
        return services().drive.copy(current_user.id, ids[id_name], kind, name=body.get("name"),
                                     on_conflict=body.get("on_conflict"), **_moved_to(body))

    @response(ItemSchema, description=f"The {kind}.", errors=(NOT_FOUND,))
    def star(**ids: str):
        return services().drive.set_starred(current_user.id, ids[id_name], kind, True)

    @response(ItemSchema, description=f"The {kind}.", errors=(NOT_FOUND,))
    def unstar(**ids: str):
        return services().drive.set_starred(current_user.id, ids[id_name], kind, False)

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
