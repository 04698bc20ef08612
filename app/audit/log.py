"""Writing the audit log without slowing requests down: an event is queued in memory and
written in batches, every AUDIT_FLUSH_SECONDS (1) or sooner when many wait, by a background
thread of the worker: one database write (one transaction) and one append to the day's file
per batch, not one per request. A worker that is killed loses at most that last second's
events; one that stops normally writes them first. AUDIT_FLUSH_SECONDS=0 writes each event at
once (the tests do). An event never holds a secret or a password, and names its users only
by id (an account's deletion leaves its events without a username)."""
from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Iterator

from bson import ObjectId

from ..timeutil import isoformat, utcnow

log = logging.getLogger(__name__)
BATCH_MAX = 500
QUEUE_MAX = 50_000  # beyond this (the database down for long) the oldest are dropped, and said so


class AuditLog:
    def __init__(self, events, folder: str | None, flush_seconds: float, enabled: bool = True):
        self.events = events
        self.folder = folder
        self.flush_seconds = flush_seconds
        self.enabled = enabled
        self._queue: list[dict] = []
        self._guard = threading.Lock()
        self._writing = threading.Lock()
        self._thread: threading.Thread | None = None
        self._held = threading.local()  # events of a held() block, per thread
        self._pid = os.getpid()
        self._closed = False

    def record(self, action: str, *, actor_id: str | None = None, owner_id: str | None = None,
               share_id: str | None = None, target_id: str | None = None, address: str | None = None,
               **details) -> None:
        if not self.enabled:
            return
        event = {"_id": ObjectId(), "at": utcnow(), "action": action, "actor_id": actor_id, "owner_id": owner_id,
                 "share_id": share_id, "target_id": None if target_id is None else str(target_id),
                 "address": address, "details": details}
        held = getattr(self._held, "events", None)
        if held is not None:
            held.append(event)
        else:
            self._enqueue([event])

    @contextmanager
    def held(self) -> Iterator[None]:
        """Events this thread records in the block are queued when it ends, and dropped if it
        raises: a bulk request's chunk, whose changes commit at its end (or not at all), records
        its events after that commit, never from inside its transaction."""
        if getattr(self._held, "events", None) is not None:
            yield
            return
        self._held.events = []
        try:
            yield
            events = self._held.events
        finally:
            self._held.events = None
        if events:
            self._enqueue(events)

    def _enqueue(self, events: list[dict]) -> None:
        with self._guard:
            self._queue.extend(events)
            if len(self._queue) > QUEUE_MAX:
                del self._queue[:len(self._queue) - QUEUE_MAX]
                log.error("audit queue full: oldest events dropped")
            backlog = len(self._queue)
        if self.flush_seconds <= 0 or backlog >= BATCH_MAX:
            self.flush()
        else:
            self._ensure_writer()

    def _ensure_writer(self) -> None:
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._guard:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._pid = os.getpid()  # a forked worker starts its own writer
            self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
            self._thread.start()
            atexit.register(self._flush_at_exit)

    def _run(self) -> None:
        while not self._closed:
            time.sleep(self.flush_seconds)
            if self._closed:
                return
            try:
                self.flush()
            except Exception:  # the database is down: the events wait in the queue
                log.warning("audit events not written yet", exc_info=True)

    def _flush_at_exit(self) -> None:
        self._flush_or_warn("audit events lost at exit: the database could not be written")

    def close(self) -> None:
        """Before the database handle closes: write what is queued (an error is logged: the
        database is down) and stop the writer, which would otherwise retry on a closed handle
        every second for the rest of the process."""
        self._closed = True
        self._flush_or_warn("audit events not written before the database closed")

    def _flush_or_warn(self, message: str) -> None:
        try:
            self.flush()
        except Exception:  # the database is down or closed: logged, not raised
            log.warning(message, exc_info=True)

    def flush(self) -> None:
        """Write what is queued (callers that read the log flush first, to see their own events)."""
        with self._writing:
            with self._guard:
                batch, self._queue = self._queue, []
            if not batch:
                return
            try:
                self.events.insert_many(batch)
            except Exception:
                with self._guard:
                    self._queue[:0] = batch  # tried again at the next flush (ids make it idempotent)
                raise
            self._append_to_files(batch)

    def _append_to_files(self, batch: list[dict]) -> None:
        if not self.folder:
            return
        by_day: dict[str, list[str]] = {}
        for event in batch:
            line = {"at": isoformat(event["at"]), "id": str(event["_id"]),
                    **{k: v for k, v in event.items() if k not in ("_id", "at") and v not in (None, {})}}
            by_day.setdefault(event["at"].strftime("%Y-%m-%d"), []).append(json.dumps(line, ensure_ascii=False))
        try:
            os.makedirs(self.folder, mode=0o700, exist_ok=True)
            for day, lines in by_day.items():
                fd = os.open(os.path.join(self.folder, f"{day}.jsonl"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                try:
                    os.write(fd, ("\n".join(lines) + "\n").encode("utf-8"))
                finally:
                    os.close(fd)
        except OSError:
            log.warning("audit file not written (the events are in the database)", exc_info=True)

    def purge(self, retention_days: int) -> int:
        """Events older than the retention go: from the database, and whole days' files."""
        cutoff = utcnow() - timedelta(days=retention_days)
        removed = self.events.delete_before(cutoff)
        if self.folder and os.path.isdir(self.folder):
            for name in os.listdir(self.folder):
                try:
                    day = datetime.strptime(name, "%Y-%m-%d.jsonl").replace(tzinfo=cutoff.tzinfo)
                except ValueError:
                    continue
                if day + timedelta(days=1) <= cutoff:
                    os.unlink(os.path.join(self.folder, name))
        return removed
