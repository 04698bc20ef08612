"""The account's email address and the forgotten-password reset (links sent by email)."""
from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_limiter.util import get_remote_address
from flask_login import current_user

from ..audit.record import audit
from ..contract import arguments, document, response, session_only
from ..errors import EMAIL_TAKEN, EMAIL_UNAVAILABLE, INVALID_EMAIL, INVALID_LINK, TOO_MANY_REQUESTS, WRONG_CURRENT_PASSWORD
from ..extensions import limiter
from ..services import services
from .schemas import (AcceptedSchema, EmailChangeSchema, EmailLinkSchema, PasswordConfirmSchema, PasswordForgotSchema,
                      PasswordResetLinkSchema, UserSchema)

bp = Blueprint("email", __name__, url_prefix="/api")
TAGS = ["account"]


def _email_rate_limit() -> str:
    return current_app.config["EMAIL_RATE_LIMIT"]


def _accepted(response) -> bool:
    """Only requests that were taken count against EMAIL_RATE_LIMIT (a typo costs nothing)."""
    return response.status_code == 202


def _recipient_key() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return f"mail-to:{email.strip().lower()[:254] if isinstance(email, str) else ''}"


@bp.post("/password/forgot")
@document(tags=TAGS)
@limiter.limit(_email_rate_limit, key_func=lambda: f"mail-from:{get_remote_address()}", deduct_when=_accepted)
@limiter.limit(_email_rate_limit, key_func=_recipient_key, deduct_when=_accepted)
@arguments(PasswordForgotSchema)
@response(AcceptedSchema, 202, "Taken; the same answer whether or not the address has an account.",
          errors=(INVALID_EMAIL, EMAIL_UNAVAILABLE, TOO_MANY_REQUESTS))
def forgot_password(body: dict):
    """Forgotten password: if an account has verified this address, a link to choose a new
    password is emailed to it (valid PASSWORD_RESET_MINUTES, once; a newer one replaces it).
    The answer is the same for every address. Limited per client address and per recipient
    (EMAIL_RATE_LIMIT). Without SMTP_HOST the server sends no email: 409 `email_unavailable`,
    and an administrator resets passwords."""
    record, address = services().audit.record, get_remote_address()
    services().recovery.request_reset(body["email"], lambda user_id: record(
        "password_reset_requested", actor_id=None, owner_id=user_id, share_id=None, target_id=None, address=address))
    return {"message": "If an account uses this address, a link to reset its password is on its way."}


@bp.post("/password/reset")
@document(tags=TAGS)
@limiter.limit(lambda: current_app.config["LOGIN_IP_RATE_LIMIT"], key_func=lambda: f"reset:{get_remote_address()}")
@arguments(PasswordResetLinkSchema)
@response(None, 204, "The password is changed; every session of the account ended.",
          errors=(INVALID_LINK, TOO_MANY_REQUESTS))
def reset_password(body: dict):
    """Choose a new password with the `token` of an emailed reset link (it works once). Every
    session of the account ends; log in with the new password (and, if it is on, the
    two-factor code: a reset does not turn it off)."""
    user = services().recovery.reset_password(body["token"], body["new_password"])
    audit("password_reset", actor_id=str(user["_id"]), owner_id=str(user["_id"]))


@bp.post("/me/email")
@document(tags=TAGS)
@session_only
@limiter.limit(_email_rate_limit, key_func=lambda: f"mail-user:{getattr(current_user, 'id', None)}",
               deduct_when=_accepted)
@arguments(EmailChangeSchema)
@response(AcceptedSchema, 202, "A link was sent to the address.",
          errors=(WRONG_CURRENT_PASSWORD, INVALID_EMAIL, EMAIL_UNAVAILABLE, TOO_MANY_REQUESTS))
def change_email(body: dict):
    """Set your email address (for password resets): send it with your password. A link goes
    to the address (valid EMAIL_VERIFY_HOURS); the account uses the address once the link is
    opened (POST /api/email/verify). Until then the old address, if any, stays."""
    found = services()
    found.auth.check_password(current_user.doc, body["password"])
    found.recovery.request_email_change(current_user.doc, body["email"])
    audit("email_verification_sent", owner_id=current_user.id)
    return {"message": "A link is on its way to that address; open it to start using the address."}


@bp.delete("/me/email")
@document(tags=TAGS)
@session_only
@arguments(PasswordConfirmSchema)
@response(None, 204, "Removed: no password reset by email from now on.", errors=(WRONG_CURRENT_PASSWORD,))
def remove_email(body: dict):
    """Remove your email address (send your password); links sent earlier stop working."""
    services().auth.check_password(current_user.doc, body["password"])
    services().recovery.remove_email(current_user.id)
    audit("email_removed", owner_id=current_user.id)


@bp.post("/email/verify")
@document(tags=TAGS)
@limiter.limit(lambda: current_app.config["LOGIN_IP_RATE_LIMIT"], key_func=lambda: f"reset:{get_remote_address()}")
@arguments(EmailLinkSchema)
@response(UserSchema, description="The address is the account's now.", errors=(INVALID_LINK, EMAIL_TAKEN))
def verify_email(body: dict):
    """Confirm an address with the `token` of the emailed link (it works once; no login
    needed, the link may be opened on another device). 409 `email_taken` when another account
    verified the address first."""
    user = services().recovery.verify_email(body["token"])
    audit("email_verified", actor_id=str(user["_id"]), owner_id=str(user["_id"]))
    return user
