"""What the MongoDB repositories must survive from servers that are not quite mongod.

CI's wire server (secantusdb 0.7.0b3) answers findAndModify with remove=true by finding the
document, deleting it only if it still matches the filter, and returning the document as it
was *found*: a commit landing in between is deleted with the file but not reported. The
repositories must still learn the content they deleted, or its bytes leak (found by
tests/test_concurrency_more.py's restores racing a delete for good, 1 run in 4 under load).
"""
from __future__ import annotations

import mongomock
from bson import ObjectId

from app.drive.repo import ItemsRepository


class FoundNotDeleted:
    """A collection whose find_one_and_delete returns the document it found, while ``between``
    (a concurrent writer) runs before the delete, which re-checks the filter."""

    def __init__(self, collection, between):
        self._collection, self._between = collection, between

    def __getattr__(self, name):
        return getattr(self._collection, name)

    def find_one_and_delete(self, query, *args, **kwargs):
        found = self._collection.find_one(query)
        if found is None:
            return None
        between, self._between = self._between, lambda: None  # one concurrent commit
        between()
        if self._collection.delete_one({"_id": found["_id"], "$and": [query]}).deleted_count == 0:
            return None
        return found


class Database:
    def __init__(self, collections):
        self._collections = collections

    def collection(self, name):
        return self._collections[name]


def test_a_delete_for_good_reports_the_content_committed_while_it_ran():
    raw = mongomock.MongoClient().db
    file_id = ObjectId()
    raw.items.insert_one({"_id": file_id, "type": "file", "revision": 6, "blob_id": "old", "last_version_id": "v5"})

    def a_commit():
        raw.items.update_one({"_id": file_id, "revision": 6},
                             {"$set": {"revision": 7, "blob_id": "new", "last_version_id": "v6"}})

    items = ItemsRepository(Database({"items": FoundNotDeleted(raw.items, a_commit), "tree_locks": raw.tree_locks}))
    gone = items.take(file_id)
    assert gone is not None and raw.items.count_documents({}) == 0
    # The caller releases gone["blob_id"] and the versions up to gone["last_version_id"]:
    # they must be what was deleted, not what was there before the commit.
    assert (gone["revision"], gone["blob_id"], gone["last_version_id"]) == (7, "new", "v6")
