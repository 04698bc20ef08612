"""Thumbnails of stored files for the web app's grid and list (issue 18): drawn on the server,
cached by content, never more than a few at once.

The caller has checked access already (the route asks the one access rule) and hands over the
file's :class:`~app.drive.blobs.Download`. What this adds:

- the rules: which types have a thumbnail, the size and byte limits (415 ``thumbnail_unavailable``
  otherwise, before anything is read where the record tells);
- the cache (app/thumbnails/cache.py), on disk per node, or in memory with encryption at rest;
- where the work runs: bytes are read here, on the request's own greenlet (an object store's
  connections belong to the event loop's thread), then drawn in a real thread (app/offload.py)
  so other requests go on, at most THUMBNAIL_CONCURRENCY at once per process, and PDFium (not
  thread-safe) one at a time.
"""
from __future__ import annotations

import io
import logging
import os
import threading
from contextlib import nullcontext
from typing import Callable, Iterable, Mapping

from ..drive.blobs import Download
from ..offload import off_loop
from ..storage import LocalFile, OpenedBlob
from .cache import CacheKey, DiskCache, MemoryCache
from .render import (MIMETYPE, PDF, VIDEO, CappedReader, Limits, ThumbnailUnavailable, configure_pillow, kind_of,
                     render)

log = logging.getLogger(__name__)
SIZES = (64, 128, 256, 512)  # list view, list view on a dense screen, grid, grid on a dense screen
DEFAULT_SIZE = 256
MEMORY_CACHE_BYTES = 32 * 1024 * 1024
RENDER_VERSION = 1  # part of every ETag: drawing differently later must not match old validators


class Thumbnail:
    """One thumbnail as the route serves it: its validator is known at once, its bytes are
    drawn (or read from the cache) only when :meth:`data` is asked, so a 304 costs nothing."""

    mimetype = MIMETYPE

    def __init__(self, key: CacheKey, produce: Callable[[], bytes]):
        self.etag = f"{key.sha256}-{key.size}-v{RENDER_VERSION}"
        self._produce = produce

    def data(self) -> bytes:
        return self._produce()


class ThumbnailService:
    def __init__(self, cache: DiskCache | MemoryCache, limits: Limits, concurrency: int):
        self.cache = cache
        self.limits = limits
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self._pdfium = threading.Lock()
        configure_pillow(limits.max_pixels)

    @classmethod
    def from_config(cls, config: Mapping, instance_path: str) -> ThumbnailService:
        """On disk below ``<instance>/thumbnails``, or in memory when ENCRYPTION_KEY is set."""
        cache = (MemoryCache(MEMORY_CACHE_BYTES) if config.get("ENCRYPTION_KEY")
                 else DiskCache(os.path.join(instance_path, "thumbnails")))
        limits = Limits(config["THUMBNAIL_MAX_PIXELS"], config["THUMBNAIL_MAX_SOURCE_BYTES"])
        return cls(cache, limits, config["THUMBNAIL_CONCURRENCY"])

    def thumbnail(self, download: Download, size: int) -> Thumbnail:
        """The file's thumbnail within ``size``×``size``; 415 ``thumbnail_unavailable`` at once for
        a type without one or a file over THUMBNAIL_MAX_SOURCE_BYTES (videos are read only as far
        as that), later for a file that cannot be drawn."""
        kind = kind_of(download.content_type)
        if kind is None:
            raise ThumbnailUnavailable(f"Files of type {download.content_type} have no thumbnail.")
        if kind != VIDEO and download.size > self.limits.max_source_bytes:
            raise ThumbnailUnavailable("This file is larger than thumbnails are drawn for "
                                       "(THUMBNAIL_MAX_SOURCE_BYTES).")
        key = CacheKey(str(download.blob["owner_id"]), download.sha256, size)
        return Thumbnail(key, lambda: self._cached_or_drawn(download, kind, key))

    def _cached_or_drawn(self, download: Download, kind: str, key: CacheKey) -> bytes:
        data = self.cache.get(key)
        if data is not None:
            return data
        with self._slots:
            data = self.cache.get(key)  # drawn by another request while this one waited
            if data is None:
                data = self._draw(download, kind, key.size)
                self.cache.put(key, data)
        return data

    def _draw(self, download: Download, kind: str, size: int) -> bytes:
        with download.open() as opened, (self._pdfium if kind == PDF else nullcontext()):
            source = self._source(opened)
            try:
                return off_loop(render, kind, download.content_type, source, size, self.limits)
            except ThumbnailUnavailable as refused:
                log.info("thumbnail unavailable file_id=%s reason=%s", download.file_id, refused.__cause__ or refused)
                raise

    def _source(self, opened: OpenedBlob):
        """A local file is read by the drawing thread itself, capped; other storage (an object
        store, decryption) is read here first, no further than the cap."""
        if isinstance(opened, LocalFile):
            return CappedReader(opened.file, self.limits.max_source_bytes)
        buffer = io.BytesIO()
        while buffer.tell() < self.limits.max_source_bytes:
            chunk = opened.file.read(min(1024 * 1024, self.limits.max_source_bytes - buffer.tell()))
            if not chunk:
                break
            buffer.write(chunk)
        buffer.seek(0)
        return buffer

    def forget_owner(self, owner_id: str) -> None:
        """An account's thumbnails go with it."""
        self.cache.forget_owner(owner_id)

    def purge_orphans(self, live_hashes: Callable[[str], Iterable[str]]) -> int:
        return self.cache.purge(live_hashes)
