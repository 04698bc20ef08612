"""The ``events`` table: the SQLite twin of :mod:`app.audit.repo`."""
from __future__ import annotations

import json
from datetime import datetime

from ..sqlite_db import oid, row_dict
from ..sqlite_db import when as time_text
from ..sqlite_tables import SQLiteRepository


def _event(row) -> dict:
    event = row_dict(row, ids=("_id",), times=("at",), rename={"id": "_id"})
    event["details"] = json.loads(event["details"]) if event.get("details") else {}
    return event


class SQLiteEventsRepository(SQLiteRepository):
    SCHEMA_NAME = "events"
    SCHEMA = """
        CREATE TABLE IF NOT EXISTS events (
            id TEXT PRIMARY KEY, at TEXT NOT NULL, action TEXT NOT NULL, actor_id TEXT, owner_id TEXT,
            share_id TEXT, target_id TEXT, address TEXT, details TEXT);
        CREATE INDEX IF NOT EXISTS events_of_owner ON events (owner_id, at DESC, id DESC);
        CREATE INDEX IF NOT EXISTS events_of_share ON events (share_id, at DESC, id DESC) WHERE share_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS events_of_actor ON events (actor_id, at DESC, id DESC);
        CREATE INDEX IF NOT EXISTS events_by_time ON events (at DESC, id DESC)"""

    def insert_many(self, events: list[dict]) -> None:
        if not events:
            return
        rows = [(oid(e["_id"]), time_text(e["at"]), e["action"], e.get("actor_id"), e.get("owner_id"),
                 e.get("share_id"), e.get("target_id"), e.get("address"),
                 json.dumps(e.get("details") or {}, ensure_ascii=False)) for e in events]
        with self._db.transaction() as conn:  # one write transaction (one fsync) for the batch
            conn.executemany("INSERT OR IGNORE INTO events (id, at, action, actor_id, owner_id, share_id, target_id, "
                             "address, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def _page(self, where: str, params: tuple, page: int, limit: int) -> tuple[list[dict], int]:
        rows = self._db.read(f"SELECT * FROM events WHERE {where} ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
                             (*params, limit, (page - 1) * limit))
        total = self._db.read_one(f"SELECT count(*) FROM events WHERE {where}", params)[0]
        return [_event(r) for r in rows], total

    def for_owner(self, owner_id: str, action: str | None, page: int, limit: int) -> tuple[list[dict], int]:
        if action:
            return self._page("owner_id = ? AND action = ?", (owner_id, action), page, limit)
        return self._page("owner_id = ?", (owner_id,), page, limit)

    def for_share(self, share_id: str, page: int, limit: int) -> tuple[list[dict], int]:
        return self._page("share_id = ?", (share_id,), page, limit)

    def search(self, actor_id: str | None, action: str | None, since: datetime | None, page: int,
               limit: int) -> tuple[list[dict], int]:
        where, params = ["1 = 1"], []
        if actor_id:
            where.append("actor_id = ?")
            params.append(actor_id)
        if action:
            where.append("action = ?")
            params.append(action)
        if since:
            where.append("at >= ?")
            params.append(time_text(since))
        return self._page(" AND ".join(where), tuple(params), page, limit)

    def delete_before(self, cutoff: datetime) -> int:
        return self._db.write("DELETE FROM events WHERE at < ?", (time_text(cutoff),)).rowcount

