"""``flask backup DEST`` and ``flask restore SRC``: an online, consistent copy of an embedded
installation (the SQLite database, the stored bytes under UPLOAD_FOLDER, the audit files),
taken while the service keeps serving and writing.

What a backup holds, and why it is consistent:

1. the bytes of every blob the database knows when the backup starts are copied (as stored:
   sealed when encryption at rest is on, so the backup needs the same key to be restored);
2. the database is copied with SQLite's online backup API: one snapshot, taken in a read
   transaction (WAL: writers go on meanwhile);
3. the bytes of blobs the snapshot knows that step 1 did not copy (uploaded meanwhile) are
   copied; a blob deleted since the snapshot can be missing, and is listed in the manifest:
   it belongs to content that changed during the backup, never to content acknowledged before
   it began (that was copied in step 1, or deleted before the snapshot and so not in it);
4. the users' data keys of encryption at rest (sealed with ENCRYPTION_KEY) are copied, bytes left
   in DEST from an earlier run that the snapshot does not know are removed, and the manifest is
   written last: a DEST without ``manifest.json`` is an unfinished backup.

Every step can run again: files already in DEST with the right size are not copied again, so an
interrupted backup is resumed by running it again (into the same DEST), and a later backup into
the same DEST copies only what is new. Copies are written to a temporary name, flushed to disk
and renamed into place.

A restore goes into an empty installation (no account, no stored byte; stop the service
first): the database file, then the bytes, then ``repair --fix`` drops the records of the
blobs the manifest lists as missing. An interrupted restore is resumed by running it again
(the marker ``RESTORING`` in the database folder lets it go on over its own partial work).
MongoDB and S3 deployments use their native tools instead (README, "Backups").
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable


MANIFEST = "manifest.json"
DATABASE = "drive.sqlite3"
BLOBS = "blobs"
AUDIT = "audit"
KEYS = "keys"
KEYS_FOLDER = ".keys"  # app/storage/encrypted.py's LocalDataKeyStore.FOLDER
RESTORING = "RESTORING"
FORMAT = 1
CHUNK = 1024 * 1024

Progress = Callable[[str], None]


class BackupError(RuntimeError):
    """Something a person must fix before the backup or restore can go on."""


def key_fingerprint(key: bytes | None) -> str | None:
    """Names the encryption key a backup's bytes are sealed with (not the key)."""
    return hashlib.sha256(b"clouddrive backup key id\0" + key).hexdigest()[:16] if key else None


def _snapshot_blobs(path: str) -> dict[tuple[str, str], int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT owner_id, storage_key, size FROM blobs").fetchall()
    finally:
        conn.close()
    return {(owner, key): size for owner, key, size in rows if key}


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_file(source, target: str) -> int:
    """Copy an open binary file to ``target`` durably (temporary name, fsync, rename)."""
    os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
    temporary = f"{target}.part"
    copied = 0
    with open(temporary, "wb") as out:
        while chunk := source.read(CHUNK):
            out.write(chunk)
            copied += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, target)
    _fsync_dir(os.path.dirname(target))
    return copied


def _present(path: str, size: int) -> bool:
    try:
        return os.stat(path).st_size == size
    except FileNotFoundError:
        return False


def _safe_part(part: str) -> str:
    if not part or part in (".", "..") or "/" in part or "\\" in part or "\0" in part:
        raise BackupError(f"refusing a stored name that is not a plain file name: {part!r}")
    return part


@dataclass
class CopyCount:
    copied: int = 0
    skipped: int = 0
    bytes: int = 0
    missing: list[str] = field(default_factory=list)


class Throttle:
    """Prints progress at most once a second (and always the last line)."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.last = 0.0

    def __call__(self, line: str, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= 1:
            self.last = now
            self.progress(line)


def _copy_keys(source: str, target: str) -> int:
    """The users' data-key records of encryption at rest (``<UPLOAD_FOLDER>/.keys``), each
    sealed with ENCRYPTION_KEY: without them the sealed bytes cannot be opened, even with it."""
    if not os.path.isdir(source):
        return 0
    copied = 0
    for name in sorted(os.listdir(source)):
        path = os.path.join(source, _safe_part(name))
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, "rb") as fh:
                _copy_file(fh, os.path.join(target, name))
            copied += 1
    return copied


def _copy_blobs(refs: dict[tuple[str, str], int], upload_folder: str, dest: str, count: CopyCount,
                say: Throttle, what: str) -> None:
    total = len(refs)
    for number, ((owner, key), _size) in enumerate(sorted(refs.items()), 1):
        target = os.path.join(dest, BLOBS, _safe_part(owner), _safe_part(key))
        try:
            # O_NOFOLLOW: never copy what a link points at (the storage refuses links too).
            fd = os.open(os.path.join(upload_folder, owner, key), os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            count.missing.append(f"{owner}/{key}")
            continue
        with os.fdopen(fd, "rb") as source:
            # As stored (sealed, it is larger than the content): a copy of that size is there.
            if _present(target, os.fstat(source.fileno()).st_size):
                count.skipped += 1
            else:
                count.bytes += _copy_file(source, target)
                count.copied += 1
        say(f"{what}: {number}/{total} blobs ({count.copied} copied, {count.bytes / 2**20:.1f} MiB)",
            force=number == total)


def backup(database_path: str, upload_folder: str, audit_folder: str, dest: str, encryption_key: bytes | None,
           progress: Progress) -> dict:
    """Copy the installation into ``dest`` (see the module docstring); the manifest."""
    if not os.path.exists(database_path):
        raise BackupError(f"no database at {database_path}: is this the installation's configuration?")
    os.makedirs(dest, mode=0o700, exist_ok=True)
    say = Throttle(progress)
    started = datetime.now(timezone.utc)
    count = CopyCount()
    # A connection of our own that only reads: it never takes the write lock the service needs.
    live = sqlite3.connect(database_path, timeout=30)
    try:
        # 1. What the database knows now.
        before = {(str(owner), key): size for owner, key, size in
                  live.execute("SELECT owner_id, storage_key, size FROM blobs").fetchall() if key}
        _copy_blobs(before, upload_folder, dest, count, say, "bytes known at the start")
        # 2. One snapshot of the database: the online backup API copies every page in one step,
        # inside one read transaction (WAL: the service's writers go on meanwhile).
        snapshot = os.path.join(dest, DATABASE)
        temporary = snapshot + ".part"
        if os.path.exists(temporary):
            os.remove(temporary)
        target = sqlite3.connect(temporary)
        try:
            live.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            target.close()
        with open(temporary, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(temporary, snapshot)
        progress(f"database snapshot: {os.path.getsize(snapshot) / 2**20:.1f} MiB")
    finally:
        live.close()
    # 3. What the snapshot knows beyond step 1.
    known = _snapshot_blobs(snapshot)
    count.missing.clear()  # blobs gone before the snapshot are not in it: not missing
    _copy_blobs({ref: size for ref, size in known.items() if ref not in before}, upload_folder, dest, count, say,
                "bytes uploaded during the backup")
    missing_since = list(count.missing)
    # 4. The data keys (made once per user; after the bytes, so every key a copied blob needs is
    # there), leftovers of earlier runs, the audit files, then the manifest.
    keys = _copy_keys(os.path.join(upload_folder, KEYS_FOLDER), os.path.join(dest, KEYS))
    if encryption_key and known and not keys:
        raise BackupError(f"encryption at rest is on but {upload_folder}/{KEYS_FOLDER} holds no data key")
    removed = _remove_unknown(os.path.join(dest, BLOBS), known)
    audit_files = _copy_audit(audit_folder, os.path.join(dest, AUDIT))
    manifest = {"format": FORMAT, "started_at": started.isoformat(),
                "finished_at": datetime.now(timezone.utc).isoformat(), "blobs": len(known),
                "bytes": sum(size for ref, size in known.items() if f"{ref[0]}/{ref[1]}" not in missing_since),
                "copied": count.copied, "already_there": count.skipped, "removed_leftovers": removed,
                "missing": missing_since, "audit_files": audit_files, "data_keys": keys,
                "encryption_key_id": key_fingerprint(encryption_key)}
    with open(os.path.join(dest, MANIFEST + ".part"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(os.path.join(dest, MANIFEST + ".part"), os.path.join(dest, MANIFEST))
    _fsync_dir(dest)
    return manifest


def _remove_unknown(folder: str, known: dict[tuple[str, str], int]) -> int:
    removed = 0
    if not os.path.isdir(folder):
        return 0
    for owner in os.listdir(folder):
        for name in os.listdir(os.path.join(folder, owner)):
            if (owner, name) not in known:
                os.remove(os.path.join(folder, owner, name))
                removed += 1
    return removed


def _copy_audit(source: str, target: str) -> int:
    """The daily audit files (append-only: a day's file is copied again while it grows)."""
    if not os.path.isdir(source):
        return 0
    copied = 0
    for name in sorted(os.listdir(source)):
        if name.endswith(".jsonl"):
            with open(os.path.join(source, name), "rb") as fh:
                _copy_file(fh, os.path.join(target, name))
            copied += 1
    return copied


def read_manifest(src: str) -> dict:
    try:
        with open(os.path.join(src, MANIFEST), encoding="utf-8") as fh:
            manifest = json.load(fh)
    except FileNotFoundError:
        raise BackupError(f"{src} holds no finished backup (no {MANIFEST}): run the backup again") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{src} is a backup of format {manifest.get('format')}; this version reads {FORMAT}")
    return manifest


def restore(src: str, database_path: str, upload_folder: str, audit_folder: str, encryption_key: bytes | None,
            is_empty: Callable[[], bool], progress: Progress) -> dict:
    """Copy a backup into an empty installation (the caller closed its database handle and
    runs repair after); the backup's manifest."""
    manifest = read_manifest(src)
    if manifest.get("encryption_key_id") != key_fingerprint(encryption_key):
        need = "the key it was made with (ENCRYPTION_KEY)" if manifest.get("encryption_key_id") else "no ENCRYPTION_KEY"
        raise BackupError(f"this backup's bytes need {need}; the configured key does not match")
    marker = os.path.join(os.path.dirname(database_path), RESTORING)
    resuming = os.path.exists(marker)
    if resuming:
        with open(marker, encoding="utf-8") as fh:
            if fh.read().strip() != manifest["started_at"]:
                raise BackupError(f"{marker} belongs to the restore of another backup: finish that one, or empty "
                                  "this installation")
    elif not is_empty():
        raise BackupError("restore goes into an empty installation (no account, no stored file): point "
                          "EMBEDDED_DB_PATH and UPLOAD_FOLDER at empty folders")
    os.makedirs(os.path.dirname(database_path), mode=0o700, exist_ok=True)
    with open(marker, "w", encoding="utf-8") as fh:
        fh.write(manifest["started_at"])
    for suffix in ("-wal", "-shm"):
        if os.path.exists(database_path + suffix):
            os.remove(database_path + suffix)
    with open(os.path.join(src, DATABASE), "rb") as fh:
        _copy_file(fh, database_path)
    progress("database restored")
    keys = os.path.join(src, KEYS)
    if manifest.get("encryption_key_id") and manifest.get("blobs") and not (os.path.isdir(keys) and os.listdir(keys)):
        raise BackupError(f"{src} holds sealed bytes but no data keys ({KEYS}/): it cannot be restored")
    _copy_keys(keys, os.path.join(upload_folder, KEYS_FOLDER))
    say = Throttle(progress)
    refs = _snapshot_blobs(database_path)
    count = CopyCount()
    for number, ((owner, key), _size) in enumerate(sorted(refs.items()), 1):
        source = os.path.join(src, BLOBS, _safe_part(owner), _safe_part(key))
        target = os.path.join(upload_folder, owner, key)
        if os.path.exists(source) and _present(target, os.path.getsize(source)):
            count.skipped += 1
        elif os.path.exists(source):
            with open(source, "rb") as fh:
                count.bytes += _copy_file(fh, target)
            count.copied += 1
        else:
            count.missing.append(f"{owner}/{key}")
        say(f"bytes: {number}/{len(refs)} blobs ({count.copied} copied, {count.bytes / 2**20:.1f} MiB)",
            force=number == len(refs))
    if os.path.isdir(os.path.join(src, AUDIT)):
        shutil.copytree(os.path.join(src, AUDIT), audit_folder, dirs_exist_ok=True)
    return {**manifest, "restored_blobs": count.copied + count.skipped, "missing_now": count.missing,
            "marker": marker}
