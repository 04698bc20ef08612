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

Kept outside the ``app`` package: Gunicorn imports the worker class in the master, before
the worker monkey-patches, and the app (pymongo, threading) must be imported after.
"""
from __future__ import annotations

import os
import socket as stdlib_socket
import time

from gevent import socket as gsocket
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
