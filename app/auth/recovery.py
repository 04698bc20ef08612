"""An account's email address (verified by a link) and the forgotten-password reset it allows.

Both work through single-use, expiring links sent by email; only a digest of a link's secret is
stored. Asking for a reset answers the same whether or not the address belongs to an account,
and as fast: looking the address up, making the link and sending it happen in the background. A reset does not get
past two-factor login: the next login still asks for the code.
"""
from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta
from typing import Callable
from email.errors import HeaderParseError
from email.headerregistry import Address

from bson import ObjectId

from ..digests import secret_digest
from ..errors import AppError, Conflict, ErrorCode, InvalidInput
from ..mail.mailer import Mailer
from ..timeutil import utcnow
from .repo import RESET_PASSWORD, VERIFY_EMAIL, EmailLinksRepository, SessionsRepository, UsersRepository
from .service import validate_password

log = logging.getLogger(__name__)

RESET, VERIFY = RESET_PASSWORD, VERIFY_EMAIL
LINK_PREFIX = "cdm_"
EMAIL_MAX = 254
# One '@', no spaces, no control characters, no characters that end an address in a header.
EMAIL_PATTERN = re.compile(r"[^@\s<>,;:\"()\[\]\\\x00-\x1f\x7f]{1,64}@[^@\s<>,;:\"()\[\]\\\x00-\x1f\x7f]{1,253}")


def validate_email(email) -> str:
    """A plain address (``name@example.com``): one ``@``, no spaces or characters that end an
    address in a header, no encoded words (``=?...?=``, which a mail library decodes, CR/LF
    included), and one that the standard library's header model takes as it is."""
    refused = InvalidInput("That is not an email address (name@example.com, at most 254 characters).",
                           code=ErrorCode.INVALID_EMAIL)
    if not isinstance(email, str) or len(email) > EMAIL_MAX or not EMAIL_PATTERN.fullmatch(email) \
            or email.endswith(".") or ".." in email.split("@", 1)[1] or "=?" in email:
        raise refused
    try:
        parsed = Address(addr_spec=email)
    except (ValueError, IndexError, HeaderParseError):
        raise refused from None
    if parsed.addr_spec != email:
        raise refused
    return email


def mail_unavailable() -> Conflict:
    return Conflict("This server does not send email; ask an administrator to reset your password.",
                    code=ErrorCode.EMAIL_UNAVAILABLE)


class AccountRecovery:
    def __init__(self, users: UsersRepository, sessions: SessionsRepository, links: EmailLinksRepository,
                 auth, mailer: Mailer, reset_minutes: int, verify_hours: int):
        self.users = users
        self.sessions = sessions
        self.links = links
        self.auth = auth
        self.mailer = mailer
        self.reset_lifetime = timedelta(minutes=reset_minutes)
        self.verify_lifetime = timedelta(hours=verify_hours)

    def check_can_send(self, email) -> str:
        """The address, valid, on a server that sends email (else the error to give)."""
        self._require_mail()
        return validate_email(email)

    def _require_mail(self) -> None:
        if not self.mailer.enabled:
            raise mail_unavailable()

    def _new_link(self, purpose: str, user_id: str, email: str, lifetime: timedelta) -> str:
        secret = LINK_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        self.links.insert({"_id": ObjectId(), "purpose": purpose, "secret_hash": secret_digest(secret),
                           "user_id": user_id, "email": email, "created_at": now, "expires_at": now + lifetime})
        return secret

    def _take(self, purpose: str, secret) -> dict:
        link = self.links.take(secret_digest(secret), purpose, utcnow()) if isinstance(secret, str) and secret else None
        if link is None:
            raise InvalidInput("This link does not work: it was used already, has expired or was replaced by a "
                               "newer one. Ask for a new one.", code=ErrorCode.INVALID_LINK)
        return link

    # -- forgotten password -------------------------------------------------------------------

    def request_reset(self, email, on_sent: Callable[[str], None] | None = None) -> None:
        """Email a reset link to ``email`` if an enabled account has verified it. Everything but
        the address's check happens in the background, so the answer (and its timing) is the
        same for every address; ``on_sent(user_id)`` runs there when a link went out."""
        self._require_mail()
        self.mailer.background(self.send_reset, validate_email(email), on_sent)

    def send_reset(self, email: str, on_sent: Callable[[str], None] | None = None) -> str | None:
        """Look the address up and send its reset link (or nothing); the user id it went to."""
        user = self.users.get_by_email(email)
        if user is None or user.get("disabled"):
            log.info("password reset asked for an address without an account")
            return None
        user_id = str(user["_id"])
        self.links.delete_for_user(user_id, RESET)  # only the newest link works
        secret = self._new_link(RESET, user_id, user["email"], self.reset_lifetime)
        minutes = int(self.reset_lifetime.total_seconds() // 60)
        self.mailer.send(user["email"], "Reset your password", (
            f"Someone (probably you) asked to reset the password of the account {user['username']}.\n\n"
            f"To choose a new password, open this link within {minutes} minutes:\n\n"
            f"{self.mailer.link('reset?token=' + secret)}\n\n"
            "If you did not ask for this, ignore this message: your password stays as it is.\n"))
        log.info("password reset link sent user_id=%s", user_id)
        if on_sent is not None:
            on_sent(user_id)
        return user_id

    def reset_password(self, secret, new_password) -> dict:
        """Set a new password with a reset link (used up); every session of the account ends."""
        validate_password(new_password)  # a bad password is refused before the link is used up
        link = self._take(RESET, secret)
        user = self.users.get(link["user_id"])
        if user is None or user.get("disabled") or (user.get("email_lower") != (link.get("email") or "").lower()):
            raise InvalidInput("This link does not work any more; ask for a new one.", code=ErrorCode.INVALID_LINK)
        user = self.auth.set_password(link["user_id"], new_password)
        self.links.delete_for_user(link["user_id"], RESET)
        self.mailer.send(user["email"], "Your password was changed", (
            f"The password of the account {user['username']} was just reset with a link sent to this address. "
            "Every session was logged out.\n\nIf this was not you, contact your administrator at once.\n"))
        log.info("password reset user_id=%s", link["user_id"])
        return user

    # -- the account's address -----------------------------------------------------------------

    def request_email_change(self, user: dict, email) -> None:
        """Send a link to ``email``; the account uses the address once it is opened."""
        self._require_mail()
        email = validate_email(email)
        user_id = str(user["_id"])
        self.links.delete_for_user(user_id, VERIFY)
        secret = self._new_link(VERIFY, user_id, email, self.verify_lifetime)
        hours = int(self.verify_lifetime.total_seconds() // 3600)
        self.mailer.send(email, "Confirm your email address", (
            f"To use this address for the account {user['username']} (for password resets), open this link "
            f"within {hours} hours:\n\n{self.mailer.link('verify-email?token=' + secret)}\n\n"
            "If you did not ask for this, ignore this message.\n"))
        log.info("email verification link sent user_id=%s", user_id)

    def verify_email(self, secret) -> dict:
        """The address of a verification link becomes the account's (409 if another has it)."""
        link = self._take(VERIFY, secret)
        user = self.users.get(link["user_id"])
        if user is None or user.get("disabled"):
            raise InvalidInput("This link does not work any more.", code=ErrorCode.INVALID_LINK)
        previous = user.get("email")
        try:
            user = self.users.set_email(link["user_id"], link["email"])
        except AppError:
            self.links.insert(link)  # still good if the other account lets the address go
            raise
        self.links.delete_for_user(link["user_id"], RESET)  # links sent to the old address stop working
        if previous and previous.lower() != link["email"].lower() and self.mailer.enabled:
            self.mailer.send(previous, "Your email address was changed", (
                f"The account {user['username']} now uses another email address; password reset links go "
                "there from now on.\n\nIf this was not you, contact your administrator at once.\n"))
        log.info("email verified user_id=%s", link["user_id"])
        return user

    def remove_email(self, user_id: str) -> dict:
        self.links.delete_for_user(user_id)
        return self.users.set_email(user_id, None)

    def set_email_by_admin(self, user_id: str, email) -> dict:
        """An administrator sets (or with None removes) an account's address, verified as given."""
        if email is None:
            return self.remove_email(user_id)
        user = self.users.set_email(user_id, validate_email(email))
        self.links.delete_for_user(user_id, RESET)
        return user

    # -- invitations ---------------------------------------------------------------------------

    def send_invite(self, email: str, secret: str, expires_at, inviter: str) -> None:
        """Email an invitation (``email`` checked with check_can_send before it was made)."""
        self.mailer.send(email, "You are invited to a drive", (
            f"{inviter} invites you to create an account on their drive. Open this link to choose a username "
            f"and password (it works once, until {expires_at:%Y-%m-%d %H:%M} UTC):\n\n"
            f"{self.mailer.link('register?invite=' + secret)}\n"))
