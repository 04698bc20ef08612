"""Request-level protections: secret key, cross-site write refusal, request ids, headers,
stateless token requests."""
from __future__ import annotations

import functools
import os
import re
import secrets
import uuid
from datetime import datetime, timezone
from urllib.parse import urlsplit

from typing import Callable, TypeVar

from flask import Flask, current_app, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user

from .auth.models import SCOPE_READ, SCOPE_READ_WRITE
from .errors import ErrorCode, Forbidden

F = TypeVar("F", bound=Callable)

# What each HTTP method needs of a token, for the API and the WebDAV methods alike: ``read``
# tokens may look (GET, HEAD, OPTIONS, PROPFIND), everything that can change something needs
# ``read-write``. A lock is a change (it keeps others from writing). A method not listed
# needs ``read-write``: unknown is refused to a read token, never allowed.
METHOD_SCOPES: dict[str, str] = {
    **dict.fromkeys(("GET", "HEAD", "OPTIONS", "PROPFIND"), SCOPE_READ),
    **dict.fromkeys(("POST", "PUT", "PATCH", "DELETE", "MKCOL", "COPY", "MOVE", "PROPPATCH", "LOCK", "UNLOCK"),
                    SCOPE_READ_WRITE),
}
_GRANTS = {SCOPE_READ: {SCOPE_READ}, SCOPE_READ_WRITE: {SCOPE_READ, SCOPE_READ_WRITE}}


def scope_needed(method: str) -> str:
    """The token scope a request with ``method`` needs."""
    return METHOD_SCOPES.get(method.upper(), SCOPE_READ_WRITE)


def scope_allows(scope: str, method: str) -> bool:
    """Whether a token with ``scope`` may send ``method``."""
    return scope_needed(method) in _GRANTS.get(scope, set())


# Methods that may change state: refused from other sites when sent with the session cookie.
UNSAFE_METHODS = frozenset(m for m, scope in METHOD_SCOPES.items() if scope == SCOPE_READ_WRITE)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def ensure_secret_key(app: Flask) -> None:
    """Use SECRET_KEY from the environment; in development, generate one and keep it in the
    instance folder so sessions survive restarts. Production refuses to start without one."""
    if app.config.get("SECRET_KEY"):
        return
    if app.config["SECRET_KEY_REQUIRED"]:
        raise RuntimeError("SECRET_KEY must be set in the environment for the production profile.")
    os.makedirs(app.instance_path, exist_ok=True)
    path = os.path.join(app.instance_path, "secret_key")
    if not os.path.exists(path):
        _publish_new_key(path)
    with open(path, encoding="ascii") as fh:
        app.config["SECRET_KEY"] = fh.read().strip()


def _publish_new_key(path: str) -> None:
    """Write a new key beside ``path`` and link it there whole: of several workers starting
    at once, the first link wins, the others find it there, and none reads a half-written file."""
    draft = f"{path}.{os.getpid()}.new"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32))
            fh.flush()
            os.fsync(fh.fileno())
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(draft)


def _origin_of_request() -> str | None:
    origin = request.headers.get("Origin")
    if origin:
        return origin
    referer = request.headers.get("Referer")
    return referer or None


def cross_site_allowed(view: F) -> F:
    """Mark a view that authenticates by a secret in the request itself (not a cookie)."""
    view.cross_site_allowed = True
    return view


def bearer_secret() -> str | None:
    """The secret of a non-empty ``Authorization: Bearer`` header, if the request has one."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def refuse_cross_site_writes() -> None:
    """Cookie-authenticated writes must come from our own pages. Clients that send neither
    Origin nor Referer (curl, scripts) are not browsers and pass; SameSite=Lax is the
    second layer. A Bearer token cannot be sent by another site without our consent (no
    CORS), so token requests pass too."""
    if request.method not in UNSAFE_METHODS or bearer_secret() is not None:
        return  # an empty "Bearer " authenticates nothing: the cookie would be used
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "cross_site_allowed", False):
        return
    claimed = _origin_of_request()
    if claimed is None:
        return
    if claimed == "null" and request.headers.get("Sec-Fetch-Site") == "same-origin":
        return  # a form on one of our no-referrer pages (share links); no page can forge Sec-Fetch-*
    parts = urlsplit(claimed)
    if claimed == "null" or parts.netloc.lower() != request.host.lower():
        raise Forbidden("Cross-site requests are not allowed.", code=ErrorCode.CROSS_SITE_REQUEST)


def limit_in_memory_bodies() -> None:
    """Only multipart uploads stream to disk; any other body (JSON, forms) is read into memory
    whole, so it gets the form memory limit, not MAX_CONTENT_LENGTH (1 GiB by default)."""
    if request.mimetype != "multipart/form-data":
        limits = (current_app.config["MAX_CONTENT_LENGTH"], current_app.config["MAX_FORM_MEMORY_SIZE"])
        request.max_content_length = min((limit for limit in limits if limit is not None), default=None)


def enforce_token_scope() -> None:
    """A ``read`` token may look but not change anything (METHOD_SCOPES)."""
    if current_user.is_authenticated and not scope_allows(current_user.scope, request.method):
        raise Forbidden("This token can only read; create a read-write token to change things.",
                        code=ErrorCode.INSUFFICIENT_SCOPE)


def session_required(view: F) -> F:
    """For routes that manage credentials: a token cannot mint or list tokens."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_user.is_authenticated and current_user.via_token:
            raise Forbidden("Log in with a password to manage tokens.", code=ErrorCode.SESSION_REQUIRED)
        return view(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


def assign_request_id() -> None:
    supplied = request.headers.get("X-Request-ID", "")
    g.request_id = supplied if _REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex


# The default for everything that does not set its own policy: JSON, errors, redirects, static files.
# Pages that need more (the web app, public link pages, /apidocs) set theirs, and it wins.
STRICT_CSP = "default-src 'none'; frame-ancestors 'none'"


def add_security_headers(response):
    """Every response the app produces, errors from Flask and Werkzeug included, carries
    ``nosniff``, a Content-Security-Policy and a deliberate Cache-Control. Headers a view set
    itself win: HTML pages set their own CSP, downloads ``private, no-cache``, and Flask's
    static route ``no-cache`` (public files, revalidated by ETag so a deploy shows at once).
    Everything else is ``no-store``: API answers hold private names and ids."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Content-Security-Policy", STRICT_CSP)
    headers.setdefault("Cache-Control", "no-store")
    response.vary.add("Cookie")
    if "request_id" in g:
        headers["X-Request-ID"] = g.request_id
    return response


# The session key of a login made with "remember me" (app.auth.routes.login).
REMEMBERED_KEY = "remembered"


class TokenAwareSessionInterface(SecureCookieSessionInterface):
    """A request with ``Authorization: Bearer`` is stateless: it sees an empty session and its
    response never sets, refreshes or deletes the session cookie, whatever the view does. So a
    script's token cannot log a browser out, and a cookie sent along cannot trip Flask-Login's
    session protection (which would refuse the token)."""

    def open_session(self, app: Flask, request):
        if bearer_secret() is not None:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        if bearer_secret() is None:
            super().save_session(app, session, response)

    def get_expiration_time(self, app: Flask, session):
        """A remembered login's cookie lasts as long as its server-side session
        (SESSION_LIFETIME_DAYS). Not through ``session.permanent``: Flask-Login's strong
        protection does not drop a permanent session seen from another browser."""
        if session.get(REMEMBERED_KEY):
            return datetime.now(timezone.utc) + app.permanent_session_lifetime
        return super().get_expiration_time(app, session)


def register_request_hooks(app: Flask) -> None:
    app.session_interface = TokenAwareSessionInterface()
    app.before_request(assign_request_id)
    app.before_request(limit_in_memory_bodies)
    app.before_request(refuse_cross_site_writes)
    app.before_request(enforce_token_scope)
    app.after_request(add_security_headers)
