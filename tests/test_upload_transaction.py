"""On the embedded SQLite store an upload is one write transaction (issue 10): the blob
records, the usage charge, the items and the versions of every part commit together, after
the bytes are durable. A failure anywhere leaves no record, no charge and no stored bytes;
the owner's tree lock is respected without writing its row; a transaction that yields under
gevent does not stall the other writers of its process. A file's trash, restore and delete,
a rename or move and a new folder are one transaction too; bytes a delete frees go after
its commit."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from app.db import close_database, get_db
from app.drive.service import UploadPart
from app.drive.sqlite_repo import SQLiteItemsRepository
from app.services import services
from tests.conftest import AuthActions, make_app, upload

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def app(tmp_path):
    """On SQLite whatever DRIVE_TEST_DB says (conftest's ``client`` uses this app)."""
    application = make_app(tmp_path, EMBEDDED_DB_PATH=str(tmp_path / "data"))
    yield application
    close_database(application)


@pytest.fixture
def owner(client):
    return AuthActions(client).signup()["id"]


def staged(owner_id: str, data: bytes):
    blob = services().drive.stager_for(owner_id)()
    blob.write(data)
    return blob


def store(app, owner_id: str, *files: tuple[str, bytes], on_conflict=None) -> tuple[list[dict], int]:
    """Store ``files`` in one upload through the service; the stored items and the number of
    write transactions committed meanwhile."""
    with app.app_context():
        db = get_db()
        before = db.commits
        parts = [UploadPart(name, "text/plain", staged(owner_id, data)) for name, data in files]
        stored = services().drive.store_uploads(owner_id, parts, on_conflict=on_conflict)
        return stored, db.commits - before


def stored_bytes(app, owner_id: str) -> list[str]:
    """The files under the owner's folder of the upload storage (staging excluded)."""
    folder = os.path.join(app.config["UPLOAD_FOLDER"], owner_id)
    return sorted(name for name in os.listdir(folder) if not name.startswith(".")) if os.path.isdir(folder) else []


def state(app, client, owner_id: str) -> dict:
    with app.app_context():
        blobs = [b for b in services().drive.blobs.blobs.of_owner(owner_id)]
        clean = services().repair.scan(verify=True).clean
    files = client.get("/api/files").get_json()["files"]
    return {"files": sorted((f["name"], f["revision"]) for f in files),
            "usage": client.get("/api/me/usage").get_json()["used_bytes"],
            "blobs": sorted((b["sha256"], b["refs"]) for b in blobs),
            "bytes": stored_bytes(app, owner_id), "repair_clean": clean}


def test_an_upload_of_several_parts_is_one_commit(app, client, owner):
    store(app, owner, ("first.txt", b"first"))  # (a user's first upload also makes their usage row)
    stored, commits = store(app, owner, ("a.txt", b"alpha"), ("b.txt", b"beta"), ("c.txt", b"alpha"))
    assert [f["name"] for f in stored] == ["a.txt", "b.txt", "c.txt"]
    assert commits == 1
    after = state(app, client, owner)
    assert after["usage"] == len(b"first") + len(b"alpha") + len(b"beta")  # the same content: stored and charged once
    assert len(after["bytes"]) == 3 and sorted(refs for _, refs in after["blobs"]) == [1, 1, 2]
    assert after["repair_clean"]


def test_a_replace_and_its_version_are_one_commit(app, client, owner):
    store(app, owner, ("notes.txt", b"one"))
    stored, commits = store(app, owner, ("notes.txt", b"two"), on_conflict="replace")
    assert commits == 1 and stored[0]["revision"] == 2
    versions = client.get(f"/api/files/{stored[0]['_id']}/versions").get_json()["versions"]
    assert len(versions) == 1
    response = client.get(f"/api/files/{stored[0]['_id']}")
    assert response.data == b"two"
    response.close()
    assert state(app, client, owner)["repair_clean"]


def test_content_the_owner_has_is_not_stored_again(app, client, owner):
    store(app, owner, ("a.txt", b"same bytes"))
    before = stored_bytes(app, owner)
    _, commits = store(app, owner, ("copy.txt", b"same bytes"))
    assert commits == 1 and stored_bytes(app, owner) == before
    assert state(app, client, owner)["usage"] == len(b"same bytes")


def test_a_part_failing_late_leaves_nothing_of_the_upload(app, client, owner, monkeypatch):
    """Part 1 is placed, part 2 fails in the database: neither file, no blob, no charge, no
    bytes: everything was one transaction, rolled back, and the new bytes were removed."""
    store(app, owner, ("kept.txt", b"kept"))
    before = state(app, client, owner)
    original = SQLiteItemsRepository.insert

    def insert(self, item):
        if item["name"] == "b.txt":
            raise RuntimeError("the disk went away")
        return original(self, item)
    monkeypatch.setattr(SQLiteItemsRepository, "insert", insert)
    with pytest.raises(RuntimeError):
        store(app, owner, ("a.txt", b"first part"), ("b.txt", b"second part"))
    monkeypatch.undo()
    assert state(app, client, owner) == before


def test_a_replace_failing_at_its_commit_keeps_the_file_as_it_was(app, client, owner, monkeypatch):
    [file], _ = store(app, owner, ("notes.txt", b"one"))
    before = state(app, client, owner)

    def commit_content(*args, **kwargs):
        raise RuntimeError("the disk went away")
    monkeypatch.setattr(SQLiteItemsRepository, "commit_content", commit_content)
    with pytest.raises(RuntimeError):
        store(app, owner, ("notes.txt", b"two, never stored"), on_conflict="replace")
    monkeypatch.undo()
    assert state(app, client, owner) == before
    assert client.get(f"/api/files/{file['_id']}/versions").get_json()["versions"] == []


def test_a_name_taken_refuses_the_upload_and_keeps_nothing_of_it(app, client, owner):
    store(app, owner, ("a.txt", b"first"))
    before = state(app, client, owner)
    response = upload(client, ("new.txt", b"new content"), ("a.txt", b"other content"))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "name_conflict"
    assert state(app, client, owner) == before


def test_an_upload_waits_while_another_request_holds_the_tree_lock(app, client, owner):
    """A request holding the owner's tree lock between two of its transactions (a move, a bulk
    chunk) is not run over: the upload waits for it, then stores."""
    with app.app_context():
        items = services().drive.items
        assert items.take_tree_lock(owner, "another request", time.time() + 30, time.time())
    done = []
    worker = threading.Thread(target=lambda: done.append(store(app, owner, ("late.txt", b"late"))))
    worker.start()
    time.sleep(0.5)
    assert not done, "the upload did not wait for the tree lock"
    with app.app_context():
        services().drive.items.release_tree_lock(owner, "another request")
    worker.join(10)
    assert done and done[0][0][0]["name"] == "late.txt"
    with app.app_context():
        assert services().drive.items.tree_lock(owner) is None  # not left held


def test_a_lapsed_tree_lock_is_taken_over_so_its_stalled_holder_finds_it_lost(app, client, owner):
    with app.app_context():
        items = services().drive.items
        assert items.take_tree_lock(owner, "stalled request", time.time() - 1, time.time() - 31)
    assert store(app, owner, ("a.txt", b"after a stall"))[0][0]["name"] == "a.txt"
    with app.app_context():
        assert not services().drive.items.extend_tree_lock(owner, "stalled request", time.time() + 30)


def commits_of(app, action) -> tuple[object, int]:
    with app.app_context():
        db = get_db()
        before = db.commits
        result = action(services())
        return result, db.commits - before


def test_a_file_s_trash_restore_rename_and_delete_are_one_commit_each(app, client, owner):
    store(app, owner, ("keep.txt", b"keep"))
    [file], _ = store(app, owner, ("doomed.txt", b"one"))
    store(app, owner, ("doomed.txt", b"two"), on_conflict="replace")  # a version, to go with it
    file_id = str(file["_id"])
    folder, commits = commits_of(app, lambda s: s.drive.create_folder(owner, "Folder"))
    assert commits == 1
    moved, commits = commits_of(app, lambda s: s.drive.update(owner, file_id, "file", name="renamed.txt",
                                                              parent=str(folder["_id"])))
    assert commits == 1 and moved["name"] == "renamed.txt"
    _, commits = commits_of(app, lambda s: s.trash.trash(owner, file_id, "file"))
    assert commits == 1
    _, commits = commits_of(app, lambda s: s.trash.restore(owner, file_id))
    assert commits == 1
    before = stored_bytes(app, owner)
    _, commits = commits_of(app, lambda s: s.trash.delete_forever(owner, file_id, "file", must_be_trashed=False))
    assert commits == 1
    after = state(app, client, owner)
    assert after["files"] == [("keep.txt", 1)] and after["usage"] == len(b"keep")
    assert len(after["bytes"]) == len(before) - 2 and after["repair_clean"]  # both contents' bytes went


def test_a_delete_failing_halfway_keeps_the_file_and_its_bytes(app, client, owner, monkeypatch):
    [file], _ = store(app, owner, ("notes.txt", b"one"))
    store(app, owner, ("notes.txt", b"two"), on_conflict="replace")
    before = state(app, client, owner)
    from app.members.sqlite_repo import SQLiteGrantsRepository

    def fail(*args, **kwargs):
        raise RuntimeError("the disk went away")
    monkeypatch.setattr(SQLiteGrantsRepository, "delete_for_items", fail)  # the last step
    with pytest.raises(RuntimeError):
        commits_of(app, lambda s: s.trash.delete_forever(owner, str(file["_id"]), "file", must_be_trashed=False))
    monkeypatch.undo()
    assert state(app, client, owner) == before  # records, versions, usage and bytes all kept
    response = client.get(f"/api/files/{file['_id']}")
    assert response.data == b"two"
    response.close()


GEVENT_WRITERS = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import sys, time, gevent
    sys.path.insert(0, {repo!r})
    from app import sqlite_db
    sqlite_db.BUSY_TIMEOUT_MS = 3000
    db = sqlite_db.SQLiteDatabase({path!r})
    db.write("CREATE TABLE t (v INTEGER)")
    order = []
    def slow_writer():
        with db.transaction() as conn:
            conn.execute("INSERT INTO t VALUES (1)")
            gevent.sleep(0.3)  # yields to the other greenlet while holding SQLite's write lock
            order.append("first")
    def second_writer():
        gevent.sleep(0.05)
        db.write("INSERT INTO t VALUES (2)")
        order.append("second")
    start = time.monotonic()
    gevent.joinall([gevent.spawn(slow_writer), gevent.spawn(second_writer)], raise_error=True)
    print(order, round(time.monotonic() - start, 2), db.read_one("SELECT COUNT(*) FROM t")[0])
""")


def test_a_greenlet_yielding_inside_a_transaction_does_not_stall_the_other_writers(tmp_path):
    """Under Gunicorn's gevent worker every request is a greenlet: the second writer waits for
    the first (yielding to it) instead of blocking the event loop in SQLite's busy handler
    until the busy timeout, which would leave the first unable to finish."""
    script = GEVENT_WRITERS.format(repo=REPO, path=str(tmp_path / "x.sqlite3"))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    order, seconds, rows = result.stdout.rsplit("]", 1)[0] + "]", *result.stdout.rsplit("]", 1)[1].split()
    assert order == "['first', 'second']" and rows == "2"
    assert float(seconds) < 2, result.stdout
