"""Folder routes: create, tree, info, children, breadcrumbs (rename/move/copy/delete/star
are shared with files, see items.py)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user

from ...contract import arguments, authenticated, response
from ...errors import CONFLICT, MEMBER_FORBIDDEN, NOT_FOUND
from ...members.access import WRITE, access_to
from ...schemas import paged
from ...services import services
from ..schemas import (ChildrenQuery, FolderCreateSchema, FolderPathSchema, FolderTreeSchema, ItemPageSchema,
                       ItemSchema, RootFolderSchema)
from .items import add_item_routes
from .zips import add_zip_routes

bp = Blueprint("folders", __name__, url_prefix="/api")


@bp.post("/folders")
@authenticated
@arguments(FolderCreateSchema)
@response(ItemSchema, 201, "The new folder.", errors=(NOT_FOUND, CONFLICT, MEMBER_FORBIDDEN))
def create_folder(body: dict):
    """Create a folder.

    `parent_id` is a folder id or `root` (the default); a folder shared with you as an
    editor works too. Names follow the file name rules and are unique among siblings
    ignoring case: a clash is 409 `name_conflict`, or `Name (1)` with `on_conflict=rename`.
    """
    access = access_to(body.get("parent_id"), "folder", WRITE)
    return services().drive.create_folder(access.owner_id, body["name"], body.get("parent_id"),
                                          body.get("on_conflict"))


@bp.get("/folders/tree")
@authenticated
@response(FolderTreeSchema, description="The tree below the root.")
def folder_tree():
    """Every folder of the caller, nested, in one call."""
    return {"id": "root", "name": "", "children": services().drive.folder_tree(current_user.id)}


@bp.get("/folders/<folder_id>")
@authenticated
@response(ItemSchema, description="The folder (for `root`, a record without timestamps).", errors=(NOT_FOUND,),
          one_of=(RootFolderSchema,))
def folder_info(folder_id: str):
    """A folder's record (`root` gives the root)."""
    if folder_id == "root":
        return jsonify(RootFolderSchema().dump({}))
    return access_to(folder_id, "folder").item


@bp.get("/folders/<folder_id>/children")
@authenticated
@arguments(ChildrenQuery, "query")
@response(ItemPageSchema, description="One page of the folder's items.", errors=(NOT_FOUND,))
def list_children(query: dict, folder_id: str):
    """A folder's contents: folders first, then files; paginated and sortable."""
    items, total = services().drive.list_children(access_to(folder_id, "folder").owner_id, folder_id, query["sort"], query["order"] == "desc",
                                                  query["page"], query["limit"], name=query["name"])
    return paged(items, total, query)


@bp.get("/folders/<folder_id>/path")
@authenticated
@response(FolderPathSchema, description="The crumbs; the first is the root.", errors=(NOT_FOUND,))
def folder_path(folder_id: str):
    """The breadcrumb path of a folder, from the root down to it.

    In a folder shared with you the path starts at the shared folder (nothing above it is
    yours to see), not at `root`.
    """
    access = access_to(folder_id, "folder")
    crumbs = services().drive.breadcrumbs(access.owner_id, folder_id)
    if not access.is_owner:
        start = next(n for n, crumb in enumerate(crumbs) if crumb["id"] == str(access.root_id))
        crumbs = crumbs[start:]
    return {"path": crumbs}


add_item_routes(bp, "folder", "/folders")
add_zip_routes(bp)
