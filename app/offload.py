"""Blocking work kept off the event loop of Gunicorn's gevent worker (gunicorn_worker.py).

Under gevent every connection is a greenlet on one OS thread: a call that blocks in C without
yielding (hashing a password, about 50 ms of CPU; an fsync, up to seconds on a busy disk) would
stop every other request for that long. These run such calls in gevent's pool of real threads
(hashlib and os.fsync release the GIL), and call them directly anywhere else (threads, tests).
"""
from __future__ import annotations

import os
import sys
from typing import Callable, TypeVar

from werkzeug import security

T = TypeVar("T")


def off_loop(func: Callable[..., T], *args) -> T:
    """``func(*args)``, in a real thread when this process runs gevent's event loop."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("socket"):
        import gevent

        return gevent.get_hub().threadpool.apply(func, args)
    return func(*args)


def generate_password_hash(password: str, method: str | None = None) -> str:
    """Werkzeug's salted hash, with its default method (scrypt) unless ``method`` names another
    (``PASSWORD_HASH_METHOD``: the testing profile's cheap one). Checking reads the method back
    from the hash, so hashes of any method keep working whatever the setting."""
    args = (password,) if method is None else (password, method)
    return off_loop(security.generate_password_hash, *args)


def check_password_hash(pwhash: str, password: str) -> bool:
    return off_loop(security.check_password_hash, pwhash, password)


def fsync(fd: int) -> None:
    off_loop(os.fsync, fd)
