"""One storage contract, run on every backend: the local disk, and S3 on a real SeaweedFS
(tests/s3_server.py). What a service relies on must hold on both."""
from __future__ import annotations

import hashlib
import io
import os

import pytest

from app.errors import QuotaExceeded
from app.storage import ByteStream, UploadBudget, storage_from_config
from app.storage.encrypted import EncryptingStagedBlob
from app.storage.s3 import PART_SIZE, S3BlobStorage
from config import ConfigError, load_config
from tests.s3_server import s3_bucket, s3_server  # noqa: F401 - fixtures

ALICE, BOB = "a" * 24, "b" * 24
MASTER_KEY = bytes(range(32))
SMALL = b"".join(bytes([n]) * 1000 for n in range(40))  # 40,000 bytes, under one part
LARGE = os.urandom(2 * PART_SIZE + 12345)  # three parts on S3, the last one short


@pytest.fixture(params=["local", "s3", "local-encrypted", "s3-encrypted"])
def storage(request, tmp_path):
    """Each backend, plain and sealed by encryption at rest (ENCRYPTION_KEY)."""
    backend, _, encrypted = request.param.partition("-")
    env = {"ENCRYPTION_KEY": MASTER_KEY.hex()} if encrypted else {}
    if backend == "local":
        env |= {"UPLOAD_FOLDER": str(tmp_path / "uploads")}
    else:
        server = request.getfixturevalue("s3_server")
        env |= server.env(request.getfixturevalue("s3_bucket"), S3_PREFIX="drive")
    return storage_from_config(load_config({"APP_ENV": "testing", **env}))


def chunks(data: bytes, size: int = 64 * 1024):
    return (data[i:i + size] for i in range(0, len(data), size))


def read_all(storage, owner: str, key: str) -> bytes:
    with storage.open(owner, key) as blob:
        assert blob.size == storage.size_of(owner, key)
        return blob.file.read()


def read_range(storage, owner: str, key: str, start: int, length: int) -> bytes:
    with storage.open(owner, key) as blob:
        blob.file.seek(start)
        data = b""
        while len(data) < length and (piece := blob.file.read(length - len(data))):
            data += piece
        return data


def stored(storage) -> list[tuple]:
    entries, anomalies = storage.inventory()
    assert anomalies == []
    return sorted((e.owner_id, e.name, e.size, e.staging) for e in entries)


def sync(staged) -> None:
    """Make what was received durable, where staging offers it (sealed staging does not:
    encryption at rest keeps no resumable uploads)."""
    if not isinstance(staged, EncryptingStagedBlob):
        staged.sync()


def abandon(staged) -> None:
    """Let staged bytes go without committing or discarding them, as a killed worker does
    (sealed staging leaves the backend's own staging behind)."""
    staged = getattr(staged, "inner", staged)
    staged.sync()
    try:
        staged.keep()
    except NotImplementedError:
        pass  # S3: the multipart upload simply stays open


def commit_bytes(storage, data: bytes, owner: str = ALICE) -> str:
    staged = storage.stage(owner, UploadBudget(None))
    staged.append(chunks(data))
    return storage.commit(staged, owner)


@pytest.mark.parametrize("body", [b"", SMALL, LARGE], ids=["empty", "small", "multipart"])
def test_staged_chunks_are_hashed_committed_and_read_back_whole(storage, body):
    staged = storage.stage(ALICE, UploadBudget(None))
    assert staged.append(chunks(body)) == len(body)
    assert (staged.size, staged.sha256) == (len(body), hashlib.sha256(body).hexdigest())
    key = storage.commit(staged, ALICE)
    assert read_all(storage, ALICE, key) == body
    assert storage.sha256_of(ALICE, key) == hashlib.sha256(body).hexdigest()
    staged.discard()  # after commit: nothing happens
    assert stored(storage) == [(ALICE, key, len(body), False)]


def test_a_readable_stream_and_separate_appends_make_one_blob(storage):
    staged = storage.stage(ALICE, UploadBudget(None))
    staged.append(io.BytesIO(LARGE[:PART_SIZE + 7]), chunk_size=999_999)
    sync(staged)
    staged.append([LARGE[PART_SIZE + 7:]])
    assert staged.sha256 == hashlib.sha256(LARGE).hexdigest()
    assert read_all(storage, ALICE, storage.commit(staged, ALICE)) == LARGE


def test_ranges_read_only_what_they_ask_for(storage):
    key = commit_bytes(storage, LARGE)
    for start, length in ((0, 10), (PART_SIZE - 5, 10), (len(LARGE) - 3, 3), (12345, 2 * PART_SIZE)):
        assert read_range(storage, ALICE, key, start, length) == LARGE[start:start + length]
    with storage.open(ALICE, key) as blob:  # back and forth on one opened blob
        blob.file.seek(100)
        assert blob.file.read(5) == LARGE[100:105]
        blob.file.seek(3)
        assert blob.file.read(5) == LARGE[3:8]
        blob.file.seek(0, io.SEEK_END)
        assert blob.file.read(5) == b""


def test_staging_for_an_owner_known_only_later_is_committed_as_theirs(storage):
    staged = storage.stage(None, UploadBudget(None))
    staged.append(chunks(LARGE))
    key = storage.commit(staged, BOB)
    assert read_all(storage, BOB, key) == LARGE
    assert stored(storage) == [(BOB, key, len(LARGE), False)]


def test_deleted_blobs_are_gone_and_deleting_twice_is_fine(storage):
    key = commit_bytes(storage, SMALL)
    storage.delete(ALICE, key)
    storage.delete(ALICE, key)
    assert storage.size_of(ALICE, key) is None
    with pytest.raises(FileNotFoundError):
        storage.open(ALICE, key)
    assert stored(storage) == []


def test_discarding_staged_bytes_leaves_nothing(storage):
    staged = storage.stage(ALICE, UploadBudget(None))
    staged.append(chunks(LARGE))  # on S3: parts already uploaded
    staged.discard()
    staged.discard()
    assert stored(storage) == []
    assert storage.sweep_staging(0) == 0


def test_an_upload_over_budget_is_refused_and_discarded(storage):
    staged = storage.stage(ALICE, UploadBudget(PART_SIZE + 100))
    with pytest.raises(QuotaExceeded):
        staged.append(chunks(LARGE))
    staged.discard()
    assert stored(storage) == []


def test_abandoned_staging_is_listed_then_swept(storage):
    """A worker killed mid-upload neither commits nor discards: the bytes stay as staging."""
    staged = storage.stage(ALICE, UploadBudget(None))
    staged.append(chunks(LARGE))
    abandon(staged)
    entries, _ = storage.inventory()
    assert [(e.owner_id, e.staging) for e in entries] == [(ALICE, True)]
    assert storage.sweep_staging() == 0  # young: an upload may still be running
    assert storage.sweep_staging(-5) == 1
    assert stored(storage) == []


def test_repair_removes_a_listed_entry_of_either_kind(storage):
    key = commit_bytes(storage, SMALL)
    abandoned = storage.stage(BOB, UploadBudget(None))
    abandoned.append(chunks(LARGE))
    abandon(abandoned)
    for entry in storage.inventory()[0]:
        storage.remove_entry(entry)
    assert stored(storage) == [] and storage.size_of(ALICE, key) is None


def test_keys_are_checked_not_trusted(storage):
    for owner, key in ((ALICE, "../" + "0" * 32), ("../etc", "0" * 32), (ALICE, "0" * 32 + "/x")):
        with pytest.raises(ValueError):
            storage.open(owner, key)


# -- S3 only ------------------------------------------------------------------------------------

@pytest.fixture
def s3(storage) -> S3BlobStorage:
    if not isinstance(storage, S3BlobStorage):
        pytest.skip("S3 only")
    return storage


@pytest.mark.parametrize("storage", ["s3"], indirect=True)
def test_s3_objects_are_prefix_owner_key_and_parts_carry_checksums(s3):
    key = commit_bytes(s3, LARGE)
    head = s3.client.head_object(Bucket=s3.bucket, Key=f"drive/{ALICE}/{key}", ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(LARGE)
    assert head.get("ChecksumSHA256")  # a checksum of the parts' SHA-256s, checked by the server
    with s3.open(ALICE, key) as blob:
        assert isinstance(blob, ByteStream)
        with pytest.raises((OSError, AttributeError)):
            blob.file.fileno()


def another_instance(storage):
    """The same storage as another worker or app server would open it (nothing shared in memory)."""
    if isinstance(storage, S3BlobStorage):
        args = storage._client_args
        return S3BlobStorage(storage.bucket, prefix=storage.prefix, endpoint_url=args["endpoint_url"],
                             region=args["region_name"], access_key_id=args["aws_access_key_id"],
                             secret_access_key=args["aws_secret_access_key"])
    return type(storage)(storage.root)


@pytest.mark.parametrize("storage", ["local", "s3"], indirect=True)
def test_resumable_staging_continues_anywhere_and_keeps_only_what_was_acknowledged(storage):
    """A tus upload's staging: kept by one request, continued by the next on another instance
    (another worker or node), over part boundaries; a request refused after sending bytes
    (a checksum mismatch: parts already gone to S3) leaves nothing of them in the file."""
    body = LARGE
    staging_id = storage.stage(ALICE, UploadBudget(None)).keep()
    acknowledged, instances = 0, [storage, another_instance(storage)]
    for n, end in enumerate([3 * 1024 * 1024, PART_SIZE + 5 * 1024 * 1024, 2 * PART_SIZE + 100, len(body)]):
        refused = instances[n % 2].resume_at(ALICE, staging_id, acknowledged, UploadBudget(None))
        refused.append(chunks(os.urandom(PART_SIZE + 10)))  # a full part of bytes never acknowledged
        refused.keep()
        staged = instances[(n + 1) % 2].resume_at(ALICE, staging_id, acknowledged, UploadBudget(None))
        assert staged.size == acknowledged
        staged.append(chunks(body[acknowledged:end]))
        staged.sync()  # durable: now the offset may be reported
        acknowledged = end
        staged.keep()
    with pytest.raises(FileNotFoundError):
        storage.resume_at(ALICE, staging_id, len(body) + 1, UploadBudget(None))
    last = another_instance(storage).resume_at(ALICE, staging_id, len(body), UploadBudget(None))
    assert (last.size, last.sha256) == (len(body), hashlib.sha256(body).hexdigest())
    key = storage.commit(last, ALICE)
    with storage.open(ALICE, key) as blob:
        assert blob.file.read() == body
    assert stored(storage) == [(ALICE, key, len(body), False)]  # no staging, no open upload left
    if isinstance(storage, S3BlobStorage):
        assert storage.manifests(ALICE, staging_id) == []


@pytest.mark.parametrize("storage", ["local", "s3"], indirect=True)
@pytest.mark.parametrize("size", [100, PART_SIZE + 100], ids=["small", "parts"])
def test_kept_staging_is_discarded_whole_and_a_small_one_is_committed_whole(storage, size):
    body = os.urandom(size)
    staging_id = storage.stage(ALICE, UploadBudget(None)).keep()
    staged = storage.resume_at(ALICE, staging_id, 0, UploadBudget(None))
    staged.append(chunks(body))
    staged.sync()
    staged.keep()
    another_instance(storage).resume(ALICE, staging_id, UploadBudget(None)).discard()
    assert stored(storage) == []
    with pytest.raises(FileNotFoundError):
        storage.resume(ALICE, staging_id, UploadBudget(None))
    staging_id = storage.stage(ALICE, UploadBudget(None)).keep()
    staged = storage.resume_at(ALICE, staging_id, 0, UploadBudget(None))
    staged.append(chunks(body))
    staged.sync()
    staged.keep()
    again = another_instance(storage).resume_at(ALICE, staging_id, size, UploadBudget(None))
    assert again.sha256 == hashlib.sha256(body).hexdigest()
    again.discard()  # refused after hashing (dedup, quota): nothing stays
    assert stored(storage) == []


@pytest.mark.parametrize("storage", ["s3"], indirect=True)
def test_s3_presigned_urls_only_when_configured(s3, s3_server):
    import requests
    key = commit_bytes(s3, SMALL)
    assert s3.signed_url(ALICE, key, content_type="text/plain", disposition="attachment") is None
    s3.presigned_downloads = True
    url = s3.signed_url(ALICE, key, content_type="text/plain", disposition='attachment; filename="a.txt"')
    response = requests.get(url, timeout=10)
    assert response.status_code == 200 and response.content == SMALL
    assert response.headers["Content-Disposition"] == 'attachment; filename="a.txt"'
    assert response.headers["Content-Type"] == "text/plain"


@pytest.mark.parametrize("missing", ["S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"])
def test_s3_without_bucket_or_keys_does_not_start(missing):
    env = {"STORAGE_BACKEND": "s3", "S3_BUCKET": "b", "S3_ACCESS_KEY_ID": "k", "S3_SECRET_ACCESS_KEY": "s"}
    del env[missing]
    with pytest.raises(ConfigError, match=missing):
        load_config(env)
    with pytest.raises(ConfigError, match=missing):
        storage_from_config({k: v for k, v in env.items() if k != "STORAGE_BACKEND"} | {"STORAGE_BACKEND": "s3"})


def test_s3_settings_are_read_and_the_prefix_is_a_folder():
    settings = load_config({"STORAGE_BACKEND": "s3", "S3_BUCKET": "b", "S3_ACCESS_KEY_ID": "k",
                            "S3_SECRET_ACCESS_KEY": "s", "S3_PREFIX": "/drive", "S3_PRESIGNED_DOWNLOADS": "true",
                            "S3_ENDPOINT_URL": "http://127.0.0.1:9"})
    storage = storage_from_config(settings)
    assert isinstance(storage, S3BlobStorage)
    assert (storage.bucket, storage.prefix, storage.presigned_downloads) == ("b", "drive/", True)
    assert load_config({})["S3_PRESIGNED_DOWNLOADS"] is False


@pytest.mark.parametrize("storage", ["s3"], indirect=True)
def test_a_part_that_fails_mid_chunk_leaves_the_upload_at_its_last_durable_offset(storage, monkeypatch):
    """A transient S3 error on one part of a chunk sent without a checksum: the bytes counted
    so far are not all stored, so the staging refuses to call them durable (sync raises, and
    the service keeps the offset where it was); the upload continues from there afterwards."""
    from botocore.exceptions import ClientError
    from app.storage.s3 import ObjectStoreUnavailable
    body = os.urandom(3 * PART_SIZE + 777)
    staging_id = storage.stage(ALICE, UploadBudget(None)).keep()
    first = storage.resume_at(ALICE, staging_id, 0, UploadBudget(None))
    first.append(chunks(body[:3 * 1024 * 1024]))
    first.sync()
    first.keep()
    staged = storage.resume_at(ALICE, staging_id, 3 * 1024 * 1024, UploadBudget(None))

    def failing_part(**kwargs):
        raise ClientError({"Error": {"Code": "InternalError", "Message": "try again"}}, "UploadPart")
    monkeypatch.setattr(storage.client, "upload_part", failing_part)
    with pytest.raises(ObjectStoreUnavailable):
        staged.append(chunks(body[3 * 1024 * 1024:]))
        staged.sync()
    with pytest.raises(ObjectStoreUnavailable):
        staged.sync()  # still not durable, however often it is asked
    staged.keep()
    monkeypatch.undo()
    again = storage.resume_at(ALICE, staging_id, 3 * 1024 * 1024, UploadBudget(None))
    again.append(chunks(body[3 * 1024 * 1024:]))
    again.sync()
    again.keep()
    last = storage.resume_at(ALICE, staging_id, len(body), UploadBudget(None))
    assert last.sha256 == hashlib.sha256(body).hexdigest()
    key = storage.commit(last, ALICE)
    with storage.open(ALICE, key) as blob:
        assert blob.file.read() == body
    assert stored(storage) == [(ALICE, key, len(body), False)]
