"""Finding things: search, starred items, usage."""
from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from ...contract import arguments, authenticated, document, response
from ...schemas import PageQuery, paged
from ...services import services
from ..schemas import ItemPageSchema, SearchQuery, UsageSchema

bp = Blueprint("search", __name__, url_prefix="/api")


@bp.get("/search")
@authenticated
@arguments(SearchQuery, "query")
@response(ItemPageSchema, description="One page of matches, folders first, by name.")
def search(query: dict):
    """Search the caller's files and folders by name and filters.

    `q` matches anywhere in the name, ignoring case (Unicode-aware); it is taken literally
    (`a.*` finds names containing "a.*"). Each result carries `path`, its folder's path.
    Items in the trash are not searched.
    """
    results, total = services().search.search(
        current_user.id, query["q"], kind=query["type"], content_type=query["content_type"],
        min_size=query["min_size"], max_size=query["max_size"], created_after=query["created_after"],
        created_before=query["created_before"], page=query["page"], limit=query["limit"])
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
    trash, quota, counts. Quota checks use `used_bytes`."""
    return services().search.usage(current_user.id)
