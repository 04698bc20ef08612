"""The web app: one HTML shell at ``/``; everything else is the JSON API and static files."""
from __future__ import annotations

import os

from flask import Blueprint, current_app, render_template

from ..contract import NO_SECURITY, document
from ..version import __version__

bp = Blueprint("web", __name__)

# No inline script or style anywhere: script-src and style-src are 'self' only.
APP_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
           "media-src 'self'; frame-src 'none'; object-src 'none'; connect-src 'self'; base-uri 'none'; "
           "form-action 'self'; frame-ancestors 'none'")


@bp.get("/")
@document(security=NO_SECURITY, responses_raw={"200": {"description": "The web app's page.",
                                                      "content": {"text/html": {"schema": {"type": "string"}}}}})
def index():
    """The file manager (HTML). Not part of the API; see /apidocs for that."""
    response = current_app.make_response(render_template("app.html", modules=web_app_modules(), version=__version__,
                                                         page_size_max=current_app.config["PAGE_SIZE_MAX"]))
    response.headers["Content-Security-Policy"] = APP_CSP
    response.headers["Cache-Control"] = "no-cache"  # the shell holds no user data; revalidate each load
    return response


def web_app_modules() -> list[str]:
    """The ES modules of the web app (app/static/js/), preloaded by the page so the browser fetches
    them in parallel instead of discovering them import by import. Like every static file they are
    served ``no-cache`` and revalidated by ETag, so a page never mixes modules of two releases
    (no version in their URLs: the imports between them would need it too, i.e. a build step)."""
    folder = os.path.join(current_app.static_folder, "js")
    return sorted(name for name in os.listdir(folder) if name.endswith(".js"))
