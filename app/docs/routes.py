"""``/apidocs``: Swagger UI from app/static/swagger-ui, always on our own spec.

The page has no inline script (app/static/apidocs.js starts Swagger UI) so its CSP can be
strict; it loads nothing from another origin, and the query string cannot change the spec.
"""
from __future__ import annotations

from flask import Blueprint, make_response, render_template

bp = Blueprint("docs", __name__)

# blob: images are Swagger UI's rendering of an image response (e.g. a file preview).
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
    "connect-src 'self'", "form-action 'none'", "base-uri 'none'", "frame-ancestors 'none'",
))


@bp.get("/apidocs")
@bp.get("/apidocs/")
def apidocs():
    """The interactive API documentation (HTML); not part of the API itself."""
    response = make_response(render_template("apidocs.html"))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
