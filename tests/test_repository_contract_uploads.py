"""The uploads repository's contract, on mongomock and on SQLite: the same documents, and the
lease, offset and state changes that keep one upload from being written twice or finished twice."""
from __future__ import annotations

from datetime import timedelta

import pytest
from bson import ObjectId

from app.timeutil import utcnow
from app.uploads.repo import ACTIVE, COMPLETED, COMPLETING, UploadsRepository
from app.uploads.sqlite_repo import SQLiteUploadsRepository
from tests.repository_backends import BACKENDS, indexed, on_backend

OWNER, OTHER = "a" * 24, "b" * 24


@pytest.fixture(params=BACKENDS)
def uploads(request, tmp_path):
    yield from on_backend(request, tmp_path, UploadsRepository, indexed(SQLiteUploadsRepository))


def new_upload(uploads, owner=OWNER, size=10, expires_in=timedelta(hours=1), **fields) -> dict:
    now = utcnow()
    upload = {"_id": ObjectId(), "owner_id": owner, "staging_id": "c" * 32, "size": size, "received": 0,
              "reserved": size, "state": ACTIVE, "name": "a.bin", "folder_id": None, "on_conflict": "fail",
              "content_type": None, "modified_at": None, "created_at": now, "expires_at": now + expires_in,
              "lease_token": None, "lease_until": None, "file_id": None, **fields}
    uploads.insert(upload)
    return upload


def lease(seconds=30):
    now = utcnow()
    return now, now + timedelta(seconds=seconds)


def test_records_round_trip_and_belong_to_their_owner(uploads):
    upload = new_upload(uploads)
    got = uploads.get_owned(OWNER, str(upload["_id"]))
    assert {k: got[k] for k in ("owner_id", "size", "received", "reserved", "state", "name", "folder_id")} == \
        {"owner_id": OWNER, "size": 10, "received": 0, "reserved": 10, "state": ACTIVE, "name": "a.bin",
         "folder_id": None}
    assert got["expires_at"] > utcnow()
    assert uploads.get_owned(OTHER, str(upload["_id"])) is None
    assert uploads.get_owned(OWNER, "not-an-id") is None
    assert [u["_id"] for u in uploads.for_owner(OWNER)] == [upload["_id"]]
    assert uploads.for_owner(OTHER) == []


def test_one_writer_at_a_time_and_only_at_the_recorded_offset(uploads):
    upload = new_upload(uploads)
    now, until = lease()
    assert uploads.claim(upload["_id"], 3, "t1", now, until) is None  # wrong offset
    assert uploads.claim(upload["_id"], 0, "t1", now, until)["lease_token"] == "t1"
    assert uploads.claim(upload["_id"], 0, "t2", now, until) is None  # taken
    assert uploads.advance(upload["_id"], "t2", 4, until) is None  # not the holder
    assert uploads.advance(upload["_id"], "t1", 4, until)["received"] == 4
    uploads.release(upload["_id"], "t1")
    assert uploads.claim(upload["_id"], 4, "t2", now, until) is not None
    # A lease left by a killed writer runs out.
    later = until + timedelta(seconds=1)
    assert uploads.claim(upload["_id"], 4, "t3", later, later + timedelta(seconds=30)) is not None
    assert uploads.renew(upload["_id"], "t3", later + timedelta(seconds=60))
    assert not uploads.renew(upload["_id"], "t2", later)


def test_completion_happens_once(uploads):
    upload = new_upload(uploads, size=4)
    now, until = lease()
    uploads.claim(upload["_id"], 0, "t", now, until)
    assert uploads.begin_completion(upload["_id"], "t", 4) is None  # not all received
    uploads.advance(upload["_id"], "t", 4, until)
    before = uploads.begin_completion(upload["_id"], "t", 4)
    assert before["reserved"] == 4 and before["state"] == ACTIVE
    assert uploads.begin_completion(upload["_id"], "t", 4) is None
    assert uploads.get_owned(OWNER, str(upload["_id"]))["state"] == COMPLETING
    assert uploads.take_idle(upload["_id"], utcnow()) is None  # never cancelled while it becomes a file
    assert [u["_id"] for u in uploads.unfinished()] == [upload["_id"]]
    file_id = ObjectId()
    uploads.finish(upload["_id"], file_id, until)
    done = uploads.get_owned(OWNER, str(upload["_id"]))
    assert (done["state"], done["file_id"], done["reserved"]) == (COMPLETED, file_id, 0)
    assert uploads.for_owner(OWNER) == [] and uploads.unfinished() == []


def test_cancel_and_expiry_take_only_idle_uploads(uploads):
    upload = new_upload(uploads)
    now, until = lease()
    uploads.claim(upload["_id"], 0, "t", now, until)
    assert uploads.take_idle(upload["_id"], now, OWNER) is None  # being written
    uploads.release(upload["_id"], "t")
    assert uploads.take_idle(upload["_id"], now, OTHER) is None
    assert uploads.take_idle(upload["_id"], now, OWNER)["_id"] == upload["_id"]
    assert uploads.get_owned(OWNER, str(upload["_id"])) is None
    old = new_upload(uploads, expires_in=timedelta(hours=-1))
    new_upload(uploads, owner=OTHER, size=7)
    assert [u["_id"] for u in uploads.expired(utcnow())] == [old["_id"]]
    assert uploads.reserved_by_owner() == {OWNER: 10, OTHER: 7}
