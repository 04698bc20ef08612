"""tus against live Gunicorn with the JavaScript client (tus-js-client in Node, pinned in
tests/js/package.json and package-lock.json; tests/js/tus_upload.mjs drives it): a multi-MiB
upload in several chunks, and a client killed with SIGKILL mid-upload whose second run finds
the upload URL in its URL storage file and resumes from the server's offset. Each time the
finished file's SHA-256 is the source's, and it is stored once.

Needs ``node`` (>= 18) and ``npm``: skipped without them, failed instead when REQUIRE_NODE=1
(CI). ``make test`` runs ``npm ci`` in tests/js (the ``node-clients`` target); run directly,
this module does it when tests/js/node_modules lacks the pinned tus-js-client.
"""
from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time

import pytest
import requests

from tests.live_server import HTTP_TIMEOUT_S, REPO_ROOT
from tests.test_tus_live import check_stored_once, signed_up, source_file

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
JS_DIR = os.path.join(REPO_ROOT, "tests", "js")
SCRIPT = os.path.join(JS_DIR, "tus_upload.mjs")
NODE_MIN_MAJOR = 18  # tus-js-client 4's "engines"
LINE_TIMEOUT_S = 60
NPM_TIMEOUT_S = 300


def _unavailable(reason: str):
    if os.environ.get("REQUIRE_NODE") == "1":
        pytest.fail(f"{reason} (REQUIRE_NODE=1: the JavaScript tus client must run here)")
    pytest.skip(reason)


def _pinned_version() -> str:
    with open(os.path.join(JS_DIR, "package.json"), encoding="utf-8") as fh:
        return json.load(fh)["dependencies"]["tus-js-client"]


def _installed_version() -> str | None:
    try:
        with open(os.path.join(JS_DIR, "node_modules", "tus-js-client", "package.json"), encoding="utf-8") as fh:
            return json.load(fh)["version"]
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, with tests/js's pinned tus-js-client installed (npm ci if it is not)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable("node and npm are not installed: the tus-js-client test needs Node >= "
                     f"{NODE_MIN_MAJOR} (Debian: apt-get install nodejs npm)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    major = re.match(r"v(\d+)\.", version)
    if major is None or int(major.group(1)) < NODE_MIN_MAJOR:
        _unavailable(f"node {version or '(no version)'} is too old for tus-js-client: Node >= {NODE_MIN_MAJOR} needed")
    if _installed_version() != _pinned_version():
        done = subprocess.run([npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=JS_DIR, capture_output=True,
                              text=True, timeout=NPM_TIMEOUT_S)
        if done.returncode != 0 or _installed_version() != _pinned_version():
            _unavailable(f"npm ci in tests/js failed (exit {done.returncode}): {done.stderr.strip()[-1000:]}")
    return node


class NodeClient:
    """tests/js/tus_upload.mjs in a process of its own; its stdout lines are read on a thread,
    so a client that hangs fails the test instead of blocking it."""

    def __init__(self, node: str, server, token: str, path: str, store: str, chunk: int, delay_ms: int = 0):
        self.proc = subprocess.Popen(
            [node, SCRIPT, server.url(""), token, path, str(chunk), store, "--delay-ms", str(delay_ms),
             "--name", "big.bin"],
            cwd=JS_DIR, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[list[str]] = []
        self._queue: queue.Queue = queue.Queue()
        self._stderr: list[str] = []
        self._threads = [threading.Thread(target=self._pump, args=(self.proc.stdout, self._queue.put), daemon=True),
                         threading.Thread(target=self._pump, args=(self.proc.stderr, self._stderr.append), daemon=True)]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _pump(stream, put) -> None:
        with stream:  # closed at end of file: the process's pipes leak nothing
            for line in stream:
                put(line)
        put(None)

    def _ended(self) -> None:
        for thread in self._threads:
            thread.join(timeout=10)

    def next(self) -> list[str]:
        """The next event line, split into words."""
        try:
            line = self._queue.get(timeout=LINE_TIMEOUT_S)
        except queue.Empty:
            self.proc.kill()
            pytest.fail(f"the tus-js-client process said nothing for {LINE_TIMEOUT_S}s; so far: {self.lines}")
        if line is None:
            self.proc.wait(timeout=10)
            pytest.fail(f"the tus-js-client process stopped (exit {self.proc.returncode}): "
                        f"{''.join(self._stderr)[-3000:]}\nlines: {self.lines[-20:]}")
        words = line.split()
        self.lines.append(words)
        return words

    def until(self, predicate) -> list[str]:
        while not predicate(words := self.next()):
            pass
        return words

    def finish(self) -> str:
        """Read to the end: the upload URL of its ``done`` line."""
        words = self.until(lambda w: w[0] == "done")
        assert self.proc.wait(timeout=LINE_TIMEOUT_S) == 0, "".join(self._stderr)
        self._ended()
        return words[1]

    def sigkill(self) -> None:
        self.proc.kill()  # SIGKILL: no handler, no cleanup, wherever it is
        self.proc.wait(timeout=10)
        self._ended()

    def values(self, event: str) -> list[int]:
        """The first number of every line of one event, in order."""
        return [int(w[1]) for w in self.lines if w[0] == event]


def access_log(server) -> list[tuple[str, str, int]]:
    """(method, path, status) of every request in the server's current access log."""
    text = server.stdout_path.read_text(errors="replace")
    return [(m, p, int(s)) for m, p, s in re.findall(r'"([A-Z]+) (\S+) HTTP/[\d.]+" (\d{3}) ', text)]


def test_tus_js_client_uploads_a_file_in_several_chunks(node, server, tmp_path):
    session, token = signed_up(server)
    size = 5 * MIB + 4321
    chunk = MIB
    path, sha256 = source_file(tmp_path, size)
    store = str(tmp_path / "tus-urls.json")
    client = NodeClient(node, server, token, path, store, chunk)
    assert client.next() == ["previous", "0"]
    created = client.next()
    assert created[0] == "created", client.lines
    url = client.finish()
    assert url == created[1] and url.startswith(server.url("/api/tus/"))
    chunks = -(-size // chunk)
    assert client.values("patch") == [i * chunk for i in range(chunks)]
    assert client.values("chunk") == [min((i + 1) * chunk, size) for i in range(chunks)]
    assert [w for w in client.lines if w[0] == "progress"][-1] == ["progress", str(size), str(size)]
    check_stored_once(server, session, size, sha256)
    tus = [(m, s) for m, p, s in access_log(server) if p.startswith("/api/tus/")]
    assert tus == [("POST", 201)] + [("PATCH", 204)] * chunks
    # removeFingerprintOnSuccess: the finished upload's URL left the storage file.
    with open(store, encoding="utf-8") as fh:
        assert json.load(fh) == {}


def test_tus_js_client_killed_mid_upload_resumes_from_its_url_storage(node, server, tmp_path):
    session, token = signed_up(server)
    size = 8 * MIB + 777
    chunk = 512 * 1024
    path, sha256 = source_file(tmp_path, size)
    store = str(tmp_path / "tus-urls.json")
    first = NodeClient(node, server, token, path, store, chunk, delay_ms=30)
    assert first.next() == ["previous", "0"]
    created = first.next()
    assert created[0] == "created", first.lines
    upload_url = created[1]
    first.until(lambda w: w[0] == "chunk" and int(w[1]) >= 2 * MIB)
    first.sigkill()

    # The URL storage survived the kill and names the upload.
    with open(store, encoding="utf-8") as fh:
        stored = json.load(fh)
    assert [entry["uploadUrl"] for entry in stored.values()] == [upload_url]
    # The server's offset, once a PATCH cut off by the kill (if any) has been settled.
    offset = settled_offset(server, session)
    assert 2 * MIB <= offset < size

    log_before = len(access_log(server))
    second = NodeClient(node, server, token, path, store, chunk)
    assert second.next() == ["previous", "1"]
    assert second.next() == ["resume", upload_url]
    assert second.next() == ["head", str(offset), str(size)]
    assert second.finish() == upload_url
    patches = second.values("patch")
    assert patches[0] == offset > 0  # resumed where the server was, not from 0
    assert patches == list(range(offset, size, chunk))  # and sent only the rest
    assert second.values("chunk")[-1] == size
    # The second run created no upload: a HEAD, then PATCHes to the same URL.
    upload_path = upload_url[len(server.url("")):]
    later = [(m, p, s) for m, p, s in access_log(server)[log_before:] if p.startswith("/api/tus/")]
    assert later == [("HEAD", upload_path, 200)] + [("PATCH", upload_path, 204)] * len(patches)
    assert sum(1 for m, p, s in access_log(server) if m == "POST" and p == "/api/tus/") == 1
    check_stored_once(server, session, size, sha256)
    with open(store, encoding="utf-8") as fh:
        assert json.load(fh) == {}


def settled_offset(server, session: requests.Session) -> int:
    """The one unfinished upload's offset once it stops moving (a PATCH the kill cut off is
    settled by its worker when it sees the connection gone)."""
    last, deadline = None, time.monotonic() + 10
    while time.monotonic() < deadline:
        [unfinished] = session.get(server.url("/api/uploads"), timeout=HTTP_TIMEOUT_S).json()["uploads"]
        if unfinished["offset"] == last:
            return last
        last = unfinished["offset"]
        time.sleep(0.3)
    pytest.fail(f"the upload's offset was still moving after 10 s (last {last})")
