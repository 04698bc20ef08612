"""WebDAV benchmark: PUT and GET of one 1 GiB file through /dav beside the API's upload
(POST /api/upload) and download (GET /api/files/<id>), side by side in each round; then the
listing of a folder of 10,000 files (PROPFIND Depth 1) against its target (< 1 s).

A benchmark, not a test: it prints a Markdown table and exits non-zero only when the service
answers wrongly (an error status, a wrong size or SHA-256) or cannot run. Targets: WebDAV PUT
and GET >= 0.8 x the API's; the 10,000-file listing < 1 s. Each is reported MET or MISSED.

    python bench/webdav.py                                  # 1 GiB, 3 rounds, 10,000 files
    python bench/webdav.py --size 256M --repeat 1 --files 2000   # quick check

It reuses bench/transfer.py (source files, Gunicorn, sign-up, the API's streamed upload and
download); see bench/README.md ("webdav.py").
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transfer  # noqa: E402  (bench/ is not a package)
from transfer import CHUNK, MIB, RESULTS, BenchError, Server, make_source, mib_per_s, sign_up  # noqa: E402
from tus_upload import human, loadavg, parse_size, size_flag  # noqa: E402

REPO = transfer.REPO
DEFAULT_SIZE, DEFAULT_REPEAT, DEFAULT_FILES = 1024 * MIB, 3, 10_000
TARGET_RATIO = 0.8
TARGET_LISTING_S = 1.0
MEASUREMENTS = ("api-upload", "dav-put", "api-download", "dav-get")
LISTING_ROUNDS = 3


class FileBody:
    """A file sent as a plain Content-Length body, read in 1 MiB pieces."""

    def __init__(self, path: str):
        self.path, self.size = path, os.path.getsize(path)

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        with open(self.path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk


def dav_put(session: requests.Session, url: str, path: str) -> float:
    start = time.perf_counter()
    response = session.put(url, data=FileBody(path), timeout=(5, 3600))
    seconds = time.perf_counter() - start
    if response.status_code not in (201, 204):
        raise BenchError(f"PUT {url} -> HTTP {response.status_code}: {response.text[:300]}")
    return seconds


def dav_get(session: requests.Session, url: str) -> tuple[str, int, float]:
    digest, received = hashlib.sha256(), 0
    start = time.perf_counter()
    with session.get(url, stream=True, timeout=(5, 3600)) as response:
        if response.status_code != 200:
            raise BenchError(f"GET {url} -> HTTP {response.status_code}: {response.text[:300]}")
        for chunk in response.iter_content(CHUNK):
            digest.update(chunk)
            received += len(chunk)
    return digest.hexdigest(), received, time.perf_counter() - start


def api_file(session: requests.Session, base: str, name: str) -> dict:
    found = session.get(f"{base}/api/search", params={"q": name, "type": "file"}, timeout=30).json()["items"]
    match = [f for f in found if f["name"] == name]
    if len(match) != 1:
        raise BenchError(f"the API lists {len(match)} files named {name}")
    return match[0]


def delete_for_good(session: requests.Session, base: str, file_id: str) -> None:
    response = session.delete(f"{base}/api/files/{file_id}", params={"permanent": "true"}, timeout=120)
    if response.status_code != 204:
        raise BenchError(f"DELETE /api/files/{file_id} -> HTTP {response.status_code}")


def transfer_round(session, dav, server: Server, workdir: str, size: int, round_no: int) -> list[dict]:
    """Upload a fresh random source through each door (the order alternates from round to round,
    and each door has its own bytes, so neither is a dedup hit), download each back the same
    way and check every byte, then delete both for good."""
    rows, sources = [], {}
    for door in ("api", "dav"):
        path = os.path.join(workdir, f"source-{door}.bin")
        sources[door] = (path, make_source(path, size))
    try:
        name = f"dav-{round_no}.bin"
        dav_url = f"{server.base}/dav/{dav.auth[0]}/{name}"
        order = ("api", "dav") if round_no % 2 == 0 else ("dav", "api")
        ids = {}
        for door in order:
            path, _ = sources[door]
            load = loadavg()
            if door == "api":
                record, seconds, _ = transfer.upload(session, server.base, path)
                ids["api"] = record["id"]
                rows.append({"kind": "api-upload", "round": round_no, "seconds": seconds, "loadavg": load})
            else:
                seconds = dav_put(dav, dav_url, path)
                ids["dav"] = api_file(session, server.base, name)["id"]
                rows.append({"kind": "dav-put", "round": round_no, "seconds": seconds, "loadavg": load})
        for door in order:
            load = loadavg()
            if door == "api":
                digest, received, seconds, _ = transfer.download(session, server.base, ids["api"])
            else:
                digest, received, seconds = dav_get(dav, dav_url)
            kind = "api-download" if door == "api" else "dav-get"
            if digest != sources[door][1] or received != size:
                raise BenchError(f"{kind}: got {received} bytes sha256 {digest}, sent {size} bytes "
                                 f"sha256 {sources[door][1]}")
            rows.append({"kind": kind, "round": round_no, "seconds": seconds, "loadavg": load})
        for file_id in ids.values():
            delete_for_good(session, server.base, file_id)
    finally:
        for path, _ in sources.values():
            os.unlink(path)
    for row in rows:
        row["mib_s"] = mib_per_s(size, row["seconds"])
    return rows


PROPFIND_BODY = ('<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop>'
                 '<d:displayname/><d:getlastmodified/><d:getcontentlength/><d:resourcetype/><d:getetag/>'
                 '<oc:checksums/></d:prop></d:propfind>')


def listing(dav: requests.Session, base: str, files: int) -> dict:
    """Fill a folder with ``files`` small files (8 PUTs at a time), then time PROPFIND Depth 1 on it."""
    folder = f"{base}/dav/{dav.auth[0]}/many"
    if dav.request("MKCOL", folder, timeout=30).status_code != 201:
        raise BenchError("MKCOL many failed")

    def put(i: int) -> None:
        with requests.Session() as own:
            own.auth = dav.auth
            response = own.put(f"{folder}/file {i:05d}.txt", data=f"file {i}\n".encode(), timeout=60)
            if response.status_code != 201:
                raise BenchError(f"PUT file {i} -> HTTP {response.status_code}")
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(files)))
    fill_s = time.perf_counter() - started
    times = []
    for _ in range(LISTING_ROUNDS):
        start = time.perf_counter()
        response = dav.request("PROPFIND", folder + "/", data=PROPFIND_BODY, timeout=120,
                               headers={"Depth": "1", "Content-Type": "application/xml"})
        times.append(time.perf_counter() - start)
        if response.status_code != 207 or response.text.count("<ns0:response>") != files + 1:
            raise BenchError(f"PROPFIND many -> HTTP {response.status_code}, "
                             f"{response.text.count('<ns0:response>')} entries for {files} files")
    return {"files": files, "fill_s": fill_s, "propfind_s": times, "median_s": statistics.median(times),
            "bytes": len(response.content), "loadavg": loadavg()}


def render(r: dict) -> str:
    s = r["summary"]
    names = {"api-upload": "API upload: POST /api/upload (streamed multipart)",
             "dav-put": "WebDAV PUT /dav/<user>/<name>",
             "api-download": "API download: GET /api/files/<id>",
             "dav-get": "WebDAV GET /dav/<user>/<name>"}
    lines = [
        f"### WebDAV beside the API: {human(r['size_bytes'])}, median of {r['repeat']} round(s)",
        "",
        f"Cores: {r['nproc']} · load average before: {r['loadavg_before']}, after: {r['loadavg_after']} · "
        f"Python {r['python']}, {r['workers']} Gunicorn workers ({r['worker_class']}), embedded store, "
        f"local storage · commit {(r['git_commit'] or '?')[:7]}",
        "",
        f"Command: `{r['command']}`",
        "",
        "| transfer | MiB/s | runs (MiB/s) | ratio vs the API (per round) |",
        "|---|---:|---|---|",
    ]
    for kind in MEASUREMENTS:
        x = s[kind]
        ratio = "-" if "ratio" not in x else (f"**{x['ratio']:.2f}** ({', '.join(f'{v:.2f}' for v in x['ratios'])})")
        lines.append(f"| {names[kind]} | {x['mib_s']:.1f} | {', '.join(f'{v:.1f}' for v in x['runs'])} | {ratio} |")
    lst = r["listing"]
    lines += [
        "",
        f"**Target: WebDAV >= {TARGET_RATIO} x the API: PUT {s['dav-put']['ratio']:.2f} -> "
        f"{'MET' if s['dav-put']['ratio'] >= TARGET_RATIO else 'MISSED'}, GET {s['dav-get']['ratio']:.2f} -> "
        f"{'MET' if s['dav-get']['ratio'] >= TARGET_RATIO else 'MISSED'}**",
        "",
        f"**Target: PROPFIND Depth 1 of a folder of {lst['files']:,} files < {TARGET_LISTING_S:.0f} s: "
        f"{lst['median_s'] * 1000:.0f} ms median ({', '.join(f'{t * 1000:.0f}' for t in lst['propfind_s'])} ms; "
        f"{lst['bytes'] / MIB:.1f} MiB of XML) -> {'MET' if lst['median_s'] < TARGET_LISTING_S else 'MISSED'}**",
        "",
        "- each round uploads fresh random bytes through each door (its own, so no dedup hit; the order "
        "alternates), downloads each back the same way checking size and SHA-256, then deletes both for good",
        f"- the folder was filled by 8 parallel WebDAV PUTs in {lst['fill_s']:.0f} s "
        f"({lst['files'] / lst['fill_s']:.0f} files/s); the listing asks what rclone asks "
        "(name, time, size, type, ETag, oc:checksums)",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=DEFAULT_SIZE)
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT)
    parser.add_argument("--files", type=int, default=DEFAULT_FILES, help="files in the listed folder")
    parser.add_argument("--output", default=os.path.join(RESULTS, "webdav.json"))
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, transfer._sigterm_to_exit)
    os.makedirs(RESULTS, exist_ok=True)
    command = "python bench/webdav.py" + "".join(
        f" {flag} {value}" for flag, value, default in
        (("--size", size_flag(args.size), size_flag(DEFAULT_SIZE)), ("--repeat", args.repeat, DEFAULT_REPEAT),
         ("--files", args.files, DEFAULT_FILES)) if value != default)
    before = loadavg()
    workdir = tempfile.mkdtemp(prefix="webdav-", dir=RESULTS)
    server = Server(workdir, os.path.join(RESULTS, "webdav-gunicorn.log"))
    try:
        print(f"load average {before}; starting gunicorn ...", flush=True)
        server.start()
        session = requests.Session()
        sign_up(session, server.base)
        username = session.get(server.base + "/api/me", timeout=10).json()["username"]
        secret = session.post(server.base + "/api/tokens", json={"name": "bench", "scope": "read-write"},
                              timeout=10).json()["secret"]
        dav = requests.Session()
        dav.auth = (username, secret)
        workers = transfer.warm_up_every_worker(session, server, workdir)
        rows = []
        for n in range(args.repeat):
            print(f"round {n + 1}/{args.repeat} ({human(args.size)}) ...", end=" ", flush=True)
            found = transfer_round(session, dav, server, workdir, args.size, n)
            print(", ".join(f"{r['kind']} {r['mib_s']:.0f} MiB/s" for r in found), flush=True)
            rows += found
        print(f"listing: filling a folder with {args.files} files ...", flush=True)
        listed = listing(dav, server.base, args.files)
        summary = {}
        for kind in MEASUREMENTS:
            runs = [r["mib_s"] for r in rows if r["kind"] == kind]
            summary[kind] = {"runs": runs, "mib_s": mib_per_s(args.size, statistics.median(
                r["seconds"] for r in rows if r["kind"] == kind))}
        for dav_kind, api_kind in (("dav-put", "api-upload"), ("dav-get", "api-download")):
            ratios = [d / a for d, a in zip(summary[dav_kind]["runs"], summary[api_kind]["runs"])]
            summary[dav_kind].update(ratios=ratios, ratio=statistics.median(ratios))
        result = {
            "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": command, "nproc": os.cpu_count(), "loadavg_before": before, "loadavg_after": loadavg(),
            "python": platform.python_version(), "worker_class": transfer.worker_class(), "workers": len(workers),
            "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                                         text=True).stdout.strip() or None,
            "size_bytes": args.size, "repeat": args.repeat, "runs": rows, "summary": summary, "listing": listed,
        }
        print()
        print(render(result))
        with open(args.output, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
            fh.write("\n")
        print(f"\nJSON written to {os.path.relpath(args.output, REPO)}")
        return 0
    except BenchError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        tail = server.log_tail()
        if tail:
            print(f"--- last lines of {server.log_path} ---\n{tail}", file=sys.stderr)
        return 1
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
