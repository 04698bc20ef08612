"""The repair command: each inconsistency a crash or a hand-edited folder can leave, made by
hand on mongomock, then reported, fixed, and reported clean."""
from __future__ import annotations

import hashlib
import os
import time

import pytest
from bson import ObjectId
from pymongo.errors import ServerSelectionTimeoutError

from app.db import get_db
from app.repair import RepairService
from app.services import services
from app.storage.local import INCOMING_DIR, STAGING_PREFIX
from tests.conftest import upload

TWO_DAYS_S = 2 * 24 * 3600


@pytest.fixture
def alice(client, auth):
    """Alice logged in; her user id is ``client.user_id``."""
    client.user_id = auth.signup()["id"]
    return client


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def repair(app, ctx) -> RepairService:
    """The service, with no grace for recent stray bytes (the tests make them just now)."""
    service = services().repair
    service.grace_s = 0
    return service


def collection(name: str):
    return get_db().collection(name)


def user_dir(app, user_id: str) -> str:
    return os.path.join(app.config["UPLOAD_FOLDER"], user_id)


def put(client, name: str, data: bytes, replace: bool = False) -> dict:
    response = upload(client, (name, data), query="?on_conflict=replace" if replace else "")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["files"][0]


def blob_of(file: dict) -> dict:
    return collection("blobs").find_one({"_id": collection("items").find_one({"_id": ObjectId(file["id"])})["blob_id"]})


def blob_path(app, blob: dict) -> str:
    return os.path.join(user_dir(app, blob["owner_id"]), blob["storage_key"])


def run_cli(app, *args):
    result = app.test_cli_runner().invoke(args=["repair", *args])
    return result.exit_code, result.output


def fetch(client, url: str) -> tuple[int, bytes]:
    response = client.get(url)
    data = response.get_data()
    response.close()
    return response.status_code, data


def content(client, file: dict) -> bytes:
    status, data = fetch(client, f"/api/files/{file['id']}")
    assert status == 200, data
    return data


def listed(client) -> set[str]:
    return {f["id"] for f in client.get("/api/files?limit=200").get_json()["files"]}


# -- clean ----------------------------------------------------------------------------------

def test_a_drive_in_daily_use_is_clean(app, alice, repair):
    first = put(alice, "a.txt", b"one")
    put(alice, "a.txt", b"two", replace=True)  # a version
    put(alice, "same.txt", b"one")  # shares a blob with the version
    assert alice.post(f"/api/files/{first['id']}/copy", json={}).status_code == 201
    trashed = put(alice, "bin.txt", b"bin")
    assert alice.delete(f"/api/files/{trashed['id']}").status_code == 204

    report = repair.scan(verify=True)
    assert report.clean, report.lines()
    assert report.counts == {"blobs": 3, "files": 4, "versions": 1, "stored": 3}
    code, output = run_cli(app, "--verify")
    assert code == 0, output
    assert output.strip().endswith("clean")


# -- bytes without a record ---------------------------------------------------------------

def test_bytes_without_a_record_are_reported_then_deleted(app, alice, repair):
    kept = put(alice, "kept.txt", b"kept")
    stray = os.path.join(user_dir(app, alice.user_id), "ab" * 16)
    with open(stray, "wb") as fh:
        fh.write(b"left by a crash between rename and record")

    report = repair.scan()
    assert [e.name for e in report.stray_bytes] == ["ab" * 16]
    code, output = run_cli(app)
    assert code == 1
    assert f"bytes without a record: 1\n  {alice.user_id}/{'ab' * 16}" in output
    assert "run again with --fix" in output

    code, output = run_cli(app, "--fix")
    assert code == 0, output
    assert "after repair: clean" in output
    assert not os.path.exists(stray)
    assert content(alice, kept) == b"kept"


def test_recent_bytes_without_a_record_are_left_alone(app, alice, ctx):
    """An upload renames its bytes into place a moment before it writes the record."""
    put(alice, "kept.txt", b"kept")
    recent = os.path.join(user_dir(app, alice.user_id), "cd" * 16)
    with open(recent, "wb") as fh:
        fh.write(b"being recorded right now")

    code, output = run_cli(app, "--fix")
    assert code == 0, output
    assert "left alone (an upload may still be writing them): 1" in output
    assert os.path.exists(recent)


def test_staging_files_younger_than_a_day_are_never_touched(app, alice, repair):
    folder = user_dir(app, alice.user_id)
    incoming = os.path.join(app.config["UPLOAD_FOLDER"], INCOMING_DIR)
    for path in (folder, incoming):
        os.makedirs(path, exist_ok=True)
    running = os.path.join(folder, STAGING_PREFIX + "1" * 32)
    stale = os.path.join(folder, STAGING_PREFIX + "2" * 32)
    stale_incoming = os.path.join(incoming, STAGING_PREFIX + "3" * 32)
    for path in (running, stale, stale_incoming):
        with open(path, "wb") as fh:
            fh.write(b"partial upload")
    old = time.time() - TWO_DAYS_S
    for path in (stale, stale_incoming):
        os.utime(path, (old, old))

    report = repair.scan()
    assert sorted(e.name for e in report.stale_staging) == [os.path.basename(stale), os.path.basename(stale_incoming)]
    assert [e.name for e in report.left_alone] == [os.path.basename(running)]
    repair.fix(report)
    assert os.path.exists(running)
    assert not os.path.exists(stale) and not os.path.exists(stale_incoming)
    assert repair.scan().clean


# -- records without bytes ------------------------------------------------------------------

def test_a_file_whose_bytes_are_gone_falls_back_to_its_newest_intact_version(app, alice, repair):
    put(alice, "notes.txt", b"first")
    put(alice, "notes.txt", b"second", replace=True)
    current = put(alice, "notes.txt", b"third", replace=True)
    os.unlink(blob_path(app, blob_of(current)))
    assert fetch(alice, f"/api/files/{current['id']}")[0] == 404  # never served as if fine

    report = repair.scan()
    assert [b.problem for b in report.broken_blobs] == ["missing"]
    code, output = run_cli(app)
    assert code == 1
    assert "records without bytes: 1" in output and current["id"] in output

    done = repair.fix(report)
    assert any("rolled back" in line and current["id"] in line for line in done)
    assert content(alice, current) == b"second"
    versions = alice.get(f"/api/files/{current['id']}/versions").get_json()["versions"]
    assert [v["sha256"] for v in versions] == [hashlib.sha256(b"first").hexdigest()]
    assert repair.scan(verify=True).clean


def test_a_file_without_bytes_or_versions_is_deleted_and_reported(app, alice, repair):
    lost = put(alice, "lost.txt", b"lost")
    kept = put(alice, "kept.txt", b"kept")
    blob = blob_of(lost)
    os.unlink(blob_path(app, blob))

    done = repair.fix(repair.scan())
    assert any(f"deleted file {lost['id']}" in line and "lost.txt" in line for line in done)
    assert listed(alice) == {kept["id"]}
    assert collection("blobs").find_one({"_id": blob["_id"]}) is None
    assert repair.scan().clean


def test_a_version_whose_bytes_are_gone_is_deleted(app, alice, repair):
    put(alice, "notes.txt", b"old")
    current = put(alice, "notes.txt", b"new", replace=True)
    version = alice.get(f"/api/files/{current['id']}/versions").get_json()["versions"][0]
    old_blob = collection("versions").find_one({"_id": ObjectId(version["id"])})["blob_id"]
    os.unlink(blob_path(app, collection("blobs").find_one({"_id": old_blob})))

    done = repair.fix(repair.scan())
    assert any(f"deleted version {version['id']}" in line for line in done)
    assert alice.get(f"/api/files/{current['id']}/versions").get_json()["versions"] == []
    assert content(alice, current) == b"new"
    assert repair.scan().clean


def test_missing_bytes_found_again_elsewhere_are_used_instead(app, alice, repair):
    """The bytes were renamed by hand: the record follows them; nothing is lost."""
    file = put(alice, "moved.txt", b"moved by an operator")
    blob = blob_of(file)
    os.rename(blob_path(app, blob), os.path.join(user_dir(app, alice.user_id), "ef" * 16))

    done = repair.fix(repair.scan())
    assert any("found again" in line for line in done)
    assert content(alice, file) == b"moved by an operator"
    assert repair.scan(verify=True).clean


# -- bytes that no longer match -------------------------------------------------------------

def test_bytes_of_the_wrong_size_are_found_without_hashing(app, alice, repair):
    file = put(alice, "cut.bin", b"0123456789")
    with open(blob_path(app, blob_of(file)), "r+b") as fh:
        fh.truncate(4)
    report = repair.scan()
    assert [b.problem for b in report.broken_blobs] == ["size_mismatch"]


def test_changed_bytes_are_found_with_verify_and_never_served_after_fix(app, alice, repair):
    rotten = put(alice, "rotten.bin", b"0123456789")
    kept = put(alice, "kept.bin", b"fine")
    path = blob_path(app, blob_of(rotten))
    with open(path, "r+b") as fh:
        fh.write(b"X")  # same size, other content

    assert repair.scan().clean  # sizes match: only hashing sees it
    report = repair.scan(verify=True)
    assert [b.problem for b in report.broken_blobs] == ["sha256_mismatch"]
    code, output = run_cli(app, "--verify")
    assert code == 1 and "bytes that no longer match their record: 1" in output

    code, output = run_cli(app, "--verify", "--fix")
    assert code == 0, output
    assert f"deleted file {rotten['id']}" in output
    assert not os.path.exists(path)
    assert listed(alice) == {kept["id"]}
    assert fetch(alice, f"/api/files/{rotten['id']}")[0] == 404


# -- reference counts -----------------------------------------------------------------------

def test_reference_counts_are_set_to_the_number_of_users(app, alice, repair):
    file = put(alice, "shared.txt", b"shared")
    assert alice.post(f"/api/files/{file['id']}/copy", json={}).status_code == 201
    blob = blob_of(file)
    collection("blobs").update_one({"_id": blob["_id"]}, {"$set": {"refs": 7}})

    report = repair.scan()
    assert [(b["_id"], used) for b, used in report.wrong_refs] == [(blob["_id"], 2)]
    code, output = run_cli(app, "--fix")
    assert code == 0, output
    assert "refs 7 -> 2" in output
    assert collection("blobs").find_one({"_id": blob["_id"]})["refs"] == 2


def test_an_undercounted_blob_is_raised_so_a_delete_cannot_take_shared_bytes(app, alice, repair):
    file = put(alice, "shared.txt", b"shared")
    copy = alice.post(f"/api/files/{file['id']}/copy", json={}).get_json()
    blob = blob_of(file)
    collection("blobs").update_one({"_id": blob["_id"]}, {"$set": {"refs": 1}})
    repair.fix(repair.scan())

    assert alice.delete(f"/api/files/{file['id']}?permanent=true").status_code == 204
    assert content(alice, copy) == b"shared"


def test_a_blob_nothing_uses_loses_its_record_then_its_bytes(app, alice, repair):
    file = put(alice, "gone.txt", b"gone")
    blob = blob_of(file)
    collection("items").delete_one({"_id": ObjectId(file["id"])})  # a delete that stopped halfway
    collection("blobs").update_one({"_id": blob["_id"]}, {"$set": {"refs": 0}})  # stuck at zero

    report = repair.scan()
    assert [(b["_id"], used) for b, used in report.wrong_refs] == [(blob["_id"], 0)]
    repair.fix(report)
    assert collection("blobs").find_one({"_id": blob["_id"]}) is None
    assert not os.path.exists(blob_path(app, blob))
    assert put(alice, "again.txt", b"gone")["sha256"] == hashlib.sha256(b"gone").hexdigest()
    assert repair.scan().clean


# -- records pointing at nothing ------------------------------------------------------------

def test_a_file_whose_blob_record_is_gone_gets_it_back_from_its_bytes(app, alice, repair):
    file = put(alice, "orphan.txt", b"still on disk")
    blob = blob_of(file)
    collection("blobs").delete_one({"_id": blob["_id"]})

    report = repair.scan()
    assert [f["_id"] for f in report.dangling_files] == [ObjectId(file["id"])]
    assert [e.name for e in report.stray_bytes] == [blob["storage_key"]]
    code, output = run_cli(app)
    assert code == 1 and "files pointing to a missing blob record: 1" in output

    done = repair.fix(report)
    assert any("record made again" in line for line in done)
    assert content(alice, file) == b"still on disk"
    assert collection("blobs").find_one({"_id": blob["_id"]})["refs"] == 1
    assert repair.scan(verify=True).clean


def test_records_pointing_at_a_lost_blob_use_the_users_other_record_of_that_content(app, alice, repair):
    file = put(alice, "a.txt", b"same bytes")
    lost = blob_of(file)
    collection("blobs").delete_one({"_id": lost["_id"]})
    os.unlink(blob_path(app, lost))
    other = put(alice, "b.txt", b"same bytes")  # stored again under a new record
    assert blob_of(other)["_id"] != lost["_id"]

    repair.fix(repair.scan())
    assert content(alice, file) == b"same bytes"
    assert collection("blobs").find_one({"_id": blob_of(other)["_id"]})["refs"] == 2
    assert repair.scan().clean


def test_versions_and_files_pointing_at_nothing_are_removed(app, alice, repair):
    put(alice, "v.txt", b"old")
    current = put(alice, "v.txt", b"new", replace=True)
    both = [blob_of(current)["_id"], collection("versions").find_one({})["blob_id"]]
    for blob_id in both:
        blob = collection("blobs").find_one({"_id": blob_id})
        collection("blobs").delete_one({"_id": blob_id})
        os.unlink(blob_path(app, blob))

    report = repair.scan()
    assert len(report.dangling_files) == 1 and len(report.dangling_versions) == 1
    repair.fix(report)
    assert listed(alice) == set()
    assert collection("versions").count_documents({}) == 0
    assert repair.scan().clean


def test_versions_of_a_file_that_is_gone_are_deleted_with_their_bytes(app, alice, repair):
    put(alice, "v.txt", b"old")
    current = put(alice, "v.txt", b"new", replace=True)
    collection("items").delete_one({"_id": ObjectId(current["id"])})  # delete stopped before the versions

    report = repair.scan()
    assert len(report.orphan_versions) == 1
    done = repair.fix(report)
    assert any("of missing file" in line for line in done)
    assert collection("versions").count_documents({}) == 0
    assert collection("blobs").count_documents({}) == 0
    assert os.listdir(user_dir(app, alice.user_id)) == []
    assert repair.scan().clean


# -- the command itself ---------------------------------------------------------------------

def test_the_command_says_so_when_the_database_is_down(app, monkeypatch, ctx):
    def down(*args, **kwargs):
        raise ServerSelectionTimeoutError("127.0.0.1:9: connection refused")
    monkeypatch.setattr(services().repair.blobs, "all_records", down)
    code, output = run_cli(app)
    assert code == 1
    assert "the database cannot be reached" in output


def test_a_version_left_by_an_unfinished_replace_is_deleted(app, alice, repair):
    """A replace writes the old content's version, then switches the file; the database went
    away in between, and so did the undo."""
    file = put(alice, "notes.txt", b"current")
    record = collection("items").find_one({"_id": ObjectId(file["id"])})
    collection("versions").insert_one({"_id": ObjectId(), "owner_id": alice.user_id, "file_id": record["_id"],
                                       "blob_id": record["blob_id"], "size": record["size"],
                                       "sha256": record["sha256"], "content_type": record["content_type"],
                                       "created_at": record["updated_at"]})

    report = repair.scan()
    assert len(report.unfinished_versions) == 1
    repair.fix(report)
    assert alice.get(f"/api/files/{file['id']}/versions").get_json()["versions"] == []
    assert content(alice, file) == b"current"
    assert repair.scan().clean


def test_a_version_with_the_same_content_from_another_moment_is_kept(app, alice, repair):
    put(alice, "notes.txt", b"a")
    put(alice, "notes.txt", b"b", replace=True)
    put(alice, "notes.txt", b"a", replace=True)  # a -> b -> a: a version shares the current blob
    assert repair.scan().clean
