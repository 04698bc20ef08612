"""The drive's repositories on SQLite (issue 10): the same named operations, arguments and
results as :mod:`app.drive.repo` (the MongoDB ones), on real tables and indexes.

Each operation is one statement or one ``BEGIN IMMEDIATE`` transaction, so the invariants
the MongoDB versions keep with single-document atomic updates hold here too: unique names
per folder (a UNIQUE constraint on the slot), compare-and-swap commits (``revision IS ?``),
reference counts and usage changed by conditional UPDATEs, nothing read-then-written.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Iterable, Iterator

from bson import ObjectId

from ..ids import parse_object_id
from ..sqlite_db import oid, row_dict, when
from ..sqlite_tables import Migration, SQLiteRepository, id_list
from .repo import FILE, FOLDER, SORT_FIELDS, NameTaken, slot_for

_CHUNK = 500  # ids per IN (...) list
_ITEM_IDS = ("_id", "parent_id", "trashed_with", "blob_id", "last_version_id")
_ITEM_TIMES = ("created_at", "updated_at", "trashed_at", "modified_at")
_ITEM_COLUMNS = ("owner_id", "type", "rank", "name", "name_key", "parent_id", "slot", "created_at", "updated_at",
                 "starred", "trashed_at", "trash_root", "trashed_with", "size", "content_type", "sha256", "blob_id",
                 "revision", "last_version_id", "modified_at", "dav_props", "trashed_by")
_FILE_ONLY = ("content_type", "sha256", "blob_id", "revision", "last_version_id", "modified_at")
_LIVE = "trashed_at IS NULL"

ITEMS_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, type TEXT NOT NULL CHECK (type IN ('file', 'folder')),
    rank INTEGER NOT NULL, name TEXT NOT NULL, name_key TEXT NOT NULL, parent_id TEXT, slot TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, starred INTEGER NOT NULL DEFAULT 0, trashed_at TEXT,
    trash_root INTEGER NOT NULL DEFAULT 0, trashed_with TEXT, size INTEGER NOT NULL DEFAULT 0,
    content_type TEXT, sha256 TEXT, blob_id TEXT, revision INTEGER, last_version_id TEXT,
    UNIQUE (owner_id, slot));
CREATE INDEX IF NOT EXISTS children_by_name ON items (owner_id, parent_id, rank, name_key, id) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS children_by_created_at ON items (owner_id, parent_id, rank, created_at, id) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS children_by_updated_at ON items (owner_id, parent_id, rank, updated_at, id) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS children_by_size ON items (owner_id, parent_id, rank, size, id) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS files_by_name ON items (owner_id, type, name_key, id) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS files_by_created_at ON items (owner_id, type, created_at, id) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS files_by_updated_at ON items (owner_id, type, updated_at, id) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS files_by_size ON items (owner_id, type, size, id) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS children_by_name_desc ON items (owner_id, parent_id, rank, name_key DESC, id DESC) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS children_by_created_at_desc ON items (owner_id, parent_id, rank, created_at DESC, id DESC) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS children_by_updated_at_desc ON items (owner_id, parent_id, rank, updated_at DESC, id DESC) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS children_by_size_desc ON items (owner_id, parent_id, rank, size DESC, id DESC) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS files_by_name_desc ON items (owner_id, type, name_key DESC, id DESC) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS files_by_created_at_desc ON items (owner_id, type, created_at DESC, id DESC) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS files_by_updated_at_desc ON items (owner_id, type, updated_at DESC, id DESC) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS files_by_size_desc ON items (owner_id, type, size DESC, id DESC) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS live_by_content_type ON items (owner_id, type, content_type) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS live_by_rank_name ON items (owner_id, rank, name_key, id) WHERE trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS starred ON items (owner_id, rank, name_key, id) WHERE starred = 1 AND trashed_at IS NULL;
CREATE INDEX IF NOT EXISTS trash_roots ON items (owner_id, trashed_at, id) WHERE trash_root = 1;
CREATE INDEX IF NOT EXISTS trash_purge ON items (trashed_at) WHERE trash_root = 1;
CREATE INDEX IF NOT EXISTS trashed_with ON items (owner_id, trashed_with) WHERE trashed_with IS NOT NULL;
CREATE INDEX IF NOT EXISTS trashed_files ON items (owner_id, type) WHERE trashed_at IS NOT NULL;
DROP INDEX IF EXISTS by_blob;
CREATE TABLE IF NOT EXISTS tree_locks (owner_id TEXT PRIMARY KEY, holder TEXT NOT NULL, until REAL NOT NULL)
"""

# The index behind search: every item's case-folded name key (names.name_key) in an FTS5
# trigram index over the items table (external content: the keys are not stored twice), kept
# in step by triggers, so every way a row is written (the repository, migrate_store's direct
# INSERTs) keeps it right. ``case_sensitive 1``: the key is folded already, and FTS must not
# fold it again its own way. Trashed items stay in the index (search drops them with the same
# ``trashed_at IS NULL`` as before), so trashing and restoring a tree write nothing here.
# Index rows are tied to items by rowid. SQLite keeps rowids through VACUUM in practice but only
# promises it for an INTEGER PRIMARY KEY: after one, run the migration's 'rebuild' again.
ITEM_NAMES_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS item_names USING fts5 (
    name_key, content = 'items', content_rowid = 'rowid', tokenize = 'trigram case_sensitive 1');
CREATE TRIGGER IF NOT EXISTS item_names_insert AFTER INSERT ON items BEGIN
    INSERT INTO item_names (rowid, name_key) VALUES (new.rowid, new.name_key);
END;
CREATE TRIGGER IF NOT EXISTS item_names_delete AFTER DELETE ON items BEGIN
    INSERT INTO item_names (item_names, rowid, name_key) VALUES ('delete', old.rowid, old.name_key);
END;
CREATE TRIGGER IF NOT EXISTS item_names_rename AFTER UPDATE OF name_key ON items
WHEN old.name_key IS NOT new.name_key BEGIN
    INSERT INTO item_names (item_names, rowid, name_key) VALUES ('delete', old.rowid, old.name_key);
    INSERT INTO item_names (rowid, name_key) VALUES (new.rowid, new.name_key);
END
"""
# Version 1: a database made before the name index gets it filled from the items it holds.
# Version 2: files keep a modification time of their own (the client's, e.g. tus lastModified);
# files stored before it have none, and show their content's commit time.
# Version 3: WebDAV dead properties of an item, a JSON object (app.dav), moved and copied with it.
ITEM_MIGRATIONS = (Migration(1, "INSERT INTO item_names (item_names) VALUES ('rebuild')"),
                   Migration(2, "ALTER TABLE items ADD COLUMN modified_at TEXT"),
                   Migration(3, "ALTER TABLE items ADD COLUMN dav_props TEXT"),
                   # Issue 16: who put an item in the trash when it was not its owner (a member).
                   Migration(4, "ALTER TABLE items ADD COLUMN trashed_by TEXT"),
                   # Someone waits for the owner's tree lock: a long holder (a bulk request) hands it over.
                   Migration(5, "ALTER TABLE tree_locks ADD COLUMN wanted REAL"))
TRIGRAM = 3  # characters: a trigram index cannot answer a shorter term

BLOBS_SCHEMA = """
CREATE TABLE IF NOT EXISTS blobs (
    id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    storage_key TEXT NOT NULL, refs INTEGER NOT NULL, created_at TEXT NOT NULL, UNIQUE (owner_id, sha256));
CREATE INDEX IF NOT EXISTS blobs_by_size ON blobs (owner_id, size DESC);
CREATE TABLE IF NOT EXISTS usage (owner_id TEXT PRIMARY KEY, bytes INTEGER NOT NULL)
"""

# Version 1: blobs keep their MD5 (WebDAV's oc:checksums), filled for older content by
# ``flask fill-digests``.
BLOB_MIGRATIONS = (Migration(1, "ALTER TABLE blobs ADD COLUMN md5 TEXT; "
                                 "CREATE INDEX IF NOT EXISTS blobs_without_md5 ON blobs (id) WHERE md5 IS NULL"),)

VERSIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, file_id TEXT NOT NULL, blob_id TEXT, size INTEGER NOT NULL,
    sha256 TEXT, content_type TEXT, revision INTEGER, created_at TEXT NOT NULL, pending INTEGER);
CREATE INDEX IF NOT EXISTS versions_by_file ON versions (file_id, revision DESC, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS versions_by_blob ON versions (owner_id, blob_id)
"""
# Version 1: a version keeps its content's modification time too.
VERSION_MIGRATIONS = (Migration(1, "ALTER TABLE versions ADD COLUMN modified_at TEXT"),)


def _chunks(values: list) -> Iterable[list]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def _marks(values: list) -> str:
    return ",".join("?" * len(values))


def _id_arg(item_id) -> str | None:
    """A client or server id as stored, or None when it is malformed (a 404, never a 500)."""
    parsed = item_id if isinstance(item_id, ObjectId) else parse_object_id(item_id)
    return None if parsed is None else str(parsed)


def _item(row) -> dict | None:
    item = row_dict(row, ids=_ITEM_IDS, times=_ITEM_TIMES, flags=("starred", "trash_root"), rename={"id": "_id"})
    if item is None:
        return None
    if item["type"] == FOLDER:
        for key in _FILE_ONLY:
            if item.get(key) is None:
                item.pop(key, None)
    props = item.pop("dav_props", None)
    if props:
        item["dav_props"] = json.loads(props)
    return item


def _item_value(column: str, value: Any) -> Any:
    if column in _ITEM_IDS or column == "id":
        return oid(value)
    if column in _ITEM_TIMES:
        return when(value)
    if column in ("starred", "trash_root"):
        return int(bool(value))
    if column == "dav_props":
        return json.dumps(value) if value else None
    return value


def _order(sort: str, descending: bool, folders_first: bool) -> str:
    direction = "DESC" if descending else "ASC"
    column = SORT_FIELDS[sort]
    return ("rank ASC, " if folders_first else "") + f"{column} {direction}, id {direction}"


def _fts_phrase(text_key: str) -> str:
    """``text_key`` as one FTS5 string: inside double quotes every character is literal but the
    double quote, which is doubled; the trigram tokenizer makes it a run of consecutive
    trigrams, which matches exactly the keys that contain it."""
    return '"' + text_key.replace('"', '""') + '"'


class SQLiteItemsRepository(SQLiteRepository):

    SCHEMA = ITEMS_SCHEMA + ";" + ITEM_NAMES_SCHEMA
    SCHEMA_NAME = "items"
    MIGRATIONS = ITEM_MIGRATIONS

    # -- single items --------------------------------------------------------------------------

    def insert(self, item: dict) -> None:
        columns = ["id", *[c for c in _ITEM_COLUMNS if c in item]]
        values = [oid(item["_id"]), *[_item_value(c, item[c]) for c in columns[1:]]]
        try:
            self._db.write(f"INSERT INTO items ({','.join(columns)}) VALUES ({_marks(values)})", tuple(values))
        except sqlite3.IntegrityError as exc:
            raise NameTaken(f"An item named '{item['name']}' already exists in this folder.") from exc

    def get(self, owner_id: str, item_id, kind: str | None = None, live: bool | None = True) -> dict | None:
        key = _id_arg(item_id)
        if key is None:
            return None
        sql, params = "SELECT * FROM items WHERE id = ? AND +owner_id = ?", [key, owner_id]
        if kind:
            sql, params = sql + " AND type = ?", params + [kind]
        if live is True:
            sql += f" AND {_LIVE}"
        elif live is False:
            sql += " AND trashed_at IS NOT NULL"
        return _item(self._db.read_one(sql, tuple(params)))

    def owner_of(self, item_id) -> str | None:
        key = _id_arg(item_id)
        row = self._db.read_one("SELECT owner_id FROM items WHERE id = ?", (key,)) if key else None
        return row[0] if row else None

    def update(self, owner_id: str, item_id: ObjectId, changes: dict, live_only: bool = False) -> dict | None:
        return self._update_where("id = ? AND +owner_id = ?" + (f" AND {_LIVE}" if live_only else ""),
                                  [oid(item_id), owner_id], changes)

    def _update_where(self, where: str, params: list, changes: dict) -> dict | None:
        unknown = set(changes) - set(_ITEM_COLUMNS)
        if unknown:
            raise ValueError(f"not item columns: {sorted(unknown)}")
        assignments = ", ".join(f"{c} = ?" for c in changes)
        values = [_item_value(c, v) for c, v in changes.items()]
        try:
            row = self._db.returning(f"UPDATE items SET {assignments} WHERE {where} RETURNING *",
                                tuple(values + params))
        except sqlite3.IntegrityError as exc:
            raise NameTaken(f"An item named '{changes.get('name', '')}' already exists in this folder.") from exc
        return _item(row)

    def delete(self, item_id: ObjectId) -> None:
        self._db.write("DELETE FROM items WHERE id = ?", (oid(item_id),))

    def take_first_commit(self, item_id: ObjectId) -> dict | None:
        return _item(self._db.returning("DELETE FROM items WHERE id = ? AND revision = 1 RETURNING *",
                                   (oid(item_id),)))

    def take(self, item_id: ObjectId) -> dict | None:
        return _item(self._db.returning("DELETE FROM items WHERE id = ? RETURNING *", (oid(item_id),)))

    def commit_content(self, owner_id: str, file_id: ObjectId, expected_revision: int | None,
                       changes: dict) -> dict | None:
        return self._update_where(f"id = ? AND +owner_id = ? AND type = 'file' AND revision IS ? AND {_LIVE}",
                                  [oid(file_id), owner_id, expected_revision], changes)

    def set_dead_property(self, owner_id: str, item_id: ObjectId, key: str, value: str | None) -> bool:
        path = f'$."{key}"'  # key is hex: nothing in it needs quoting
        if value is None:
            sql, params = "UPDATE items SET dav_props = json_remove(dav_props, ?)", (path,)
        else:
            sql, params = "UPDATE items SET dav_props = json_set(COALESCE(dav_props, '{}'), ?, ?)", (path, value)
        return self._db.write(f"{sql} WHERE id = ? AND +owner_id = ? AND {_LIVE}",
                              (*params, oid(item_id), owner_id)).rowcount == 1

    # -- the per-user tree lock ----------------------------------------------------------------

    def take_tree_lock(self, owner_id: str, holder: str, until: float, now: float) -> bool:
        cursor = self._db.write(
            "INSERT INTO tree_locks (owner_id, holder, until) VALUES (?, ?, ?) ON CONFLICT (owner_id) DO UPDATE "
            "SET holder = excluded.holder, until = excluded.until, wanted = NULL WHERE tree_locks.until < ?",
            (owner_id, holder, until, now))
        return cursor.rowcount == 1

    def extend_tree_lock(self, owner_id: str, holder: str, until: float) -> bool:
        return self._db.write("UPDATE tree_locks SET until = ? WHERE owner_id = ? AND holder = ?",
                             (until, owner_id, holder)).rowcount == 1

    def release_tree_lock(self, owner_id: str, holder: str) -> None:
        self._db.write("DELETE FROM tree_locks WHERE owner_id = ? AND holder = ?", (owner_id, holder))

    def want_tree_lock(self, owner_id: str, now: float) -> None:
        self._db.write("UPDATE tree_locks SET wanted = ? WHERE owner_id = ?", (now, owner_id))

    def tree_lock(self, owner_id: str) -> dict | None:
        row = self._db.read_one("SELECT holder, until, wanted FROM tree_locks WHERE owner_id = ?", (owner_id,))
        return None if row is None else dict(row)

    batches_writes = True

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One write transaction for the block: one commit (one fsync) for all its writes, and
        a crash in it leaves none of them. It holds the database's write lock: keep it short."""
        with self._db.transaction():
            yield

    # -- named reads -----------------------------------------------------------------------------

    def _rows(self, sql: str, params: list | tuple) -> list[dict]:
        return [_item(row) for row in self._db.read(sql, tuple(params))]

    def _page(self, where: str, params: list, order: str, page: int, limit: int) -> tuple[list[dict], int]:
        rows = self._rows(f"SELECT * FROM items WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
                          params + [limit, (page - 1) * limit])
        total = self._db.read_one(f"SELECT COUNT(*) FROM items WHERE {where}", tuple(params))[0]
        return rows, total

    def children(self, owner_id: str, parent_id: ObjectId | None, sort: str = "name", descending: bool = False,
                 page: int = 1, limit: int = 50, name_key: str | None = None) -> tuple[list[dict], int]:
        where, params = f"owner_id = ? AND parent_id IS ? AND {_LIVE}", [owner_id, oid(parent_id)]
        if name_key is not None:
            where, params = where + " AND slot = ?", params + [slot_for(parent_id, name_key)]
        return self._page(where, params, _order(sort, descending, True), page, limit)

    def live_children(self, owner_id: str, parent_id: ObjectId | None) -> list[dict]:
        return [_item(row) for row in self._db.read(
            f"SELECT * FROM items WHERE owner_id = ? AND parent_id IS ? AND {_LIVE} ORDER BY {_order('name', False, True)}",
            (owner_id, oid(parent_id)))]

    def all_files(self, owner_id: str, sort: str, descending: bool, page: int, limit: int) -> tuple[list[dict], int]:
        return self._page(f"owner_id = ? AND type = 'file' AND {_LIVE}", [owner_id],
                          _order(sort, descending, False), page, limit)

    def starred(self, owner_id: str, page: int, limit: int) -> tuple[list[dict], int]:
        return self._page(f"owner_id = ? AND starred = 1 AND {_LIVE}", [owner_id], _order("name", False, True),
                          page, limit)

    def live_folders(self, owner_id: str) -> list[dict]:
        return self._rows(f"SELECT * FROM items WHERE owner_id = ? AND type = 'folder' AND {_LIVE} "
                          "ORDER BY name_key, id", [owner_id])

    def file_names(self, owner_id: str, parent_id: ObjectId | None, limit: int) -> list[str]:
        rows = self._db.read(f"SELECT name FROM items WHERE owner_id = ? AND parent_id IS ? AND type = 'file' "
                            f"AND {_LIVE} ORDER BY name_key, id LIMIT ?", (owner_id, oid(parent_id), limit))
        return [row["name"] for row in rows]

    def at_name(self, owner_id: str, parent_id: ObjectId | None, name_key: str, kind: str | None = None,
                live_only: bool = False) -> dict | None:
        sql, params = "SELECT * FROM items WHERE owner_id = ? AND slot = ?", [owner_id, slot_for(parent_id, name_key)]
        if kind:
            sql, params = sql + " AND type = ?", params + [kind]
        if live_only:
            sql += f" AND {_LIVE}"
        return _item(self._db.read_one(sql, tuple(params)))

    def below(self, owner_id: str, parent_ids: list[ObjectId], include: str) -> list[dict]:
        state = _LIVE if include == "live" else "trash_root = 0"
        found: list[dict] = []
        for chunk in _chunks([oid(p) for p in parent_ids]):
            found += self._rows(f"SELECT * FROM items WHERE owner_id = ? AND parent_id IN ({_marks(chunk)}) "
                                f"AND {state}", [owner_id, *chunk])
        return found

    def search(self, owner_id: str, text_key: str | None, kind: str | None, content_type: str | None,
               min_size: int | None, max_size: int | None, created_after: datetime | None,
               created_before: datetime | None, page: int, limit: int,
               parent_ids: list[ObjectId] | None = None) -> tuple[list[dict], int]:
        where, params = [f"owner_id = ? AND {_LIVE}"], [owner_id]
        if parent_ids is not None:  # one parameter however many folders: a JSON array
            where.append("parent_id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps([oid(p) for p in parent_ids]))
        if text_key:  # a literal substring of the case-folded name: instr(), no pattern language
            where.append("instr(name_key, ?) > 0")
            params.append(text_key)
            if len(text_key) >= TRIGRAM:
                # The name index finds the candidates, looked up by rowid (``+owner_id``: no
                # index of the owner's rows competes); instr() above still decides. A shorter
                # term reads the owner's live rows through their index, as before.
                where[0] = f"+owner_id = ? AND {_LIVE}"
                where.append("rowid IN (SELECT rowid FROM item_names WHERE item_names MATCH ?)")
                params.append(_fts_phrase(text_key))
        if kind:
            where.append("type = ?")
            params.append(kind)
        if content_type:
            prefix = content_type.lower()  # a prefix as a range, which an index serves
            where.append("content_type >= ? AND content_type < ?")
            params += [prefix, prefix + "\U0010ffff"]
        if min_size is not None or max_size is not None:
            if not kind:
                where.append("type = 'file'")
            if min_size is not None:
                where.append("size >= ?")
                params.append(min_size)
            if max_size is not None:
                where.append("size <= ?")
                params.append(max_size)
        if created_after:
            where.append("created_at >= ?")
            params.append(when(created_after))
        if created_before:
            where.append("created_at <= ?")
            params.append(when(created_before))
        return self._page(" AND ".join(where), params, _order("name", False, True), page, limit)

    def live_counts(self, owner_id: str) -> tuple[int, int]:
        rows = dict(self._db.read(f"SELECT type, COUNT(*) FROM items WHERE owner_id = ? AND {_LIVE} GROUP BY type",
                                 (owner_id,)))
        return rows.get(FILE, 0), rows.get(FOLDER, 0)

    def trashed_file_totals(self, owner_id: str) -> tuple[int, int]:
        row = self._db.read_one("SELECT COALESCE(SUM(size), 0), COUNT(*) FROM items WHERE owner_id = ? "
                               "AND type = 'file' AND trashed_at IS NOT NULL", (owner_id,))
        return row[0], row[1]

    def live_file_totals(self, owner_id: str) -> tuple[int, int]:
        row = self._db.read_one(f"SELECT COALESCE(SUM(size), 0), COUNT(*) FROM items WHERE owner_id = ? "
                               f"AND type = 'file' AND {_LIVE}", (owner_id,))
        return row[0], row[1]

    # -- the trash -------------------------------------------------------------------------------

    def trash_roots(self, owner_id: str, page: int, limit: int) -> tuple[list[dict], int]:
        return self._page("owner_id = ? AND trash_root = 1", [owner_id], "trashed_at DESC, id DESC", page, limit)

    def all_trash_roots(self, owner_id: str) -> list[dict]:
        return self._rows("SELECT * FROM items WHERE owner_id = ? AND trash_root = 1", [owner_id])

    def trash_along(self, owner_id: str, item_ids: list[ObjectId], folder_id: ObjectId, now: datetime) -> None:
        with self._db.transaction() as conn:
            for chunk in _chunks([oid(i) for i in item_ids]):
                conn.execute(f"UPDATE items SET trashed_at = ?, trashed_with = ? WHERE owner_id = ? "
                             f"AND id IN ({_marks(chunk)})", (when(now), oid(folder_id), owner_id, *chunk))

    def restore_along(self, owner_id: str, folder_id: ObjectId) -> None:
        self._db.write("UPDATE items SET trashed_at = NULL, trashed_with = NULL WHERE owner_id = ? "
                      "AND trashed_with = ?", (owner_id, oid(folder_id)))

    def expired_trash_roots(self, cutoff: datetime) -> list[dict]:
        return self._rows("SELECT * FROM items WHERE trash_root = 1 AND trashed_at < ?", [when(cutoff)])

    def trash_root_if_expired(self, item_id: ObjectId, cutoff: datetime) -> dict | None:
        return _item(self._db.read_one("SELECT * FROM items WHERE id = ? AND trash_root = 1 AND trashed_at < ?",
                                      (oid(item_id), when(cutoff))))

    # -- many items --------------------------------------------------------------------------------

    def by_ids(self, owner_id: str, ids: Iterable[ObjectId]) -> dict[ObjectId, dict]:
        found: dict[ObjectId, dict] = {}
        for chunk in _chunks([oid(i) for i in set(ids)]):
            for item in self._rows(f"SELECT * FROM items WHERE +owner_id = ? AND id IN ({_marks(chunk)})",
                                   [owner_id, *chunk]):
                found[item["_id"]] = item
        return found

    def names_like(self, owner_id: str, parent_id: ObjectId | None, prefix_key: str) -> set[str]:
        rows = self._db.read(f"SELECT name_key FROM items WHERE owner_id = ? AND parent_id IS ? AND {_LIVE} "
                            "AND substr(name_key, 1, ?) = ?", (owner_id, oid(parent_id), len(prefix_key), prefix_key))
        return {row["name_key"] for row in rows}

    def everything(self) -> list[dict]:
        return self._rows("SELECT * FROM items", [])

    def file_contents(self) -> list[dict]:
        return self._rows("SELECT id, owner_id, type, name, blob_id, sha256, size, updated_at, trashed_at, "
                          "last_version_id, revision FROM items WHERE type = 'file'", [])


_BLOB_IDS = ("_id",)


def _blob(row) -> dict | None:
    return row_dict(row, ids=_BLOB_IDS, times=("created_at",), rename={"id": "_id"})


class SQLiteBlobsRepository(SQLiteRepository):
    """One row per distinct content per user, with a reference count; one usage row per user."""

    SCHEMA = BLOBS_SCHEMA
    SCHEMA_NAME = "blobs"
    MIGRATIONS = BLOB_MIGRATIONS

    def _ensure_usage(self, owner_id: str) -> None:
        # One statement: the sum is taken and stored with nothing in between. It is a scalar
        # subquery of a row that exists only while the counter does not, so it runs once per
        # user, not on every charge, release and usage read (it is a scan of their blobs).
        # Read first: a usage read must not be a write transaction (it takes the database's
        # write lock, and an upload read usage twice before its own transaction).
        if self._db.read_one("SELECT 1 FROM usage WHERE owner_id = ?", (owner_id,)) is not None:
            return
        self._db.write("INSERT OR IGNORE INTO usage (owner_id, bytes) "
                      "SELECT ?, (SELECT COALESCE(SUM(size), 0) FROM blobs WHERE owner_id = ?) "
                      "WHERE NOT EXISTS (SELECT 1 FROM usage WHERE owner_id = ?)", (owner_id, owner_id, owner_id))

    def charge(self, owner_id: str, size: int, quota: int | None) -> bool:
        self._ensure_usage(owner_id)
        if quota:
            cursor = self._db.write("UPDATE usage SET bytes = bytes + ? WHERE owner_id = ? AND bytes <= ?",
                                   (size, owner_id, quota - size))
        else:
            cursor = self._db.write("UPDATE usage SET bytes = bytes + ? WHERE owner_id = ?", (size, owner_id))
        return cursor.rowcount == 1

    def uncharge(self, owner_id: str, size: int) -> None:
        self._db.write("UPDATE usage SET bytes = bytes - ? WHERE owner_id = ?", (size, owner_id))

    def prepare_release(self, owner_id: str) -> None:
        self._ensure_usage(owner_id)

    def used_bytes(self, owner_id: str) -> int:
        self._ensure_usage(owner_id)
        row = self._db.read_one("SELECT bytes FROM usage WHERE owner_id = ?", (owner_id,))
        return row[0] if row else 0

    def counted_usage(self) -> dict[str, int]:
        return {row[0]: row[1] for row in self._db.read("SELECT owner_id, bytes FROM usage")}

    def set_usage(self, owner_id: str, seen: int | None, value: int) -> bool:
        if seen is None:
            return self._db.write("INSERT OR IGNORE INTO usage (owner_id, bytes) VALUES (?, ?)",
                                 (owner_id, value)).rowcount == 1
        return self._db.write("UPDATE usage SET bytes = ? WHERE owner_id = ? AND bytes = ?",
                             (value, owner_id, seen)).rowcount == 1

    def known_contents(self, owner_id: str, sha256s: Iterable[str]) -> set[str]:
        known: set[str] = set()
        for chunk in _chunks(list(sha256s)):
            known |= {row[0] for row in self._db.read(
                f"SELECT sha256 FROM blobs WHERE owner_id = ? AND sha256 IN ({_marks(chunk)})", (owner_id, *chunk))}
        return known

    def acquire_existing(self, owner_id: str, sha256: str) -> dict | None:
        return _blob(self._db.returning("UPDATE blobs SET refs = refs + 1 WHERE owner_id = ? AND sha256 = ? AND refs > 0 "
                                   "RETURNING *", (owner_id, sha256)))

    def insert(self, blob: dict) -> bool:
        try:
            self._db.write("INSERT INTO blobs (id, owner_id, sha256, size, storage_key, refs, created_at, md5) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          (oid(blob["_id"]), blob["owner_id"], blob["sha256"], blob["size"], blob["storage_key"],
                           blob["refs"], when(blob["created_at"]), blob.get("md5")))
            return True
        except sqlite3.IntegrityError:
            return False

    def add_refs(self, blob_id: ObjectId, count: int = 1) -> bool:
        return self._db.write("UPDATE blobs SET refs = refs + ? WHERE id = ? AND refs > 0",
                             (count, oid(blob_id))).rowcount == 1

    def drop_ref(self, blob_id: ObjectId) -> dict | None:
        with self._db.transaction() as conn:
            rows = conn.execute("UPDATE blobs SET refs = refs - 1 WHERE id = ? RETURNING refs", (oid(blob_id),)).fetchall()
            row = rows[0] if rows else None
            if row is None or row[0] > 0:
                return None
            gone = conn.execute("DELETE FROM blobs WHERE id = ? AND refs <= 0 RETURNING *", (oid(blob_id),)).fetchall()
            return _blob(gone[0]) if gone else None

    def get(self, blob_id: ObjectId) -> dict | None:
        return _blob(self._db.read_one("SELECT * FROM blobs WHERE id = ?", (oid(blob_id),)))

    def take_dead(self, owner_id: str, sha256: str) -> dict | None:
        return _blob(self._db.returning("DELETE FROM blobs WHERE owner_id = ? AND sha256 = ? AND refs <= 0 RETURNING *",
                                   (owner_id, sha256)))

    def all_records(self) -> list[dict]:
        return [_blob(row) for row in self._db.read("SELECT * FROM blobs")]

    def content(self, owner_id: str, sha256: str) -> dict | None:
        return _blob(self._db.read_one("SELECT * FROM blobs WHERE owner_id = ? AND sha256 = ?", (owner_id, sha256)))

    def of_owner(self, owner_id: str) -> list[dict]:
        return [_blob(row) for row in self._db.read("SELECT * FROM blobs WHERE owner_id = ?", (owner_id,))]

    def forget_owner(self, owner_id: str) -> None:
        self._db.write("DELETE FROM usage WHERE owner_id = ?", (owner_id,))

    def set_md5(self, blob_id: ObjectId, md5: str) -> None:
        self._db.write("UPDATE blobs SET md5 = ? WHERE id = ? AND md5 IS NULL", (md5, oid(blob_id)))

    def md5s(self, owner_id: str, blob_ids: Iterable[ObjectId]) -> dict[ObjectId, str]:
        # By primary key (+owner_id: not through an index of all the owner's blobs).
        rows = self._db.read("SELECT id, md5 FROM blobs WHERE id IN (SELECT value FROM json_each(?)) "
                             "AND +owner_id = ? AND md5 IS NOT NULL", (id_list(set(blob_ids)), owner_id))
        return {ObjectId(row[0]): row[1] for row in rows}

    def without_md5(self, after: ObjectId | None, limit: int) -> list[dict]:
        rows = self._db.read("SELECT * FROM blobs WHERE md5 IS NULL AND id > ? ORDER BY id LIMIT ?",
                             ("" if after is None else oid(after), limit))
        return [_blob(row) for row in rows]

    def set_refs(self, blob_id: ObjectId, seen: int, refs: int) -> bool:
        return self._db.write("UPDATE blobs SET refs = ? WHERE id = ? AND refs = ?",
                             (refs, oid(blob_id), seen)).rowcount == 1

    def delete_unused(self, blob_id: ObjectId, seen: int) -> bool:
        return self._db.write("DELETE FROM blobs WHERE id = ? AND refs = ?", (oid(blob_id), seen)).rowcount == 1

    def delete(self, blob_id: ObjectId) -> None:
        self._db.write("DELETE FROM blobs WHERE id = ?", (oid(blob_id),))

    def set_storage_key(self, blob_id: ObjectId, key: str) -> None:
        self._db.write("UPDATE blobs SET storage_key = ? WHERE id = ?", (key, oid(blob_id)))

    def largest_size(self, owner_id: str) -> int:
        row = self._db.read_one("SELECT MAX(size) FROM blobs WHERE owner_id = ?", (owner_id,))
        return row[0] or 0

    def summed_bytes(self, owner_id: str) -> int:
        return self._db.read_one("SELECT COALESCE(SUM(size), 0) FROM blobs WHERE owner_id = ?", (owner_id,))[0]


_VERSION_COLUMNS = ("owner_id", "file_id", "blob_id", "size", "sha256", "content_type", "revision", "created_at",
                    "pending", "modified_at")


def _version(row) -> dict | None:
    version = row_dict(row, ids=("_id", "file_id", "blob_id"), times=("created_at", "modified_at"),
                       rename={"id": "_id"})
    if version is not None:
        version["pending"] = True if version.get("pending") else None
    return version


class SQLiteVersionsRepository(SQLiteRepository):
    """Earlier contents of a file, newest commit first."""

    SCHEMA = VERSIONS_SCHEMA
    SCHEMA_NAME = "versions"
    MIGRATIONS = VERSION_MIGRATIONS

    def _rows(self, sql: str, params: tuple) -> list[dict]:
        return [_version(row) for row in self._db.read(sql, params)]

    def insert(self, version: dict) -> None:
        values = (oid(version["_id"]), version["owner_id"], oid(version["file_id"]), oid(version.get("blob_id")),
                  version["size"], version.get("sha256"), version.get("content_type"), version.get("revision"),
                  when(version["created_at"]), 1 if version.get("pending") else None, when(version.get("modified_at")))
        self._db.write(f"INSERT INTO versions (id, {','.join(_VERSION_COLUMNS)}) VALUES ({_marks(values)})", values)

    def for_file(self, file: dict) -> list[dict]:
        return self._rows("SELECT * FROM versions WHERE file_id = ? AND (pending IS NULL OR id = ?) "
                          "ORDER BY revision DESC, created_at DESC, id DESC",
                          (oid(file["_id"]), oid(file.get("last_version_id"))))

    def all_for_file(self, file_id: ObjectId) -> list[dict]:
        return self._rows("SELECT * FROM versions WHERE file_id = ?", (oid(file_id),))

    def get(self, file: dict, version_id: str) -> dict | None:
        key = _id_arg(version_id)
        if key is None:
            return None
        version = _version(self._db.read_one("SELECT * FROM versions WHERE id = ? AND file_id = ?",
                                            (key, oid(file["_id"]))))
        if version is None or (version["pending"] and file.get("last_version_id") != version["_id"]):
            return None
        return version

    def settle(self, version_id: ObjectId) -> None:
        self._db.write("UPDATE versions SET pending = NULL WHERE id = ? AND pending = 1", (oid(version_id),))

    def delete(self, version_id: ObjectId) -> bool:
        return self._db.write("DELETE FROM versions WHERE id = ?", (oid(version_id),)).rowcount == 1

    def take(self, version_id: ObjectId) -> dict | None:
        return _version(self._db.returning("DELETE FROM versions WHERE id = ? RETURNING *", (oid(version_id),)))

    def take_first(self, file_id: ObjectId) -> dict | None:
        return _version(self._db.returning(
            "DELETE FROM versions WHERE id = (SELECT id FROM versions WHERE file_id = ? AND revision = 1 "
            "AND pending IS NULL LIMIT 1) RETURNING *", (oid(file_id),)))

    def take_settled(self, file_id: ObjectId, revision: int, blob_id: ObjectId) -> bool:
        return self._db.write(
            "DELETE FROM versions WHERE id = (SELECT id FROM versions WHERE file_id = ? AND revision = ? "
            "AND blob_id = ? AND pending IS NULL LIMIT 1)", (oid(file_id), revision, oid(blob_id))).rowcount == 1

    def all_contents(self) -> list[dict]:
        return self._rows("SELECT * FROM versions", ())

    def totals(self, owner_id: str) -> tuple[int, int]:
        row = self._db.read_one("SELECT COALESCE(SUM(size), 0), COUNT(*) FROM versions WHERE owner_id = ? "
                               "AND pending IS NULL", (owner_id,))  # versions_by_blob starts with owner_id
        return row[0], row[1]

    def set_blob(self, version_id: ObjectId, blob_id: ObjectId) -> None:
        self._db.write("UPDATE versions SET blob_id = ? WHERE id = ?", (oid(blob_id), oid(version_id)))
