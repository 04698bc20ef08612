"""Finding things: search, starred items, usage."""
from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from ...contract import arguments, authenticated, document, response
from ...errors import NOT_FOUND
from ...members.access import access_to
from ...schemas import PageQuery, paged
from ...services import services
from ..schemas import ItemPageSchema, SearchQuery, UsageSchema

bp = Blueprint("search", __name__, url_prefix="/api")


@bp.get("/search")
@authenticated
@arguments(SearchQuery, "query")
@response(ItemPageSchema, description="One page of matches, folders first, by name.", errors=(NOT_FOUND,))
def search(query: dict):
    """Search the caller's files and folders by name and filters.

    `q` matches anywhere in the name, ignoring case (Unicode-aware); it is taken literally
    (`a.*` finds names containing "a.*"). Each result carries `path`, its folder's path.
    Items in the trash are not searched. `folder_id` searches below one folder: one of the
    caller's, or one shared with them (then in its owner's drive, and each `path` starts at the
    shared folder: nothing above it is named).
    """
    owner_id, within, paths_from = current_user.id, None, None
    if query["folder_id"] not in (None, "", "root"):
        access = access_to(query["folder_id"], "folder")
        owner_id, within = access.owner_id, access.item
        if not access.is_owner:
            paths_from = access.chain[-1]  # the shared folder the member reaches it through
    results, total = services().search.search(
        owner_id, query["q"], kind=query["type"], content_type=query["content_type"],
        min_size=query["min_size"], max_size=query["max_size"], created_after=query["created_after"],
        created_before=query["created_before"], page=query["page"], limit=query["limit"], within=within,
        paths_from=paths_from)
    return paged([{**item, "path": path} for item, path in results], total, query)


@bp.get("/starred")
@authenticated
@arguments(PageQuery, "query")
@response(ItemPageSchema, description="One page of starred items.")
def starred(query: dict):
    """The caller's starred files and folders (not those in the trash)."""
    items, total = services().drive.list_starred(current_user.id, query["page"], query["limit"])
    return paged(items, total, query)


@bp.get("/me/usage")
@authenticated
@response(UsageSchema, description="The figures.")
@document(tags=["auth"])
def usage():
    """Storage usage: bytes on disk (each stored content once, trash included), bytes in the
    trash, quota, counts. Quota checks use `used_bytes`.

    What fills it: live files, kept versions and the trash at their sizes (identical contents
    are stored once, so these can add up to more than `used_bytes`), with the retention
    settings that decide how long versions and trashed items stay."""
    return services().search.usage(current_user.id)
