"""The SQL the SQLite engine runs for drive_queries.py's listings and searches, with SQLite's
``EXPLAIN QUERY PLAN`` and the time of each statement and of the whole request.

    python bench/sqlite_plans.py                 # full size: 110,000 items, a 10,000-file folder
    python bench/sqlite_plans.py --scale 0.1     # quicker
    python bench/sqlite_plans.py --analyze       # also the plans after ANALYZE (the app never runs it)

It seeds a store exactly as ``drive_queries.py --backends sqlite`` does (same data, same
repository inserts), sends each request through the Flask test client with a trace callback on
the request thread's SQLite connection, and for every SELECT the request ran prints the
statement (values bound), its plan and its own time (median of --repeat). The statements are
captured, not copied from app/drive/sqlite_repo.py, so the plans are those of the code as it is.
Besides drive_queries.py's queries it covers the issue's other targets: the last page of
the 10k-file folder and a 10-file folder. Searches of 3 characters or more read the trigram
name index (``item_names VIRTUAL TABLE``); shorter ones the owner's rows. It also times the
name index's rebuild, which is what upgrading a database made before the index costs.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import drive_queries as dq  # noqa: E402
from app import create_app  # noqa: E402
from app.drive.sqlite_repo import ITEM_MIGRATIONS  # noqa: E402

TARGET_MS = {"A": 50.0, "B": 200.0}  # issue 10: 10k-folder page < 50 ms, search < 200 ms


def queries(data: dict, alice_id: str, sizes: dict) -> list[tuple[str, str]]:
    """(scenario letter, path): drive_queries.py's six, then the issue's other targets."""
    bulk = data["bulk_id"]
    last_page = -(-sizes["bulk_files"] // dq.PAGE)
    counts = Counter(d["parent_id"] for d in data["alice"] if d["trashed_at"] is None)
    folders = [d["_id"] for d in data["alice"] if d["type"] == dq.FOLDER and d["_id"] != bulk]
    small = min(folders, key=lambda f: abs(counts[f] - 10))  # the folder closest to 10 items
    paths = [("A", dq.children_query(bulk, sort, desc, alice_id)[0])
             for sort, desc in (("name", False), ("size", True), ("updated_at", True))]
    paths += [("A", dq.children_query(bulk, "name", False, alice_id)[0] + f"&page={last_page}"),
              ("A", dq.children_query(bulk, "size", True, alice_id)[0] + f"&page={last_page}"),
              ("A", dq.children_query(small, "name", False, alice_id)[0])]
    terms = (dq.RARE_TERM, dq.COMMON_TERM, *(term for term, _ in dq.EXTRA_TERMS))
    paths += [("B", dq.search_query(alice_id, term)[0]) for term in terms]
    paths.append(("B", dq.search_query(alice_id, "", dq.FILE, "image/")[0]))
    return paths


def traced(client, connection, path: str) -> tuple[float, list[str]]:
    statements: list[str] = []
    connection.set_trace_callback(statements.append)
    try:
        start = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - start) * 1000
    finally:
        connection.set_trace_callback(None)
    if response.status_code != 200:
        raise dq.BenchError(f"GET {path} -> {response.status_code}")
    return elapsed, [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def plan(connection, sql: str) -> str:
    rows = connection.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    return "\n".join(f"    {'  ' * (1 if row[1] else 0)}{row[3]}" for row in rows)


def statement_ms(connection, sql: str, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        connection.execute(sql).fetchall()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def report(client, database, paths: list[tuple[str, str]], repeat: int, label: str) -> None:
    connection = database.connection()  # the test client runs requests on this thread
    print(f"\n==================== {label}")
    for scenario, path in paths:
        traced(client, connection, path)  # warm-up
        request_ms = statistics.median(traced(client, connection, path)[0] for _ in range(repeat))
        _, statements = traced(client, connection, path)
        verdict = "ok" if request_ms < TARGET_MS[scenario] else f"MISSES < {TARGET_MS[scenario]:.0f} ms"
        print(f"\nGET {path}\n  request median {request_ms:.1f} ms ({verdict})")
        for sql in statements:
            if "FROM items" not in sql:
                continue  # users, sessions: the login check, the same for every request
            print(f"  {statement_ms(connection, sql, repeat):8.2f} ms  {sql}\n{plan(connection, sql)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per request and per statement")
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE and print everything again")
    args = parser.parse_args(argv)
    sizes = dq.scaled_sizes(args.scale)
    workdir = tempfile.mkdtemp(prefix="sqlite-plans-")
    try:
        app = create_app(dq.make_settings("sqlite", workdir))
        client, other = app.test_client(), app.test_client()
        alice_id, bob_id = dq.sign_in(client, "alice"), dq.sign_in(other, "bob")
        data = dq.build_dataset(sizes, alice_id, bob_id)
        timings = dq.seed_sqlite(app.extensions["drive_db"], app.extensions["drive_services"].drive.items,
                                 data["docs"])
        print(f"seeded {len(data['docs']):,} items in {timings['insert_s']:.1f} s; load average {os.getloadavg()}")
        database = app.extensions["drive_db"]
        paths = queries(data, alice_id, sizes)
        report(client, database, paths, args.repeat, "as the app runs them (no ANALYZE)")
        start = time.perf_counter()
        database.write(ITEM_MIGRATIONS[0].sql)
        print(f"\nrebuilding the name index of {len(data['docs']):,} items (the upgrade's migration) took "
              f"{time.perf_counter() - start:.1f} s")
        if args.analyze:
            start = time.perf_counter()
            database.write("ANALYZE")
            print(f"\nANALYZE took {time.perf_counter() - start:.1f} s")
            report(client, database, paths, args.repeat, "after ANALYZE")
        database.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
