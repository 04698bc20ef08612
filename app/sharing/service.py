"""Share links: create, list, edit, revoke (owner); resolve, unlock, read (anyone with the link).

A link token is 192 random bits; only its SHA-256 is stored, found by that hash and compared
again in constant time. An unknown, revoked, expired or used-up link, or one whose item is
no longer live (trashed, deleted), is the same 404.

Every edit of a link (PATCH, revoke) bumps its ``epoch`` in the same atomic write; unlocks and
resume allowances remembered by browsers name the epoch they were given under, so an edit ends
them all.
"""
from __future__ import annotations

from typing import Callable

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bson import ObjectId
from ..digests import secret_digest
from ..drive.repo import FILE, FOLDER, ItemsRepository
from ..drive.tree import Tree
from ..errors import Conflict, ErrorCode, InvalidInput, NotFound, PayloadTooLarge, human_size
from ..offload import check_password_hash, generate_password_hash
from ..timeutil import as_utc, utcnow
from .repo import SharesRepository

log = logging.getLogger(__name__)
LABEL_MAX = 200
PASSWORD_MAX = 1024
MAX_DOWNLOADS_LIMIT = 1_000_000
READ, UPLOAD = "read", "upload"
MODES = (READ, UPLOAD)
DROP_LIMIT_MAX = 2**60
DROP_LIMITS = ("max_file_bytes", "max_total_bytes", "max_files")
# How long a counted download may be resumed by the same browser session.
RESUME_WINDOW = timedelta(hours=24)
_MISSING = object()


def share_not_found() -> NotFound:
    return NotFound("This link does not exist or no longer works.", code=ErrorCode.SHARE_NOT_FOUND)


@dataclass
class SharedItem:
    share: dict
    item: dict


def epoch(share: dict) -> int:
    """The link's version: every edit bumps it (links made before epochs existed are at 0)."""
    return share.get("epoch", 0)


def mode_of(share: dict) -> str:
    """``read`` (open, browse, download: links made before modes existed too) or ``upload``."""
    return share.get("mode") or READ


def drop_full(share: dict) -> bool:
    """An upload-only link that has taken its ``max_files`` or ``max_total_bytes``."""
    return ((share.get("max_files") is not None and share.get("uploaded_files", 0) >= share["max_files"])
            or (share.get("max_total_bytes") is not None
                and share.get("uploaded_bytes", 0) >= share["max_total_bytes"]))


def share_state(share: dict, item_live: bool, now: datetime | None = None) -> str:
    now = now or utcnow()
    if share.get("revoked_at"):
        return "revoked"
    if share.get("expires_at") and as_utc(share["expires_at"]) <= now:
        return "expired"
    if share.get("max_downloads") is not None and share["download_count"] >= share["max_downloads"]:
        return "exhausted"
    if mode_of(share) == UPLOAD and drop_full(share):
        return "exhausted"
    return "active" if item_live else "item_unavailable"


class ShareService:
    def __init__(self, shares: SharesRepository, items: ItemsRepository, password_method: str | None = None,
                 owner_active: Callable[[str], bool] = lambda _owner_id: True):
        self.shares = shares
        self.items = items
        self.password_method = password_method
        self.tree = Tree(items)
        # Whether an owner's links may answer (a disabled account's links stop at once).
        self.owner_active = owner_active

    # -- owner -------------------------------------------------------------------------------

    def create(self, owner_id: str, item_id, label=None, expires_at=None, password=None,
               max_downloads=None, mode=READ, max_file_bytes=None, max_total_bytes=None,
               max_files=None) -> tuple[dict, str]:
        """A link. ``mode`` ``read`` (the default) opens the item to anyone with the link;
        ``upload`` (a folder only) lets them upload into it and see nothing of it, within the
        optional ``max_file_bytes``, ``max_total_bytes`` and ``max_files``."""
        if mode not in MODES:
            raise InvalidInput("mode must be 'read' or 'upload'.", code=ErrorCode.INVALID_INPUT)
        item = self.items.get(owner_id, item_id if isinstance(item_id, str) else "", live=True)
        if item is None:
            raise NotFound("No such file or folder.", code=ErrorCode.ITEM_NOT_FOUND)
        if mode == UPLOAD and item["type"] != FOLDER:
            raise InvalidInput("An upload-only link goes on a folder (uploads land in it).", code=ErrorCode.INVALID_INPUT)
        limits = {"max_file_bytes": max_file_bytes, "max_total_bytes": max_total_bytes, "max_files": max_files}
        self._check_mode(mode, max_downloads, limits)
        token = secrets.token_urlsafe(24)
        now = utcnow()
        share = {"_id": ObjectId(), "owner_id": owner_id, "item_id": item["_id"], "item_type": item["type"],
                 "token_hash": secret_digest(token), "created_at": now, "download_count": 0, "last_used_at": None,
                 "revoked_at": None, "label": None, "expires_at": None, "password_hash": None,
                 "max_downloads": None, "epoch": 0, "mode": mode, "max_file_bytes": None, "max_total_bytes": None,
                 "max_files": None, "uploaded_files": 0, "uploaded_bytes": 0}
        share.update(self._settings(label, expires_at, password, max_downloads, **limits))
        self.shares.insert(share)
        log.info("share created user_id=%s share_id=%s item_id=%s", owner_id, share["_id"], item["_id"])
        return share, token

    @staticmethod
    def _check_mode(mode: str, max_downloads, limits: dict) -> None:
        """Download limits are for read links, upload limits for upload-only links."""
        if mode == UPLOAD and max_downloads not in (None, _MISSING):
            raise InvalidInput("An upload-only link has no downloads: use max_files or max_total_bytes.",
                               code=ErrorCode.INVALID_MAX_DOWNLOADS)
        if mode == READ and any(v not in (None, _MISSING) for v in limits.values()):
            raise InvalidInput("max_file_bytes, max_total_bytes and max_files are for upload-only links "
                               "(mode 'upload').", code=ErrorCode.INVALID_INPUT)

    def _settings(self, label=_MISSING, expires_at=_MISSING, password=_MISSING, max_downloads=_MISSING,
                  **limits) -> dict:
        """Validated settings; ``None`` clears one, a missing argument leaves it alone."""
        changes: dict = {}
        for name, value in limits.items():
            if value is _MISSING:
                continue
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not 1 <= value <= DROP_LIMIT_MAX):
                raise InvalidInput(f"{name} must be a positive integer (or null: no limit).",
                                   code=ErrorCode.INVALID_INPUT)
            changes[name] = value
        if label is not _MISSING:
            if label is not None and (not isinstance(label, str) or len(label) > LABEL_MAX):
                raise InvalidInput(f"label must be a string of at most {LABEL_MAX} characters.",
                                   code=ErrorCode.INVALID_LABEL)
            changes["label"] = label or None
        if expires_at is not _MISSING:
            if expires_at is not None and not isinstance(expires_at, datetime):
                raise InvalidInput("expires_at must be an ISO 8601 date-time.", code=ErrorCode.INVALID_EXPIRY)
            if expires_at is not None and expires_at <= utcnow():
                raise InvalidInput("expires_at must be in the future.", code=ErrorCode.INVALID_EXPIRY)
            changes["expires_at"] = expires_at
        if password is not _MISSING:
            if password is not None and (not isinstance(password, str) or not 1 <= len(password) <= PASSWORD_MAX):
                raise InvalidInput("password must be 1-1024 characters.", code=ErrorCode.INVALID_PASSWORD)
            changes["password_hash"] = generate_password_hash(password, self.password_method) if password else None
        if max_downloads is not _MISSING:
            if max_downloads is not None and (isinstance(max_downloads, bool) or not isinstance(max_downloads, int)
                                              or not 1 <= max_downloads <= MAX_DOWNLOADS_LIMIT):
                raise InvalidInput("max_downloads must be a positive integer.", code=ErrorCode.INVALID_MAX_DOWNLOADS)
            changes["max_downloads"] = max_downloads
        return changes

    def list(self, owner_id: str, item_id: str | None = None) -> list[tuple[dict, str]]:
        oid = None
        if item_id is not None:
            item = self.items.get(owner_id, item_id, live=None)
            if item is None:
                raise NotFound("No such file or folder.", code=ErrorCode.ITEM_NOT_FOUND)
            oid = item["_id"]
        shares = self.shares.for_owner(owner_id, oid)
        live = {i["_id"] for i in self.items.by_ids(owner_id, [s["item_id"] for s in shares]).values()
                if i["trashed_at"] is None}
        now = utcnow()
        return [(s, share_state(s, s["item_id"] in live, now)) for s in shares]

    def get(self, owner_id: str, share_id: str) -> tuple[dict, str]:
        share = self.shares.get_owned(owner_id, share_id)
        if share is None:
            raise share_not_found()
        item = self.items.get(owner_id, share["item_id"], live=True)
        return share, share_state(share, item is not None)

    def update(self, owner_id: str, share_id: str, **settings) -> tuple[dict, str]:
        share, _ = self.get(owner_id, share_id)
        self._check_mode(mode_of(share), settings.get("max_downloads"), {k: settings.get(k) for k in DROP_LIMITS})
        changes = self._settings(**settings)
        edited = None if share.get("revoked_at") else self.shares.update_unless_revoked(share["_id"], changes)
        if edited is None:
            self.get(owner_id, share_id)  # 404 if the link went with its item meanwhile
            raise InvalidInput("A revoked link cannot be changed; create a new one.", code=ErrorCode.SHARE_REVOKED)
        # The link as this edit left it (a revoke right after is the next answer's news).
        return edited, share_state(edited, self.items.get(owner_id, edited["item_id"], live=True) is not None)

    def revoke(self, owner_id: str, share_id: str) -> None:
        share, _ = self.get(owner_id, share_id)
        if not share.get("revoked_at"):
            self.shares.update_unless_revoked(share["_id"], {"revoked_at": utcnow()})
        log.info("share revoked user_id=%s share_id=%s", owner_id, share_id)

    # -- anyone with the link ----------------------------------------------------------------

    def store_drop(self, shared: SharedItem, parts: list, sizes: list[int], drive) -> list[dict]:
        """Store what a stranger uploads through an upload-only link into its folder, renamed
        on a name clash, counted against the link's limits (reserved atomically first, given
        back if storing fails) and the owner's quota."""
        share = shared.share
        limit = share.get("max_file_bytes")
        if limit is not None and any(size > limit for size in sizes):
            raise PayloadTooLarge(f"This link takes files of at most {human_size(limit)}.")
        total = sum(sizes)
        if self.shares.reserve_drop(share["_id"], len(parts), total, utcnow()) is None:
            raise Conflict("This link takes no more files (its limit on files or bytes is reached).",
                           code=ErrorCode.LINK_FULL)
        try:
            stored = drive.store_uploads(share["owner_id"], parts, str(share["item_id"]), "rename")
        except BaseException:
            self.shares.release_drop(share["_id"], len(parts), total)
            raise
        log.info("link upload share_id=%s files=%d bytes=%d", share["_id"], len(stored), total)
        return stored

    def resolve(self, token: str, resume_grants: list[str] | None = None) -> SharedItem:
        """The live link of ``token``. A used-up link stays open only to a session that holds
        a live resume allowance of it (``resume_grants``: the allowance ids it remembers)."""
        if not isinstance(token, str) or not 16 <= len(token) <= 64:
            raise share_not_found()
        digest = secret_digest(token)
        share = self.shares.by_token_hash(digest)
        if share is None or not hmac.compare_digest(share["token_hash"], digest):
            raise share_not_found()
        if not self.owner_active(share["owner_id"]):
            raise share_not_found()
        item = self.items.get(share["owner_id"], share["item_id"], live=True)
        state = share_state(share, item is not None)
        if state == "exhausted" and mode_of(share) == UPLOAD:
            state = "active"  # a full file drop still opens: its page says so, an upload gets 409 link_full
        if state == "exhausted" and self.shares.has_live_grant(resume_grants or [], share["_id"], epoch(share),
                                                                utcnow()):
            state = "active"
        if state != "active":
            raise share_not_found()
        return SharedItem(share, item)

    @staticmethod
    def needs_password(share: dict) -> bool:
        return share.get("password_hash") is not None

    @staticmethod
    def password_matches(share: dict, password) -> bool:
        if not isinstance(password, str) or len(password) > PASSWORD_MAX or share.get("password_hash") is None:
            return False
        return check_password_hash(share["password_hash"], password)

    def count_download(self, shared: SharedItem) -> None:
        """Count one download (a ZIP); 404 once the limit is reached, as for an unknown link."""
        if self.shares.count_download(shared.share["_id"], utcnow()) is None:
            raise share_not_found()

    def charge(self, shared: SharedItem, file: dict, start: int, served: int,
               resume_grants: list[str]) -> str | None:
        """Charge one response that serves ``served`` bytes of ``file`` from offset ``start``.

        A response from byte 0 always counts as one download, atomically within
        ``max_downloads`` (404 past it), and opens a resume allowance for the session. A later
        start is a resume: free if one of the session's allowances (this file, the link's current
        epoch, RESUME_WINDOW) has room for it (resumes together may serve at most the file's
        size), counted like a download otherwise. Returns the allowance id the session should
        remember (None: nothing new).
        """
        share_id, now = shared.share["_id"], utcnow()
        if start > 0 and self.shares.use_grant(resume_grants, share_id, file["_id"], epoch(shared.share), served,
                                               file["size"], now):
            return None
        self.count_download(shared)
        if file["size"] == 0:
            return None
        return self.shares.create_grant(share_id, file["_id"], epoch(shared.share), served if start else 0,
                                        now + RESUME_WINDOW)

    def file_in(self, shared: SharedItem, file_id: str | None = None) -> dict:
        """The shared file, or a live file inside the shared folder."""
        if shared.item["type"] == FILE:
            if file_id not in (None, str(shared.item["_id"])):
                raise share_not_found()
            return shared.item
        return self._inside(shared, file_id, FILE)

    def folder_in(self, shared: SharedItem, folder_id: str | None) -> dict:
        """The shared folder itself, or a live folder inside it."""
        if shared.item["type"] != FOLDER:
            raise share_not_found()
        if folder_id in (None, "", str(shared.item["_id"])):
            return shared.item
        return self._inside(shared, folder_id, FOLDER)

    def _inside(self, shared: SharedItem, item_id, kind: str) -> dict:
        owner = shared.share["owner_id"]
        item = self.items.get(owner, item_id, kind=kind, live=True) if isinstance(item_id, str) else None
        if item is None or not any(a["_id"] == shared.item["_id"] for a in self.tree.ancestors(owner, item["parent_id"])):
            raise share_not_found()
        return item

    def list_folder(self, shared: SharedItem, folder: dict, page: int, limit: int) -> tuple[list[dict], int]:
        return self.items.children(shared.share["owner_id"], folder["_id"], page=page, limit=limit)
