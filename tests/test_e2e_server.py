"""End to end: a real Gunicorn server on the embedded store, driven over HTTP.

The server is started exactly as ``make run`` does (``gunicorn -c gunicorn.conf.py wsgi:app``
from the repository root), with every piece of state (database, uploads) under ``tmp_path``
and ``SECRET_KEY`` given in the environment, so nothing lands in the repository's
``instance/`` or ``uploads/`` folders.  It is stopped and started again to check that
users, files and login sessions survive a restart.
"""
from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

pytestmark = pytest.mark.e2e

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 40  # gunicorn.conf.py has graceful_timeout = 30
HTTP_TIMEOUT_S = 30

# Variables read by config.py or gunicorn.conf.py (and Gunicorn itself) that must not leak
# from the developer's shell into the server under test.
_SCRUBBED_ENV = (
    "MONGO_URI", "MONGO_DB_NAME", "MONGO_TIMEOUT_MS", "EMBEDDED_DB_PATH", "UPLOAD_FOLDER",
    "INSTANCE_PATH", "SECRET_KEY", "MAX_CONTENT_LENGTH", "USER_QUOTA_BYTES",
    "SESSION_LIFETIME_DAYS", "SESSION_COOKIE_SECURE", "TRUST_PROXY_HOPS", "PAGE_SIZE_MAX",
    "LOG_LEVEL",
    "LOGIN_RATE_LIMIT", "LOGIN_IP_RATE_LIMIT", "RATELIMIT_STORAGE_URI",
    "BIND", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "GUNICORN_CMD_ARGS",
)

UNICODE_NAME = "تقرير.pdf"
BIG_NAME = "random.bin"
BIG_SIZE = 3 * 1024 * 1024


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GunicornServer:
    """One Gunicorn master (and its worker) in its own process group; restartable."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        env.update(
            APP_ENV="development",
            BIND=f"127.0.0.1:{self.port}",
            EMBEDDED_DB_PATH=str(tmp_path / "data"),
            UPLOAD_FOLDER=str(tmp_path / "uploads"),
            INSTANCE_PATH=str(tmp_path / "instance"),
            # The same key across restarts, so cookies signed before a restart stay valid
            # (and the dev profile does not need to generate one).
            SECRET_KEY="e2e-" + os.urandom(16).hex(),
            PYTHONUNBUFFERED="1",
        )
        self.env = env
        self.proc: subprocess.Popen | None = None
        self._logs = []
        self._runs = 0

    def url(self, path: str) -> str:
        return self.base_url + path

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        assert self.proc is None, "server already running"
        self._runs += 1
        self.stdout_path = self.tmp_path / f"gunicorn-{self._runs}.out"
        self.stderr_path = self.tmp_path / f"gunicorn-{self._runs}.err"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            # The child keeps its own copies of the descriptors; ours close at once.
            self.proc = subprocess.Popen(
                # --no-control-socket: Gunicorn >= 25.1 otherwise binds (and on exit unlinks)
                # a control socket shared by every server of this user, in
                # $XDG_RUNTIME_DIR or ~/.gunicorn, taking it from a running `make run`.
                [GUNICORN, "-c", "gunicorn.conf.py", "--no-control-socket", "wsgi:app"],
                cwd=REPO_ROOT, env=self.env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=err, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self._reap()
                pytest.fail(f"gunicorn exited with {code} during start-up\n{self.diagnostics()}")
            try:
                response = requests.get(self.url("/api/status"), timeout=2)
            except requests.RequestException as exc:
                last_error = repr(exc)
            else:
                with response:
                    if response.status_code == 200:
                        return
                    last_error = f"HTTP {response.status_code}: {response.text[:500]}"
            time.sleep(0.1)
        self.kill()
        pytest.fail(f"gunicorn did not answer 200 on /api/status within {START_TIMEOUT_S}s "
                    f"(last: {last_error})\n{self.diagnostics()}")

    def stop(self) -> int:
        """Graceful stop (SIGTERM to the master) and return its exit status."""
        assert self.proc is not None, "server not running"
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"gunicorn did not stop within {STOP_TIMEOUT_S}s of SIGTERM\n"
                        f"{self.diagnostics()}")
        self._reap()
        return code

    def kill(self) -> None:
        """Make sure nothing of this server is left: TERM, then KILL, the process group."""
        if self.proc is None:
            return
        for sig, grace in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                continue
            # The master is gone; a worker left behind in the group still gets the signal.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break
        self._reap()

    def _reap(self) -> None:
        if self.proc is not None and self.proc.returncode is not None:
            self.proc = None

    def diagnostics(self) -> str:
        def tail(path, limit=8000):
            try:
                return path.read_text(errors="replace")[-limit:]
            except (OSError, AttributeError):
                return "(none)"
        return (f"--- gunicorn stderr ---\n{tail(getattr(self, 'stderr_path', None))}\n"
                f"--- gunicorn stdout ---\n{tail(getattr(self, 'stdout_path', None), 2000)}")


@pytest.fixture
def server(tmp_path):
    srv = GunicornServer(tmp_path)
    try:
        srv.start()
        yield srv
    finally:
        srv.kill()


# -- helpers -------------------------------------------------------------------------------

def _call(session: requests.Session, method: str, url: str, **kwargs) -> requests.Response:
    response = session.request(method, url, timeout=HTTP_TIMEOUT_S, **kwargs)
    response.close()  # bodies are read eagerly; give the connection back now
    return response


def _json(response: requests.Response, expected_status: int, server: GunicornServer):
    assert response.status_code == expected_status, (
        f"{response.request.method} {response.url}: expected {expected_status}, got "
        f"{response.status_code}: {response.text[:1000]}\n{server.diagnostics()}")
    return response.json()


def _login(session, server, username, password):
    body = _json(_call(session, "POST", server.url("/api/login"),
                       json={"username": username, "password": password}), 200, server)
    assert body["username"] == username
    assert "password_hash" not in body
    assert session.cookies.get("session"), "login did not set the session cookie"
    return body


def _assert_files_listed(session, server, expected: dict[str, dict]) -> None:
    listing = _json(_call(session, "GET", server.url("/api/files")), 200, server)
    assert listing["total"] == len(expected)
    by_id = {f["id"]: f for f in listing["files"]}
    assert set(by_id) == set(expected)
    for file_id, record in expected.items():
        assert by_id[file_id] == record


def _assert_downloads(session, server, records: dict[str, dict],
                      contents: dict[str, bytes]) -> None:
    for file_id, record in records.items():
        response = _call(session, "GET", server.url(f"/api/files/{file_id}"))
        assert response.status_code == 200, response.text[:500]
        assert response.content == contents[record["name"]], f"bytes differ for {record['name']!r}"
        assert int(response.headers["Content-Length"]) == record["size"]
        assert response.headers["Content-Disposition"].startswith("attachment;")


# -- the scenario --------------------------------------------------------------------------

def test_full_session_survives_restart(server, tmp_path):
    status = _json(_call(requests, "GET", server.url("/api/status")), 200, server)
    assert status["status"] == "ok"
    assert status["database"] == {"kind": "embedded", "reachable": True}

    password = "correct horse battery"
    small = b"%PDF-1.4\n" + "تقرير سنوي\n".encode() * 50
    big = os.urandom(BIG_SIZE)
    contents = {UNICODE_NAME: small, BIG_NAME: big}

    with requests.Session() as alice:
        # Register, log in, who am I.
        user = _json(_call(alice, "POST", server.url("/api/register"),
                           json={"username": "alice", "password": password}), 201, server)
        assert user["username"] == "alice"
        assert "password_hash" not in user
        assert not alice.cookies.get("session"), "register must not log in"

        _login(alice, server, "alice", password)
        me = _json(_call(alice, "GET", server.url("/api/me")), 200, server)
        assert me["username"] == "alice"
        assert me["id"] == user["id"]
        assert me["file_count"] == 0

        # Two files in one multipart request.
        files = [
            ("file", (UNICODE_NAME, small, "application/pdf")),
            ("file", (BIG_NAME, big, "application/octet-stream")),
        ]
        body = _json(_call(alice, "POST", server.url("/api/upload"), files=files), 201, server)
        assert len(body["files"]) == 2
        records = {}
        for record in body["files"]:
            assert {"id", "name", "size", "content_type", "sha256", "created_at"} <= set(record)
            assert record["name"] in contents, record["name"]
            data = contents[record["name"]]
            assert record["size"] == len(data)
            assert record["sha256"] == hashlib.sha256(data).hexdigest()
            records[record["id"]] = record
        assert {r["name"] for r in records.values()} == {UNICODE_NAME, BIG_NAME}
        by_name = {r["name"]: r for r in records.values()}
        assert by_name[UNICODE_NAME]["content_type"] == "application/pdf"

        # The bytes went to the configured folders, not the repository's.
        assert (tmp_path / "data").is_dir()
        stored = [p for p in (tmp_path / "uploads" / user["id"]).iterdir()
                  if not p.name.startswith(".")]
        assert sorted(p.stat().st_size for p in stored) == sorted(len(d) for d in contents.values())

        _assert_files_listed(alice, server, records)
        _assert_downloads(alice, server, records, contents)

        big_id = by_name[BIG_NAME]["id"]
        # Range.
        partial = _call(alice, "GET", server.url(f"/api/files/{big_id}"),
                        headers={"Range": "bytes=0-99"})
        assert partial.status_code == 206, partial.text[:500]
        assert partial.content == big[:100]
        assert partial.headers["Content-Range"] == f"bytes 0-99/{BIG_SIZE}"

        # Conditional GET with the ETag.
        full = _call(alice, "GET", server.url(f"/api/files/{big_id}"))
        etag = full.headers.get("ETag")
        assert full.status_code == 200
        assert etag and by_name[BIG_NAME]["sha256"] in etag, etag
        not_modified = _call(alice, "GET", server.url(f"/api/files/{big_id}"),
                             headers={"If-None-Match": etag})
        assert not_modified.status_code == 304, not_modified.text[:500]
        assert not_modified.content == b""

        # Another user cannot see alice's files.
        with requests.Session() as bob:
            _json(_call(bob, "POST", server.url("/api/register"),
                        json={"username": "bob", "password": password}), 201, server)
            _login(bob, server, "bob", password)
            for file_id in records:
                error = _json(_call(bob, "GET", server.url(f"/api/files/{file_id}")), 404, server)
                assert error["error"]["code"]
                _json(_call(bob, "GET", server.url(f"/api/files/{file_id}/info")), 404, server)
            bob_list = _json(_call(bob, "GET", server.url("/api/files")), 200, server)
            assert bob_list["files"] == [] and bob_list["total"] == 0

        old_cookies = alice.cookies.copy()

    # Restart with the same environment.
    exit_code = server.stop()
    assert exit_code == 0, f"gunicorn exited with {exit_code} on SIGTERM\n{server.diagnostics()}"
    server.start()

    # The cookie from before the restart still names a live server-side session.
    with requests.Session() as old:
        old.cookies.update(old_cookies)
        me = _json(_call(old, "GET", server.url("/api/me")), 200, server)
        assert me["username"] == "alice"
        assert me["file_count"] == 2
        assert me["used_bytes"] == sum(len(d) for d in contents.values())

    with requests.Session() as alice:
        _login(alice, server, "alice", password)
        me = _json(_call(alice, "GET", server.url("/api/me")), 200, server)
        assert me["id"] == user["id"]
        _assert_files_listed(alice, server, records)
        _assert_downloads(alice, server, records, contents)

        # Log out: the session is gone on the server, and a copy of its cookie is worthless.
        copied = alice.cookies.copy()
        response = _call(alice, "POST", server.url("/api/logout"))
        assert response.status_code == 204, response.text[:500]
        error = _json(_call(alice, "GET", server.url("/api/me")), 401, server)
        assert isinstance(error["error"], dict) and error["error"]["code"]
        with requests.Session() as replay:
            replay.cookies.update(copied)
            error = _json(_call(replay, "GET", server.url("/api/me")), 401, server)
            assert error["error"]["code"]
