"""Health of the service, for people and for load balancers."""
from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, jsonify

from ..db import get_db
from ..version import __version__

log = logging.getLogger(__name__)

bp = Blueprint("system", __name__, url_prefix="/api")


@bp.get("/status")
def status():
    """Service health; no login needed.
    ---
    tags: [system]
    responses:
      200:
        description: Up, and the database answers.
        content: {application/json: {schema: {$ref: '#/components/schemas/Status'}}}
      503:
        description: The database cannot be reached.
        content: {application/json: {schema: {$ref: '#/components/schemas/Status'}}}
    """
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
    return jsonify(body), 200 if reachable else 503
