"""Extensions, created unbound and initialised by the factory."""
import atexit
import os

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager

from . import ratelimit_sqlite  # registers the "sqlite" storage scheme with limits
from .db import EXTENSION_KEY as DATABASE_KEY

# Statuses whose Retry-After means something to a client (RFC 9110: 3xx, 429, 503).
_RETRY_AFTER_STATUSES = frozenset((301, 302, 303, 307, 308, 429, 503))


def _retry_after_only_when_throttled(response: Response) -> Response:
    """Flask-Limiter's headers put Retry-After on every limited answer, a 200 or a 401 login
    included, where clients read it as "wait before the next request". Keep it where it is
    meant: the 429 (and 503 or a redirect, should one carry it)."""
    if response.status_code not in _RETRY_AFTER_STATUSES:
        response.headers.pop("Retry-After", None)
    return response


class _ClosedClient:
    """Stands in for a closed MongoClient: false, so limits' ``__del__`` leaves it alone."""

    def __bool__(self) -> bool:
        return False

    def close(self) -> None:
        pass


def default_storage_uri(app: Flask) -> str:
    """Where counters live when RATELIMIT_STORAGE_URI is not set (with MONGO_URI, config.py
    already chose MongoDB): beside the embedded SQLite database, so every worker shares
    them; in process memory for the in-memory databases of unit tests."""
    database = app.extensions.get(DATABASE_KEY)
    if getattr(database, "kind", None) == "sqlite":
        return ratelimit_sqlite.storage_uri(os.path.dirname(database.path))
    return "memory://"


class DriveLimiter(Limiter):
    """Flask-Limiter, with Retry-After sent only with 429, its counters shared by every worker
    by default, and its MongoDB client closed at exit."""

    def init_app(self, app: Flask) -> None:
        if not app.config.get("RATELIMIT_STORAGE_URI"):
            app.config["RATELIMIT_STORAGE_URI"] = default_storage_uri(app)
        # Flask runs after_request functions in reverse order of registration: registered
        # before Flask-Limiter's own header hook, this one sees the headers it added.
        app.after_request(_retry_after_only_when_throttled)
        super().init_app(app)
        if not getattr(self, "_closes_at_exit", False):  # one limiter, many apps in the tests
            atexit.register(self.close_storage)
            self._closes_at_exit = True

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        """Skip Flask-Limiter's before-request pass when it has nothing to check. That pass
        only evaluates application, default, blueprint and meta limits (a route's own
        ``@limiter.limit`` runs in the decorator's wrapper, ``in_middleware=False``, and always
        goes through); this app sets none of those, yet resolving and evaluating the empty set
        was about 6% of the worker's CPU on a 64 KiB download (py-spy, issue 10)."""
        if in_middleware and not self._middleware_has_limits():
            return
        super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)

    def _middleware_has_limits(self) -> bool:
        """Whether the before-request pass could apply any limit to this request. Reads
        Flask-Limiter 4.1's bookkeeping; a name it no longer has counts as "yes" (no skip)."""
        manager = self.limit_manager
        return bool(manager.application_limits or manager.default_limits
                    or getattr(manager, "_blueprint_limits", True) or getattr(self, "_meta_limits", True)
                    or getattr(self, "_in_memory_fallback_enabled", True)
                    or manager.has_hints(request.endpoint or ""))

    def close_storage(self) -> None:
        """limits' MongoDB storage closes its client in ``__del__``, during interpreter
        teardown, and first creates one there if the process never used it: every worker of a
        MONGO_URI server printed an ImportError traceback ("Python is likely shutting down")
        on stop. Close it while Python is whole, and leave ``__del__`` nothing to do."""
        storage = self._storage
        if storage is None or not hasattr(storage, "_storage"):  # not a pymongo-backed storage
            return
        client, storage._storage = storage._storage, _ClosedClient()
        if client is not None:
            client.close()


login_manager = LoginManager()
limiter = DriveLimiter(key_func=get_remote_address)
