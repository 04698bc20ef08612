"""What anyone with a link sees, without an account: ``/s/<token>/...``."""
from __future__ import annotations

from flask import (Blueprint, current_app, jsonify, redirect, render_template, request, session,
                   stream_with_context, url_for)
from flask_limiter.util import get_remote_address

from ..errors import Unauthorized
from ..extensions import limiter
from ..http import DOWNLOAD_CSP, json_or_form, page_params, page_response, send_download
from ..drive.repo import FILE
from ..drive.names import content_disposition
from ..services import services
from .archive import stream_zip
from .service import SharedItem
from .views import public_entry, public_share

bp = Blueprint("public", __name__, url_prefix="/s")

UNLOCKED_KEY = "unlocked_shares"
UNLOCKED_MAX = 20
PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
_TOKEN = "{name: token, in: path, required: true, schema: {type: string}}"


def _is_unlocked(shared: SharedItem) -> bool:
    return (not services().shares.needs_password(shared.share)
            or str(shared.share["_id"]) in session.get(UNLOCKED_KEY, []))


def _open(token: str) -> SharedItem:
    """The live share, which must be unlocked if it has a password."""
    shared = services().shares.resolve(token)
    if not _is_unlocked(shared):
        raise Unauthorized("This link needs its password: POST /s/<token>/unlock.", code="password_required")
    return shared


def _counts_as_download() -> bool:
    """A resumed or partial fetch (Range not starting at 0) or a HEAD is not a new download."""
    if request.method == "HEAD":
        return False
    spec = request.headers.get("Range", "")
    return not spec.startswith("bytes=") or spec[6:].split("-", 1)[0].strip() in ("", "0")


def _wants_html() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes[best] > request.accept_mimetypes["application/json"]


@bp.get("/<token>")
def share_info(token: str):
    """What a link points to (JSON), or a small page for browsers (Accept: text/html).
    ---
    tags: [public links]
    security: []
    description: >
      No account needed. Before a password-protected link is unlocked it only says that a
      password is needed. An unknown, expired, revoked or used-up link is 404 `share_not_found`.
    parameters:
      - {name: token, in: path, required: true, schema: {type: string}}
      - {name: folder_id, in: query, schema: {type: string}, description: 'HTML page only: a folder inside the shared one'}
    responses:
      200:
        description: The shared item.
        content:
          application/json: {schema: {$ref: '#/components/schemas/PublicShare'}}
          text/html: {schema: {type: string}}
      404: {$ref: '#/components/responses/NotFound'}
    """
    shares = services().shares
    shared = shares.resolve(token)
    unlocked = _is_unlocked(shared)
    if not _wants_html():
        return jsonify(public_share(shared.share, shared.item, unlocked))
    context = {"token": token, "share": public_share(shared.share, shared.item, unlocked), "entries": [],
               "folder": None, "error": request.args.get("error")}
    if unlocked and shared.item["type"] != FILE:
        folder = shares.folder_in(shared, request.args.get("folder_id"))
        items, _ = shares.list_folder(shared, folder, 1, current_app.config["PAGE_SIZE_MAX"])
        context.update(folder=public_entry(folder), entries=[public_entry(i) for i in items],
                       is_top=folder["_id"] == shared.item["_id"])
    response = current_app.make_response(render_template("share.html", **context))
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/<token>/unlock")
@limiter.limit(lambda: current_app.config["SHARE_PASSWORD_RATE_LIMIT"],
               key_func=lambda: f"share-unlock:{get_remote_address()}:{request.view_args.get('token', '')[:64]}")
def unlock(token: str):
    """Give a link's password; the browser session remembers it.
    ---
    tags: [public links]
    security: []
    description: >
      JSON or form `{password}`. A form post (from the link's page) is answered with a
      redirect back to the page. Wrong guesses are throttled (429 with `Retry-After`).
    parameters:
      - {name: token, in: path, required: true, schema: {type: string}}
    requestBody:
      required: true
      content:
        application/json:
          schema: {type: object, required: [password], properties: {password: {type: string}}}
        application/x-www-form-urlencoded:
          schema: {type: object, required: [password], properties: {password: {type: string}}}
    responses:
      200:
        description: Unlocked.
        content: {application/json: {schema: {$ref: '#/components/schemas/PublicShare'}}}
      303: {description: Unlocked (form post); back to the page.}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
      429: {$ref: '#/components/responses/TooManyRequests'}
    """
    shares = services().shares
    shared = shares.resolve(token)
    from_form = not request.is_json
    password = json_or_form().get("password")
    if not shares.password_matches(shared.share, password) and shares.needs_password(shared.share):
        if from_form:
            return redirect(url_for("public.share_info", token=token, error="wrong_password"), code=303)
        raise Unauthorized("Wrong password.", code="wrong_password")
    unlocked = [s for s in session.get(UNLOCKED_KEY, []) if s != str(shared.share["_id"])]
    session[UNLOCKED_KEY] = (unlocked + [str(shared.share["_id"])])[-UNLOCKED_MAX:]
    if from_form:
        return redirect(url_for("public.share_info", token=token), code=303)
    return jsonify(public_share(shared.share, shared.item, True))


def _send_shared_file(shared: SharedItem, file: dict):
    if _counts_as_download():
        services().shares.count_download(shared)
    return send_download(services().drive.download(file))


@bp.get("/<token>/download")
def download(token: str):
    """Download the shared file (Range and conditional requests work as for owners).
    ---
    tags: [public links]
    security: []
    parameters:
      - {name: token, in: path, required: true, schema: {type: string}}
    responses:
      200:
        description: The bytes, as an attachment, with the content type stored for the file.
        content: {'*/*': {schema: {type: string, format: binary}}}
      206: {description: The requested byte range.}
      304: {description: Not modified.}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    shared = _open(token)
    return _send_shared_file(shared, services().shares.file_in(shared))


@bp.get("/<token>/files/<file_id>")
def download_file_in_folder(token: str, file_id: str):
    """Download one file from a shared folder.
    ---
    tags: [public links]
    security: []
    parameters:
      - {name: token, in: path, required: true, schema: {type: string}}
      - {name: file_id, in: path, required: true, schema: {type: string}}
    responses:
      200:
        description: The bytes, as an attachment, with the content type stored for the file.
        content: {'*/*': {schema: {type: string, format: binary}}}
      206: {description: The requested byte range.}
      304: {description: Not modified.}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    shared = _open(token)
    return _send_shared_file(shared, services().shares.file_in(shared, file_id))


@bp.get("/<token>/items")
def list_items(token: str):
    """List a shared folder (or a folder inside it): folders first, by name.
    ---
    tags: [public links]
    security: []
    parameters:
      - {name: token, in: path, required: true, schema: {type: string}}
      - {name: folder_id, in: query, schema: {type: string}}
      - $ref: '#/components/parameters/Limit'
      - $ref: '#/components/parameters/Page'
    responses:
      200:
        description: One page of the folder.
        content:
          application/json:
            schema:
              type: object
              required: [folder, items, page, limit, total, pages]
              properties:
                folder: {$ref: '#/components/schemas/PublicEntry'}
                items: {type: array, items: {$ref: '#/components/schemas/PublicEntry'}}
                page: {type: integer}
                limit: {type: integer}
                total: {type: integer}
                pages: {type: integer}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    shared = _open(token)
    shares = services().shares
    folder = shares.folder_in(shared, request.args.get("folder_id"))
    page, limit = page_params()
    items, total = shares.list_folder(shared, folder, page, limit)
    return page_response("items", [public_entry(i) for i in items], total, page, limit, folder=public_entry(folder))


@bp.get("/<token>/zip")
def download_zip(token: str):
    """Download a shared folder (or a folder inside it) as a ZIP, streamed as it is built.
    ---
    tags: [public links]
    security: []
    parameters:
      - {name: token, in: path, required: true, schema: {type: string}}
      - {name: folder_id, in: query, schema: {type: string}}
    responses:
      200:
        description: The archive.
        content: {application/zip: {schema: {type: string, format: binary}}}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    shared = _open(token)
    shares, drive = services().shares, services().drive
    folder = shares.folder_in(shared, request.args.get("folder_id"))
    entries = shares.archive_entries(shared, folder)
    shares.count_download(shared)

    def opener(item):
        path = drive.download(item).path
        return lambda: open(path, "rb")
    members = [(name, item["updated_at"], opener(item) if item["type"] == FILE else None) for name, item in entries]
    response = current_app.response_class(stream_with_context(stream_zip(members)), mimetype="application/zip")
    response.headers["Content-Disposition"] = content_disposition(folder["name"] + ".zip")
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response


