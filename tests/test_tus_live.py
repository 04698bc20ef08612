"""tus against live Gunicorn with a client we did not write (tuspy): the client is killed
mid-upload and a new one resumes from the URL it stored; the server is killed with SIGKILL
between two PATCHes and the client resumes at the offset the server reports. Each time the
finished file's SHA-256 is the source's, and it is stored once."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import pytest
import requests

from tests.live_server import EMBEDDED, HTTP_TIMEOUT_S, S3
from tests.s3_server import s3_server  # noqa: F401 - fixture (new_server asks for it on S3)

MIB = 1024 * 1024
# The client: tuspy's Uploader with its URL stored by fingerprint in a file (FileStorage), one
# chunk at a time; prints where it starts and each acknowledged offset; with --step it waits
# for a line on stdin before each chunk.
CLIENT = """
import sys, time
from tusclient import client
from tusclient.storage.filestorage import FileStorage
url, token, path, store, chunk, step = sys.argv[1:]
tus = client.TusClient(url, headers={"Authorization": "Bearer " + token})
uploader = tus.uploader(path, chunk_size=int(chunk), store_url=True, url_storage=FileStorage(store),
                        metadata={"filename": "big.bin"}, retries=0)
print("start", uploader.offset, flush=True)
size = uploader.get_file_size()
while uploader.offset < size:
    if step == "step":
        sys.stdin.readline()
    uploader.upload_chunk()
    print("offset", uploader.offset, flush=True)
    time.sleep(0.02)
print("done", uploader.url, flush=True)
"""


def signed_up(server) -> tuple[requests.Session, str]:
    """A logged-in session and a read-write token for the client."""
    session = requests.Session()
    account = {"username": "alice", "password": "correct horse"}
    assert session.post(server.url("/api/register"), json=account, timeout=HTTP_TIMEOUT_S).status_code == 201
    assert session.post(server.url("/api/login"), json=account, timeout=HTTP_TIMEOUT_S).status_code == 200
    made = session.post(server.url("/api/tokens"), json={"name": "tuspy", "scope": "read-write"},
                        timeout=HTTP_TIMEOUT_S)
    assert made.status_code == 201, made.text
    return session, made.json()["secret"]


def source_file(tmp_path, size: int) -> tuple[str, str]:
    path = tmp_path / "source.bin"
    data = os.urandom(size)
    path.write_bytes(data)
    return str(path), hashlib.sha256(data).hexdigest()


def start_client(server, token: str, path: str, store: str, chunk: int, step: bool = False) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CLIENT, server.url("/api/tus/"), token, path, store, str(chunk),
                             "step" if step else "run"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def read_line(client: subprocess.Popen) -> list[str]:
    line = client.stdout.readline()
    assert line, f"the client stopped: {client.stderr.read()}"
    return line.split()


def finish(client: subprocess.Popen) -> None:
    out, err = client.communicate(timeout=120)
    assert client.returncode == 0, (out, err)
    assert "done" in out, out


def check_stored_once(server, session: requests.Session, size: int, sha256: str) -> None:
    files = session.get(server.url("/api/files"), timeout=HTTP_TIMEOUT_S).json()["files"]
    assert [(f["name"], f["size"], f["sha256"]) for f in files] == [("big.bin", size, sha256)]
    with session.get(server.url(f"/api/files/{files[0]['id']}"), timeout=HTTP_TIMEOUT_S, stream=True) as response:
        digest = hashlib.sha256()
        for piece in response.iter_content(MIB):
            digest.update(piece)
    assert digest.hexdigest() == sha256
    assert session.get(server.url("/api/uploads"), timeout=HTTP_TIMEOUT_S).json() == {"uploads": []}
    assert session.get(server.url("/api/me/usage"), timeout=HTTP_TIMEOUT_S).json()["used_bytes"] == size


def no_staging_left_in_the_bucket(server) -> None:
    """On S3: no multipart upload open and no progress manifest left once the upload is a file."""
    from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server
    s3 = S3Server(server.env["S3_ENDPOINT_URL"], ACCESS_KEY, SECRET_KEY, REGION).client()
    bucket = server.env["S3_BUCKET"]
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert not [k for k in keys if "/.resumable/" in f"/{k}"], keys


@pytest.mark.parametrize("backend", [EMBEDDED, S3])
def test_tuspy_killed_mid_upload_resumes_from_its_stored_url(server, tmp_path, backend):
    session, token = signed_up(server)
    size = 6 * MIB + 12345
    path, sha256 = source_file(tmp_path, size)
    store = str(tmp_path / "tus-urls.json")
    first = start_client(server, token, path, store, 256 * 1024)
    assert read_line(first) == ["start", "0"]
    while int(read_line(first)[1]) < 2 * MIB:
        pass
    first.kill()  # SIGKILL, wherever it is: between chunks or in the middle of one
    first.communicate()
    [unfinished] = session.get(server.url("/api/uploads"), timeout=HTTP_TIMEOUT_S).json()["uploads"]
    assert 2 * MIB <= unfinished["offset"] < size
    second = start_client(server, token, path, store, 512 * 1024)
    start = read_line(second)
    assert start[0] == "start" and int(start[1]) >= 2 * MIB  # resumed, not started again
    finish(second)
    check_stored_once(server, session, size, sha256)
    if backend == S3:
        no_staging_left_in_the_bucket(server)


@pytest.mark.parametrize("backend, chunk", [(EMBEDDED, MIB), (S3, 5 * MIB)])
def test_a_server_killed_between_two_patches_loses_nothing_it_acknowledged(server, tmp_path, backend, chunk):
    """On S3 the chunks cross 8 MiB part boundaries: what is not a whole part yet waits in the
    bucket (a manifest), so the restarted server (or another one) continues from there."""
    session, token = signed_up(server)
    size = 3 * chunk + 777
    path, sha256 = source_file(tmp_path, size)
    store = str(tmp_path / "tus-urls.json")
    client = start_client(server, token, path, store, chunk, step=True)
    assert read_line(client) == ["start", "0"]
    acknowledged = 0
    for _ in range(2):
        client.stdin.write("\n")
        client.stdin.flush()
        acknowledged = int(read_line(client)[1])
    assert acknowledged == 2 * chunk
    sigkill(server)
    client.kill()
    client.communicate()
    server.start()
    # A new client finds its URL and asks the restarted server where the upload is.
    resumed = start_client(server, token, path, store, MIB)
    assert read_line(resumed) == ["start", str(acknowledged)]
    finish(resumed)
    check_stored_once(server, session, size, sha256)
    if backend == S3:
        no_staging_left_in_the_bucket(server)


def sigkill(server) -> None:
    """Kill the whole server with SIGKILL (no graceful stop): master and workers at once."""
    import signal
    os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait(timeout=10)
    server.proc = None
    time.sleep(0.2)
