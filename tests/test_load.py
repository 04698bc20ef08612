"""Load: many clients of several users upload, list, download and delete at once against a real
Gunicorn (embedded store), then every acknowledged file is checked.

Bounded for CI: 32 clients for 60 s by default; ``LOAD_CLIENTS`` and ``LOAD_SECONDS`` override.
Each client is a thread with its own ``requests.Session`` (half of them log in with the user's
session cookie, half with a read-write API token). Sizes vary from 1 byte to 4 MiB.

Pass/fail: no 5xx, no connection error, no unexpected status (each expected 4xx is named below
with the reason it is legitimate), every download during the run matches what was sent, and at
the end each user's listing and trash equal exactly what the server acknowledged and every
live file downloads with the SHA-256 it was sent with. Latency percentiles per operation and
throughput are printed and written to ``test-artifacts/load.json``.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import random
import secrets
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARTIFACT = os.path.join(REPO_ROOT, "test-artifacts", "load.json")
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "32"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))
USERS = max(1, min(4, CLIENTS))
MIB = 1024 * 1024
TIMEOUT = (10, 120)
MAX_LIVE_PER_CLIENT = 25  # a client deletes more once it holds this many files
SHARED_NAMES = 6  # per user: names several clients upload to, so names clash for real
DEDUP_PAYLOADS = 3  # per user: contents several clients upload, so blobs are shared

pytestmark = pytest.mark.e2e

_POOL = random.Random(20261123).randbytes(4 * MIB + 4096)  # content comes from slices of this


def payload(rng: random.Random) -> bytes:
    """Unique bytes (a random 16-byte head) of a size from 1 byte to 4 MiB, mostly small."""
    roll = rng.random()
    if roll < 0.70:
        size = rng.randint(1, 64 * 1024)
    elif roll < 0.92:
        size = rng.randint(64 * 1024, MIB)
    else:
        size = rng.randint(MIB, 4 * MIB)
    head = rng.randbytes(16)
    start = rng.randint(0, len(_POOL) - size)
    return (head + _POOL[start:start + size])[:size]


@dataclass
class Acked:
    id: str
    name: str
    size: int
    sha256: str


@dataclass
class UserState:
    name: str
    cookies: requests.cookies.RequestsCookieJar
    token: str
    dedup: list[bytes]
    lock: threading.Lock = field(default_factory=threading.Lock)
    live: dict[str, Acked] = field(default_factory=dict)  # acknowledged, not deleted
    deleting: set[str] = field(default_factory=set)  # DELETE sent or done (any outcome)
    trashed: dict[str, Acked] = field(default_factory=dict)  # acknowledged in the trash
    name_attempts: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class Run:
    """What every client records: samples, expected 4xx, problems."""

    def __init__(self):
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.expected_4xx: dict[str, int] = defaultdict(int)
        self.problems: list[str] = []
        self.bytes_up = 0
        self.bytes_down = 0
        self.requests = 0

    def record(self, op: str, seconds: float, status: int, up: int = 0, down: int = 0) -> None:
        with self.lock:
            self.samples[op].append(seconds)
            self.statuses[op][status] += 1
            self.bytes_up += up
            self.bytes_down += down
            self.requests += 1

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    def expected(self, reason: str) -> None:
        with self.lock:
            self.expected_4xx[reason] += 1


def error_code(response: requests.Response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def describe(op: str, response: requests.Response) -> str:
    return f"{op}: HTTP {response.status_code} {response.text[:300]!r} rid={response.headers.get('X-Request-ID')}"


class Client:
    def __init__(self, index: int, base: str, user: UserState, run: Run, deadline: float):
        self.index = index
        self.base = base
        self.user = user
        self.run = run
        self.deadline = deadline
        self.rng = random.Random(1000 + index)
        self.mine: dict[str, Acked] = {}  # files this client uploaded and has not deleted
        self.session = requests.Session()
        if index % 2:
            self.session.headers["Authorization"] = f"Bearer {user.token}"
        else:
            self.session.cookies.update(user.cookies)

    def timed(self, op: str, method: str, path: str, **kwargs) -> tuple[requests.Response, float]:
        start = time.perf_counter()
        response = self.session.request(method, self.base + path, timeout=TIMEOUT, **kwargs)
        _ = response.content  # the whole body is part of the operation
        return response, time.perf_counter() - start

    def loop(self) -> None:
        try:
            while time.monotonic() < self.deadline:
                roll = self.rng.random()
                if len(self.mine) >= MAX_LIVE_PER_CLIENT or (self.mine and roll < 0.17):
                    self.delete()
                elif roll < 0.55:
                    self.upload()
                elif roll < 0.75:
                    self.list()
                else:
                    self.download()
        except Exception as exc:  # noqa: BLE001 - a connection error or a malformed answer
            self.run.problem(f"client {self.index} stopped: {type(exc).__name__}: {exc}")
        finally:
            self.session.close()

    # -- operations ------------------------------------------------------------------------

    def upload(self) -> None:
        user, rng = self.user, self.rng
        roll = rng.random()
        if roll < 0.15:  # a name other clients of this user upload to as well
            name = f"shared-{rng.randrange(SHARED_NAMES)}.bin"
            on_conflict = "fail" if rng.random() < 0.7 else "rename"
        else:
            name = f"c{self.index}-{secrets.token_hex(6)}.bin"
            on_conflict = "fail"
        data = user.dedup[rng.randrange(DEDUP_PAYLOADS)] if rng.random() < 0.1 else payload(rng)
        with user.lock:
            user.name_attempts[name] += 1
        response, seconds = self.timed("upload", "POST", f"/api/upload?on_conflict={on_conflict}",
                                       files={"file": (name, data, "application/octet-stream")})
        self.run.record("upload", seconds, response.status_code, up=len(data))
        if response.status_code == 201:
            [record] = response.json()["files"]
            digest = hashlib.sha256(data).hexdigest()
            if record["size"] != len(data) or record["sha256"] != digest:
                self.run.problem(f"upload of {name}: stored {record['size']} bytes {record['sha256']}, "
                                 f"sent {len(data)} bytes {digest}")
            acked = Acked(record["id"], record["name"], len(data), digest)
            self.mine[acked.id] = acked
            with user.lock:
                user.live[acked.id] = acked
        elif (response.status_code == 409 and error_code(response) == "name_conflict"
              and on_conflict == "fail" and name.startswith("shared-")):
            # Legitimate under contention: another client of this user holds (or took) the name.
            with user.lock:
                contended = user.name_attempts[name] > 1
            if contended:
                self.run.expected("409 name_conflict on a shared name")
            else:
                self.run.problem(f"409 for {name}, which no other upload used: {describe('upload', response)}")
        else:
            self.run.problem(describe(f"upload {name} ({len(data)} bytes)", response))

    def list(self) -> None:
        limit = self.rng.choice([20, 50, 200])
        sort = self.rng.choice(["name", "created_at", "size"])
        response, seconds = self.timed("list", "GET", f"/api/files?limit={limit}&sort={sort}&order=desc")
        self.run.record("list", seconds, response.status_code, down=len(response.content))
        if response.status_code != 200:
            self.run.problem(describe("list", response))
            return
        body = response.json()
        if len(body["files"]) > limit:
            self.run.problem(f"list: {len(body['files'])} files for limit {limit}")
        elif body["total"] != len(body["files"]) and len(body["files"]) < limit:
            # Legitimate under contention: the total is counted in a query of its own, so an
            # upload or delete between that and the page's query makes them differ. (The final
            # check, with nothing running, requires the listing and total to be exact.)
            self.run.expected("list total counted apart from its page while files change")

    def download(self) -> None:
        user = self.user
        with user.lock:  # any live file of this user, possibly another client's (which may go meanwhile)
            if not user.live:
                return
            target = user.live[self.rng.choice(list(user.live))]
        ranged = self.rng.random() < 0.1 and target.size > 10
        headers = {"Range": f"bytes=0-{target.size // 2}"} if ranged else {}
        response, seconds = self.timed("download", "GET", f"/api/files/{target.id}", headers=headers)
        self.run.record("download", seconds, response.status_code, down=len(response.content))
        if response.status_code in (200, 206):
            expected_status = 206 if ranged else 200
            if response.status_code != expected_status:
                self.run.problem(f"download {target.id}: {response.status_code}, expected {expected_status}")
            elif ranged:
                if len(response.content) != target.size // 2 + 1:
                    self.run.problem(f"range of {target.id}: {len(response.content)} bytes")
            elif hashlib.sha256(response.content).hexdigest() != target.sha256:
                self.run.problem(f"download {target.id}: bytes differ from what was uploaded")
        elif response.status_code == 404 and error_code(response) == "file_not_found":
            with user.lock:  # legitimate only if its owner deleted it meanwhile
                gone = target.id in user.deleting
            if gone:
                self.run.expected("404 file_not_found for a file deleted meanwhile")
            else:
                self.run.problem(f"download of a live file: {describe('download', response)}")
        else:
            self.run.problem(describe(f"download {target.id}", response))

    def delete(self) -> None:
        user = self.user
        target = self.mine.pop(self.rng.choice(list(self.mine)))
        permanent = self.rng.random() < 0.7
        with user.lock:
            user.deleting.add(target.id)
        suffix = "?permanent=true" if permanent else ""
        response, seconds = self.timed("delete", "DELETE", f"/api/files/{target.id}{suffix}")
        self.run.record("delete", seconds, response.status_code)
        if response.status_code == 204:
            with user.lock:
                del user.live[target.id]
                if not permanent:
                    user.trashed[target.id] = target
        else:
            # Not acknowledged: the file must still be there, with its bytes, at the end.
            self.run.problem(describe(f"delete {target.id}", response))


# -- set-up and final checks -----------------------------------------------------------------

def make_user(base: str, index: int) -> UserState:
    session = requests.Session()
    credentials = {"username": f"load{index}-{secrets.token_hex(3)}", "password": secrets.token_urlsafe(16)}
    response = session.post(base + "/api/register", json=credentials, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    response = session.post(base + "/api/login", json=credentials, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    response = session.post(base + "/api/tokens", json={"name": "load", "scope": "read-write"}, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    rng = random.Random(index)
    return UserState(credentials["username"], session.cookies, response.json()["secret"],
                     [payload(rng) for _ in range(DEDUP_PAYLOADS)])


def all_pages(session: requests.Session, url: str, key: str) -> list[dict]:
    rows, page = [], 1
    while True:
        response = session.get(f"{url}?limit=200&page={page}", timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body[key]
        if page >= body["pages"]:
            assert len(rows) == body["total"], (len(rows), body["total"])
            return rows
        page += 1


def verify_user(base: str, user: UserState) -> list[str]:
    problems = []
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {user.token}"
    listed = {f["id"]: f for f in all_pages(session, base + "/api/files", "files")}
    acked = {a.id: a for a in user.live.values()}
    for file_id in acked.keys() - listed.keys():
        problems.append(f"{user.name}: acknowledged file {file_id} ({acked[file_id].name}) is not listed")
    for file_id in listed.keys() - acked.keys():
        problems.append(f"{user.name}: listed file {file_id} ({listed[file_id]['name']}) was never acknowledged "
                        "or was deleted")
    for file_id in acked.keys() & listed.keys():
        a, f = acked[file_id], listed[file_id]
        if (f["name"], f["size"], f["sha256"]) != (a.name, a.size, a.sha256):
            problems.append(f"{user.name}: {file_id} listed as {f['name']} {f['size']} {f['sha256']}, "
                            f"acknowledged as {a.name} {a.size} {a.sha256}")
    trash = {i["id"] for i in all_pages(session, base + "/api/trash", "items")}
    if trash != set(user.trashed):
        problems.append(f"{user.name}: trash holds {sorted(trash ^ set(user.trashed))[:5]}... "
                        "differently from what was acknowledged")

    def check(a: Acked) -> str | None:
        with session.get(f"{base}/api/files/{a.id}", stream=True, timeout=TIMEOUT) as response:
            if response.status_code != 200:
                return f"{user.name}: final download of {a.id}: HTTP {response.status_code}"
            digest = hashlib.sha256()
            for chunk in response.iter_content(256 * 1024):
                digest.update(chunk)
        if digest.hexdigest() != a.sha256:
            return f"{user.name}: {a.id} ({a.name}) downloads with SHA-256 {digest.hexdigest()}, sent {a.sha256}"
        return None

    with ThreadPoolExecutor(8) as pool:
        problems += [p for p in pool.map(check, acked.values()) if p]
    session.close()
    return problems


def percentile(values: list[float], q: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summarise(run: Run, elapsed: float, users: list[UserState], verified: int) -> dict:
    ops = {}
    for op, values in sorted(run.samples.items()):
        ops[op] = {"count": len(values), "p50_ms": percentile(values, 50) * 1000,
                   "p99_ms": percentile(values, 99) * 1000, "max_ms": max(values) * 1000,
                   "statuses": {str(k): v for k, v in sorted(run.statuses[op].items())}}
    return {
        "clients": CLIENTS, "users": len(users), "seconds": elapsed, "nproc": os.cpu_count(),
        "requests": run.requests, "requests_per_s": run.requests / elapsed,
        "uploaded_mib": run.bytes_up / MIB, "downloaded_mib": run.bytes_down / MIB,
        "mib_per_s": (run.bytes_up + run.bytes_down) / MIB / elapsed,
        "upload_mib_per_s": run.bytes_up / MIB / elapsed, "download_mib_per_s": run.bytes_down / MIB / elapsed,
        "operations": ops, "expected_4xx": dict(run.expected_4xx),
        "files_verified_at_end": verified, "problems": run.problems[:50], "problem_count": len(run.problems),
    }


def render(summary: dict) -> str:
    lines = [f"load: {summary['clients']} clients, {summary['users']} users, {summary['seconds']:.1f} s, "
             f"nproc={summary['nproc']}: {summary['requests']} requests, {summary['requests_per_s']:.1f} req/s, "
             f"{summary['mib_per_s']:.1f} MiB/s (up {summary['upload_mib_per_s']:.1f}, "
             f"down {summary['download_mib_per_s']:.1f})",
             "| operation | count | p50 ms | p99 ms | max ms | statuses |", "|---|---:|---:|---:|---:|---|"]
    for op, s in summary["operations"].items():
        lines.append(f"| {op} | {s['count']} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['max_ms']:.1f} | "
                     + ", ".join(f"{k}: {v}" for k, v in s["statuses"].items()) + " |")
    lines.append(f"expected 4xx: {summary['expected_4xx'] or 'none'}; files verified at the end: "
                 f"{summary['files_verified_at_end']}; problems: {summary['problem_count']}")
    return "\n".join(lines)


def test_mixed_load_loses_and_corrupts_nothing(server, capsys):
    base = server.base_url
    users = [make_user(base, i) for i in range(USERS)]
    run = Run()
    start = time.monotonic()
    clients = [Client(i, base, users[i % USERS], run, start + SECONDS) for i in range(CLIENTS)]
    threads = [threading.Thread(target=c.loop, name=f"load-{c.index}") for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 300)
    elapsed = time.monotonic() - start
    assert not any(t.is_alive() for t in threads), "clients still running long after the deadline"

    final_problems = [p for user in users for p in verify_user(base, user)]
    verified = sum(len(u.live) for u in users)
    summary = summarise(run, elapsed, users, verified)
    summary["final_check_problems"] = final_problems[:50]
    os.makedirs(os.path.dirname(ARTIFACT), exist_ok=True)
    with open(ARTIFACT, "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=2)
        fh.write("\n")
    with capsys.disabled():
        print("\n" + render(summary))

    five_xx = {op: {k: v for k, v in s.items() if k >= 500} for op, s in run.statuses.items()}
    assert not any(five_xx.values()), f"5xx answers: {five_xx}\n" + "\n".join(run.problems[:20])
    assert not run.problems, f"{len(run.problems)} problems during the run:\n" + "\n".join(run.problems[:20])
    assert not final_problems, f"{len(final_problems)} problems at the end:\n" + "\n".join(final_problems[:20])
    assert run.statuses["upload"][201] > 0 and run.statuses["download"][200] > 0 and run.statuses["delete"][204] > 0
    assert verified > 0
