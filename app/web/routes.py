"""The web app: one HTML shell at ``/``; everything else is the JSON API and static files."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("web", __name__)

# No inline script or style anywhere: script-src and style-src are 'self' only.
APP_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
           "media-src 'self'; frame-src 'none'; object-src 'none'; connect-src 'self'; base-uri 'none'; "
           "form-action 'self'; frame-ancestors 'none'")


@bp.get("/")
def index():
    """The file manager (HTML). Not part of the API; see /apidocs for that.
    ---
    tags: [web]
    security: []
    responses:
      200:
        description: The web app's page.
        content: {text/html: {schema: {type: string}}}
    """
    response = current_app.make_response(render_template("app.html"))
    response.headers["Content-Security-Policy"] = APP_CSP
    response.headers["Cache-Control"] = "no-cache"  # the shell holds no user data; revalidate each load
    return response
