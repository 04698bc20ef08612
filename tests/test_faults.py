"""Fault tests: the killed worker, the cut-off client, the full disk, the stopped database
(docs/RELIABILITY.md, "How we show it").

After every fault the service answers again, every upload that was acknowledged (2xx)
downloads with its original SHA-256, nothing of the failed request is visible (no listing
entry, no committed blob file, no quota charged), and ``repair`` reports clean (run as
``flask --app wsgi repair`` against the same embedded store, after the server stops).

Live tests start their own Gunicorn (tests/live_server.py, several workers) and kill the
worker that holds the upload, by its pid; the full disk is a tmpfs this test mounts
(skipped where mounting is refused; the in-process tests below make the same faults by
monkeypatching and run everywhere); the stopped database is a client pointed at a closed port.
"""
from __future__ import annotations

import errno
import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import mongomock
import pytest
import requests
from pymongo.errors import ServerSelectionTimeoutError

from app import create_app
from app.auth.repo import UsersRepository
from app.drive.repo import BlobsRepository, ItemsRepository, VersionsRepository
from app.services import services
from app.storage import local as local_storage
from app.storage.local import STAGING_PREFIX, LocalStagedBlob
from config import TestingConfig
from tests.conftest import upload
from tests.live_server import EMBEDDED, ENCRYPTED, HTTP_TIMEOUT_S, REPO_ROOT, GunicornServer, _free_port

USER_AGENT = "fault-tests"  # Flask-Login's strong session protection ties the cookie to it
MIB = 1024 * 1024
TWO_DAYS_S = 2 * 24 * 3600


def wait_for(predicate, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- a user of a live server, who remembers what was acknowledged ---------------------------

class LiveUser:
    def __init__(self, server: GunicornServer, username: str = "alice", password: str = "correct horse battery"):
        self.server = server
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        assert self._post("/api/register", json={"username": username, "password": password}).status_code == 201
        response = self._post("/api/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        self.user_id = response.json()["id"]
        self.acked: dict[str, dict] = {}  # file id -> its record, for every 2xx upload

    def _post(self, path: str, **kwargs) -> requests.Response:
        return self.session.post(self.server.url(path), timeout=HTTP_TIMEOUT_S, **kwargs)

    @property
    def cookie(self) -> str:
        return self.session.cookies["session"]

    def upload(self, name: str, data: bytes) -> dict:
        response = self._post("/api/upload", files={"file": (name, data)})
        assert response.status_code == 201, f"{response.status_code} {response.text}\n{self.server.diagnostics()}"
        record = response.json()["files"][0]
        assert record["sha256"] == sha256(data)
        self.acked[record["id"]] = record
        return record

    def folder(self) -> str:
        return os.path.join(self.server.env["UPLOAD_FOLDER"], self.user_id)

    def stored(self) -> tuple[list[str], list[str]]:
        """(committed blob files, staging files) in the user's folder."""
        names = os.listdir(self.folder()) if os.path.isdir(self.folder()) else []
        return ([n for n in names if not n.startswith(STAGING_PREFIX)],
                [n for n in names if n.startswith(STAGING_PREFIX)])

    def assert_intact(self) -> None:
        """Exactly the acknowledged files are listed, each downloads with its SHA-256, the
        quota counts them once, and no other committed bytes exist."""
        get = lambda path: self.session.get(self.server.url(path), timeout=HTTP_TIMEOUT_S)  # noqa: E731
        listing = get("/api/files?limit=200")
        assert listing.status_code == 200, listing.text
        assert {f["id"] for f in listing.json()["files"]} == set(self.acked)
        for file_id, record in self.acked.items():
            response = get(f"/api/files/{file_id}")
            assert response.status_code == 200, response.text
            assert sha256(response.content) == record["sha256"], f"{record['name']} changed"
        contents = {r["sha256"]: r["size"] for r in self.acked.values()}
        assert get("/api/me/usage").json()["used_bytes"] == sum(contents.values())
        assert len(self.stored()[0]) == len(contents), "a committed blob file nobody acknowledged"


class RawUpload:
    """A multipart upload over a plain socket, so the test decides how much of the body goes
    out and when, and sees whatever answer comes back (or the connection dying)."""

    def __init__(self, user: LiveUser, name: str, data: bytes):
        boundary = "fault-" + uuid.uuid4().hex
        self.body = memoryview(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + f"\r\n--{boundary}--\r\n".encode())
        head = (f"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1:{user.server.port}\r\n"
                f"Cookie: session={user.cookie}\r\nUser-Agent: {USER_AGENT}\r\nConnection: close\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(self.body)}\r\n\r\n")
        self.sock = socket.create_connection(("127.0.0.1", user.server.port), timeout=HTTP_TIMEOUT_S)
        self.sock.sendall(head.encode())
        self.sent = 0
        self._received = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while chunk := self.sock.recv(65536):
                self._received += chunk
        except OSError:
            pass

    def send(self, nbytes: int | None = None) -> bool:
        """Send the next ``nbytes`` of the body (all of it by default); False once the server
        stopped reading (it answered early, or died)."""
        end = len(self.body) if nbytes is None else min(self.sent + nbytes, len(self.body))
        try:
            self.sock.sendall(self.body[self.sent:end])
        except OSError:
            return False
        self.sent = end
        return True

    def disconnect(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def response(self, timeout: float = HTTP_TIMEOUT_S) -> tuple[int, dict] | None:
        """The (status, JSON) answer, or None when the connection closed without one."""
        self._reader.join(timeout)
        assert not self._reader.is_alive(), "the server neither answered nor closed the connection"
        self.sock.close()
        head, _, body = bytes(self._received).partition(b"\r\n\r\n")
        if not head:
            return None
        status = int(head.split(b" ", 2)[1])
        return status, (requests.models.complexjson.loads(body) if body else {})


def worker_writing(server: GunicornServer, folder: str) -> int:
    """The pid of the worker that has a staging file of ``folder`` open (the one receiving
    the upload, whichever of the workers took the connection)."""
    for pid in server.worker_pids():
        try:
            targets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        if any(t.startswith(os.path.join(folder, STAGING_PREFIX)) for t in targets):
            return pid
    return 0


def run_repair(server: GunicornServer, *args: str) -> subprocess.CompletedProcess:
    """``flask --app wsgi repair`` with the server's environment (its database and uploads)."""
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "repair", *args], cwd=REPO_ROOT,
                          env=server.env, capture_output=True, text=True, timeout=120)


def assert_repair_clean(server: GunicornServer, *args: str) -> str:
    result = run_repair(server, *args)
    assert result.returncode == 0, f"repair found problems:\n{result.stdout}\n{result.stderr}"
    assert "clean" in result.stdout
    return result.stdout


# -- live: the killed worker, the cut-off client --------------------------------------------

@pytest.mark.e2e
def test_a_worker_killed_mid_upload_loses_nothing_acknowledged(server):
    user = LiveUser(server)
    user.upload("before.txt", b"acknowledged before the crash\n")
    user.upload("before.bin", os.urandom(MIB))

    cut = RawUpload(user, "big.bin", os.urandom(8 * MIB))
    assert cut.send(3 * MIB)
    wait_for(lambda: any(os.path.getsize(os.path.join(user.folder(), n)) >= MIB for n in user.stored()[1]),
             "the worker to be writing the upload")
    writer = wait_for(lambda: worker_writing(server, user.folder()), "the worker with the upload's staging file open")
    old_workers = server.worker_pids()
    os.kill(writer, signal.SIGKILL)

    answer = cut.response()
    assert answer is None or answer[0] >= 500, f"a killed upload was answered {answer}"
    wait_for(lambda: server.worker_pids() - old_workers, "Gunicorn to start a new worker")
    assert writer not in server.worker_pids() and len(server.worker_pids()) == len(old_workers)
    wait_for(lambda: requests.get(server.url("/api/status"), timeout=2).status_code == 200, "the service to answer")

    user.assert_intact()
    debris = user.stored()[1]
    assert len(debris) == 1, "the killed upload's staging file is the only debris"
    user.upload("after.txt", b"the new worker takes uploads\n")
    user.assert_intact()

    server.stop()
    report = assert_repair_clean(server, "--verify")
    assert "left alone (an upload may still be writing them): 1" in report
    staging = os.path.join(user.folder(), debris[0])
    os.utime(staging, (time.time() - TWO_DAYS_S,) * 2)  # a day later, any start of the app sweeps it
    assert "left alone" not in assert_repair_clean(server)
    assert user.stored()[1] == []
    server.start()
    user.assert_intact()


@pytest.mark.e2e
@pytest.mark.parametrize("backend", [EMBEDDED, ENCRYPTED])
def test_a_client_that_disconnects_mid_upload_leaves_no_trace(server):
    user = LiveUser(server)
    user.upload("before.bin", os.urandom(MIB))

    cut = RawUpload(user, "half.bin", os.urandom(4 * MIB))
    assert cut.send(len(cut.body) // 2)
    wait_for(lambda: user.stored()[1], "the upload to start staging")
    cut.disconnect()

    wait_for(lambda: not user.stored()[1], "the worker to remove the cut-off upload's staging file")
    user.assert_intact()
    user.upload("after.txt", b"still serving\n")
    user.assert_intact()
    server.stop()
    assert "left alone" not in assert_repair_clean(server, "--verify")


# -- live: the full disk --------------------------------------------------------------------

@pytest.fixture
def full_disk_server(tmp_path):
    """A server whose UPLOAD_FOLDER is an 8 MiB tmpfs."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(uploads)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for a full disk here ({mounted.stderr.strip() or mounted.returncode}); "
                    "the in-process ENOSPC tests cover the behaviour")
    srv = GunicornServer(tmp_path)
    try:
        srv.start()
        yield srv
    finally:
        srv.kill()
        subprocess.run(["umount", "-l", str(uploads)], check=False)


@pytest.mark.e2e
def test_a_full_disk_answers_507_cleans_up_and_keeps_serving(full_disk_server):
    server = full_disk_server
    user = LiveUser(server)
    user.upload("before.bin", os.urandom(MIB))
    free_before = os.statvfs(server.env["UPLOAD_FOLDER"]).f_bavail

    too_big = RawUpload(user, "too-big.bin", os.urandom(10 * MIB))
    too_big.send()
    answer = too_big.response()
    assert answer is not None, f"no answer to a full disk\n{server.diagnostics()}"
    assert answer == (507, {"error": {"code": "storage_full",
                                      "message": "The server has no space left for this upload."}})

    wait_for(lambda: not user.stored()[1], "the staging file to be removed")
    assert os.statvfs(server.env["UPLOAD_FOLDER"]).f_bavail == free_before
    user.assert_intact()
    user.upload("after.bin", os.urandom(MIB))
    user.assert_intact()
    server.stop()
    assert_repair_clean(server, "--verify")


# -- live: the stopped database -------------------------------------------------------------

@pytest.mark.e2e
def test_a_stopped_database_answers_503_quickly(tmp_path):
    srv = GunicornServer(tmp_path)
    srv.env.update(MONGO_URI=f"mongodb://127.0.0.1:{_free_port()}/clouddrive", WEB_CONCURRENCY="1")
    srv.ready_statuses = (200, 503)
    try:
        srv.start()  # a worker boots although the database is down
        calls = [("GET", "/api/status", {}),
                 ("POST", "/api/login", {"json": {"username": "alice", "password": "correct horse"}}),
                 ("GET", "/api/files", {})]
        for method, path, kwargs in calls:
            started = time.monotonic()
            response = requests.request(method, srv.url(path), timeout=HTTP_TIMEOUT_S, **kwargs)
            elapsed = time.monotonic() - started
            assert response.status_code == 503, f"{path}: {response.status_code} {response.text}"
            assert elapsed < 2.5, f"{path} took {elapsed:.1f}s"
            body = response.json()
            if path == "/api/status":
                assert body["database"] == {"kind": "mongodb", "reachable": False}
            else:
                assert body["error"]["code"] == "database_unavailable"
    finally:
        srv.kill()
    assert '" 500 ' not in srv.stdout_path.read_text()
    assert "unhandled error" not in srv.stderr_path.read_text()


def test_a_database_lost_after_start_up_refuses_logins_within_seconds(tmp_path, monkeypatch):
    """Login counters live in MongoDB too; their client must not wait pymongo's default 30 s."""
    monkeypatch.setattr("app.services.ensure_indexes", lambda app, repositories: None)  # it was up at start
    monkeypatch.setenv("MONGO_URI", f"mongodb://127.0.0.1:{_free_port()}/clouddrive")
    app = create_app({"SECRET_KEY": "test", "UPLOAD_FOLDER": str(tmp_path / "uploads"),
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    try:
        started = time.monotonic()
        response = app.test_client().post("/api/login", json={"username": "alice", "password": "correct horse"})
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "database_unavailable"
        assert time.monotonic() - started < 2.5
    finally:
        app.extensions["drive_db"].close()


def test_a_database_down_at_start_up_is_waited_for_then_indexed(tmp_path, monkeypatch):
    """The worker boots, answers 503, and creates its (unique) indexes before serving anything."""
    down = [True]
    ensure = UsersRepository.ensure_indexes

    def ensure_when_up(self):
        if down[0]:
            raise Outage.error()
        return ensure(self)
    monkeypatch.setattr(UsersRepository, "ensure_indexes", ensure_when_up)
    settings = TestingConfig.load({})
    settings.update(MONGO_CLIENT_FACTORY=lambda: mongomock.MongoClient(tz_aware=True),
                    UPLOAD_FOLDER=str(tmp_path / "uploads"), INSTANCE_PATH=str(tmp_path / "instance"))
    client = create_app(settings).test_client()
    account = {"username": "alice", "password": "correct horse"}

    response = client.post("/api/register", json=account)
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "database_unavailable"
    down[0] = False
    assert client.post("/api/register", json=account).status_code == 201
    assert client.post("/api/register", json=account).status_code == 409  # the unique index is there


# -- in-process: the full disk, the failing fsync ---------------------------------------------

def stored_files(app, user_id: str) -> list[str]:
    folder = os.path.join(app.config["UPLOAD_FOLDER"], user_id)
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def download(client, file_id: str) -> tuple[int, bytes]:
    response = client.get(f"/api/files/{file_id}")
    data = response.get_data()
    response.close()
    return response.status_code, data


def repair_cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["repair", *args])


@pytest.fixture
def alice(client, auth):
    """Alice with one acknowledged file: ``client.user_id``, ``client.kept`` (its record)."""
    client.user_id = auth.signup()["id"]
    response = upload(client, ("kept.txt", b"acknowledged before the fault\n"))
    assert response.status_code == 201
    client.kept = response.get_json()["files"][0]
    return client


def assert_only_kept(app, client) -> None:
    """The acknowledged file is listed and intact, and nothing else is stored or charged."""
    listing = client.get("/api/files").get_json()["files"]
    assert [f["id"] for f in listing] == [client.kept["id"]]
    status, data = download(client, client.kept["id"])
    assert status == 200 and sha256(data) == client.kept["sha256"]
    assert client.get("/api/me/usage").get_json()["used_bytes"] == client.kept["size"]
    assert len(stored_files(app, client.user_id)) == 1, stored_files(app, client.user_id)


def assert_serving_and_clean(app, client) -> None:
    response = upload(client, ("after.txt", b"the service keeps serving\n"))
    assert response.status_code == 201, response.get_json()
    result = repair_cli(app, "--verify")
    assert result.exit_code == 0, result.output


def test_a_full_disk_while_writing_answers_507_and_leaves_nothing(app, alice, monkeypatch):
    original = LocalStagedBlob.write

    def write_until_full(self, data):
        if self.size + len(data) > 256 * 1024:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(self, data)
    monkeypatch.setattr(LocalStagedBlob, "write", write_until_full)

    response = upload(alice, ("big.bin", os.urandom(MIB)))
    assert response.status_code == 507
    assert response.get_json()["error"]["code"] == "storage_full"
    assert_only_kept(app, alice)
    monkeypatch.undo()
    assert_serving_and_clean(app, alice)


class _FillingDisk(io.FileIO):
    """A file on a disk with ``room`` bytes free: short writes, then ENOSPC, as a real one."""

    room = 200 * 1024

    def write(self, data) -> int:
        free = self.room - self.tell()
        if free <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(bytes(data)[:free])


def test_a_disk_that_fills_under_a_staged_file_answers_507_and_leaves_nothing(app, alice, monkeypatch):
    """Bytes still buffered when the disk filled fail again when the staged file is closed;
    the staged file must go all the same."""
    def open_on_filling_disk(path, mode="r", *args, **kwargs):
        return io.BufferedWriter(_FillingDisk(path, mode.replace("b", "")))
    monkeypatch.setattr(local_storage, "open", open_on_filling_disk, raising=False)
    write = LocalStagedBlob.write

    # Werkzeug mostly hands over 64 KiB at a time, which bypasses the file object's buffer;
    # a part's tail and the bytes held back around a possible boundary come smaller, and wait there.
    def write_in_small_pieces(self, data):
        return sum(write(self, data[i:i + 5000]) for i in range(0, len(data), 5000))
    monkeypatch.setattr(LocalStagedBlob, "write", write_in_small_pieces)

    response = upload(alice, ("big.bin", os.urandom(MIB)))
    assert response.status_code == 507, response.get_data()
    assert response.get_json()["error"]["code"] == "storage_full"
    assert_only_kept(app, alice)
    monkeypatch.undo()
    assert_serving_and_clean(app, alice)


@pytest.mark.parametrize("failing_call, err, status, code", [
    (1, errno.ENOSPC, 507, "storage_full"),  # the staged file's fsync: delayed allocation ran out
    (1, errno.EIO, 500, "internal_error"),  # the staged file's fsync: the disk lost the bytes
    (2, errno.EIO, 500, "internal_error"),  # the folder's fsync after the rename
])
def test_an_fsync_error_is_a_failed_upload_never_a_201(app, alice, monkeypatch, failing_call, err, status, code):
    calls = []
    original = os.fsync

    def fsync(fd):
        calls.append(fd)
        if len(calls) == failing_call:
            raise OSError(err, os.strerror(err))
        return original(fd)
    monkeypatch.setattr(local_storage.os, "fsync", fsync)

    response = upload(alice, ("synced.bin", os.urandom(64 * 1024)))
    assert len(calls) >= failing_call
    assert (response.status_code, response.get_json()["error"]["code"]) == (status, code)
    assert_only_kept(app, alice)
    monkeypatch.undo()
    assert_serving_and_clean(app, alice)


# -- in-process: the database lost at the worst moment ----------------------------------------

COLLECTION_CALLS = ("insert_one", "find_one", "find", "find_one_and_update", "update_one", "update_many",
                    "delete_one", "delete_many", "count_documents", "aggregate")


class Outage:
    """Makes one repository call fail as a stopped MongoDB does; with ``stays_down``, every
    database call after it fails too, until the test brings the database back."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.down = False
        self.triggered = False
        for name in COLLECTION_CALLS:
            collection = mongomock.collection.Collection
            monkeypatch.setattr(collection, name, self._guard(getattr(collection, name)))

    @staticmethod
    def error() -> ServerSelectionTimeoutError:
        return ServerSelectionTimeoutError("127.0.0.1:27017: [Errno 111] Connection refused, Timeout: 1.0s")

    def _guard(self, method):
        def guarded(*args, **kwargs):
            if self.down:
                raise self.error()
            return method(*args, **kwargs)
        return guarded

    def fail_at(self, repository: type, method: str, stays_down: bool) -> None:
        original = getattr(repository, method)

        def failing(*args, **kwargs):
            if self.triggered:
                return original(*args, **kwargs)
            self.triggered = True
            self.down = stays_down
            raise self.error()
        self.monkeypatch.setattr(repository, method, failing)

    def end(self) -> None:
        assert self.triggered, "the request never reached the failing call"
        self.down = False
        self.monkeypatch.undo()


@pytest.fixture
def outage(monkeypatch):
    return Outage(monkeypatch)


def assert_reconciled(app, repair_expected: bool) -> None:
    """Never bytes without a record, never a record without bytes; what a lost compensation
    left (a count ahead of its records, versions of a deleted file) ``repair --fix`` ends."""
    with app.app_context():
        report = services().repair.scan(verify=True)
    assert report.stray_bytes == [] and report.stale_staging == [] and report.left_alone == []
    assert report.broken_blobs == [] and report.dangling_files == [] and report.dangling_versions == []
    if report.clean:
        return
    assert repair_expected, report.lines()
    result = repair_cli(app, "--fix")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("stays_down", [False, True], ids=["blip", "stays-down"])
@pytest.mark.parametrize("repository, method, replace", [
    (BlobsRepository, "acquire_existing", False),  # before any byte is committed
    (BlobsRepository, "insert", False),  # bytes committed, their record not written
    (ItemsRepository, "insert", False),  # blob recorded, the file record not written
    (VersionsRepository, "insert", True),  # replacing: the pending version of the old content not written
    (ItemsRepository, "commit_content", True),  # replacing: pending version written, the file not switched
], ids=lambda v: getattr(v, "__name__", v))
def test_a_database_lost_during_upload_answers_503_and_records_every_stored_byte(
        app, alice, outage, repository, method, replace, stays_down):
    outage.fail_at(repository, method, stays_down)
    name = "kept.txt" if replace else "new.txt"
    response = upload(alice, (name, b"new content " * 1000), query="?on_conflict=replace" if replace else "")
    outage.end()

    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "database_unavailable"
    assert_reconciled(app, repair_expected=stays_down)
    assert_only_kept(app, alice)
    assert alice.get(f"/api/files/{alice.kept['id']}/versions").get_json()["versions"] == []
    assert_serving_and_clean(app, alice)


@pytest.mark.parametrize("stays_down", [False, True], ids=["blip", "stays-down"])
@pytest.mark.parametrize("repository, method, permanent, leaves_work", [
    (ItemsRepository, "update", False, False),  # to the trash: the record not changed
    (ItemsRepository, "take", True, False),  # for good: the record not deleted
    (VersionsRepository, "delete", True, True),  # for good: record gone, its versions not
    (BlobsRepository, "drop_ref", True, True),  # for good: records gone, a blob's count not lowered
], ids=lambda v: getattr(v, "__name__", v))
def test_a_database_lost_during_delete_loses_nothing_halfway(app, alice, outage, repository, method, permanent,
                                                              leaves_work, stays_down):
    upload(alice, ("doomed.txt", b"first"))
    doomed = upload(alice, ("doomed.txt", b"second"), query="?on_conflict=replace").get_json()["files"][0]
    outage.fail_at(repository, method, stays_down)
    response = alice.delete(f"/api/files/{doomed['id']}" + ("?permanent=true" if permanent else ""))
    outage.end()

    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "database_unavailable"
    listed = doomed["id"] in {f["id"] for f in alice.get("/api/files").get_json()["files"]}
    status, data = download(alice, doomed["id"])
    if listed:  # still there, whole
        assert status == 200 and data == b"second"
    else:  # or gone, completely
        assert status == 404
    assert_reconciled(app, repair_expected=leaves_work)
    if listed:
        assert alice.delete(f"/api/files/{doomed['id']}?permanent=true").status_code == 204
    assert_only_kept(app, alice)
    assert_serving_and_clean(app, alice)

