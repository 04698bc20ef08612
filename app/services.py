"""Builds the repositories, storage and services once per app, and hands them to routes."""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from flask import Flask, current_app, request
from pymongo.errors import ConnectionFailure

from .auth.recovery import AccountRecovery
from .auth.repo import SessionsRepository, TokensRepository, UsersRepository, email_links_repository, invites_repository
from .mail.mailer import Mailer
from .members.access import AccessRule
from .members.repo import grants_repository
from .members.service import MembersService
from .admin.deletion import AccountDeletion
from .admin.export import AccountExport
from .admin.service import AdminService
from .audit.log import AuditLog
from .audit.repo import events_repository
from .auth.service import AuthService
from .auth.tokens import TokenService
from .auth.two_factor import TwoFactorService
from .dav.repo import DavLocksRepository, dav_locks_repository
from .db import Database
from .errors import ErrorCode, Forbidden
from .drive.blobs import BlobStore
from .drive.repo import BlobsRepository, ItemsRepository, VersionsRepository
from .drive.search import SearchService
from .drive.service import DriveService
from .drive.trash import TrashService
from .drive.versions import VersionsService
from .drive.zips import ZipContents
from .repair import RepairService
from .sharing.repo import SharesRepository
from .sharing.service import ShareService
from .storage import BlobStorage, storage_from_config
from .thumbnails.service import ThumbnailService
from .uploads.repo import uploads_repository
from .uploads.service import UploadsService

EXTENSION_KEY = "drive_services"
log = logging.getLogger(__name__)


@dataclass
class Services:
    auth: AuthService
    tokens: TokenService
    drive: DriveService
    versions: VersionsService
    trash: TrashService
    search: SearchService
    shares: ShareService
    storage: BlobStorage
    repair: RepairService
    uploads: UploadsService
    dav_locks: DavLocksRepository
    admin: AdminService
    deletion: "AccountDeletion | None" = None
    export: "AccountExport | None" = None
    two_factor: "TwoFactorService | None" = None
    audit: "AuditLog | None" = None
    recovery: "AccountRecovery | None" = None
    access: "AccessRule | None" = None
    members: "MembersService | None" = None
    zips: "ZipContents | None" = None
    thumbnails: "ThumbnailService | None" = None


def init_services(app: Flask, database: Database) -> Services:
    config = app.config
    users, sessions, tokens, items, blobs_repo, versions_repo, shares = repositories_for(database)
    uploads = uploads_repository(database)
    dav_locks = dav_locks_repository(database)
    invites = invites_repository(database)
    email_links = email_links_repository(database)
    events = events_repository(database)
    grants = grants_repository(database)
    ensure_indexes(app, (users, sessions, tokens, items, blobs_repo, versions_repo, shares, uploads, dav_locks,
                         invites, events, email_links, grants))
    if database.kind == "sqlite":
        from .migrate_store import migrate
        for line in migrate(database, embedded_path(app), config["MONGO_DB_NAME"]).lines()[:50]:
            log.info("store migration: %s", line)
    storage = storage_from_config(config)
    default_quota = config["USER_QUOTA_BYTES"]

    def quota_of(owner_id: str) -> int | None:
        """The user's own quota when an administrator set one, else USER_QUOTA_BYTES. An
        account that is gone or disabled (its deletion may be under way) stores nothing more:
        an upload that was already streaming is refused here, before its bytes are kept."""
        user = users.get(owner_id)
        if user is None or user.get("disabled"):
            raise Forbidden("This account is disabled; nothing more can be stored in it.",
                            code=ErrorCode.ACCOUNT_DISABLED)
        own = user.get("quota_bytes")
        return default_quota if own is None else own

    def owner_active(owner_id: str) -> bool:
        user = users.get(owner_id)
        return user is not None and not user.get("disabled")

    blobs = BlobStore(blobs_repo, storage, quota_of)
    versions = VersionsService(items, versions_repo, blobs, config["MAX_VERSIONS_PER_FILE"])
    drive = DriveService(items, blobs, versions)
    auth = AuthService(users, sessions, config["SESSION_LIFETIME_DAYS"], config.get("PASSWORD_HASH_METHOD"),
                       invites=invites, registration=config["REGISTRATION"],
                       unremembered_hours=config["SESSION_UNREMEMBERED_HOURS"], email_links=email_links)
    token_service = TokenService(tokens, users)
    recovery = AccountRecovery(users, sessions, email_links, auth, Mailer.from_config(config),
                               config["PASSWORD_RESET_MINUTES"], config["EMAIL_VERIFY_HOURS"])
    services = Services(
        auth=auth,
        tokens=token_service,
        drive=drive,
        versions=versions,
        trash=TrashService(items, blobs, versions, config["TRASH_RETENTION_DAYS"], grants=grants),
        search=SearchService(items, blobs_repo, quota_of, versions_repo,
                             {"trash_days": config["TRASH_RETENTION_DAYS"],
                              "versions_per_file": config["MAX_VERSIONS_PER_FILE"]}),
        shares=ShareService(shares, items, config.get("PASSWORD_HASH_METHOD"), owner_active),
        storage=storage,
        repair=RepairService(items, blobs_repo, versions_repo, storage, uploads=uploads),
        uploads=UploadsService(uploads, blobs, drive, config["MAX_CONTENT_LENGTH"], config["TUS_EXPIRY_HOURS"]),
        dav_locks=dav_locks,
        admin=AdminService(auth, token_service, users, sessions, invites, blobs_repo, default_quota, recovery),
        recovery=recovery,
    )
    services.access = AccessRule(items, grants, owner_active)
    services.members = MembersService(services.access, grants, users, items)
    services.zips = ZipContents(items, drive, config["ZIP_MAX_ENTRIES"])
    services.deletion = AccountDeletion(services)
    services.export = AccountExport(services)
    services.two_factor = TwoFactorService(users)
    services.thumbnails = ThumbnailService.from_config(config, app.instance_path)
    services.audit = AuditLog(events, os.path.join(app.instance_path, "audit"), config["AUDIT_FLUSH_SECONDS"],
                              enabled=config["AUDIT_ENABLED"])
    app.extensions[EXTENSION_KEY] = services
    return services


def embedded_path(app: Flask) -> str:
    """The folder of the embedded store: the SQLite engine's file, and an old litemongo store
    waiting to be migrated (app/migrate_store.py)."""
    return app.config.get("EMBEDDED_DB_PATH") or os.path.join(app.instance_path, "data")


def repositories_for(database) -> tuple:
    """The repositories of one database: the SQLite ones, or the MongoDB ones (also used on
    mongomock)."""
    if database.kind == "sqlite":
        from .auth.sqlite_repo import SQLiteSessionsRepository, SQLiteTokensRepository, SQLiteUsersRepository
        from .drive.sqlite_repo import SQLiteBlobsRepository, SQLiteItemsRepository, SQLiteVersionsRepository
        from .sharing.sqlite_repo import SQLiteSharesRepository
        kinds = (SQLiteUsersRepository, SQLiteSessionsRepository, SQLiteTokensRepository, SQLiteItemsRepository,
                 SQLiteBlobsRepository, SQLiteVersionsRepository, SQLiteSharesRepository)
    else:
        kinds = (UsersRepository, SessionsRepository, TokensRepository, ItemsRepository, BlobsRepository,
                 VersionsRepository, SharesRepository)
    return tuple(kind(database) for kind in kinds)


def ensure_indexes(app: Flask, repositories: tuple) -> None:
    """Create indexes at start-up. With the database down, start anyway, so requests get a
    503 instead of Gunicorn giving up on a worker that cannot boot; then every request but
    the health check creates them first: unique indexes keep names unique, so nothing is
    served without them."""
    try:
        for repo in repositories:
            repo.ensure_indexes()
        return
    except ConnectionFailure:
        log.error("database unreachable at start-up; indexes will be created once it answers")
    lock, done = threading.Lock(), []

    @app.before_request
    def ensure_indexes_first() -> None:
        if done or request.endpoint == "system.status":
            return
        with lock:
            if not done:
                for repo in repositories:
                    repo.ensure_indexes()
                done.append(True)


def services() -> Services:
    return current_app.extensions[EXTENSION_KEY]
