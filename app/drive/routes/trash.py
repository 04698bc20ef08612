"""Trash routes: list, restore, delete for good, empty."""
from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from ...contract import arguments, authenticated, response
from ...errors import MEMBER_FORBIDDEN, NOT_FOUND
from ...schemas import PageQuery, paged
from ...audit.record import audit
from ...services import services
from .. import actions
from ..schemas import DeletedCountSchema, ItemPageSchema, RestoredSchema

bp = Blueprint("trash", __name__, url_prefix="/api")


@bp.get("/trash")
@authenticated
@arguments(PageQuery, "query")
@response(ItemPageSchema, description="One page of trashed items.")
def list_trash(query: dict):
    """What is in the trash (items deleted directly; folders carry their contents), newest first.

    Items stay for `TRASH_RETENTION_DAYS` (default 30) before they are purged.
    """
    items, total = services().trash.list(current_user.id, query["page"], query["limit"])
    return paged(items, total, query)


@bp.post("/trash/<item_id>/restore")
@authenticated
@response(RestoredSchema, description="The restored item.", errors=(NOT_FOUND, MEMBER_FORBIDDEN))
def restore(item_id: str):
    """Put a trashed item (and what was trashed with it) back where it was.

    If its folder is in the trash too, that folder path is made again (`note:
    parent_recreated`); if its folder was deleted for good, it goes to the root (`note:
    restored_to_root`). A name now taken gets ` (1)` (`note: renamed`). An editor of a shared
    folder restores what was put in its owner's trash from inside it, by id.
    """
    return actions.restore_item(item_id)


@bp.delete("/trash/<item_id>")
@authenticated
@response(None, 204, "Deleted.", errors=(NOT_FOUND,))
def delete_forever(item_id: str):
    """Delete a trashed item for good (with everything trashed with it)."""
    actions.delete_trashed(item_id)


@bp.delete("/trash")
@authenticated
@response(DeletedCountSchema, description="How many trashed items were deleted.")
def empty_trash():
    """Empty the trash: every trashed item is deleted for good."""
    deleted = services().trash.empty(current_user.id)
    audit("trash_emptied", owner_id=current_user.id, count=deleted)
    return {"deleted": deleted}
