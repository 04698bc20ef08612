"""What anyone with a link sees, without an account: ``/s/<token>/...``.

Every response under ``/s/`` sends ``Referrer-Policy: no-referrer`` (the token is in the URL).
A browser (Accept prefers text/html) that opens a link that does not work gets one friendly
page with status 404, the same for unknown, expired, used-up and revoked links.
"""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import TooManyRequests

from ..contract import NO_SECURITY, arguments, document, response
from ..drive.routes.files import DOWNLOAD_RESPONSES
from ..drive.routes.files import UPLOAD_BODY
from ..drive.service import UploadPart
from ..errors import (INSUFFICIENT_STORAGE, LINK_FULL, LINK_LOCKED, NOT_FOUND, TOO_LARGE, TOO_MANY_REQUESTS,
                      WRONG_LINK_PASSWORD, ZIP_TOO_LARGE, AppError, ErrorCode, InvalidInput, NotFound, QuotaExceeded,
                      Unauthorized, error_response)
from ..request import stage_uploads_into
from ..extensions import limiter
from ..http import ZIP_RESPONSES, send_download, send_zip
from ..drive.repo import FILE
from ..schemas import paged
from ..audit.record import audit
from ..services import services
from .archive import stream_zip
from .schemas import (DropResultSchema, PublicEntrySchema, PublicFolderQuery, PublicPageSchema, PublicShareSchema, UnlockSchema,
                      ZipQuery, public_share)
from .service import READ, UPLOAD, SharedItem, epoch, mode_of, share_not_found

bp = Blueprint("public", __name__, url_prefix="/s")

# Session keys (Flask's signed cookie, which anonymous visitors have too): unlocked links as
# "<share id>:<epoch>", and ids of resume allowances (see ShareService.charge).
UNLOCKED_KEY = "unlocked_shares"
GRANTS_KEY = "share_grants"
# What this browser uploaded through upload-only links: [share id, name, size], the newest
# DROPS_KEPT (a signed cookie holds them; names cut to DROP_NAME_SHOWN characters).
DROPS_KEY = "share_drops"
DROPS_KEPT, DROP_NAME_SHOWN = 10, 80
REMEMBERED_MAX = 20
PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
# Only a file drop's page runs a script (static/drop.js sends each file with progress): this
# origin's files, nothing inline; every other page of a link runs none.
DROP_PAGE_CSP = PAGE_CSP + "; script-src 'self'; connect-src 'self'"
_ENTRY = PublicEntrySchema()
_SHARE = PublicShareSchema()


def _remember(key: str, value: str) -> None:
    """Add ``value`` to a bounded list kept in the session (the newest win)."""
    kept = [v for v in session.get(key, []) if v != value]
    session[key] = (kept + [value])[-REMEMBERED_MAX:]


def _unlock_mark(shared: SharedItem) -> str:
    return f"{shared.share['_id']}:{epoch(shared.share)}"


def _is_unlocked(shared: SharedItem) -> bool:
    return (not services().shares.needs_password(shared.share)
            or _unlock_mark(shared) in session.get(UNLOCKED_KEY, []))


def _open(token: str, resumable: bool = False, mode: str = READ) -> SharedItem:
    """The live share, which must be unlocked if it has a password, and be a link of ``mode``
    (an upload-only link is a 404 for every reading route, and a read link for uploads). With
    ``resumable``, a used-up link still opens for a session resuming a download it was charged for."""
    grants = session.get(GRANTS_KEY, []) if resumable else None
    shared = services().shares.resolve(token, grants)
    if mode_of(shared.share) != mode:
        raise share_not_found()
    if not _is_unlocked(shared):
        raise Unauthorized("This link needs its password: POST /s/<token>/unlock.", code=ErrorCode.PASSWORD_REQUIRED)
    return shared


def _wants_html() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes[best] > request.accept_mimetypes["application/json"]


def _page(status: int = 200, **context):
    response = current_app.make_response((render_template("share.html", **context), status))
    drop_page = (context.get("share") or {}).get("mode") == "upload"
    response.headers["Content-Security-Policy"] = DROP_PAGE_CSP if drop_page else PAGE_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response


GONE = {"title": "This link does not work",
        "text": "It may have expired, been used up, or been turned off by the person who shared it. "
                "Ask them for a new link."}
THROTTLED = {"title": "Too many tries",
             "text": "That password was tried too often. Wait a little, then open the link again."}


@bp.after_app_request
def _no_referrer(response):
    if request.path == "/s" or request.path.startswith("/s/"):
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.errorhandler(NotFound)
def _link_not_found(error: NotFound):
    """The same 404 for every link that does not work; a page for browsers, JSON for programs."""
    if _wants_html():
        return _page(404, notice=GONE)
    return error_response(error.status, error.code, error.message)


@bp.errorhandler(Unauthorized)
def _locked(error: Unauthorized):
    """A browser that opens a locked link's download or folder goes to the password form."""
    if error.code == ErrorCode.PASSWORD_REQUIRED and _wants_html():
        return redirect(url_for("public.share_info", token=request.view_args["token"]), code=303)
    return error_response(error.status, error.code, error.message)


@bp.errorhandler(TooManyRequests)
def _throttled(error: TooManyRequests):
    response = _page(429, notice=THROTTLED) if _wants_html() else error_response(
        429, ErrorCode.TOO_MANY_REQUESTS, ErrorCode.TOO_MANY_REQUESTS.example)
    for name, value in error.get_headers():  # Retry-After, as the app's own handler keeps it
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


@bp.get("/<token>")
@response(PublicShareSchema, description="The shared item.", errors=(NOT_FOUND,))
@document(security=NO_SECURITY, parameters_raw=[
    {"name": "folder_id", "in": "query", "schema": {"type": "string"},
     "description": "HTML page only: a folder inside the shared one"}],
    responses_raw={"200": {"description": "The shared item.", "content": {
        "application/json": {"schema": PublicShareSchema}, "text/html": {"schema": {"type": "string"}}}}})
def share_info(token: str):
    """What a link points to (JSON), or a small page for browsers (Accept: text/html).

    No account needed. Before a password-protected link is unlocked it only says that a
    password is needed. An unknown, expired, revoked or used-up link is 404 `share_not_found`.
    """
    shares = services().shares
    shared = shares.resolve(token)
    unlocked = _is_unlocked(shared)
    _audit_link("link_opened", shared)
    info = public_share(shared.share, shared.item, unlocked, _my_drops(shared))
    if not _wants_html():
        return info
    context = {"token": token, "share": _SHARE.dump(info), "entries": [], "folder": None,
               "error": request.args.get("error"),
               "uploaded_now": request.args.get("uploaded") if request.args.get("uploaded", "").isdigit() else None}
    if unlocked and mode_of(shared.share) == READ and shared.item["type"] != FILE:
        folder = shares.folder_in(shared, request.args.get("folder_id"))
        items, _ = shares.list_folder(shared, folder, 1, current_app.config["PAGE_SIZE_MAX"])
        context.update(folder=_ENTRY.dump(folder), entries=_ENTRY.dump(items, many=True),
                       is_top=folder["_id"] == shared.item["_id"])
    return _page(**context)


@bp.post("/<token>/unlock")
@limiter.limit(lambda: current_app.config["SHARE_PASSWORD_RATE_LIMIT"],
               key_func=lambda: f"share-unlock:{get_remote_address()}:{request.view_args.get('token', '')[:64]}")
@arguments(UnlockSchema, "json_or_form")
@response(PublicShareSchema, description="Unlocked.", errors=(NOT_FOUND, WRONG_LINK_PASSWORD, TOO_MANY_REQUESTS))
@document(security=NO_SECURITY, responses_raw={"303": {"description": "Unlocked (form post); back to the page."}})
def unlock(body: dict, token: str):
    """Give a link's password; the browser session remembers it.

    JSON or form `{password}`. A form post (from the link's page) is answered with a
    redirect back to the page. Wrong guesses are throttled (429 with `Retry-After`).
    """
    shares = services().shares
    shared = shares.resolve(token)
    from_form = not request.is_json
    password = body["password"]
    if not shares.password_matches(shared.share, password) and shares.needs_password(shared.share):
        if from_form:
            return redirect(url_for("public.share_info", token=token, error="wrong_password"), code=303)
        raise Unauthorized("Wrong password.", code=ErrorCode.WRONG_PASSWORD)
    _remember(UNLOCKED_KEY, _unlock_mark(shared))
    _audit_link("link_unlocked", shared)
    if from_form:
        return redirect(url_for("public.share_info", token=token), code=303)
    return public_share(shared.share, shared.item, True)


def _audit_link(action: str, shared: SharedItem, **fields) -> None:
    """What someone did with a link: its owner sees it (who: the address; no account needed)."""
    audit(action, actor_id=None, owner_id=shared.share["owner_id"], share_id=shared.share["_id"], **fields)


def _send_shared_file(token: str, file_id: str | None = None):
    """Serve one shared file and charge the response (the rule is in ``download``'s docstring)."""
    shared = _open(token, resumable=True)
    shares = services().shares
    file = shares.file_in(shared, file_id)
    response = send_download(services().drive.download(file))
    if request.method == "HEAD" or response.status_code not in (200, 206):
        return response
    try:
        start = response.content_range.start if response.status_code == 206 else 0
        grant = shares.charge(shared, file, start, response.content_length or 0, session.get(GRANTS_KEY, []))
    except NotFound:
        response.close()
        raise
    if grant is not None:
        _remember(GRANTS_KEY, grant)
    _audit_link("link_downloaded", shared, target_id=file["_id"], status=response.status_code)
    return response


@bp.get("/<token>/download")
@document(security=NO_SECURITY, errors=(LINK_LOCKED, NOT_FOUND), responses_raw=DOWNLOAD_RESPONSES)
def download(token: str):
    """Download the shared file (Range and conditional requests work as for owners).

    **What counts as a download** (for `max_downloads`): the response decides, as
    Werkzeug's own Range and conditional handling produced it, whatever the spelling of the
    request's headers. A response that serves the file's first byte (200, or 206 whose
    range starts at byte 0) counts once, atomically, so parallel requests never go past the
    limit. A 206 that starts later is a resume: it is free for the browser session (its
    cookie) that was charged for this file within the last 24 hours, while the link was not
    edited since, as long as its resumes together serve at most the file's size; any other
    206 counts. HEAD, 304, 412 and 416 never count. A used-up link is the same 404 as an
    unknown one (except for such resumes). A client without the cookie (curl) pays for
    every response that serves bytes, so many small ranges each count.
    """
    return _send_shared_file(token)


@bp.get("/<token>/files/<file_id>")
@document(security=NO_SECURITY, errors=(LINK_LOCKED, NOT_FOUND), responses_raw=DOWNLOAD_RESPONSES)
def download_file_in_folder(token: str, file_id: str):
    """Download one file from a shared folder; counted like the download of a file link.

    Counted exactly like `GET /s/{token}/download`, per file: each file of the folder has
    its own resume allowance.
    """
    return _send_shared_file(token, file_id)


@bp.get("/<token>/items")
@arguments(PublicFolderQuery, "query")
@response(PublicPageSchema, description="One page of the folder.", errors=(LINK_LOCKED, NOT_FOUND))
@document(security=NO_SECURITY)
def list_items(query: dict, token: str):
    """List a shared folder (or a folder inside it): folders first, by name."""
    shared = _open(token)
    shares = services().shares
    folder = shares.folder_in(shared, query["folder_id"])
    items, total = shares.list_folder(shared, folder, query["page"], query["limit"])
    return paged(items, total, query, folder=folder)


@bp.get("/<token>/zip")
@arguments(ZipQuery, "query")
@document(security=NO_SECURITY, errors=(LINK_LOCKED, NOT_FOUND, ZIP_TOO_LARGE), responses_raw=ZIP_RESPONSES)
def download_zip(query: dict, token: str):
    """Download a shared folder (or a folder inside it) as a ZIP, streamed as it is built.

    Entry names are safe to extract on Windows, macOS and Linux (see `safe_archive_names`):
    characters Windows refuses become `_`, reserved device names get a `_` prefix, trailing
    dots and spaces are dropped, and names that would then clash (ignoring case) get
    ` (2)`, ` (3)`, ... before their extension. Each GET counts as one download; HEAD does not.
    More than `ZIP_MAX_ENTRIES` files and folders is 413 `zip_too_large` (not counted).
    """
    shared = _open(token)
    shares = services().shares
    folder = shares.folder_in(shared, query["folder_id"])
    members = services().zips.of_folder(folder)
    if request.method != "HEAD":
        shares.count_download(shared)
        _audit_link("link_downloaded", shared, target_id=folder["_id"], zip=True)
    return send_zip(stream_zip(members), folder["name"] + ".zip")




def _my_drops(shared: SharedItem) -> list[dict]:
    share_id = str(shared.share["_id"])
    return [{"name": name, "size": size} for sid, name, size in session.get(DROPS_KEY, []) if sid == share_id]


@bp.post("/<token>/upload")
@limiter.limit(lambda: current_app.config["LINK_UPLOAD_RATE_LIMIT"],
               key_func=lambda: f"link-upload:{get_remote_address()}")
@response(DropResultSchema, 201, "Stored in the link's folder (renamed on a name clash).",
          errors=(LINK_LOCKED, NOT_FOUND, LINK_FULL, TOO_LARGE, INSUFFICIENT_STORAGE, TOO_MANY_REQUESTS))
@document(security=NO_SECURITY, request_body_raw=UPLOAD_BODY,
          responses_raw={"303": {"description": "Stored (form post from the link's page); back to the page."}})
def upload_to_link(token: str):
    """Upload files through an upload-only link (a "file drop"), without an account.

    Multipart, one or more parts named `file`, streamed like every upload; they land in the
    link's folder, renamed when the name is taken (`name (1).ext`), and count against the
    folder owner's quota and the link's `max_file_bytes`, `max_total_bytes` and `max_files`
    (413 `payload_too_large`, 409 `link_full`; the limits hold under parallel uploads). The
    uploader sees only what their browser session uploaded (in GET /s/{token}), never the
    folder's contents: the answer names the files as they were sent, even when one was
    renamed in the folder. Requests are limited per client address (`LINK_UPLOAD_RATE_LIMIT`;
    one request may carry many files). With `?from_page=1` (the link's page) the answer is a
    redirect back to the page, which shows the result.
    """
    shared = _open(token, mode=UPLOAD)
    from_page = request.args.get("from_page") == "1"
    try:
        stored = _store_dropped(shared)
    except AppError as error:
        if from_page:  # the page's form: back to the page, which says what went wrong
            return redirect(url_for("public.share_info", token=token, error=error.code.value), code=303)
        raise
    # The uploader is told the names they sent, never the names the files got: a renamed
    # "report (1).pdf" would tell them what the folder holds.
    sent = [{"name": name, "size": file["size"]} for name, file in stored]
    kept = list(session.get(DROPS_KEY, []))
    for name, file in stored:
        kept.append([str(shared.share["_id"]), name[:DROP_NAME_SHOWN], file["size"]])
        _audit_link("link_uploaded", shared, target_id=file["_id"], size=file["size"])
    session[DROPS_KEY] = kept[-DROPS_KEPT:]
    if from_page:
        return redirect(url_for("public.share_info", token=token, uploaded=len(stored)), code=303)
    return {"files": sent}, 201


def _store_dropped(shared: SharedItem) -> list[tuple[str, dict]]:
    """(the name the uploader sent, the stored file) for each file of the request."""
    if request.mimetype != "multipart/form-data":
        raise InvalidInput("Upload with Content-Type: multipart/form-data.", code=ErrorCode.INVALID_CONTENT_TYPE)
    found = services()
    try:
        stage_uploads_into(found.drive.stager_for(shared.share["owner_id"]))
        files = [f for f in request.files.getlist("file") if f.filename]
        if not files:
            raise InvalidInput("Choose at least one file (multipart parts named 'file').", code=ErrorCode.MISSING_FILE)
        parts = [UploadPart(f.filename, f.mimetype, f.stream, None) for f in files]
        stored = found.shares.store_drop(shared, parts, [f.stream.size for f in files], found.drive)
        return [(f.filename, file) for f, file in zip(files, stored)]
    except QuotaExceeded:
        # Someone else's quota: say that it is full, never how full (it would tell their usage).
        raise QuotaExceeded("The owner of this folder has no storage left for this upload.") from None
