"""Slow-client benchmark: what other users wait while hundreds of connections trickle bytes.

A benchmark, not a test: it prints latencies for this machine and exits non-zero only when the
service answers wrongly (an error status, a wrong body, a dead worker).

    python bench/slow_clients.py                    # 500 slow clients, Gunicorn as `make run`
    python bench/slow_clients.py --nginx            # also through nginx, as in production
    GUNICORN_WORKER_CLASS=gthread python bench/slow_clients.py --samples 5   # the old worker

See bench/README.md for what is measured and how to read the result.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time

import requests

sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
import compare  # noqa: E402  bench/ is not a package
import transfer  # noqa: E402
from tests.trickle import Trickle, timed_request  # noqa: E402

TARGET_MS = 250.0
REQUEST_TIMEOUT_S = 10.0
SETTLE_S = 1.5  # after opening the slow connections, before measuring
PASSWORD = "slow-clients-bench-password"


class ProxyNginx(compare.Nginx):
    """nginx in front of Gunicorn with the production notes' settings (README: large bodies
    passed through, not buffered); every other setting is nginx's default."""

    def __init__(self, workdir: str, upstream_port: int):
        super().__init__(workdir, root=workdir)
        with open(self.conf, encoding="utf-8") as fh:
            conf = fh.read()
        proxy = (f"location / {{ proxy_pass http://127.0.0.1:{upstream_port}; proxy_set_header Host $host; "
                 "proxy_set_header X-Forwarded-For $remote_addr; client_max_body_size 1g; "
                 "proxy_request_buffering off; }")
        with open(self.conf, "w", encoding="utf-8") as fh:
            fh.write(conf.replace("location / { }", proxy).replace(f"root {workdir};", ""))


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


def measure(base: str, session_cookies, file_id: str, samples: int) -> dict[str, dict]:
    """``samples`` rounds of status, login and small download, each on a fresh connection."""
    calls = {
        "status": ("GET", "/api/status", {}),
        "login": ("POST", "/api/login", {"json": {"username": "bob", "password": PASSWORD}}),
        "download": ("GET", f"/api/files/{file_id}", {"cookies": session_cookies}),
    }
    times: dict[str, list[float]] = {name: [] for name in calls}
    failures: dict[str, int] = {name: 0 for name in calls}
    for _ in range(samples):
        for name, (method, path, kwargs) in calls.items():
            response, seconds = timed_request(method, base + path, REQUEST_TIMEOUT_S, **kwargs)
            if response is None:
                failures[name] += 1
                times[name].append(seconds)
                continue
            if response.status_code != 200 or (name == "download" and response.content != b"small file"):
                raise transfer.BenchError(f"{method} {path} -> HTTP {response.status_code}: {response.text[:200]}")
            times[name].append(seconds)
    return {name: {"p50_ms": 1000 * statistics.median(t), "p99_ms": 1000 * percentile(t, 99),
                   "max_ms": 1000 * max(t), "n": len(t), "timeouts": failures[name]}
            for name, t in times.items()}


def worker_state(server: transfer.Server) -> dict:
    """RSS and open files of all the server's workers together."""
    pids = server.worker_pids()
    return {"workers": len(pids), "rss_kib": sum(transfer.read_status_kib(pid, "VmRSS") or 0 for pid in pids),
            "fds": sum(len(os.listdir(f"/proc/{pid}/fd")) for pid in pids)}


def run_through(label: str, base: str, port: int, server: transfer.Server, args) -> dict:
    with requests.Session() as alice:
        credentials = {"username": f"alice-{label}", "password": PASSWORD}
        for path, want in (("/api/register", 201), ("/api/login", 200)):
            response = alice.post(base + path, json=credentials, timeout=10)
            if response.status_code != want:
                raise transfer.BenchError(f"POST {path} -> HTTP {response.status_code}: {response.text[:200]}")
        response = alice.post(base + "/api/upload", files={"file": ("small.txt", b"small file")}, timeout=10)
        if response.status_code != 201:
            raise transfer.BenchError(f"upload -> HTTP {response.status_code}: {response.text[:200]}")
        file_id = response.json()["files"][0]["id"]
        cookies = alice.cookies
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    print(f"{label}: {args.samples} rounds with no slow client ...", flush=True)
    idle_state = worker_state(server)
    quiet = measure(base, cookies, file_id, args.samples)
    print(f"{label}: {args.slow} slow clients (1 byte/s, replaced when dropped) ...", flush=True)
    with Trickle("127.0.0.1", port, args.slow, cookie=cookie, reconnect=True) as slow:
        time.sleep(SETTLE_S)
        busy_state = worker_state(server)
        busy = measure(base, cookies, file_id, args.samples)
        dropped = slow.dropped
    if server.proc.poll() is not None:
        raise transfer.BenchError(f"gunicorn exited with {server.proc.returncode}")
    return {"quiet": quiet, "busy": busy, "dropped_during_measure": dropped,
            "worker_idle": idle_state, "worker_with_slow_clients": busy_state}


def render(result: dict) -> str:
    lines = [f"### Other clients' requests beside {result['slow']} slow clients (1 byte/s)",
             "",
             f"{result['nproc']} cores · load average {result['loadavg_before']} before, "
             f"{result['loadavg_after']} after · worker class {result['worker_class']} · "
             f"{result['samples']} samples per request and column · `{result['command']}`",
             ""]
    for label, run in result["runs"].items():
        lines += [f"**{label}**", "",
                  "| request | p50 ms, 0 slow | p99 ms, 0 slow | p50 ms, "
                  f"{result['slow']} slow | p99 ms, {result['slow']} slow | timeouts | "
                  f"target p99 < {TARGET_MS:.0f} ms | met |",
                  "|---|---:|---:|---:|---:|---:|---|---|"]
        for name in ("status", "login", "download"):
            q, b = run["quiet"][name], run["busy"][name]
            met = "yes" if b["p99_ms"] < TARGET_MS and not b["timeouts"] else "**no**"
            lines.append(f"| {name} | {q['p50_ms']:.1f} | {q['p99_ms']:.1f} | {b['p50_ms']:.1f} | "
                         f"{b['p99_ms']:.1f} | {b['timeouts']} | < {TARGET_MS:.0f} | {met} |")
        idle, busy = run["worker_idle"], run["worker_with_slow_clients"]
        lines += ["", f"Workers ({idle['workers']}): RSS {idle['rss_kib'] / 1024:.1f} MiB idle, {busy['rss_kib'] / 1024:.1f} MiB "
                  f"with the slow clients ({(busy['rss_kib'] - idle['rss_kib']) / result['slow']:.0f} KiB each); "
                  f"open files {idle['fds']} idle, {busy['fds']} with them; "
                  f"{run['dropped_during_measure']} slow connections dropped (and replaced) while measuring.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", type=int, default=500, help="slow connections (default 500)")
    parser.add_argument("--samples", type=int, default=40, help="rounds of the three requests per column")
    parser.add_argument("--nginx", action="store_true", help="also measure through nginx (production notes)")
    args = parser.parse_args(argv)
    os.makedirs(transfer.RESULTS, exist_ok=True)
    result = {"slow": args.slow, "samples": args.samples, "nproc": os.cpu_count(),
              "python": platform.python_version(), "loadavg_before": open("/proc/loadavg").read().split()[:3],
              "worker_class": transfer.worker_class(),
              "command": " ".join(["python", "bench/slow_clients.py", *(argv if argv is not None else sys.argv[1:])]),
              "runs": {}}
    signal.signal(signal.SIGTERM, transfer._sigterm_to_exit)  # so cleanup runs when we are killed
    with contextlib.ExitStack() as cleanup:  # undone in reverse: nginx, Gunicorn, the temp dir
        workdir = tempfile.mkdtemp(prefix="slow-clients-", dir=transfer.RESULTS)
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        server = transfer.Server(workdir, os.path.join(transfer.RESULTS, "slow_clients-gunicorn.log"))
        # Every client is 127.0.0.1 and bob logs in once per sample: the login limits would answer 429.
        server.env.update(LOGIN_RATE_LIMIT="1000000 per minute", LOGIN_IP_RATE_LIMIT="1000000 per minute")
        cleanup.callback(server.stop)
        try:
            server.start()
            with requests.Session() as bob:
                bob.post(server.base + "/api/register", json={"username": "bob", "password": PASSWORD}, timeout=10)
            result["runs"]["Gunicorn alone (make run)"] = run_through("gunicorn", server.base, server.port, server, args)
            if args.nginx:
                nginx = ProxyNginx(workdir, server.port)
                cleanup.callback(nginx.stop)
                nginx.start()
                result["runs"]["nginx in front (production notes)"] = run_through(
                    "nginx", nginx.base, nginx.port, server, args)
        except transfer.BenchError as exc:
            print(f"error: {exc}\n{server.log_tail()}", file=sys.stderr)
            return 1
    result["loadavg_after"] = open("/proc/loadavg").read().split()[:3]
    result["loadavg_before"] = ", ".join(result["loadavg_before"])
    result["loadavg_after"] = ", ".join(result["loadavg_after"])
    with open(os.path.join(transfer.RESULTS, "slow_clients.json"), "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2)
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
