"""Hostile slow clients for the slow-client test and benchmark: many connections that each send
a request one byte per second, on their headers or on their body, with or without a session.

``Trickle`` opens every connection, sends each its first byte (a connection that sends nothing
is not the case: Gunicorn already sets those aside), then keeps sending one byte per connection
per interval from one thread, and counts the connections the server closed.
``timed_request`` is the other client: one request on a fresh connection, and how long it took.
"""
from __future__ import annotations

import resource
import socket
import threading
import time
from dataclasses import dataclass, field

import requests

BODY_BYTES = 64 * 1024  # what a body trickler announces: it never gets near sending it all
KINDS = ("login-headers", "login-body", "upload-headers", "upload-body")


def raise_fd_limit(needed: int) -> None:
    """Lift this process's soft limit on open files to ``needed`` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


def _request_bytes(kind: str, host: str, cookie: str | None) -> tuple[bytes, bytes]:
    """(headers, body start) of one slow request of ``kind``."""
    # The session is bound to the client's address and User-Agent (Flask-Login's "strong"
    # protection): send the one the session was made with, requests'.
    lines = [f"Host: {host}", f"User-Agent: {requests.utils.default_user_agent()}",
             f"Content-Length: {BODY_BYTES}"]
    if kind.startswith("login"):
        lines[:0] = ["POST /api/login HTTP/1.1"]
        lines.append("Content-Type: application/json")
        body = b'{"username": "nobody", "password": "' + b"x" * 200
    else:
        lines[:0] = ["POST /api/upload HTTP/1.1"]
        lines.append("Content-Type: multipart/form-data; boundary=slowslowslow")
        if cookie:
            lines.append(f"Cookie: {cookie}")
        body = (b'--slowslowslow\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"\r\n'
                b"Content-Type: application/octet-stream\r\n\r\n" + b"s" * 200)
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), body


@dataclass
class _Conn:
    kind: str
    sock: socket.socket
    pending: bytes  # what is left to trickle
    closed_by_server: bool = False


@dataclass
class Trickle:
    """``count`` slow connections, spread evenly over ``KINDS``."""

    host: str
    port: int
    count: int
    cookie: str | None = None  # "session=..." for the upload kinds
    interval_s: float = 1.0
    reconnect: bool = False  # replace a dropped connection at once (a persistent attacker)
    conns: list[_Conn] = field(default_factory=list)
    dropped: int = 0  # connections the server closed

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trickle", daemon=True)

    def start(self) -> "Trickle":
        raise_fd_limit(self.count + 256)
        self.conns = [self._open(KINDS[i % len(KINDS)]) for i in range(self.count)]
        self._thread.start()
        return self

    def _open(self, kind: str) -> _Conn:
        headers, body = _request_bytes(kind, f"{self.host}:{self.port}", self.cookie)
        sock = socket.create_connection((self.host, self.port), timeout=10)
        # Headers kinds: everything a byte at a time. Body kinds: headers at once, then the body.
        first, rest = (b"", headers + body) if kind.endswith("headers") else (headers, body)
        sock.sendall(first + rest[:1])
        sock.setblocking(False)
        return _Conn(kind, sock, rest[1:])

    def _closed(self, i: int) -> None:
        self.dropped += 1
        self.conns[i].sock.close()
        if self.reconnect:
            try:
                self.conns[i] = self._open(self.conns[i].kind)
                return
            except OSError:
                pass
        self.conns[i].closed_by_server = True

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            for i, conn in enumerate(self.conns):
                if conn.closed_by_server:
                    continue
                try:
                    if conn.sock.recv(65536, socket.MSG_PEEK) == b"":
                        self._closed(i)
                        continue
                except BlockingIOError:
                    pass  # nothing from the server: still waiting for us, as intended
                except OSError:
                    self._closed(i)
                    continue
                if conn.pending:
                    try:
                        conn.sock.send(conn.pending[:1])
                        conn.pending = conn.pending[1:]
                    except OSError:
                        self._closed(i)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for conn in self.conns:
            conn.sock.close()

    def __enter__(self) -> "Trickle":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def timed_request(method: str, url: str, timeout: float, **kwargs) -> tuple[requests.Response | None, float]:
    """One request on a connection of its own; (response or None on a timeout, seconds)."""
    started = time.perf_counter()
    with requests.Session() as session:
        try:
            response = session.request(method, url, timeout=timeout, **kwargs)
        except requests.RequestException:
            return None, time.perf_counter() - started
    return response, time.perf_counter() - started
