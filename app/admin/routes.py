"""Administration routes (/api/admin/...): administrators only; anyone else gets 404, as for
a route that does not exist."""
from __future__ import annotations

import functools

from flask import Blueprint, current_app, request
from flask_login import current_user, login_required

from ..auth.service import is_admin
from ..contract import USER_SECURITY, arguments, document, response
from ..errors import (ADMIN_ONLY, CONFLICT, EMAIL_TAKEN, EMAIL_UNAVAILABLE, INVALID_EMAIL, INVITE_NOT_FOUND, UNAUTHORIZED,
                      USER_NOT_FOUND, ErrorCode, NotFound)
from ..schemas import paged
from ..audit.record import audit
from ..services import services
from .schemas import (AdminUserCreateSchema, AdminUserPageSchema, AdminUserSchema, AdminUserUpdateSchema,
                      InviteCreatedSchema, InviteCreateSchema, InviteListSchema, PasswordResetSchema, UserDeleteSchema,
                      UserQuery)

bp = Blueprint("admin", __name__, url_prefix="/api/admin")
TAGS = ["Administration"]


def admin_only(view):
    """An administrator's session or token; for anyone else the route does not exist (404)."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not is_admin(current_user.doc):
            raise NotFound("The requested resource was not found.", code=ErrorCode.NOT_FOUND)
        return view(*args, **kwargs)
    guarded = login_required(wrapper)
    document(tags=TAGS, security=USER_SECURITY, errors=(UNAUTHORIZED, ADMIN_ONLY))(guarded)
    return guarded


@bp.get("/users")
@admin_only
@arguments(UserQuery, "query")
@response(AdminUserPageSchema, description="A page of users, by username.")
def list_users(query: dict):
    """Users with their role, state, usage, quota and last activity; `q` keeps usernames
    containing it. Nothing here shows a user's files."""
    users, total = services().admin.list_users(query["q"], query["page"], query["limit"])
    return paged(users, total, query)


@bp.post("/users")
@admin_only
@arguments(AdminUserCreateSchema)
@response(AdminUserSchema, 201, "The new user.", errors=(CONFLICT,))
def create_user(body: dict):
    """Create an account (whatever REGISTRATION says), optionally an administrator or with a
    quota of its own."""
    user = services().admin.create_user(current_user.id, body["username"], body["password"], body["role"],
                                        body["quota_bytes"])
    audit("admin_user_created", target_id=user["_id"], role=body["role"])
    return user


@bp.get("/users/<user_id>")
@admin_only
@response(AdminUserSchema, description="The user.", errors=(USER_NOT_FOUND,))
def get_user(user_id: str):
    """One user as the list shows them."""
    return services().admin.get(user_id)


@bp.patch("/users/<user_id>")
@admin_only
@arguments(AdminUserUpdateSchema)
@response(AdminUserSchema, description="The user after the change.",
          errors=(USER_NOT_FOUND, CONFLICT, EMAIL_TAKEN, INVALID_EMAIL))
def update_user(body: dict, user_id: str):
    """Set a quota of the user's own (`null`: back to USER_QUOTA_BYTES; `0`: unlimited),
    disable or enable the account, change its role, or set its email address (taken as
    verified: password reset links go there; `null` removes it). Disabling ends the user's sessions and
    stops their tokens, WebDAV logins and share links at once; enabling brings tokens and links
    back. You cannot disable or demote yourself (409)."""
    user = services().admin.update_user(current_user.id, user_id, body)
    audit("admin_user_changed", target_id=user_id, **{k: body[k] for k in ("quota_bytes", "disabled", "role")
                                                      if k in body}, email_changed="email" in body)
    return user


@bp.delete("/users/<user_id>")
@admin_only
@arguments(UserDeleteSchema)
@response(None, 204, "Deleted, with everything the account owned.", errors=(USER_NOT_FOUND, CONFLICT))
def delete_user(body: dict, user_id: str):
    """Delete an account with all its data: files, folders, versions and their bytes, links,
    tokens, sessions, unfinished uploads, WebDAV locks, then the account. Send its username as
    `confirm`. If it is interrupted, the account stays disabled; run it again (or
    `flask delete-user`) to finish. Your own account: `DELETE /api/me`."""
    services().admin.delete_user(current_user.id, user_id, body["confirm"], services().deletion)
    audit("admin_user_deleted", target_id=user_id)


@bp.post("/users/<user_id>/password")
@admin_only
@arguments(PasswordResetSchema)
@response(None, 204, "Reset.", errors=(USER_NOT_FOUND,))
def reset_password(body: dict, user_id: str):
    """Give the user a new password (tell it to them); every session of theirs ends."""
    services().admin.reset_password(current_user.id, user_id, body["password"])
    audit("admin_password_reset", target_id=user_id)


@bp.post("/invites")
@admin_only
@arguments(InviteCreateSchema)
@response(InviteCreatedSchema, 201, "The invitation, with its secret (shown once).",
          errors=(EMAIL_UNAVAILABLE, INVALID_EMAIL))
def create_invite(body: dict):
    """An invitation to register (REGISTRATION=invite): single use, valid `hours` (72 by
    default). Give the person the `url` (or the secret, sent as `invite` to POST /api/register),
    or send `email` and the server mails them the link (needs SMTP_HOST; 409 without it)."""
    invite, secret = services().admin.create_invite(current_user.doc, body["hours"], body["note"], body["email"])
    audit("admin_invite_created", target_id=invite["_id"], emailed=body["email"] is not None)
    base = current_app.config.get("PUBLIC_URL") or request.host_url.rstrip("/")
    return {"invite": invite, "secret": secret, "url": f"{base}/#/register?invite={secret}",
            "emailed": body["email"] is not None}


@bp.get("/invites")
@admin_only
@response(InviteListSchema, description="Unused, unexpired invitations, oldest first.")
def list_invites():
    """Invitations not used yet and not expired (never their secrets)."""
    return {"invites": services().admin.list_invites()}


@bp.delete("/invites/<invite_id>")
@admin_only
@response(None, 204, "Withdrawn.", errors=(INVITE_NOT_FOUND,))
def delete_invite(invite_id: str):
    """Withdraw an invitation: it can no longer be used."""
    services().admin.delete_invite(current_user.id, invite_id)
    audit("admin_invite_deleted", target_id=invite_id)
