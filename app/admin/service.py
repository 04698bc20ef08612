"""What administrators may do to accounts. No operation here reads or returns a user's files:
the list shows usage, quota and activity only."""
from __future__ import annotations

import logging

from ..auth.recovery import AccountRecovery
from ..auth.repo import InvitesRepository, SessionsRepository, UsersRepository
from ..auth.service import ROLE_ADMIN, AuthService
from ..auth.tokens import TokenService
from ..drive.repo import BlobsRepository
from ..errors import Conflict, ErrorCode, InvalidInput, NotFound
from ..timeutil import utcnow

log = logging.getLogger(__name__)
ROLES = ("user", ROLE_ADMIN)
INVITE_HOURS_MAX = 24 * 30
QUOTA_MAX = 2**60  # an exbibyte: beyond any disk, within every database's integers


def user_not_found() -> NotFound:
    return NotFound("No such user.", code=ErrorCode.USER_NOT_FOUND)


class AdminService:
    def __init__(self, auth: AuthService, tokens: TokenService, users: UsersRepository,
                 sessions: SessionsRepository, invites: InvitesRepository, blobs: BlobsRepository,
                 default_quota: int | None, recovery: AccountRecovery):
        self.auth = auth
        self.tokens = tokens
        self.users = users
        self.sessions = sessions
        self.invites = invites
        self.blobs = blobs
        self.default_quota = default_quota
        self.recovery = recovery

    def describe(self, user: dict) -> dict:
        """A user as administrators see them: the account, its usage and quota, never files."""
        own = user.get("quota_bytes")
        return {**user, "role": user.get("role") or "user", "disabled": bool(user.get("disabled")),
                "used_bytes": self.blobs.used_bytes(str(user["_id"])),
                "quota_bytes": self.default_quota or 0 if own is None else own, "own_quota": own is not None}

    def list_users(self, text: str | None, page: int, limit: int) -> tuple[list[dict], int]:
        users, total = self.users.page(text or None, page, limit)
        return [self.describe(u) for u in users], total

    def get(self, user_id: str) -> dict:
        user = self.users.get(user_id)
        if user is None:
            raise user_not_found()
        return self.describe(user)

    def create_user(self, admin_id: str, username, password, role: str = "user",
                    quota_bytes: int | None = None) -> dict:
        user = self.auth.register(username, password, role=self._role(role), by_admin=True)
        if quota_bytes is not None:
            user = self.users.update(str(user["_id"]), {"quota_bytes": self._quota(quota_bytes)})
        log.info("admin created user admin_id=%s user_id=%s role=%s", admin_id, user["_id"], role)
        return self.describe(user)

    def update_user(self, admin_id: str, user_id: str, changes: dict) -> dict:
        """Set ``quota_bytes`` (None: back to USER_QUOTA_BYTES), ``disabled``, ``role``, ``email``
        (taken as verified; None removes it). An
        administrator cannot disable or demote themselves (someone must be left to undo it).
        Disabling ends the user's sessions; their tokens and links stop answering at once."""
        if self.users.get(user_id) is None:
            raise user_not_found()
        update = {}
        if "quota_bytes" in changes:
            update["quota_bytes"] = None if changes["quota_bytes"] is None else self._quota(changes["quota_bytes"])
        if "role" in changes:
            update["role"] = self._role(changes["role"])
        if "disabled" in changes:
            update["disabled"] = bool(changes["disabled"])
        if user_id == admin_id and (update.get("disabled") or update.get("role", ROLE_ADMIN) != ROLE_ADMIN):
            raise Conflict("You cannot disable or demote your own account; another administrator can.",
                           code=ErrorCode.CONFLICT)
        if "email" in changes:  # first: a 409 email_taken leaves everything else as it was
            self.recovery.set_email_by_admin(user_id, changes["email"])
        user = self.users.update(user_id, update) if update else self.users.get(user_id)
        if update.get("disabled"):
            self.sessions.delete_for_user(user_id)
        log.info("admin changed user admin_id=%s user_id=%s fields=%s", admin_id, user_id, sorted(update))
        return self.describe(user)

    def delete_user(self, admin_id: str, user_id: str, confirm, deletion) -> None:
        """Delete the account and everything it owns; ``confirm`` must be its username."""
        user = self.users.get(user_id)
        if user is None:
            raise user_not_found()
        if user_id == admin_id:
            raise Conflict("Delete your own account with DELETE /api/me.", code=ErrorCode.CONFLICT)
        if not isinstance(confirm, str) or confirm.lower() != user["username"].lower():
            raise InvalidInput("To delete this account, send its username as 'confirm'.", code=ErrorCode.INVALID_INPUT)
        report = deletion.delete(user_id)
        log.info("admin deleted user admin_id=%s user_id=%s %s", admin_id, user_id, report.line())

    def reset_password(self, admin_id: str, user_id: str, password) -> None:
        self.auth.set_password(user_id, password)
        log.info("admin reset password admin_id=%s user_id=%s", admin_id, user_id)

    def create_invite(self, admin: dict, hours: int, note: str | None, email=None) -> tuple[dict, str]:
        """An invitation; with ``email``, also sent there (409 email_unavailable without SMTP,
        checked before anything is made)."""
        if not isinstance(hours, int) or not 1 <= hours <= INVITE_HOURS_MAX:
            raise InvalidInput(f"hours must be 1 to {INVITE_HOURS_MAX}.", code=ErrorCode.INVALID_INPUT)
        if email is not None:
            email = self.recovery.check_can_send(email)
        invite, secret = self.auth.create_invite(str(admin["_id"]), hours, note)
        if email is not None:
            self.recovery.send_invite(email, secret, invite["expires_at"], admin["username"])
        return invite, secret

    def list_invites(self) -> list[dict]:
        return self.invites.live(utcnow())

    def delete_invite(self, admin_id: str, invite_id: str) -> None:
        if not self.invites.delete(invite_id):
            raise NotFound("No such invitation.", code=ErrorCode.INVITE_NOT_FOUND)
        log.info("admin deleted invite admin_id=%s invite_id=%s", admin_id, invite_id)

    def make_admin(self, username: str, password: str | None) -> tuple[dict, bool]:
        """Create ``username`` as an administrator, or promote an existing user (their password
        is kept unless one is given). Returns the user and whether it was created."""
        user = self.users.get_by_username(username)
        if user is None:
            if not password:
                raise InvalidInput("A new administrator needs a password.", code=ErrorCode.INVALID_PASSWORD)
            return self.auth.register(username, password, role=ROLE_ADMIN, by_admin=True), True
        changes = {"role": ROLE_ADMIN, "disabled": False}
        if password:
            changes["password_hash"] = self.auth.hash_password(password)
        return self.users.update(str(user["_id"]), changes), False

    def first_admin(self, username: str | None, password: str | None) -> str | None:
        """ADMIN_USERNAME / ADMIN_PASSWORD at start-up (unattended installs): the account is
        made an administrator with that password if it does not exist, or promoted if it does
        (its password unchanged: the variable is for the first start, not a reset). Several
        workers starting at once make it once. What happened, for the log; None if nothing."""
        if not username:
            return None
        if self.users.get_by_username(username) is None:
            if not password:
                return f"ADMIN_USERNAME={username} does not exist and ADMIN_PASSWORD is not set: no administrator made"
            try:
                self.auth.register(username, password, role=ROLE_ADMIN, by_admin=True)
                return f"administrator {username} created"
            except Conflict:
                pass  # another worker made it first
        user = self.users.get_by_username(username)
        if user.get("role") != ROLE_ADMIN:
            self.users.update(str(user["_id"]), {"role": ROLE_ADMIN})
            return f"{username} promoted to administrator"
        return None

    @staticmethod
    def _role(role) -> str:
        if role not in ROLES:
            raise InvalidInput("role must be 'user' or 'admin'.", code=ErrorCode.INVALID_INPUT)
        return role

    @staticmethod
    def _quota(quota) -> int:
        if isinstance(quota, bool) or not isinstance(quota, int) or not 0 <= quota <= QUOTA_MAX:
            raise InvalidInput("quota_bytes must be a whole number of bytes (0: unlimited) or null.",
                               code=ErrorCode.INVALID_INPUT)
        return quota

