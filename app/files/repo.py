"""The ``files`` collection: one record per stored file."""
from __future__ import annotations

from pymongo import ASCENDING, DESCENDING

from ..ids import parse_object_id

SORT_FIELDS = {"name": "name_lower", "created_at": "created_at", "size": "size"}


class FilesRepository:
    def __init__(self, database):
        self._files = database.collection("files")

    def ensure_indexes(self) -> None:
        for field in SORT_FIELDS.values():
            self._files.create_index([("owner_id", ASCENDING), (field, ASCENDING), ("_id", ASCENDING)],
                                     name=f"owner_{field}")

    def insert(self, record: dict) -> None:
        self._files.insert_one(record)

    def delete(self, file_id) -> None:
        self._files.delete_one({"_id": file_id})

    def get_owned(self, owner_id: str, file_id: str) -> dict | None:
        oid = parse_object_id(file_id)
        return self._files.find_one({"_id": oid, "owner_id": owner_id}) if oid else None

    def delete_owned(self, owner_id: str, file_id: str) -> dict | None:
        oid = parse_object_id(file_id)
        return self._files.find_one_and_delete({"_id": oid, "owner_id": owner_id}) if oid else None

    def list_owned(self, owner_id: str, sort: str, descending: bool, skip: int, limit: int) -> list[dict]:
        direction = DESCENDING if descending else ASCENDING
        order = [(SORT_FIELDS[sort], direction), ("_id", direction)]
        return list(self._files.find({"owner_id": owner_id}, sort=order, skip=skip, limit=limit))

    def count_owned(self, owner_id: str) -> int:
        return self._files.count_documents({"owner_id": owner_id})

    def usage(self, owner_id: str) -> tuple[int, int]:
        """(bytes, files) stored by ``owner_id``."""
        rows = list(self._files.aggregate([
            {"$match": {"owner_id": owner_id}},
            {"$group": {"_id": None, "bytes": {"$sum": "$size"}, "files": {"$sum": 1}}},
        ]))
        return (rows[0]["bytes"], rows[0]["files"]) if rows else (0, 0)
