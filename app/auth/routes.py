"""Account routes: register, log in, log out, who am I."""
from __future__ import annotations

import time

from flask import Blueprint, current_app, request, session
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from ..contract import arguments, authenticated, document, response, session_only
from ..errors import (ACCOUNT_DISABLED, LOGIN_REFUSED, REGISTRATION_REFUSED, SESSION_NOT_FOUND, TOO_MANY_REQUESTS,
                      TWO_FACTOR_STATE, USERNAME_TAKEN, WRONG_CODE, WRONG_CURRENT_PASSWORD, AppError, ErrorCode,
                      Unauthorized)
from ..extensions import limiter, login_manager
from ..http import ZIP_RESPONSES, send_zip
from ..security import REMEMBERED_KEY, bearer_secret
from ..services import services
from .schemas import (AccountDeleteSchema, CodeSchema, LoginSchema, PasswordConfirmSchema, RecoveryCodesSchema, TwoFactorOffSchema,
                      TwoFactorSetupSchema, MeSchema, PasswordChangeSchema, RegistrationSchema, SessionListSchema,
                      UserSchema)
from ..audit.record import audit
from .throttle import code_attempts_allowed, count_failed_code, count_failed_login, login_allowed, login_attempt_key, login_ip_key
from .two_factor import wrong_code

bp = Blueprint("auth", __name__, url_prefix="/api")
PENDING_KEY = "pending_2fa"  # a login waiting for its second factor (in the signed session cookie)
PENDING_S = 300


@login_manager.user_loader
def load_user(session_token: str):
    """The user of a session cookie (token requests never see one: app.security)."""
    return services().auth.load_session(session_token)


@bp.before_app_request
def authenticate_bearer_token() -> None:
    """A Bearer token alone decides who the request is; a bad one is anonymous, never the cookie.
    Not a Flask-Login request_loader: that runs only when no remember-me cookie is sent, so a
    stray ``remember_token`` cookie would hide the token."""
    secret = bearer_secret()
    if secret is not None:
        login_manager._update_request_context_with_user(services().tokens.authenticate(secret))


def _login_attempt_key() -> str:
    data = request.get_json(silent=True) if request.is_json else request.form
    username = data.get("username") if isinstance(data, dict) or hasattr(data, "get") else None
    return login_attempt_key(username)


@bp.post("/register")
@limiter.limit(lambda: current_app.config["REGISTER_RATE_LIMIT"], key_func=lambda: f"register:{get_remote_address()}")
@arguments(RegistrationSchema)
@response(UserSchema, 201, "The new user.", errors=(USERNAME_TAKEN, REGISTRATION_REFUSED, TOO_MANY_REQUESTS))
def register(body: dict):
    """Create an account.

    Usernames are 3-32 characters of letters, digits, `.`, `_` and `-`, unique regardless of
    case. Passwords are 8-1024 characters. Does not log in. Limited per client address
    (default 20 per hour; 429 with `Retry-After`), since each costs a password hash.
    `REGISTRATION` decides who may: `open` anyone; `invite` whoever sends an unused, unexpired
    invitation from an administrator as `invite` (it is used up); `closed` nobody (403).
    """
    user = services().auth.register(body["username"], body["password"], invite=body["invite"])
    audit("registered", actor_id=str(user["_id"]), owner_id=str(user["_id"]), invited=bool(body["invite"]))
    return user


@bp.post("/login")
@limiter.limit(lambda: current_app.config["LOGIN_IP_RATE_LIMIT"], key_func=login_ip_key)
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_login_attempt_key)
@arguments(LoginSchema, "json_or_form")
@response(UserSchema, description="Logged in; the body is the user.",
          errors=(LOGIN_REFUSED, ACCOUNT_DISABLED, TOO_MANY_REQUESTS))
def login(body: dict):
    """Log in and receive the session cookie.

    Accepts JSON or form fields. Sets a new `session` cookie (HttpOnly, SameSite=Lax). With
    `remember` (the default) the cookie's Max-Age and the server-side session both last
    `SESSION_LIFETIME_DAYS`; with `remember=false` the cookie ends with the browser and the
    session after `SESSION_UNREMEMBERED_HOURS`. An unknown user and a wrong password give the
    same 401; a disabled account gives 403 once the password is right. With two-factor login on,
    a right password answers 401 `two_factor_required`: send the code to POST /api/login/2fa
    (same browser, within 5 minutes); until then nothing is logged in. Attempts are limited
    per client address and username (default 10 per minute) and per address (default 60 per
    minute); beyond that the answer is 429 with `Retry-After`.
    """
    auth = services().auth
    try:
        user = auth.authenticate(body["username"], body["password"])
    except AppError as error:
        known = auth.users.get_by_username(body["username"]) if isinstance(body["username"], str) else None
        if known is not None:  # attempts on an account are its owner's business; unknown names are not kept
            audit("login_failed", actor_id=None, owner_id=str(known["_id"]), reason=error.code.value)
        raise
    session.clear()  # a fresh session on every login (no fixation)
    if user.get("totp_enabled"):
        # Half a login: remembered in the signed cookie for a few minutes, and worth nothing
        # until POST /api/login/2fa gives the second factor.
        session[PENDING_KEY] = {"user_id": str(user["_id"]), "until": time.time() + PENDING_S,
                                "remember": body["remember"]}
        audit("login_password_ok", actor_id=str(user["_id"]), owner_id=str(user["_id"]))
        raise Unauthorized("Now the code from your authenticator app (or a recovery code): POST /api/login/2fa.",
                           code=ErrorCode.TWO_FACTOR_REQUIRED)
    return _logged_in(user, body["remember"])


def _logged_in(user: dict, remember: bool, second_factor: bool = False) -> dict:
    session.clear()
    if remember:
        session[REMEMBERED_KEY] = True  # the cookie lasts as long as the session (app.security)
    login_user(services().auth.start_session(user, remember=remember, address=get_remote_address(),
                                             user_agent=request.headers.get("User-Agent")))
    audit("login", actor_id=str(user["_id"]), owner_id=str(user["_id"]), second_factor=second_factor,
          user_agent=(request.headers.get("User-Agent") or "")[:200])
    return user


@bp.post("/login/2fa")
@arguments(CodeSchema)
@response(UserSchema, description="Logged in; the body is the user.", errors=(WRONG_CODE, TOO_MANY_REQUESTS))
def login_second_factor(body: dict):
    """The second step of a login with two-factor login on: the six-digit code of the
    authenticator app, or one of the recovery codes (each works once). Only after a right
    password (POST /api/login answered 401 `two_factor_required`), within 5 minutes, in the same
    browser. Wrong codes count against the login throttle, as wrong passwords do."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or pending.get("until", 0) < time.time():
        session.pop(PENDING_KEY, None)
        raise Unauthorized("Log in with your password first (POST /api/login); a waiting login lasts 5 minutes.",
                           code=ErrorCode.UNAUTHORIZED)
    found = services()
    user = found.auth.users.get(pending["user_id"])
    if user is None or user.get("disabled") or not user.get("totp_enabled"):
        session.pop(PENDING_KEY, None)
        raise Unauthorized("Log in with your password first (POST /api/login).", code=ErrorCode.UNAUTHORIZED)
    if not login_allowed(user["username"]) or not code_attempts_allowed(str(user["_id"])):
        raise AppError("Too many attempts; wait before trying again.", code=ErrorCode.TOO_MANY_REQUESTS)
    if not found.two_factor.verify(user, body["code"]):
        count_failed_login(user["username"])
        count_failed_code(str(user["_id"]))
        audit("login_code_failed", actor_id=None, owner_id=str(user["_id"]))
        raise wrong_code()
    return _logged_in(user, bool(pending.get("remember", True)), second_factor=True)


@bp.post("/logout")
@response(None, 204, "Logged out (also when no one was logged in).")
def logout():
    """Log out: the session is deleted on the server, so a copied cookie stops working.

    With a Bearer token there is no session to end: nothing changes and no cookie is sent
    (revoke the token with `DELETE /api/tokens/<id>`).
    """
    if bearer_secret() is not None:
        return  # Flask-Login's logout_user would clear a remember cookie sent along
    if current_user.is_authenticated:
        services().auth.end_session(current_user)
        audit("logout", owner_id=current_user.id)
    logout_user()
    session.clear()


@bp.get("/me")
@authenticated
@response(MeSchema, description="The user.")
def me():
    """The logged-in user, with storage usage (as in /api/me/usage)."""
    return {**current_user.doc, **services().search.usage(current_user.id)}


# -- account self-service --------------------------------------------------------------------------

@bp.post("/me/password")
@document(tags=["account"])
@session_only
@arguments(PasswordChangeSchema)
@response(None, 204, "Changed.", errors=(WRONG_CURRENT_PASSWORD,))
def change_password(body: dict):
    """Change your password: send the current one. Every other session ends at once (a cookie
    someone copied stops working); this one stays. With `revoke_tokens`, every API token is
    revoked too. WebDAV clients logged in with the old password must log in again."""
    services().auth.change_password(current_user, body["current_password"], body["new_password"],
                                    body["revoke_tokens"], services().tokens)
    audit("password_changed", owner_id=current_user.id, tokens_revoked=body["revoke_tokens"])


@bp.get("/me/sessions")
@document(tags=["account"])
@session_only
@response(SessionListSchema, description="Your sessions, newest first.")
def list_sessions():
    """Your live login sessions: when each began and was last used, from which address and
    browser, and which one is this request's."""
    return {"sessions": services().auth.list_sessions(current_user)}


@bp.delete("/me/sessions/<session_id>")
@document(tags=["account"])
@session_only
@response(None, 204, "Ended.", errors=(SESSION_NOT_FOUND,))
def end_session(session_id: str):
    """End one of your sessions (its cookie stops working at once)."""
    services().auth.end_session_by_id(current_user, session_id)
    audit("session_ended", owner_id=current_user.id)


@bp.delete("/me/sessions")
@document(tags=["account"])
@session_only
@response(None, 204, "Every session ended, this one included.")
def end_all_sessions():
    """Log out everywhere: every session of yours ends, this one included."""
    services().auth.end_all_sessions(current_user.id)
    audit("sessions_ended", owner_id=current_user.id)
    logout_user()
    session.clear()


@bp.delete("/me")
@document(tags=["account"])
@session_only
@arguments(AccountDeleteSchema)
@response(None, 204, "Your account and everything in it are gone.", errors=(WRONG_CURRENT_PASSWORD,))
def delete_account(body: dict):
    """Delete your account with all your data: files, folders, versions and their bytes,
    share links, tokens, sessions, unfinished uploads. Send your password (and, with
    two-factor login on, a code as `code`). There is no undo."""
    services().auth.check_password(current_user.doc, body["password"])
    if current_user.doc.get("totp_enabled") and not services().two_factor.verify(current_user.doc, body["code"] or ""):
        raise wrong_code()
    user_id = current_user.id
    services().deletion.delete(user_id)
    audit("account_deleted", actor_id=user_id, by="self")  # the id only: no name is kept
    logout_user()
    session.clear()


@bp.get("/me/export")
@document(tags=["account"], responses_raw=ZIP_RESPONSES)
@authenticated
def export_account():
    """Everything of yours in one ZIP, streamed as it is built: every file in its folder tree
    under `drive/` (names made safe on Windows, macOS and Linux) and `metadata.json` (each
    item's path, size, SHA-256, times and versions, your stars, share links without their
    secrets, and what is in the trash)."""
    audit("exported", owner_id=current_user.id)
    return send_zip(services().export.stream(current_user.doc), f"{current_user.username}-export.zip")


@bp.post("/me/2fa/setup")
@document(tags=["account"])
@session_only
@arguments(PasswordConfirmSchema)
@response(TwoFactorSetupSchema, description="The secret, its otpauth URI and QR code; not in force yet.",
          errors=(WRONG_CURRENT_PASSWORD, TWO_FACTOR_STATE))
def setup_two_factor(body: dict):
    """Start turning on two-factor login (your password confirms it is you, not someone with
    your cookie): scan the QR code (or type the secret) into an authenticator app, then send
    its first code to POST /api/me/2fa/enable."""
    services().auth.check_password(current_user.doc, body["password"])
    return services().two_factor.setup(current_user.doc)


@bp.post("/me/2fa/enable")
@document(tags=["account"])
@session_only
@arguments(CodeSchema)
@response(RecoveryCodesSchema, description="On; the ten recovery codes, shown only now.",
          errors=(WRONG_CODE, TWO_FACTOR_STATE))
def enable_two_factor(body: dict):
    """Turn two-factor login on with a first code from the app. Keep the recovery codes: each
    logs in once without the app. From now on your password alone no longer works anywhere:
    logging in asks for a code, and WebDAV and scripts need an API token."""
    codes = services().two_factor.enable(current_user.doc, body["code"])
    audit("two_factor_enabled", owner_id=current_user.id)
    return {"recovery_codes": codes}


@bp.post("/me/2fa/disable")
@document(tags=["account"])
@session_only
@arguments(TwoFactorOffSchema)
@response(None, 204, "Off.", errors=(WRONG_CURRENT_PASSWORD, WRONG_CODE, TWO_FACTOR_STATE))
def disable_two_factor(body: dict):
    """Turn two-factor login off: your password and a code (or a recovery code)."""
    services().auth.check_password(current_user.doc, body["password"])
    services().two_factor.disable(current_user.doc, body["code"])
    audit("two_factor_disabled", owner_id=current_user.id)
