"""A real Gunicorn server, started as ``make run`` does, with all state under a temp dir.

Shared by the end-to-end, CLI, compatibility and fault tests. It runs on the embedded SQLite
database with gunicorn.conf.py's default number of workers for it (two), unless the test
parametrizes ``backend`` with ``MONGO_WIRE``: then it runs ``WIRE_WORKERS`` workers on a
database of its own on the secantusdb wire server (tests/mongo_wire.py), as a deployment
with ``MONGO_URI`` does.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from config import SERVER_VARIABLES, server_environment, server_settings

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 40  # gunicorn.conf.py has graceful_timeout = 30
HTTP_TIMEOUT_S = 30
EMBEDDED, MONGO_WIRE = "embedded", "mongo_wire"  # values of the ``backend`` fixture
# Also a value of ``backend``: the embedded database with file bytes in a bucket of its own on
# SeaweedFS (tests/s3_server.py; the test module imports its ``s3_server`` fixture).
S3 = "s3"
# Also values of ``backend``: encryption at rest on (ENCRYPTION_KEY, the same across restarts),
# on the embedded database with local storage, or with the bytes on SeaweedFS as for ``S3``.
ENCRYPTED, S3_ENCRYPTED = "encrypted", "s3_encrypted"
ENCRYPTION_KEY_HEX = "5e" * 32
WIRE_WORKERS = 3  # several workers, few enough for a 2-core machine
# A test marked so runs on a server of each backend (its ``server``/``new_server`` fixtures).
on_both_backends = pytest.mark.parametrize("backend", [EMBEDDED, MONGO_WIRE])

# What must not leak from the developer's shell into a server under test: every variable the
# server reads (config.py names them; bench/http_targets.py imports this name).
_SCRUBBED_ENV = SERVER_VARIABLES

_ACCESS_RID_PID = re.compile(r" rid=(\S+) pid=<?(\d+)>?$", re.MULTILINE)  # Gunicorn writes pid=<123>


def child_pids(parent_pid: int) -> set[int]:
    """The processes whose parent is ``parent_pid`` (from /proc)."""
    children = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    stat = fh.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent_pid:
                children.add(int(entry))
    return children


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GunicornServer:
    """One Gunicorn master (and its workers) in its own process group; restartable. The
    benchmarks use it too (bench/transfer.py's ``Server``), with their own ``fail``."""

    # Answers to /api/status that mean "started" (a test of a stopped database adds 503).
    ready_statuses: tuple[int, ...] = (200,)

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path = Path(tmp_path)
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = server_environment(
            os.environ,
            APP_ENV="development",
            BIND=f"127.0.0.1:{self.port}",
            EMBEDDED_DB_PATH=str(tmp_path / "data"),
            UPLOAD_FOLDER=str(tmp_path / "uploads"),
            INSTANCE_PATH=str(tmp_path / "instance"),
            # The same key across restarts, so cookies signed before a restart stay valid
            # (and the dev profile does not need to generate one).
            SECRET_KEY="e2e-" + os.urandom(16).hex(),
            # Every test client registers from 127.0.0.1; the per-address default (20 an
            # hour) is for the real world.
            REGISTER_RATE_LIMIT="10000 per hour",
        )
        env["PYTHONUNBUFFERED"] = "1"
        self.env = env
        self.proc: subprocess.Popen | None = None
        self._logs = []
        self._runs = 0

    def fail(self, message: str):
        """Give up on the server: a failed test here, a benchmark error in bench/."""
        pytest.fail(message)

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def database_kind(self) -> str:
        """What /api/status reports as the database kind."""
        if self.env.get("MONGO_URI"):
            return "mongodb"
        return "sqlite"

    def stored_sizes(self, owner_id: str, at_rest: bool = False) -> list[int]:
        """Sizes of a user's committed blobs, read from the server's storage (a folder or a bucket);
        ``at_rest``: as the backend holds them (sealed, when encryption is on)."""
        from app.storage import storage_from_config
        from config import load_config
        settings = load_config(self.env | ({"ENCRYPTION_KEY": ""} if at_rest else {}))
        entries, _ = storage_from_config(settings).inventory()
        return sorted(e.size for e in entries if e.owner_id == owner_id and not e.staging)

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
                self.fail(f"gunicorn exited with {code} during start-up\n{self.diagnostics()}")
            try:
                response = requests.get(self.url("/api/status"), timeout=2)
            except requests.RequestException as exc:
                last_error = repr(exc)
            else:
                with response:
                    if response.status_code in self.ready_statuses:
                        return
                    last_error = f"HTTP {response.status_code}: {response.text[:500]}"
            time.sleep(0.1)
        self.kill()
        self.fail(f"gunicorn did not answer {self.ready_statuses} on /api/status within {START_TIMEOUT_S}s "
                    f"(last: {last_error})\n{self.diagnostics()}")

    def stop(self) -> int:
        """Graceful stop (SIGTERM to the master) and return its exit status."""
        assert self.proc is not None, "server not running"
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            self.fail(f"gunicorn did not stop within {STOP_TIMEOUT_S}s of SIGTERM\n"
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

    def worker_pids(self) -> set[int]:
        """The master's children: its workers, now."""
        assert self.proc is not None, "server not running"
        return child_pids(self.proc.pid)

    def answered_by(self) -> dict[str, int]:
        """Request id -> pid of the worker that answered it, from this run's access log
        (gunicorn.conf.py's access_log_format ends in ``rid=<id> pid=<worker pid>``)."""
        try:
            log = self.stdout_path.read_text(errors="replace")
        except (OSError, AttributeError):
            return {}
        return {rid: int(pid) for rid, pid in _ACCESS_RID_PID.findall(log)}

    def diagnostics(self) -> str:
        def tail(path, limit=8000):
            try:
                return path.read_text(errors="replace")[-limit:]
            except (OSError, AttributeError):
                return "(none)"
        return (f"--- gunicorn stderr ---\n{tail(getattr(self, 'stderr_path', None))}\n"
                f"--- gunicorn stdout ---\n{tail(getattr(self, 'stdout_path', None), 2000)}")


@pytest.fixture
def backend() -> str:
    """The database of the live servers a test starts; parametrize it to add ``MONGO_WIRE``."""
    return EMBEDDED


@pytest.fixture
def new_server(backend, request, tmp_path):
    """Make (not start) a server on the test's backend, with extra environment variables."""
    def make(**env) -> GunicornServer:
        srv = GunicornServer(tmp_path)
        if backend == MONGO_WIRE:
            from tests.mongo_wire import wire_env
            srv.env.update(wire_env(request.getfixturevalue("mongo_wire")), WEB_CONCURRENCY=str(WIRE_WORKERS))
        if backend in (S3, S3_ENCRYPTED):
            s3 = request.getfixturevalue("s3_server")
            srv.env.update(s3.env(s3.new_bucket()))
        if backend in (ENCRYPTED, S3_ENCRYPTED):
            srv.env.update(server_settings(ENCRYPTION_KEY=ENCRYPTION_KEY_HEX))
        srv.env.update(server_settings(**env))
        return srv
    return make


@pytest.fixture
def server(new_server):
    srv = new_server()
    try:
        srv.start()
        yield srv
    finally:
        srv.kill()
