"""One database handle per app: a real MongoDB, the embedded SQLite engine, or (in tests)
mongomock. Repositories ask :class:`Database` (or :class:`SQLiteDatabase`) for what they need.
"""
from __future__ import annotations

import os

import pymongo
from flask import Flask, current_app

from .sqlite_db import SQLiteDatabase

EXTENSION_KEY = "drive_db"
SQLITE_FILE = "drive.sqlite3"


class Database:
    """Owns the client and tells repositories which kind of database they are talking to."""

    def __init__(self, client, db_name: str, kind: str):
        self.client = client
        self.kind = kind
        self._db = client[db_name]
        self._closed = False

    def collection(self, name: str):
        return self._db[name]

    def ping(self) -> None:
        """Raise if the database cannot answer a trivial request."""
        if self.kind == "mongodb":
            self.client.admin.command("ping")
        else:
            self.collection("users").find_one({}, {"_id": 1})

    def close(self) -> None:
        """Close the client (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.client.close()


def init_database(app: Flask) -> Database:
    """Create the app's database handle from its configuration and keep it in app.extensions."""
    config = app.config
    factory = config.get("MONGO_CLIENT_FACTORY")
    if factory is not None:
        database = Database(factory(), config["MONGO_DB_NAME"], kind="mongomock")
    elif config.get("MONGO_URI"):
        timeout = config["MONGO_TIMEOUT_MS"]
        client = pymongo.MongoClient(
            config["MONGO_URI"], tz_aware=True, journal=True,
            serverSelectionTimeoutMS=timeout, connectTimeoutMS=timeout)
        default_db = client.get_default_database(default=config["MONGO_DB_NAME"])
        database = Database(client, default_db.name, kind="mongodb")
    else:
        folder = config.get("EMBEDDED_DB_PATH") or os.path.join(app.instance_path, "data")
        database = SQLiteDatabase(os.path.join(folder, SQLITE_FILE))
    app.extensions[EXTENSION_KEY] = database
    return database


def get_db() -> Database:
    return current_app.extensions[EXTENSION_KEY]


def close_database(app: Flask) -> None:
    """Close the app's database handle (tests; a worker's exit), after writing the audit events
    still queued and stopping the audit writer: else that thread could write through a SQLite
    connection being closed under it (a segfault of bench/http_targets.py, one run in three),
    or retry on the closed handle every second."""
    from .services import EXTENSION_KEY as SERVICES_KEY

    audit = getattr(app.extensions.get(SERVICES_KEY), "audit", None)
    if audit is not None:
        audit.close()  # waits for a flush the writer has under way; logs what it cannot write
    database = app.extensions.get(EXTENSION_KEY)
    if database is not None:
        database.close()
