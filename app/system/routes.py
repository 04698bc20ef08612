"""Health of the service, for people and for load balancers."""
from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app

from ..contract import document, response
from ..db import get_db
from ..version import __version__
from .schemas import StatusSchema

log = logging.getLogger(__name__)

bp = Blueprint("system", __name__, url_prefix="/api")


@bp.get("/status")
@response(StatusSchema, description="Up, and the database answers.")
@document(responses_raw={"503": {"description": "The database cannot be reached.",
                                 "content": {"application/json": {"schema": StatusSchema}}}})
def status():
    """Service health; no login needed."""
    database = get_db()
    try:
        database.ping()
        reachable = True
    except Exception:  # any failure means "not reachable" for a health check
        log.warning("status check: database unreachable")
        reachable = False
    body = {
        "status": "ok" if reachable else "degraded",
        "version": __version__,
        "uptime_s": round(time.monotonic() - current_app.config["STARTED_AT"], 3),
        "database": {"kind": database.kind, "reachable": reachable},
    }
    return body, 200 if reachable else 503
