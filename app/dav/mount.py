"""WebDAV at /dav/<username>/ (class 1 and 2), for file managers (Windows Explorer, Finder, GNOME
Files, davfs2) and sync tools (rclone): wsgidav's protocol engine over our own provider
(provider.py), mounted in front of the Flask app under the same Gunicorn workers.

This middleware owns what is ours around wsgidav: HTTP Basic authentication (auth.py; no
cookie is read, so a browser cannot drive /dav with its session), the token scope (a ``read``
token may only look), cross-site refusal, another user's drive answering 404, downloads served
as the API serves them (sendfile, Range, validators), and the headers every answer carries.
"""
from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlsplit

from flask import Flask, g, request
from wsgidav import util
from wsgidav.error_printer import ErrorPrinter
from wsgidav.request_resolver import RequestResolver
from wsgidav.wsgidav_app import WsgiDAVApp

from ..drive.names import name_key
from ..drive.tree import Tree
from ..errors import AppError, too_large_message
from ..http import send_attachment
from ..security import STRICT_CSP, assign_request_id, scope_allows
from ..services import EXTENSION_KEY, services
from .auth import DavAuthenticator, DavThrottled, DavUnauthorized, VerifiedPasswords
from .locks import DatabaseLockManager, DatabaseLockStorage
from .provider import SHARED_KEY, DavRequest, DriveProvider, FileResource

MOUNT = "/dav"
REALM = "Cloud drive"
# Bodies of methods other than PUT (PROPFIND, PROPPATCH, LOCK: XML) are read into memory whole.
_XML_METHODS = frozenset(("PROPFIND", "PROPPATCH", "LOCK", "UNLOCK", "MKCOL", "COPY", "MOVE", "DELETE", "OPTIONS"))


def mount_dav(app: Flask) -> None:
    """Put /dav in front of the app's WSGI callable (inside ProxyFix, added after this)."""
    app.wsgi_app = DavMount(app, app.wsgi_app)


def _answer(start_response, status: str, message: str, headers: list[tuple[str, str]] = ()) -> list[bytes]:
    body = (message + "\n").encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
                            *headers])
    return [body]


class DavMount:
    def __init__(self, app: Flask, next_app):
        self.app = app
        self.next_app = next_app
        found = app.extensions[EXTENSION_KEY]
        self.authenticator = DavAuthenticator(
            found.auth, found.tokens,
            VerifiedPasswords(app.config["SECRET_KEY"].encode(), app.config["WEBDAV_AUTH_CACHE_SECONDS"]))
        self.provider = DriveProvider()
        locks = DatabaseLockManager(DatabaseLockStorage(found.dav_locks), Tree(found.drive.items))
        self.dav = WsgiDAVApp({
            "provider_mapping": {"/": self.provider},
            "mount_path": MOUNT,
            "middleware_stack": [ErrorPrinter, RequestResolver],
            "lock_storage": None,  # ours, set below (LockManager subclass over the database)
            "property_manager": None,  # dead properties live on the items (provider.py)
            # A PUT body is read in pieces this large: Gunicorn assembles a large read in a buffer
            # of its own and copies it out again; 1 MiB reads ran at half the API's speed (bench/webdav.py).
            "block_size": 256 * 1024,
            "verbose": 1,
            "logging": {"enable": False},
            "add_header_MS_Author_Via": True,
            "suppress_version_info": True,
            "dir_browser": {"enable": False},
        })
        self.dav.lock_manager = locks
        self.provider.set_lock_manager(locks)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path != MOUNT and not path.startswith(MOUNT + "/"):
            return self.next_app(environ, start_response)
        environ = dict(environ)  # wsgidav rewrites SCRIPT_NAME and PATH_INFO: the server's access log keeps /dav/...
        with self.app.request_context(environ):
            assign_request_id()
            return self._serve(environ, self._with_headers(environ, start_response))

    def _with_headers(self, environ, start_response):
        def start(status: str, headers: list, exc_info=None):
            names = {name.lower() for name, _ in headers}
            for name, value in (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                                ("Referrer-Policy", "same-origin"), ("Content-Security-Policy", STRICT_CSP),
                                ("Cache-Control", "no-store")):
                if name.lower() not in names:
                    headers.append((name, value))
            headers.append(("X-Request-ID", g.request_id))
            if environ.get("drive.dav.mtime_accepted"):
                headers.append(("X-OC-Mtime", "accepted"))
            if environ.get("drive.dav.created") and status.startswith("204"):
                status = "201 Created"  # a MOVE or COPY that made its destination
            return start_response(status, headers, exc_info)
        return start

    def _serve(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET").upper()
        refusal = self._cross_site_refusal(environ)
        if refusal:
            return _answer(start_response, "403 Forbidden", refusal)
        if "#" in environ.get("RAW_URI", environ.get("REQUEST_URI", "")):
            # A fragment is the client's business; a server that drops it would act on another resource.
            return _answer(start_response, "400 Bad Request", "A request URI cannot contain a fragment ('#').")
        try:
            user = self.authenticator.user_of(environ.get("HTTP_AUTHORIZATION"))
        except DavUnauthorized:
            return _answer(start_response, "401 Unauthorized",
                           "Log in with your username and an API token (or your password).",
                           [("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"')])
        except DavThrottled:
            return _answer(start_response, "429 Too Many Requests", "Too many failed logins; wait a minute.",
                           [("Retry-After", "60")])
        if not scope_allows(user.scope, method):
            return _answer(start_response, "403 Forbidden",
                           "This token can only read; create a read-write token to change things.")
        if method in _XML_METHODS:
            limit = self.app.config.get("MAX_FORM_MEMORY_SIZE")
            declared = environ.get("CONTENT_LENGTH") or "0"
            if limit and declared.isdigit() and int(declared) > limit:
                return _answer(start_response, "413 Request Entity Too Large", too_large_message(limit, upload=False))
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + MOUNT
        environ["PATH_INFO"] = environ["PATH_INFO"][len(MOUNT):] or "/"
        environ["wsgidav.auth.user_name"] = user.username
        environ["wsgidav.auth.realm"] = REALM
        environ["drive.dav"] = g.dav = DavRequest(user, services(), self.app.config.get("MAX_CONTENT_LENGTH"))
        environ["wsgidav.provider"] = self.provider  # wsgidav sets these too; our GET path runs before it
        environ["wsgidav.config"] = self.dav.config
        path = util.normalize_path(util.re_encode_wsgi(environ["PATH_INFO"]))
        segments = path.strip("/").split("/")
        first = segments[0]
        if first and name_key(first) not in (name_key(user.username), SHARED_KEY):
            return _answer(start_response, "404 Not Found", "Not found.")
        if (not first or (name_key(first) == SHARED_KEY and len(segments) == 1)) and method not in (
                "PROPFIND", "OPTIONS", "GET", "HEAD"):
            # /dav/ and /dav/Shared with me/ belong to no one: nothing is written, locked or moved
            # there (a lock on either would cover other users' drives).
            return _answer(start_response, "403 Forbidden", "Work inside your drive: /dav/<username>/, or inside "
                                                            "an item shared with you.")
        if method == "PROPFIND" and environ.get("HTTP_DEPTH", "infinity").strip().lower() == "infinity":
            # A whole drive in one answer (RFC 4918 9.1: absent means infinity) is refused, as RFC allows.
            body = b'<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:"><D:propfind-finite-depth/></D:error>'
            start_response("403 Forbidden", [("Content-Type", "application/xml; charset=utf-8"),
                                             ("Content-Length", str(len(body)))])
            return [body]
        if method in ("GET", "HEAD"):
            resource = self.provider.get_resource_inst(path, environ)
            if isinstance(resource, FileResource):
                return self._send_file(resource, environ, start_response)
        # wsgidav's answer is a generator that runs provider code as it is iterated: run it here,
        # in the request's context (its answers are small XML; file bodies never come this way).
        answer = self.dav(environ, start_response)
        try:
            return [b"".join(answer)]
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()

    @staticmethod
    def _cross_site_refusal(environ) -> str | None:
        """Only clients that are not browsers (or our own pages) may use /dav: a browser that
        holds Basic credentials for it must not be driven by another site."""
        if environ.get("HTTP_SEC_FETCH_SITE", "same-origin") not in ("same-origin", "none"):
            return "Cross-site requests are not allowed."
        origin = environ.get("HTTP_ORIGIN")
        if origin and (origin == "null" or urlsplit(origin).netloc.lower() != request.host.lower()):
            return "Cross-site requests are not allowed."
        return None

    @staticmethod
    def _send_file(resource: FileResource, environ, start_response):
        """GET and HEAD of a file as the API's download: sendfile for local files, Range,
        If-None-Match / If-Modified-Since, the content hash as ETag."""
        try:
            response = send_attachment(services().drive.download(resource.item))
        except AppError as error:
            return _answer(start_response, f"{error.status} {HTTPStatus(error.status).phrase}", error.message)
        if environ["REQUEST_METHOD"] == "GET":
            resource.req.audit("file_downloaded", resource.owner_id, target_id=resource.item["_id"], status=response.status_code)
        return response(environ, start_response)
