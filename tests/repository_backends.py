"""The databases a repository contract test runs on: mongomock (standing in for MongoDB), the
litemongo embedded store and SQLite. Contract files parametrize a fixture with BACKENDS and
``yield from on_backend(...)``, giving how to build their repositories on each kind."""
from __future__ import annotations

from typing import Any, Callable, Iterator

from app.db import get_db
from app.sqlite_db import SQLiteDatabase

BACKENDS = ["mongomock", "embedded", "sqlite"]


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
    app = request.getfixturevalue("app") if request.param == "mongomock" else \
        request.getfixturevalue("make_embedded_app")()
    with app.app_context():
        yield build_mongo(get_db())
