"""Personal access tokens for scripts: ``Authorization: Bearer <secret>``.

The secret is shown once; the database keeps its SHA-256 (the secrets are 256-bit random,
so a fast hash is enough), found by that hash and compared again in constant time.
"""
from __future__ import annotations

import hmac
import logging
import secrets
from datetime import datetime, timedelta

from bson import ObjectId

from ..digests import secret_digest
from ..errors import ErrorCode, InvalidInput, NotFound
from ..timeutil import as_utc, utcnow
from .models import SCOPE_READ, SCOPE_READ_WRITE, User
from .repo import TokensRepository, UsersRepository
from .service import note_activity

log = logging.getLogger(__name__)

TOKEN_PREFIX = "cdt_"
SCOPES = (SCOPE_READ, SCOPE_READ_WRITE)
MAX_TOKENS_PER_USER = 100
LAST_USED_RESOLUTION = timedelta(minutes=1)  # do not write on every request


class TokenService:
    def __init__(self, tokens: TokensRepository, users: UsersRepository):
        self.tokens = tokens
        self.users = users

    def create(self, owner_id: str, name, scope, expires_at: datetime | None) -> tuple[dict, str]:
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
            raise InvalidInput("Give the token a name of 1-100 characters.", code=ErrorCode.INVALID_NAME)
        if scope not in SCOPES:
            raise InvalidInput("scope must be 'read' or 'read-write'.", code=ErrorCode.INVALID_SCOPE)
        if expires_at is not None and expires_at <= utcnow():
            raise InvalidInput("expires_at must be in the future.", code=ErrorCode.INVALID_EXPIRY)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = {"_id": ObjectId(), "owner_id": owner_id, "name": name.strip(), "scope": scope,
                 "secret_hash": secret_digest(secret), "prefix": secret[:len(TOKEN_PREFIX) + 4],
                 "created_at": utcnow(), "expires_at": expires_at, "last_used_at": None}
        if not self.tokens.insert_within_limit(token, MAX_TOKENS_PER_USER):  # atomic, unlike count-then-insert
            raise InvalidInput(f"At most {MAX_TOKENS_PER_USER} tokens per user.", code=ErrorCode.TOO_MANY_TOKENS)
        log.info("api token created user_id=%s token_id=%s scope=%s", owner_id, token["_id"], scope)
        return token, secret

    def list(self, owner_id: str) -> list[dict]:
        return self.tokens.for_owner(owner_id)

    def revoke(self, owner_id: str, token_id: str) -> None:
        if not self.tokens.delete_owned(owner_id, token_id):
            raise NotFound("No such token.", code=ErrorCode.TOKEN_NOT_FOUND)
        log.info("api token revoked user_id=%s token_id=%s", owner_id, token_id)

    def authenticate(self, secret: str) -> User | None:
        """The user a live token belongs to, or None (unknown, revoked, expired)."""
        if not isinstance(secret, str) or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        digest = secret_digest(secret)
        token = self.tokens.by_secret_hash(digest)
        if token is None or not hmac.compare_digest(token["secret_hash"], digest):
            return None
        now = utcnow()
        if token.get("expires_at") and as_utc(token["expires_at"]) <= now:
            return None
        user = self.users.get(token["owner_id"])
        if user is None or user.get("disabled"):  # a disabled account's tokens stop at once
            return None
        last = token.get("last_used_at")
        if last is None or now - as_utc(last) >= LAST_USED_RESOLUTION:
            self.tokens.touch(token["_id"], now)
        note_activity(self.users, user, now)
        return User(user, token=token)

    def revoke_all(self, owner_id: str) -> int:
        return self.tokens.delete_for_owner(owner_id)
