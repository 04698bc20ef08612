"""tus benchmark: one 1 GiB upload through tus (/api/tus/) with 8 MiB and with 64 MiB chunks,
beside the multipart upload (POST /api/upload) and `dd conv=fsync`, in one run on this machine.

A benchmark, not a test: it prints a Markdown table and exits non-zero only when the service
answers wrongly (an error status, a wrong offset, size or SHA-256, a worker that died) or
cannot run. The target (tus with 64 MiB chunks >= 0.7 x dd) is reported MET or MISSED.

    python bench/tus_upload.py                         # 1 GiB, 3 rounds, median kept
    python bench/tus_upload.py --size 256M --repeat 1  # quick check

It reuses bench/transfer.py (source files, dd, Gunicorn, sign-up, warm-up, streamed multipart
upload); see bench/README.md ("tus_upload.py") for what is measured and how to read it.
"""
from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import urljoin

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transfer  # noqa: E402  (bench/ is not a package)
from transfer import (CHUNK, MIB, RESULTS, BenchError, Server, make_source, mib_per_s, run_dd, sign_up,  # noqa: E402
                      warm_up_every_worker, worker_class)

REPO = transfer.REPO
TUS_VERSION = "1.0.0"
CHUNK_TYPE = "application/offset+octet-stream"
TUS_CHUNKS = (8 * MIB, 64 * MIB)
TARGET = {"chunk": 64 * MIB, "ratio_vs_dd": 0.7}
DEFAULT_SIZE = 1024 * MIB
DEFAULT_REPEAT = 3
TUS_WARM_UPS = 4  # small tus uploads on fresh connections before timing (first-request costs)
UNITS = {"": 1, "B": 1, "K": 1024, "KIB": 1024, "M": MIB, "MIB": MIB, "G": 1024 * MIB, "GIB": 1024 * MIB}
MEASUREMENTS = ("dd", "multipart", *(f"tus-{c // MIB}M" for c in TUS_CHUNKS))


def parse_size(text: str) -> int:
    """``1G``, ``256M``, ``512MiB``, ``1048576``: bytes (binary units)."""
    match = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]*)\s*", text)
    unit = match and match.group(2).upper()
    if not match or unit not in UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 1G, 256M, 64MiB, 1048576)")
    return int(match.group(1)) * UNITS[unit]


def human(nbytes: int) -> str:
    for unit, factor in (("GiB", 1024 * MIB), ("MiB", MIB), ("KiB", 1024)):
        if nbytes >= factor and nbytes % factor == 0:
            return f"{nbytes // factor} {unit}"
    return f"{nbytes} B"


def size_flag(nbytes: int) -> str:
    """``--size`` spelled back: 1G, 256M, 12K or bytes."""
    return human(nbytes).replace(" ", "").replace("iB", "").rstrip("B")


def loadavg() -> str:
    with open("/proc/loadavg", encoding="ascii") as fh:
        return " ".join(fh.read().split()[:3])


# --------------------------------------------------------------------------- tus client

class FileRange:
    """``length`` bytes of an open file from ``offset``, sent in 1 MiB pieces as they are read:
    ``__len__`` makes requests send Content-Length (no chunked encoding), ``__iter__`` streams."""

    def __init__(self, fh, offset: int, length: int):
        self.fh, self.offset, self.length = fh, offset, length
        self.sent = 0

    def __len__(self) -> int:
        return self.length

    def __iter__(self):
        self.fh.seek(self.offset)
        left = self.length
        while left:
            piece = self.fh.read(min(CHUNK, left))
            if not piece:
                raise BenchError(f"source ended {left} bytes early")
            left -= len(piece)
            self.sent += len(piece)
            yield piece


def range_sha256(fh, offset: int, length: int) -> bytes:
    digest = hashlib.sha256()
    for piece in FileRange(fh, offset, length):
        digest.update(piece)
    return digest.digest()


def send(session: requests.Session, method: str, url: str, headers: dict, body=None) -> requests.Response:
    request = requests.Request(method, url, data=body, headers={"Tus-Resumable": TUS_VERSION, **headers})
    prepared = session.prepare_request(request)
    if body is not None and ("Transfer-Encoding" in prepared.headers
                             or prepared.headers.get("Content-Length") != str(len(body))):
        raise BenchError(f"client would not send a plain Content-Length body: {dict(prepared.headers)}")
    return session.send(prepared, timeout=(5, 3600))


def tus_upload(session: requests.Session, base: str, path: str, chunk: int, name: str,
               checksum: bool = False) -> dict:
    """A plain tus 1.0 upload of ``path``: POST /api/tus/ (Upload-Length, Upload-Metadata
    filename), then one PATCH per ``chunk`` bytes at its Upload-Offset, each waiting for the
    server's 204 (as a tus client does); with ``checksum``, each PATCH carries
    ``Upload-Checksum: sha256 <base64>`` computed by the client before sending it. Returns the
    wall time from the POST to the last 204, each PATCH's time, and the file id."""
    size = os.path.getsize(path)
    meta = "filename " + base64.b64encode(name.encode()).decode("ascii")
    patches: list[float] = []
    start = time.perf_counter()
    created = send(session, "POST", base + "/api/tus/", {"Upload-Length": str(size), "Upload-Metadata": meta})
    create_s = time.perf_counter() - start
    if created.status_code != 201 or "Location" not in created.headers:
        raise BenchError(f"POST /api/tus/ -> HTTP {created.status_code}: {created.text[:300]}")
    location = urljoin(base + "/api/tus/", created.headers["Location"])
    offset, answer = 0, created
    with open(path, "rb") as fh:
        while offset < size:
            length = min(chunk, size - offset)
            headers = {"Upload-Offset": str(offset), "Content-Type": CHUNK_TYPE}
            t0 = time.perf_counter()
            if checksum:
                headers["Upload-Checksum"] = "sha256 " + base64.b64encode(range_sha256(fh, offset, length)).decode()
            body = FileRange(fh, offset, length)
            answer = send(session, "PATCH", location, headers, body)
            patches.append(time.perf_counter() - t0)
            if answer.status_code != 204:
                raise BenchError(f"PATCH at {offset} -> HTTP {answer.status_code}: {answer.text[:300]}")
            if body.sent != length or answer.headers.get("Upload-Offset") != str(offset + length):
                raise BenchError(f"PATCH at {offset}: sent {body.sent} of {length} bytes, server's offset "
                                 f"{answer.headers.get('Upload-Offset')}, expected {offset + length}")
            offset += length
    seconds = time.perf_counter() - start
    file_id = answer.headers.get("Upload-File-Id")
    if not file_id:
        raise BenchError(f"the last PATCH named no Upload-File-Id: {dict(answer.headers)}")
    return {"seconds": seconds, "create_s": create_s, "patch_s": patches, "file_id": file_id}


# --------------------------------------------------------------------------- one measurement

def file_info(session: requests.Session, base: str, file_id: str) -> dict:
    response = session.get(f"{base}/api/files/{file_id}/info", timeout=30)
    if response.status_code != 200:
        raise BenchError(f"GET /api/files/{file_id}/info -> HTTP {response.status_code}: {response.text[:300]}")
    return response.json()


def delete_for_good(session: requests.Session, base: str, file_id: str) -> None:
    response = session.delete(f"{base}/api/files/{file_id}", params={"permanent": "true"}, timeout=120)
    if response.status_code != 204:
        raise BenchError(f"DELETE /api/files/{file_id}?permanent=true -> HTTP {response.status_code}: "
                         f"{response.text[:300]}")


def workers_cpu(workers: list[int]) -> float | None:
    times = [transfer.cpu_seconds(pid) for pid in workers]
    return None if None in times else sum(times)


def measure(kind: str, session: requests.Session, server: Server, workdir: str, workers: list[int], size: int,
            round_no: int, checksum: bool) -> dict:
    """Write a fresh random source (so no upload is a dedup hit), time one ``kind``, check what
    was stored, delete it for good, and remove the source."""
    src = os.path.join(workdir, "source.bin")
    sha = make_source(src, size)
    load = loadavg()
    cpu0, client0 = workers_cpu(workers), time.process_time()
    row: dict = {"kind": kind, "round": round_no, "loadavg": load}
    try:
        if kind == "dd":
            dd = run_dd(src, os.path.join(workdir, "dd.bin"), size)
            row.update(seconds=dd["seconds"], command=dd["command"])
        elif kind == "multipart":
            record, seconds, body = transfer.upload(session, server.base, src)
            row.update(seconds=seconds, request_body_bytes=body, file_id=record["id"])
        else:
            chunk = int(kind.split("-")[1].rstrip("M")) * MIB
            tus = tus_upload(session, server.base, src, chunk, f"tus-{round_no}-{kind}.bin", checksum)
            row.update(tus, chunk=chunk)
        cpu1, client1 = workers_cpu(workers), time.process_time()
        row["worker_cpu_s"] = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
        row["client_cpu_s"] = client1 - client0
        if kind != "dd":
            info = file_info(session, server.base, row["file_id"])
            if info.get("size") != size or info.get("sha256") != sha:
                raise BenchError(f"{kind}: stored {info.get('size')} bytes sha256 {info.get('sha256')}, "
                                 f"sent {size} bytes sha256 {sha}")
            delete_for_good(session, server.base, row["file_id"])
    finally:
        os.unlink(src)
    row["mib_s"] = mib_per_s(size, row["seconds"])
    return row


def tus_warm_up(session: requests.Session, server: Server, workdir: str) -> None:
    """A few 3-chunk tus uploads on fresh connections (gunicorn spreads them over the workers),
    so first-request costs of the tus routes are not timed."""
    path = os.path.join(workdir, "warmup-tus.bin")
    for i in range(TUS_WARM_UPS):
        with open(path, "wb") as fh:
            fh.write(os.urandom(3 * 4096))
        with requests.Session() as fresh:
            fresh.cookies.update(session.cookies)
            done = tus_upload(fresh, server.base, path, 4096, f"warm-up-{i}.bin", checksum=bool(i % 2))
            delete_for_good(fresh, server.base, done["file_id"])
    os.unlink(path)


# --------------------------------------------------------------------------- report

def summarise(rows: list[dict], size: int) -> dict:
    out = {}
    for kind in MEASUREMENTS:
        mine = [r for r in rows if r["kind"] == kind]
        seconds = statistics.median(r["seconds"] for r in mine)
        out[kind] = {"runs_mib_s": [r["mib_s"] for r in mine], "median_s": seconds,
                     "mib_s": mib_per_s(size, seconds), "mb_s": size / 1e6 / seconds,
                     "worker_cpu_s": statistics.median(r["worker_cpu_s"] or 0.0 for r in mine),
                     "client_cpu_s": statistics.median(r["client_cpu_s"] for r in mine)}
        if kind.startswith("tus"):
            patches = [p for r in mine for p in r["patch_s"][:-1]]
            out[kind].update(patches=len(mine[0]["patch_s"]),
                             median_patch_s=statistics.median(patches) if patches else None,
                             last_patch_s=statistics.median(r["patch_s"][-1] for r in mine),
                             create_s=statistics.median(r["create_s"] for r in mine))
    dd = out["dd"]["mib_s"]
    for kind in MEASUREMENTS:
        out[kind]["ratio_vs_dd"] = out[kind]["mib_s"] / dd
        # the same ratio taken inside each round (side by side), then the median
        per_round = [next(r for r in rows if r["kind"] == kind and r["round"] == n)["mib_s"]
                     / next(r for r in rows if r["kind"] == "dd" and r["round"] == n)["mib_s"]
                     for n in sorted({r["round"] for r in rows})]
        out[kind]["ratio_vs_dd_per_round"] = per_round
    return out


def render(r: dict) -> str:
    s, size = r["summary"], r["size_bytes"]
    target_kind = f"tus-{TARGET['chunk'] // MIB}M"
    ratio = s[target_kind]["ratio_vs_dd"]
    names = {"dd": "`dd bs=4M conv=fsync` (same file system as the upload folder)",
             "multipart": "POST /api/upload (streamed multipart, one request)"}
    for chunk in TUS_CHUNKS:
        n = s[f"tus-{chunk // MIB}M"]["patches"]
        checksum = ", Upload-Checksum sha256" if r["checksum"] else ""
        names[f"tus-{chunk // MIB}M"] = (f"tus, {chunk // MIB} MiB chunks (POST + {n} PATCH"
                                         f"{'es' if n != 1 else ''}{checksum})")
    lines = [
        f"### tus beside multipart and dd: {human(size)}, median of {r['repeat']} round(s)",
        "",
        f"Cores: {r['nproc']} (nproc) · load average before the run: {r['loadavg_before']}, after: "
        f"{r['loadavg_after']} · Python {r['python']}, Gunicorn worker class {r['worker_class']}, "
        f"{len(r['worker_pids'])} workers, embedded store, local storage · commit {(r['git_commit'] or '?')[:7]}",
        "",
        f"Command: `{r['command']}`",
        "",
        "| upload | MiB/s | MB/s | ratio vs dd | runs (MiB/s) | worker CPU s | client CPU s |",
        "|---|---:|---:|---:|---|---:|---:|",
    ]
    for kind in MEASUREMENTS:
        x = s[kind]
        lines.append(f"| {names[kind]} | {x['mib_s']:.1f} | {x['mb_s']:.1f} | {x['ratio_vs_dd']:.2f} | "
                     f"{', '.join(f'{v:.1f}' for v in x['runs_mib_s'])} | "
                     + ("- | - |" if kind == "dd" else f"{x['worker_cpu_s']:.2f} | {x['client_cpu_s']:.2f} |"))
    lines += [
        "",
        f"**Target: tus with {TARGET['chunk'] // MIB} MiB chunks >= {TARGET['ratio_vs_dd']} x dd: "
        f"{ratio:.2f} -> {'MET' if ratio >= TARGET['ratio_vs_dd'] else 'MISSED'}**",
        "",
        "- ratios inside each round (side by side): " + "; ".join(
            f"{k} {', '.join(f'{v:.2f}' for v in s[k]['ratio_vs_dd_per_round'])}" for k in MEASUREMENTS[1:]),
    ]
    for chunk in TUS_CHUNKS:
        x = s[f"tus-{chunk // MIB}M"]
        lines.append(f"- tus {chunk // MIB} MiB: creation {x['create_s'] * 1000:.0f} ms; a PATCH (not the last) "
                     + ("-" if x["median_patch_s"] is None else
                        f"{x['median_patch_s'] * 1000:.0f} ms median "
                        f"({mib_per_s(chunk, x['median_patch_s']):.0f} MiB/s)")
                     + f"; the last PATCH (its chunk, then re-hashing the whole staged file and storing it) "
                     f"{x['last_patch_s'] * 1000:.0f} ms")
    lines += [
        "- every run uploads fresh random bytes (no dedup hit), checks size and SHA-256 of the stored file, "
        "then deletes it for good (`?permanent=true`); the order of the four rotates from round to round",
        "- tus PATCHes " + ("carry `Upload-Checksum: sha256` (computed by the client before each PATCH, "
                            "timed)" if r["checksum"] else "carry no `Upload-Checksum` (`--checksum` to add it)"),
        "- a 201/204 means more than dd's `conv=fsync`: the bytes fsynced, the record committed "
        "(SQLite, fsynced); dd fsyncs the file only",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=DEFAULT_SIZE,
                        help="upload size, binary units: 1G (default), 256M, 64MiB, or bytes")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT,
                        help=f"rounds of the four measurements, median kept (default {DEFAULT_REPEAT})")
    parser.add_argument("--checksum", action="store_true",
                        help="send Upload-Checksum: sha256 with every PATCH (default: none)")
    parser.add_argument("--output", default=os.path.join(RESULTS, "tus_upload.json"))
    args = parser.parse_args(argv)
    if args.size < 1 or args.repeat < 1:
        parser.error("--size and --repeat must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, transfer._sigterm_to_exit)  # so cleanup runs when we are killed
    size = args.size
    os.makedirs(RESULTS, exist_ok=True)
    need = 2 * size + 512 * MIB  # a source and one copy (dd's, or the upload's) at a time, plus slack
    free = shutil.disk_usage(RESULTS).free
    if free < need:
        print(f"error: {free / MIB:.0f} MiB free under {RESULTS}, need about {need / MIB:.0f} MiB", file=sys.stderr)
        return 2
    command = "python bench/tus_upload.py" + "".join(
        f" {flag} {value}" for flag, value, default in
        (("--size", size_flag(size), size_flag(DEFAULT_SIZE)),
         ("--repeat", args.repeat, DEFAULT_REPEAT)) if value != default) + (" --checksum" if args.checksum else "")
    before = loadavg()

    workdir = tempfile.mkdtemp(prefix="tus-upload-", dir=RESULTS)
    server = Server(workdir, os.path.join(RESULTS, "tus_upload-gunicorn.log"))
    try:
        print(f"load average {before}; starting gunicorn ...", flush=True)
        server.start()
        uploads = server.env["UPLOAD_FOLDER"]
        if os.stat(uploads).st_dev != os.stat(workdir).st_dev:
            raise BenchError(f"{uploads} and {workdir} are on different file systems: dd would not compare")
        session = requests.Session()
        sign_up(session, server.base)
        workers = warm_up_every_worker(session, server, workdir)
        tus_warm_up(session, server, workdir)

        rows = []
        for n in range(args.repeat):
            order = MEASUREMENTS[n % len(MEASUREMENTS):] + MEASUREMENTS[:n % len(MEASUREMENTS)]
            for kind in order:
                print(f"round {n + 1}/{args.repeat}: {kind} ({human(size)}) ...", end=" ", flush=True)
                row = measure(kind, session, server, workdir, workers, size, n, args.checksum)
                print(f"{row['mib_s']:.1f} MiB/s in {row['seconds']:.2f} s (load {row['loadavg']})", flush=True)
                rows.append(row)

        if sorted(server.worker_pids()) != workers:
            raise BenchError(f"a Gunicorn worker of {workers} was replaced during the run (crash or timeout?)")
        result = {
            "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": command, "nproc": os.cpu_count(), "loadavg_before": before, "loadavg_after": loadavg(),
            "python": platform.python_version(), "requests": requests.__version__,
            "worker_class": worker_class(), "worker_pids": workers,
            "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                                         text=True).stdout.strip() or None,
            "size_bytes": size, "repeat": args.repeat, "checksum": args.checksum,
            "target": {"measurement": f"tus-{TARGET['chunk'] // MIB}M", "ratio_vs_dd": TARGET["ratio_vs_dd"]},
            "runs": rows, "summary": summarise(rows, size),
        }
        ratio = result["summary"][result["target"]["measurement"]]["ratio_vs_dd"]
        result["target"]["met"] = ratio >= TARGET["ratio_vs_dd"]
        print()
        print(render(result))
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
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
