"""WebDAV locks kept in the database (app.dav.repo), for wsgidav's LockManager.

A lock's root is a path below /dav, starting with the username. It is found by its key: every
segment as sibling names are compared (NFC, case-folded), because ``Notes.txt`` and
``notes.txt`` name the same file here, so a lock on one protects the other. Acquiring a lock
is a check then a write; the check runs under a lease in the database per user (the tree
lock's mechanism, under its own key), so two workers or nodes cannot both grant an exclusive
lock on one resource.
"""
from __future__ import annotations

import time
from urllib.parse import unquote

from flask import g, has_request_context
from wsgidav.lock_man.lock_manager import LockManager, generate_lock_token, normalize_lock_root, validate_lock

from ..drive.names import name_key
from ..drive.tree import Tree

LOCK_TIME_OUT_DEFAULT = 604800  # a week, as wsgidav's own storages
LOCK_TIME_OUT_MAX = 4 * 604800


def path_key(path: str) -> str:
    """``/Alice/Notes.txt`` (or ``/alice/%C3%89t%C3%A9.txt``, as a reference URL spells it) →
    ``/alice/notes.txt``: each segment decoded, then compared as names are (NFC, case-folded)."""
    return "/".join(name_key(unquote(segment)) for segment in normalize_lock_root(path).split("/"))


def lock_key(path: str) -> str:
    """The key of a lock on ``path``: per item, however the request reaches it (through a share
    too: DavRequest.lock_key); ``path_key`` outside a WebDAV request."""
    if has_request_context() and "dav" in g:
        return g.dav.lock_key(path)
    return path_key(path)


def _seen_from(path: str, key: str, record: dict) -> str:
    """A lock found at or below ``path`` (whose key is ``key``), its root written as the request
    reaches it: wsgidav compares the two as text (``/alice/notes.txt`` must be under a lock on
    ``/alice/Notes.txt``; bob sees alice's lock on /alice/Project/a.txt as one on
    /Shared with me/Project/a.txt). The segments below ``path`` keep the lock's own spelling."""
    asked = normalize_lock_root(path).rstrip("/").split("/")
    stored = normalize_lock_root(record["root"]).split("/")
    below = len(record["root_key"].rstrip("/").split("/")) - len(key.rstrip("/").split("/"))
    return "/".join(asked + (stored[len(stored) - below:] if below > 0 else [])) or "/"


def _clamped(timeout) -> float:
    timeout = LOCK_TIME_OUT_DEFAULT if timeout is None else float(timeout)
    return LOCK_TIME_OUT_MAX if timeout < 0 or timeout > LOCK_TIME_OUT_MAX else timeout


class DatabaseLockStorage:
    """wsgidav's lock storage interface (LockStorageDict's methods) over a locks repository."""

    def __init__(self, repository):
        self.repository = repository

    def __repr__(self) -> str:
        return self.__class__.__name__

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def cleanup(self) -> None:
        self.repository.delete_expired(time.time())

    def clear(self) -> None:
        """Remove every lock (wsgidav's storage interface; used by maintenance, not by requests)."""
        for record in self.repository.at("/") + self.repository.below("/"):
            self.repository.delete(record["_id"])

    @staticmethod
    def _public(record: dict, root: str | None = None) -> dict:
        lock = {k: v for k, v in record.items() if k not in ("_id", "root_key")}
        lock["token"] = record["_id"]
        lock["owner"] = lock["owner"].encode("utf-8")  # wsgidav wants XML bytes
        if root is not None:
            lock["root"] = root
        return lock

    def _alive(self, record: dict | None) -> bool:
        if record is None:
            return False
        if 0 <= record["expire"] < time.time():
            self.repository.delete(record["_id"])
            return False
        return True

    def get(self, token: str) -> dict | None:
        record = self.repository.get(token)
        return self._public(record) if self._alive(record) else None

    def create(self, path: str, lock: dict) -> dict:
        root = normalize_lock_root(path)
        timeout = _clamped(lock.get("timeout"))
        lock.update(root=root, timeout=timeout, expire=time.time() + timeout)
        validate_lock(lock)
        lock["token"] = generate_lock_token()
        record = {k: v for k, v in lock.items() if k != "token"}
        record["owner"] = lock["owner"].decode("utf-8")  # the owner element, XML: text in the database
        self.repository.insert({**record, "_id": lock["token"], "root_key": lock_key(root)})
        return lock

    def refresh(self, token: str, *, timeout) -> dict:
        timeout = _clamped(timeout)
        record = self.repository.refresh(token, timeout, time.time() + timeout)
        if record is None:
            raise ValueError(f"no lock {token}")
        return self._public(record)

    def delete(self, token: str) -> bool:
        return self.repository.delete(token)

    def get_lock_list(self, path: str, *, include_root: bool, include_children: bool, token_only: bool) -> list:
        key = lock_key(path)
        records = (self.repository.at(key) if include_root else []) + (
            self.repository.below(key) if include_children else [])
        locks = [self._public(r, _seen_from(path, key, r)) for r in records if self._alive(r)]
        return [lock["token"] for lock in locks] if token_only else locks


class DatabaseLockManager(LockManager):
    """wsgidav's LockManager whose grant (check, then write) holds a per-user lease in the
    database, not only a lock in this process."""

    def __init__(self, storage: DatabaseLockStorage, tree: Tree):
        super().__init__(storage)
        self.tree = tree

    def acquire(self, *, url, **kwargs):
        user = lock_key(url).split("/")[1] if url.strip("/") else ""  # the owner, through a share too
        with self.tree.locked(f"dav-locks:{user}"):
            return super().acquire(url=url, **kwargs)
