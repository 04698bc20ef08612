"""Encryption at rest (ENCRYPTION_KEY): the drive works the same, the disk holds only
ciphertext, and any change to the stored bytes is refused, never served."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import subprocess
import sys
import time
import zipfile

import pytest

from app.services import services
from app.storage import ByteStream, StorageUnavailable, UploadBudget, storage_from_config
from app.storage.encrypted import (HEADER_SIZE, SEGMENT_SIZE, TAG_SIZE, ContentTampered, EncryptedBlobStorage,
                                   LocalDataKeyStore, WrongMasterKey)
from app.storage.local import LocalBlobStorage
from app.storage.s3 import S3DataKeyStore
from config import ConfigError, TestingConfig
from tests.conftest import AuthActions
from tests.s3_server import s3_bucket, s3_server  # noqa: F401 - fixtures
from tests.test_compat import zone_upload
from tests.test_folders import folder, put_file
from tests.test_storage_containment import fetch

MASTER_KEY = bytes(range(32))
SEALED_SEGMENT = SEGMENT_SIZE + TAG_SIZE
# Three segments, the last one short; a marker that must never be found on disk.
CONTENT = (b"plaintext-marker-" * 12000)[:2 * SEGMENT_SIZE + 1234]


@pytest.fixture(autouse=True)
def encryption_on(monkeypatch):
    """The conftest's app, built with a master key."""
    monkeypatch.setattr(TestingConfig, "ENCRYPTION_KEY", MASTER_KEY)


@pytest.fixture
def alice(client, auth):
    auth.signup()
    return client


def uploaded_id(client, name="doc.bin", data=CONTENT, folder_id="root", on_conflict=None) -> str:
    response = put_file(client, name, data, folder_id, on_conflict)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["files"][0]["id"]


def user_folder(app) -> str:
    uploads = app.config["UPLOAD_FOLDER"]
    users = [name for name in os.listdir(uploads) if not name.startswith(".")]
    assert len(users) == 1
    return os.path.join(uploads, users[0])


def blob_paths(app) -> list[str]:
    folder_path = user_folder(app)
    return sorted(os.path.join(folder_path, name) for name in os.listdir(folder_path))


def the_blob(app) -> str:
    (path,) = blob_paths(app)
    return path


def read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def segments(path: str) -> tuple[bytes, list[bytes]]:
    data = read(path)
    body = data[HEADER_SIZE:]
    return data[:HEADER_SIZE], [body[i:i + SEALED_SEGMENT] for i in range(0, len(body), SEALED_SEGMENT)]


def rewrite(path: str, header: bytes, parts: list[bytes]) -> None:
    with open(path, "wb") as file:
        file.write(header + b"".join(parts))


# -- the drive works the same ---------------------------------------------------------------

def test_the_storage_is_sealed_and_serves_streams_never_files_or_redirects(app):
    with app.app_context():
        storage = services().storage
    assert isinstance(storage, EncryptedBlobStorage) and isinstance(storage.inner, LocalBlobStorage)
    staged = storage.stage("a" * 24, UploadBudget(None))
    staged.write(b"x")
    key = storage.commit(staged, "a" * 24)
    with storage.open("a" * 24, key) as opened:
        assert isinstance(opened, ByteStream) and opened.file.read() == b"x"
    assert storage.signed_url("a" * 24, key, content_type="text/plain", disposition="attachment") is None


def test_upload_and_download_round_trip_with_the_plaintext_size_and_sha256(alice):
    response = put_file(alice, "doc.bin", CONTENT)
    record = response.get_json()["files"][0]
    assert record["size"] == len(CONTENT) and record["sha256"] == hashlib.sha256(CONTENT).hexdigest()
    response, data = fetch(alice, f"/api/files/{record['id']}")
    assert response.status_code == 200 and data == CONTENT
    assert response.headers["ETag"].strip('"') == record["sha256"]
    assert int(response.headers["Content-Length"]) == len(CONTENT)


@pytest.mark.parametrize("first,last", [
    (0, 0), (0, SEGMENT_SIZE - 1), (SEGMENT_SIZE - 1, SEGMENT_SIZE), (SEGMENT_SIZE, 2 * SEGMENT_SIZE - 1),
    (SEGMENT_SIZE - 10, 2 * SEGMENT_SIZE + 10), (2 * SEGMENT_SIZE, len(CONTENT) - 1), (len(CONTENT) - 1, None),
])
def test_range_requests_across_segment_boundaries(alice, first, last):
    file_id = uploaded_id(alice)
    spec = f"bytes={first}-{'' if last is None else last}"
    response, data = fetch(alice, f"/api/files/{file_id}", Range=spec)
    assert response.status_code == 206
    assert data == CONTENT[first:None if last is None else last + 1]


def test_empty_and_segment_sized_files(alice):
    for data in (b"", b"s" * SEGMENT_SIZE, b"t" * (SEGMENT_SIZE + 1)):
        file_id = uploaded_id(alice, f"{len(data)}.bin", data)
        assert fetch(alice, f"/api/files/{file_id}")[1] == data


def test_the_disk_holds_no_plaintext(app, alice):
    uploaded_id(alice)
    stored = read(the_blob(app))
    assert b"plaintext-marker" not in stored
    assert len(stored) == HEADER_SIZE + len(CONTENT) + 3 * TAG_SIZE
    key_files = os.listdir(os.path.join(app.config["UPLOAD_FOLDER"], ".keys"))
    assert len(key_files) == 1
    assert MASTER_KEY not in read(os.path.join(app.config["UPLOAD_FOLDER"], ".keys", key_files[0]))


def test_versions_copies_and_dedup_per_user(app, alice):
    file_id = uploaded_id(alice, "a.txt", b"version one")
    uploaded_id(alice, "a.txt", b"version two", on_conflict="replace")
    versions = alice.get(f"/api/files/{file_id}/versions").get_json()["versions"]
    assert fetch(alice, f"/api/files/{file_id}/versions/{versions[-1]['id']}")[1] == b"version one"
    copy = alice.post(f"/api/files/{file_id}/copy").get_json()["id"]
    assert fetch(alice, f"/api/files/{copy}")[1] == b"version two"
    uploaded_id(alice, "b.txt", b"version two")  # the same content again: no new blob
    assert len(blob_paths(app)) == 2
    bob = app.test_client()
    AuthActions(bob).signup("bob")
    bobs = uploaded_id(bob, "a.txt", b"version two")
    assert fetch(bob, f"/api/files/{bobs}")[1] == b"version two"
    uploads = app.config["UPLOAD_FOLDER"]
    assert len([n for n in os.listdir(uploads) if not n.startswith(".")]) == 2
    assert len(os.listdir(os.path.join(uploads, ".keys"))) == 2


def test_a_public_zip_of_a_folder_decrypts_every_member(app, alice):
    top = folder(alice, "Holiday")
    uploaded_id(alice, "big.bin", CONTENT, top)
    uploaded_id(alice, "small.txt", b"small", top)
    token = alice.post("/api/shares", json={"item_id": top}).get_json()["token"]
    response, data = fetch(app.test_client(), f"/s/{token}/zip")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read("Holiday/big.bin") == CONTENT
        assert archive.read("Holiday/small.txt") == b"small"


def test_an_upload_whose_owner_is_known_only_after_its_body_is_sealed_for_that_owner(app, client, auth):
    auth.signup()
    key = client.post("/api/tokens", json={"name": "rw", "scope": "read-write"}).get_json()["secret"]
    script = app.test_client()
    assert zone_upload(script, key, "users.json", CONTENT).status_code == 200
    response, data = fetch(script, f"/download/users.json?key={key}")
    assert data == CONTENT
    (path,) = blob_paths(app)  # the first sealing, under a key only the request knew, is gone
    assert b"plaintext-marker" not in read(path)
    assert not [n for n in os.listdir(os.path.join(app.config["UPLOAD_FOLDER"], ".incoming"))]


# -- tampering is detected --------------------------------------------------------------------

def flip_byte(path, header, parts, other):
    middle = bytearray(parts[1])
    middle[100] ^= 1
    rewrite(path, header, [parts[0], bytes(middle), parts[2]])


def swap_segments(path, header, parts, other):
    rewrite(path, header, [parts[1], parts[0], parts[2]])


def drop_last_segment(path, header, parts, other):
    rewrite(path, header, parts[:2])


def cut_last_segment_short(path, header, parts, other):
    rewrite(path, header, parts[:2] + [parts[2][:-20]])


def append_a_segment(path, header, parts, other):
    rewrite(path, header, parts + [other[1][2]])


def segment_from_another_blob(path, header, parts, other):
    rewrite(path, header, [parts[0], other[1][1], parts[2]])


def another_blob_whole(path, header, parts, other):
    rewrite(path, *other)


def header_edited(path, header, parts, other):
    rewrite(path, header[:-1] + bytes([header[-1] ^ 1]), parts)


TAMPERING = [flip_byte, swap_segments, drop_last_segment, cut_last_segment_short, append_a_segment,
             segment_from_another_blob, header_edited]


def tamper_one_of_two(app, alice, tampering) -> tuple[str, str]:
    """Two blobs of alice's with the same layout; the first one is tampered with."""
    victim = uploaded_id(alice, "victim.bin", CONTENT)
    victim_path = the_blob(app)
    uploaded_id(alice, "other.bin", CONTENT[::-1])
    (other_path,) = [p for p in blob_paths(app) if p != victim_path]
    tampering(victim_path, *segments(victim_path), segments(other_path))
    return victim, victim_path


@pytest.mark.parametrize("tampering", TAMPERING, ids=lambda t: t.__name__)
def test_tampered_content_is_never_served(app, alice, tampering, caplog):
    victim, path = tamper_one_of_two(app, alice, tampering)
    caplog.set_level(logging.ERROR, "app.storage.encrypted")
    try:
        response = alice.get(f"/api/files/{victim}")
    except ContentTampered:
        return  # found while streaming: the connection is cut; no wrong byte went out first
    if response.status_code == 200:
        with pytest.raises(ContentTampered):  # found while streaming: the connection is cut
            response.get_data()
        response.close()
    else:
        assert response.status_code == 500
        assert response.get_json()["error"]["code"] == "storage_unavailable"
    assert "failed authentication" in caplog.text and os.path.basename(path) in caplog.text


@pytest.mark.parametrize("tampering", [flip_byte, segment_from_another_blob], ids=lambda t: t.__name__)
def test_tampering_in_the_middle_stops_the_stream_but_not_ranges_before_it(app, alice, tampering):
    victim, _ = tamper_one_of_two(app, alice, tampering)
    with pytest.raises(ContentTampered):  # raised by the body's iterator: the server cuts the connection
        fetch(alice, f"/api/files/{victim}")
    assert fetch(alice, f"/api/files/{victim}", Range="bytes=0-99")[1] == CONTENT[:100]


def test_tampering_at_the_start_is_a_500_before_any_byte(app, alice, caplog):
    victim, path = tamper_one_of_two(app, alice, swap_segments)
    response, _ = fetch(alice, f"/api/files/{victim}")
    assert response.status_code == 500 and response.get_json()["error"]["code"] == "storage_unavailable"
    assert "failed authentication" in caplog.text


def test_another_users_blob_put_in_place_of_mine_is_refused(app, alice):
    mine = uploaded_id(alice, "mine.bin", CONTENT)
    my_path = the_blob(app)
    bob = app.test_client()
    AuthActions(bob).signup("bob")
    uploaded_id(bob, "theirs.bin", CONTENT[::-1])
    uploads = app.config["UPLOAD_FOLDER"]
    (bobs_folder,) = [n for n in os.listdir(uploads) if not n.startswith(".") and n != os.path.basename(
        os.path.dirname(my_path))]
    (bobs_blob,) = os.listdir(os.path.join(uploads, bobs_folder))
    with open(os.path.join(uploads, bobs_folder, bobs_blob), "rb") as source, open(my_path, "wb") as target:
        target.write(source.read())
    response, _ = fetch(alice, f"/api/files/{mine}")
    assert response.status_code == 500


def test_a_wrapped_key_moved_to_another_user_does_not_open(tmp_path):
    master = os.urandom(32)
    storage = EncryptedBlobStorage(LocalBlobStorage(str(tmp_path)), LocalDataKeyStore(str(tmp_path)), master)
    storage.data_key("a" * 24, create=True)
    keys = LocalDataKeyStore(str(tmp_path))
    keys.create("b" * 24, keys.load("a" * 24))
    with pytest.raises(ContentTampered):
        EncryptedBlobStorage(storage.inner, keys, master).data_key("b" * 24)


# -- repair verifies through decryption -------------------------------------------------------

def test_repair_verify_hashes_the_plaintext_and_finds_tampering(app, alice):
    uploaded_id(alice)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["repair", "--verify"])
    assert result.exit_code == 0, result.output
    path = the_blob(app)
    flip_byte(path, *segments(path), None)
    result = runner.invoke(args=["repair", "--verify"])
    assert result.exit_code == 1 and "sha256_mismatch" in result.output


# -- one data key per user, whoever races -----------------------------------------------------

RACER = """
import sys, time
from app.storage.encrypted import EncryptedBlobStorage, LocalDataKeyStore
from app.storage.local import LocalBlobStorage
root, start = sys.argv[1], float(sys.argv[2])
storage = EncryptedBlobStorage(LocalBlobStorage(root), LocalDataKeyStore(root), bytes(range(32)))
time.sleep(max(0, start - time.time()))
print(storage.data_key("c" * 24, create=True).hex())
"""


def test_processes_racing_for_a_users_first_key_end_with_one_key(tmp_path):
    start = time.time() + 1.5
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(tmp_path), str(start)], stdout=subprocess.PIPE,
                               text=True, cwd=os.path.dirname(os.path.dirname(__file__))) for _ in range(6)]
    keys = {racer.communicate(timeout=60)[0].strip() for racer in racers}
    assert all(racer.returncode == 0 for racer in racers)
    assert len(keys) == 1 and len(next(iter(keys))) == 64
    assert os.listdir(tmp_path / ".keys") == ["c" * 24]  # no temp files left


# -- configuration ----------------------------------------------------------------------------

@pytest.mark.parametrize("value", [MASTER_KEY.hex(), base64.b64encode(MASTER_KEY).decode(),
                                   " " + MASTER_KEY.hex().upper() + "\n"])
def test_the_key_is_hex_or_base64(value):
    assert TestingConfig.load({"ENCRYPTION_KEY": value})["ENCRYPTION_KEY"] == MASTER_KEY


def test_the_key_may_be_in_a_file(tmp_path):
    for content in (MASTER_KEY, base64.b64encode(MASTER_KEY) + b"\n"):
        (tmp_path / "key").write_bytes(content)
        assert TestingConfig.load({"ENCRYPTION_KEY_FILE": str(tmp_path / "key")})["ENCRYPTION_KEY"] == MASTER_KEY


@pytest.mark.parametrize("environ,named", [
    ({"ENCRYPTION_KEY": "c2hvcnQ="}, "ENCRYPTION_KEY"),
    ({"ENCRYPTION_KEY": "zz" * 32}, "ENCRYPTION_KEY"),
    ({"ENCRYPTION_KEY_FILE": "/nonexistent/key"}, "ENCRYPTION_KEY_FILE"),
    ({"ENCRYPTION_KEY": MASTER_KEY.hex(), "ENCRYPTION_KEY_FILE": "/etc/hostname"}, "ENCRYPTION_KEY_FILE"),
])
def test_a_bad_key_setting_does_not_start_and_is_never_echoed(environ, named):
    with pytest.raises(ConfigError) as refused:
        TestingConfig.load(environ)
    assert named in str(refused.value)
    assert environ.get("ENCRYPTION_KEY", "@@") not in str(refused.value)


def test_without_a_key_the_storage_is_the_plain_backend(tmp_path, monkeypatch):
    monkeypatch.setattr(TestingConfig, "ENCRYPTION_KEY", None)
    settings = TestingConfig.load({})
    settings["UPLOAD_FOLDER"] = str(tmp_path)
    assert isinstance(storage_from_config(settings), LocalBlobStorage)


# -- rotation and sealing what was stored before ----------------------------------------------

def test_rotate_key_rewraps_user_keys_and_leaves_content_alone(app, alice, tmp_path):
    file_id = uploaded_id(alice)
    before = {p: read(p) for p in blob_paths(app)}
    new_key = os.urandom(32)
    (tmp_path / "new.key").write_text(base64.b64encode(new_key).decode())
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rotate-key", "--new-key-file", str(tmp_path / "new.key")])
    assert result.exit_code == 0, result.output
    assert "1 data key(s) rewrapped" in result.output
    assert {p: read(p) for p in blob_paths(app)} == before
    (tmp_path / "old.key").write_bytes(MASTER_KEY)
    again = runner.invoke(args=["rotate-key", "--old-key-file", str(tmp_path / "old.key"),
                                "--new-key-file", str(tmp_path / "new.key")])
    assert again.exit_code == 0 and "1 already" in again.output  # an interrupted rotation is run again
    back = runner.invoke(args=["rotate-key", "--old-key-file", str(tmp_path / "old.key"),
                               "--new-key-file", str(tmp_path / "old.key")])
    assert back.exit_code == 1 and "another master key" in back.output  # the old key no longer opens them
    settings = dict(app.config, ENCRYPTION_KEY=new_key)
    with app.app_context():
        rotated = storage_from_config(settings)
        blob = services().repair.blobs.all_records()[0]
    with rotated.open(blob["owner_id"], blob["storage_key"]) as opened:
        assert opened.file.read() == CONTENT
    stale = storage_from_config(app.config)  # a worker still started with the old key
    with pytest.raises(WrongMasterKey):
        stale.data_key(blob["owner_id"])
    assert fetch(alice, f"/api/files/{file_id}")[1] == CONTENT  # running workers keep their data keys


def test_encrypt_existing_seals_plaintext_content_in_place_resumably(app, monkeypatch):
    with app.app_context():  # a drive used before encryption was turned on
        blob_store = services().drive.blobs
    monkeypatch.setattr(blob_store, "storage", blob_store.storage.inner)
    plain = app.test_client()
    AuthActions(plain).signup("carol")
    first = uploaded_id(plain, "old.bin", CONTENT)
    uploaded_id(plain, "older.txt", b"older")
    monkeypatch.undo()
    paths = blob_paths(app)
    assert any(b"plaintext-marker" in read(p) for p in paths)
    client = app.test_client()
    AuthActions(client).login("carol")
    assert fetch(client, f"/api/files/{first}")[1] == CONTENT  # plaintext still served meanwhile
    result = app.test_cli_runner().invoke(args=["encrypt-existing"])
    assert result.exit_code == 0, result.output
    assert "2 blob(s) sealed" in result.output
    for path in blob_paths(app):
        assert b"plaintext-marker" not in read(path)
    assert not set(paths) & set(blob_paths(app))
    assert fetch(client, f"/api/files/{first}")[1] == CONTENT
    assert "0 blob(s) sealed" in app.test_cli_runner().invoke(args=["encrypt-existing"]).output
    assert app.test_cli_runner().invoke(args=["repair", "--verify"]).exit_code == 0


def test_plaintext_is_refused_once_serving_it_is_turned_off(tmp_path):
    inner = LocalBlobStorage(str(tmp_path))
    staged = inner.stage("d" * 24, UploadBudget(None))
    staged.write(b"old plaintext")
    key = inner.commit(staged, "d" * 24)
    serving = EncryptedBlobStorage(inner, LocalDataKeyStore(inner.root), MASTER_KEY)
    with serving.open("d" * 24, key) as opened:
        assert opened.file.read() == b"old plaintext"
    strict = EncryptedBlobStorage(inner, LocalDataKeyStore(inner.root), MASTER_KEY, serve_plaintext=False)
    with pytest.raises(ContentTampered):
        strict.open("d" * 24, key)


# -- on S3: data keys are objects, created once whoever races ---------------------------------

@pytest.fixture
def sealed_s3(s3_server, s3_bucket) -> EncryptedBlobStorage:
    """The S3 backend on a bucket of its own, sealed, built from the configuration as at start-up
    (which refused the combination before S3 kept data keys)."""
    settings = TestingConfig.load(s3_server.env(s3_bucket, S3_PREFIX="drive", ENCRYPTION_KEY=MASTER_KEY.hex()))
    storage = storage_from_config(settings)
    assert isinstance(storage, EncryptedBlobStorage) and isinstance(storage.keys, S3DataKeyStore)
    return storage


def put_sealed(storage, data: bytes, owner: str = "a" * 24) -> str:
    staged = storage.stage(owner, UploadBudget(None))
    staged.append([data])
    return storage.commit(staged, owner)


def test_s3_round_trip_with_ranges_and_no_plaintext_in_the_bucket(sealed_s3):
    key = put_sealed(sealed_s3, CONTENT)
    with sealed_s3.open("a" * 24, key) as opened:
        assert isinstance(opened, ByteStream) and opened.size == len(CONTENT)
        assert opened.file.read() == CONTENT  # ranges: tests/test_storage_backends.py, s3-encrypted
    s3 = sealed_s3.inner
    stored = s3.client.get_object(Bucket=s3.bucket, Key=f"drive/{'a' * 24}/{key}")["Body"].read()
    assert b"plaintext-marker" not in stored and len(stored) == HEADER_SIZE + len(CONTENT) + 3 * TAG_SIZE
    assert sealed_s3.sha256_of("a" * 24, key) == hashlib.sha256(CONTENT).hexdigest()
    assert sealed_s3.signed_url("a" * 24, key, content_type="text/plain", disposition="attachment") is None


def test_s3_key_objects_are_never_listed_as_orphans_and_rotate(sealed_s3):
    key = put_sealed(sealed_s3, b"x")
    s3 = sealed_s3.inner
    names = sorted(o["Key"] for o in s3.objects_below("drive/"))
    assert names == sorted([f"drive/{'a' * 24}/{key}", f"drive/.keys/{'a' * 24}", "drive/.keys/.conditional-put-probe"])
    entries, anomalies = sealed_s3.inventory()
    assert [(e.owner_id, e.name, e.size, e.staging) for e in entries] == [("a" * 24, key, 1, False)] and not anomalies
    assert sealed_s3.keys.users() == ["a" * 24]
    new_key = os.urandom(32)
    assert list(sealed_s3.rotate(new_key)) == [("a" * 24, "rewrapped")]
    rotated = EncryptedBlobStorage(s3, s3.data_key_store(), new_key)
    with rotated.open("a" * 24, key) as opened:
        assert opened.file.read() == b"x"


S3_RACER = """
import json, sys, time
from app.storage import storage_from_config
from config import TestingConfig
env, start = json.loads(sys.argv[1]), float(sys.argv[2])
storage = storage_from_config(TestingConfig.load(env))
storage.inner.client  # connected before the start
time.sleep(max(0, start - time.time()))
print(storage.data_key("c" * 24, create=True).hex())
"""


def test_s3_processes_racing_for_a_users_first_key_end_with_one_key(s3_server, s3_bucket):
    """Conditional PutObject: one racer's record is kept, the others read it back and use it."""
    env = json.dumps(s3_server.env(s3_bucket, S3_PREFIX="drive", ENCRYPTION_KEY=MASTER_KEY.hex()))
    start = time.time() + 4
    racers = [subprocess.Popen([sys.executable, "-c", S3_RACER, env, str(start)], stdout=subprocess.PIPE,
                               text=True, cwd=os.path.dirname(os.path.dirname(__file__))) for _ in range(6)]
    keys = {racer.communicate(timeout=60)[0].strip() for racer in racers}
    assert all(racer.returncode == 0 for racer in racers)
    assert len(keys) == 1 and len(next(iter(keys))) == 64


def test_s3_a_store_ignoring_conditional_puts_is_refused(sealed_s3, monkeypatch, caplog):
    client = sealed_s3.inner.client
    put_object = client.put_object
    monkeypatch.setattr(client, "put_object", lambda IfNoneMatch=None, **kwargs: put_object(**kwargs))
    with pytest.raises(StorageUnavailable):
        sealed_s3.data_key("a" * 24, create=True)
    assert "ignores conditional puts" in caplog.text
    assert sealed_s3.keys.users() == []


def object_as_file(s3, key: str, path) -> str:
    path.write_bytes(s3.client.get_object(Bucket=s3.bucket, Key=key)["Body"].read())
    return str(path)


@pytest.mark.parametrize("tampering", [flip_byte, swap_segments, drop_last_segment, segment_from_another_blob,
                                       another_blob_whole], ids=lambda t: t.__name__)
def test_s3_tampered_objects_are_never_served(sealed_s3, tampering, tmp_path, caplog):
    """Bytes changed, reordered, cut short, or another user's object put in place of mine."""
    s3, owner = sealed_s3.inner, "a" * 24
    other_owner = "b" * 24 if tampering is another_blob_whole else owner
    victim, other = put_sealed(sealed_s3, CONTENT), put_sealed(sealed_s3, CONTENT[::-1], other_owner)
    victim_path = object_as_file(s3, f"drive/{owner}/{victim}", tmp_path / "victim")
    other_path = object_as_file(s3, f"drive/{other_owner}/{other}", tmp_path / "other")
    tampering(victim_path, *segments(victim_path), segments(other_path))
    s3.client.put_object(Bucket=s3.bucket, Key=f"drive/{owner}/{victim}", Body=read(victim_path))
    with pytest.raises(ContentTampered):
        with sealed_s3.open(owner, victim) as opened:
            opened.file.read()
    assert "failed authentication" in caplog.text
    assert sealed_s3.sha256_of(owner, victim) == ""  # repair --verify reports it
