"""Nothing below UPLOAD_FOLDER is read or written through a symlink (issue 9, "File system
containment"); UPLOAD_FOLDER itself may be one."""
from __future__ import annotations

import logging
import os
import shutil

import mongomock
import pytest

from app import create_app
from app.services import EXTENSION_KEY
from app.storage.local import INCOMING_DIR, STAGING_PREFIX, LocalBlobStorage
from config import TestingConfig
from tests.conftest import AuthActions, multipart_body, upload
from tests.test_folders import folder, put_file

SECRET = b"root:x:0:0:the target's bytes, never to be served\n"


def fetch(client, path, **headers):
    response = client.get(path, headers=headers)
    body = response.get_data()
    response.close()
    return response, body


def user_id(client) -> str:
    return client.get("/api/me").get_json()["id"]


def files_in(path) -> list[str]:
    return sorted(os.listdir(path))


def refused_upload(response, caplog, *parts_of_the_log_line):
    assert response.status_code == 500, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "storage_unavailable"
    refusals = [r.getMessage() for r in caplog.records if "storage refused" in r.getMessage()]
    assert len(refusals) == 1, refusals
    assert all(part in refusals[0] for part in parts_of_the_log_line), refusals[0]


@pytest.fixture
def outside(tmp_path):
    """A folder outside UPLOAD_FOLDER that a link below it points to."""
    path = tmp_path / "outside"
    path.mkdir()
    return path


@pytest.fixture
def alice(client, auth):
    auth.signup()
    return user_id(client)


def move_user_folder_out(app, uid, outside) -> None:
    """What an attacker (or a careless restore) leaves: uploads/<uid> is a link to a folder outside."""
    user_dir = os.path.join(app.config["UPLOAD_FOLDER"], uid)
    for name in os.listdir(user_dir):
        shutil.move(os.path.join(user_dir, name), outside / name)
    os.rmdir(user_dir)
    os.symlink(outside, user_dir)


# -- a user folder that is a link ------------------------------------------------------------

def test_an_upload_into_a_linked_user_folder_is_refused_and_leaves_nothing(app, client, alice, outside, caplog):
    os.symlink(outside, os.path.join(app.config["UPLOAD_FOLDER"], alice))
    with caplog.at_level(logging.ERROR):
        response = upload(client, ("report.txt", b"hello"))
    refused_upload(response, caplog, alice, os.path.join(app.config["UPLOAD_FOLDER"], alice))
    assert files_in(outside) == []
    assert client.get("/api/files").get_json()["total"] == 0
    assert client.get("/api/me").get_json()["used_bytes"] == 0


def test_a_linked_user_folder_is_not_served_and_delete_leaves_its_target(app, client, alice, outside, caplog):
    record = upload(client, ("report.txt", b"hello world\n")).get_json()["files"][0]
    move_user_folder_out(app, alice, outside)
    [key] = files_in(outside)
    with caplog.at_level(logging.ERROR):
        for path in (f"/api/files/{record['id']}", f"/api/files/{record['id']}/preview"):
            response, body = fetch(client, path)
            assert response.status_code == 404 and response.get_json()["error"]["code"] == "file_not_found"
    assert any(alice in r.getMessage() and "storage refused" in r.getMessage() for r in caplog.records)
    assert client.delete(f"/api/files/{record['id']}?permanent=true").status_code == 204
    assert files_in(outside) == [key]
    assert (outside / key).read_bytes() == b"hello world\n"


def test_a_user_folder_swapped_for_a_link_after_the_check_is_not_served(app, client, alice, outside, monkeypatch):
    record = upload(client, ("report.txt", b"hello world\n")).get_json()["files"][0]
    storage = app.extensions[EXTENSION_KEY].storage
    key = os.listdir(os.path.join(storage.root, alice))[0]
    (outside / key).write_bytes(SECRET)
    opened = LocalBlobStorage.open

    def open_then_swap(self, user_id, key):
        blob = opened(self, user_id, key)
        os.rename(os.path.join(self.root, user_id), os.path.join(self.root, "moved-away"))
        os.symlink(outside, os.path.join(self.root, user_id))
        return blob

    monkeypatch.setattr(LocalBlobStorage, "open", open_then_swap)
    response, body = fetch(client, f"/api/files/{record['id']}")
    assert SECRET not in body and body in (b"", b"hello world\n")  # served from the descriptor opened


# -- a blob file that is a link --------------------------------------------------------------

@pytest.fixture
def linked_blob(app, client, alice, outside):
    """alice's file whose bytes were replaced by a link to a file outside; returns its record."""
    record = upload(client, ("report.txt", b"hello world\n")).get_json()["files"][0]
    user_dir = os.path.join(app.config["UPLOAD_FOLDER"], alice)
    [key] = os.listdir(user_dir)
    (outside / "passwd").write_bytes(SECRET)
    os.unlink(os.path.join(user_dir, key))
    os.symlink(outside / "passwd", os.path.join(user_dir, key))
    return record


@pytest.mark.parametrize("headers", [{}, {"Range": "bytes=0-"}, {"Range": "bytes=5-9"}])
def test_a_blob_replaced_by_a_link_is_never_served(client, linked_blob, headers):
    for path in (f"/api/files/{linked_blob['id']}", f"/api/files/{linked_blob['id']}/preview"):
        response, body = fetch(client, path, **headers)
        assert response.status_code == 404, path
        assert SECRET[5:10] not in body


@pytest.fixture
def swap_blob_after_check(outside, monkeypatch):
    """From when it is called, every blob the storage opens is swapped for a link to a file
    outside right after it was opened: what a race between a check and a second open (by
    path, as send_file did once) would exploit."""
    def start():
        (outside / "passwd").write_bytes(SECRET)
        opened = LocalBlobStorage.open

        def open_then_swap(self, user_id, key):
            blob = opened(self, user_id, key)
            path = os.path.join(self.root, user_id, key)
            os.unlink(path)
            os.symlink(outside / "passwd", path)
            return blob
        monkeypatch.setattr(LocalBlobStorage, "open", open_then_swap)
    return start


def test_a_blob_swapped_for_a_link_after_the_check_is_not_served(client, alice, swap_blob_after_check):
    """send_file used to open the checked path again, following whatever was there by then."""
    record = upload(client, ("report.txt", b"hello world\n")).get_json()["files"][0]
    swap_blob_after_check()
    response, body = fetch(client, f"/api/files/{record['id']}")
    assert response.status_code == 200 and body == b"hello world\n" and SECRET not in body


def test_a_shared_folder_zip_never_holds_a_blob_swapped_for_a_link(app, client, alice, swap_blob_after_check):
    """The ZIP is stored, not deflated: the target's bytes would show as they are."""
    top = folder(client, "Holiday")
    assert put_file(client, "notes.txt", b"hello world\n", top).status_code == 201
    token = client.post("/api/shares", json={"item_id": top}).get_json()["token"]
    swap_blob_after_check()
    try:
        _, body = fetch(app.test_client(), f"/s/{token}/zip")
    except FileNotFoundError:
        body = b""  # the stream is cut where that file would start, as for any missing blob
    assert SECRET not in body


def test_deleting_a_blob_that_is_a_link_removes_the_link_not_its_target(app, client, linked_blob, outside):
    assert client.delete(f"/api/files/{linked_blob['id']}?permanent=true").status_code == 204
    assert (outside / "passwd").read_bytes() == SECRET
    assert files_in(os.path.join(app.config["UPLOAD_FOLDER"], user_id(client))) == []


# -- the shared incoming folder --------------------------------------------------------------

def test_a_compat_upload_into_a_linked_incoming_folder_is_refused(app, client, alice, outside, caplog):
    secret = client.post("/api/tokens", json={"name": "script", "scope": "read-write"}).get_json()["secret"]
    os.symlink(outside, os.path.join(app.config["UPLOAD_FOLDER"], INCOMING_DIR))
    body, ctype = multipart_body([("file", "users.json", b'{"1": "a"}', "application/json")])
    boundary = ctype.split("boundary=")[1]
    body = f'--{boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\n{secret}\r\n'.encode() + body
    with caplog.at_level(logging.ERROR):
        response = app.test_client().post("/upload", data=body, content_type=ctype)
    refused_upload(response, caplog, INCOMING_DIR)
    assert files_in(outside) == []
    assert client.get("/api/files").get_json()["total"] == 0


# -- staging sweep and repair ----------------------------------------------------------------

def test_the_staging_sweep_does_not_reach_through_a_link(app, alice, outside):
    stale = outside / f"{STAGING_PREFIX}{'0' * 32}"
    stale.write_bytes(b"not ours")
    os.utime(stale, (0, 0))
    os.symlink(outside, os.path.join(app.config["UPLOAD_FOLDER"], alice))
    assert app.extensions[EXTENSION_KEY].storage.sweep_staging() == 0
    assert stale.read_bytes() == b"not ours"


def test_repair_reports_links_and_fixes_nothing_while_they_are_there(app, client, alice, outside):
    record = upload(client, ("report.txt", b"hello world\n")).get_json()["files"][0]
    move_user_folder_out(app, alice, outside)
    repair = app.extensions[EXTENSION_KEY].repair
    report = repair.scan()
    assert [(a.path, a.kind) for a in report.not_followed] == [(alice, "symlink")]
    assert not report.clean
    assert any("symlink" in line and alice in line for line in report.lines())
    done = repair.fix(report)
    assert done and done[0].startswith("nothing fixed")
    assert client.get(f"/api/files/{record['id']}/info").status_code == 200
    assert len(files_in(outside)) == 1


# -- UPLOAD_FOLDER itself a link: a common setup that must keep working ----------------------

@pytest.fixture
def linked_root_app(tmp_path):
    real = tmp_path / "disk" / "uploads"
    real.mkdir(parents=True)
    os.symlink(real, tmp_path / "uploads")
    settings = TestingConfig.load({})
    settings.update(MONGO_CLIENT_FACTORY=lambda: mongomock.MongoClient(tz_aware=True),
                    UPLOAD_FOLDER=str(tmp_path / "uploads"), INSTANCE_PATH=str(tmp_path / "instance"))
    return create_app(settings), real


def test_an_upload_folder_that_is_a_link_works_for_everything(linked_root_app):
    app, real = linked_root_app
    client = app.test_client()
    AuthActions(client).signup()
    uid = user_id(client)
    data = b"hello world\n"
    record = upload(client, ("report.txt", data)).get_json()["files"][0]
    assert len(files_in(real / uid)) == 1

    response, body = fetch(client, f"/api/files/{record['id']}")
    assert response.status_code == 200 and body == data
    assert response.headers["Content-Length"] == str(len(data))
    response, body = fetch(client, f"/api/files/{record['id']}", Range="bytes=6-10")
    assert response.status_code == 206 and body == b"world"
    assert response.headers["Content-Range"] == "bytes 6-10/12"
    response, body = fetch(client, f"/api/files/{record['id']}", **{"If-None-Match": f'"{record["sha256"]}"'})
    assert response.status_code == 304 and body == b""
    assert fetch(client, f"/api/files/{record['id']}", Range="bytes=100-200")[0].status_code == 416

    repair = app.extensions[EXTENSION_KEY].repair
    assert repair.scan(verify=True).clean
    assert client.delete(f"/api/files/{record['id']}?permanent=true").status_code == 204
    assert files_in(real / uid) == []
    assert client.get("/api/me").get_json()["used_bytes"] == 0
