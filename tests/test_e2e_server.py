"""End to end: a real Gunicorn server on the embedded store, then with several workers on the
MongoDB wire server (tests/mongo_wire.py), driven over HTTP.

The server is started exactly as ``make run`` does (``gunicorn -c gunicorn.conf.py wsgi:app``
from the repository root), with every piece of state (database, uploads) under ``tmp_path``
and ``SECRET_KEY`` given in the environment, so nothing lands in the repository's
``instance/`` or ``uploads/`` folders.  It is stopped and started again to check that
users, files and login sessions survive a restart.
"""
from __future__ import annotations

import hashlib
import os

import pytest
import requests

from tests.live_server import EMBEDDED, ENCRYPTED, HTTP_TIMEOUT_S, MONGO_WIRE, GunicornServer

pytestmark = pytest.mark.e2e

UNICODE_NAME = "تقرير.pdf"
BIG_NAME = "random.bin"
BIG_SIZE = 3 * 1024 * 1024


# -- helpers -------------------------------------------------------------------------------

def _call(session: requests.Session, method: str, url: str, **kwargs) -> requests.Response:
    response = session.request(method, url, timeout=HTTP_TIMEOUT_S, **kwargs)
    response.close()  # bodies are read eagerly; give the connection back now
    return response


def _json(response: requests.Response, expected_status: int, server: GunicornServer):
    assert response.status_code == expected_status, (
        f"{response.request.method} {response.url}: expected {expected_status}, got "
        f"{response.status_code}: {response.text[:1000]}\n{server.diagnostics()}")
    return response.json()


def _login(session, server, username, password):
    body = _json(_call(session, "POST", server.url("/api/login"),
                       json={"username": username, "password": password}), 200, server)
    assert body["username"] == username
    assert "password_hash" not in body
    assert session.cookies.get("session"), "login did not set the session cookie"
    return body


def _assert_files_listed(session, server, expected: dict[str, dict]) -> None:
    listing = _json(_call(session, "GET", server.url("/api/files")), 200, server)
    assert listing["total"] == len(expected)
    by_id = {f["id"]: f for f in listing["files"]}
    assert set(by_id) == set(expected)
    for file_id, record in expected.items():
        assert by_id[file_id] == record


def _assert_downloads(session, server, records: dict[str, dict],
                      contents: dict[str, bytes]) -> None:
    for file_id, record in records.items():
        response = _call(session, "GET", server.url(f"/api/files/{file_id}"))
        assert response.status_code == 200, response.text[:500]
        assert response.content == contents[record["name"]], f"bytes differ for {record['name']!r}"
        assert int(response.headers["Content-Length"]) == record["size"]
        assert response.headers["Content-Disposition"].startswith("attachment;")


# -- the scenario --------------------------------------------------------------------------

@pytest.mark.parametrize("backend", [EMBEDDED, MONGO_WIRE, ENCRYPTED])
def test_full_session_survives_restart(server, tmp_path, backend):
    status = _json(_call(requests, "GET", server.url("/api/status")), 200, server)
    assert status["status"] == "ok"
    assert status["database"] == {"kind": server.database_kind, "reachable": True}

    password = "correct horse battery"
    small = b"%PDF-1.4\n" + "تقرير سنوي\n".encode() * 50
    big = os.urandom(BIG_SIZE)
    contents = {UNICODE_NAME: small, BIG_NAME: big}

    with requests.Session() as alice:
        # Register, log in, who am I.
        user = _json(_call(alice, "POST", server.url("/api/register"),
                           json={"username": "alice", "password": password}), 201, server)
        assert user["username"] == "alice"
        assert "password_hash" not in user
        assert not alice.cookies.get("session"), "register must not log in"

        _login(alice, server, "alice", password)
        me = _json(_call(alice, "GET", server.url("/api/me")), 200, server)
        assert me["username"] == "alice"
        assert me["id"] == user["id"]
        assert me["file_count"] == 0

        # Two files in one multipart request.
        files = [
            ("file", (UNICODE_NAME, small, "application/pdf")),
            ("file", (BIG_NAME, big, "application/octet-stream")),
        ]
        body = _json(_call(alice, "POST", server.url("/api/upload"), files=files), 201, server)
        assert len(body["files"]) == 2
        records = {}
        for record in body["files"]:
            assert {"id", "name", "size", "content_type", "sha256", "created_at"} <= set(record)
            assert record["name"] in contents, record["name"]
            data = contents[record["name"]]
            assert record["size"] == len(data)
            assert record["sha256"] == hashlib.sha256(data).hexdigest()
            records[record["id"]] = record
        assert {r["name"] for r in records.values()} == {UNICODE_NAME, BIG_NAME}
        by_name = {r["name"]: r for r in records.values()}
        assert by_name[UNICODE_NAME]["content_type"] == "application/pdf"

        # The bytes went to the configured folders, not the repository's.
        assert (tmp_path / "data").is_dir() == (server.database_kind == "sqlite")
        assert server.stored_sizes(user["id"]) == sorted(len(d) for d in contents.values())
        if server.env.get("ENCRYPTION_KEY"):  # sealed at rest: each blob larger by its header and tags
            assert all(sealed > plain for sealed, plain in zip(server.stored_sizes(user["id"], at_rest=True),
                                                                server.stored_sizes(user["id"])))

        _assert_files_listed(alice, server, records)
        _assert_downloads(alice, server, records, contents)

        big_id = by_name[BIG_NAME]["id"]
        # Range.
        partial = _call(alice, "GET", server.url(f"/api/files/{big_id}"),
                        headers={"Range": "bytes=0-99"})
        assert partial.status_code == 206, partial.text[:500]
        assert partial.content == big[:100]
        assert partial.headers["Content-Range"] == f"bytes 0-99/{BIG_SIZE}"

        # Conditional GET with the ETag.
        full = _call(alice, "GET", server.url(f"/api/files/{big_id}"))
        etag = full.headers.get("ETag")
        assert full.status_code == 200
        assert etag and by_name[BIG_NAME]["sha256"] in etag, etag
        not_modified = _call(alice, "GET", server.url(f"/api/files/{big_id}"),
                             headers={"If-None-Match": etag})
        assert not_modified.status_code == 304, not_modified.text[:500]
        assert not_modified.content == b""

        # Another user cannot see alice's files.
        with requests.Session() as bob:
            _json(_call(bob, "POST", server.url("/api/register"),
                        json={"username": "bob", "password": password}), 201, server)
            _login(bob, server, "bob", password)
            for file_id in records:
                error = _json(_call(bob, "GET", server.url(f"/api/files/{file_id}")), 404, server)
                assert error["error"]["code"]
                _json(_call(bob, "GET", server.url(f"/api/files/{file_id}/info")), 404, server)
            bob_list = _json(_call(bob, "GET", server.url("/api/files")), 200, server)
            assert bob_list["files"] == [] and bob_list["total"] == 0

        old_cookies = alice.cookies.copy()

    # Restart with the same environment.
    exit_code = server.stop()
    assert exit_code == 0, f"gunicorn exited with {exit_code} on SIGTERM\n{server.diagnostics()}"
    server.start()

    # The cookie from before the restart still names a live server-side session.
    with requests.Session() as old:
        old.cookies.update(old_cookies)
        me = _json(_call(old, "GET", server.url("/api/me")), 200, server)
        assert me["username"] == "alice"
        assert me["file_count"] == 2
        assert me["used_bytes"] == sum(len(d) for d in contents.values())

    with requests.Session() as alice:
        _login(alice, server, "alice", password)
        me = _json(_call(alice, "GET", server.url("/api/me")), 200, server)
        assert me["id"] == user["id"]
        _assert_files_listed(alice, server, records)
        _assert_downloads(alice, server, records, contents)

        # Log out: the session is gone on the server, and a copy of its cookie is worthless.
        copied = alice.cookies.copy()
        response = _call(alice, "POST", server.url("/api/logout"))
        assert response.status_code == 204, response.text[:500]
        error = _json(_call(alice, "GET", server.url("/api/me")), 401, server)
        assert isinstance(error["error"], dict) and error["error"]["code"]
        with requests.Session() as replay:
            replay.cookies.update(copied)
            error = _json(_call(replay, "GET", server.url("/api/me")), 401, server)
            assert error["error"]["code"]
