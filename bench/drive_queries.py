"""Query benchmark: folder listings and search with many items, on the SQLite engine and mongomock.

A benchmark, not a test: it prints numbers for this machine and exits non-zero only when
the service answers wrongly (an error status, a wrong total, a wrongly ordered first page).

    python bench/drive_queries.py                # 10,000-file folder, 100,000-item search
    python bench/drive_queries.py --scale 0.05   # quick check (5% of every size)
    python bench/drive_queries.py --backends sqlite   # the embedded engine alone

See bench/README.md for what is measured and how to read the result.
"""
from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import json
import math
import os
import platform
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from typing import Any, Callable
from urllib.parse import quote

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import mongomock  # noqa: E402
from bson import ObjectId  # noqa: E402

from app import create_app  # noqa: E402
from app.drive.names import name_key  # noqa: E402
from app.drive.repo import FILE, FOLDER, new_item, sort_spec, trash_slot  # noqa: E402
from config import TestingConfig  # noqa: E402

RESULTS = os.path.join(REPO, "bench", "results")
# sqlite: the embedded engine (the default without MONGO_URI); mongomock: what the unit tests use.
# (Earlier versions also measured litemongo, the engine before SQLite; bench/README.md keeps its figures.)
BACKENDS = ("sqlite", "mongomock")
BATCH = 1000  # documents per insert_many call
PAGE = 50
SLOW_MS = 200.0  # a median above this gets profiled
MIN_SAMPLES = 5  # timed requests per query even when --budget-s is used up
UNIQUE_INDEX = "sibling_names_unique"
SEED = 20240601
RARE_TERM, COMMON_TERM = "quokka", "report"
# Terms an index serves differently: 1 and 2 characters (shorter than a trigram), non-ASCII
# ones whose case folding changes their length (ß -> ss, İ -> i̇) or their letters (Greek).
EXTRA_TERMS = [("e", "1 character"), ("20", "2 characters"), ("фото", "Cyrillic"), ("STRASSE", "folds to ß's ss"),
               ("İst", "İ folds to i + dot"), ("ΘΆΛΑΣΣΑ", "Greek")]
RARE_HITS = {"alice": 12, "bob": 5}  # fixed, whatever the scale: "few hits"
PASSWORD = "correct horse battery"

# Full-scale sizes; --scale multiplies every one of them.
FULL = {"bulk_files": 10_000, "alice_items": 100_000, "alice_folders": 1_000, "bob_items": 10_000,
        "bob_folders": 100}
TRASHED_SHARE = 0.01  # of alice's files outside the bulk folder, put in the trash directly
ROOT_SHARE = 0.01  # of files kept at the top level

WORDS = [
    "report", "budget", "invoice", "meeting", "notes", "draft", "final", "summary", "photo", "scan",
    "contract", "presentation", "backup", "project", "design", "mockup", "holiday", "receipt", "plan",
    "roadmap", "review", "minutes", "proposal", "schedule", "export", "data", "analysis", "chart",
    "logo", "poster", "letter", "birthday", "wedding", "taxes", "lecture", "thesis", "recipe", "map",
    "résumé", "Überblick", "naïve", "café", "smörgåsbord", "façade", "Straße", "Ærø", "crème brûlée",
    "фото", "отчёт", "документ", "照片", "報告", "計画", "写真", "사진", "보고서", "θάλασσα", "İstanbul",
]
# "report" is drawn more often than the others so that it is a common term (about 1 name in 11).
WEIGHTS = [len(WORDS) * 0.08 if w == COMMON_TERM else 1.0 for w in WORDS]
EXTENSIONS = [  # (extension, content type, weight)
    ("jpg", "image/jpeg", 22), ("png", "image/png", 8), ("heic", "image/heic", 4), ("gif", "image/gif", 1),
    ("pdf", "application/pdf", 15), ("docx", "application/vnd.openxmlformats-officedocument."
                                              "wordprocessingml.document", 10),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 6),
    ("txt", "text/plain", 8), ("csv", "text/csv", 5), ("md", "text/markdown", 3),
    ("mp4", "video/mp4", 4), ("mp3", "audio/mpeg", 4), ("zip", "application/zip", 3),
    ("py", "text/x-python", 2), ("json", "application/json", 2),
]
EXT_WEIGHTS = [w for _, _, w in EXTENSIONS]
NOW = datetime.datetime(2024, 6, 1, tzinfo=datetime.timezone.utc)


class BenchError(RuntimeError):
    """The service did something the benchmark cannot accept."""


# --------------------------------------------------------------------------- data

def scaled_sizes(scale: float) -> dict[str, int]:
    sizes = {k: max(1, round(v * scale)) for k, v in FULL.items()}
    sizes["alice_folders"] = max(2, sizes["alice_folders"])
    sizes["bob_folders"] = max(1, sizes["bob_folders"])
    sizes["alice_items"] = max(sizes["alice_items"], sizes["bulk_files"] + sizes["alice_folders"] + 10)
    sizes["bob_items"] = max(sizes["bob_items"], sizes["bob_folders"] + 10)
    return sizes


class Generator:
    """Documents built with app.drive.repo.new_item, with names unique per folder."""

    def __init__(self, rng: random.Random, owner_id: str):
        self.rng = rng
        self.owner_id = owner_id
        self.docs: list[dict] = []
        self._slots: set[str] = set()

    def when(self) -> datetime.datetime:
        seconds = self.rng.uniform(0, 3 * 365 * 86400)
        value = NOW - datetime.timedelta(seconds=seconds)
        return value.replace(microsecond=value.microsecond // 1000 * 1000)  # what BSON stores

    def word(self) -> str:
        word = self.rng.choices(WORDS, WEIGHTS)[0]
        style = self.rng.random()
        return word.capitalize() if style < 0.5 else word.upper() if style < 0.55 else word

    def unique(self, parent_id, name: str, is_file: bool) -> str:
        candidate, n = name, 1
        while f"{parent_id or 'root'}/{name_key(candidate)}" in self._slots:
            stem, ext = os.path.splitext(name) if is_file else (name, "")
            candidate, n = f"{stem} ({n}){ext}", n + 1
        self._slots.add(f"{parent_id or 'root'}/{name_key(candidate)}")
        return candidate

    def folder(self, parent_id, name: str | None = None) -> dict:
        name = self.unique(parent_id, name or f"{self.word()} {self.rng.randint(1, 99)}", False)
        created = self.when()
        doc = new_item(self.owner_id, FOLDER, name, name_key(name), parent_id, created)
        self.docs.append(doc)
        return doc

    def file_name(self) -> tuple[str, str]:
        ext, content_type, _ = self.rng.choices(EXTENSIONS, EXT_WEIGHTS)[0]
        pattern = self.rng.random()
        r = self.rng
        if content_type.startswith("image/") and pattern < 0.4:
            stem = f"IMG_{r.randint(0, 9999):04d}" if r.random() < 0.6 else f"DSC{r.randint(0, 99999):05d}"
        elif pattern < 0.55:
            stem = f"{self.word()} {self.word()} {r.randint(1, 999)}"
        elif pattern < 0.8:
            stem = f"{self.word()}_{r.randint(2015, 2024)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
        else:
            stem = f"{self.word()} v{r.randint(1, 20)}"
        return f"{stem}.{ext.upper() if r.random() < 0.05 else ext}", content_type

    def file(self, parent_id, name: str | None = None, content_type: str | None = None) -> dict:
        if name is None:
            name, content_type = self.file_name()
        name = self.unique(parent_id, name, True)
        created = self.when()
        updated = min(NOW, created + datetime.timedelta(seconds=self.rng.expovariate(1 / (30 * 86400))))
        updated = updated.replace(microsecond=updated.microsecond // 1000 * 1000)
        size = int(min(self.rng.lognormvariate(12, 2.2), 4 * 1024**3))
        doc = new_item(self.owner_id, FILE, name, name_key(name), parent_id, created,
                       blob_id=ObjectId(), size=size, sha256=f"{self.rng.getrandbits(256):064x}",
                       content_type=content_type)
        doc["updated_at"] = updated
        self.docs.append(doc)
        return doc

    def tree(self, n_folders: int, exclude: set | None = None) -> list[dict]:
        """n_folders folders, about a tenth at the top, the rest up to three levels deep."""
        folders: list[dict] = []
        depth: dict[ObjectId, int] = {}
        for i in range(n_folders):
            eligible = [f for f in folders[-200:] if depth[f["_id"]] < 3]
            if i < max(1, n_folders // 10) or not eligible:
                parent = None
            else:
                parent = self.rng.choice(eligible)
            doc = self.folder(parent["_id"] if parent else None)
            depth[doc["_id"]] = 1 + (depth[parent["_id"]] if parent else 0)
            folders.append(doc)
        return folders

    def spread_files(self, count: int, folders: list[dict]) -> list[dict]:
        files = []
        for _ in range(count):
            parent = None if self.rng.random() < ROOT_SHARE or not folders else self.rng.choice(folders)
            files.append(self.file(parent["_id"] if parent else None))
        return files

    def add_rare(self, count: int, folders: list[dict]) -> list[dict]:
        rare = []
        for i in range(count):
            parent = self.rng.choice(folders)["_id"] if folders else None
            rare.append(self.file(parent, f"{RARE_TERM.capitalize()} sighting {i + 1}.jpg", "image/jpeg"))
        return rare

    def trash(self, docs: list[dict]) -> None:
        for doc in docs:
            doc.update(trashed_at=self.when(), trash_root=True, slot=trash_slot(doc["_id"]))


def build_dataset(sizes: dict[str, int], alice_id: str, bob_id: str) -> dict[str, Any]:
    """Alice: one folder of bulk_files files plus the rest of alice_items spread over
    alice_folders folders (a few trashed, a few "quokka" names). Bob: bob_items of his own."""
    rng = random.Random(SEED)
    alice = Generator(rng, alice_id)
    bulk = alice.folder(None, "Bulk import")
    for i in range(sizes["bulk_files"]):
        name, content_type = alice.file_name()
        stem, ext = os.path.splitext(name)
        alice.file(bulk["_id"], f"{stem} {i:05d}{ext}", content_type)
    folders = alice.tree(sizes["alice_folders"] - 1)
    rare = alice.add_rare(RARE_HITS["alice"] + 1, folders)  # one of them goes to the trash
    spread = alice.spread_files(max(0, sizes["alice_items"] - len(alice.docs)), folders)
    alice.trash(rng.sample(spread, int(len(spread) * TRASHED_SHARE)) + rare[-1:])

    bob = Generator(rng, bob_id)
    bob_folders = bob.tree(sizes["bob_folders"])
    bob.add_rare(RARE_HITS["bob"], bob_folders)
    bob.spread_files(sizes["bob_items"] - len(bob.docs), bob_folders)
    docs = alice.docs + bob.docs
    slots = {(d["owner_id"], d["slot"]) for d in docs}
    if len(slots) != len(docs) or len({d["_id"] for d in docs}) != len(docs):
        raise BenchError("generated data has duplicate slots or ids")
    return {"docs": docs, "alice": alice.docs, "bob": bob.docs, "bulk_id": bulk["_id"]}


# --------------------------------------------------------------------------- expected answers

def expected_page(docs: list[dict], predicate: Callable[[dict], bool], spec) -> tuple[list[str], int]:
    """What the first page and the total must be, computed in Python (stable multi-key sort)."""
    rows = [d for d in docs if predicate(d)]
    for field, direction in reversed(spec):
        rows.sort(key=lambda d, f=field: d[f], reverse=direction < 0)
    return [str(d["_id"]) for d in rows[:PAGE]], len(rows)


def children_query(bulk_id: ObjectId, sort: str, descending: bool, alice_id: str):
    path = f"/api/folders/{bulk_id}/children?limit={PAGE}&sort={sort}&order={'desc' if descending else 'asc'}"

    def predicate(d):
        return d["owner_id"] == alice_id and d["parent_id"] == bulk_id and d["trashed_at"] is None
    return path, predicate, sort_spec(sort, descending, folders_first=True)


def search_query(alice_id: str, text: str = "", kind: str | None = None, content_type: str | None = None):
    params = [f"q={quote(text)}"] if text else []
    if kind:
        params.append(f"type={kind}")
    if content_type:
        params.append(f"content_type={content_type}")
    path = "/api/search?" + "&".join(params + [f"limit={PAGE}"])
    key = name_key(text)

    def predicate(d):
        return (d["owner_id"] == alice_id and d["trashed_at"] is None and key in d["name_key"]
                and (not kind or d["type"] == kind)
                and (not content_type or d.get("content_type", "").startswith(content_type)))
    return path, predicate, sort_spec("name", False, folders_first=True)


# --------------------------------------------------------------------------- app

def make_settings(backend: str, workdir: str) -> dict:
    settings = TestingConfig.load({})
    settings.update(UPLOAD_FOLDER=os.path.join(workdir, "uploads"), INSTANCE_PATH=os.path.join(workdir, "instance"),
                    USER_QUOTA_BYTES=0, LOG_LEVEL="WARNING")
    if backend == "mongomock":
        settings["MONGO_CLIENT_FACTORY"] = lambda: mongomock.MongoClient(tz_aware=True)
    else:
        settings["EMBEDDED_DB_PATH"] = os.path.join(workdir, "db")
    return settings


def sign_in(client, username: str, register: bool = True) -> str:
    credentials = {"username": username, "password": PASSWORD}
    if register:
        response = client.post("/api/register", json=credentials)
        if response.status_code != 201:
            raise BenchError(f"POST /api/register -> {response.status_code}: {response.get_data(as_text=True)[:300]}")
    response = client.post("/api/login", json=credentials)
    if response.status_code != 200:
        raise BenchError(f"POST /api/login -> {response.status_code}: {response.get_data(as_text=True)[:300]}")
    return response.get_json()["id"]


def seed(app, docs: list[dict]) -> dict[str, Any]:
    """Bulk-load the items: through the app's items repository on SQLite (seed_sqlite), else
    through the collection the app uses (insert_many, batches of BATCH).

    The unique (owner_id, slot) index is dropped for the load and recreated by
    ItemsRepository.ensure_indexes(), which checks every loaded document against it: mongomock
    checks a unique index on each insert by scanning the whole collection, which makes a plain
    load quadratic (4,000 items took 28 s here, 110,000 would take hours)."""
    database = app.extensions["drive_db"]
    items_repo = app.extensions["drive_services"].drive.items
    if database.kind == "sqlite":
        return seed_sqlite(database, items_repo, docs)
    collection = database.collection("items")
    timings: dict[str, Any] = {}
    start = time.perf_counter()
    collection.drop_index(UNIQUE_INDEX)
    for i in range(0, len(docs), BATCH):
        # insert_many fills nothing in (every document has its _id) but the stores keep what
        # they are given, so hand over copies and keep ours for the expected answers.
        collection.insert_many([dict(d) for d in docs[i:i + BATCH]])
    timings["insert_s"] = time.perf_counter() - start
    start = time.perf_counter()
    items_repo.ensure_indexes()
    timings["index_s"] = time.perf_counter() - start
    if UNIQUE_INDEX not in collection.index_information():
        raise BenchError("the unique sibling-name index was not recreated")
    count = collection.count_documents({})
    if count != len(docs):
        raise BenchError(f"items collection holds {count} documents, {len(docs)} were inserted")
    return timings


def seed_sqlite(database, items_repo, docs: list[dict]) -> dict[str, Any]:
    """SQLite: every document through SQLiteItemsRepository.insert (the app's own column
    mapping), all inside one ``database.transaction()``: the repository's writes join it, so
    the load is one fsynced commit with the table's indexes and UNIQUE (owner_id, slot)
    maintained and checked on every row (synchronous stays FULL)."""
    start = time.perf_counter()
    with database.transaction():
        for doc in docs:
            items_repo.insert(dict(doc))  # a copy: ours stay as generated for the expected answers
    # No ANALYZE: the app never runs it, so the planner works without statistics, as in service.
    timings: dict[str, Any] = {"insert_s": time.perf_counter() - start, "index_s": 0.0}
    synchronous = database.read_one("PRAGMA synchronous")[0]
    if synchronous != 2:
        raise BenchError(f"SQLite synchronous is {synchronous}, expected 2 (FULL)")
    count = database.read_one("SELECT COUNT(*) FROM items")[0]
    if count != len(docs):
        raise BenchError(f"items table holds {count} rows, {len(docs)} were inserted")
    return timings


# --------------------------------------------------------------------------- measuring

def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


class GcClock:
    """Time spent in the cyclic garbage collector (all generations) while it is installed."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start = 0.0

    def __call__(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start

    def __enter__(self) -> "GcClock":
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc) -> None:
        gc.callbacks.remove(self)


def timed_get(client, path: str, gc_ms: list[float] | None = None,
              cpu_ms: list[float] | None = None) -> tuple[float, Any]:
    """Wall time of one request in ms; optionally the time spent in the garbage collector and the
    process's CPU time (all threads), which other
    processes competing for the CPUs inflate much less than wall time."""
    with GcClock() as gc_clock:
        cpu0 = time.process_time()
        start = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - start) * 1000
        cpu = (time.process_time() - cpu0) * 1000
    if gc_ms is not None:
        gc_ms.append(gc_clock.seconds * 1000)
    if cpu_ms is not None:
        cpu_ms.append(cpu)
    if response.status_code != 200:
        raise BenchError(f"GET {path} -> {response.status_code}: {response.get_data(as_text=True)[:300]}")
    return elapsed, response.get_json()


def check(body: dict, path: str, want_ids: list[str], want_total: int) -> None:
    got_ids = [item["id"] for item in body["items"]]
    if body["total"] != want_total:
        raise BenchError(f"GET {path}: total {body['total']}, expected {want_total}")
    if got_ids != want_ids:
        raise BenchError(f"GET {path}: first page differs from the expected order "
                         f"(first ids {got_ids[:3]} vs {want_ids[:3]})")
    if path.startswith("/api/search") and any("path" not in item for item in body["items"]):
        raise BenchError(f"GET {path}: a result has no 'path'")


def measure(client, path: str, want_ids: list[str], want_total: int, repeat: int, budget_s: float) -> dict:
    """The first (cold) request, one warm-up, then ``repeat`` timed requests; fewer (at least
    MIN_SAMPLES) when they take longer than ``budget_s`` together."""
    cold, body = timed_get(client, path)
    check(body, path, want_ids, want_total)
    timed_get(client, path)  # warm-up, not counted
    samples: list[float] = []
    gc_ms: list[float] = []
    cpu_ms: list[float] = []
    while len(samples) < repeat and (len(samples) < MIN_SAMPLES or sum(samples) < budget_s * 1000):
        elapsed, body = timed_get(client, path, gc_ms, cpu_ms)
        samples.append(elapsed)
    check(body, path, want_ids, want_total)
    return {"path": path, "total": want_total, "cold_ms": cold, "median_ms": statistics.median(samples),
            "p95_ms": percentile(samples, 95), "min_ms": min(samples), "max_ms": max(samples),
            "cpu_median_ms": statistics.median(cpu_ms), "n": len(samples), "samples_ms": samples,
            "cpu_ms": cpu_ms, "gc_ms": gc_ms}


def profile_request(client, path: str) -> dict[str, dict[str, str]]:
    """cProfile one request (on the request thread: the SQLite engine and mongomock both answer
    on the thread that asks)."""
    request_prof = cProfile.Profile()
    request_prof.enable()
    try:
        client.get(path)
    finally:
        request_prof.disable()
    return {"request thread": {"cumulative": top_entries(request_prof, "cumulative", 15),
                               "tottime": top_entries(request_prof, "tottime", 10)}}


# Call layers that only pass the request on (their cumulative time is the whole request).
FRAMEWORK = re.compile(r"werkzeug/|flask/|flask_login/|concurrent/futures/|/threading\.py|"
                       r"app/db\.py|cProfile|disable")


def top_entries(prof: cProfile.Profile, key: str, count: int) -> str:
    """The ``count`` biggest entries by ``key`` ("cumulative" or "tottime"), framework layers left out."""
    stats = pstats.Stats(prof)
    rows = []
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():
        where = f"{filename}:{line}({func})" if line else func
        where = where.replace(sys.prefix + "/lib/python3." + str(sys.version_info[1]) + "/site-packages/", "")
        where = where.replace(REPO + os.sep, "")
        if FRAMEWORK.search(where):
            continue
        rows.append((cumtime if key == "cumulative" else tottime, ncalls, tottime, cumtime, where))
    rows.sort(key=lambda r: r[0], reverse=True)
    lines = [f"{'ncalls':>9} {'tottime':>8} {'cumtime':>8}  function"]
    lines += [f"{n:>9} {tt:>8.3f} {ct:>8.3f}  {where}" for _, n, tt, ct, where in rows[:count]]
    return "\n".join(lines)


# --------------------------------------------------------------------------- one backend

def run_backend(backend: str, sizes: dict[str, int], repeat: int, budget_s: float, profile: bool) -> dict:
    workdir = tempfile.mkdtemp(prefix=f"drive-queries-{backend}-")
    result: dict[str, Any] = {"backend": backend, "queries": []}
    try:
        settings = make_settings(backend, workdir)
        app = create_app(settings)
        client, other = app.test_client(), app.test_client()
        alice_id = sign_in(client, "alice")
        bob_id = sign_in(other, "bob")

        print(f"[{backend}] generating documents ...", flush=True)
        start = time.perf_counter()
        data = build_dataset(sizes, alice_id, bob_id)
        generate_s = time.perf_counter() - start
        docs = data["docs"]
        print(f"[{backend}] inserting {len(docs):,} items ...", flush=True)
        timings = seed(app, docs)
        seeding = {"items": len(docs), "alice_items": len(data["alice"]), "bob_items": len(data["bob"]),
                   "generate_s": generate_s, **timings,
                   "total_s": timings["insert_s"] + timings["index_s"]}
        seeding["items_per_s"] = len(docs) / seeding["total_s"]
        result["seeding"] = seeding
        print(f"[{backend}] seeded in {seeding['total_s']:.1f} s "
              f"({seeding['items_per_s']:,.0f} items/s; generating took {generate_s:.1f} s)", flush=True)

        queries = []
        for sort, descending in (("name", False), ("size", True), ("updated_at", True)):
            label = f"children sort={sort} {'desc' if descending else 'asc'}"
            queries.append((f"A: folder of {sizes['bulk_files']:,} files", label,
                            children_query(data["bulk_id"], sort, descending, alice_id)))
        b = f"B: search {len(data['alice']):,} items"
        queries += [
            (b, f"q={RARE_TERM} (rare)", search_query(alice_id, RARE_TERM)),
            (b, f"q={COMMON_TERM} (common)", search_query(alice_id, COMMON_TERM)),
            *[(b, f"q={term} ({what})", search_query(alice_id, term)) for term, what in EXTRA_TERMS],
            (b, "type=file&content_type=image/", search_query(alice_id, "", FILE, "image/")),
        ]
        expected: dict[str, list[str]] = {}
        for scenario, label, (path, predicate, spec) in queries:
            want_ids, want_total = expected_page(data["alice"], predicate, spec)
            row = measure(client, path, want_ids, want_total, repeat, budget_s)
            row.update(scenario=scenario, query=label, hits=want_total)
            result["queries"].append(row)
            expected[path] = want_ids
            print(f"[{backend}] {label}: {want_total:,} hits, cold {row['cold_ms']:.1f} ms, "
                  f"median {row['median_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms", flush=True)

        if profile:
            slowest = max(result["queries"], key=lambda r: r["median_ms"])
            if slowest["median_ms"] > SLOW_MS:
                print(f"[{backend}] profiling one request of the slowest query: {slowest['path']}", flush=True)
                start = time.perf_counter()
                threads = profile_request(client, slowest["path"])
                result["profile"] = {"path": slowest["path"], "query": slowest["query"],
                                     "seconds": time.perf_counter() - start, "threads": threads}

        if backend == "sqlite":
            app.extensions["drive_db"].close()
            del app, client, other
            gc.collect()  # the old app's garbage is not the new one's cost
            result["restart"] = reopen(backend, workdir, result["queries"], expected)
        else:
            app.extensions["drive_db"].close()
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def reopen(backend: str, workdir: str, rows: list[dict], expected: dict[str, list[str]]) -> dict:
    """A restarted server on the same files: create_app on the existing store, log in, then the
    first children listing and the first common search ("after reopening" rows, appended to
    ``rows``). Returns the restart cost: create_app, the login (password hashing, the same on
    every engine) and the first listing, each timed; "to first answer" is create_app plus the
    first listing."""
    start = time.perf_counter()
    app = create_app(make_settings(backend, workdir))
    create_s = time.perf_counter() - start
    client = app.test_client()
    start = time.perf_counter()
    sign_in(client, "alice", register=False)
    login_s = time.perf_counter() - start
    firsts = []
    for row in (rows[0], rows[4]):
        elapsed, body = timed_get(client, row["path"])
        check(body, row["path"], expected[row["path"]], row["total"])
        firsts.append(elapsed)
        rows.append({
            "scenario": row["scenario"], "query": row["query"] + " (first request after reopening)",
            "path": row["path"], "hits": row["total"], "total": row["total"], "cold_ms": elapsed,
            "median_ms": None, "p95_ms": None, "n": 0, "samples_ms": []})
        print(f"[{backend}] after reopening: {row['query']}: {elapsed:.1f} ms", flush=True)
    app.extensions["drive_db"].close()
    restart = {"create_app_s": create_s, "login_s": login_s, "first_listing_s": firsts[0] / 1000,
               "to_first_answer_s": create_s + firsts[0] / 1000}
    print(f"[{backend}] restart: create_app {create_s:.2f} s + first listing {firsts[0] / 1000:.2f} s "
          f"= {restart['to_first_answer_s']:.2f} s to the first answer (login {login_s:.2f} s besides)", flush=True)
    return restart


# --------------------------------------------------------------------------- report

def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def render(result: dict) -> str:
    sizes = result["sizes"]
    lines = [
        f"Drive query benchmark: scale {result['scale']}, nproc={result['nproc']}, "
        f"up to {result['repeat']} timed requests per query (n; fewer once {result['budget_s']:.0f} s are used, "
        f"at least {min(MIN_SAMPLES, result['repeat'])}) after 1 warm-up, Flask test client in-process, limit={PAGE}",
        "",
        "| backend | scenario | query | cold ms | median ms | p95 ms | median CPU ms |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for backend in result["backends"].values():
        for row in backend["queries"]:
            n = f", n={row['n']}" if row.get("n") else ""
            lines.append(f"| {backend['backend']} | {row['scenario']} | {row['query']} ({row['hits']:,} hits{n}) | "
                         f"{fmt(row['cold_ms'])} | {fmt(row['median_ms'])} | {fmt(row['p95_ms'])} | "
                         f"{fmt(row.get('cpu_median_ms'))} |")
    lines += ["", "| backend | items seeded | insert s | index s | items/s |",
              "|---|---:|---:|---:|---:|"]
    for backend in result["backends"].values():
        s = backend["seeding"]
        name = backend["backend"]
        if name == "sqlite":
            name = "sqlite (repository inserts in one transaction, synchronous=FULL)"
        lines.append(f"| {name} | {s['items']:,} | {s['insert_s']:.1f} | "
                     f"{s['index_s']:.1f} | {s['items_per_s']:,.0f} |")
    restarts = [(b["backend"], b["restart"]) for b in result["backends"].values() if b.get("restart")]
    if restarts:
        lines += ["", "| backend | restart: create_app s | first listing s | to first answer s | login s (besides) |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {name} | {r['create_app_s']:.2f} | {r['first_listing_s']:.2f} | {r['to_first_answer_s']:.2f} | "
                  f"{r['login_s']:.2f} |" for name, r in restarts]
    lines += [
        "",
        f"- data: alice has {sizes['alice_items']:,} items ({sizes['alice_folders']:,} folders, one of them "
        f"holding {sizes['bulk_files']:,} files; ~{TRASHED_SHARE:.0%} of the other files in the trash); "
        f"bob has {sizes['bob_items']:,} items; all queries are alice's",
        "- cold: the first request of that query after seeding (same process); 'after reopening' rows: "
        "first request after closing and reopening the store (sqlite)",
        "- median CPU ms: the process's CPU time per timed request (all threads); close to the median wall "
        "time when the machine is otherwise idle",
        f"- nproc: {result['nproc']}; load average (1, 5, 15 min) at start "
        f"{', '.join(f'{x:.2f}' for x in result['loadavg_start'])}, at end "
        f"{', '.join(f'{x:.2f}' for x in result['loadavg_end'])} (other processes competing for the CPUs "
        f"slow every number down)",
    ]
    return "\n".join(lines)


def render_profiles(result: dict) -> str:
    parts = []
    for backend in result["backends"].values():
        prof = backend.get("profile")
        if not prof:
            continue
        for thread, tables in prof["threads"].items():
            head = f"--- {backend['backend']}: GET {prof['path']} ({thread}, {prof['seconds']:.2f} s under cProfile)"
            parts.append(f"{head}\ntop 15 by cumulative time (werkzeug/flask layers left out):\n"
                         f"{tables['cumulative']}\ntop 10 by own time:\n{tables['tottime']}")
    return "\n\n".join(parts)


# --------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every data size (default 1.0)")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per query (default 20)")
    parser.add_argument("--budget-s", type=float, default=60.0,
                        help=f"stop timing a query after this many seconds of timed requests, once it has "
                             f"{MIN_SAMPLES} (default 60)")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help=f"comma-separated subset of {','.join(BACKENDS)} (default all)")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help=f"do not cProfile the slowest query when its median exceeds {SLOW_MS:.0f} ms")
    parser.add_argument("--output", default=os.path.join(RESULTS, "drive_queries.json"),
                        help="where to write the JSON result (default bench/results/drive_queries.json)")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 10:
        parser.error("--scale must be in (0, 10]")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not args.backends or set(args.backends) - set(BACKENDS):
        removed = " (litemongo was removed with its engine)" if {"litemongo", "embedded"} & set(args.backends) else ""
        parser.error(f"--backends: choose from {', '.join(BACKENDS)}{removed}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = scaled_sizes(args.scale)
    result: dict[str, Any] = {
        "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "scale": args.scale, "repeat": args.repeat, "budget_s": args.budget_s, "page_limit": PAGE, "sizes": sizes,
        "nproc": os.cpu_count(), "python": platform.python_version(),
        "packages": {name: metadata.version(name) for name in ("flask", "pymongo", "mongomock")},
        "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                                     text=True).stdout.strip() or None,
        "loadavg_start": os.getloadavg(),
        "backends": {},
    }
    try:
        for backend in args.backends:
            gc.collect()
            start = time.perf_counter()
            result["backends"][backend] = run_backend(backend, sizes, args.repeat, args.budget_s, args.profile)
            result["backends"][backend]["wall_s"] = time.perf_counter() - start
    except BenchError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    result["loadavg_end"] = os.getloadavg()
    print()
    print(render(result))
    profiles = render_profiles(result)
    if profiles:
        print("\n" + profiles)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    print(f"\nJSON written to {os.path.relpath(args.output, REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
