"""The databases a repository contract test runs on: mongomock (standing in for MongoDB) and
SQLite. Contract files parametrize a fixture with BACKENDS and ``yield from on_backend(...)``,
giving how to build their repositories on each kind."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import mongomock

from app import create_app
from app.db import close_database, get_db
from config import TestingConfig
from app.sqlite_db import SQLiteDatabase

BACKENDS = ["mongomock", "sqlite"]


def on_backend(request, tmp_path, build_mongo: Callable[[Any], Any],
               build_sqlite: Callable[[SQLiteDatabase], Any]) -> Iterator[Any]:
    """Yield what ``build_*`` makes on the backend ``request.param`` names; close it after."""
    if request.param == "sqlite":
        db = SQLiteDatabase(str(tmp_path / "drive.sqlite3"))
        try:
            yield build_sqlite(db)
        finally:
            db.close()
        return
    # An app, not a bare client: create_app makes the MongoDB repositories' indexes (the unique
    # ones are part of the contract). Built here, not by the ``app`` fixture, which follows
    # DRIVE_TEST_DB and may be SQLite.
    settings = TestingConfig.load({})
    settings.update(MONGO_CLIENT_FACTORY=lambda: mongomock.MongoClient(tz_aware=True),
                    UPLOAD_FOLDER=str(tmp_path / "uploads"), INSTANCE_PATH=str(tmp_path / "instance"))
    app = create_app(settings)
    try:
        with app.app_context():
            yield build_mongo(get_db())
    finally:
        close_database(app)


def indexed(kind: Callable[[SQLiteDatabase], Any]) -> Callable[[SQLiteDatabase], Any]:
    """A builder of a SQLite repository with its tables made (``ensure_indexes``)."""
    def build(db: SQLiteDatabase) -> Any:
        repo = kind(db)
        repo.ensure_indexes()
        return repo
    return build
