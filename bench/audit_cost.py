"""What a feature costs the small-download path: 64 KiB downloads per second with it on
beside the same server with it off, in one run, rounds alternating. Features: the audit log
(AUDIT_ENABLED, on by default) and Prometheus metrics (METRICS_ENABLED, off by default).

Target (issue 15): writing the audit log costs the small-download benchmark no more than 10%
(ratio on/off >= 0.90); metrics are held to the same. A benchmark, not a test: it prints a
Markdown table and exits non-zero only when the service answers wrongly.

    python bench/audit_cost.py                      # the audit log: 3 rounds of 2,000 downloads, 8 clients
    python bench/audit_cost.py --feature metrics    # Prometheus metrics
    python bench/audit_cost.py --downloads 500 --rounds 1
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from transfer import RESULTS, BenchError, Server  # noqa: E402
from tus_upload import loadavg  # noqa: E402
from config import server_settings  # noqa: E402

SIZE = 64 * 1024
# Per feature: the settings of the server with it on and with it off, and its name in the table.
FEATURES = {"audit": ({}, {"AUDIT_ENABLED": "false"}, "the audit log"),
            "metrics": ({"METRICS_ENABLED": "true"}, {}, "Prometheus metrics")}


def prepare(server: Server) -> tuple[str, str]:
    session = requests.Session()
    account = {"username": "bench", "password": "bench password"}
    session.post(server.url("/api/register"), json=account, timeout=10)
    if session.post(server.url("/api/login"), json=account, timeout=10).status_code != 200:
        raise BenchError("login failed")
    secret = session.post(server.url("/api/tokens"), json={"name": "b", "scope": "read"}, timeout=10).json()["secret"]
    files = {"file": ("small.bin", os.urandom(SIZE), "application/octet-stream")}
    file_id = session.post(server.url("/api/upload"), files=files, timeout=30).json()["files"][0]["id"]
    return secret, file_id


def downloads_per_second(server: Server, secret: str, file_id: str, count: int, clients: int) -> float:
    url = server.url(f"/api/files/{file_id}")
    per_client = count // clients
    errors: list[str] = []

    def run():
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {secret}"
            for _ in range(per_client):
                response = session.get(url, timeout=30)
                if response.status_code != 200 or len(response.content) != SIZE:
                    errors.append(f"HTTP {response.status_code}, {len(response.content)} bytes")
                    return
    threads = [threading.Thread(target=run) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise BenchError(errors[0])
    return per_client * clients / elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--downloads", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--feature", choices=sorted(FEATURES), default="audit")
    args = parser.parse_args(argv)
    on_settings, off_settings, title = FEATURES[args.feature]
    os.makedirs(RESULTS, exist_ok=True)
    before = loadavg()
    workdirs = [tempfile.mkdtemp(prefix=f"{args.feature}-{kind}-", dir=RESULTS) for kind in ("on", "off")]
    servers = {kind: Server(path, os.path.join(RESULTS, f"{args.feature}_cost-{kind}.log"))
               for kind, path in zip(("on", "off"), workdirs)}
    servers["on"].env.update(server_settings(**on_settings))
    servers["off"].env.update(server_settings(**off_settings))
    try:
        prepared = {}
        for kind, server in servers.items():
            server.start()
            prepared[kind] = prepare(server)
            downloads_per_second(server, *prepared[kind], 200, args.clients)  # warm-up
        rows = {"on": [], "off": []}
        for n in range(args.rounds):
            for kind in (("on", "off") if n % 2 == 0 else ("off", "on")):
                rate = downloads_per_second(servers[kind], *prepared[kind], args.downloads, args.clients)
                rows[kind].append(rate)
                print(f"round {n + 1}: {args.feature} {kind}: {rate:.0f} downloads/s (load {loadavg()})", flush=True)
        ratios = [on / off for on, off in zip(rows["on"], rows["off"])]
        ratio = statistics.median(ratios)
        print()
        print(f"### The cost of {title} on 64 KiB downloads ({args.downloads} per round, {args.clients} clients, "
              f"{args.rounds} rounds)\n")
        print(f"Load average before: {before}, after: {loadavg()} · {os.cpu_count()} cores · command: "
              f"`python bench/audit_cost.py --feature {args.feature}`\n")
        print(f"| {args.feature} | downloads/s (median) | runs |\n|---|---:|---|")
        for kind in ("off", "on"):
            print(f"| {kind} | {statistics.median(rows[kind]):.0f} | {', '.join(f'{r:.0f}' for r in rows[kind])} |")
        print(f"\n**Target: on/off >= 0.90: {ratio:.2f} (per round {', '.join(f'{r:.2f}' for r in ratios)}) -> "
              f"{'MET' if ratio >= 0.9 else 'MISSED'}**")
        return 0
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for server in servers.values():
            server.stop()
        for path in workdirs:
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
