"""Transfer benchmark: upload and download one large file through Gunicorn, compared with dd.

A benchmark, not a test: it prints numbers for this machine and exits non-zero only when
the service answers wrongly (an error status, a wrong SHA-256, a worker that died).

    python bench/transfer.py                 # 1 GiB
    python bench/transfer.py --size-mib 64   # quick check

See bench/README.md for what is measured and how to read the result.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import requests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)
from config import GUNICORN_VARIABLES, server_settings  # noqa: E402
from tests.live_server import GunicornServer, _free_port, child_pids  # noqa: E402

RESULTS = os.path.join(REPO, "bench", "results")
MIB = 1024 * 1024
CHUNK = MIB  # client read/write unit for upload and download
GEN_BLOCK = 4 * MIB  # unit used to write the source file
RSS_INTERVAL_S = 0.05
WARM_UP_ROUNDS = 40  # at most, until every worker has served one
# Gunicorn settings that pass through from the shell, to compare configurations
# (WEB_CONCURRENCY=1, GUNICORN_WORKER_CLASS=gthread, ...); every other server variable is cleared.
PASS_THROUGH = tuple(name for name in GUNICORN_VARIABLES if name not in ("BIND", "GUNICORN_CMD_ARGS"))


class BenchError(RuntimeError):
    """The service (or the environment) did something the benchmark cannot accept."""


# --------------------------------------------------------------------------- helpers

def mib_per_s(nbytes: int, seconds: float) -> float:
    return nbytes / MIB / seconds if seconds > 0 else float("inf")


free_port = _free_port


def make_source(path: str, size: int) -> str:
    """Write ``size`` bytes of random data to ``path`` (fsynced); return its SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        remaining = size
        while remaining:
            block = os.urandom(min(GEN_BLOCK, remaining))
            fh.write(block)
            digest.update(block)
            remaining -= len(block)
        fh.flush()
        os.fsync(fh.fileno())
    return digest.hexdigest()


def run_dd(src: str, dst: str, size: int) -> dict:
    cmd = ["dd", f"if={src}", f"of={dst}", "bs=4M", "conv=fsync"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    copied = os.path.getsize(dst)
    os.unlink(dst)  # keep disk use down; only the timing matters
    if copied != size:
        raise BenchError(f"dd copied {copied} bytes, expected {size}")
    return {"command": " ".join(cmd), "bytes": size, "seconds": elapsed,
            "mib_s": mib_per_s(size, elapsed), "dd_stderr": proc.stderr.strip().splitlines()[-1:]}


# --------------------------------------------------------------------------- process memory

def read_status_kib(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def reset_peak_rss(pid: int) -> bool:
    """Reset the kernel's VmHWM for ``pid`` (``clear_refs`` 5); False if not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of ``pid`` (all threads) from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    return sorted(child_pids(pid))


class RssSampler:
    """Reads VmRSS of one pid every ``interval`` seconds on a thread; keeps the peak.

    Also resets the kernel's high-water mark (VmHWM) on entry and reads it on exit, which
    catches a spike shorter than the sampling interval; and counts the pid's CPU time.
    """

    def __init__(self, pid: int, interval: float = RSS_INTERVAL_S):
        self.pid = pid
        self.interval = interval
        self.samples = 0
        self.peak_kib = 0
        self.vanished = False
        self.hwm_kib: int | None = None
        self.cpu_s: float | None = None
        self._hwm_reset = False
        self._cpu0: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-{pid}", daemon=True)

    def _sample(self) -> None:
        rss = read_status_kib(self.pid, "VmRSS")
        if rss is None:
            self.vanished = True
            return
        self.samples += 1
        self.peak_kib = max(self.peak_kib, rss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self._hwm_reset = reset_peak_rss(self.pid)
        self._cpu0 = cpu_seconds(self.pid)
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        cpu1 = cpu_seconds(self.pid)
        if self._cpu0 is not None and cpu1 is not None:
            self.cpu_s = cpu1 - self._cpu0
        if self._hwm_reset:
            self.hwm_kib = read_status_kib(self.pid, "VmHWM")


# --------------------------------------------------------------------------- server

class WorkersRss:
    """An RssSampler on every worker at once, each against its own idle baseline: whichever
    worker serves the request, its growth is the one reported."""

    def __init__(self, baselines: dict[int, int]):
        self.baselines = baselines
        self.samplers = [RssSampler(pid) for pid in baselines]

    def __enter__(self) -> "WorkersRss":
        for sampler in self.samplers:
            sampler.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        for sampler in self.samplers:
            sampler.__exit__(*exc)

    @property
    def growth_kib(self) -> int:
        """The largest peak RSS growth of any worker."""
        return max(s.peak_kib - self.baselines[s.pid] for s in self.samplers)

    @property
    def hwm_growth_kib(self) -> int | None:
        """The largest kernel peak (VmHWM) growth, None where the kernel would not reset it."""
        if any(s.hwm_kib is None for s in self.samplers):
            return None
        return max(s.hwm_kib - self.baselines[s.pid] for s in self.samplers)

    @property
    def cpu_s(self) -> float | None:
        """CPU time of all the workers together."""
        times = [s.cpu_s for s in self.samplers]
        return None if None in times else sum(times)

    @property
    def samples(self) -> int:
        return min(s.samples for s in self.samplers)

    @property
    def vanished(self) -> bool:
        return any(s.vanished for s in self.samplers)


# --------------------------------------------------------------------------- server

class Server(GunicornServer):
    """tests/live_server.py's Gunicorn server (``make run``'s command, state in ``workdir``)
    with a benchmark's limits: 4 GiB requests, no quota. It raises BenchError rather than
    failing a test, and keeps the server's output in ``log_path`` when stopped."""

    def __init__(self, workdir: str, log_path: str):
        super().__init__(workdir)
        self.base = self.base_url
        self.log_path = log_path
        self._log = None  # bench/http_targets.py's own spawn() logs through it
        passed = {name: os.environ[name] for name in PASS_THROUGH if os.environ.get(name)}
        self.env.update(server_settings(MAX_CONTENT_LENGTH=4 * 1024**3, USER_QUOTA_BYTES=0, **passed))

    def fail(self, message: str):
        raise BenchError(message)

    def worker_pid(self) -> int:
        """The one worker of a server started with WEB_CONCURRENCY=1."""
        workers = sorted(self.worker_pids())
        if len(workers) != 1:
            raise BenchError(f"expected one Gunicorn worker (WEB_CONCURRENCY=1), found {workers}")
        return workers[0]

    def stop(self) -> None:
        """Stop gracefully if running (again is fine); keep the output in ``log_path``."""
        if self.proc is not None:
            if self.proc.poll() is None:
                super().stop()
            self._reap()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.log_path and hasattr(self, "stderr_path"):
            with open(self.log_path, "wb") as out:
                for path in (self.stderr_path, self.stdout_path):
                    if path.exists():
                        out.write(path.read_bytes())

    def log_tail(self, lines: int = 30) -> str:
        path = getattr(self, "stderr_path", None) or self.log_path
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                return "".join(fh.readlines()[-lines:])
        except (FileNotFoundError, TypeError):
            return ""


# --------------------------------------------------------------------------- transfers

class MultipartFileBody:
    """A multipart/form-data body with one file part, read from disk in 1 MiB chunks.

    It has ``__len__`` so that requests sends ``Content-Length`` (a bare generator would make
    it add ``Transfer-Encoding: chunked`` as well), and ``__iter__`` so urllib3 sends the
    chunks as they come: the file is never held in memory.
    """

    def __init__(self, path: str, field: str = "file", filename: str = "bench.bin",
                 content_type: str = "application/octet-stream"):
        self.path = path
        self.size = os.path.getsize(path)
        self.boundary = "bench" + secrets.token_hex(16)
        self.preamble = (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n").encode("ascii")
        self.closing = f"\r\n--{self.boundary}--\r\n".encode("ascii")
        self.sent = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.preamble) + self.size + len(self.closing)

    def __iter__(self):
        yield self.preamble
        self.sent += len(self.preamble)
        with open(self.path, "rb") as fh:
            while True:
                chunk = fh.read(CHUNK)
                if not chunk:
                    break
                self.sent += len(chunk)
                yield chunk
        yield self.closing
        self.sent += len(self.closing)


def upload(session: requests.Session, base: str, path: str) -> tuple[dict, float, int]:
    body = MultipartFileBody(path)
    request = requests.Request("POST", base + "/api/upload", data=body,
                               headers={"Content-Type": body.content_type})
    prepared = session.prepare_request(request)
    if "Transfer-Encoding" in prepared.headers or prepared.headers.get("Content-Length") != str(len(body)):
        raise BenchError(f"client would not send a plain Content-Length body: {dict(prepared.headers)}")
    start = time.perf_counter()
    response = session.send(prepared, timeout=(5, 3600))
    elapsed = time.perf_counter() - start
    if body.sent != len(body):
        raise BenchError(f"client sent {body.sent} of {len(body)} body bytes")
    if response.status_code != 201:
        raise BenchError(f"POST /api/upload -> HTTP {response.status_code}: {response.text[:500]}")
    files = response.json().get("files") or []
    if len(files) != 1:
        raise BenchError(f"POST /api/upload returned {len(files)} file records: {response.text[:500]}")
    return files[0], elapsed, len(body)


def download(session: requests.Session, base: str, file_id: str) -> tuple[str, int, float, dict]:
    digest = hashlib.sha256()
    received = 0
    start = time.perf_counter()
    with session.get(f"{base}/api/files/{file_id}", stream=True, timeout=(5, 3600)) as response, \
            open(os.devnull, "wb") as sink:
        if response.status_code != 200:
            raise BenchError(f"GET /api/files/{file_id} -> HTTP {response.status_code}: {response.text[:500]}")
        for chunk in response.iter_content(CHUNK):
            digest.update(chunk)
            sink.write(chunk)
            received += len(chunk)
        headers = dict(response.headers)
    elapsed = time.perf_counter() - start
    return digest.hexdigest(), received, elapsed, headers


def sign_up(session: requests.Session, base: str) -> None:
    credentials = {"username": "bench-" + secrets.token_hex(4), "password": secrets.token_urlsafe(18)}
    response = session.post(base + "/api/register", json=credentials, timeout=10)
    if response.status_code != 201:
        raise BenchError(f"POST /api/register -> HTTP {response.status_code}: {response.text[:300]}")
    response = session.post(base + "/api/login", json=credentials, timeout=10)
    if response.status_code != 200:
        raise BenchError(f"POST /api/login -> HTTP {response.status_code}: {response.text[:300]}")


def warm_up(session: requests.Session, base: str, workdir: str) -> None:
    """One tiny round trip so first-request imports and caches are not counted as growth."""
    path = os.path.join(workdir, "warmup.bin")
    with open(path, "wb") as fh:
        fh.write(os.urandom(4096))
    record, _, _ = upload(session, base, path)
    download(session, base, record["id"])
    response = session.delete(f"{base}/api/files/{record['id']}", timeout=10)
    if response.status_code != 204:
        raise BenchError(f"DELETE /api/files/{record['id']} -> HTTP {response.status_code}: {response.text[:300]}")
    os.unlink(path)


def warm_up_every_worker(session: requests.Session, server: Server, workdir: str) -> list[int]:
    """``warm_up`` on fresh connections until every worker has served one (the access log says
    which worker answered), so no worker's first-request imports count as growth; the workers."""
    workers = server.worker_pids()
    before = set(server.answered_by())
    for _ in range(WARM_UP_ROUNDS):
        with requests.Session() as fresh:
            fresh.cookies.update(session.cookies)
            warm_up(fresh, server.base, workdir)
        served = {pid for rid, pid in server.answered_by().items() if rid not in before}
        if workers <= served:
            break
    else:
        print(f"note: workers {sorted(workers - served)} served no warm-up request in {WARM_UP_ROUNDS} rounds",
              flush=True)
    return sorted(workers)


def baseline_rss_kib(pid: int) -> int:
    """Median of a few VmRSS readings over ~0.5 s, the worker idle."""
    return baselines_rss_kib([pid])[pid]


def baselines_rss_kib(pids: list[int]) -> dict[int, int]:
    """Each worker's median VmRSS over ~0.5 s, the workers idle."""
    values: dict[int, list[int]] = {pid: [] for pid in pids}
    for _ in range(10):
        for pid in pids:
            value = read_status_kib(pid, "VmRSS")
            if value is None:
                raise BenchError(f"Gunicorn worker {pid} disappeared")
            values[pid].append(value)
        time.sleep(RSS_INTERVAL_S)
    return {pid: sorted(v)[len(v) // 2] for pid, v in values.items()}


def worker_class() -> str:
    return os.environ.get("GUNICORN_WORKER_CLASS") or "gunicorn.conf.py's (gevent)"


# --------------------------------------------------------------------------- report

def render(result: dict) -> str:
    dd = result["dd"]["mib_s"]
    rows = [
        ("dd bs=4M conv=fsync (same disk)", result["dd"]["mib_s"], None),
        ("upload: POST /api/upload (streamed multipart)", result["upload"]["mib_s"],
         result["upload"]["worker_rss_growth_mib"]),
        ("download: GET /api/files/<id> (stream=True)", result["download"]["mib_s"],
         result["download"]["worker_rss_growth_mib"]),
    ]
    lines = [
        f"Transfer benchmark: {result['size_mib']} MiB file, nproc={result['nproc']}, "
        f"Gunicorn worker class {result['worker_class']}, {len(result['worker_pids'])} workers, embedded DB",
        "",
        "| operation | MiB/s | ratio vs dd | largest worker peak RSS growth (MiB) |",
        "|---|---:|---:|---:|",
    ]
    for name, rate, rss in rows:
        lines.append(f"| {name} | {rate:.1f} | {rate / dd:.2f} | {'-' if rss is None else f'{rss:.1f}'} |")
    hwm = [result[op]["worker_vmhwm_growth_mib"] for op in ("upload", "download")]
    cpu = [result[op]["worker_cpu_s"] for op in ("upload", "download")]
    lines += [
        "",
        "- worker RSS baselines: " + ", ".join(f"{mib:.1f} MiB (pid {pid})"
                                               for pid, mib in result["worker_rss_baseline_mib"].items())
        + f" (each worker sampled every {int(RSS_INTERVAL_S * 1000)} ms; "
        f"{result['upload']['rss_samples']} samples during upload, "
        f"{result['download']['rss_samples']} during download)",
        "- largest worker VmHWM growth (kernel peak, catches spikes between samples): "
        + ", ".join(f"{op} {'n/a' if v is None else f'{v:.1f} MiB'}" for op, v in zip(("upload", "download"), hwm)),
        "- CPU time of the workers: "
        + ", ".join(f"{op} {'n/a' if v is None else f'{v:.2f} s'} in {result[op]['seconds']:.2f} s wall"
                    for op, v in zip(("upload", "download"), cpu)),
        f"- sha256 upload: {'ok' if result['upload']['sha256_ok'] else 'MISMATCH'}, "
        f"download: {'ok' if result['download']['sha256_ok'] else 'MISMATCH'}",
        f"- nproc: {result['nproc']}",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="file size in MiB (default 1024)")
    parser.add_argument("--output", default=os.path.join(RESULTS, "transfer.json"),
                        help="where to write the JSON result (default bench/results/transfer.json)")
    args = parser.parse_args(argv)
    if args.size_mib < 1:
        parser.error("--size-mib must be at least 1")
    return args


def _sigterm_to_exit(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm_to_exit)  # so cleanup runs when we are killed
    size = args.size_mib * MIB
    os.makedirs(RESULTS, exist_ok=True)
    free = shutil.disk_usage(RESULTS).free
    if free < 3 * size + 512 * MIB:  # source + dd copy + uploaded copy, plus slack
        print(f"error: {free / MIB:.0f} MiB free under {RESULTS}, need about {3 * size / MIB + 512:.0f} MiB",
              file=sys.stderr)
        return 2

    workdir = tempfile.mkdtemp(prefix="transfer-", dir=RESULTS)
    server = Server(workdir, os.path.join(RESULTS, "transfer-gunicorn.log"))
    try:
        src = os.path.join(workdir, "source.bin")
        print(f"writing {args.size_mib} MiB of random bytes to {src} ...", flush=True)
        source_sha = make_source(src, size)

        print("dd ...", flush=True)
        dd = run_dd(src, os.path.join(workdir, "dd.bin"), size)

        print("starting gunicorn ...", flush=True)
        server.start()
        session = requests.Session()
        sign_up(session, server.base)
        workers = warm_up_every_worker(session, server, workdir)
        baseline = baselines_rss_kib(workers)
        hwm_before = {pid: read_status_kib(pid, "VmHWM") for pid in workers}  # peaks since they booted

        print("upload ...", flush=True)
        with WorkersRss(baseline) as up_rss:
            record, up_s, up_body = upload(session, server.base, src)
        if record.get("size") != size:
            raise BenchError(f"upload stored {record.get('size')} bytes, sent {size}")

        print("download ...", flush=True)
        with WorkersRss(baseline) as down_rss:
            down_sha, received, down_s, down_headers = download(session, server.base, record["id"])
        if received != size:
            raise BenchError(f"download returned {received} bytes, expected {size}")

        if sorted(server.worker_pids()) != workers or up_rss.vanished or down_rss.vanished:
            raise BenchError(f"a Gunicorn worker of {workers} was replaced during the run (crash or timeout?)")

        def mib(kib):
            return None if kib is None else kib / 1024

        result = {
            "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "size_mib": args.size_mib,
            "size_bytes": size,
            "source_sha256": source_sha,
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "requests": requests.__version__,
            "worker_class": worker_class(),
            "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                                         text=True).stdout.strip() or None,
            "dd": dd,
            "worker_pids": workers,
            "worker_rss_baseline_mib": {pid: kib / 1024 for pid, kib in baseline.items()},
            "upload": {
                "seconds": up_s, "mib_s": mib_per_s(size, up_s), "ratio_vs_dd": mib_per_s(size, up_s) / dd["mib_s"],
                "request_body_bytes": up_body, "sha256": record.get("sha256"),
                "sha256_ok": record.get("sha256") == source_sha,
                "worker_rss_growth_mib": mib(up_rss.growth_kib),
                "rss_samples": up_rss.samples,
                "worker_vmhwm_growth_mib": mib(up_rss.hwm_growth_kib),
                "worker_cpu_s": up_rss.cpu_s,
            },
            "download": {
                "seconds": down_s, "mib_s": mib_per_s(size, down_s),
                "ratio_vs_dd": mib_per_s(size, down_s) / dd["mib_s"],
                "sha256": down_sha, "sha256_ok": down_sha == source_sha,
                "content_length": down_headers.get("Content-Length"),
                "worker_rss_growth_mib": mib(down_rss.growth_kib),
                "rss_samples": down_rss.samples,
                "worker_vmhwm_growth_mib": mib(down_rss.hwm_growth_kib),
                "worker_cpu_s": down_rss.cpu_s,
            },
            "worker_vmhwm_mib_before_transfers": {pid: mib(kib) for pid, kib in hwm_before.items()},
        }
        print()
        print(render(result))
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        with open(args.output, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
            fh.write("\n")
        print(f"\nJSON written to {os.path.relpath(args.output, REPO)}")
        if not (result["upload"]["sha256_ok"] and result["download"]["sha256_ok"]):
            print("error: SHA-256 mismatch (see table)", file=sys.stderr)
            return 1
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
