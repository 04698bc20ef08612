"""Reconciles the bytes in storage (below ``UPLOAD_FOLDER`` on the local backend), through the
storage's inventory operations, with the records that describe them: what a
killed worker, a full disk, a lost database connection or a hand-edited folder left behind
(docs/RELIABILITY.md, "Order, then reconcile").

What ``fix`` does, in this order (records before bytes, as every delete does):

1. versions whose file record is gone are deleted, and so are versions that repeat their
   file's current content from the same moment (a replace or restore that stopped after
   writing the version: the file never moved on);
2. content that cannot be served (its blob record is missing, its bytes are missing, or
   their size or SHA-256 no longer match) is looked for elsewhere first: another blob
   record of the same user with that SHA-256, or unreferenced bytes that hash to it. When
   found, the records point there and nothing is lost;
3. otherwise a file falls back to its newest intact version (which stops being a version),
   a file without one is deleted for good, and a version is deleted; each is reported by
   id, user, name and SHA-256 so it can be restored from a backup. The broken blob record
   goes, then its bytes;
4. reference counts are set to the number of files and versions using each blob; a blob
   that nothing uses loses its record, then its bytes; each user's usage counter (what the
   quota is enforced against) is set to the sum of their blob records;
5. bytes that no record references are deleted: committed ones unchanged for
   ``grace_s``, staging files older than a day (a running upload may be writing younger
   ones, which are never touched).

Symlinks (and special files) below ``UPLOAD_FOLDER`` are reported, never followed, and
``fix`` changes nothing while any is there: a user folder that is a link makes that user's
blobs look missing, and fixing would delete their records. Remove the link, or move what it
points to into place, and run repair again.

Run ``fix`` with the service stopped: an upload, copy or delete in flight holds a reference
count briefly ahead of its records. The report alone is safe at any time.
"""
from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from bson import ObjectId

from .drive.repo import BlobsRepository, ItemsRepository, VersionsRepository
from .drive.versions import content_of, is_real_version
from .storage import Anomaly, BlobStorage, StoredEntry
from .storage.base import STAGING_MAX_AGE_S
from .timeutil import utcnow

log = logging.getLogger(__name__)
# A committed blob is renamed into place a moment before its record is written.
STRAY_GRACE_S = 3600


@dataclass
class BrokenBlob:
    """A blob record whose bytes cannot be served: ``missing``, ``size_mismatch`` or
    ``sha256_mismatch``."""

    blob: dict
    problem: str


@dataclass
class RepairReport:
    verified: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    stray_bytes: list[StoredEntry] = field(default_factory=list)
    stale_staging: list[StoredEntry] = field(default_factory=list)
    left_alone: list[StoredEntry] = field(default_factory=list)
    not_followed: list[Anomaly] = field(default_factory=list)
    broken_blobs: list[BrokenBlob] = field(default_factory=list)
    wrong_refs: list[tuple[dict, int]] = field(default_factory=list)
    dangling_files: list[dict] = field(default_factory=list)
    dangling_versions: list[dict] = field(default_factory=list)
    orphan_versions: list[dict] = field(default_factory=list)
    unfinished_versions: list[dict] = field(default_factory=list)
    wrong_usage: list[tuple[str, int, int]] = field(default_factory=list)  # (user, counted, true)
    users_of: dict[ObjectId, tuple[list[dict], list[dict]]] = field(default_factory=dict)
    unfinished_uploads: list[dict] = field(default_factory=list)  # not a problem: they resume or expire

    @property
    def problems(self) -> int:
        return (len(self.stray_bytes) + len(self.stale_staging) + len(self.broken_blobs) + len(self.wrong_refs)
                + len(self.dangling_files) + len(self.dangling_versions) + len(self.orphan_versions)
                + len(self.unfinished_versions) + len(self.wrong_usage) + len(self.not_followed))

    @property
    def clean(self) -> bool:
        return self.problems == 0

    def lines(self) -> list[str]:
        """The report for people: counts, then every problem with the ids to look up."""
        c = self.counts
        out = [f"scanned {c.get('blobs', 0)} blob(s), {c.get('files', 0)} file(s), {c.get('versions', 0)} "
               f"version(s), {c.get('stored', 0)} stored file(s)"
               + (", every byte hashed" if self.verified else " (sizes checked; --verify hashes every byte)")]

        def section(title: str, rows: list[str]) -> None:
            out.append(f"{title}: {len(rows)}")
            out.extend(f"  {row}" for row in rows)

        section("symlinks and special files below UPLOAD_FOLDER (not followed; fix by hand before --fix)",
                [f"{a.path} ({a.kind})" for a in self.not_followed])
        section("bytes without a record", [_entry(e) for e in self.stray_bytes])
        section("stale staging files (older than a day)", [_entry(e) for e in self.stale_staging])
        section("records without bytes", [self._broken(b) for b in self.broken_blobs if b.problem == "missing"])
        section("bytes that no longer match their record",
                [self._broken(b) for b in self.broken_blobs if b.problem != "missing"])
        section("wrong reference counts", [f"blob {b['_id']} user {b['owner_id']}: refs {b['refs']}, used by {n}"
                                           for b, n in self.wrong_refs])
        section("files pointing to a missing blob record",
                [f"file {f['_id']} user {f['owner_id']} {f.get('name')!r} blob {f.get('blob_id')}"
                 for f in self.dangling_files])
        section("versions pointing to a missing blob record",
                [f"version {v['_id']} of file {v['file_id']} user {v['owner_id']} blob {v.get('blob_id')}"
                 for v in self.dangling_versions])
        section("versions whose file is gone",
                [f"version {v['_id']} of file {v['file_id']} user {v['owner_id']}" for v in self.orphan_versions])
        section("versions left by an unfinished replace or restore",
                [f"version {v['_id']} of file {v['file_id']} user {v['owner_id']}" for v in self.unfinished_versions])
        section("wrong usage counters", [f"user {owner}: counted {counted} bytes, blobs hold {true}"
                                         for owner, counted, true in self.wrong_usage])
        if self.unfinished_uploads:
            out.append(f"unfinished resumable uploads (resumed by their clients or swept when they expire): "
                       f"{len(self.unfinished_uploads)}")
            out.extend(f"  upload {u['_id']} user {u['owner_id']} {u['name']!r} {u['received']} of {u['size']} "
                       f"bytes, {u['state']}, expires {u['expires_at']}" for u in self.unfinished_uploads)
        if self.left_alone:
            out.append(f"left alone (an upload may still be writing them): {len(self.left_alone)}")
            out.extend(f"  {_entry(e)}" for e in self.left_alone)
        out.append("clean" if self.clean else f"{self.problems} problem(s) found")
        return out

    def _broken(self, broken: BrokenBlob) -> str:
        blob = broken.blob
        files, versions = self.users_of.get(blob["_id"], ([], []))
        return (f"blob {blob['_id']} user {blob['owner_id']} key {blob['storage_key']} ({broken.problem}); "
                f"files {[str(f['_id']) for f in files]}, versions {[str(v['_id']) for v in versions]}")


def _entry(entry: StoredEntry) -> str:
    return f"{entry.owner_id or '.incoming'}/{entry.name} ({entry.size} bytes)"


class RepairService:
    def __init__(self, items: ItemsRepository, blobs: BlobsRepository, versions: VersionsRepository,
                 storage: BlobStorage, grace_s: int = STRAY_GRACE_S, uploads=None):
        self.items = items
        self.uploads = uploads  # resumable uploads: their reservations count as used
        self.blobs = blobs
        self.versions = versions
        self.storage = storage
        self.grace_s = grace_s

    # -- finding -----------------------------------------------------------------------------

    def scan(self, verify: bool = False) -> RepairReport:
        """Compare records and bytes; with ``verify``, hash every stored byte."""
        report = RepairReport(verified=verify)
        blobs = self.blobs.all_records()
        files = self.items.file_contents()
        versions = self.versions.all_contents()
        by_id = {b["_id"]: b for b in blobs}
        files_by_id = {f["_id"]: f for f in files}
        users_of: dict[ObjectId, tuple[list[dict], list[dict]]] = defaultdict(lambda: ([], []))
        for file in files:
            if file.get("blob_id") in by_id:
                users_of[file["blob_id"]][0].append(file)
            else:
                report.dangling_files.append(file)
        for version in versions:
            file = files_by_id.get(version["file_id"])
            if file is None:
                report.orphan_versions.append(version)
            elif not is_real_version(version, file) or (
                    file.get("blob_id") == version.get("blob_id") and file.get("updated_at") == version.get("created_at")):
                report.unfinished_versions.append(version)
            if not is_real_version(version, file):
                continue  # the record of a commit that never happened holds no reference
            if version.get("blob_id") in by_id:
                users_of[version["blob_id"]][1].append(version)
            else:
                report.dangling_versions.append(version)
        report.users_of = dict(users_of)

        for blob in blobs:
            problem = self._check_bytes(blob, verify)
            if problem:
                report.broken_blobs.append(BrokenBlob(blob, problem))
            files_using, versions_using = report.users_of.get(blob["_id"], ([], []))
            used = len(files_using) + len(versions_using)
            if blob["refs"] != used or used == 0:
                report.wrong_refs.append((blob, used))

        report.wrong_usage = self._usage_errors(blobs)
        entries, report.not_followed = self.storage.inventory()
        referenced = {(b["owner_id"], b["storage_key"]) for b in blobs}
        now = time.time()
        for entry in entries:
            if entry.staging:
                stale = now - entry.mtime > STAGING_MAX_AGE_S
                (report.stale_staging if stale else report.left_alone).append(entry)
            elif (entry.owner_id, entry.name) not in referenced:
                recent = now - entry.changed_at < self.grace_s
                (report.left_alone if recent else report.stray_bytes).append(entry)
        report.unfinished_uploads = self.uploads.unfinished() if self.uploads is not None else []
        report.counts = {"blobs": len(blobs), "files": len(files), "versions": len(versions), "stored": len(entries)}
        return report

    def _usage_errors(self, blobs: list[dict]) -> list[tuple[str, int, int]]:
        """Users whose usage counter differs from the sum of their blob records (a user
        without a counter yet is fine: it is made from that sum on first use)."""
        true: Counter = Counter()
        for blob in blobs:
            true[blob["owner_id"]] += blob["size"]
        if self.uploads is not None:
            true.update(self.uploads.reserved_by_owner())
        return [(owner, counted, true[owner]) for owner, counted in self.blobs.counted_usage().items()
                if counted != true[owner]]

    def _check_bytes(self, blob: dict, verify: bool) -> str | None:
        size = self.storage.size_of(blob["owner_id"], blob["storage_key"])
        if size is None:
            return "missing"
        if size != blob["size"]:
            return "size_mismatch"
        if verify and self.storage.sha256_of(blob["owner_id"], blob["storage_key"]) != blob["sha256"]:
            return "sha256_mismatch"
        return None

    # -- fixing ------------------------------------------------------------------------------

    def fix(self, report: RepairReport) -> list[str]:
        """Repair what ``report`` found (see the module docstring); returns what was done."""
        done: list[str] = []
        if report.not_followed:
            done.append(f"nothing fixed: {len(report.not_followed)} symlink(s) or special file(s) below "
                        f"UPLOAD_FOLDER; remove them or move what they point to into place, then run again")
            log.warning("repair: %s", done[0])
            return done
        for version in report.orphan_versions:
            self.versions.delete(version["_id"])
            done.append(f"deleted version {version['_id']} of missing file {version['file_id']}")
        for version in report.unfinished_versions:
            self.versions.delete(version["_id"])
            done.append(f"deleted version {version['_id']} of file {version['file_id']}: a copy of its current "
                        f"content left by an unfinished replace")
        strays = list(report.stray_bytes)
        unusable = self._recover_broken(report.broken_blobs, strays, done)
        orphans = {v["_id"] for v in report.orphan_versions + report.unfinished_versions}
        dangling_versions = [v for v in report.dangling_versions if v["_id"] not in orphans]
        unusable |= self._recover_dangling(report.dangling_files, dangling_versions, strays, done)
        if unusable:
            self._drop_unservable(unusable, done)
        for broken in report.broken_blobs:
            if broken.blob["_id"] in unusable:
                self.blobs.delete(broken.blob["_id"])
                self.storage.delete(broken.blob["owner_id"], broken.blob["storage_key"])
                done.append(f"deleted broken blob {broken.blob['_id']} ({broken.problem}) and its bytes")
        self._fix_refs(done)
        self._fix_usage(done)
        for entry in strays + report.stale_staging:
            self.storage.remove_entry(entry)
            done.append(f"deleted {_entry(entry)}")
        for line in done:
            log.info("repair: %s", line)
        return done

    def _recover_broken(self, broken: list[BrokenBlob], strays: list[StoredEntry], done: list[str]) -> set:
        """Point broken blob records at unreferenced bytes with their content, where there are
        any; returns the ids of those that stay broken."""
        unusable = set()
        for item in broken:
            blob = item.blob
            found = self._matching_stray(blob["owner_id"], blob["sha256"], blob["size"], strays)
            if found is None:
                unusable.add(blob["_id"])
                continue
            self.blobs.set_storage_key(blob["_id"], found.name)
            if item.problem != "missing":
                self.storage.delete(blob["owner_id"], blob["storage_key"])
            done.append(f"blob {blob['_id']}: its content was found again in {_entry(found)}")
        return unusable

    def _recover_dangling(self, files: list[dict], versions: list[dict], strays: list[StoredEntry],
                          done: list[str]) -> set:
        """Give records whose blob record is gone a blob again: the user's record of the same
        content, or a new record for unreferenced bytes with it. Returns the ids still missing."""
        groups: dict[tuple[str, object], list[tuple[str, dict]]] = defaultdict(list)
        for kind, records in (("file", files), ("version", versions)):
            for record in records:
                groups[(record["owner_id"], record.get("blob_id"))].append((kind, record))
        unusable = set()
        for (owner_id, blob_id), users in groups.items():
            sha256, size = users[0][1].get("sha256"), users[0][1].get("size")
            existing = self.blobs.content(owner_id, sha256) if sha256 else None
            if existing is not None and self._check_bytes(existing, verify=False) is None:
                for kind, record in users:
                    self._point_at(kind, record, existing["_id"])
                done.append(f"{len(users)} record(s) of blob {blob_id} now use blob {existing['_id']} (same content)")
                continue
            found = None if existing is not None or not sha256 else self._matching_stray(owner_id, sha256, size,
                                                                                         strays)
            if found is None or not isinstance(blob_id, ObjectId):
                unusable.add(blob_id)
                continue
            self.blobs.insert({"_id": blob_id, "owner_id": owner_id, "sha256": sha256, "size": size,
                               "storage_key": found.name, "refs": len(users), "created_at": utcnow()})
            done.append(f"blob {blob_id}: record made again for {_entry(found)}")
        return unusable

    def _point_at(self, kind: str, record: dict, blob_id: ObjectId) -> None:
        if kind == "file":
            self.items.update(record["owner_id"], record["_id"], {"blob_id": blob_id})
        else:
            self.versions.set_blob(record["_id"], blob_id)

    def _matching_stray(self, owner_id: str, sha256: str, size: int, strays: list[StoredEntry]) -> StoredEntry | None:
        """Unreferenced bytes of this user with this content (hashed only when the size fits);
        taken out of ``strays`` so they are kept."""
        for entry in strays:
            if entry.owner_id == owner_id and entry.size == size and not entry.staging:
                try:
                    matches = self.storage.sha256_of(owner_id, entry.name) == sha256
                except (OSError, ValueError):
                    continue
                if matches:
                    strays.remove(entry)
                    return entry
        return None

    def _drop_unservable(self, unusable: set, done: list[str]) -> None:
        """Files fall back to their newest intact version or are deleted; versions go."""
        for file in self.items.file_contents():
            if file.get("blob_id") not in unusable:
                continue
            history = self.versions.for_file(file)
            intact = next((v for v in history if v.get("blob_id") not in unusable), None)
            what = f"file {file['_id']} user {file['owner_id']} {file.get('name')!r} sha256 {file.get('sha256')}"
            if intact is None:
                self.items.delete(file["_id"])
                done.append(f"deleted {what}: its content is lost")
            else:
                self.items.update(file["owner_id"], file["_id"],
                                  {**content_of(intact), "updated_at": utcnow()})
                self.versions.delete(intact["_id"])
                done.append(f"rolled back {what} to its version {intact['_id']} of {intact['created_at']}: "
                            f"the newer content is lost")
        for version in self.versions.all_contents():
            if version.get("blob_id") in unusable:
                self.versions.delete(version["_id"])
                done.append(f"deleted version {version['_id']} of file {version['file_id']} "
                            f"sha256 {version.get('sha256')}: its content is lost")

    def _fix_refs(self, done: list[str]) -> None:
        files = self.items.file_contents()
        by_id = {f["_id"]: f for f in files}
        real = [v for v in self.versions.all_contents() if is_real_version(v, by_id.get(v["file_id"]))]
        used = Counter(_blob_ids(files, real))
        for blob in self.blobs.all_records():
            true = used[blob["_id"]]
            if blob["refs"] == true and true:
                continue
            if true == 0:
                if self.blobs.delete_unused(blob["_id"], blob["refs"]):
                    self.storage.delete(blob["owner_id"], blob["storage_key"])
                    done.append(f"deleted unused blob {blob['_id']} user {blob['owner_id']} and its bytes")
                    continue
            elif self.blobs.set_refs(blob["_id"], blob["refs"], true):
                done.append(f"blob {blob['_id']}: refs {blob['refs']} -> {true}")
                continue
            done.append(f"blob {blob['_id']} changed while repairing; run repair again")


    def _fix_usage(self, done: list[str]) -> None:
        for owner, counted, true in self._usage_errors(self.blobs.all_records()):
            if self.blobs.set_usage(owner, counted, true):
                done.append(f"user {owner}: usage {counted} -> {true} bytes")
            else:
                done.append(f"user {owner}: usage changed while repairing; run repair again")


def _blob_ids(*groups: Iterable[dict]) -> Iterable[ObjectId]:
    for records in groups:
        for record in records:
            if record.get("blob_id") is not None:
                yield record["blob_id"]
