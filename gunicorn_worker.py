"""The Gunicorn worker class of gunicorn.conf.py: Gunicorn's gevent worker with a guard
against clients that trickle bytes.

Each connection is a greenlet, so a client that sends one byte a second costs a greenlet and a
socket, not one of a few threads (with ``gthread`` eight such clients froze the server). What
the guard adds:

* request line and headers must arrive within ``keepalive`` seconds (Gunicorn's async
  worker already bounds each header read with ``gevent.Timeout(keepalive)``);
* while the server waits for a client's bytes (a body, the next headers), the client must
  send at least ``MIN_CLIENT_RATE`` bytes per second of waiting, judged every
  ``CLIENT_RATE_WINDOW_S`` seconds of waiting, and never stall a read or a write for more than
  ``CLIENT_IDLE_TIMEOUT_S``; otherwise the connection is closed as if the client had gone
  (a cut-off upload, which leaves no trace). Only time spent waiting for the client counts:
  a long download or the server's own work does not;
* files are sent with ``os.sendfile`` (zero copy), as the threaded worker does; gevent's
  socket would copy them through user space.

Also the ``logger_class``: Gunicorn's logger, its access log lines built from only the atoms the
format names (``AccessLogger``).

Kept outside the ``app`` package: Gunicorn imports the worker class in the master, before
the worker monkey-patches, and the app (pymongo, threading) must be imported after.
"""
from __future__ import annotations

import os
import socket as stdlib_socket
import time
import traceback
from collections.abc import Mapping

from gevent import socket as gsocket
from gunicorn.glogging import Logger
from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker

MIN_CLIENT_RATE = 1024  # bytes per second of waiting: a phone on a bad line does far better
CLIENT_RATE_WINDOW_S = 20.0
CLIENT_IDLE_TIMEOUT_S = 60.0  # like nginx's client_body_timeout and send_timeout
SENDFILE_BLOCK = 8 * 1024 * 1024


class GuardedSocket(gsocket.socket):
    """A client connection that closes itself when the client sends too little for too long."""

    def arm(self) -> None:
        self.settimeout(CLIENT_IDLE_TIMEOUT_S)
        self.new_window()

    def new_window(self) -> None:
        """Start counting again (each request gets a fresh allowance)."""
        self._waited = 0.0
        self._received = 0

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        started = time.monotonic()
        try:
            data = super().recv(bufsize, flags)
        except stdlib_socket.timeout:
            return self._drop()
        self._waited += time.monotonic() - started
        self._received += len(data)
        if self._waited >= CLIENT_RATE_WINDOW_S:
            if self._received < MIN_CLIENT_RATE * self._waited:
                return self._drop()
            self.new_window()
        return data

    def _drop(self) -> bytes:
        """Hang up on a client too slow to serve; to the reader it looks like the end of input."""
        try:
            self.shutdown(stdlib_socket.SHUT_RDWR)
        except OSError:
            pass
        return b""

    def sendfile(self, file, offset: int = 0, count: int | None = None) -> int:
        """``os.sendfile`` on the non-blocking socket, waiting in the event loop when it is full."""
        file_fd, sent = file.fileno(), 0
        while count is None or sent < count:
            block = SENDFILE_BLOCK if count is None else min(SENDFILE_BLOCK, count - sent)
            try:
                n = os.sendfile(self.fileno(), file_fd, offset + sent, block)
            except BlockingIOError:
                self._wait(self._write_event)  # raises socket.timeout after CLIENT_IDLE_TIMEOUT_S
                continue
            if n == 0:
                break
            sent += n
        file.seek(offset + sent)
        return sent


class SlowClientSafeWorker(GeventWorker):
    """``worker_class`` of gunicorn.conf.py."""

    def handle(self, listener, client, addr):
        guarded = GuardedSocket(client.family, client.type, client.proto, fileno=client.detach())
        guarded.arm()
        AsyncWorker.handle(self, listener, guarded, addr)

    def handle_request(self, listener_name, req, sock, addr):
        sock.new_window()
        return super().handle_request(listener_name, req, sock, addr)


def _status(resp):
    status = resp.status
    return status.split(None, 1)[0] if isinstance(status, str) else status


# Gunicorn's one-letter atoms (Logger.atoms, Gunicorn 27), each worked out on its own:
# (logger, resp, environ, request_time) -> value. tests/test_access_log.py holds them to Gunicorn's.
_ATOMS = {
    "h": lambda log, resp, env, rt: env.get("REMOTE_ADDR", "-"),
    "l": lambda log, resp, env, rt: "-",
    "u": lambda log, resp, env, rt: log._get_user(env) or "-",
    "t": lambda log, resp, env, rt: log.now(),
    "r": lambda log, resp, env, rt: "%s %s %s" % (env["REQUEST_METHOD"], env["RAW_URI"], env["SERVER_PROTOCOL"]),
    "s": lambda log, resp, env, rt: _status(resp),
    "m": lambda log, resp, env, rt: env.get("REQUEST_METHOD"),
    "U": lambda log, resp, env, rt: env.get("PATH_INFO"),
    "q": lambda log, resp, env, rt: env.get("QUERY_STRING"),
    "H": lambda log, resp, env, rt: env.get("SERVER_PROTOCOL"),
    "b": lambda log, resp, env, rt: getattr(resp, "sent", None) is not None and str(resp.sent) or "-",
    "B": lambda log, resp, env, rt: getattr(resp, "sent", None),
    "f": lambda log, resp, env, rt: env.get("HTTP_REFERER", "-"),
    "a": lambda log, resp, env, rt: env.get("HTTP_USER_AGENT", "-"),
    "T": lambda log, resp, env, rt: rt.seconds,
    "D": lambda log, resp, env, rt: (rt.seconds * 1000000) + rt.microseconds,
    "M": lambda log, resp, env, rt: (rt.seconds * 1000) + int(rt.microseconds / 1000),
    "L": lambda log, resp, env, rt: "%d.%06d" % (rt.seconds, rt.microseconds),
    "p": lambda log, resp, env, rt: "<%s>" % os.getpid(),
}


def _escaped(value):
    return value.replace('"', '\\"') if isinstance(value, str) else value  # as Gunicorn's SafeAtoms


class LazyAtoms(Mapping):
    """Gunicorn's SafeAtoms (same values, same "-" for what is missing, same quote escaping),
    worked out for the keys the access log format asks for only. Gunicorn builds and escapes
    every atom, request and response header and environ entry (about 60) for each line: a line
    cost 38 us, now 15 us; the access log was 5.5% of a worker's CPU on 64 KiB downloads (py-spy)."""

    def __init__(self, logger: Logger, resp, req, environ, request_time):
        self._logger, self._resp, self._req, self._environ = logger, resp, req, environ
        self._request_time = request_time
        self._all: dict | None = None

    def __getitem__(self, key: str):
        if key.startswith("{"):
            return self._braced(key.lower())
        atom = _ATOMS.get(key)
        return "-" if atom is None else _escaped(atom(self._logger, self._resp, self._environ, self._request_time))

    def _braced(self, key: str):
        """``{name}i``, ``{name}o``, ``{name}e``: the last request header, response header or
        environ entry of that name, any case (Gunicorn's dict keeps the last one too)."""
        kind = key[-2:]
        if kind == "}i":
            found = getattr(self._req, "headers", self._req)
        elif kind == "}o":
            found = self._resp.headers
        elif kind == "}e":
            found = self._environ
        else:
            return "-"
        value = "-"
        for name, item in (found.items() if hasattr(found, "items") else found):
            if "{%s}%s" % (name.lower(), kind[1]) == key:
                value = item
        return _escaped(value)

    def _everything(self) -> dict:
        if self._all is None:
            self._all = self._logger.atoms_wrapper_class(
                Logger.atoms(self._logger, self._resp, self._req, self._environ, self._request_time))
        return self._all

    def __iter__(self):
        return iter(self._everything())

    def __len__(self) -> int:
        return len(self._everything())

    def __bool__(self) -> bool:  # logging asks; never empty, and no need to build everything
        return True


class AccessLogger(Logger):
    """``logger_class`` of gunicorn.conf.py: Gunicorn's logger with LazyAtoms for the access
    log; the lines are the same. (With the default logger_class Gunicorn would switch to its
    Statsd logger when ``statsd_host`` is set; this server does not use statsd.)"""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        try:
            self.access_log.info(self.cfg.access_log_format, LazyAtoms(self, resp, req, environ, request_time))
        except Exception:
            self.error(traceback.format_exc())
