"""The drive on S3: the live end-to-end story, parallel replaces, and what services do with
bytes (dedup, versions, trash, quota, copy, the public ZIP, cut-off uploads) against a real
Gunicorn whose bytes live in a SeaweedFS bucket; then ``flask repair`` on S3."""
from __future__ import annotations

import hashlib
import io
import os
import time
import zipfile

import mongomock
import pytest
import requests

from app import create_app
from app.db import close_database
from app.services import services
from app.storage import UploadBudget
from config import TestingConfig
from tests.conftest import AuthActions, upload
from tests.live_server import HTTP_TIMEOUT_S, S3, S3_ENCRYPTED
from tests.s3_server import s3_bucket, s3_server  # noqa: F401 - fixtures (new_server asks for s3_server)
from tests.test_concurrency_uploads import test_parallel_replaces_keep_every_acknowledged_content as parallel_replaces
from tests.test_e2e_server import test_full_session_survives_restart as full_session
from tests.test_faults import LiveUser, RawUpload, assert_repair_clean

MIB = 1024 * 1024
on_s3 = pytest.mark.parametrize("backend", [S3])


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def open_uploads(server) -> list[dict]:
    """Multipart uploads still open in the server's bucket."""
    from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server
    s3 = S3Server(server.env["S3_ENDPOINT_URL"], ACCESS_KEY, SECRET_KEY, REGION)
    return s3.client().list_multipart_uploads(Bucket=server.env["S3_BUCKET"]).get("Uploads", [])


@pytest.mark.e2e
@pytest.mark.parametrize("backend", [S3, S3_ENCRYPTED])
def test_the_full_story_on_s3(server, tmp_path, backend):
    full_session(server, tmp_path, backend)


@pytest.mark.e2e
@on_s3
def test_parallel_replaces_on_s3(server):
    parallel_replaces(server)


class Drive:
    """A logged-in user of a live server, for short calls."""

    def __init__(self, server):
        self.server = server
        self.user = LiveUser(server)
        self.session = self.user.session

    def call(self, method: str, path: str, expected: int, **kwargs):
        response = self.session.request(method, self.server.url(path), timeout=HTTP_TIMEOUT_S, **kwargs)
        assert response.status_code == expected, f"{method} {path}: {response.status_code} {response.text[:300]}"
        return response.json() if response.content and "json" in response.headers.get("Content-Type", "") else response

    def put(self, name: str, data: bytes, query: str = "", expected: int = 201) -> dict:
        body = self.call("POST", f"/api/upload{query}", expected, files={"file": (name, data)})
        return body["files"][0] if expected == 201 else body

    def used(self) -> int:
        return self.call("GET", "/api/me/usage", 200)["used_bytes"]

    def content(self, file_id: str) -> bytes:
        return self.call("GET", f"/api/files/{file_id}", 200).content


@pytest.mark.e2e
@on_s3
def test_dedup_versions_trash_copy_quota_and_zip_on_s3(new_server):
    server = new_server(USER_QUOTA_BYTES="40M")
    server.start()
    try:
        drive = Drive(server)
        one, two = os.urandom(9 * MIB), os.urandom(3 * MIB)
        first = drive.put("one.bin", one)
        assert drive.put("same.bin", one)["sha256"] == sha(one)  # dedup: one object, charged once
        assert server.stored_sizes(drive.user.user_id) == [len(one)] and drive.used() == len(one)

        replaced = drive.put("one.bin", two, "?on_conflict=replace")  # versions
        assert replaced["id"] == first["id"] and drive.content(first["id"]) == two
        version = drive.call("GET", f"/api/files/{first['id']}/versions", 200)["versions"][0]
        drive.call("POST", f"/api/files/{first['id']}/versions/{version['id']}/restore", 200)
        assert drive.content(first["id"]) == one

        copy = drive.call("POST", f"/api/files/{first['id']}/copy", 201)  # copy: shares the bytes
        assert copy["sha256"] == sha(one) and drive.content(copy["id"]) == one
        assert drive.used() == len(one) + len(two)

        drive.call("DELETE", f"/api/files/{copy['id']}", 204)  # trash, restore, purge
        trashed = drive.call("GET", "/api/trash", 200)["items"]
        assert [t["id"] for t in trashed] == [copy["id"]]
        drive.call("POST", f"/api/trash/{copy['id']}/restore", 200)
        assert drive.content(copy["id"]) == one

        refused = drive.put("big.bin", os.urandom(30 * MIB), expected=507)  # quota: nothing left behind
        assert refused["error"]["code"] == "quota_exceeded"
        assert server.stored_sizes(drive.user.user_id) == sorted([len(one), len(two)]) and open_uploads(server) == []

        box = drive.call("POST", "/api/folders", 201, json={"name": "Box"})["id"]  # the public ZIP
        drive.put("inside.bin", two, f"?folder_id={box}")
        drive.put("other.bin", one[:MIB], f"?folder_id={box}")
        token = drive.call("POST", "/api/shares", 201, json={"item_id": box})["token"]
        archive = requests.get(server.url(f"/s/{token}/zip"), timeout=HTTP_TIMEOUT_S)
        assert archive.status_code == 200, archive.text[:300]
        members = zipfile.ZipFile(io.BytesIO(archive.content))
        assert members.read("Box/inside.bin") == two and members.read("Box/other.bin") == one[:MIB]

        ranged = drive.call("GET", f"/api/files/{first['id']}", 206, headers={"Range": f"bytes={8 * MIB}-"})
        assert ranged.content == one[8 * MIB:]
        assert server.stop() == 0
        assert_repair_clean(server, "--verify")
    finally:
        server.kill()


@pytest.mark.e2e
@on_s3
def test_a_cut_off_upload_on_s3_aborts_its_multipart_upload(server):
    user = LiveUser(server)
    cut = RawUpload(user, "cut.bin", os.urandom(40 * MIB))
    assert cut.send(24 * MIB)  # two parts are on their way to S3 by now
    deadline = time.monotonic() + 10
    while not open_uploads(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert open_uploads(server), "the upload never reached S3"
    cut.disconnect()
    deadline = time.monotonic() + 20
    while open_uploads(server) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert open_uploads(server) == [], "the cut-off upload's multipart upload was left open"
    assert server.stored_sizes(user.user_id) == []
    listing = user.session.get(server.url("/api/files"), timeout=HTTP_TIMEOUT_S).json()
    assert listing["total"] == 0


# -- repair on S3 (in process, on mongomock) -------------------------------------------------------

@pytest.fixture
def s3_app(tmp_path, s3_server, s3_bucket):
    settings = TestingConfig.load(s3_server.env(s3_bucket, S3_PREFIX="drive"))
    settings.update(INSTANCE_PATH=str(tmp_path / "instance"), UPLOAD_FOLDER=str(tmp_path / "uploads"),
                    MONGO_CLIENT_FACTORY=lambda: mongomock.MongoClient(tz_aware=True))
    application = create_app(settings)
    yield application
    close_database(application)


def test_repair_on_s3_reports_objects_without_records_and_records_without_objects(s3_app):
    client = s3_app.test_client()
    user = AuthActions(client).signup()
    kept, lost = (upload(client, (name, data)).get_json()["files"][0]
                  for name, data in (("kept.txt", b"kept"), ("lost.txt", b"lost bytes")))
    with s3_app.app_context():
        storage = services().storage
        lost_key = next(e.name for e in storage.inventory()[0] if e.size == len(b"lost bytes"))
        storage.delete(user["id"], lost_key)  # a record without its object
        stray = storage.stage(user["id"], UploadBudget(None))
        stray.append([b"nobody's"])
        stray_key = storage.commit(stray, user["id"])  # an object without a record
        services().repair.grace_s = 0
    runner = s3_app.test_cli_runner()
    result = runner.invoke(args=["repair"])
    assert result.exit_code == 1, result.output
    assert "bytes without a record" in result.output and stray_key in result.output
    assert "records without bytes" in result.output and lost_key in result.output
    result = runner.invoke(args=["repair", "--fix"])
    assert "after repair: clean" in result.output, result.output
    assert client.get(f"/api/files/{kept['id']}").get_data() == b"kept"
    assert client.get(f"/api/files/{lost['id']}").status_code == 404


@pytest.mark.e2e
@on_s3
def test_workers_killed_mid_upload_on_s3_lose_nothing_acknowledged(server):
    """Every worker SIGKILLed while a 40 MiB upload has parts on their way to S3: no answer
    (or a 5xx) for it, every acknowledged file intact, its multipart upload left open as
    staging that repair leaves alone and the staging sweep aborts."""
    import signal
    from app.storage import storage_from_config
    from config import load_config
    user = LiveUser(server)
    before = [user.upload("before.txt", b"acknowledged before the crash\n"), user.upload("big.bin", os.urandom(9 * MIB))]
    cut = RawUpload(user, "cut.bin", os.urandom(40 * MIB))
    assert cut.send(24 * MIB)
    deadline = time.monotonic() + 10
    while not open_uploads(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert open_uploads(server), "the upload never reached S3"
    old_workers = server.worker_pids()
    for pid in old_workers:
        os.kill(pid, signal.SIGKILL)
    answer = cut.response()
    assert answer is None or answer[0] >= 500, f"a killed upload was answered {answer}"
    deadline = time.monotonic() + 30
    while len(server.worker_pids() - old_workers) < len(old_workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    listing = user.session.get(server.url("/api/files"), timeout=HTTP_TIMEOUT_S).json()["files"]
    assert sorted(f["id"] for f in listing) == sorted(r["id"] for r in before)
    for record in before:
        got = user.session.get(server.url(f"/api/files/{record['id']}"), timeout=HTTP_TIMEOUT_S)
        assert sha(got.content) == record["sha256"]
    assert sorted(server.stored_sizes(user.user_id)) == sorted(r["size"] for r in before)
    assert len(open_uploads(server)) == 1  # the killed upload's, until the sweep
    assert "left alone" in assert_repair_clean(server)
    storage = storage_from_config(load_config(server.env))
    assert storage.sweep_staging(max_age_s=0) == 1
    assert open_uploads(server) == []
    assert "left alone" not in assert_repair_clean(server)
