"""The WebDAV locks repository (app/dav/repo.py and sqlite_repo.py): one contract on mongomock
and SQLite, and the lock storage wsgidav sees over it (app/dav/locks.py)."""
from __future__ import annotations

import time

import pytest

from app.dav.locks import DatabaseLockStorage, path_key
from app.dav.repo import DavLocksRepository
from app.dav.sqlite_repo import SQLiteDavLocksRepository
from tests.repository_backends import BACKENDS, indexed, on_backend


@pytest.fixture(params=BACKENDS)
def locks(request, tmp_path):
    yield from on_backend(request, tmp_path, DavLocksRepository, indexed(SQLiteDavLocksRepository))


def record(token, root, expire=None, **fields):
    return {"_id": token, "root": root, "root_key": path_key(root),
            "expire": time.time() + 60 if expire is None else expire, "owner": "<o/>", "type": "write",
            "scope": "exclusive", "depth": "0", "timeout": 60.0, "principal": "alice", **fields}


def test_locks_are_found_by_token_by_root_and_below_a_root(locks):
    locks.insert(record("t1", "/alice/Docs"))
    locks.insert(record("t2", "/alice/Docs/Notes.txt"))
    locks.insert(record("t3", "/alice/Docs2/x"))
    locks.insert(record("t4", "/bob/Docs/Notes.txt"))
    assert locks.get("t2")["root"] == "/alice/Docs/Notes.txt" and locks.get("nope") is None
    assert [r["_id"] for r in locks.at(path_key("/ALICE/docs"))] == ["t1"]
    assert [r["_id"] for r in locks.below(path_key("/alice/docs"))] == ["t2"]  # not Docs2, not bob's
    assert sorted(r["_id"] for r in locks.below("/")) == ["t1", "t2", "t3", "t4"]
    refreshed = locks.refresh("t1", 120.0, time.time() + 120)
    assert refreshed["timeout"] == 120.0 and locks.refresh("nope", 1.0, 1.0) is None
    assert locks.delete("t1") and not locks.delete("t1")


def test_expired_locks_go_and_are_never_returned(locks):
    storage = DatabaseLockStorage(locks)
    locks.insert(record("old", "/alice/a.txt", expire=time.time() - 1))
    locks.insert(record("live", "/alice/b.txt"))
    assert storage.get("old") is None and locks.get("old") is None  # purged on the way
    locks.insert(record("old2", "/alice/c.txt", expire=time.time() - 1))
    assert [lock["token"] for lock in storage.get_lock_list("/alice", include_root=False, include_children=True,
                                                           token_only=False)] == ["live"]
    assert locks.delete_expired(time.time()) == 0  # already gone


def test_a_lock_seen_from_another_case_is_written_in_the_asker_s_case(locks):
    storage = DatabaseLockStorage(locks)
    made = storage.create("/alice/Docs/Notes.txt", {"type": "write", "scope": "exclusive", "depth": "0",
                                                   "owner": b"<o/>", "timeout": 60, "principal": "alice"})
    found = storage.get_lock_list("/alice/docs/notes.TXT", include_root=True, include_children=False,
                                  token_only=False)
    assert [lock["token"] for lock in found] == [made["token"]]
    assert found[0]["root"] == "/alice/docs/notes.TXT" and found[0]["owner"] == b"<o/>"
    below = storage.get_lock_list("/ALICE", include_root=False, include_children=True, token_only=True)
    assert below == [made["token"]]
    assert storage.get(made["token"])["root"] == "/alice/Docs/Notes.txt"


def test_clear_removes_every_lock(locks):
    storage = DatabaseLockStorage(locks)
    for path in ("/alice/a.txt", "/bob/b.txt"):
        storage.create(path, {"type": "write", "scope": "exclusive", "depth": "0", "owner": b"<o/>",
                              "timeout": 60, "principal": "x"})
    storage.clear()
    assert storage.get_lock_list("/", include_root=True, include_children=True, token_only=True) == []
