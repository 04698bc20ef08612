"""Personal access tokens: create (secret shown once), list, revoke. Session only."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user, login_required

from .tokens import public_token
from ..errors import InvalidInput
from ..http import json_object, parse_datetime
from ..security import session_required
from ..services import services

bp = Blueprint("tokens", __name__, url_prefix="/api")


@bp.post("/tokens")
@login_required
@session_required
def create_token():
    """Create a personal access token for scripts; the secret is shown only in this answer.
    ---
    tags: [tokens]
    security: [{cookieAuth: []}]
    description: >
      Use it as `Authorization: Bearer <secret>` on any API route. `read` tokens can only
      read (writes answer 403 `insufficient_scope`); `read-write` tokens can do anything the
      user can, except manage tokens. Requests with a token need no Origin check.
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [name, scope]
            properties:
              name: {type: string, maxLength: 100, example: backup script}
              scope: {type: string, enum: [read, read-write]}
              expires_at: {type: string, format: date-time, nullable: true}
    responses:
      201:
        description: The token, with its secret.
        content:
          application/json:
            schema:
              type: object
              required: [token, secret]
              properties:
                token: {$ref: '#/components/schemas/ApiToken'}
                secret: {type: string, example: cdt_3q2...}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/Unauthorized'}
      403: {$ref: '#/components/responses/Forbidden'}
    """
    data = json_object()
    expires_at = data.get("expires_at")
    if expires_at is not None and not isinstance(expires_at, str):
        raise InvalidInput("expires_at must be an ISO 8601 date-time.", code="invalid_expiry")
    token, secret = services().tokens.create(current_user.id, data.get("name"), data.get("scope"),
                                             parse_datetime(expires_at, "expires_at", code="invalid_expiry") if expires_at else None)
    return jsonify(token=public_token(token), secret=secret), 201


@bp.get("/tokens")
@login_required
@session_required
def list_tokens():
    """The caller's tokens, with when each was created and last used (never the secrets).
    ---
    tags: [tokens]
    security: [{cookieAuth: []}]
    responses:
      200:
        description: The tokens.
        content:
          application/json:
            schema:
              type: object
              required: [tokens]
              properties:
                tokens: {type: array, items: {$ref: '#/components/schemas/ApiToken'}}
      401: {$ref: '#/components/responses/Unauthorized'}
      403: {$ref: '#/components/responses/Forbidden'}
    """
    return jsonify(tokens=[public_token(t) for t in services().tokens.list(current_user.id)])


@bp.delete("/tokens/<token_id>")
@login_required
@session_required
def revoke_token(token_id: str):
    """Revoke a token: it stops working at once.
    ---
    tags: [tokens]
    security: [{cookieAuth: []}]
    parameters:
      - {name: token_id, in: path, required: true, schema: {type: string}}
    responses:
      204: {description: Revoked.}
      401: {$ref: '#/components/responses/Unauthorized'}
      403: {$ref: '#/components/responses/Forbidden'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    services().tokens.revoke(current_user.id, token_id)
    return "", 204
