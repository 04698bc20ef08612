"""The embedded, on-disk database used when ``MONGO_URI`` is not set.

It is litemongo (SQLite files queried by a vendored mongomock engine), with two changes
that matter for a file service:

* every commit is fsynced (``synchronous=FULL``), so a 201 survives a power cut, not
  only a killed process;
* SQLite connections may only be used by the thread that opened them, and the query
  engine is not thread-safe, so all calls run on one dedicated thread
  (:class:`SerialExecutor`).  Gunicorn's threads queue there; file bytes never do.
"""
from __future__ import annotations

import concurrent.futures
import pathlib
import threading
from typing import Any, Callable, TypeVar

from litemongo import MongoClient as LiteMongoClient
from litemongo import sqlite_store

T = TypeVar("T")


class _DurableCollectionStore(sqlite_store.CollectionStore):
    def open(self):
        super().open()
        self._connection.execute("PRAGMA synchronous=FULL")
        self._connection.execute("PRAGMA busy_timeout=10000")


class _DurableDatabaseStore(sqlite_store.DatabaseStore):
    def __getitem__(self, col_name):
        if col_name not in self._collections:
            self._collections[col_name] = _DurableCollectionStore(
                self._dirpath / col_name, codec_options=self._codec_options)
        return self._collections[col_name]


class _DurableServerStore(sqlite_store.ServerStore):
    def __getitem__(self, db_name):
        if db_name not in self._databases:
            self._databases[db_name] = _DurableDatabaseStore(self._dirpath / db_name)
        return self._databases[db_name]


class SerialExecutor:
    """Runs callables one at a time on a single thread that owns the SQLite handles."""

    def __init__(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="embedded-db")
        self._thread_id: int | None = None

    def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if threading.get_ident() == self._thread_id:
            return func(*args, **kwargs)
        return self._pool.submit(self._call, func, args, kwargs).result()

    def _call(self, func, args, kwargs):
        self._thread_id = threading.get_ident()
        return func(*args, **kwargs)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


def open_embedded_client(path: str, executor: SerialExecutor) -> LiteMongoClient:
    """Open (creating if needed) the store under ``path`` on the executor's thread."""
    pathlib.Path(path).mkdir(parents=True, exist_ok=True)
    return executor.run(lambda: LiteMongoClient(_DurableServerStore(path)))
