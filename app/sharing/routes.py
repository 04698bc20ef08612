"""Share links, for their owner: create, list, show, edit, revoke."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for
from flask_login import current_user, login_required

from ..errors import InvalidInput
from ..http import json_object, parse_datetime
from ..services import services
from .views import owner_share

bp = Blueprint("shares", __name__, url_prefix="/api")

_SETTINGS = ("label", "expires_at", "password", "max_downloads")


def _settings_from(data: dict) -> dict:
    """The settings present in a JSON body (``null`` clears one)."""
    settings = {name: data[name] for name in _SETTINGS if name in data}
    if isinstance(settings.get("expires_at"), str):
        settings["expires_at"] = parse_datetime(settings["expires_at"], "expires_at", code="invalid_expiry")
    elif settings.get("expires_at") is not None:
        raise InvalidInput("expires_at must be an ISO 8601 date-time.", code="invalid_expiry")
    return settings


@bp.post("/shares")
@login_required
def create_share():
    """Create a link to a file or folder that works without an account.
    ---
    tags: [sharing]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    description: >
      The answer holds the link (`url`) once; only a hash is kept. Options: `expires_at`,
      `password` (asked once per browser session; wrong guesses are throttled),
      `max_downloads`, `label`. Anyone with the link can read the file, or browse the
      folder, download single files from it or all of it as a ZIP.
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [item_id]
            properties:
              item_id: {type: string}
              label: {type: string, maxLength: 200, nullable: true}
              expires_at: {type: string, format: date-time, nullable: true}
              password: {type: string, maxLength: 1024, nullable: true}
              max_downloads: {type: integer, minimum: 1, nullable: true}
    responses:
      201:
        description: The link.
        content:
          application/json:
            schema:
              type: object
              required: [share, url, token]
              properties:
                share: {$ref: '#/components/schemas/Share'}
                url: {type: string}
                token: {type: string}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    data = json_object()
    item_id = data.get("item_id")
    if not isinstance(item_id, str):
        raise InvalidInput("item_id must be the id of a file or folder.", code="invalid_input")
    share, token = services().shares.create(current_user.id, item_id, **_settings_from(data))
    url = url_for("public.share_info", token=token, _external=True)
    return jsonify(share=owner_share(share, "active"), url=url, token=token), 201


@bp.get("/shares")
@login_required
def list_shares():
    """The caller's links (all, or those of one item), newest first, with their use.
    ---
    tags: [sharing]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    parameters:
      - {name: item_id, in: query, schema: {type: string}}
    responses:
      200:
        description: The links.
        content:
          application/json:
            schema:
              type: object
              required: [shares]
              properties:
                shares: {type: array, items: {$ref: '#/components/schemas/Share'}}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    rows = services().shares.list(current_user.id, request.args.get("item_id"))
    return jsonify(shares=[owner_share(share, state) for share, state in rows])


@bp.get("/shares/<share_id>")
@login_required
def get_share(share_id: str):
    """One link.
    ---
    tags: [sharing]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    parameters:
      - {name: share_id, in: path, required: true, schema: {type: string}}
    responses:
      200:
        description: The link.
        content: {application/json: {schema: {$ref: '#/components/schemas/Share'}}}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    return jsonify(owner_share(*services().shares.get(current_user.id, share_id)))


@bp.patch("/shares/<share_id>")
@login_required
def update_share(share_id: str):
    """Change a link's label, expiry, password or download limit (`null` removes one).
    ---
    tags: [sharing]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    description: >
      Every PATCH (even one that changes nothing) ends earlier unlocks and resume allowances:
      browsers that gave the password must give it again.
    parameters:
      - {name: share_id, in: path, required: true, schema: {type: string}}
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            properties:
              label: {type: string, nullable: true}
              expires_at: {type: string, format: date-time, nullable: true}
              password: {type: string, nullable: true}
              max_downloads: {type: integer, minimum: 1, nullable: true}
    responses:
      200:
        description: The link.
        content: {application/json: {schema: {$ref: '#/components/schemas/Share'}}}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    share = services().shares.update(current_user.id, share_id, **_settings_from(json_object()))
    return jsonify(owner_share(*share))


@bp.delete("/shares/<share_id>")
@login_required
def revoke_share(share_id: str):
    """Revoke a link: it stops working at once, for good (restoring the item does not revive it).
    ---
    tags: [sharing]
    security: [{cookieAuth: []}, {bearerAuth: []}]
    parameters:
      - {name: share_id, in: path, required: true, schema: {type: string}}
    responses:
      204: {description: Revoked.}
      401: {$ref: '#/components/responses/Unauthorized'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    services().shares.revoke(current_user.id, share_id)
    return "", 204
