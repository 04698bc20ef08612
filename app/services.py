"""Builds the repositories, storage and services once per app, and hands them to routes."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from .auth.repo import SessionsRepository, UsersRepository
from .auth.service import AuthService
from .db import Database
from .files.repo import FilesRepository
from .files.service import FilesService
from .storage import LocalBlobStorage

EXTENSION_KEY = "drive_services"


@dataclass
class Services:
    auth: AuthService
    files: FilesService
    storage: LocalBlobStorage


def init_services(app: Flask, database: Database) -> Services:
    users, sessions, files = UsersRepository(database), SessionsRepository(database), FilesRepository(database)
    for repo in (users, sessions, files):
        repo.ensure_indexes()
    storage = LocalBlobStorage(app.config["UPLOAD_FOLDER"])
    services = Services(
        auth=AuthService(users, sessions, app.config["SESSION_LIFETIME_DAYS"]),
        files=FilesService(files, storage, app.config["USER_QUOTA_BYTES"]),
        storage=storage,
    )
    app.extensions[EXTENSION_KEY] = services
    return services


def services() -> Services:
    return current_app.extensions[EXTENSION_KEY]
