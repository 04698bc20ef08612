"""Reading the audit log: your drive's activity, who used each of your links, and (for
administrators) everything."""
from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from ..admin.routes import admin_only
from ..contract import arguments, authenticated, document, response
from ..errors import NOT_FOUND
from ..http import parse_datetime
from ..schemas import paged
from ..services import services
from .schemas import ActivityQuery, EventPageSchema, EventQuery

bp = Blueprint("audit", __name__, url_prefix="/api")


@bp.get("/me/activity")
@document(tags=["account"])
@authenticated
@arguments(ActivityQuery, "query")
@response(EventPageSchema, description="Events of your drive, newest first.")
def my_activity(query: dict):
    """What happened in your drive and account, newest first: logins (and failed ones),
    uploads, downloads, deletions and restores, links created, opened, unlocked and downloaded
    (with the address), tokens, password and two-factor changes. `action` keeps one kind."""
    log = services().audit
    log.flush()
    events, total = log.events.for_owner(current_user.id, query["action"], query["page"], query["limit"])
    return paged(events, total, query)


@bp.get("/shares/<share_id>/activity")
@document(tags=["sharing"])
@authenticated
@arguments(ActivityQuery, "query")
@response(EventPageSchema, description="What was done with the link, newest first.", errors=(NOT_FOUND,))
def share_activity(query: dict, share_id: str):
    """Who opened, unlocked and downloaded one of your links, and when (by address: a link
    needs no account), with its creation and changes."""
    services().shares.get(current_user.id, share_id)  # 404 unless it is the caller's
    log = services().audit
    log.flush()
    events, total = log.events.for_share(share_id, query["page"], query["limit"])
    return paged(events, total, query)


@bp.get("/admin/events")
@admin_only
@arguments(EventQuery, "query")
@response(EventPageSchema, description="Events, newest first.")
def all_events(query: dict):
    """Every event of the server, newest first; filter by `actor_id`, `action`, `since`."""
    since = parse_datetime(query["since"], "since") if query["since"] else None
    log = services().audit
    log.flush()
    events, total = log.events.search(query["actor_id"], query["action"], since, query["page"], query["limit"])
    return paged(events, total, query)
