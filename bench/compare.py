"""Compare benchmark: our API beside `dd conv=fsync` (uploads) and nginx (downloads), for one
1 GiB file and for 1,000 files of 64 KiB, in one run on this machine.

A benchmark, not a test: it prints a Markdown table and exits non-zero only when something
answers wrongly (an error status, a wrong SHA-256 or size, a worker that died) or cannot run.

    python bench/compare.py                      # the full run (1 GiB, 1,000 x 64 KiB)
    python bench/compare.py --size-mib 128 --files 200   # quick check

It reuses bench/transfer.py (source file, dd, Gunicorn, streamed multipart upload, RSS and
CPU sampling); see bench/README.md for what is measured and how to read the numbers.
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
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transfer  # bench/ is not a package
from transfer import (MIB, RESULTS, BenchError, Server, WorkersRss, baselines_rss_kib, free_port, make_source,
                      mib_per_s, run_dd, sign_up, warm_up_every_worker, worker_class)

REPO = transfer.REPO
SMALL_SIZE = 64 * 1024
CLIENTS = 8
TARGETS = {"upload_vs_dd": 0.6, "download_vs_nginx": 0.8, "rss_growth_mib": 64.0}
NGINX_START_TIMEOUT_S = 10.0


# --------------------------------------------------------------------------- nginx

class Nginx:
    """nginx on a free loopback port serving ``root`` (our uploads folder) as static files, with
    a generated config and every path (pid, logs, temp) in ``workdir``; stopped by ``stop()``."""

    def __init__(self, workdir: str, root: str):
        self.binary = shutil.which("nginx") or next(
            (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)
        if self.binary is None:
            raise BenchError("nginx is not installed (Debian: apt-get install -y nginx)")
        self.dir = os.path.join(workdir, "nginx")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.conf = os.path.join(self.dir, "nginx.conf")
        self.proc: subprocess.Popen | None = None
        # Our folders are 0700, owned by whoever runs the server; as root, workers must be root.
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp = "\n".join(f"    {name}_temp_path {self.dir}/{name};" for name in
                         ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        with open(self.conf, "w", encoding="utf-8") as fh:
            fh.write(f"""{user}worker_processes auto;
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    default_type application/octet-stream;
{temp}
    server {{
        listen 127.0.0.1:{self.port};
        root {root};
        location / {{ }}
    }}
}}
""")

    def version(self) -> str:
        out = subprocess.run([self.binary, "-v"], capture_output=True, text=True)
        return (out.stderr or out.stdout).strip().split("/")[-1]

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-p", self.dir, "-c", self.conf, "-e", os.path.join(self.dir, "error.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        deadline = time.monotonic() + NGINX_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"nginx exited with {self.proc.returncode}: {self.proc.stderr.read().decode()[-500:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise BenchError(f"nginx did not listen on {self.port} within {NGINX_START_TIMEOUT_S:.0f}s")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGQUIT)  # graceful; the group is only our nginx
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc.stderr.close()
        self.proc = None


# --------------------------------------------------------------------------- clients

def curl_download(url: str, headers: dict[str, str]) -> tuple[float, int]:
    """One GET into /dev/null with curl (a client that is not the bottleneck); wall seconds, bytes."""
    cmd = ["curl", "-sS", "-o", os.devnull, "-w", "%{http_code} %{size_download}"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    start = time.perf_counter()
    proc = subprocess.run(cmd + [url], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    status, size = (proc.stdout.split() + ["?", "0"])[:2]
    if proc.returncode != 0 or status != "200":
        raise BenchError(f"curl {url}: exit {proc.returncode}, HTTP {status}: {proc.stderr.strip()[:300]}")
    return elapsed, int(size)


def curl_parallel(urls: list[str], headers: dict[str, str], workdir: str) -> float:
    """GET every URL into /dev/null with ``curl --parallel --parallel-max 8`` (keep-alive
    connections); checks every status and size; returns wall seconds."""
    config = os.path.join(workdir, f"curl-{secrets.token_hex(4)}.conf")
    with open(config, "w", encoding="utf-8") as fh:
        for url in urls:
            fh.write(f'url = "{url}"\noutput = "{os.devnull}"\n')
    cmd = ["curl", "-sS", "--parallel", "--parallel-max", str(CLIENTS), "-K", config,
           "-w", "%{http_code} %{size_download}\n"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    os.unlink(config)
    results = [line.split() for line in proc.stdout.splitlines() if line.strip()]
    bad = [r for r in results if r != ["200", str(SMALL_SIZE)]]
    if proc.returncode != 0 or len(results) != len(urls) or bad:
        raise BenchError(f"curl --parallel: exit {proc.returncode}, {len(results)}/{len(urls)} answers, "
                         f"unexpected {bad[:3]}: {proc.stderr.strip()[:300]}")
    return elapsed


def hashed_get(session: requests.Session, url: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with session.get(url, stream=True, timeout=(5, 3600)) as response:
        if response.status_code != 200:
            raise BenchError(f"GET {url} -> HTTP {response.status_code}")
        for chunk in response.iter_content(MIB):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def api_token(session: requests.Session, base: str) -> str:
    response = session.post(base + "/api/tokens", json={"name": "bench", "scope": "read-write"}, timeout=10)
    if response.status_code != 201:
        raise BenchError(f"POST /api/tokens -> HTTP {response.status_code}: {response.text[:300]}")
    return response.json()["secret"]


def upload_small(base: str, token: str, files: list[tuple[str, bytes, str]]) -> tuple[float, list[dict]]:
    """Upload every (name, bytes, sha256) as its own request, CLIENTS threads each with its own
    requests.Session; checks each 201 and SHA-256; returns wall seconds and the records."""
    local = threading.local()
    sessions = []

    def one(item):
        name, data, digest = item
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["Authorization"] = f"Bearer {token}"
            sessions.append(local.session)
        response = local.session.post(base + "/api/upload", timeout=(5, 120),
                                      files={"file": (name, data, "application/octet-stream")})
        if response.status_code != 201:
            raise BenchError(f"upload {name} -> HTTP {response.status_code}: {response.text[:300]}")
        [record] = response.json()["files"]
        if record["sha256"] != digest or record["size"] != len(data):
            raise BenchError(f"upload {name}: stored {record['size']} bytes {record['sha256']}")
        return record

    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        records = list(pool.map(one, files))
    elapsed = time.perf_counter() - start
    for session in sessions:
        session.close()
    return elapsed, records


def dd_small(sources: list[str], dest_dir: str) -> float:
    """``dd bs=4M conv=fsync`` of every source file, CLIENTS at a time; wall seconds."""
    os.makedirs(dest_dir, exist_ok=True)

    def one(src):
        dst = os.path.join(dest_dir, os.path.basename(src))
        proc = subprocess.run(["dd", f"if={src}", f"of={dst}", "bs=4M", "conv=fsync", "status=none"],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise BenchError(f"dd {src}: {proc.stderr.strip()}")

    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(one, sources))
    elapsed = time.perf_counter() - start
    shutil.rmtree(dest_dir)
    return elapsed


def blob_paths(uploads: str, size: int) -> list[str]:
    """Paths (relative to the uploads folder) of committed blobs of ``size`` bytes."""
    found = []
    for user_dir in os.scandir(uploads):
        if user_dir.is_dir() and not user_dir.name.startswith("."):
            for entry in os.scandir(user_dir.path):
                if not entry.name.startswith(".") and entry.stat().st_size == size:
                    found.append(f"{user_dir.name}/{entry.name}")
    return sorted(found)


# --------------------------------------------------------------------------- report

def render(r: dict) -> str:
    def ok(value, target, below=False):
        return "yes" if (value < target if below else value >= target) else "**no**"
    big, small = r["large"], r["small"]
    mib = r["size_mib"]
    n = r["files"]
    lines = [
        f"### API beside dd and nginx: {mib} MiB file, {n:,} files of 64 KiB",
        "",
        f"Cores: {r['nproc']} (nproc) · load average before the run: {r['loadavg_before']} · "
        f"Python {r['python']}, Gunicorn worker class {r['worker_class']}, {len(r['worker_pids'])} workers, "
        "embedded store · "
        f"nginx {r['nginx_version']} (worker_processes auto, sendfile on) · downloads with curl to /dev/null",
        "",
        f"Command: `{r['command']}`",
        "",
        "| measurement | ours | reference | ratio | target | met |",
        "|---|---:|---:|---:|---|---|",
        f"| upload {mib} MiB: POST /api/upload (streamed multipart) vs `dd bs=4M conv=fsync` | "
        f"{big['upload_mib_s']:.1f} MiB/s | {big['dd_mib_s']:.1f} MiB/s | {big['upload_vs_dd']:.2f} | "
        f">= {TARGETS['upload_vs_dd']} | {ok(big['upload_vs_dd'], TARGETS['upload_vs_dd'])} |",
        f"| download {mib} MiB: GET /api/files/&lt;id&gt; vs nginx, same bytes | "
        f"{big['api_download_mib_s']:.1f} MiB/s | {big['nginx_download_mib_s']:.1f} MiB/s | "
        f"{big['download_vs_nginx']:.2f} | >= {TARGETS['download_vs_nginx']} | "
        f"{ok(big['download_vs_nginx'], TARGETS['download_vs_nginx'])} |",
        f"| largest worker peak RSS growth during the {mib} MiB upload | {big['upload_rss_growth_mib']:.1f} MiB | | | "
        f"< {TARGETS['rss_growth_mib']:.0f} MiB | {ok(big['upload_rss_growth_mib'], TARGETS['rss_growth_mib'], True)} |",
        f"| largest worker peak RSS growth during the {mib} MiB download | {big['download_rss_growth_mib']:.1f} MiB | | | "
        f"< {TARGETS['rss_growth_mib']:.0f} MiB | {ok(big['download_rss_growth_mib'], TARGETS['rss_growth_mib'], True)} |",
        f"| upload {n:,} x 64 KiB, {CLIENTS} clients vs {CLIENTS} parallel `dd bs=4M conv=fsync` | "
        f"{small['upload_files_s']:.0f} files/s ({small['upload_mib_s']:.1f} MiB/s) | "
        f"{small['dd_files_s']:.0f} files/s ({small['dd_mib_s']:.1f} MiB/s) | {small['upload_vs_dd']:.2f} | - | - |",
        f"| download {n:,} x 64 KiB, {CLIENTS} parallel (curl --parallel) vs nginx | "
        f"{small['api_download_files_s']:.0f} files/s ({small['api_download_mib_s']:.1f} MiB/s) | "
        f"{small['nginx_download_files_s']:.0f} files/s ({small['nginx_download_mib_s']:.1f} MiB/s) | "
        f"{small['download_vs_nginx']:.2f} | >= {TARGETS['download_vs_nginx']} | "
        f"{ok(small['download_vs_nginx'], TARGETS['download_vs_nginx'])} |",
        "",
        f"- CPU of the workers: {big['upload_worker_cpu_s']:.2f} s for the {mib} MiB upload "
        f"({big['upload_s']:.2f} s wall), {big['download_worker_cpu_s']:.2f} s for one download; "
        f"{small['upload_worker_cpu_s']:.2f} s for the {n:,} small uploads",
        f"- largest worker VmHWM growth (kernel peak): upload {big['upload_vmhwm_growth_mib']}, "
        f"download {big['download_vmhwm_growth_mib']} MiB; RSS baselines "
        + ", ".join(f"{mib:.1f} MiB (pid {pid})" for pid, mib in r["worker_rss_baseline_mib"].items()),
        f"- every upload's SHA-256 checked in its 201; downloads checked by size in the timed runs and "
        f"by SHA-256 in an untimed pass from both servers: {'ok' if r['verified'] else 'MISMATCH'}",
        "- each upload 201 means: file fsynced, renamed, folder fsynced, record committed (fsynced); "
        "dd fsyncs the file only",
        f"- downloads: best of {r['repeat']} alternating runs per server" if r["repeat"] > 1 else
        "- downloads: one run per server",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="large file size in MiB (default 1024)")
    parser.add_argument("--files", type=int, default=1000, help="number of 64 KiB files (default 1000)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="alternating download runs per server, best kept (default 3)")
    parser.add_argument("--output", default=os.path.join(RESULTS, "compare.json"))
    args = parser.parse_args(argv)
    if args.size_mib < 1 or args.files < 1 or args.repeat < 1:
        parser.error("--size-mib, --files and --repeat must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, transfer._sigterm_to_exit)
    if shutil.which("curl") is None:
        print("error: curl is needed for the download runs", file=sys.stderr)
        return 2
    size = args.size_mib * MIB
    os.makedirs(RESULTS, exist_ok=True)
    need = 3 * size + 3 * args.files * SMALL_SIZE + 512 * MIB
    if shutil.disk_usage(RESULTS).free < need:
        print(f"error: need about {need / MIB:.0f} MiB free under {RESULTS}", file=sys.stderr)
        return 2
    command = "python bench/compare.py" + "".join(
        f" {flag} {value}" for flag, value, default in
        (("--size-mib", args.size_mib, 1024), ("--files", args.files, 1000), ("--repeat", args.repeat, 3))
        if value != default)
    with open("/proc/loadavg", encoding="ascii") as fh:
        loadavg = " ".join(fh.read().split()[:3])

    workdir = tempfile.mkdtemp(prefix="compare-", dir=RESULTS)
    server = Server(workdir, os.path.join(RESULTS, "compare-gunicorn.log"))
    uploads = server.env["UPLOAD_FOLDER"]
    nginx = None
    try:
        nginx = Nginx(workdir, uploads)
        src = os.path.join(workdir, "source.bin")
        print(f"load average {loadavg}; writing {args.size_mib} MiB source ...", flush=True)
        source_sha = make_source(src, size)
        rng_files = []
        small_dir = os.path.join(workdir, "small-src")
        os.makedirs(small_dir)
        for i in range(args.files):
            data = os.urandom(SMALL_SIZE)
            path = os.path.join(small_dir, f"f{i:05d}.bin")
            with open(path, "wb") as fh:
                fh.write(data)
            rng_files.append((f"small-{i:05d}.bin", data, hashlib.sha256(data).hexdigest(), path))
        os.sync()

        print("dd (large) ...", flush=True)
        dd = run_dd(src, os.path.join(workdir, "dd.bin"), size)

        print("starting gunicorn ...", flush=True)
        server.start()
        session = requests.Session()
        sign_up(session, server.base)
        token = api_token(session, server.base)
        auth = {"Authorization": f"Bearer {token}"}
        workers = warm_up_every_worker(session, server, workdir)
        baseline = baselines_rss_kib(workers)

        print("upload (large) ...", flush=True)
        with WorkersRss(baseline) as up_rss:
            record, up_s, _ = transfer.upload(session, server.base, src)
        if record.get("size") != size or record.get("sha256") != source_sha:
            raise BenchError(f"large upload stored {record.get('size')} bytes {record.get('sha256')}")
        [large_path] = blob_paths(uploads, size)

        print("nginx ...", flush=True)
        nginx.start()
        api_url = f"{server.base}/api/files/{record['id']}"
        nginx_url = f"{nginx.base}/{large_path}"
        api_runs, nginx_runs, down_rss = [], [], None
        for i in range(args.repeat):
            print(f"download (large) {i + 1}/{args.repeat} ...", flush=True)
            with WorkersRss(baseline) as sampler:
                seconds, got = curl_download(api_url, auth)
            down_rss = sampler if down_rss is None or sampler.growth_kib > down_rss.growth_kib else down_rss
            if got != size:
                raise BenchError(f"API download returned {got} bytes")
            api_runs.append(seconds)
            seconds, got = curl_download(nginx_url, {})
            if got != size:
                raise BenchError(f"nginx download returned {got} bytes")
            nginx_runs.append(seconds)
        plain = requests.Session()  # no credentials: nginx needs none
        verified = (hashed_get(session, api_url) == (source_sha, size)
                    and hashed_get(plain, nginx_url) == (source_sha, size))

        print("dd (small) ...", flush=True)
        dd_small_s = dd_small([f[3] for f in rng_files], os.path.join(workdir, "small-dd"))
        print("upload (small) ...", flush=True)
        cpu0 = sum(transfer.cpu_seconds(pid) for pid in workers)
        small_up_s, small_records = upload_small(server.base, token, [f[:3] for f in rng_files])
        small_cpu = sum(transfer.cpu_seconds(pid) for pid in workers) - cpu0
        by_sha = {r["sha256"]: r for r in small_records}
        small_blobs = blob_paths(uploads, SMALL_SIZE)
        if len(small_blobs) != args.files:
            raise BenchError(f"{len(small_blobs)} blobs of 64 KiB on disk, expected {args.files}")
        api_small = [f"{server.base}/api/files/{r['id']}" for r in small_records]
        nginx_small = [f"{nginx.base}/{p}" for p in small_blobs]
        api_small_runs, nginx_small_runs = [], []
        for i in range(args.repeat):
            print(f"download (small) {i + 1}/{args.repeat} ...", flush=True)
            api_small_runs.append(curl_parallel(api_small, auth, workdir))
            nginx_small_runs.append(curl_parallel(nginx_small, {}, workdir))
        for url in api_small[:: max(1, args.files // 100)]:  # a sample through the API, all through nginx
            digest, _ = hashed_get(session, url)
            verified &= digest in by_sha
        nginx_hashes = {hashed_get(plain, url)[0] for url in nginx_small}
        verified &= nginx_hashes == set(by_sha)

        if sorted(server.worker_pids()) != workers or up_rss.vanished or down_rss.vanished:
            raise BenchError(f"a Gunicorn worker of {workers} was replaced during the run")

        def growth(kib):
            return None if kib is None else round(kib / 1024, 1)

        files_mib = args.files * SMALL_SIZE / MIB
        large = {
            "dd_mib_s": dd["mib_s"], "dd_s": dd["seconds"],
            "upload_s": up_s, "upload_mib_s": mib_per_s(size, up_s),
            "upload_vs_dd": mib_per_s(size, up_s) / dd["mib_s"],
            "upload_worker_cpu_s": up_rss.cpu_s, "upload_rss_growth_mib": up_rss.growth_kib / 1024,
            "upload_vmhwm_growth_mib": growth(up_rss.hwm_growth_kib),
            "api_download_s": api_runs, "nginx_download_s": nginx_runs,
            "api_download_mib_s": mib_per_s(size, min(api_runs)),
            "nginx_download_mib_s": mib_per_s(size, min(nginx_runs)),
            "download_vs_nginx": min(nginx_runs) / min(api_runs),
            "download_worker_cpu_s": down_rss.cpu_s,
            "download_rss_growth_mib": down_rss.growth_kib / 1024,
            "download_vmhwm_growth_mib": growth(down_rss.hwm_growth_kib),
        }
        small = {
            "dd_s": dd_small_s, "dd_files_s": args.files / dd_small_s, "dd_mib_s": files_mib / dd_small_s,
            "upload_s": small_up_s, "upload_files_s": args.files / small_up_s,
            "upload_mib_s": files_mib / small_up_s, "upload_vs_dd": dd_small_s / small_up_s,
            "upload_worker_cpu_s": small_cpu,
            "api_download_s": api_small_runs, "nginx_download_s": nginx_small_runs,
            "api_download_files_s": args.files / min(api_small_runs),
            "api_download_mib_s": files_mib / min(api_small_runs),
            "nginx_download_files_s": args.files / min(nginx_small_runs),
            "nginx_download_mib_s": files_mib / min(nginx_small_runs),
            "download_vs_nginx": min(nginx_small_runs) / min(api_small_runs),
        }
        result = {
            "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": command, "nproc": os.cpu_count(), "loadavg_before": loadavg,
            "python": platform.python_version(), "nginx_version": nginx.version(),
            "worker_class": worker_class(), "worker_pids": workers,
            "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                                         text=True).stdout.strip() or None,
            "size_mib": args.size_mib, "files": args.files, "repeat": args.repeat,
            "worker_rss_baseline_mib": {pid: kib / 1024 for pid, kib in baseline.items()},
            "verified": bool(verified),
            "large": large, "small": small, "dd": dd,
        }
        with open("/proc/loadavg", encoding="ascii") as fh:
            result["loadavg_after"] = " ".join(fh.read().split()[:3])
        print()
        print(render(result))
        print(f"- load average after the run: {result['loadavg_after']}")
        with open(args.output, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
            fh.write("\n")
        print(f"\nJSON written to {os.path.relpath(args.output, REPO)}")
        if not verified:
            print("error: SHA-256 mismatch in the verification pass", file=sys.stderr)
            return 1
        return 0
    except BenchError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        tail = server.log_tail()
        if tail:
            print(f"--- last lines of {server.log_path} ---\n{tail}", file=sys.stderr)
        return 1
    finally:
        if nginx is not None:
            nginx.stop()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
