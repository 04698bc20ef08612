"""Encryption at rest: a :class:`BlobStorage` that seals whatever another backend stores.

Switched on by ``ENCRYPTION_KEY`` / ``ENCRYPTION_KEY_FILE`` (see :func:`app.storage.storage_from_config`).

**Keys.** The master key (32 bytes, from the configuration, never stored or logged) wraps one
random 32-byte *data key* per user with AES-256-GCM, the user id as associated data, so a
wrapped key copied to another user does not open. Wrapped keys live in a :class:`DataKeyStore`
beside the blobs (local: ``<UPLOAD_FOLDER>/.keys/<user_id>``; S3: objects
``<S3_PREFIX>.keys/<user_id>``), created at most once per user (create-if-absent by
``link(2)``, or a PutObject with ``If-None-Match: *``, so two workers or nodes racing on a
user's first upload end with one key). Rotating the master key rewraps these records; content is never touched.

**Blobs** (after Tink's AES-GCM-HKDF streaming AEAD)::

    header   magic "\\x89CDE" | version 1 (1 byte) | segment size (u32 BE) | salt (16) | nonce prefix (7)
    segment  AES-256-GCM(plaintext[i*S:(i+1)*S]) || 16-byte tag, for i = 0 .. n-1 (n >= 1)

- the blob key is HKDF-SHA256(data key, salt, info = "clouddrive-blob-v1:" + user id): every
  blob has its own key, so nonces never repeat across blobs;
- segment i's nonce is ``prefix || i (u32 BE) || last (1 byte)``; its associated data is
  ``header || user id || i || last``: a segment swapped, reordered, moved from another blob
  or user, a blob truncated or extended (the last segment, and only it, carries last = 1), or
  a header edited, fails authentication;
- every segment holds ``S`` plaintext bytes except the last (1..S bytes; 0 for an empty blob),
  so a Range read decrypts only the segments it covers.

Size and SHA-256 stay those of the plaintext (dedup, ETags and repair use them). A blob
without the magic is plaintext stored before encryption was turned on; it is served as it is
while ``ENCRYPTION_SERVE_PLAINTEXT`` (default on) until ``flask encrypt-existing`` has run.
Integrity failures found when a blob is opened (header, first and last segment) raise
:class:`ContentTampered` (a 500, logged); found later, mid-stream, the read raises and the
connection is aborted. Wrong bytes are never returned.
"""
from __future__ import annotations

import abc
import errno
import hashlib
import logging
import os
import struct
import uuid
from typing import Iterator, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..offload import fsync
from .base import (STAGING_MAX_AGE_S, Anomaly, BlobStorage, ByteStream, HashedStagedBlob, OpenedBlob,
                   SeekableReader, StagedBlob, StorageUnavailable, StoredEntry, UploadBudget)

log = logging.getLogger(__name__)

MAGIC = b"\x89CDE"
VERSION = 1
SEGMENT_SIZE = 64 * 1024
TAG_SIZE = 16
_HEADER = struct.Struct(">4sBI16s7s")
HEADER_SIZE = _HEADER.size  # 32
_SEGMENT_AD = struct.Struct(">IB")
_KEY_RECORD = struct.Struct(">4s8s12s48s")
_KEY_MAGIC = b"CDK1"
_WRAP_INFO = b"clouddrive-datakey-v1:"
_BLOB_INFO = b"clouddrive-blob-v1:"


class ContentTampered(StorageUnavailable):
    """Stored bytes failed authentication: changed, truncated, reordered or moved. Never served."""


class WrongMasterKey(RuntimeError):
    """A data key does not open with the master key given (not the key it was wrapped with)."""


def key_fingerprint(master_key: bytes) -> bytes:
    """8 bytes that tell which master key wrapped a record, without revealing it."""
    return hashlib.sha256(b"clouddrive-master-key-id:" + master_key).digest()[:8]


def wrap_data_key(master_key: bytes, user_id: str, data_key: bytes) -> bytes:
    nonce = os.urandom(12)
    sealed = AESGCM(master_key).encrypt(nonce, data_key, _WRAP_INFO + user_id.encode())
    return _KEY_RECORD.pack(_KEY_MAGIC, key_fingerprint(master_key), nonce, sealed)


def unwrap_data_key(master_key: bytes, user_id: str, record: bytes) -> bytes:
    try:
        magic, fingerprint, nonce, sealed = _KEY_RECORD.unpack(record)
    except struct.error:
        raise ContentTampered("The server's storage is damaged; the administrator has been told.") from None
    if magic != _KEY_MAGIC:
        raise ContentTampered("The server's storage is damaged; the administrator has been told.")
    try:
        return AESGCM(master_key).decrypt(nonce, sealed, _WRAP_INFO + user_id.encode())
    except InvalidTag:
        if fingerprint != key_fingerprint(master_key):
            raise WrongMasterKey(f"the data key of user {user_id} was wrapped with another master key "
                                 f"(id {fingerprint.hex()}); ENCRYPTION_KEY is {key_fingerprint(master_key).hex()}")
        log.error("wrapped data key failed authentication user_id=%s", user_id)
        raise ContentTampered("The server's storage is damaged; the administrator has been told.") from None


# -- where wrapped data keys live --------------------------------------------------------------

def record_name(user_id: str) -> str:
    """The name of a user's key record: the user id, checked to be one the server makes."""
    if not (user_id.isalnum() and user_id.isascii() and 0 < len(user_id) <= 64):
        raise ValueError("user ids are server-generated")
    return user_id


class DataKeyStore(abc.ABC):
    """Wrapped data keys, one small record per user, shared by every worker and node that
    shares the blobs."""

    @abc.abstractmethod
    def load(self, user_id: str) -> bytes | None:
        """The user's record, or None when the user has none yet."""

    @abc.abstractmethod
    def create(self, user_id: str, record: bytes) -> bytes:
        """Store ``record`` unless the user has one already (atomically); returns the one kept."""

    @abc.abstractmethod
    def replace(self, user_id: str, record: bytes) -> None:
        """Overwrite the user's record atomically (key rotation)."""

    @abc.abstractmethod
    def users(self) -> list[str]:
        """Every user with a record."""


class LocalDataKeyStore(DataKeyStore):
    """Records in ``<root>/.keys/<user_id>``: a folder the blob inventory does not list (its
    name is not a user id), opened without following links, written by temp file + fsync +
    ``link`` (create-if-absent: EEXIST means another process won) or ``rename`` (replace)."""

    FOLDER = ".keys"

    def __init__(self, root: str):
        self.root = root

    def _dir(self) -> int:
        root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            try:
                os.mkdir(self.FOLDER, 0o700, dir_fd=root_fd)
            except FileExistsError:
                pass
            try:
                return os.open(self.FOLDER, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=root_fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    log.error("storage refused a symlink or non-folder path=%s", os.path.join(self.root, self.FOLDER))
                    raise StorageUnavailable("The server's storage is misconfigured; the administrator has been told.")
                raise
        finally:
            os.close(root_fd)

    def load(self, user_id: str) -> bytes | None:
        directory = self._dir()
        try:
            fd = os.open(record_name(user_id), os.O_RDONLY | os.O_NOFOLLOW, dir_fd=directory)
        except FileNotFoundError:
            return None
        finally:
            os.close(directory)
        with open(fd, "rb") as file:
            return file.read()

    def _write_temp(self, directory: int, record: bytes) -> str:
        temp = f".tmp-{uuid.uuid4().hex}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=directory)
        with open(fd, "wb") as file:
            file.write(record)
            file.flush()
            fsync(file.fileno())
        return temp

    def create(self, user_id: str, record: bytes) -> bytes:
        name = record_name(user_id)
        directory = self._dir()
        try:
            temp = self._write_temp(directory, record)
            try:
                os.link(temp, name, src_dir_fd=directory, dst_dir_fd=directory)
            except FileExistsError:
                pass  # another worker made this user's key first: theirs is the one
            finally:
                os.unlink(temp, dir_fd=directory)
            fsync(directory)
        finally:
            os.close(directory)
        kept = self.load(user_id)
        assert kept is not None
        return kept

    def replace(self, user_id: str, record: bytes) -> None:
        name = record_name(user_id)
        directory = self._dir()
        try:
            os.replace(self._write_temp(directory, record), name, src_dir_fd=directory, dst_dir_fd=directory)
            fsync(directory)
        finally:
            os.close(directory)

    def users(self) -> list[str]:
        directory = self._dir()
        try:
            with os.scandir(directory) as found:
                return sorted(e.name for e in found if not e.name.startswith(".") and e.is_file(follow_symlinks=False))
        finally:
            os.close(directory)


# -- sealing and opening segments -------------------------------------------------------------

class BlobCipher:
    """The keys and layout of one blob: the header it starts with, its key, its nonces."""

    def __init__(self, data_key: bytes, user_id: str, header: bytes):
        self.segment_size = segment_size_of(header)
        salt, self.prefix = _HEADER.unpack(header)[3:]
        self.header = header
        self._user = user_id.encode()
        blob_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_BLOB_INFO + self._user).derive(data_key)
        self._aead = AESGCM(blob_key)

    @classmethod
    def new(cls, data_key: bytes, user_id: str, segment_size: int = SEGMENT_SIZE) -> BlobCipher:
        header = _HEADER.pack(MAGIC, VERSION, segment_size, os.urandom(16), os.urandom(7))
        return cls(data_key, user_id, header)

    def _nonce_and_ad(self, index: int, last: bool) -> tuple[bytes, bytes]:
        position = _SEGMENT_AD.pack(index, int(last))
        return self.prefix + position, self.header + self._user + position

    def seal(self, index: int, plaintext: bytes, last: bool) -> bytes:
        nonce, ad = self._nonce_and_ad(index, last)
        return self._aead.encrypt(nonce, plaintext, ad)

    def open(self, index: int, sealed: bytes, last: bool) -> bytes:
        nonce, ad = self._nonce_and_ad(index, last)
        return self._aead.decrypt(nonce, sealed, ad)

    def layout(self, stored_size: int) -> tuple[int, int] | None:
        return layout(self.segment_size, stored_size)


def segment_size_of(header: bytes) -> int:
    """The segment size a blob header names (ValueError for a header this version cannot read)."""
    magic, version, segment_size, _, _ = _HEADER.unpack(header)
    if magic != MAGIC or version != VERSION or not 0 < segment_size <= 64 * 1024 * 1024:
        raise ValueError("not a blob header this version reads")
    return segment_size


def layout(segment_size: int, stored_size: int) -> tuple[int, int] | None:
    """(plaintext size, segment count) of a sealed blob of ``stored_size`` bytes, or None when
    no sealing makes that size (cut inside a tag)."""
    body = stored_size - HEADER_SIZE
    sealed_segment = segment_size + TAG_SIZE
    count = -(-body // sealed_segment)
    if count < 1 or body - (count - 1) * sealed_segment < TAG_SIZE:
        return None
    return body - count * TAG_SIZE, count


class EncryptingStagedBlob(HashedStagedBlob):
    """Staging that seals segments as bytes arrive: the backend's staging receives only
    ciphertext; ``size`` and ``sha256`` are the plaintext's. A full segment is sealed once a
    byte beyond it arrives (only then is it known not to be the last)."""

    def __init__(self, inner: StagedBlob, cipher: BlobCipher, owner_id: str | None, budget: UploadBudget):
        super().__init__(budget)
        self.inner = inner
        self.cipher = cipher
        self.owner_id = owner_id
        self.staging_id = inner.staging_id
        self._pending = bytearray()
        self._sealed = 0
        inner.write(cipher.header)

    def write(self, data: bytes) -> int:
        self.receive(data)
        self._pending += data
        segment = self.cipher.segment_size
        if len(self._pending) > segment:
            whole = (len(self._pending) - 1) // segment * segment
            view = memoryview(self._pending)
            sealed = [self.cipher.seal(self._sealed + i, view[start:start + segment], last=False)
                      for i, start in enumerate(range(0, whole, segment))]
            view.release()
            self._sealed += len(sealed)
            del self._pending[:whole]
            self.inner.write(b"".join(sealed))
        return len(data)

    def tell(self) -> int:
        return self.size

    def seal_last(self) -> StagedBlob:
        """Seal what is left as the last segment; returns the backend's staging, ready to commit."""
        self.inner.write(self.cipher.seal(self._sealed, bytes(self._pending), last=True))
        self._pending.clear()
        return self.inner

    def sync(self) -> None:
        raise NotImplementedError("resumable staging is not available with encryption at rest")

    def keep(self) -> str:
        raise NotImplementedError("resumable staging is not available with encryption at rest")

    def discard(self) -> None:
        self.inner.discard()


class DecryptingReader(SeekableReader):
    """A sealed blob read as its plaintext, seekable: each read decrypts only the segments it
    covers (the last one read is kept). A segment that fails authentication raises."""

    def __init__(self, opened: OpenedBlob, cipher: BlobCipher, size: int, count: int, where: str):
        super().__init__(size)
        self._opened = opened
        self._cipher = cipher
        self._count = count
        self._where = where
        self._cached: tuple[int, bytes] | None = None

    def segment(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        segment = self._cipher.segment_size
        last = index == self._count - 1
        length = (self.size - index * segment if last else segment) + TAG_SIZE
        file = self._opened.file
        file.seek(HEADER_SIZE + index * (segment + TAG_SIZE))
        sealed = bytearray()
        while len(sealed) < length and (chunk := file.read(length - len(sealed))):
            sealed += chunk
        try:
            if len(sealed) != length:
                raise InvalidTag
            plaintext = self._cipher.open(index, bytes(sealed), last)
        except InvalidTag:
            log.error("stored content failed authentication %s segment=%d", self._where, index)
            raise ContentTampered("The stored content failed its integrity check; the administrator has been "
                                  "told.") from None
        self._cached = (index, plaintext)
        return plaintext

    def readinto(self, buffer) -> int:
        """Reads up to the end of the current segment (a short read, as raw streams may): a
        Range read never decrypts a segment it does not cover."""
        if self._pos >= self.size:
            return 0
        index, offset = divmod(self._pos, self._cipher.segment_size)
        plaintext = self.segment(index)
        count = min(len(buffer), len(plaintext) - offset)
        buffer[:count] = plaintext[offset:offset + count]
        self._pos += count
        return count

    def close(self) -> None:
        if not self.closed:
            self._opened.close()
        super().close()


# -- the backend ------------------------------------------------------------------------------

class EncryptedBlobStorage(BlobStorage):
    """Any backend's blobs, sealed per user (see the module docstring). Serving is always a
    :class:`ByteStream` (no sendfile: the bytes on disk are not the bytes served) and never
    a signed redirect (the object store would hand out ciphertext)."""

    name = "encrypted"

    def __init__(self, inner: BlobStorage, keys: DataKeyStore, master_key: bytes, serve_plaintext: bool = True,
                 segment_size: int = SEGMENT_SIZE):
        if len(master_key) != 32:
            raise ValueError("the master key is 32 bytes")
        self.inner = inner
        self.keys = keys
        self._master = master_key
        self.serve_plaintext = serve_plaintext
        self.segment_size = segment_size
        self._data_keys: dict[str, bytes] = {}  # unwrapped, per process: safe to lose

    @classmethod
    def from_config(cls, config: Mapping) -> BlobStorage:
        raise NotImplementedError("built by app.storage.storage_from_config around the configured backend")

    def data_key(self, user_id: str, create: bool = False) -> bytes | None:
        """The user's data key, made (once, whoever races) with ``create``."""
        cached = self._data_keys.get(user_id)
        if cached is not None:
            return cached
        record = self.keys.load(user_id)
        if record is None:
            if not create:
                return None
            record = self.keys.create(user_id, wrap_data_key(self._master, user_id, AESGCM.generate_key(256)))
            log.info("data key created user_id=%s", user_id)
        key = unwrap_data_key(self._master, user_id, record)
        self._data_keys[user_id] = key
        return key

    # -- writing ------------------------------------------------------------------------------

    def stage(self, user_id: str | None, budget: UploadBudget) -> EncryptingStagedBlob:
        # The owner of a form that names its API key in the body is known only after it: such
        # bytes are sealed under a key that lives only in this request, and sealed again under
        # the owner's at commit.
        if user_id is None:
            data_key = AESGCM.generate_key(256)
        else:
            data_key = self.data_key(user_id, create=True)
        cipher = BlobCipher.new(data_key, user_id or "", self.segment_size)
        inner = self.inner.stage(user_id, UploadBudget(None))
        try:
            staged = EncryptingStagedBlob(inner, cipher, user_id, budget)
        except BaseException:
            inner.discard()
            raise
        return staged

    def resume(self, user_id: str | None, staging_id: str, budget: UploadBudget) -> StagedBlob:
        raise NotImplementedError("resumable staging is not available with encryption at rest")

    def commit(self, staged: StagedBlob, user_id: str) -> str:
        assert isinstance(staged, EncryptingStagedBlob)
        key = self.inner.commit(staged.seal_last(), user_id)
        if staged.owner_id == user_id:
            return key
        try:
            with self._reader(self.inner.open(user_id, key), staged.cipher, user_id, key) as source:
                again = self.stage(user_id, UploadBudget(None))
                try:
                    again.append(source)
                    return self.commit(again, user_id)
                except BaseException:
                    again.discard()
                    raise
        finally:
            self.inner.delete(user_id, key)

    def delete(self, user_id: str, key: str) -> None:
        self.inner.delete(user_id, key)

    # -- serving ------------------------------------------------------------------------------

    def _header(self, opened: OpenedBlob) -> bytes | None:
        """The blob's header, or None when the blob is plaintext (no magic)."""
        header = opened.file.read(HEADER_SIZE) if opened.size >= HEADER_SIZE else b""
        if header[:len(MAGIC)] != MAGIC:
            opened.file.seek(0)
            return None
        return header

    def _reader(self, opened: OpenedBlob, cipher: BlobCipher, user_id: str, key: str) -> DecryptingReader:
        """A plaintext reader over a sealed blob, its length and last segment checked first."""
        where = f"user_id={user_id} key={key}"
        layout = cipher.layout(opened.size)
        if layout is None:
            opened.close()
            log.error("stored content failed authentication %s (cut inside a segment)", where)
            raise ContentTampered("The stored content failed its integrity check; the administrator has been told.")
        reader = DecryptingReader(opened, cipher, *layout, where)
        try:
            reader.segment(layout[1] - 1)
            reader.segment(0)
        except BaseException:
            reader.close()
            raise
        return reader

    def open(self, user_id: str, key: str) -> OpenedBlob:
        opened = self.inner.open(user_id, key)
        try:
            header = self._header(opened)
            if header is None:
                if self.serve_plaintext:
                    return opened
                log.error("plaintext blob refused (ENCRYPTION_SERVE_PLAINTEXT is off) user_id=%s key=%s",
                          user_id, key)
                raise ContentTampered("The stored content failed its integrity check; the administrator has been "
                                      "told.")
            cipher = self._cipher(user_id, key, header)
        except BaseException:
            opened.close()
            raise
        reader = self._reader(opened, cipher, user_id, key)
        return ByteStream(reader, reader.size)

    def _cipher(self, user_id: str, key: str, header: bytes) -> BlobCipher:
        data_key = self.data_key(user_id)
        try:
            if data_key is None:
                raise ValueError("no data key")
            return BlobCipher(data_key, user_id, header)
        except ValueError as exc:
            log.error("stored content failed authentication user_id=%s key=%s (%s)", user_id, key, exc)
            raise ContentTampered("The stored content failed its integrity check; the administrator has been "
                                  "told.") from None

    def is_sealed(self, user_id: str, key: str) -> bool:
        """Whether the blob is stored sealed (it starts with the magic) rather than in plaintext."""
        with self.inner.open(user_id, key) as opened:
            return self._header(opened) is not None

    def signed_url(self, user_id: str, key: str, *, content_type: str, disposition: str) -> str | None:
        return None

    # -- inventory ----------------------------------------------------------------------------

    def inventory(self) -> tuple[list[StoredEntry], list[Anomaly]]:
        """The backend's inventory, committed blobs with their plaintext sizes."""
        entries, anomalies = self.inner.inventory()
        return [self._plain_entry(entry) for entry in entries], anomalies

    def _plain_entry(self, entry: StoredEntry) -> StoredEntry:
        if entry.staging or entry.owner_id is None:
            return entry
        size = self.size_of(entry.owner_id, entry.name)
        return entry if size is None else StoredEntry(entry.owner_id, entry.name, size, entry.mtime,
                                                       entry.changed_at, entry.staging)

    def size_of(self, user_id: str, key: str) -> int | None:
        """The plaintext size (from the stored size and the header: nothing decrypted); -1 for
        a sealed blob no sealing could have made (never equal to a record's size)."""
        try:
            with self.inner.open(user_id, key) as opened:
                header = self._header(opened)
                if header is None:
                    return opened.size
                try:
                    found = layout(segment_size_of(header), opened.size)
                except ValueError:
                    return -1
                return -1 if found is None else found[0]
        except (FileNotFoundError, ValueError):
            return None

    def sha256_of(self, user_id: str, key: str) -> str:
        """The plaintext's SHA-256, every segment authenticated on the way ("" when one fails)."""
        try:
            return super().sha256_of(user_id, key)
        except ContentTampered:
            return ""

    def remove_entry(self, entry: StoredEntry) -> None:
        self.inner.remove_entry(entry)

    def sweep_staging(self, max_age_s: int = STAGING_MAX_AGE_S) -> int:
        return self.inner.sweep_staging(max_age_s)

    # -- maintenance --------------------------------------------------------------------------

    def rotate(self, new_master_key: bytes) -> Iterator[tuple[str, str]]:
        """Rewrap every user's data key with ``new_master_key`` (content untouched); yields
        (user id, "rewrapped" | "already"). Resumable: records already under the new key are
        left alone."""
        new_id = key_fingerprint(new_master_key)
        for user_id in self.keys.users():
            record = self.keys.load(user_id)
            if record is None:
                continue
            if _KEY_RECORD.unpack(record)[1] == new_id:
                unwrap_data_key(new_master_key, user_id, record)
                yield user_id, "already"
                continue
            data_key = unwrap_data_key(self._master, user_id, record)
            self.keys.replace(user_id, wrap_data_key(new_master_key, user_id, data_key))
            yield user_id, "rewrapped"

    def seal_existing(self, user_id: str, key: str, sha256: str) -> str | None:
        """Store a plaintext blob sealed, under a new key, and return that key (the caller
        points the record at it, then deletes the old one); None when the blob is sealed
        already. ValueError when its bytes no longer hash to ``sha256`` (nothing is written)."""
        with self.inner.open(user_id, key) as opened:
            if self._header(opened) is not None:
                return None
            staged = self.stage(user_id, UploadBudget(None))
            try:
                staged.append(opened.file)
                if staged.sha256 != sha256:
                    raise ValueError(f"blob {key} of user {user_id} does not match its record's SHA-256")
                return self.commit(staged, user_id)
            except BaseException:
                staged.discard()
                raise


def seal_existing_blobs(storage: EncryptedBlobStorage, blobs) -> Iterator[str]:
    """Seal every blob still stored in plaintext, one at a time: sealed copy under a new key,
    then the record points at it, then the plaintext goes. Resumable (sealed blobs are
    skipped); a crash leaves at most one stray copy, which ``flask repair --fix`` removes.
    ``blobs`` is the blob repository (``all_records``, ``set_storage_key``). Yields a line per
    blob sealed or left alone."""
    for blob in blobs.all_records():
        owner_id, key = blob["owner_id"], blob["storage_key"]
        try:
            sealed = storage.seal_existing(owner_id, key, blob["sha256"])
        except FileNotFoundError:
            yield f"blob {blob['_id']}: its bytes are missing (run flask repair)"
            continue
        except ValueError as exc:
            yield f"blob {blob['_id']}: left in plaintext: {exc} (run flask repair --verify)"
            continue
        if sealed is None:
            continue
        blobs.set_storage_key(blob["_id"], sealed)
        storage.delete(owner_id, key)
        log.info("blob sealed user_id=%s blob_id=%s", owner_id, blob["_id"])
        yield f"blob {blob['_id']} of user {owner_id}: sealed"


def data_key_store_for(backend: BlobStorage) -> DataKeyStore:
    """Where ``backend`` keeps wrapped data keys: beside its blobs (a backend may offer its own
    by a ``data_key_store()`` method; the local one keeps them in ``<root>/.keys``)."""
    offered = getattr(backend, "data_key_store", None)
    if offered is not None:
        return offered()
    root = getattr(backend, "root", None)
    if root is None:
        raise NotImplementedError(f"the {backend.name} storage keeps no data keys")
    return LocalDataKeyStore(root)

