"""Builds the repositories, storage and services once per app, and hands them to routes."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from .auth.repo import SessionsRepository, TokensRepository, UsersRepository
from .auth.service import AuthService
from .auth.tokens import TokenService
from .db import Database
from .drive.blobs import BlobStore
from .drive.repo import BlobsRepository, ItemsRepository, VersionsRepository
from .drive.search import SearchService
from .drive.service import DriveService
from .drive.trash import TrashService
from .drive.versions import VersionsService
from .sharing.repo import SharesRepository
from .sharing.service import ShareService
from .storage import LocalBlobStorage

EXTENSION_KEY = "drive_services"


@dataclass
class Services:
    auth: AuthService
    tokens: TokenService
    drive: DriveService
    versions: VersionsService
    trash: TrashService
    search: SearchService
    shares: ShareService
    storage: LocalBlobStorage


def init_services(app: Flask, database: Database) -> Services:
    config = app.config
    users, sessions, tokens = UsersRepository(database), SessionsRepository(database), TokensRepository(database)
    items, blobs_repo, versions_repo = ItemsRepository(database), BlobsRepository(database), VersionsRepository(database)
    shares = SharesRepository(database)
    for repo in (users, sessions, tokens, items, blobs_repo, versions_repo, shares):
        repo.ensure_indexes()
    storage = LocalBlobStorage(config["UPLOAD_FOLDER"])
    blobs = BlobStore(blobs_repo, storage)
    versions = VersionsService(items, versions_repo, blobs, config["MAX_VERSIONS_PER_FILE"])
    services = Services(
        auth=AuthService(users, sessions, config["SESSION_LIFETIME_DAYS"]),
        tokens=TokenService(tokens, users),
        drive=DriveService(items, blobs, versions, config["USER_QUOTA_BYTES"]),
        versions=versions,
        trash=TrashService(items, blobs, versions, config["TRASH_RETENTION_DAYS"]),
        search=SearchService(items, blobs_repo, config["USER_QUOTA_BYTES"]),
        shares=ShareService(shares, items),
        storage=storage,
    )
    app.extensions[EXTENSION_KEY] = services
    return services


def services() -> Services:
    return current_app.extensions[EXTENSION_KEY]
