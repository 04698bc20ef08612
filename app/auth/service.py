"""Accounts and login sessions."""
from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta
from functools import cached_property

from ..digests import secret_digest
from ..errors import ErrorCode, InvalidInput, Unauthorized
from ..offload import check_password_hash, generate_password_hash
from ..timeutil import as_utc, utcnow
from .models import User
from .repo import SessionsRepository, UsersRepository

log = logging.getLogger(__name__)

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{3,32}")
PASSWORD_MIN, PASSWORD_MAX = 8, 1024


def validate_username(username) -> str:
    if not isinstance(username, str) or not USERNAME_PATTERN.fullmatch(username):
        raise InvalidInput("Username must be 3-32 characters: letters, digits, '.', '_' or '-'.",
                           code=ErrorCode.INVALID_USERNAME)
    return username


def validate_password(password) -> str:
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput(f"Password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters.",
                           code=ErrorCode.INVALID_PASSWORD)
    return password


class AuthService:
    def __init__(self, users: UsersRepository, sessions: SessionsRepository, session_days: int,
                 password_method: str | None = None):
        self.users = users
        self.sessions = sessions
        self.session_lifetime = timedelta(days=session_days)
        self.password_method = password_method

    @cached_property
    def _dummy_hash(self) -> str:
        # Checked against when the user does not exist, so both failures cost the same.
        return generate_password_hash(secrets.token_urlsafe(16), self.password_method)

    def register(self, username, password) -> dict:
        username = validate_username(username)
        password = validate_password(password)
        user = self.users.create(username, generate_password_hash(password, self.password_method), utcnow())
        log.info("user registered user_id=%s", user["_id"])
        return user

    def authenticate(self, username, password) -> dict:
        """The user with these credentials; unknown user and wrong password look the same."""
        if not isinstance(username, str) or not isinstance(password, str) or len(password) > PASSWORD_MAX:
            raise InvalidInput("Send a username and a password.", code=ErrorCode.INVALID_CREDENTIALS_FORMAT)
        user = self.users.get_by_username(username) if USERNAME_PATTERN.fullmatch(username) else None
        stored_hash = user["password_hash"] if user else self._dummy_hash
        if not check_password_hash(stored_hash, password) or user is None:
            log.warning("login failed")
            raise Unauthorized("Invalid username or password.", code=ErrorCode.INVALID_CREDENTIALS)
        return user

    def start_session(self, user: dict) -> User:
        token = secrets.token_urlsafe(32)
        now = utcnow()
        self.sessions.create(secret_digest(token), str(user["_id"]), now, now + self.session_lifetime)
        log.info("login user_id=%s", user["_id"])
        return User(user, token)

    def end_session(self, user: User) -> None:
        self.sessions.delete(secret_digest(user.session_token))
        log.info("logout user_id=%s", user.id)

    def load_session(self, token: str) -> User | None:
        """The user of a live session, or None for unknown, expired or malformed tokens."""
        if not isinstance(token, str) or not 20 <= len(token) <= 100:
            return None
        record = self.sessions.get(secret_digest(token))
        if record is None or as_utc(record["expires_at"]) <= utcnow():
            return None
        user = self.users.get(record["user_id"])
        return User(user, token) if user else None
