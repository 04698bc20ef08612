"""Where drawn thumbnails are kept: derived data, safe to lose, per node.

Keyed by the owner, the content's SHA-256 and the size, so a changed file simply has new keys
(the old ones are orphans ``purge`` removes) and every copy, version and share of the same
content shares one entry. On disk (:class:`DiskCache`) an entry is written to a temporary file
and renamed into place, so parallel requests and workers never see half a file; it is not
fsynced (a crash may lose it, and a torn one fails the check on reading and is drawn again).
With encryption at rest nothing may reach the disk in the clear: :class:`MemoryCache` keeps a
few megabytes per process instead.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterable

log = logging.getLogger(__name__)
TEMP_PREFIX = ".tmp-"
TEMP_MAX_AGE_S = 3600  # a temporary file older than this was left by a killed worker
_OWNER = re.compile(r"[0-9A-Za-z_-]{1,64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ENTRY = re.compile(r"(?P<sha256>[0-9a-f]{64})-(?P<size>[0-9]+)\.webp")


@dataclass(frozen=True)
class CacheKey:
    owner_id: str
    sha256: str
    size: int

    def __post_init__(self):
        # Server-made values, checked anyway: they become file names.
        if not (_OWNER.fullmatch(self.owner_id) and _SHA256.fullmatch(self.sha256)):
            raise ValueError(f"not a thumbnail key: {self!r}")

    @property
    def file_name(self) -> str:
        return f"{self.sha256}-{self.size}.webp"


def is_whole_webp(data: bytes) -> bool:
    """A WebP file whose RIFF header gives its own length: a torn write fails this."""
    return (len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP"
            and int.from_bytes(data[4:8], "little") + 8 == len(data))


class DiskCache:
    """``<root>/<owner id>/<sha256[:2]>/<sha256>-<size>.webp``: one folder per owner, removed
    with the account."""

    def __init__(self, root: str):
        self.root = root

    def _path(self, key: CacheKey) -> str:
        return os.path.join(self.root, key.owner_id, key.sha256[:2], key.file_name)

    def get(self, key: CacheKey) -> bytes | None:
        try:
            with open(self._path(key), "rb") as file:
                data = file.read()
        except OSError:
            return None
        return data if is_whole_webp(data) else None

    def put(self, key: CacheKey, data: bytes) -> None:
        """Keep ``data``; a failure to write (disk full) only costs drawing it again."""
        path = self._path(key)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=TEMP_PREFIX)
            try:
                with os.fdopen(fd, "wb") as file:
                    file.write(data)
                os.replace(temp, path)
            except BaseException:
                os.unlink(temp)
                raise
        except OSError:
            log.warning("thumbnail not cached user_id=%s", key.owner_id, exc_info=True)

    def forget_owner(self, owner_id: str) -> None:
        if _OWNER.fullmatch(owner_id):
            shutil.rmtree(os.path.join(self.root, owner_id), ignore_errors=True)

    def purge(self, live_hashes: Callable[[str], Iterable[str]]) -> int:
        """Remove entries whose content their owner no longer stores (``live_hashes(owner_id)``:
        the SHA-256 of every blob the owner has; none for an account that is gone), and
        temporary files left by killed workers. Returns how many files went."""
        removed = 0
        try:
            owners = [e for e in os.scandir(self.root) if e.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return 0
        for owner in owners:
            live = set(live_hashes(owner.name))
            for folder, _, names in os.walk(owner.path):
                for name in names:
                    removed += self._purge_one(os.path.join(folder, name), name, live)
            if not live:
                shutil.rmtree(owner.path, ignore_errors=True)
        return removed

    @staticmethod
    def _purge_one(path: str, name: str, live: set[str]) -> int:
        entry = _ENTRY.fullmatch(name)
        if entry is not None and entry["sha256"] in live:
            return 0
        try:
            if entry is None and name.startswith(TEMP_PREFIX) and time.time() - os.path.getmtime(path) < TEMP_MAX_AGE_S:
                return 0  # being written right now
            os.unlink(path)
            return 1
        except FileNotFoundError:
            return 0


class MemoryCache:
    """The most recently used thumbnails, up to ``max_bytes``, in this process only."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[CacheKey, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: CacheKey) -> bytes | None:
        with self._lock:
            data = self._entries.get(key)
            if data is not None:
                self._entries.move_to_end(key)
            return data

    def put(self, key: CacheKey, data: bytes) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            self._bytes += len(data) - (len(old) if old else 0)
            self._entries[key] = data
            while self._bytes > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped)

    def forget_owner(self, owner_id: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k.owner_id == owner_id]:
                self._bytes -= len(self._entries.pop(key))

    def purge(self, live_hashes: Callable[[str], Iterable[str]]) -> int:
        return 0  # it forgets on its own
