"""Share links, for their owner: create, list, show, edit, revoke."""
from __future__ import annotations

from flask import Blueprint, url_for
from flask_login import current_user

from ..contract import arguments, authenticated, response
from ..errors import NOT_FOUND
from ..audit.record import audit
from ..services import services
from .schemas import (ShareCreatedSchema, ShareCreateSchema, ShareListQuery, ShareListSchema, ShareSchema,
                      ShareSettingsSchema, owned)

bp = Blueprint("shares", __name__, url_prefix="/api")


@bp.post("/shares")
@authenticated
@arguments(ShareCreateSchema)
@response(ShareCreatedSchema, 201, "The link.", errors=(NOT_FOUND,))
def create_share(body: dict):
    """Create a link to a file or folder that works without an account.

    The answer holds the link (`url`) once; only a hash is kept. Options: `expires_at`,
    `password` (asked once per browser session; wrong guesses are throttled),
    `max_downloads`, `label`. Anyone with the link can read the file, or browse the
    folder, download single files from it or all of it as a ZIP.
    """
    share, token = services().shares.create(current_user.id, **body)
    audit("share_created", owner_id=current_user.id, share_id=share["_id"], target_id=share["item_id"],
          password=body.get("password") is not None)
    return {"share": owned(share, "active"), "url": url_for("public.share_info", token=token, _external=True),
            "token": token}


@bp.get("/shares")
@authenticated
@arguments(ShareListQuery, "query")
@response(ShareListSchema, description="The links.", errors=(NOT_FOUND,))
def list_shares(query: dict):
    """The caller's links (all, or those of one item), newest first, with their use."""
    return {"shares": [owned(*row) for row in services().shares.list(current_user.id, query["item_id"])]}


@bp.get("/shares/<share_id>")
@authenticated
@response(ShareSchema, description="The link.", errors=(NOT_FOUND,))
def get_share(share_id: str):
    """One link."""
    return owned(*services().shares.get(current_user.id, share_id))


@bp.patch("/shares/<share_id>")
@authenticated
@arguments(ShareSettingsSchema)
@response(ShareSchema, description="The link.", errors=(NOT_FOUND,))
def update_share(body: dict, share_id: str):
    """Change a link's label, expiry, password or download limit (`null` removes one).

    Every PATCH (even one that changes nothing) ends earlier unlocks and resume allowances:
    browsers that gave the password must give it again.
    """
    updated = owned(*services().shares.update(current_user.id, share_id, **body))
    audit("share_changed", owner_id=current_user.id, share_id=share_id, fields=sorted(body))
    return updated


@bp.delete("/shares/<share_id>")
@authenticated
@response(None, 204, "Revoked.", errors=(NOT_FOUND,))
def revoke_share(share_id: str):
    """Revoke a link: it stops working at once, for good (restoring the item does not revive it)."""
    services().shares.revoke(current_user.id, share_id)
    audit("share_revoked", owner_id=current_user.id, share_id=share_id)
