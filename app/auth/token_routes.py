"""Personal access tokens: create (secret shown once), list, revoke. Session only."""
from __future__ import annotations

from flask import Blueprint, current_app
from flask_login import current_user

from ..audit.record import audit
from ..contract import arguments, response, session_only
from ..errors import NOT_FOUND, REAUTHENTICATION_REQUIRED
from ..services import services
from .schemas import TokenCreatedSchema, TokenCreateSchema, TokenListSchema

bp = Blueprint("tokens", __name__, url_prefix="/api")


@bp.post("/tokens")
@session_only
@arguments(TokenCreateSchema)
@response(TokenCreatedSchema, 201, "The token, with its secret.", errors=(REAUTHENTICATION_REQUIRED,))
def create_token(body: dict):
    """Create a personal access token for scripts; the secret is shown only in this answer.

    Use it as `Authorization: Bearer <secret>` on any API route. `read` tokens can only
    read (writes answer 403 `insufficient_scope`); `read-write` tokens can do anything the
    user can, except manage tokens. Requests with a token need no Origin check. Creating one
    needs a login (password, and code with two-factor login) within the last
    `TOKEN_CREATION_LOGIN_MINUTES` (15): else 403 `reauthentication_required`.
    """
    services().auth.require_recent_login(current_user, current_app.config["TOKEN_CREATION_LOGIN_MINUTES"])
    token, secret = services().tokens.create(current_user.id, body["name"], body["scope"], body["expires_at"])
    audit("token_created", owner_id=current_user.id, target_id=token["_id"], scope=body["scope"])
    return {"token": token, "secret": secret}


@bp.get("/tokens")
@session_only
@response(TokenListSchema, description="The tokens.")
def list_tokens():
    """The caller's tokens, with when each was created and last used (never the secrets)."""
    return {"tokens": services().tokens.list(current_user.id)}


@bp.delete("/tokens/<token_id>")
@session_only
@response(None, 204, "Revoked.", errors=(NOT_FOUND,))
def revoke_token(token_id: str):
    """Revoke a token: it stops working at once."""
    services().tokens.revoke(current_user.id, token_id)
    audit("token_revoked", owner_id=current_user.id, target_id=token_id)
