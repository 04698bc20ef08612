"""The ``events`` collection (MongoDB); sqlite_repo.py is its SQLite twin."""
from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, DESCENDING

_NEWEST = [("at", DESCENDING), ("_id", DESCENDING)]


class EventsRepository:
    def __init__(self, database):
        self._events = database.collection("events")

    def ensure_indexes(self) -> None:
        self._events.create_index([("owner_id", ASCENDING), ("at", DESCENDING)], name="events_of_owner")
        self._events.create_index([("share_id", ASCENDING), ("at", DESCENDING)], name="events_of_share",
                                  partialFilterExpression={"share_id": {"$type": "string"}})
        self._events.create_index([("actor_id", ASCENDING), ("at", DESCENDING)], name="events_of_actor")
        self._events.create_index([("at", DESCENDING)], name="events_by_time")

    def insert_many(self, events: list[dict]) -> None:
        if events:
            self._events.insert_many(events, ordered=False)

    def _page(self, query: dict, page: int, limit: int) -> tuple[list[dict], int]:
        found = self._events.find(query, sort=_NEWEST, skip=(page - 1) * limit, limit=limit)
        return list(found), self._events.count_documents(query)

    def for_owner(self, owner_id: str, action: str | None, page: int, limit: int) -> tuple[list[dict], int]:
        query: dict = {"owner_id": owner_id}
        if action:
            query["action"] = action
        return self._page(query, page, limit)

    def for_share(self, share_id: str, page: int, limit: int) -> tuple[list[dict], int]:
        return self._page({"share_id": share_id}, page, limit)

    def search(self, actor_id: str | None, action: str | None, since: datetime | None, page: int,
               limit: int) -> tuple[list[dict], int]:
        query: dict = {}
        if actor_id:
            query["actor_id"] = actor_id
        if action:
            query["action"] = action
        if since:
            query["at"] = {"$gte": since}
        return self._page(query, page, limit)

    def delete_before(self, cutoff: datetime) -> int:
        return self._events.delete_many({"at": {"$lt": cutoff}}).deleted_count


def events_repository(database):
    if database.kind == "sqlite":
        from .sqlite_repo import SQLiteEventsRepository
        return SQLiteEventsRepository(database)
    return EventsRepository(database)
