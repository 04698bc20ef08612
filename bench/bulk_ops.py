"""Bulk operations (issue 18): N items starred, unstarred, trashed and restored by one
``POST /api/items/bulk`` beside the same N done one request per item, on the embedded SQLite
default (the development profile's settings: audit log on, flushed in the background).

In process, through Flask's test client, one thread: no HTTP, so the one-per-item figure is
the best case for it (a real client pays a round trip per request on top). A benchmark, not a
test: it prints a Markdown table and exits non-zero only when the service answers wrongly.

    python bench/bulk_ops.py               # 10,000 items
    python bench/bulk_ops.py --items 1000  # quick check
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from app import create_app  # noqa: E402
from app.db import close_database  # noqa: E402
from config import Config  # noqa: E402

PASSWORD = "bench password"
# Each action: the bulk request's action, and the single route that does the same to one item.
ACTIONS = [("star", "PUT", "/api/folders/{}/star"), ("unstar", "DELETE", "/api/folders/{}/star"),
           ("trash", "DELETE", "/api/folders/{}"), ("restore", "POST", "/api/trash/{}/restore")]


class BenchError(RuntimeError):
    pass


def make_app(folder: str):
    config = Config.load({})
    config.update(SECRET_KEY="bench", UPLOAD_FOLDER=os.path.join(folder, "uploads"),
                  INSTANCE_PATH=os.path.join(folder, "instance"), EMBEDDED_DB_PATH=os.path.join(folder, "data"),
                  RATELIMIT_ENABLED=False, USER_QUOTA_BYTES=0, LOG_LEVEL="WARNING")
    return create_app(config)


def signup(app):
    client = app.test_client()
    account = {"username": "bench", "password": PASSWORD}
    client.post("/api/register", json=account)
    if client.post("/api/login", json=account).status_code != 200:
        raise BenchError("login failed")
    return client


def folders(client, count: int, prefix: str) -> list[str]:
    """``count`` empty folders in the root (made through the service: setting up is not measured)."""
    with client.application.app_context():
        from app.services import services
        owner = client.get("/api/me").get_json()["id"]
        return [str(services().drive.create_folder(owner, f"{prefix}{n:05}")["_id"]) for n in range(count)]


def timed_bulk(client, action: str, ids: list[str]) -> float:
    started = time.perf_counter()
    response = client.post("/api/items/bulk", json={"action": action, "ids": ids})
    elapsed = time.perf_counter() - started
    body = response.get_json()
    if response.status_code != 200 or body["succeeded"] != len(ids):
        raise BenchError(f"bulk {action}: {response.status_code} {str(body)[:300]}")
    return elapsed


def timed_singles(client, method: str, path: str, ids: list[str]) -> float:
    started = time.perf_counter()
    for item_id in ids:
        response = client.open(path.format(item_id), method=method)
        if response.status_code not in (200, 204):
            raise BenchError(f"{method} {path}: {response.status_code} {response.get_data(as_text=True)[:300]}")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-bulk-", dir=os.path.join(REPO, "bench", "results"))
    app = make_app(folder)
    try:
        client = signup(app)
        bulk_ids, single_ids = folders(client, args.items, "bulk-"), folders(client, args.items, "single-")
        print(f"{args.items:,} folders per run, embedded SQLite, {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.2f}; `python bench/bulk_ops.py --items {args.items}`\n")
        print("| action | bulk: 1 request | items/s | 1 request per item | items/s | speed-up |")
        print("|---|---|---|---|---|---|")
        for action, method, path in ACTIONS:
            bulk = timed_bulk(client, action, bulk_ids)
            single = timed_singles(client, method, path, single_ids)
            print(f"| {action} | {bulk:.2f} s | {args.items / bulk:,.0f} | {single:.2f} s | "
                  f"{args.items / single:,.0f} | {single / bulk:.1f}x |")
    except BenchError as error:
        print(f"FAILED: {error}")
        return 1
    finally:
        with app.app_context():
            from app.services import services
            services().audit.flush()  # before the database closes, not at exit
        close_database(app)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
