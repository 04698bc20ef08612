"""Who a WebDAV request is: HTTP Basic only (no cookie is ever read under /dav).

The password is the username's API token secret (``cdt_...``: the recommended "app password";
a ``read`` token can only read) or the account password. A password check costs a slow hash
and a client sends hundreds of requests, so a successful check is remembered briefly, keyed
by an HMAC of the user, their stored password hash and the password sent: a password change
changes the stored hash, so what was remembered stops matching at once. Failed attempts count
against the login form's throttle (app.auth.throttle); over it, the answer is 429.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
import time
from collections import OrderedDict

from ..auth.models import User
from ..auth.service import AuthService
from ..auth.throttle import count_failed_login, login_allowed
from ..auth.tokens import TOKEN_PREFIX, TokenService
from ..drive.names import name_key
from ..errors import AppError, ErrorCode

CACHE_SIZE = 10_000


class DavUnauthorized(Exception):
    """No usable credentials: a 401 with a Basic challenge."""


class DavThrottled(Exception):
    """Too many failed attempts: a 429."""


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(username, password) of an ``Authorization: Basic`` header, or None."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon and username and password else None


class VerifiedPasswords:
    """Successful password checks, remembered for ``ttl_s`` seconds (per process)."""

    def __init__(self, key: bytes, ttl_s: float):
        self._key = key
        self.ttl_s = ttl_s
        self._entries: OrderedDict[bytes, float] = OrderedDict()
        self._guard = threading.Lock()

    def _fingerprint(self, user: dict, password: str) -> bytes:
        message = "\0".join((str(user["_id"]), user["password_hash"], password)).encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def knows(self, user: dict, password: str) -> bool:
        fingerprint = self._fingerprint(user, password)
        with self._guard:
            until = self._entries.get(fingerprint)
            if until is None or until < time.monotonic():
                self._entries.pop(fingerprint, None)
                return False
            return True

    def remember(self, user: dict, password: str) -> None:
        if self.ttl_s <= 0:
            return
        fingerprint = self._fingerprint(user, password)
        with self._guard:
            self._entries[fingerprint] = time.monotonic() + self.ttl_s
            self._entries.move_to_end(fingerprint)
            while len(self._entries) > CACHE_SIZE:
                self._entries.popitem(last=False)


class DavAuthenticator:
    def __init__(self, auth: AuthService, tokens: TokenService, verified: VerifiedPasswords):
        self.auth = auth
        self.tokens = tokens
        self.verified = verified

    def user_of(self, authorization: str | None) -> User:
        credentials = basic_credentials(authorization)
        if credentials is None:
            raise DavUnauthorized()
        username, secret = credentials
        if not login_allowed(username):
            raise DavThrottled()
        user = self._token_user(username, secret) if secret.startswith(TOKEN_PREFIX) else \
            self._password_user(username, secret)
        if user is None:
            count_failed_login(username)
            raise DavUnauthorized()
        return user

    def _token_user(self, username: str, secret: str) -> User | None:
        user = self.tokens.authenticate(secret)
        if user is None or name_key(user.doc["username"]) != name_key(username):
            return None
        return user

    def _password_user(self, username: str, password: str) -> User | None:
        doc = self.auth.users.get_by_username(username)
        if doc is not None and (doc.get("totp_enabled") or doc.get("disabled")):
            return None  # two-factor login on (a password alone opens nothing: use a token), or disabled
        if doc is not None and self.verified.knows(doc, password):
            return User(doc)
        try:
            doc = self.auth.authenticate(username, password)
        except AppError as error:
            if error.code in (ErrorCode.INVALID_CREDENTIALS, ErrorCode.INVALID_CREDENTIALS_FORMAT,
                              ErrorCode.ACCOUNT_DISABLED):
                return None
            raise
        self.verified.remember(doc, password)
        return User(doc)
