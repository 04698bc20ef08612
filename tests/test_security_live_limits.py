"""Request abuse against the real server (Gunicorn, embedded store): huge headers, bodies over
MAX_CONTENT_LENGTH with and without Content-Length, and the worker's memory while they arrive.

One server for the module, with MAX_CONTENT_LENGTH = 128 MiB so that a 200 MB body is over
it: a server that buffered bodies would grow by more than 128 MiB, one that streams stays flat.
Memory is the worker's peak RSS (VmHWM), so a buffer freed before we look still counts.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest
import requests

from tests.live_server import HTTP_TIMEOUT_S, GunicornServer

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
LIMIT = 128 * MIB
OVER_LIMIT_BODY = 200 * MIB
MAX_GROWTH = 64 * MIB
USER_AGENT = "security-suite/1.0"  # Flask-Login's strong protection ties a session to it
PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("live-limits")
    server = GunicornServer(tmp)
    server.env["MAX_CONTENT_LENGTH"] = str(LIMIT)
    try:
        server.start()
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        for path in ("/api/register", "/api/login"):
            response = session.post(server.url(path), json={"username": "alice", "password": PASSWORD},
                                    timeout=HTTP_TIMEOUT_S)
            assert response.status_code in (200, 201), response.text
        key = session.post(server.url("/api/tokens"), json={"name": "seed", "scope": "read-write"},
                           timeout=HTTP_TIMEOUT_S).json()["secret"]
        yield server, session, key
    finally:
        server.kill()


# -- raw HTTP, so that we control Content-Length and chunking ------------------------------------

def peak_rss(pids) -> dict[int, int]:
    """Each worker's peak RSS (any of them may take the request)."""
    return {pid: _peak_rss(pid) for pid in pids}


def growth_since(before: dict[int, int]) -> int:
    """The largest growth of any worker's peak RSS since ``before``."""
    return max(peak - before[pid] for pid, peak in peak_rss(before).items())


def _peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def chunked(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


def read_response(sock) -> tuple[int, dict, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            raise AssertionError(f"connection closed before a response: {data!r}")
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return status, headers, body[:length]


def send_raw(server, head: str, body_pieces, timeout=20) -> tuple[int, dict, bytes, int]:
    """Send a request from a thread (the server may answer and close long before the body
    ends) while this thread reads the answer. Returns status, headers, body, bytes sent."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    sent = [0]

    def sender():
        try:
            sock.sendall(head.encode("latin-1"))
            for piece in body_pieces:
                sock.sendall(piece)
                sent[0] += len(piece)
        except OSError:
            pass  # the server answered and closed: expected for refused bodies
    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    try:
        status, headers, body = read_response(sock)
    finally:
        sock.close()
        thread.join(timeout=timeout)
    return status, headers, body, sent[0]


def request_head(method, path, session, content_type, length=None, port=0) -> str:
    cookie = session.cookies.get("session") if session is not None else None
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"User-Agent: {USER_AGENT}",
             f"Content-Type: {content_type}", "Connection: close"]
    if cookie:
        lines.append(f"Cookie: session={cookie}")
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    return "\r\n".join(lines) + "\r\n\r\n"


BOUNDARY = "----live-limits-boundary"
PART_HEAD = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
             "Content-Type: application/octet-stream\r\n\r\n").encode()


def zeros(total: int, piece=MIB):
    block = b"\0" * piece
    for _ in range(total // piece):
        yield block


def assert_json_error(status, headers, body, expected_status, code=None):
    assert status == expected_status, (status, body[:300])
    assert headers.get("content-type", "").startswith("application/json"), headers
    error = json.loads(body)["error"]
    assert code is None or error["code"] == code, error


def assert_nothing_stored(server, session):
    blobs = [os.path.join(d, f) for d, _, files in os.walk(server.tmp_path / "uploads") for f in files]
    assert blobs == [], blobs
    assert session.get(server.url("/api/files"), timeout=HTTP_TIMEOUT_S).json()["total"] == 0
    assert session.get(server.url("/api/me/usage"), timeout=HTTP_TIMEOUT_S).json()["used_bytes"] == 0


# -- headers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers, path", [
    ({"X-Padding": "a" * 100_000}, "/api/status"),
    ({f"X-Header-{i}": "a" * 100 for i in range(1000)}, "/api/status"),
    ({"Cookie": "session=" + "a" * 100_000}, "/api/me"),
    ({}, "/api/status?q=" + "a" * 100_000),
])
def test_huge_headers_and_request_lines_are_refused_with_a_4xx(live, headers, path):
    server, _, _ = live
    response = requests.get(server.url(path), headers=headers, timeout=HTTP_TIMEOUT_S)
    assert 400 <= response.status_code < 500, response.status_code
    assert requests.get(server.url("/api/status"), timeout=HTTP_TIMEOUT_S).status_code == 200


# -- bodies over MAX_CONTENT_LENGTH ---------------------------------------------------------------

def test_an_upload_declaring_more_than_the_limit_is_413_json_before_its_body(live):
    server, session, key = live
    for path, with_cookie in (("/api/upload", True), (f"/upload?key={key}", False)):
        head = request_head("POST", path, session if with_cookie else None,
                            f"multipart/form-data; boundary={BOUNDARY}", length=10 * 1024**3, port=server.port)
        started = time.monotonic()
        status, headers, body, _ = send_raw(server, head, [PART_HEAD, b"\0" * MIB])
        assert time.monotonic() - started < 10, "the server read the body before refusing it"
        assert_json_error(status, headers, body, 413, "payload_too_large")
    assert_nothing_stored(server, session)


@pytest.mark.parametrize("path, with_cookie", [("/api/upload", True), ("/upload?key={key}", False)])
def test_a_chunked_upload_over_the_limit_is_413_json_stores_nothing_and_memory_stays_flat(live, path, with_cookie):
    server, session, key = live
    before = peak_rss(server.worker_pids())
    head = request_head("POST", path.format(key=key), session if with_cookie else None,
                        f"multipart/form-data; boundary={BOUNDARY}", port=server.port)
    pieces = (chunked(p) for p in [PART_HEAD, *zeros(OVER_LIMIT_BODY)])
    status, headers, body, sent = send_raw(server, head, pieces)
    assert_json_error(status, headers, body, 413, "payload_too_large")
    assert sent >= LIMIT // 2, f"only {sent} bytes were sent: the test did not load the server"
    growth = growth_since(before)
    assert growth < MAX_GROWTH, f"worker peak RSS grew by {growth / MIB:.0f} MiB"
    assert_nothing_stored(server, session)


# The body is refused before anything is looked up: an unknown link's unlock is a 413 too.
@pytest.mark.parametrize("path, declared_status", [("/api/register", 413), ("/api/login", 413),
                                                   ("/s/unknown-token/unlock", 413)])
def test_oversized_json_bodies_are_refused_without_being_held_in_memory(live, path, declared_status):
    """JSON is read into memory whole: it must be refused long before MAX_CONTENT_LENGTH,
    with Content-Length (at once) and chunked (as it arrives)."""
    server, _, _ = live
    before = peak_rss(server.worker_pids())
    head = request_head("POST", path, None, "application/json", length=100 * MIB, port=server.port)
    started = time.monotonic()
    status, headers, body, _ = send_raw(server, head, [b'{"username": "' + b"a" * MIB])
    assert time.monotonic() - started < 10
    assert_json_error(status, headers, body, declared_status)
    head = request_head("POST", path, None, "application/json", port=server.port)
    pieces = (chunked(p) for p in [b'{"username": "', *zeros(OVER_LIMIT_BODY)])
    status, headers, body, _ = send_raw(server, head, pieces)
    assert 400 <= status < 500 and headers.get("content-type", "").startswith("application/json"), (status, body)
    growth = growth_since(before)
    assert growth < MAX_GROWTH, f"worker peak RSS grew by {growth / MIB:.0f} MiB for a JSON body"


def test_an_upload_under_the_limit_streams_with_flat_memory(live):
    """The counterpart: 100 MiB chunked is stored, and memory does not follow the body."""
    server, session, _ = live
    before = peak_rss(server.worker_pids())
    head = request_head("POST", "/api/upload", session, f"multipart/form-data; boundary={BOUNDARY}",
                        port=server.port)
    size = 100 * MIB
    pieces = (chunked(p) for p in [PART_HEAD, *zeros(size), f"\r\n--{BOUNDARY}--\r\n".encode(), b""])
    status, _, body, _ = send_raw(server, head, pieces)
    assert status == 201, body[:300]
    record = json.loads(body)["files"][0]
    assert record["size"] == size
    growth = growth_since(before)
    assert growth < MAX_GROWTH, f"worker peak RSS grew by {growth / MIB:.0f} MiB for a streamed upload"
    response = session.delete(server.url(f"/api/files/{record['id']}?permanent=true"), timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 204
