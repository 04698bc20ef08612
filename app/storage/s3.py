"""Blobs in an S3 bucket (AWS, SeaweedFS, MinIO...), through boto3: ``STORAGE_BACKEND=s3``.

Objects are ``<S3_PREFIX><user_id>/<key>``, both parts server-generated hex (as on the local
backend). Bytes stream in without a local copy: a staged blob is hashed as it arrives and sent
as a multipart upload, directly under its final (random, not yet recorded) key, in parts of
:data:`PART_SIZE` each checked by S3 against its own SHA-256, at most :data:`PARTS_IN_FLIGHT`
at a time, so an upload holds a few parts of memory whatever its size. A blob smaller than one
part is one ``PutObject`` at commit. ``commit`` completes the upload (S3 acknowledges only
durable objects), and only then is the record written; ``discard`` aborts it, so a refused or
cut-off upload leaves nothing, and what a killed worker leaves (an open multipart upload) is
listed by the inventory and aborted by the staging sweep.

Staging whose owner is not known yet goes under ``<S3_PREFIX>.incoming/`` and is copied into
place at commit.

Resumable staging (tus, :meth:`S3StagedBlob.keep` / :meth:`S3BlobStorage.resume_at`) lives in
the bucket too, so a resume that lands on another app server continues it: full parts go to
the multipart upload as they fill, and each acknowledged offset is a small *manifest* object
``<S3_PREFIX>.resumable/<user_id>/<name>.<offset>``: the parts that hold the first bytes (their
numbers, ETags and SHA-256s) and, after them, the tail that does not fill a part yet (S3 takes
no part under 5 MiB but the last). A part number is never used twice (some stores keep both
copies of a re-sent part), so parts sent by a request that was then refused or cut off are
simply left out at completion. The SHA-256 of a resumed upload is computed by reading the
completed object back once (an unfinished multipart upload cannot be read).

Downloads are ranged ``GetObject`` streams; with ``S3_PRESIGNED_DOWNLOADS`` an owner's plain
download may instead redirect to a short-lived presigned URL.

With encryption at rest, users' wrapped data keys are objects ``<S3_PREFIX>.keys/<user_id>``
(:class:`S3DataKeyStore`), created with a conditional PutObject (``If-None-Match: *``).
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import logging
import os
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Iterator, Mapping

from config import S3_REQUIRED, ConfigError

from ..errors import AppError, ErrorCode
from .base import (STAGING_MAX_AGE_S, Anomaly, BlobStorage, ByteStream, ContentDigests, HashedStagedBlob, digests_of, SeekableReader, StagedBlob,
                   StorageUnavailable, StoredEntry, UploadBudget)
from .encrypted import DataKeyStore, record_name
from .local import _SAFE_PART, STAGING_PREFIX, _check_part

log = logging.getLogger(__name__)

MIB = 1024 * 1024
PART_SIZE = 8 * MIB  # S3 wants parts of 5 MiB or more, but for the last
PARTS_IN_FLIGHT = 2  # per upload: its memory is about (PARTS_IN_FLIGHT + 1) * PART_SIZE
PART_UPLOADERS = 8  # per process, shared by all uploads (greenlets under the gevent worker)
PRESIGNED_TTL_S = 300
INCOMING = ".incoming"
KEYS = ".keys"
RESUMABLE = ".resumable"
MAX_PART_NUMBER = 10_000
_MISSING = {"404", "NoSuchKey", "NoSuchUpload", "NotFound"}
_LOST_CONDITIONAL_PUT = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


class ObjectStoreUnavailable(AppError):
    """The object store failed or could not be reached: nothing was stored, try again."""

    code = ErrorCode.SERVICE_UNAVAILABLE


def _error_code(exc: Exception) -> str | None:
    return getattr(exc, "response", {}).get("Error", {}).get("Code")


def _missing(exc: Exception) -> bool:
    return _error_code(exc) in _MISSING


@contextlib.contextmanager
def _unavailable_on_failure(what: str, missing: str | None = None) -> Iterator[None]:
    """Turn the object store's failures into a 503, or into FileNotFoundError(``missing``) when
    given and the object is not there."""
    from botocore.exceptions import BotoCoreError, ClientError
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        if missing is not None and _missing(exc):
            raise FileNotFoundError(missing) from None
        log.error("object store failed to %s: %r", what, exc)
        raise ObjectStoreUnavailable("The file storage failed; try again shortly.") from exc


def _sha256_b64(data: bytes | bytearray | memoryview) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class S3StagedBlob(HashedStagedBlob):
    """Bytes being received into a multipart upload of ``key`` (begun when the first full part
    is there), hashed on the way; the tail (less than a part) waits in memory for commit."""

    def __init__(self, storage: S3BlobStorage, owner_id: str | None, budget: UploadBudget):
        super().__init__(budget)
        self.storage = storage
        self.owner_id = owner_id
        self.name = uuid.uuid4().hex
        self.staging_id = self.name
        self.key = storage.object_key(owner_id, self.name)
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._pending: list[Future] = []
        self._parts: list[dict] = []
        self._next_part = 1
        self.committed = False
        # resumable staging: a manifest per acknowledged offset (see the module docstring)
        self.resumable = False
        self._manifest_at: int | None = None
        self._completed = False  # a resumed upload completed to hash it (see sha256)
        self._digest: ContentDigests | None = None
        # A part failed: bytes counted in ``size`` are not all stored, so nothing may say they are.
        self._broken = False

    def write(self, data: bytes) -> int:
        if self._broken:
            raise ObjectStoreUnavailable("The file storage failed; try again shortly.")
        self.receive(data)
        self._buffer += data
        try:
            while len(self._buffer) >= PART_SIZE:
                part = bytes(self._buffer[:PART_SIZE])
                del self._buffer[:PART_SIZE]
                self._send_part(part)
        except BaseException:
            self._broken = True
            raise
        return len(data)

    def tell(self) -> int:
        return self.size

    def read(self, size: int = -1) -> bytes:
        raise OSError("staged uploads are write-only")

    def _send_part(self, part: bytes) -> None:
        """Queue one part, first waiting for the oldest while PARTS_IN_FLIGHT are on the way."""
        client = self.storage.client
        if self._upload_id is None:
            with _unavailable_on_failure("begin an upload"):
                self._upload_id = client.create_multipart_upload(
                    Bucket=self.storage.bucket, Key=self.key, ChecksumAlgorithm="SHA256")["UploadId"]
        while len(self._pending) >= PARTS_IN_FLIGHT:
            self._collect(self._pending.pop(0))
        number, self._next_part = self._next_part, self._next_part + 1
        if number > MAX_PART_NUMBER:
            raise AppError("This upload was interrupted too many times to continue; start it again.",
                           code=ErrorCode.PAYLOAD_TOO_LARGE)
        self._pending.append(self.storage.part_uploaders().submit(self._upload_part, number, part))

    def _upload_part(self, number: int, data: bytes) -> dict:
        checksum = _sha256_b64(data)
        response = self.storage.client.upload_part(
            Bucket=self.storage.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=data,
            ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum)
        return {"PartNumber": number, "ETag": response["ETag"], "ChecksumSHA256": checksum, "Size": len(data)}

    def _collect(self, future: Future) -> None:
        with _unavailable_on_failure("store a part"):
            self._parts.append(future.result())

    def _drain(self) -> None:
        while self._pending:
            self._collect(self._pending.pop(0))

    def sync(self) -> None:
        """Wait for every full part to be stored. For resumable staging, then store the manifest
        of this offset (parts and tail): the offset is durable once it is written. Otherwise
        the tail stays in memory until commit (a form upload is not resumed). After a failed
        part nothing is durable past the last manifest: 503, and the offset stays there."""
        if self._broken:
            raise ObjectStoreUnavailable("The file storage failed; try again shortly.")
        try:
            self._drain()
        except BaseException:
            self._broken = True
            raise
        if self.resumable and self._manifest_at != self.size:
            self._write_manifest()

    def keep(self) -> str:
        """Keep the staging for another request: a new one gets its first manifest (offset 0);
        a resumed one lets go (its acknowledged offsets were written by :meth:`sync`, and what
        arrived after them was not acknowledged, so it is not kept)."""
        fresh = not self.resumable
        self.resumable = True
        if fresh:
            self.sync()
        else:
            with contextlib.suppress(Exception):
                self._drain()
        self._buffer = bytearray()
        return self.staging_id

    def _write_manifest(self) -> None:
        if self.owner_id is None:
            raise NotImplementedError("resumable staging needs its owner")
        head = json.dumps({"upload_id": self._upload_id, "parts": self._parts, "size": self.size},
                          separators=(",", ":")).encode()
        body = head + b"\n" + bytes(self._buffer)
        with _unavailable_on_failure("record an upload's progress"):
            self.storage.client.put_object(
                Bucket=self.storage.bucket, Key=self.storage.manifest_key(self.owner_id, self.name, self.size),
                Body=body, ChecksumAlgorithm="SHA256", ChecksumSHA256=_sha256_b64(body))
        self._manifest_at = self.size

    @classmethod
    def resumed(cls, storage: S3BlobStorage, owner_id: str, name: str, size: int,
                budget: UploadBudget) -> S3StagedBlob:
        """The staging of ``name`` as its manifest at ``size`` describes it (FileNotFoundError
        without one); later manifests, from requests never acknowledged, are dropped."""
        key = storage.manifest_key(owner_id, name, size)
        with _unavailable_on_failure("read an upload's progress", missing=name):
            body = storage.client.get_object(Bucket=storage.bucket, Key=key)["Body"].read()
        head, _, tail = body.partition(b"\n")
        manifest = json.loads(head)
        if manifest["size"] != size or sum(p["Size"] for p in manifest["parts"]) + len(tail) != size:
            raise FileNotFoundError(name)
        staged = cls(storage, owner_id, budget)
        staged.name = staged.staging_id = name
        staged.key = storage.object_key(owner_id, name)
        staged.size, staged._hash = size, None  # hashed once, from the completed object (sha256)
        staged._buffer = bytearray(tail)
        staged._parts = manifest["parts"]
        staged._upload_id = manifest["upload_id"]
        staged.resumable, staged._manifest_at = True, size
        # A request refused before any offset recorded a part may have begun the multipart
        # upload: continue that one; any other upload of this key is a leftover.
        for upload_id in storage.uploads_of(staged.key):
            if staged._upload_id is None:
                staged._upload_id = upload_id
            elif upload_id != staged._upload_id:
                storage.abort_upload(staged.key, upload_id)
        used = [p["PartNumber"] for p in staged._parts]
        if staged._upload_id is not None:  # numbers a refused request used are not used again
            used += storage.part_numbers(staged.key, staged._upload_id)
        staged._next_part = max(used, default=0) + 1
        storage.drop_manifests(owner_id, name, keep=key)
        return staged

    def receive(self, data: bytes) -> None:
        if self._hash is None:  # a resumed staging: counted and charged; hashed at the end
            self._budget.spend(len(data))
            self.size += len(data)
        else:
            super().receive(data)

    def digests(self) -> ContentDigests:
        """For a resumed staging: complete the upload under its own key and hash it from there
        (once); :meth:`discard` removes it if it is not committed after all."""
        if self._hash is not None:
            return self._hash
        if self._digest is None and self._upload_id is None:  # no part yet: the tail is all of it
            self._digest = ContentDigests(self._buffer)
        elif self._digest is None:
            self.finish(self.key)
            self._completed = True
            with _unavailable_on_failure("read an upload back"):
                body = self.storage.client.get_object(Bucket=self.storage.bucket, Key=self.key)["Body"]
                try:
                    self._digest = digests_of(body.read, PART_SIZE)
                finally:
                    body.close()
        return self._digest

    def finish(self, key: str) -> None:
        """Store everything under ``key`` (this blob's own unless the owner changed): the last
        part and completion of the multipart upload, or one PutObject for a small blob."""
        bucket, client = self.storage.bucket, self.storage.client
        if self._completed:  # a resumed upload, completed already to be hashed
            if key != self.key:
                raise AssertionError("a resumable upload is stored under its owner's key")
            self._drop_manifests()
            return
        if self._upload_id is None:
            checksum = (base64.b64encode(self._hash.sha256_digest()).decode() if self._hash is not None
                        else _sha256_b64(self._buffer))
            with _unavailable_on_failure("store an object"):
                client.put_object(Bucket=bucket, Key=key, Body=bytes(self._buffer), ChecksumAlgorithm="SHA256",
                                  ChecksumSHA256=checksum)
            self._buffer = bytearray()
            self._drop_manifests()
            return
        if self._buffer:
            self._send_part(bytes(self._buffer))
            self._buffer = bytearray()
        self._drain()
        with _unavailable_on_failure("complete an upload"):
            client.complete_multipart_upload(
                Bucket=bucket, Key=self.key, UploadId=self._upload_id,
                MultipartUpload={"Parts": [{k: p[k] for k in ("PartNumber", "ETag", "ChecksumSHA256")}
                                           for p in self._parts]})
        self._upload_id = None
        if self._hash is None:  # completed to be hashed; commit or discard comes next
            return
        self._drop_manifests()
        if key != self.key:
            try:
                with _unavailable_on_failure("move an object into place"):
                    client.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": self.key})
            finally:
                self.storage.delete_key(self.key)

    def discard(self) -> None:
        """Abort the multipart upload (parts still on the way are waited for, then dropped);
        resumable staging loses its manifests too, and a resumed upload completed only to be
        hashed its object."""
        self._buffer = bytearray()
        for future in self._pending:
            future.cancel()
        with contextlib.suppress(Exception):
            for future in self._pending:
                future.exception()
        self._pending = []
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is not None and not self.committed:
            self.storage.abort_upload(self.key, upload_id)
        if self.committed:
            return
        if self._completed:
            self.storage.delete_key(self.key)
            self._completed = False
        if self.resumable:
            self._drop_manifests()

    def _drop_manifests(self) -> None:
        if self.resumable and self.owner_id is not None:
            self.storage.drop_manifests(self.owner_id, self.name)


class S3ObjectReader(SeekableReader):
    """A committed object read as a stream: the GET begun by ``open`` is read from the start;
    after a ``seek`` elsewhere, the next read asks for ``bytes=<offset>-`` (a ranged GET)."""

    def __init__(self, storage: S3BlobStorage, key: str, body, size: int):
        super().__init__(size)
        self.storage, self.key = storage, key
        self._body = body

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        before = self._pos
        if super().seek(offset, whence) != before:
            self._close_body()
        return self._pos

    def read(self, size: int = -1) -> bytes:
        if self._pos >= self.size:
            return b""
        if self._body is None:
            self._body = self.storage.client.get_object(Bucket=self.storage.bucket, Key=self.key,
                                                        Range=f"bytes={self._pos}-")["Body"]
        data = self._body.read(None if size is None or size < 0 else size)
        self._pos += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def _close_body(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            body.close()

    def close(self) -> None:
        self._close_body()
        super().close()


class S3DataKeyStore(DataKeyStore):
    """Wrapped data keys as objects ``<prefix>.keys/<user_id>`` (a folder the inventory does
    not list: its name is not a user id). Create-if-absent is a PutObject with
    ``If-None-Match: *``, which S3 (since 2024), SeaweedFS and MinIO apply atomically: of two
    workers or nodes racing on a user's first key, one write wins and the other gets 412 and
    reads the winner's record. A store that ignored the condition would let a second key
    silently replace one already used, so the first create in each process checks that a
    repeated conditional put is refused, and refuses to go on if it is not."""

    PROBE = ".conditional-put-probe"

    def __init__(self, storage: S3BlobStorage):
        self.storage = storage
        self._checked_pid: int | None = None

    def _key(self, user_id: str) -> str:
        return f"{self.storage.prefix}{KEYS}/{record_name(user_id)}"

    def _put_if_absent(self, key: str, record: bytes) -> bool:
        """PutObject unless ``key`` exists; False when it does (412, or AWS's 409 for a
        conditional write racing another)."""
        from botocore.exceptions import ClientError
        with _unavailable_on_failure("store a data key"):
            try:
                self.storage.client.put_object(Bucket=self.storage.bucket, Key=key, Body=record, IfNoneMatch="*",
                                               ChecksumAlgorithm="SHA256", ChecksumSHA256=_sha256_b64(record))
            except ClientError as exc:
                if _error_code(exc) in _LOST_CONDITIONAL_PUT:
                    return False
                raise
        return True

    def _check_conditional_puts(self) -> None:
        if self._checked_pid == os.getpid():
            return
        probe = f"{self.storage.prefix}{KEYS}/{self.PROBE}"
        self._put_if_absent(probe, b"probe")
        if self._put_if_absent(probe, b"probe"):
            log.error("the object store ignores conditional puts (If-None-Match); data keys cannot be created safely")
            raise StorageUnavailable("The server's storage is misconfigured; the administrator has been told.")
        self._checked_pid = os.getpid()

    def load(self, user_id: str) -> bytes | None:
        try:
            with _unavailable_on_failure("read a data key", missing=user_id):
                return self.storage.client.get_object(Bucket=self.storage.bucket, Key=self._key(user_id))["Body"].read()
        except FileNotFoundError:
            return None

    def create(self, user_id: str, record: bytes) -> bytes:
        self._check_conditional_puts()
        for attempt in range(5):
            if self._put_if_absent(self._key(user_id), record):
                return record
            kept = self.load(user_id)  # another worker or node made this user's key first: theirs is the one
            if kept is not None:
                return kept
            time.sleep(0.05 * (attempt + 1))  # a 409: the winner's write is not visible yet
        raise ObjectStoreUnavailable("The file storage failed; try again shortly.")

    def replace(self, user_id: str, record: bytes) -> None:
        with _unavailable_on_failure("store a data key"):
            self.storage.client.put_object(Bucket=self.storage.bucket, Key=self._key(user_id), Body=record,
                                           ChecksumAlgorithm="SHA256", ChecksumSHA256=_sha256_b64(record))

    def users(self) -> list[str]:
        folder = f"{self.storage.prefix}{KEYS}/"
        with _unavailable_on_failure("list data keys"):
            names = [found["Key"][len(folder):] for found in self.storage.objects_below(folder)]
        return sorted(name for name in names if name and not name.startswith(".") and "/" not in name)


class S3BlobStorage(BlobStorage):
    """``STORAGE_BACKEND=s3``: blobs in ``S3_BUCKET`` below ``S3_PREFIX``."""

    name = "s3"
    # S3 takes at most 10,000 parts; parts of refused or cut-off requests use numbers too, so
    # a resumable upload keeps a tenth of them spare: about 70 GiB in 8 MiB parts.
    max_resumable_size = PART_SIZE * (MAX_PART_NUMBER * 9 // 10)

    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str | None = None,
                 region: str = "us-east-1", access_key_id: str | None = None, secret_access_key: str | None = None,
                 presigned_downloads: bool = False):
        self.bucket = bucket
        self.prefix = prefix
        self.presigned_downloads = presigned_downloads
        self._client_args = {"endpoint_url": endpoint_url, "region_name": region,
                             "aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key}
        self._lock = threading.Lock()
        self._client = self._pool = None
        self._pid = None

    @classmethod
    def from_config(cls, config: Mapping) -> S3BlobStorage:
        for name in S3_REQUIRED:
            if not config.get(name):
                raise ConfigError(f"{name} must be set when STORAGE_BACKEND=s3")
        return cls(config["S3_BUCKET"], prefix=config.get("S3_PREFIX", ""), endpoint_url=config.get("S3_ENDPOINT_URL"),
                   region=config.get("S3_REGION") or "us-east-1", access_key_id=config.get("S3_ACCESS_KEY_ID"),
                   secret_access_key=config.get("S3_SECRET_ACCESS_KEY"),
                   presigned_downloads=bool(config.get("S3_PRESIGNED_DOWNLOADS")))

    # -- the client and the part uploaders, one of each per process ------------------------------

    def _per_process(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            import boto3
            from botocore.config import Config
            # Our own SHA-256 per part and per object; botocore's default CRC32 on top would be
            # a second pass over every byte (and is not what S3 checks the parts against).
            config = Config(signature_version="s3v4", s3={"addressing_style": "path"},
                            retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=32,
                            connect_timeout=5, read_timeout=60, request_checksum_calculation="when_required",
                            response_checksum_validation="when_required")
            self._client = boto3.session.Session().client("s3", config=config, **self._client_args)
            self._pool = ThreadPoolExecutor(PART_UPLOADERS, thread_name_prefix="s3-part")
            self._pid = os.getpid()

    @property
    def client(self):
        self._per_process()
        return self._client

    def part_uploaders(self) -> ThreadPoolExecutor:
        self._per_process()
        return self._pool

    def object_key(self, owner_id: str | None, name: str) -> str:
        folder = INCOMING if owner_id is None else _check_part(owner_id)
        return f"{self.prefix}{folder}/{_check_part(name)}"

    def delete_key(self, key: str) -> None:
        with _unavailable_on_failure("delete an object"):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def abort_upload(self, key: str, upload_id: str) -> None:
        """Abort a multipart upload; one already gone is fine, and so is a store that cannot be
        reached (the staging sweep aborts what is left)."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception as exc:  # noqa: BLE001 - best effort; the sweep finishes it
            if not _missing(exc):
                log.warning("could not abort upload key=%s: %r", key, exc)

    # -- writing ---------------------------------------------------------------------------

    def stage(self, user_id: str | None, budget: UploadBudget) -> S3StagedBlob:
        return S3StagedBlob(self, user_id, budget)

    def resume(self, user_id: str | None, staging_id: str, budget: UploadBudget) -> S3StagedBlob:
        """The latest acknowledged state of kept staging (see :meth:`resume_at`)."""
        if user_id is None:
            raise NotImplementedError("resumable staging needs its owner")
        sizes = [int(m["Key"].rsplit(".", 1)[1]) for m in self.manifests(user_id, staging_id)]
        if not sizes:
            raise FileNotFoundError(staging_id)
        return S3StagedBlob.resumed(self, user_id, _check_part(staging_id), max(sizes), budget)

    def resume_at(self, user_id: str, staging_id: str, size: int, budget: UploadBudget) -> S3StagedBlob:
        return S3StagedBlob.resumed(self, _check_part(user_id), _check_part(staging_id), size, budget)

    def manifest_key(self, owner_id: str, name: str, size: int) -> str:
        return f"{self.prefix}{RESUMABLE}/{_check_part(owner_id)}/{_check_part(name)}.{int(size)}"

    def manifests(self, owner_id: str, name: str) -> list[dict]:
        """The manifest objects of one resumable staging (normally one; two after a crash)."""
        with _unavailable_on_failure("list an upload's progress"):
            return list(self.objects_below(f"{self.prefix}{RESUMABLE}/{_check_part(owner_id)}/{_check_part(name)}."))

    def drop_manifests(self, owner_id: str, name: str, keep: str | None = None) -> None:
        """Delete a resumable staging's manifests (all, or all but the one keyed ``keep``)."""
        for manifest in self.manifests(owner_id, name):
            if manifest["Key"] != keep:
                self.delete_key(manifest["Key"])

    def uploads_of(self, key: str) -> list[str]:
        """The ids of the unfinished multipart uploads of one key, oldest first."""
        with _unavailable_on_failure("list uploads"):
            found = [u for page in self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=key) for u in page.get("Uploads", ()) if u["Key"] == key]
        return [u["UploadId"] for u in sorted(found, key=lambda u: u["Initiated"])]

    def part_numbers(self, key: str, upload_id: str) -> list[int]:
        """Every part number an unfinished multipart upload has used."""
        numbers = []
        with _unavailable_on_failure("list an upload's parts"):
            for page in self.client.get_paginator("list_parts").paginate(Bucket=self.bucket, Key=key,
                                                                          UploadId=upload_id):
                numbers += [part["PartNumber"] for part in page.get("Parts", ())]
        return numbers

    def commit(self, staged: StagedBlob, user_id: str) -> str:
        assert isinstance(staged, S3StagedBlob)
        key = staged.name
        staged.finish(self.object_key(user_id, key))
        staged.committed = True
        return key

    def delete(self, user_id: str, key: str) -> None:
        self.delete_key(self.object_key(user_id, key))

    def data_key_store(self) -> S3DataKeyStore:
        """Where encryption at rest keeps users' wrapped data keys: beside the blobs."""
        return S3DataKeyStore(self)

    # -- serving ---------------------------------------------------------------------------

    def open(self, user_id: str, key: str) -> ByteStream:
        object_key = self.object_key(user_id, key)
        with _unavailable_on_failure("read an object", missing=key):
            response = self.client.get_object(Bucket=self.bucket, Key=object_key)
        size = response["ContentLength"]
        return ByteStream(S3ObjectReader(self, object_key, response["Body"], size), size)

    def signed_url(self, user_id: str, key: str, *, content_type: str, disposition: str) -> str | None:
        """A presigned GET serving these headers, when ``S3_PRESIGNED_DOWNLOADS`` is on."""
        if not self.presigned_downloads:
            return None
        return self.client.generate_presigned_url(
            "get_object", ExpiresIn=PRESIGNED_TTL_S,
            Params={"Bucket": self.bucket, "Key": self.object_key(user_id, key),
                    "ResponseContentType": content_type, "ResponseContentDisposition": disposition})

    # -- inventory, for repair ----------------------------------------------------------------

    def _parse_key(self, key: str) -> tuple[str | None, str] | None:
        """(owner or None for incoming, name) of a key this storage would make, else None."""
        folder, _, name = key[len(self.prefix):].partition("/")
        if not _SAFE_PART.fullmatch(name) or not (folder == INCOMING or _SAFE_PART.fullmatch(folder)):
            return None
        return (None if folder == INCOMING else folder), name

    def objects_below(self, prefix: str) -> Iterator[dict]:
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", ())

    def _objects(self) -> Iterator[dict]:
        return self.objects_below(self.prefix)

    def _uploads(self) -> Iterator[dict]:
        for page in self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket,
                                                                                 Prefix=self.prefix):
            yield from page.get("Uploads", ())

    def _resumable(self) -> dict[tuple[str, str], float]:
        """(owner, name) of every resumable staging with a manifest → its latest manifest's
        time (the last acknowledged request)."""
        latest: dict[tuple[str, str], float] = {}
        folder = f"{self.prefix}{RESUMABLE}/"
        for found in self.objects_below(folder):
            owner, _, rest = found["Key"][len(folder):].partition("/")
            name, _, offset = rest.rpartition(".")
            if _SAFE_PART.fullmatch(owner) and _SAFE_PART.fullmatch(name) and offset.isdigit():
                written = found["LastModified"].timestamp()
                latest[(owner, name)] = max(written, latest.get((owner, name), 0.0))
        return latest

    def _staging(self) -> Iterator[tuple[StoredEntry, str, str | None]]:
        """Unfinished multipart uploads, resumable staging without one yet, and objects left in
        the incoming folder, as staging entries: (entry, object key, upload id or None). A
        resumable staging is as recent as its last acknowledged request."""
        resumable = self._resumable()
        for upload in self._uploads():
            parsed = self._parse_key(upload["Key"])
            if parsed is not None:
                started = max(upload["Initiated"].timestamp(), resumable.pop(parsed, 0.0))
                yield (StoredEntry(parsed[0], STAGING_PREFIX + parsed[1], 0, started, started, staging=True),
                       upload["Key"], upload["UploadId"])
        for (owner, name), written in resumable.items():
            yield (StoredEntry(owner, STAGING_PREFIX + name, 0, written, written, staging=True),
                   self.object_key(owner, name), None)
        for found in self._objects():
            parsed = self._parse_key(found["Key"])
            if parsed is not None and parsed[0] is None:
                written = found["LastModified"].timestamp()
                yield (StoredEntry(None, STAGING_PREFIX + parsed[1], found["Size"], written, written, staging=True),
                       found["Key"], None)

    def inventory(self) -> tuple[list[StoredEntry], list[Anomaly]]:
        """Every object under the prefix with a name this storage gives (others are not ours to
        judge), and every unfinished upload as staging. An object store has no links."""
        entries = []
        for found in self._objects():
            parsed = self._parse_key(found["Key"])
            if parsed is not None and parsed[0] is not None:
                written = found["LastModified"].timestamp()
                entries.append(StoredEntry(parsed[0], parsed[1], found["Size"], written, written))
        entries.extend(entry for entry, _, _ in self._staging())
        return entries, []

    def size_of(self, user_id: str, key: str) -> int | None:
        try:
            with _unavailable_on_failure("look an object up", missing=key):
                return self.client.head_object(Bucket=self.bucket, Key=self.object_key(user_id, key))["ContentLength"]
        except FileNotFoundError:
            return None

    def remove_entry(self, entry: StoredEntry) -> None:
        """Delete a listed object, or abort a listed upload (with any incoming object of its name)."""
        if not entry.staging:
            self.delete(_check_part(entry.owner_id or ""), entry.name)
            return
        name = entry.name.removeprefix(STAGING_PREFIX)
        key = self.object_key(entry.owner_id, name)
        for upload_id in self.uploads_of(key):
            self.abort_upload(key, upload_id)
        if entry.owner_id is None:
            self.delete_key(key)
        else:
            self.drop_manifests(entry.owner_id, name)

    def sweep_staging(self, max_age_s: int = STAGING_MAX_AGE_S) -> int:
        """Abort multipart uploads begun more than ``max_age_s`` ago (left by killed workers),
        and remove incoming objects as old; returns how many."""
        cutoff = time.time() - max_age_s
        removed = 0
        for entry, key, upload_id in list(self._staging()):
            if entry.mtime >= cutoff:
                continue
            self.remove_entry(entry)
            removed += 1
        if removed:
            log.info("removed %d stale staging uploads", removed)
        return removed
