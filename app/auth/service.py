"""Accounts and login sessions."""
from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta
from functools import cached_property

from bson import ObjectId

from ..digests import secret_digest
from ..errors import Conflict, ErrorCode, Forbidden, InvalidInput, NotFound, Unauthorized
from ..offload import check_password_hash, generate_password_hash
from ..timeutil import as_utc, utcnow
from .models import User
from .repo import RESET_PASSWORD, InvitesRepository, SessionsRepository, UsersRepository

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


ROLE_ADMIN = "admin"
REGISTRATION_POLICIES = ("open", "invite", "closed")
INVITE_PREFIX = "cdi_"
SEEN_RESOLUTION = timedelta(minutes=1)  # last activity is written at most this often


def is_admin(user: dict) -> bool:
    return user.get("role") == ROLE_ADMIN


def note_activity(users: UsersRepository, user: dict, now) -> None:
    """A user's last activity, for the administrators' list (written at most once a minute)."""
    last = user.get("last_seen_at")
    if last is None or now - as_utc(last) >= SEEN_RESOLUTION:
        users.update(str(user["_id"]), {"last_seen_at": now})


class AuthService:
    def __init__(self, users: UsersRepository, sessions: SessionsRepository, session_days: int,
                 password_method: str | None = None, invites: InvitesRepository | None = None,
                 registration: str = "open", unremembered_hours: int = 12, email_links=None):
        self.users = users
        self.sessions = sessions
        self.session_lifetime = timedelta(days=session_days)
        self.unremembered_lifetime = timedelta(hours=unremembered_hours)
        self.password_method = password_method
        self.invites = invites
        self.registration = registration
        self.email_links = email_links  # password reset links end with every password change

    @cached_property
    def _dummy_hash(self) -> str:
        # Checked against when the user does not exist, so both failures cost the same.
        return generate_password_hash(secrets.token_urlsafe(16), self.password_method)

    def hash_password(self, password) -> str:
        return generate_password_hash(validate_password(password), self.password_method)

    # -- registration -------------------------------------------------------------------------

    def register(self, username, password, invite: str | None = None, role: str | None = None,
                 by_admin: bool = False) -> dict:
        """A new account. REGISTRATION decides who may: ``open`` anyone, ``invite`` the holder
        of an unused, unexpired invitation (used up by this), ``closed`` nobody (an admin
        still creates accounts, ``by_admin``)."""
        username = validate_username(username)
        password_hash = self.hash_password(password)
        taken_invite = None
        if not by_admin and self.registration == "closed":
            raise Forbidden("Registration is closed on this server; ask an administrator for an account.",
                            code=ErrorCode.REGISTRATION_CLOSED)
        if not by_admin and self.registration == "invite":
            if not isinstance(invite, str) or not invite:
                raise Forbidden("Registration needs an invitation on this server; ask an administrator for one.",
                                code=ErrorCode.INVITE_REQUIRED)
            if self.users.get_by_username(username) is not None:  # the usual case, without using the invite up
                raise Conflict("That username is already taken.", code=ErrorCode.USERNAME_TAKEN)
            taken_invite = self.invites.take(secret_digest(invite), utcnow())
            if taken_invite is None:
                raise Forbidden("This invitation does not exist, was used already or has expired.",
                                code=ErrorCode.INVITE_INVALID)
        try:
            user = self.users.create(username, password_hash, utcnow())
        except Conflict:
            if taken_invite is not None:  # a parallel registration took the name: the invite stays good
                self.invites.insert(taken_invite)
            raise
        if role is not None:
            user = self.users.update(str(user["_id"]), {"role": role}) or user
        log.info("user registered user_id=%s%s", user["_id"], " invited" if taken_invite else "")
        return user

    def create_invite(self, admin_id: str, hours: int, note: str | None) -> tuple[dict, str]:
        secret = INVITE_PREFIX + secrets.token_urlsafe(24)
        now = utcnow()
        invite = {"_id": ObjectId(), "secret_hash": secret_digest(secret), "created_by": admin_id,
                  "created_at": now, "expires_at": now + timedelta(hours=hours), "note": note}
        self.invites.insert(invite)
        log.info("invite created by=%s invite_id=%s", admin_id, invite["_id"])
        return invite, secret

    # -- logging in ----------------------------------------------------------------------------

    def authenticate(self, username, password) -> dict:
        """The user with these credentials; unknown user and wrong password look the same. A
        disabled account is refused after the password was right (403 account_disabled)."""
        if not isinstance(username, str) or not isinstance(password, str) or len(password) > PASSWORD_MAX:
            raise InvalidInput("Send a username and a password.", code=ErrorCode.INVALID_CREDENTIALS_FORMAT)
        user = self.users.get_by_username(username) if USERNAME_PATTERN.fullmatch(username) else None
        stored_hash = user["password_hash"] if user else self._dummy_hash
        if not check_password_hash(stored_hash, password) or user is None:
            log.warning("login failed")
            raise Unauthorized("Invalid username or password.", code=ErrorCode.INVALID_CREDENTIALS)
        if user.get("disabled"):
            raise Forbidden("This account is disabled; ask an administrator.", code=ErrorCode.ACCOUNT_DISABLED)
        return user

    def start_session(self, user: dict, remember: bool = True, address: str | None = None,
                      user_agent: str | None = None) -> User:
        """A new server-side session: SESSION_LIFETIME_DAYS when remembered, else
        SESSION_UNREMEMBERED_HOURS (and the browser drops its cookie when it closes)."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        lifetime = self.session_lifetime if remember else self.unremembered_lifetime
        self.sessions.create(secret_digest(token), str(user["_id"]), now, now + lifetime,
                             address=address, user_agent=(user_agent or "")[:300] or None)
        log.info("login user_id=%s", user["_id"])
        return User(user, token)

    def end_session(self, user: User) -> None:
        self.sessions.delete(secret_digest(user.session_token))
        log.info("logout user_id=%s", user.id)

    def load_session(self, token: str) -> User | None:
        """The user of a live session, or None for unknown, expired or malformed tokens, and
        for a disabled account (its sessions stop working at once)."""
        if not isinstance(token, str) or not 20 <= len(token) <= 100:
            return None
        digest = secret_digest(token)
        record = self.sessions.get(digest)
        now = utcnow()
        if record is None or as_utc(record["expires_at"]) <= now:
            return None
        user = self.users.get(record["user_id"])
        if user is None or user.get("disabled"):
            return None
        last = record.get("last_used_at")
        if last is None or now - as_utc(last) >= SEEN_RESOLUTION:
            self.sessions.touch(digest, now)
        note_activity(self.users, user, now)
        return User(user, token)

    # -- self-service ----------------------------------------------------------------------------

    def check_password(self, user: dict, password) -> None:
        """401 wrong_password unless ``password`` is the user's (a confirmation)."""
        if not isinstance(password, str) or not check_password_hash(user["password_hash"], password):
            raise Unauthorized("The current password is wrong.", code=ErrorCode.WRONG_PASSWORD)

    def change_password(self, user: User, current, new, revoke_tokens: bool, tokens) -> None:
        """Needs the current password; every other session ends (a stolen cookie with it)."""
        self.check_password(user.doc, current)
        self.users.update(user.id, {"password_hash": self.hash_password(new)})
        keep = secret_digest(user.session_token) if user.session_token else None
        ended = self.sessions.delete_for_user(user.id, keep=keep)
        self._end_reset_links(user.id)
        revoked = tokens.revoke_all(user.id) if revoke_tokens else 0
        log.info("password changed user_id=%s sessions_ended=%d tokens_revoked=%d", user.id, ended, revoked)

    def set_password(self, user_id: str, new) -> dict:
        """An administrator's reset: every session of the user ends."""
        user = self.users.update(user_id, {"password_hash": self.hash_password(new)})
        if user is None:
            raise NotFound("No such user.", code=ErrorCode.USER_NOT_FOUND)
        self.sessions.delete_for_user(user_id)
        self._end_reset_links(user_id)
        return user

    def _end_reset_links(self, user_id: str) -> None:
        """A reset link asked for before a password change must not undo it."""
        if self.email_links is not None:
            self.email_links.delete_for_user(user_id, RESET_PASSWORD)

    def require_recent_login(self, user: User, minutes: int) -> None:
        """403 reauthentication_required unless this session's login (password, and code when
        two-factor login is on) happened within ``minutes``: creating a credential needs it."""
        record = self.sessions.get(secret_digest(user.session_token)) if user.session_token else None
        if record is None or utcnow() - as_utc(record["created_at"]) > timedelta(minutes=minutes):
            raise Forbidden(f"Log in again to do this: it needs a login within the last {minutes} minutes.",
                            code=ErrorCode.REAUTHENTICATION_REQUIRED)

    def list_sessions(self, user: User) -> list[dict]:
        current = secret_digest(user.session_token) if user.session_token else None
        return [{**s, "current": s["_id"] == current} for s in self.sessions.for_user(user.id, utcnow())]

    def end_session_by_id(self, user: User, session_id: str) -> None:
        if not isinstance(session_id, str) or not self.sessions.delete_owned(user.id, session_id):
            raise NotFound("No such session.", code=ErrorCode.SESSION_NOT_FOUND)
        log.info("session ended user_id=%s", user.id)

    def end_all_sessions(self, user_id: str) -> int:
        return self.sessions.delete_for_user(user_id)
