"""Many clients at once on the same names, against a live Gunicorn: uploads that replace the
same file, and uploads racing for the last bytes of a quota.

Every request is prepared first (its own connection, its body in memory) and released by one
barrier, so they really overlap in the server. After each round the state is checked the way a
user would: every content kept is one that some request was told was stored (201), it
downloads with the SHA-256 that 201 reported, the current content is the last one committed,
versions are distinct commits and only the oldest are trimmed, usage is exact, and (after
the server stops) ``flask repair`` is clean. The replace race and the quota race through the
API run again with several workers on the MongoDB wire server (tests/mongo_wire.py).
"""
from __future__ import annotations

import hashlib
import os
import threading

import pytest
import requests

from tests.live_server import EMBEDDED, ENCRYPTED, MONGO_WIRE, GunicornServer
from tests.test_faults import assert_repair_clean

pytestmark = pytest.mark.e2e

CLIENTS = 20
ROUNDS = 3
MAX_VERSIONS = 10  # config.Config.MAX_VERSIONS_PER_FILE
MIB = 1024 * 1024


def signup(srv: GunicornServer, username: str) -> requests.Session:
    session = requests.Session()
    creds = {"username": username, "password": "correct horse battery"}
    assert session.post(srv.url("/api/register"), json=creds).status_code == 201
    assert session.post(srv.url("/api/login"), json=creds).status_code == 200
    return session


def api_token(srv: GunicornServer, session: requests.Session) -> str:
    response = session.post(srv.url("/api/tokens"), json={"name": "compat", "scope": "read-write"})
    assert response.status_code == 201, response.text
    return response.json()["secret"]


def clone(session: requests.Session) -> requests.Session:
    """A new connection with the same login (one per client thread)."""
    other = requests.Session()
    other.cookies.update(session.cookies)
    return other


def together(calls) -> list:
    """Run the prepared calls in threads released by one barrier; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:  # a refused connection is a result too; the test says so
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def distinct_contents(count: int, size_range=(32 * 1024, 256 * 1024)) -> list[bytes]:
    return [os.urandom(size_range[0] + int.from_bytes(os.urandom(3), "big") % (size_range[1] - size_range[0]))
            for _ in range(count)]


def api_upload(srv, session, name, data, query=""):
    return lambda: session.post(srv.url("/api/upload" + query), files={"file": (name, data)})


def compat_upload(srv, session, key, name, data):
    return lambda: session.post(srv.url("/upload"), params={"key": key}, files={"file": (name, data)})


def file_named(srv, session, name) -> dict:
    rows = session.get(srv.url("/api/folders/root/children"), params={"name": name}).json()["items"]
    assert len(rows) == 1, rows
    return rows[0]


def download_sha(session, url) -> str:
    response = session.get(url)
    assert response.status_code == 200, (url, response.status_code, response.text[:200])
    return hashlib.sha256(response.content).hexdigest()


def check_replaced_file(srv, session, name, acknowledged: dict[str, int]) -> None:
    """``acknowledged`` maps each SHA-256 a 201 reported to the revision it reported."""
    current = file_named(srv, session, name)
    versions = session.get(srv.url(f"/api/files/{current['id']}/versions")).json()["versions"]
    kept = [current] + versions
    for entry in kept:
        assert entry["sha256"] in acknowledged, "kept content that no request was told was stored"
        assert entry["revision"] == acknowledged[entry["sha256"]], "kept content under another commit"
    assert download_sha(session, srv.url(f"/api/files/{current['id']}")) == current["sha256"]
    for version in versions:
        url = srv.url(f"/api/files/{current['id']}/versions/{version['id']}")
        assert download_sha(session, url) == version["sha256"]
    revisions = [entry["revision"] for entry in kept]
    assert len(set(revisions)) == len(revisions), "two kept versions are the same commit"
    assert len(versions) <= MAX_VERSIONS
    # The current content is the last one committed; the versions are the newest before it.
    assert current["revision"] == max(acknowledged.values())
    newest_first = sorted(set(acknowledged.values()), reverse=True)
    assert revisions == newest_first[:len(kept)], "a version other than the oldest was trimmed"
    assert len(kept) == min(len(newest_first), MAX_VERSIONS + 1)


def referenced_bytes(srv, session) -> int:
    """The sum of the distinct contents the user can reach: live files, trash and versions."""
    sizes = {}
    files = session.get(srv.url("/api/files"), params={"limit": 200}).json()["files"]
    trash = session.get(srv.url("/api/trash"), params={"limit": 200}).json()["items"]
    for item in files + [t for t in trash if t["type"] == "file"]:
        sizes[item["sha256"]] = item["size"]
        versions = session.get(srv.url(f"/api/files/{item['id']}/versions")).json().get("versions", [])
        sizes.update({v["sha256"]: v["size"] for v in versions})
    return sum(sizes.values())


def acknowledged_of(results, extract) -> dict[str, int]:
    acknowledged = {}
    for result in results:
        assert not isinstance(result, Exception), result
        assert result.status_code in (200, 201), (result.status_code, result.text[:300])
        sha, revision = extract(result.json())
        assert revision not in acknowledged.values(), "two requests were told the same commit"
        acknowledged[sha] = revision
    return acknowledged


@pytest.mark.parametrize("backend", [EMBEDDED, MONGO_WIRE, ENCRYPTED])
def test_parallel_replaces_keep_every_acknowledged_content(server):
    owner = signup(server, "racer")
    key = api_token(server, owner)
    for round_ in range(ROUNDS):
        for route in ("api", "compat"):
            name = f"same-{route}-{round_}.bin"
            contents = distinct_contents(CLIENTS)
            if route == "api":
                calls = [api_upload(server, clone(owner), name, data, "?on_conflict=replace") for data in contents]
                extract = lambda body: (body["files"][0]["sha256"], body["files"][0]["revision"])  # noqa: E731
            else:
                calls = [compat_upload(server, requests.Session(), key, name, data) for data in contents]
                extract = lambda body: (body["sha256"], body["revision"])  # noqa: E731
            results = together(calls)
            acknowledged = acknowledged_of(results, extract)
            assert set(acknowledged) == {hashlib.sha256(d).hexdigest() for d in contents}
            check_replaced_file(server, owner, name, acknowledged)
        usage = owner.get(server.url("/api/me/usage")).json()
        assert usage["used_bytes"] == referenced_bytes(server, owner)
    assert server.stop() == 0
    assert_repair_clean(server, "--verify")


@pytest.mark.parametrize("route,backend", [("api", EMBEDDED), ("compat", EMBEDDED), ("api", MONGO_WIRE)],
                         ids=["api", "compat", "api-mongo_wire"])
def test_parallel_uploads_never_pass_the_quota(new_server, route):
    quota, size, clients = 64 * MIB, 10 * MIB, 10
    srv = new_server(USER_QUOTA_BYTES=quota)
    try:
        srv.start()
        owner = signup(srv, "filler")
        key = api_token(srv, owner)
        for round_ in range(2):
            contents = distinct_contents(clients, (size, size + 1))
            if route == "api":
                calls = [api_upload(srv, clone(owner), f"r{round_}-{i}.bin", d) for i, d in enumerate(contents)]
            else:
                calls = [compat_upload(srv, requests.Session(), key, f"r{round_}-{i}.bin", d)
                         for i, d in enumerate(contents)]
            results = together(calls)
            statuses = [r.status_code if not isinstance(r, Exception) else repr(r) for r in results]
            assert all(s in (200, 201, 507) for s in statuses), statuses
            for result in results:
                if result.status_code == 507:
                    assert result.json()["error"]["code"] == "quota_exceeded"
            usage = owner.get(srv.url("/api/me/usage")).json()
            assert usage["used_bytes"] <= quota, f"{usage['used_bytes']} stored with a quota of {quota}"
            assert usage["used_bytes"] == referenced_bytes(srv, owner)
            stored = sum(1 for s in statuses if s in (200, 201))
            # Exactly what fits is stored: never more, and nothing refused while there was room.
            assert stored == (quota // size if round_ == 0 else 0), statuses
            assert usage["used_bytes"] == (quota // size) * size
        assert srv.stop() == 0
        assert_repair_clean(srv, "--verify")
    finally:
        srv.kill()
