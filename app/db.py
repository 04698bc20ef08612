"""One database handle per app: a real MongoDB, the embedded store, or (in tests) mongomock.

Repositories ask :class:`Database` for collections and always materialise query results
(``list(find(...))``), which lets the embedded store run every call on its own thread.
"""
from __future__ import annotations

import os
from typing import Any, Callable

import pymongo
from flask import Flask, current_app

from .embedded_store import SerialExecutor, open_embedded_client
from .sqlite_db import SQLiteDatabase

EXTENSION_KEY = "drive_db"
SQLITE_FILE = "drive.sqlite3"


class SerializedCollection:
    """A collection whose methods run on the embedded store's thread; cursors become lists."""

    def __init__(self, collection, executor: SerialExecutor):
        self._collection = collection
        self._executor = executor

    @property
    def name(self) -> str:
        return self._collection.name

    def __getattr__(self, attr: str) -> Callable[..., Any]:
        method = getattr(self._collection, attr)

        def call(*args, **kwargs):
            def work():
                result = method(*args, **kwargs)
                if hasattr(result, "__next__") or type(result).__name__.endswith("Cursor"):
                    return list(result)
                return result
            return self._executor.run(work)
        return call


class Database:
    """Owns the client and tells repositories which kind of database they are talking to."""

    def __init__(self, client, db_name: str, kind: str, executor: SerialExecutor | None = None):
        self.client = client
        self.kind = kind
        self._db = client[db_name]
        self._executor = executor
        self._closed = False

    def collection(self, name: str):
        collection = self._db[name]
        if self._executor is not None:
            return SerializedCollection(collection, self._executor)
        return collection

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
        if self._executor is not None:
            self._executor.run(self.client.close)
            self._executor.shutdown()
        else:
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
    elif config.get("EMBEDDED_ENGINE") == "sqlite":
        folder = config.get("EMBEDDED_DB_PATH") or os.path.join(app.instance_path, "data")
        database = SQLiteDatabase(os.path.join(folder, SQLITE_FILE))
    else:
        path = config.get("EMBEDDED_DB_PATH") or os.path.join(app.instance_path, "data")
        executor = SerialExecutor()
        client = open_embedded_client(path, executor)
        database = Database(client, config["MONGO_DB_NAME"], kind="embedded", executor=executor)
    app.extensions[EXTENSION_KEY] = database
    return database


def get_db() -> Database:
    return current_app.extensions[EXTENSION_KEY]


def close_database(app: Flask) -> None:
    """Close the app's database handle (tests; a worker's exit)."""
    database = app.extensions.get(EXTENSION_KEY)
    if database is not None:
        database.close()
