"""Account routes: register, log in, log out, who am I."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, session
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import limiter, login_manager
from ..http import json_object, json_or_form
from ..security import bearer_secret
from ..services import services
from .models import public_user

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
    username = username.lower()[:64] if isinstance(username, str) else ""
    return f"login:{get_remote_address()}:{username}"


@bp.post("/register")
@limiter.limit(lambda: current_app.config["REGISTER_RATE_LIMIT"], key_func=lambda: f"register:{get_remote_address()}")
def register():
    """Create an account.
    ---
    tags: [auth]
    description: >
      Usernames are 3-32 characters of letters, digits, `.`, `_` and `-`, unique regardless of
      case. Passwords are 8-1024 characters. Does not log in. Limited per client address
      (default 20 per hour; 429 with `Retry-After`), since each costs a password hash.
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Credentials'}
    responses:
      201:
        description: The new user.
        content: {application/json: {schema: {$ref: '#/components/schemas/User'}}}
      400: {$ref: '#/components/responses/BadRequest'}
      409: {$ref: '#/components/responses/UsernameTaken'}
      429: {$ref: '#/components/responses/TooManyRequests'}
    """
    data = json_object()
    user = services().auth.register(data.get("username"), data.get("password"))
    return jsonify(public_user(user)), 201


@bp.post("/login")
@limiter.limit(lambda: current_app.config["LOGIN_IP_RATE_LIMIT"], key_func=lambda: f"login-ip:{get_remote_address()}")
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_login_attempt_key)
def login():
    """Log in and receive the session cookie.
    ---
    tags: [auth]
    description: >
      Accepts JSON or form fields. Sets a new `session` cookie (HttpOnly, SameSite=Lax). An
      unknown user and a wrong password give the same 401. Attempts are limited per client
      address and username (default 10 per minute) and per address (default 60 per minute);
      beyond that the answer is 429 with `Retry-After`.
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Credentials'}
        application/x-www-form-urlencoded:
          schema: {$ref: '#/components/schemas/Credentials'}
    responses:
      200:
        description: Logged in; the body is the user.
        content: {application/json: {schema: {$ref: '#/components/schemas/User'}}}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/BadCredentials'}
      429: {$ref: '#/components/responses/TooManyRequests'}
    """
    data = json_or_form()
    auth = services().auth
    user = auth.authenticate(data.get("username"), data.get("password"))
    session.clear()  # a fresh session on every login (no fixation)
    login_user(auth.start_session(user))
    return jsonify(public_user(user))


@bp.post("/logout")
def logout():
    """Log out: the session is deleted on the server, so a copied cookie stops working.
    ---
    tags: [auth]
    description: >
      With a Bearer token there is no session to end: nothing changes and no cookie is sent
      (revoke the token with `DELETE /api/tokens/<id>`).
    responses:
      204: {description: Logged out (also when no one was logged in).}
    """
    if bearer_secret() is not None:
        return "", 204  # Flask-Login's logout_user would clear a remember cookie sent along
    if current_user.is_authenticated:
        services().auth.end_session(current_user)
    logout_user()
    session.clear()
    return "", 204


@bp.get("/me")
@login_required
def me():
    """The logged-in user, with storage usage (as in /api/me/usage).
    ---
    tags: [auth]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    responses:
      200:
        description: The user.
        content: {application/json: {schema: {$ref: '#/components/schemas/Me'}}}
      401: {$ref: '#/components/responses/Unauthorized'}
    """
    return jsonify({**current_user.to_public(), **services().search.usage(current_user.id)})
