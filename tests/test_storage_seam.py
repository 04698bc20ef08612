"""The storage seam: a backend chosen by STORAGE_BACKEND, staging fed from any byte stream,
and serving whatever the backend hands out (a local file, a stream, a signed redirect)."""
from __future__ import annotations

import hashlib
import io
import os
import zipfile

import mongomock
import pytest

from app import create_app
from app.db import close_database
from app.errors import QuotaExceeded
from app.storage import (BACKENDS, ByteStream, LocalBlobStorage, LocalFile, UploadBudget, storage_from_config)
from config import STORAGE_BACKENDS, ConfigError, TestingConfig, load_config
from tests.conftest import upload

ALICE = "a" * 24
BODY = b"".join(bytes([n]) * 1000 for n in range(40))  # 40,000 bytes, no two kilobytes alike


@pytest.fixture
def storage(tmp_path) -> LocalBlobStorage:
    return LocalBlobStorage(str(tmp_path / "uploads"))


def stored_bytes(storage, key: str) -> bytes:
    with storage.open(ALICE, key) as blob:
        return blob.file.read()


def chunks(data: bytes, size: int = 4096):
    return (data[i:i + size] for i in range(0, len(data), size))


# -- staging from any byte stream -----------------------------------------------------------

def test_staging_takes_a_plain_iterator_of_chunks(storage):
    staged = storage.stage(ALICE, UploadBudget(None))
    assert staged.append(chunks(BODY)) == len(BODY)
    assert (staged.size, staged.sha256) == (len(BODY), hashlib.sha256(BODY).hexdigest())
    assert stored_bytes(storage, storage.commit(staged, ALICE)) == BODY


def test_staging_takes_a_readable_stream_such_as_a_raw_request_body(storage):
    staged = storage.stage(ALICE, UploadBudget(None))
    assert staged.append(io.BytesIO(BODY), chunk_size=999) == len(BODY)
    assert stored_bytes(storage, storage.commit(staged, ALICE)) == BODY


def test_two_separate_appends_make_one_blob(storage):
    staged = storage.stage(ALICE, UploadBudget(None))
    staged.append(chunks(BODY[:12345]))
    staged.sync()
    staged.append([BODY[12345:]])
    assert staged.sha256 == hashlib.sha256(BODY).hexdigest()
    assert stored_bytes(storage, storage.commit(staged, ALICE)) == BODY


def test_staged_bytes_kept_by_one_request_are_resumed_by_another(storage):
    """A resumable upload: each PATCH appends to what the last one kept, in a new process."""
    first = storage.stage(ALICE, UploadBudget(None))
    first.append(chunks(BODY[:20000]))
    staging_id = first.keep()
    again = LocalBlobStorage(storage.root).resume(ALICE, staging_id, UploadBudget(None))
    assert again.size == 20000
    again.append(chunks(BODY[20000:]))
    assert again.sha256 == hashlib.sha256(BODY).hexdigest()
    assert stored_bytes(storage, storage.commit(again, ALICE)) == BODY
    with pytest.raises(FileNotFoundError):
        storage.resume(ALICE, staging_id, UploadBudget(None))  # committed: nothing left to resume


def test_an_upload_resumed_chunk_by_chunk_hashes_each_byte_once(storage, monkeypatch):
    """A 4 GB tus upload in 5 MB PATCHes resumes 800 times: re-hashing what earlier requests
    sent on every resume made it cost n² reads. Its bytes are hashed once, at the end, and a
    resume at an earlier offset cuts off what was not acknowledged."""
    hashed, real_sha256 = [], hashlib.sha256

    class CountingSha256:
        def __init__(self, data=b""):
            self._digest = real_sha256(data)
            hashed.append(len(data))

        def update(self, data):
            hashed.append(len(data))
            self._digest.update(data)

        def hexdigest(self):
            return self._digest.hexdigest()

    monkeypatch.setattr("app.storage.base.hashlib.sha256", CountingSha256)
    staging_id = storage.stage(ALICE, UploadBudget(None)).keep()
    acknowledged = 0
    for piece in chunks(BODY, 1000):  # 40 requests of 1,000 bytes, each in a "new process"
        staged = LocalBlobStorage(storage.root).resume_at(ALICE, staging_id, acknowledged, UploadBudget(None))
        staged.append([piece + b"unacknowledged tail"])  # cut off by the next resume
        staged.keep()
        acknowledged += len(piece)
    last = storage.resume_at(ALICE, staging_id, acknowledged, UploadBudget(None))
    assert last.size == len(BODY)
    assert last.sha256 == real_sha256(BODY).hexdigest()
    assert last.md5 == hashlib.md5(BODY).hexdigest()  # in the same pass
    assert sum(hashed) == len(BODY)  # was 40 times more: every resume re-read what came before
    assert stored_bytes(storage, storage.commit(last, ALICE)) == BODY


def test_kept_staging_is_on_disk_and_listed_as_staging_until_committed(storage):
    staged = storage.stage(ALICE, UploadBudget(None))
    staged.append([BODY])
    staged.keep()
    entries, anomalies = storage.inventory()
    assert [(e.owner_id, e.size, e.staging) for e in entries] == [(ALICE, len(BODY), True)] and anomalies == []


def test_every_append_is_charged_against_the_budget(storage):
    staged = storage.stage(ALICE, UploadBudget(15000))
    staged.append([BODY[:10000]])
    with pytest.raises(QuotaExceeded):
        staged.append(chunks(BODY[10000:]))
    staged.discard()
    assert storage.inventory() == ([], [])


def test_resuming_unknown_or_forged_staging_is_refused(storage, tmp_path):
    storage.stage(ALICE, UploadBudget(None)).keep()
    with pytest.raises(FileNotFoundError):
        storage.resume(ALICE, "0" * 32, UploadBudget(None))
    with pytest.raises(ValueError):
        storage.resume(ALICE, "../../etc/passwd", UploadBudget(None))


def test_resuming_staging_swapped_for_a_link_is_refused(storage, tmp_path):
    staged = storage.stage(ALICE, UploadBudget(None))
    staged.append([b"mine"])
    staging_id = staged.keep()
    (tmp_path / "secret").write_bytes(b"not yours")
    path = os.path.join(storage.root, ALICE, f".staging-{staging_id}")
    os.unlink(path)
    os.symlink(tmp_path / "secret", path)
    with pytest.raises(FileNotFoundError):
        storage.resume(ALICE, staging_id, UploadBudget(None))


# -- the backend chosen by configuration -------------------------------------------------------

def test_the_local_backend_is_the_default_and_is_registered_by_name(tmp_path):
    settings = load_config({"APP_ENV": "testing", "UPLOAD_FOLDER": str(tmp_path)})
    assert settings["STORAGE_BACKEND"] == "local"
    assert isinstance(storage_from_config(settings), LocalBlobStorage)
    assert set(BACKENDS) == set(STORAGE_BACKENDS)


@pytest.mark.parametrize("value", ["ftp", "nfs", "LOCAL/"])
def test_an_unknown_storage_backend_does_not_start(value, tmp_path):
    with pytest.raises(ConfigError, match="STORAGE_BACKEND"):
        load_config({"STORAGE_BACKEND": value})
    with pytest.raises(ConfigError, match="STORAGE_BACKEND"):
        storage_from_config({"STORAGE_BACKEND": value, "UPLOAD_FOLDER": str(tmp_path)})


def test_local_storage_serves_a_local_file_and_has_paths(storage):
    staged = storage.stage(ALICE, UploadBudget(None))
    staged.append([BODY])
    key = storage.commit(staged, ALICE)
    with storage.open(ALICE, key) as blob:
        assert isinstance(blob, LocalFile) and blob.size == len(BODY) and blob.file.fileno() >= 0
    assert storage.path(ALICE, key) == os.path.join(storage.root, ALICE, key)
    assert storage.signed_url(ALICE, key, content_type="text/plain", disposition="attachment") is None


# -- serving what a backend hands out ----------------------------------------------------------

class _Remote(io.RawIOBase):
    """A seekable reader without a file descriptor, as an object store's ranged GETs are."""

    def __init__(self, data: bytes):
        self._data, self._pos = data, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = offset if whence == 0 else self._pos + offset if whence == 1 else len(self._data) + offset
        return self._pos

    def readinto(self, buffer) -> int:
        piece = self._data[self._pos:self._pos + len(buffer)]
        buffer[:len(piece)] = piece
        self._pos += len(piece)
        return len(piece)


class RemoteLikeStorage(LocalBlobStorage):
    """Local bytes, served as a remote backend would: a stream, or a signed redirect."""

    name = "remote-like"
    redirect = False

    def open(self, user_id, key):
        with super().open(user_id, key) as local:
            return ByteStream(io.BufferedReader(_Remote(local.file.read())), local.size)

    def signed_url(self, user_id, key, *, content_type, disposition):
        return f"https://objects.example/{key}?signature=x" if self.redirect else None


@pytest.fixture
def remote_app(tmp_path, monkeypatch):
    monkeypatch.setitem(BACKENDS, RemoteLikeStorage.name, RemoteLikeStorage)
    settings = TestingConfig.load({})
    settings.update(UPLOAD_FOLDER=str(tmp_path / "uploads"), INSTANCE_PATH=str(tmp_path / "instance"),
                    STORAGE_BACKEND=RemoteLikeStorage.name,
                    MONGO_CLIENT_FACTORY=lambda: mongomock.MongoClient(tz_aware=True))
    application = create_app(settings)
    yield application
    close_database(application)


@pytest.fixture
def remote_file(remote_app):
    client = remote_app.test_client()
    for step in ("register", "login"):
        assert client.post(f"/api/{step}", json={"username": "alice", "password": "correct horse"}).status_code < 300
    record = upload(client, ("notes.txt", BODY, "text/plain")).get_json()["files"][0]
    return client, record


def test_a_stream_is_served_whole_with_its_validators(remote_file):
    client, record = remote_file
    response = client.get(f"/api/files/{record['id']}")
    assert response.status_code == 200 and response.get_data() == BODY
    assert response.headers["Content-Length"] == str(len(BODY)) and response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    etag = response.headers["ETag"]
    assert client.get(f"/api/files/{record['id']}", headers={"If-None-Match": etag}).status_code == 304


def test_a_stream_serves_only_the_range_asked_for(remote_file):
    client, record = remote_file
    response = client.get(f"/api/files/{record['id']}", headers={"Range": "bytes=12345-12999"})
    assert response.status_code == 206 and response.get_data() == BODY[12345:13000]
    assert response.headers["Content-Range"] == f"bytes 12345-12999/{len(BODY)}"
    assert client.get(f"/api/files/{record['id']}", headers={"Range": "bytes=99999-"}).status_code == 416


def test_a_shared_folder_zip_reads_its_files_through_the_storage(remote_file):
    client, record = remote_file
    folder = client.post("/api/folders", json={"name": "Box"}).get_json()["id"]
    assert upload(client, ("inside.txt", BODY[::-1]), query=f"?folder_id={folder}").status_code == 201
    token = client.post("/api/shares", json={"item_id": folder}).get_json()["token"]
    archive = zipfile.ZipFile(io.BytesIO(client.application.test_client().get(f"/s/{token}/zip").get_data()))
    assert archive.read("Box/inside.txt") == BODY[::-1]


def test_an_owners_download_may_be_a_signed_redirect_but_previews_and_links_never_are(remote_app, remote_file):
    client, record = remote_file
    RemoteLikeStorage.redirect = True
    try:
        response = client.get(f"/api/files/{record['id']}")
        assert response.status_code == 302 and response.headers["Location"].startswith("https://objects.example/")
        assert response.headers["Cache-Control"] == "private, no-store"
        assert client.get(f"/api/files/{record['id']}/preview").get_data() == BODY
        token = client.post("/api/shares", json={"item_id": record["id"]}).get_json()["token"]
        assert remote_app.test_client().get(f"/s/{token}/download").get_data() == BODY
    finally:
        RemoteLikeStorage.redirect = False
