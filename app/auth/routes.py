"""Account routes: register, log in, log out, who am I."""
from __future__ import annotations

from flask import Blueprint, current_app, request, session
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from ..contract import arguments, authenticated, response
from ..errors import BAD_CREDENTIALS, TOO_MANY_REQUESTS, USERNAME_TAKEN
from ..extensions import limiter, login_manager
from ..security import bearer_secret
from ..services import services
from .schemas import CredentialsSchema, LoginSchema, MeSchema, UserSchema
from .throttle import login_attempt_key, login_ip_key

bp = Blueprint("auth", __name__, url_prefix="/api")


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
@arguments(CredentialsSchema)
@response(UserSchema, 201, "The new user.", errors=(USERNAME_TAKEN, TOO_MANY_REQUESTS))
def register(body: dict):
    """Create an account.

    Usernames are 3-32 characters of letters, digits, `.`, `_` and `-`, unique regardless of
    case. Passwords are 8-1024 characters. Does not log in. Limited per client address
    (default 20 per hour; 429 with `Retry-After`), since each costs a password hash.
    """
    return services().auth.register(body["username"], body["password"])


@bp.post("/login")
@limiter.limit(lambda: current_app.config["LOGIN_IP_RATE_LIMIT"], key_func=login_ip_key)
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_login_attempt_key)
@arguments(LoginSchema, "json_or_form")
@response(UserSchema, description="Logged in; the body is the user.", errors=(BAD_CREDENTIALS, TOO_MANY_REQUESTS))
def login(body: dict):
    """Log in and receive the session cookie.

    Accepts JSON or form fields. Sets a new `session` cookie (HttpOnly, SameSite=Lax). An
    unknown user and a wrong password give the same 401. Attempts are limited per client
    address and username (default 10 per minute) and per address (default 60 per minute);
    beyond that the answer is 429 with `Retry-After`.
    """
    auth = services().auth
    user = auth.authenticate(body["username"], body["password"])
    session.clear()  # a fresh session on every login (no fixation)
    login_user(auth.start_session(user))
    return user


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
    logout_user()
    session.clear()


@bp.get("/me")
@authenticated
@response(MeSchema, description="The user.")
def me():
    """The logged-in user, with storage usage (as in /api/me/usage)."""
    return {**current_user.doc, **services().search.usage(current_user.id)}
