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
import glob
import hashlib
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import requests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, "bench", "results")
MIB = 1024 * 1024
CHUNK = MIB  # client read/write unit for upload and download
GEN_BLOCK = 4 * MIB  # unit used to write the source file
RSS_INTERVAL_S = 0.05
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 35.0  # above gunicorn.conf.py's graceful_timeout
# Settings that must not leak from the developer's shell into the server under test.
# GUNICORN_THREADS and GUNICORN_TIMEOUT do pass through, to compare configurations.
SCRUBBED_ENV = (
    "APP_ENV", "MONGO_URI", "MONGO_DB_NAME", "MONGO_TIMEOUT_MS", "EMBEDDED_DB_PATH", "UPLOAD_FOLDER",
    "INSTANCE_PATH", "SECRET_KEY", "MAX_CONTENT_LENGTH", "USER_QUOTA_BYTES", "SESSION_LIFETIME_DAYS",
    "SESSION_COOKIE_SECURE", "TRUST_PROXY_HOPS", "PAGE_SIZE_MAX", "LOG_LEVEL", "LOGIN_RATE_LIMIT",
    "LOGIN_IP_RATE_LIMIT", "RATELIMIT_STORAGE_URI", "BIND", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS",
)


class BenchError(RuntimeError):
    """The service (or the environment) did something the benchmark cannot accept."""


# --------------------------------------------------------------------------- helpers

def mib_per_s(nbytes: int, seconds: float) -> float:
    return nbytes / MIB / seconds if seconds > 0 else float("inf")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    kids: list[int] = []
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            with open(path, encoding="ascii") as fh:
                kids.extend(int(p) for p in fh.read().split())
        except FileNotFoundError:
            continue
    if not kids:  # kernels without CONFIG_PROC_CHILDREN
        out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True, text=True)
        kids = [int(p) for p in out.stdout.split()]
    return sorted(set(kids))


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

class Server:
    """``gunicorn -c gunicorn.conf.py wsgi:app`` on a free port, embedded DB in ``workdir``."""

    def __init__(self, workdir: str, log_path: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log = None
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        env.update(
            APP_ENV="development",
            BIND=f"127.0.0.1:{self.port}",
            INSTANCE_PATH=os.path.join(workdir, "instance"),
            EMBEDDED_DB_PATH=os.path.join(workdir, "db"),
            UPLOAD_FOLDER=os.path.join(workdir, "uploads"),
            SECRET_KEY=secrets.token_hex(32),
            MAX_CONTENT_LENGTH=str(4 * 1024**3),
            USER_QUOTA_BYTES="0",
            PYTHONUNBUFFERED="1",
            # Gunicorn's control socket defaults to $XDG_RUNTIME_DIR or ~/.gunicorn; keep it
            # in the temp dir so parallel servers (e.g. the e2e tests) do not share one path.
            XDG_RUNTIME_DIR=workdir,
        )
        self.env = env

    def start(self) -> None:
        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        if not os.path.exists(gunicorn):
            raise BenchError(f"gunicorn not found next to the interpreter: {gunicorn}")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [gunicorn, "-c", "gunicorn.conf.py", "wsgi:app"], cwd=REPO, env=self.env,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"gunicorn exited with {self.proc.returncode} during startup")
            try:
                response = requests.get(self.base + "/api/status", timeout=2)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}: {response.text[:200]}"
            except requests.RequestException as exc:
                last = type(exc).__name__
            time.sleep(0.1)
        raise BenchError(f"GET /api/status did not return 200 within {STARTUP_TIMEOUT_S:.0f}s ({last})")

    def worker_pid(self) -> int:
        assert self.proc is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            kids = children_of(self.proc.pid)
            if len(kids) == 1:
                return kids[0]
            if len(kids) > 1:
                raise BenchError(f"expected one Gunicorn worker (embedded DB), found {kids}")
            time.sleep(0.1)
        raise BenchError("no Gunicorn worker process found")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # our own session only
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as fh:
                return "".join(fh.readlines()[-lines:])
        except FileNotFoundError:
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


def baseline_rss_kib(pid: int) -> int:
    """Median of a few VmRSS readings over ~0.5 s, the worker idle."""
    values = []
    for _ in range(10):
        value = read_status_kib(pid, "VmRSS")
        if value is None:
            raise BenchError(f"Gunicorn worker {pid} disappeared")
        values.append(value)
        time.sleep(RSS_INTERVAL_S)
    return sorted(values)[len(values) // 2]


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
        f"Gunicorn gthread 1 worker x {result['gunicorn_threads']} threads, embedded DB",
        "",
        "| operation | MiB/s | ratio vs dd | worker peak RSS growth (MiB) |",
        "|---|---:|---:|---:|",
    ]
    for name, rate, rss in rows:
        lines.append(f"| {name} | {rate:.1f} | {rate / dd:.2f} | {'-' if rss is None else f'{rss:.1f}'} |")
    hwm = [result[op]["worker_vmhwm_growth_mib"] for op in ("upload", "download")]
    cpu = [result[op]["worker_cpu_s"] for op in ("upload", "download")]
    lines += [
        "",
        f"- worker RSS baseline: {result['worker_rss_baseline_mib']:.1f} MiB "
        f"(pid {result['worker_pid']}, sampled every {int(RSS_INTERVAL_S * 1000)} ms; "
        f"{result['upload']['rss_samples']} samples during upload, "
        f"{result['download']['rss_samples']} during download)",
        "- worker VmHWM growth (kernel peak, catches spikes between samples): "
        + ", ".join(f"{op} {'n/a' if v is None else f'{v:.1f} MiB'}" for op, v in zip(("upload", "download"), hwm)),
        "- worker CPU time: "
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
        worker = server.worker_pid()
        session = requests.Session()
        sign_up(session, server.base)
        warm_up(session, server.base, workdir)
        baseline = baseline_rss_kib(worker)
        hwm_before = read_status_kib(worker, "VmHWM")  # peak since the worker booted

        print("upload ...", flush=True)
        with RssSampler(worker) as up_rss:
            record, up_s, up_body = upload(session, server.base, src)
        if record.get("size") != size:
            raise BenchError(f"upload stored {record.get('size')} bytes, sent {size}")

        print("download ...", flush=True)
        with RssSampler(worker) as down_rss:
            down_sha, received, down_s, down_headers = download(session, server.base, record["id"])
        if received != size:
            raise BenchError(f"download returned {received} bytes, expected {size}")

        if server.worker_pid() != worker or up_rss.vanished or down_rss.vanished:
            raise BenchError(f"Gunicorn worker {worker} was replaced during the run (crash or timeout?)")

        result = {
            "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "size_mib": args.size_mib,
            "size_bytes": size,
            "source_sha256": source_sha,
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "requests": requests.__version__,
            "gunicorn_threads": int(os.environ.get("GUNICORN_THREADS", "8")),
            "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                                         text=True).stdout.strip() or None,
            "dd": dd,
            "worker_pid": worker,
            "worker_rss_baseline_mib": baseline / 1024,
            "upload": {
                "seconds": up_s, "mib_s": mib_per_s(size, up_s), "ratio_vs_dd": mib_per_s(size, up_s) / dd["mib_s"],
                "request_body_bytes": up_body, "sha256": record.get("sha256"),
                "sha256_ok": record.get("sha256") == source_sha,
                "worker_rss_peak_mib": up_rss.peak_kib / 1024,
                "worker_rss_growth_mib": (up_rss.peak_kib - baseline) / 1024,
                "rss_samples": up_rss.samples,
                "worker_vmhwm_growth_mib": None if up_rss.hwm_kib is None else (up_rss.hwm_kib - baseline) / 1024,
                "worker_cpu_s": up_rss.cpu_s,
            },
            "download": {
                "seconds": down_s, "mib_s": mib_per_s(size, down_s),
                "ratio_vs_dd": mib_per_s(size, down_s) / dd["mib_s"],
                "sha256": down_sha, "sha256_ok": down_sha == source_sha,
                "content_length": down_headers.get("Content-Length"),
                "worker_rss_peak_mib": down_rss.peak_kib / 1024,
                "worker_rss_growth_mib": (down_rss.peak_kib - baseline) / 1024,
                "rss_samples": down_rss.samples,
                "worker_vmhwm_growth_mib": None if down_rss.hwm_kib is None else (down_rss.hwm_kib - baseline) / 1024,
                "worker_cpu_s": down_rss.cpu_s,
            },
            "worker_vmhwm_mib_before_transfers": hwm_before / 1024 if hwm_before else None,
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
