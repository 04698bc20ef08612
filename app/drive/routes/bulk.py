"""The bulk route: one action on many files and folders in one request (see app.drive.bulk)."""
from __future__ import annotations

from flask import Blueprint

from ...contract import arguments, authenticated, response
from .. import bulk as bulk_actions
from ..schemas import BULK_MAX_IDS, BulkResultsSchema, BulkSchema

bp = Blueprint("bulk", __name__, url_prefix="/api")


@bp.post("/items/bulk")
@authenticated
@arguments(BulkSchema)
@response(BulkResultsSchema, description="One result per id, in the order sent.")
def bulk(body: dict):
    """Move, copy, trash, restore, delete for good, star or unstar many files and folders at once.

    `action` applies to every id in `ids` (files and folders mixed, up to {max}); each goes
    through exactly the rules of its single route (`PATCH`, `POST .../copy`, `DELETE`,
    `POST /api/trash/<id>/restore`, `DELETE ...?permanent=true` or `DELETE /api/trash/<id>`,
    `PUT`/`DELETE .../star`), and the answer has one result per id, in order: `ok`, the
    `item` (move, copy, restore, star, unstar) or the `error` that route would answer with
    (`item_not_found` for ids that are not yours or shared with you). Each item is changed
    whole or not at all; the others go on. `parent_id` is required for `move` and optional for
    `copy` (else beside each original); `on_conflict` (`fail` or `rename`) defaults as on the
    single routes. A repeated id is done once. For move, trash, delete and restore, an item
    whose folder is also in the request goes with that folder when it succeeds (`note:
    with_folder`).
    """
    return bulk_actions.run(body["action"], body["ids"], body)


bulk.__doc__ = bulk.__doc__.replace("{max}", f"{BULK_MAX_IDS:,}")
