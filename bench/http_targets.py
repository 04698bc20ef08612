"""The issue's targets through HTTP: a live Gunicorn on the embedded SQLite default, with an
account of 110,000 items, one table of target, measured value and met / missed.

A benchmark, not a test: it prints numbers for this machine and exits non-zero only when the
service answers wrongly (an error status, a wrong total or page size, a lost file) or cannot run.

    python bench/http_targets.py                 # 110,000 items, about 4-6 minutes
    python bench/http_targets.py --quick         # 11,000 items, fewer repetitions: a smoke run
    python bench/http_targets.py --items 55000 --load-seconds 10

See bench/README.md ("http_targets.py") for what is measured and how to read the result.
"""
from __future__ import annotations

import argparse
import cProfile
import datetime
import hashlib
import io
import json
import os
import platform
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable
from urllib.parse import quote

import requests

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
for path in (BENCH, REPO):
    if path not in sys.path:
        sys.path.insert(0, path)

import compare  # noqa: E402  (bench/ is not a package)
import drive_queries  # noqa: E402
import transfer  # noqa: E402
from transfer import RESULTS, BenchError, cpu_seconds  # noqa: E402

from app import create_app  # noqa: E402
from app.db import close_database  # noqa: E402
from app.drive.names import name_key  # noqa: E402
from app.drive.repo import SORT_FIELDS  # noqa: E402
from config import load_config, server_settings  # noqa: E402
from tests import test_load  # noqa: E402  (the 32-client mixed load test's clients and checks)
from tests.live_server import GunicornServer  # noqa: E402

FULL_ITEMS, FULL_BULK, FULL_FOLDERS = 110_000, 10_000, 1_000
SMALL_FOLDER_FILES = 10
PAGE = 50  # the API's default page size
CLIENTS = 8
PROBE_SIZE = 4096
SEARCH_TERMS = [  # (q, what it stands for)
    ("quokka", "rare"), ("report", "common"), ("a", "1 character"), ("ph", "2 characters"),
    ("ß", "non-ASCII ß (casefolds to ss)"), ("İ", "non-ASCII İ (casefolds to i + dot)"),
    ("été", "non-ASCII été"), ("照片", "CJK, 2 characters"),
]
ETE_NAMES = 20  # files named "... été ..." (the generator's words have none)
TARGETS = {
    "listing_ms": 50.0, "listing_vs_small": 3.0, "search_ms": 200.0, "big_vs_fresh": 1.2,
    "download_vs_nginx": 0.12, "upload_files_s": 500.0, "load_req_s": 4 * 86, "load_p99_ms": 250.0,
    "restart_s": 2.0,
}


def percentile(values: list[float], pct: float) -> float:
    return drive_queries.percentile(values, pct)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def stats(samples: list[float]) -> dict:
    return {"p50": statistics.median(samples), "p95": percentile(samples, 95), "n": len(samples),
            "samples": samples}


# --------------------------------------------------------------------------- server

class Server(GunicornServer):
    """tests/live_server.py's Gunicorn server (``make run``'s command and environment, state in
    ``workdir``), whatever gunicorn.conf.py says about workers; the shell's Gunicorn settings
    pass through (transfer.PASS_THROUGH), to compare configurations."""

    def __init__(self, workdir: str):
        super().__init__(workdir)
        self.base = self.base_url
        self.env.update(server_settings(**{n: os.environ[n] for n in transfer.PASS_THROUGH if os.environ.get(n)}))

    def fail(self, message: str):
        raise BenchError(message)

    def app_settings(self) -> dict:
        """The settings the server's app loads from its environment, for the in-process app
        (which logs warnings only: its uploads would print a line each)."""
        return {**load_config(self.env), "LOG_LEVEL": "WARNING"}

    def timed_start(self) -> float:
        """Start; seconds to the first 200 on /api/status (polled every 0.1 s)."""
        start = time.perf_counter()
        self.start()
        return time.perf_counter() - start

    def workers(self) -> list[int]:
        return sorted(self.worker_pids()) if self.proc else []

    def cpu_s(self) -> float:
        """CPU time of the master and its workers (workers are not replaced during a run)."""
        return sum(cpu_seconds(pid) or 0.0 for pid in [self.proc.pid, *self.workers()])

    def describe(self) -> str:
        """Worker class, count and threads as Gunicorn logged them."""
        try:
            text = self.stderr_path.read_text(errors="replace")[:20000]
        except OSError:
            text = ""
        kind = next((line.split("Using worker:")[1].strip() for line in text.splitlines()
                     if "Using worker:" in line), "?")
        return f"{kind}, {len(self.workers())} worker process(es)"


# --------------------------------------------------------------------------- data

def sizes_for(items: int) -> dict[str, int]:
    scale = items / FULL_ITEMS
    return {"items": items, "bulk_files": max(20, round(FULL_BULK * scale)),
            "folders": max(4, round(FULL_FOLDERS * scale))}


def build_docs(sizes: dict[str, int], big_id: str, fresh_id: str) -> dict[str, Any]:
    """The big account: a folder of ``bulk_files`` files, a folder of 10, ~1,000 folders up to
    three levels deep holding the rest (a few "quokka" and "été" names, ~1% in the trash).
    The fresh account: one folder of 10 files. Built with bench/drive_queries.py's generator
    (app.drive.repo.new_item; fake blob ids: listing and search never read blobs)."""
    rng = random.Random(drive_queries.SEED)
    big = drive_queries.Generator(rng, big_id)
    bulk = big.folder(None, "Bulk import")
    for i in range(sizes["bulk_files"]):
        name, content_type = big.file_name()
        stem, ext = os.path.splitext(name)
        big.file(bulk["_id"], f"{stem} {i:05d}{ext}", content_type)
    small = big.folder(None, "Small folder")
    for _ in range(SMALL_FOLDER_FILES):
        big.file(small["_id"])
    folders = big.tree(sizes["folders"] - 2)
    rare = big.add_rare(drive_queries.RARE_HITS["alice"] + 1, folders)
    for i in range(ETE_NAMES):
        big.file(rng.choice(folders)["_id"], f"Vacances été {2015 + i % 10} n{i}.jpg", "image/jpeg")
    spread = big.spread_files(max(0, sizes["items"] - len(big.docs)), folders)
    big.trash(rng.sample(spread, int(len(spread) * drive_queries.TRASHED_SHARE)) + rare[-1:])

    fresh = drive_queries.Generator(rng, fresh_id)
    fresh_small = fresh.folder(None, "Small folder")
    for _ in range(SMALL_FOLDER_FILES):
        fresh.file(fresh_small["_id"])
    return {"docs": big.docs + fresh.docs, "big": big.docs, "bulk_id": str(bulk["_id"]),
            "small_id": str(small["_id"]), "fresh_small_id": str(fresh_small["_id"])}


def seed(server: Server, items: int) -> dict[str, Any]:
    """Register the two accounts and write every item through the app's own SQLite items
    repository in one transaction (drive_queries.seed_sqlite), in-process, before Gunicorn
    starts; then upload one 4 KiB probe file per account through the app, for downloads."""
    app = create_app(server.app_settings())
    if app.extensions["drive_db"].kind != "sqlite":
        raise BenchError(f"the default store is {app.extensions['drive_db'].kind}, not sqlite")
    accounts = {}
    for role in ("big", "fresh", *(f"other-{i}" for i in range(CLIENTS))):
        client = app.test_client()
        user_id = drive_queries.sign_in(client, f"{role}-{secrets.token_hex(3)}")
        response = client.post("/api/tokens", json={"name": "bench", "scope": "read-write"})
        if response.status_code != 201:
            raise BenchError(f"POST /api/tokens -> {response.status_code}")
        accounts[role] = {"id": user_id, "token": response.get_json()["secret"], "client": client}
    start = time.perf_counter()
    data = build_docs(sizes_for(items), accounts["big"]["id"], accounts["fresh"]["id"])
    generate_s = time.perf_counter() - start
    print(f"seeding {len(data['docs']):,} items (generated in {generate_s:.1f} s) ...", flush=True)
    timings = drive_queries.seed_sqlite(app.extensions["drive_db"], app.extensions["drive_services"].drive.items,
                                        data["docs"])
    probe = os.urandom(PROBE_SIZE)
    for role, account in accounts.items():
        client = account.pop("client")
        if role not in ("big", "fresh"):
            continue
        response = client.post(
            "/api/upload", headers={"Authorization": f"Bearer {account['token']}"},
            data={"file": (io.BytesIO(probe), "probe.bin", "application/octet-stream")},
            content_type="multipart/form-data")
        if response.status_code != 201:
            raise BenchError(f"probe upload -> {response.status_code}: {response.get_data(as_text=True)[:300]}")
        account["probe_id"] = response.get_json()["files"][0]["id"]
    close_database(app)
    data.update(accounts=accounts, generate_s=generate_s, seed_s=timings["insert_s"],
                big_items=len(data["big"]) + 1)
    print(f"seeded in {timings['insert_s']:.1f} s", flush=True)
    return data


# --------------------------------------------------------------------------- measuring

def session_for(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def timed(session: requests.Session, method: str, url: str, **kwargs) -> tuple[float, requests.Response]:
    start = time.perf_counter()
    response = session.request(method, url, timeout=(5, 120), **kwargs)
    _ = response.content  # the whole body is part of the request
    return (time.perf_counter() - start) * 1000, response


def repeat_get(session: requests.Session, url: str, n: int, check: Callable[[dict], None]) -> dict:
    """One untimed warm-up, then ``n`` timed GETs; p50/p95 of the wall time in ms."""
    samples = []
    for i in range(n + 1):
        ms, response = timed(session, "GET", url)
        if response.status_code != 200:
            raise BenchError(f"GET {url} -> HTTP {response.status_code}: {response.text[:300]}")
        if i == 0:
            check(response.json())
        else:
            samples.append(ms)
    return stats(samples)


def expect_page(total: int, length: int) -> Callable[[dict], None]:
    def check(body: dict) -> None:
        rows = body.get("items", body.get("files"))
        if body["total"] != total or len(rows) != length:
            raise BenchError(f"page of {len(rows)} rows, total {body['total']}: expected {length} of {total}")
    return check


def measure_listings(base: str, session: requests.Session, data: dict, n: int) -> list[dict]:
    """Every sort order of /api/folders/<id>/children, ascending and descending: first and last
    page of the big folder beside the 10-file folder; and /api/files (all files) likewise."""
    rows = []
    bulk_total = sum(1 for d in data["big"] if str(d.get("parent_id")) == data["bulk_id"])
    last_page = (bulk_total + PAGE - 1) // PAGE
    all_files = sum(1 for d in data["big"] if d["type"] == "file" and d["trashed_at"] is None) + 1  # + probe
    all_last = (all_files + PAGE - 1) // PAGE
    for sort in SORT_FIELDS:
        for order in ("asc", "desc"):
            q = f"limit={PAGE}&sort={sort}&order={order}"
            small_path = f"/api/folders/{data['small_id']}/children?{q}"
            small = repeat_get(session, base + small_path, n, expect_page(SMALL_FOLDER_FILES, SMALL_FOLDER_FILES))
            for label, page, length in (("first", 1, min(PAGE, bulk_total)),
                                        ("last", last_page, bulk_total - (last_page - 1) * PAGE)):
                big = repeat_get(session, f"{base}/api/folders/{data['bulk_id']}/children?{q}&page={page}", n,
                                 expect_page(bulk_total, length))
                rows.append({"kind": "folder", "sort": sort, "order": order, "page": label, "page_no": page,
                             "total": bulk_total, "big": big, "small": small, "small_path": small_path,
                             "path": f"/api/folders/{data['bulk_id']}/children?{q}&page={page}"})
            for label, page, length in (("first", 1, PAGE), ("last", all_last, all_files - (all_last - 1) * PAGE)):
                big = repeat_get(session, f"{base}/api/files?{q}&page={page}", n, expect_page(all_files, length))
                rows.append({"kind": "all files", "sort": sort, "order": order, "page": label, "page_no": page,
                             "total": all_files, "big": big, "path": f"/api/files?{q}&page={page}"})
        print(f"  listings sorted by {sort}: done", flush=True)
    return rows


def measure_searches(base: str, session: requests.Session, data: dict, n: int) -> list[dict]:
    rows = []
    names = [d["name_key"] for d in data["big"] if d["trashed_at"] is None] + [name_key("probe.bin")]
    for term, label in SEARCH_TERMS:
        key = name_key(term)
        total = sum(1 for k in names if key in k)
        path = f"/api/search?q={quote(term)}&limit={PAGE}"
        result = repeat_get(session, base + path, n, expect_page(total, min(PAGE, total)))
        rows.append({"term": term, "label": label, "hits": total, "path": path, "http": result})
        print(f"  search {term!r}: {total:,} hits, p50 {result['p50']:.1f} ms", flush=True)
    return rows


def measure_big_vs_fresh(base: str, data: dict, n: int) -> list[dict]:
    """The same small request in the big account and in the fresh one, alternating."""
    accounts = data["accounts"]
    # One connection for both accounts (the token goes with each request), so both are
    # answered by the same worker process: with several workers, two connections may not be.
    session = requests.Session()
    auth = {role: {"Authorization": f"Bearer {accounts[role]['token']}"} for role in ("big", "fresh")}
    small_folder = {"big": data["small_id"], "fresh": data["fresh_small_id"]}
    body = os.urandom(PROBE_SIZE)
    ops = {
        "download 4 KiB": lambda role, i: ("GET", f"{base}/api/files/{accounts[role]['probe_id']}", {}, 200),
        "upload 4 KiB (to the root)": lambda role, i: (
            "POST", f"{base}/api/upload", {"files": {"file": (f"cost-{i}-{secrets.token_hex(3)}.bin", body)}}, 201),
        "list a 10-item folder": lambda role, i: (
            "GET", f"{base}/api/folders/{small_folder[role]}/children?limit={PAGE}", {}, 200),
    }
    rows = []
    for label, op in ops.items():
        samples: dict[str, list[float]] = {"big": [], "fresh": []}
        for i in range(n + 1):
            for role in (("big", "fresh") if i % 2 else ("fresh", "big")):
                method, url, kwargs, status = op(role, i)
                ms, response = timed(session, method, url, headers=auth[role], **kwargs)
                if response.status_code != status:
                    raise BenchError(f"{label} ({role}) -> HTTP {response.status_code}: {response.text[:300]}")
                if i:  # the first round is a warm-up
                    samples[role].append(ms)
        big, fresh = stats(samples["big"]), stats(samples["fresh"])
        rows.append({"op": label, "big": big, "fresh": fresh, "ratio": big["p50"] / fresh["p50"]})
        print(f"  {label}: big {big['p50']:.1f} ms, fresh {fresh['p50']:.1f} ms", flush=True)
    session.close()
    return rows


def parallel(items: list, work: Callable[[requests.Session, Any], None], tokens: list[str]) -> float:
    """``work(session, item)`` for every item on CLIENTS threads, each with its own Session
    (thread i authenticated with ``tokens[i % len(tokens)]``, none if empty); wall seconds."""
    local = threading.local()
    sessions = []
    guard = threading.Lock()

    def one(item):
        if not hasattr(local, "session"):
            with guard:
                local.session = session_for(tokens[len(sessions) % len(tokens)]) if tokens else requests.Session()
                sessions.append(local.session)
        work(local.session, item)

    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(one, items))
    elapsed = time.perf_counter() - start
    for session in sessions:
        session.close()
    return elapsed


def make_folder(base: str, session: requests.Session, name: str) -> str:
    response = session.post(base + "/api/folders", json={"name": name})
    if response.status_code != 201:
        raise BenchError(f"POST /api/folders -> HTTP {response.status_code}: {response.text[:300]}")
    return response.json()["id"]


def upload_all(base: str, tokens: list[str], folder_id: str, files: list[tuple[str, bytes]]) -> tuple[float, list[dict]]:
    """Upload every (name, bytes) into the folder, CLIENTS at a time; wall seconds and the records."""
    records = []

    def work(session, item):
        name, payload = item
        response = session.post(f"{base}/api/upload?folder_id={folder_id}", timeout=(5, 120),
                                files={"file": (name, payload, "application/octet-stream")})
        if response.status_code != 201:
            raise BenchError(f"upload {name} -> HTTP {response.status_code}: {response.text[:300]}")
        [record] = response.json()["files"]
        if record["sha256"] != hashlib.sha256(payload).hexdigest():
            raise BenchError(f"upload {name}: stored SHA-256 {record['sha256']}")
        records.append(record)

    seconds = parallel(files, work, tokens)
    return seconds, records


def fsync_reference(directory: str, files: int) -> float:
    """The disk's ceiling for small durable writes: files/s of ``files`` x 4 KiB written,
    fsynced and renamed, with the folder fsynced, CLIENTS threads (what one upload does to
    its bytes, without the database commit)."""
    os.makedirs(directory, exist_ok=True)
    dir_fd = os.open(directory, os.O_RDONLY)

    def one(i):
        tmp, final = os.path.join(directory, f".{i}.tmp"), os.path.join(directory, str(i))
        with open(tmp, "wb") as fh:
            fh.write(os.urandom(PROBE_SIZE))
            fh.flush()
            os.fsync(fh.fileno())
        os.rename(tmp, final)
        os.fsync(dir_fd)

    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(one, range(files)))
    elapsed = time.perf_counter() - start
    os.close(dir_fd)
    shutil.rmtree(directory)
    return files / elapsed


def measure_throughput(base: str, server: Server, data: dict, files: int, repeat: int, workdir: str) -> dict:
    """Uploads of ``files`` x 4 KiB (8 clients, ``repeat`` runs, each into a new folder); then
    ``files`` x 64 KiB uploaded once and downloaded from the API and from nginx, alternating,
    ``repeat`` times each, with curl --parallel (8) and with 8 requests.Session threads."""
    token = data["accounts"]["big"]["token"]
    session = session_for(token)
    result: dict[str, Any] = {"upload_4k": [], "upload_4k_cpu_ms": [], "fsync_4k": [], "upload_4k_accounts": []}
    for r in range(repeat):
        result["fsync_4k"].append(fsync_reference(os.path.join(workdir, "fsync-reference"), files))
        folder = make_folder(base, session, f"bench-4k-{r}-{secrets.token_hex(3)}")
        batch = [(f"small-{i:05d}.bin", os.urandom(PROBE_SIZE)) for i in range(files)]
        cpu0 = server.cpu_s()
        seconds, _ = upload_all(base, [token], folder, batch)
        result["upload_4k"].append(files / seconds)
        result["upload_4k_cpu_ms"].append((server.cpu_s() - cpu0) * 1000 / files)
        # The same, each client in an account of its own (to the root): no per-account lock shared.
        others = [a["token"] for role, a in data["accounts"].items() if role.startswith("other-")]
        batch = [(f"small-{r}-{i:05d}.bin", os.urandom(PROBE_SIZE)) for i in range(files)]
        spread, _ = upload_all(base, others, "root", batch)
        result["upload_4k_accounts"].append(files / spread)
        print(f"  upload {files} x 4 KiB run {r + 1}: {files / seconds:.0f} files/s one account, "
              f"{files / spread:.0f} files/s {len(others)} accounts", flush=True)

    folder = make_folder(base, session, f"bench-64k-{secrets.token_hex(3)}")
    batch = [(f"medium-{i:05d}.bin", os.urandom(compare.SMALL_SIZE)) for i in range(files)]
    seconds, records = upload_all(base, [token], folder, batch)
    result["upload_64k"] = files / seconds
    uploads = server.env["UPLOAD_FOLDER"]
    paths = compare.blob_paths(uploads, compare.SMALL_SIZE)
    if len(paths) != files:
        raise BenchError(f"{len(paths)} blobs of 64 KiB on disk, expected {files}")
    nginx = compare.Nginx(workdir, uploads)
    nginx.start()
    try:
        api_urls = [f"{base}/api/files/{r['id']}" for r in records]
        nginx_urls = [f"{nginx.base}/{p}" for p in paths]
        auth = {"Authorization": f"Bearer {token}"}

        def get_64k(session, url):
            response = session.get(url, timeout=(5, 120))
            if response.status_code != 200 or len(response.content) != compare.SMALL_SIZE:
                raise BenchError(f"GET {url} -> HTTP {response.status_code}, {len(response.content)} bytes")

        runs: dict[str, list[float]] = {"curl_api": [], "curl_nginx": [], "requests_api": [], "requests_nginx": []}
        cpu_ms = []
        for r in range(repeat):
            cpu0 = server.cpu_s()
            runs["curl_api"].append(files / compare.curl_parallel(api_urls, auth, workdir))
            cpu_ms.append((server.cpu_s() - cpu0) * 1000 / files)
            runs["curl_nginx"].append(files / compare.curl_parallel(nginx_urls, {}, workdir))
            runs["requests_api"].append(files / parallel(api_urls, get_64k, [token]))
            runs["requests_nginx"].append(files / parallel(nginx_urls, get_64k, []))
            print(f"  download {files} x 64 KiB run {r + 1}: API {runs['curl_api'][-1]:.0f}, "
                  f"nginx {runs['curl_nginx'][-1]:.0f} files/s (curl)", flush=True)
        result.update(downloads=runs, download_cpu_ms=cpu_ms, nginx_version=nginx.version())
    finally:
        nginx.stop()
        session.close()
    return result


def measure_load(base: str, seconds: float, clients: int) -> dict:
    """tests/test_load.py's mixed clients (4 users, half cookie / half token, 1 B to 4 MiB),
    for ``seconds``; then every user's listing, trash and bytes checked against what was acknowledged."""
    users = [test_load.make_user(base, i) for i in range(max(1, min(4, clients)))]
    run = test_load.Run()
    start = time.monotonic()
    workers = [test_load.Client(i, base, users[i % len(users)], run, start + seconds) for i in range(clients)]
    threads = [threading.Thread(target=c.loop, name=f"load-{c.index}") for c in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 300)
    elapsed = time.monotonic() - start
    final = [p for user in users for p in test_load.verify_user(base, user)]
    everything = [s for values in run.samples.values() for s in values]
    five_xx = sum(v for op in run.statuses.values() for k, v in op.items() if k >= 500)
    ops = {op: {"count": len(v), "p50_ms": percentile(v, 50) * 1000, "p99_ms": percentile(v, 99) * 1000}
           for op, v in sorted(run.samples.items())}
    return {"clients": clients, "seconds": elapsed, "requests": run.requests, "req_s": run.requests / elapsed,
            "p50_ms": percentile(everything, 50) * 1000, "p99_ms": percentile(everything, 99) * 1000,
            "operations": ops, "five_xx": five_xx, "problems": len(run.problems), "problem_list": run.problems[:20],
            "lost": len(final), "lost_list": final[:20], "verified": sum(len(u.live) for u in users),
            "expected_4xx": dict(run.expected_4xx)}


def measure_restarts(server: Server, data: dict, times: int) -> list[dict]:
    """Stop, start: seconds from spawning Gunicorn to the first 200 on /api/status (polled every
    0.1 s, so up to 0.1 s late), and to the first page of the big folder asked right after."""
    headers = {"Authorization": f"Bearer {data['accounts']['big']['token']}"}
    path = f"/api/folders/{data['bulk_id']}/children?limit={PAGE}"
    rows = []
    for _ in range(times):
        server.stop()
        start = time.perf_counter()
        server.start()
        status_s = time.perf_counter() - start
        response = requests.get(server.base + path, headers=headers, timeout=30)
        if response.status_code != 200:
            raise BenchError(f"first listing after a restart -> HTTP {response.status_code}")
        listing_s = time.perf_counter() - start
        rows.append({"status_s": status_s, "listing_s": listing_s})
        print(f"  restart: /api/status {status_s:.2f} s, listing {listing_s:.2f} s", flush=True)
    return rows


def startup_split(server: Server) -> dict:
    """Where a start goes, timed in fresh interpreters with the server's environment: the
    interpreter with the app's imports (``import app``), the same plus ``create_app`` on the
    existing data (``import wsgi``), and Gunicorn's own import; the rest of a restart is
    Gunicorn forking and booting its workers."""
    out = {}
    for label, code in (("python_s", "pass"), ("import_app_s", "import app"), ("import_wsgi_s", "import wsgi"),
                        ("import_gunicorn_s", "import gunicorn.app.wsgiapp")):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=server.env, capture_output=True, text=True)
        out[label] = time.perf_counter() - start
        if proc.returncode != 0:
            raise BenchError(f"python -c {code!r} failed: {proc.stderr[-500:]}")
    return out


# --------------------------------------------------------------------------- in-process split

def statements_per_request(app, call: Callable[[int], Any], count: int) -> dict[str, float]:
    """SQL statements per request (the test client runs the app in this thread, on this
    thread's connection): all of them, and the write transactions (``BEGIN IMMEDIATE``: each
    takes the database's one write lock, shared by every worker process; each COMMIT that
    changed a page is an fsync of the WAL at synchronous=FULL)."""
    seen: list[str] = []
    connection = app.extensions["drive_db"].connection()
    connection.set_trace_callback(seen.append)
    try:
        for i in range(count):
            call(10_000 + i)
    finally:
        connection.set_trace_callback(None)
    writes = sum(1 for sql in seen if sql.lstrip().upper().startswith("BEGIN"))
    return {"statements": len(seen) / count, "write_transactions": writes / count}


def in_process(server: Server, data: dict, listings: list[dict], searches: list[dict], n: int,
               profile_paths: list[str], files: int) -> dict:
    """With Gunicorn stopped, the same app on the same files through Flask's test client: the
    app's own time for each listing and search (HTTP minus this = Gunicorn, sockets, client),
    its CPU per 64 KiB download and 4 KiB upload, and cProfile of the given paths."""
    app = create_app(server.app_settings())
    client = app.test_client()
    headers = {"Authorization": f"Bearer {data['accounts']['big']['token']}"}
    out: dict[str, Any] = {"paths": {}, "profiles": {}}

    def app_ms(path: str) -> float:
        client.get(path, headers=headers)
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            response = client.get(path, headers=headers)
            samples.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise BenchError(f"in-process GET {path} -> {response.status_code}")
        return statistics.median(samples)

    for row in listings:
        if row["kind"] == "folder" or row["big"]["p50"] > TARGETS["listing_ms"]:
            out["paths"][row["path"]] = app_ms(row["path"])
        if row["kind"] == "folder" and row["small_path"] not in out["paths"]:
            out["paths"][row["small_path"]] = app_ms(row["small_path"])
    for row in searches:
        out["paths"][row["path"]] = app_ms(row["path"])

    accounts = data["accounts"]
    for label, path_of in (("download 4 KiB", lambda role: f"/api/files/{accounts[role]['probe_id']}"),
                           ("list a 10-item folder", lambda role: f"/api/folders/"
                            f"{data['small_id'] if role == 'big' else data['fresh_small_id']}/children?limit={PAGE}")):
        samples: dict[str, list[float]] = {"big": [], "fresh": []}
        for i in range(2 * n + 1):
            for role in (("big", "fresh") if i % 2 else ("fresh", "big")):
                start = time.perf_counter()
                client.get(path_of(role), headers={"Authorization": f"Bearer {accounts[role]['token']}"}).get_data()
                if i:
                    samples[role].append((time.perf_counter() - start) * 1000)
        out["big_vs_fresh"] = out.get("big_vs_fresh", {})
        out["big_vs_fresh"][label] = statistics.median(samples["big"]) / statistics.median(samples["fresh"])

    body = os.urandom(PROBE_SIZE)
    probe = f"/api/files/{data['accounts']['big']['probe_id']}"
    count = max(50, files // 5)
    for label, call in (
            ("download_4k", lambda i: client.get(probe, headers=headers).get_data()),
            ("upload_4k", lambda i: client.post(f"/api/upload?folder_id={data['small_id']}", headers=headers,
                                                data={"file": (io.BytesIO(body), f"inproc-{i}.bin")},
                                                content_type="multipart/form-data"))):
        cpu0, start = time.process_time(), time.perf_counter()
        for i in range(count):
            call(i)
        out[f"{label}_cpu_ms"] = (time.process_time() - cpu0) * 1000 / count
        out[f"{label}_wall_ms"] = (time.perf_counter() - start) * 1000 / count
        out[f"{label}_sql"] = statements_per_request(app, call, 20)
    for path in profile_paths:
        profiler = cProfile.Profile()
        profiler.enable()
        if path.startswith("upload"):
            for i in range(100):
                client.post(f"/api/upload?folder_id={data['small_id']}", headers=headers,
                            data={"file": (io.BytesIO(body), f"prof-{i}.bin")},
                            content_type="multipart/form-data")
        elif path.startswith("download"):
            for _ in range(100):
                client.get(probe, headers=headers).get_data()
        else:
            client.get(path, headers=headers)
        profiler.disable()
        out["profiles"][path] = {"tottime": drive_queries.top_entries(profiler, "tottime", 12),
                                 "cumulative": drive_queries.top_entries(profiler, "cumulative", 12)}
    close_database(app)
    return out


# --------------------------------------------------------------------------- report

def met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def summarise(r: dict) -> list[dict]:
    """One row per target: what, measured, target, met."""
    rows = []
    folder = [x for x in r["listings"] if x["kind"] == "folder"]
    worst = max(folder, key=lambda x: x["big"]["p50"])
    worst_ratio = max(folder, key=lambda x: x["big"]["p50"] / x["small"]["p50"])
    rows.append({"target": f"1. folder of {folder[0]['total']:,} files, first and last page, "
                           f"{len(folder) // 2} sort orders: slowest p50",
                 "measured": f"{worst['big']['p50']:.1f} ms ({worst['sort']} {worst['order']}, {worst['page']} page; "
                             f"p95 {worst['big']['p95']:.1f})",
                 "goal": f"< {TARGETS['listing_ms']:.0f} ms", "ok": all(x["big"]["p50"] < TARGETS["listing_ms"]
                                                                        for x in folder)})
    rows.append({"target": "1. same, over the 10-file folder (same sort): highest ratio of p50",
                 "measured": f"{worst_ratio['big']['p50'] / worst_ratio['small']['p50']:.2f}x "
                             f"({worst_ratio['sort']} {worst_ratio['order']}, {worst_ratio['page']} page: "
                             f"{worst_ratio['big']['p50']:.1f} / {worst_ratio['small']['p50']:.1f} ms)",
                 "goal": f"<= {TARGETS['listing_vs_small']:.0f}x",
                 "ok": all(x["big"]["p50"] <= TARGETS["listing_vs_small"] * x["small"]["p50"] for x in folder)})
    slow = max(r["searches"], key=lambda x: x["http"]["p50"])
    rows.append({"target": f"2. search {r['sizes']['big_items']:,} items, {len(r['searches'])} terms, first page "
                           "with total: slowest p50",
                 "measured": f"{slow['http']['p50']:.1f} ms (q={slow['term']}, {slow['hits']:,} hits; "
                             f"p95 {slow['http']['p95']:.1f})",
                 "goal": f"< {TARGETS['search_ms']:.0f} ms",
                 "ok": all(x["http"]["p50"] < TARGETS["search_ms"] for x in r["searches"])})
    for x in r["big_vs_fresh"]:
        rows.append({"target": f"3. {x['op']}: {r['sizes']['big_items']:,}-item account / fresh account (p50)",
                     "measured": f"{x['ratio']:.2f} ({x['big']['p50']:.1f} / {x['fresh']['p50']:.1f} ms)",
                     "goal": f"<= {TARGETS['big_vs_fresh']}", "ok": x["ratio"] <= TARGETS["big_vs_fresh"]})
    t = r["throughput"]
    d = t["downloads"]
    api, ngx = statistics.median(d["curl_api"]), statistics.median(d["curl_nginx"])
    rows.append({"target": f"4. {r['files']:,} x 64 KiB downloads, {CLIENTS} parallel (curl --parallel): API / nginx",
                 "measured": f"{api / ngx:.3f} ({api:,.0f} / {ngx:,.0f} files/s)",
                 "goal": f">= {TARGETS['download_vs_nginx']}", "ok": api / ngx >= TARGETS["download_vs_nginx"]})
    api_r, ngx_r = statistics.median(d["requests_api"]), statistics.median(d["requests_nginx"])
    rows.append({"target": f"4. same, {CLIENTS} Python clients (requests.Session each): API / nginx",
                 "measured": f"{api_r / ngx_r:.3f} ({api_r:,.0f} / {ngx_r:,.0f} files/s)",
                 "goal": "(client-bound; for reference)", "ok": None})
    up = statistics.median(t["upload_4k"])
    rows.append({"target": f"4. {r['files']:,} x 4 KiB uploads, {CLIENTS} parallel",
                 "measured": f"{up:,.0f} files/s (runs {', '.join(f'{v:.0f}' for v in t['upload_4k'])})",
                 "goal": f">= {TARGETS['upload_files_s']:.0f} files/s", "ok": up >= TARGETS["upload_files_s"]})
    load = r["load"]
    rows.append({"target": f"5. mixed load, {load['clients']} clients, {load['seconds']:.0f} s: throughput",
                 "measured": f"{load['req_s']:.0f} req/s ({load['requests']:,} requests)",
                 "goal": f">= {TARGETS['load_req_s']} req/s", "ok": load["req_s"] >= TARGETS["load_req_s"]})
    rows.append({"target": "5. same: p99 of all requests",
                 "measured": f"{load['p99_ms']:.0f} ms (p50 {load['p50_ms']:.0f})",
                 "goal": f"< {TARGETS['load_p99_ms']:.0f} ms", "ok": load["p99_ms"] < TARGETS["load_p99_ms"]})
    rows.append({"target": "5. same: errors (5xx, unexpected status, connection) / lost or wrong files",
                 "measured": f"{load['five_xx'] + load['problems']} / {load['lost']} "
                             f"({load['verified']:,} files verified)",
                 "goal": "0 / 0", "ok": load["five_xx"] + load["problems"] == 0 and load["lost"] == 0})
    status = statistics.median(x["status_s"] for x in r["restarts"])
    listing = statistics.median(x["listing_s"] for x in r["restarts"])
    rows.append({"target": f"6. restart with {r['sizes']['big_items']:,} items: spawn to first 200 on /api/status "
                           f"(median of {len(r['restarts'])})",
                 "measured": f"{status:.2f} s", "goal": f"< {TARGETS['restart_s']:.0f} s",
                 "ok": status < TARGETS["restart_s"]})
    rows.append({"target": "6. same: spawn to first 200 on the big folder's first page",
                 "measured": f"{listing:.2f} s", "goal": f"< {TARGETS['restart_s']:.0f} s",
                 "ok": listing < TARGETS["restart_s"]})
    return rows


def render(r: dict) -> str:
    lines = [
        f"### HTTP targets: {r['sizes']['big_items']:,}-item account, Gunicorn on the embedded SQLite store"
        + (f" ({r['label']})" if r.get("label") else ""),
        "",
        f"Cores: {r['nproc']} (nproc) · load average (uptime) at start {r['loadavg_start']}, "
        f"end {r['loadavg_end']} · Python {r['python']} · Gunicorn {r['gunicorn']} · commit {r['git_commit'][:7]}"
        f"{' (+ uncommitted changes)' if r['dirty'] else ''}",
        f"Command: `{r['command']}` · p50/p95 over {r['n']} requests after a warm-up, one client, keep-alive",
        "",
        "| target | measured | goal | result |",
        "|---|---|---|---|",
    ]
    for row in r["summary"]:
        result = "-" if row["ok"] is None else met(row["ok"])
        lines.append(f"| {row['target']} | {row['measured']} | {row['goal']} | {result} |")
    lines += ["", "Load average at the start of each phase: " +
              "; ".join(f"{k} {v}" for k, v in r["phase_load"].items()), ""]
    split = r.get("in_process", {}).get("paths", {})
    lines += ["| listing (limit 50) | page | big folder p50 / p95 ms | 10-file folder p50 ms | ratio | "
              "in-process p50 ms, big / 10-file | in-process ratio |", "|---|---|---:|---:|---:|---:|---:|"]
    for x in r["listings"]:
        if x["kind"] != "folder":
            continue
        inproc, inproc_small = split.get(x["path"]), split.get(x.get("small_path"))
        both = inproc is not None and inproc_small is not None
        lines.append(f"| {x['sort']} {x['order']} | {x['page']} ({x['page_no']}) | {x['big']['p50']:.1f} / "
                     f"{x['big']['p95']:.1f} | {x['small']['p50']:.1f} | {x['big']['p50'] / x['small']['p50']:.2f} | "
                     + (f"{inproc:.1f} / {inproc_small:.1f} | {inproc / inproc_small:.2f} |" if both else "- | - |"))
    all_total = next(x["total"] for x in r["listings"] if x["kind"] == "all files")
    lines += ["", f"| GET /api/files (all {all_total:,} files; not a target) | page | p50 / p95 ms |",
              "|---|---|---:|"]
    for x in r["listings"]:
        if x["kind"] == "all files":
            lines.append(f"| {x['sort']} {x['order']} | {x['page']} ({x['page_no']}) | "
                         f"{x['big']['p50']:.1f} / {x['big']['p95']:.1f} |")
    lines += ["", "| search (first page of 50, with total) | hits | p50 / p95 ms | in-process p50 ms |",
              "|---|---:|---:|---:|"]
    for x in r["searches"]:
        inproc = split.get(x["path"])
        lines.append(f"| q={x['term']} ({x['label']}) | {x['hits']:,} | {x['http']['p50']:.1f} / "
                     f"{x['http']['p95']:.1f} | {'-' if inproc is None else f'{inproc:.1f}'} |")
    lines += ["", "| one client, keep-alive | big account p50 / p95 ms | fresh account p50 / p95 ms | ratio | "
              "in-process ratio |", "|---|---:|---:|---:|---:|"]
    in_ratio = r.get("in_process", {}).get("big_vs_fresh", {})
    for x in r["big_vs_fresh"]:
        inproc = in_ratio.get(x["op"])
        lines.append(f"| {x['op']} | {x['big']['p50']:.1f} / {x['big']['p95']:.1f} | "
                     f"{x['fresh']['p50']:.1f} / {x['fresh']['p95']:.1f} | {x['ratio']:.2f} | "
                     f"{'-' if inproc is None else f'{inproc:.2f}'} |")
    t, load = r["throughput"], r["load"]
    d = t["downloads"]
    lines += ["", f"- throughput runs (files/s): 4 KiB uploads {', '.join(f'{v:.0f}' for v in t['upload_4k'])} "
              f"(disk reference, 4 KiB write + fsync + rename + folder fsync, {CLIENTS} threads: "
              f"{', '.join(f'{v:.0f}' for v in t['fsync_4k'])}; the same uploads by {CLIENTS} clients of "
              f"{CLIENTS} different accounts: {', '.join(f'{v:.0f}' for v in t['upload_4k_accounts'])}); "
              f"64 KiB uploads {t['upload_64k']:.0f} (once); 64 KiB downloads, curl: API "
              f"{', '.join(f'{v:.0f}' for v in d['curl_api'])}, nginx {', '.join(f'{v:.0f}' for v in d['curl_nginx'])};"
              f" Python clients: API {', '.join(f'{v:.0f}' for v in d['requests_api'])}, nginx "
              f"{', '.join(f'{v:.0f}' for v in d['requests_nginx'])} (nginx {t['nginx_version']})",
              f"- server CPU (master + workers) per request: 4 KiB upload "
              f"{statistics.median(t['upload_4k_cpu_ms']):.2f} ms, 64 KiB download "
              f"{statistics.median(t['download_cpu_ms']):.2f} ms"]
    ip = r.get("in_process")
    if ip:
        lines.append(f"- the app alone (Flask test client, in-process, same data): 4 KiB download "
                     f"{ip['download_4k_cpu_ms']:.2f} ms CPU ({ip['download_4k_wall_ms']:.2f} wall), "
                     f"{ip['download_4k_sql']['statements']:.0f} SQL statements, "
                     f"{ip['download_4k_sql']['write_transactions']:.0f} write transactions; 4 KiB upload "
                     f"{ip['upload_4k_cpu_ms']:.2f} ms CPU ({ip['upload_4k_wall_ms']:.2f} wall), "
                     f"{ip['upload_4k_sql']['statements']:.0f} SQL statements, "
                     f"{ip['upload_4k_sql']['write_transactions']:.0f} write transactions (BEGIN IMMEDIATE) per request")
    lines.append("- mixed load per operation: " + "; ".join(
        f"{op} {s['count']} (p50 {s['p50_ms']:.0f}, p99 {s['p99_ms']:.0f} ms)" for op, s in load["operations"].items())
        + f"; expected 4xx {load['expected_4xx'] or 'none'}")
    lines.append("- restarts (spawn to /api/status, to listing): " + "; ".join(
        f"{x['status_s']:.2f} s, {x['listing_s']:.2f} s" for x in r["restarts"]))
    sp = r["startup_split"]
    lines.append(f"- start-up split (fresh interpreters, same environment): python {sp['python_s']:.2f} s, "
                 f"+ the app's imports {sp['import_app_s']:.2f} s, + create_app on the data (import wsgi) "
                 f"{sp['import_wsgi_s']:.2f} s; import gunicorn {sp['import_gunicorn_s']:.2f} s")
    lines.append(f"- server: {r['server']}; seeding: {r['sizes']['seed_items']:,} items in {r['sizes']['seed_s']:.1f} s "
                 f"(generated in {r['sizes']['generate_s']:.1f} s); whole run {r['wall_s']:.0f} s")
    lines.append("- not measured here: the 1 GiB upload/download and RSS targets (bench/compare.py)")
    return "\n".join(lines)


def render_profiles(r: dict) -> str:
    parts = []
    for path, tables in r.get("in_process", {}).get("profiles", {}).items():
        parts.append(f"--- cProfile, in-process: {path}\ntop 12 by own time:\n{tables['tottime']}\n"
                     f"top 12 by cumulative time:\n{tables['cumulative']}")
    return "\n\n".join(parts)


# --------------------------------------------------------------------------- main

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=None, help=f"items in the big account (default {FULL_ITEMS:,})")
    parser.add_argument("--repeat", type=int, default=None, help="timed requests per latency figure (default 15)")
    parser.add_argument("--files", type=int, default=None, help="files per throughput run (default 1000)")
    parser.add_argument("--runs", type=int, default=None, help="throughput runs, median kept (default 3)")
    parser.add_argument("--load-seconds", type=float, default=None, help="mixed load duration (default 20)")
    parser.add_argument("--load-clients", type=int, default=32)
    parser.add_argument("--restarts", type=int, default=None, help="restarts timed (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help="11,000 items, 5 requests per figure, 200 files, 1 run, 8 s of load, 1 restart")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="skip cProfile of missed targets (the in-process timing split still runs)")
    parser.add_argument("--label", default="", help="a note for the table's heading (e.g. which worker class)")
    parser.add_argument("--output", default=os.path.join(RESULTS, "http_targets.json"))
    args = parser.parse_args(argv)
    quick = {"items": 11_000, "repeat": 5, "files": 200, "runs": 1, "load_seconds": 8.0, "restarts": 1}
    full = {"items": FULL_ITEMS, "repeat": 15, "files": 1000, "runs": 3, "load_seconds": 20.0, "restarts": 3}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.items < 1000 or args.repeat < 1 or args.files < 1 or args.runs < 1 or args.restarts < 1:
        parser.error("--items >= 1000; --repeat, --files, --runs, --restarts >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, transfer._sigterm_to_exit)
    os.makedirs(RESULTS, exist_ok=True)
    started = time.perf_counter()
    command = "python bench/http_targets.py " + " ".join(argv if argv is not None else sys.argv[1:])
    r: dict[str, Any] = {
        "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command.strip(), "nproc": os.cpu_count(), "python": platform.python_version(),
        "gunicorn": __import__("gunicorn").__version__, "loadavg_start": loadavg(), "n": args.repeat,
        "files": args.files, "phase_load": {}, "label": args.label,
        "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                                     text=True).stdout.strip() or "?",
        "dirty": bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                                     capture_output=True, text=True).stdout.strip()),
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
    }
    print(f"nproc {r['nproc']}; {r['uptime']}", flush=True)
    workdir = tempfile.mkdtemp(prefix="http-targets-", dir=RESULTS)
    server = Server(workdir)
    try:
        r["phase_load"]["seed"] = loadavg()
        data = seed(server, args.items)
        r["sizes"] = {"big_items": data["big_items"], "seed_items": len(data["docs"]), "seed_s": data["seed_s"],
                      "generate_s": data["generate_s"]}
        first_start = server.timed_start()
        r["server"] = server.describe()
        print(f"gunicorn up in {first_start:.2f} s: {r['server']}", flush=True)
        base = server.base
        session = session_for(data["accounts"]["big"]["token"])

        print("listings ...", flush=True)
        r["phase_load"]["listings"] = loadavg()
        r["listings"] = measure_listings(base, session, data, args.repeat)
        print("search ...", flush=True)
        r["phase_load"]["search"] = loadavg()
        r["searches"] = measure_searches(base, session, data, args.repeat)
        session.close()
        print("big account vs fresh account ...", flush=True)
        r["phase_load"]["per-request"] = loadavg()
        r["big_vs_fresh"] = measure_big_vs_fresh(base, data, 3 * args.repeat)
        print("throughput ...", flush=True)
        r["phase_load"]["throughput"] = loadavg()
        r["throughput"] = measure_throughput(base, server, data, args.files, args.runs, workdir)
        print(f"mixed load, {args.load_clients} clients for {args.load_seconds:.0f} s ...", flush=True)
        r["phase_load"]["load"] = loadavg()
        r["load"] = measure_load(base, args.load_seconds, args.load_clients)
        print(f"  {r['load']['req_s']:.0f} req/s, p99 {r['load']['p99_ms']:.0f} ms", flush=True)
        print("restarts ...", flush=True)
        r["phase_load"]["restart"] = loadavg()
        r["restarts"] = measure_restarts(server, data, args.restarts)
        server.stop()
        r["startup_split"] = startup_split(server)

        r["summary"] = summarise(r)
        profile_paths = []
        if args.profile:
            missed = {row["target"][:2] for row in r["summary"] if row["ok"] is False}
            if "1." in missed:
                profile_paths.append(max((x for x in r["listings"] if x["kind"] == "folder"),
                                         key=lambda x: x["big"]["p50"])["path"])
            if "2." in missed:
                profile_paths.append(max(r["searches"], key=lambda x: x["http"]["p50"])["path"])
            if "4." in missed or "5." in missed:
                profile_paths += ["download 4 KiB x 100", "upload 4 KiB x 100"]
        print("in-process timing split ...", flush=True)
        r["phase_load"]["in-process"] = loadavg()
        r["in_process"] = in_process(server, data, r["listings"], r["searches"], args.repeat, profile_paths,
                                     args.files)
        r["loadavg_end"] = loadavg()
        r["wall_s"] = time.perf_counter() - started
        print()
        print(render(r))
        profiles = render_profiles(r)
        if profiles:
            print("\n" + profiles)
        with open(args.output, "w", encoding="utf-8") as fh:
            json.dump(r, fh, indent=2, ensure_ascii=False, default=str)
            fh.write("\n")
        print(f"\nJSON written to {os.path.relpath(args.output, REPO)}")
        load = r["load"]
        if load["five_xx"] or load["problems"] or load["lost"]:
            print("error: the mixed load had errors or lost files:\n" + "\n".join(
                load["problem_list"] + load["lost_list"]), file=sys.stderr)
            return 1
        return 0
    except BenchError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    finally:
        server.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
