"""WebDAV at /dav/<username>/, in process: who gets in, what each method does to the drive (the
API sees the same files, versions, trash and usage), locks and dead properties, limits.

The third-party clients (litmus, rclone, cadaver) run against live Gunicorn in
tests/test_dav_clients.py; the isolation walk over /dav is in tests/test_security_isolation.py.
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
from datetime import datetime, timezone
from xml.etree import ElementTree

import mongomock
import pytest

from app import create_app
from app.db import close_database
from app.dav.auth import VerifiedPasswords
from config import TestingConfig
from tests.conftest import TEST_DB, AuthActions, upload

PASSWORD = "correct horse"
DAV = "{DAV:}"
OC = "{http://owncloud.org/ns}"


def basic(username="alice", secret=PASSWORD) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()}


@pytest.fixture
def alice(app, client, auth):
    """alice, signed up (her cookie client) and her Basic credentials."""
    auth.signup()
    return basic()


def dav(client, method, path, headers, **kwargs):
    response = client.open(path, method=method, headers=headers, **kwargs)
    response.get_data()
    response.close()
    return response


def propfind(client, path, headers, depth="1", props=None) -> dict[str, dict[str, str]]:
    """{href: {property: text}} of a PROPFIND (allprop, or the named ``props``)."""
    body = None
    if props:
        names = "".join(f'<{p} xmlns:oc="http://owncloud.org/ns"/>' for p in props)
        body = f'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop>{names}</d:prop></d:propfind>'
    response = dav(client, "PROPFIND", path, {**headers, "Depth": depth}, data=body)
    assert response.status_code == 207, response.data
    found = {}
    for entry in ElementTree.fromstring(response.data).iter(f"{DAV}response"):
        href = entry.find(f"{DAV}href").text
        values = {}
        for propstat in entry.iter(f"{DAV}propstat"):
            if propstat.find(f"{DAV}status").text.split()[1] != "200":
                continue
            for prop in propstat.find(f"{DAV}prop"):
                values[prop.tag] = "".join(prop.itertext())
        found[href] = values
    return found


def content(client, url: str) -> bytes:
    """A download's bytes, its response closed (it holds the stored file open until then)."""
    response = client.get(url)
    data = response.get_data()
    response.close()
    return data


def api_files(client) -> dict[str, dict]:
    return {f["name"]: f for f in client.get("/api/files?limit=200").get_json()["files"]}


# -- who gets in ------------------------------------------------------------------------------------

def test_no_credentials_is_a_401_with_a_basic_challenge(client, alice):
    response = dav(client.application.test_client(), "PROPFIND", "/dav/alice/", {"Depth": "0"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="')


def test_the_session_cookie_alone_gets_nothing(client, alice):
    """The logged-in browser's cookie is never read under /dav: another site's page could use it."""
    assert dav(client, "PROPFIND", "/dav/alice/", {"Depth": "0"}).status_code == 401
    assert dav(client, "PUT", "/dav/alice/x.txt", {}, data=b"x").status_code == 401
    assert api_files(client) == {}


def test_the_password_and_a_token_open_it_and_a_wrong_one_does_not(client, alice):
    assert dav(client, "PROPFIND", "/dav/alice/", {**alice, "Depth": "0"}).status_code == 207
    secret = client.post("/api/tokens", json={"name": "dav", "scope": "read-write"}).get_json()["secret"]
    assert dav(client, "PROPFIND", "/dav/alice/", {**basic("alice", secret), "Depth": "0"}).status_code == 207
    assert dav(client, "PROPFIND", "/dav/alice/", {**basic("ALICE", secret), "Depth": "0"}).status_code == 207
    assert dav(client, "PROPFIND", "/dav/alice/", {**basic("alice", "wrong horse"), "Depth": "0"}).status_code == 401


def test_a_token_only_opens_its_own_users_drive(client, alice, make_client):
    AuthActions(make_client()).signup("bob", PASSWORD)
    secret = client.post("/api/tokens", json={"name": "dav", "scope": "read-write"}).get_json()["secret"]
    assert dav(client, "PROPFIND", "/dav/bob/", {**basic("bob", secret), "Depth": "0"}).status_code == 401


@pytest.mark.parametrize("method", ["PUT", "DELETE", "MKCOL", "MOVE", "COPY", "PROPPATCH", "LOCK"])
def test_a_read_token_can_only_read(client, alice, method):
    assert dav(client, "PUT", "/dav/alice/kept.txt", alice, data=b"kept").status_code == 201
    secret = client.post("/api/tokens", json={"name": "look", "scope": "read"}).get_json()["secret"]
    reader = basic("alice", secret)
    assert dav(client, "GET", "/dav/alice/kept.txt", reader).status_code == 200
    assert dav(client, "PROPFIND", "/dav/alice/", {**reader, "Depth": "1"}).status_code == 207
    headers = {**reader, "Destination": "http://localhost/dav/alice/other.txt"}
    assert dav(client, method, "/dav/alice/kept.txt", headers, data=b"changed").status_code == 403
    assert list(api_files(client)) == ["kept.txt"]
    assert content(client, f"/api/files/{api_files(client)['kept.txt']['id']}") == b"kept"


def test_another_users_drive_is_404(client, alice, make_client):
    bob = make_client()
    AuthActions(bob).signup("bob", PASSWORD)
    assert upload(bob, ("secret.txt", b"bob's")).status_code == 201
    for method in ("PROPFIND", "GET", "PUT", "DELETE", "MKCOL", "LOCK", "PROPPATCH"):
        for path in ("/dav/bob/", "/dav/bob/secret.txt", "/dav/BOB/secret.txt", "/dav/nobody/"):
            response = dav(client, method, path, alice, data=b"x")
            assert response.status_code == 404, (method, path)
            assert b"bob's" not in response.data
    moved = dav(client, "PUT", "/dav/alice/mine.txt", alice, data=b"mine")
    assert moved.status_code == 201
    for method in ("MOVE", "COPY"):
        response = dav(client, method, "/dav/alice/mine.txt",
                       {**alice, "Destination": "http://localhost/dav/bob/stolen.txt"})
        assert response.status_code in (404, 409, 502)
    assert list(api_files(bob)) == ["secret.txt"]


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}])
def test_a_browser_on_another_site_is_refused(client, alice, headers):
    response = dav(client, "PUT", "/dav/alice/x.txt", {**alice, **headers}, data=b"x")
    assert response.status_code == 403
    assert api_files(client) == {}


def test_failed_basic_logins_count_with_the_login_forms(app, client, alice):
    """LOGIN_RATE_LIMIT (10 a minute per address and username) covers both ways in."""
    for _ in range(9):  # signing up logged in once
        assert dav(client, "PROPFIND", "/dav/alice/", {**basic("alice", "guess"), "Depth": "0"}).status_code == 401
    refused = dav(client, "PROPFIND", "/dav/alice/", {**alice, "Depth": "0"})
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert AuthActions(app.test_client()).login().status_code == 429


def test_a_verified_password_is_remembered_and_forgotten_when_it_changes(client, alice, monkeypatch):
    import app.auth.service as service
    checks = []
    real = service.check_password_hash
    monkeypatch.setattr(service, "check_password_hash", lambda *a: checks.append(1) or real(*a))
    for _ in range(5):
        assert dav(client, "PROPFIND", "/dav/alice/", {**alice, "Depth": "0"}).status_code == 207
    assert len(checks) == 1  # one slow hash for the client's many requests
    remembered = VerifiedPasswords(b"key", 60)
    user = {"_id": "u1", "password_hash": "hash-1"}
    remembered.remember(user, "pw")
    assert remembered.knows(user, "pw") and not remembered.knows(user, "other")
    assert not remembered.knows({**user, "password_hash": "hash-2"}, "pw")  # changed password: checked again


# -- what the methods do to the drive ----------------------------------------------------------------

def test_put_creates_a_file_the_api_serves_and_put_again_makes_a_version(client, alice):
    assert dav(client, "PUT", "/dav/alice/Notes.txt", alice, data=b"one").status_code == 201
    again = dav(client, "PUT", "/dav/alice/notes.txt", alice, data=b"two, longer")  # any case: the same file
    assert again.status_code == 204
    assert again.headers["ETag"] == f'"{hashlib.sha256(b"two, longer").hexdigest()}"'
    files = api_files(client)
    assert list(files) == ["Notes.txt"]
    file = files["Notes.txt"]
    assert content(client, f"/api/files/{file['id']}") == b"two, longer"
    versions = client.get(f"/api/files/{file['id']}/versions").get_json()["versions"]
    assert [content(client, f"/api/files/{file['id']}/versions/{v['id']}") for v in versions] == [b"one"]
    got = dav(client, "GET", "/dav/alice/NOTES.TXT", alice)
    assert got.data == b"two, longer" and got.headers["ETag"] == f'"{file["sha256"]}"'
    assert "sandbox" in got.headers["Content-Security-Policy"]


def test_a_chunked_put_is_stored_whole(client, alice):
    body = os.urandom(300_000)  # no Content-Length: read to the end (live Gunicorn decodes real chunks)
    response = client.put("/dav/alice/big.bin", headers={**alice, "Transfer-Encoding": "chunked"},
                          input_stream=io.BytesIO(body))
    assert response.status_code == 201
    assert content(client, f"/api/files/{api_files(client)['big.bin']['id']}") == body


def test_properties_match_what_the_api_says(client, alice):
    data = b"properties"
    headers = {**alice, "X-OC-Mtime": "1700000000"}
    response = dav(client, "PUT", "/dav/alice/p.txt", headers, data=data)
    assert response.status_code == 201 and response.headers["X-OC-Mtime"] == "accepted"
    file = api_files(client)["p.txt"]
    props = propfind(client, "/dav/alice/p.txt", alice, depth="0",
                     props=["d:getetag", "d:getcontentlength", "d:getlastmodified", "oc:checksums",
                            "d:getcontenttype"])["/dav/alice/p.txt"]
    assert props[f"{DAV}getetag"] == f'"{file["sha256"]}"'
    assert props[f"{DAV}getcontentlength"] == str(file["size"]) == str(len(data))
    assert props[f"{DAV}getcontenttype"] == file["content_type"] == "text/plain"
    modified = datetime.strptime(props[f"{DAV}getlastmodified"], "%a, %d %b %Y %H:%M:%S GMT")
    assert modified.replace(tzinfo=timezone.utc).timestamp() == 1700000000
    assert file["modified_at"].startswith("2023-11-14T22:13:20")
    assert props[f"{OC}checksums"] == f"MD5:{hashlib.md5(data).hexdigest()} SHA256:{file['sha256']}"


def test_quota_properties_report_usage(app, client, alice):
    assert dav(client, "PUT", "/dav/alice/q.bin", alice, data=b"q" * 1000).status_code == 201
    props = propfind(client, "/dav/alice/", alice, depth="0")["/dav/alice/"]
    usage = client.get("/api/me/usage").get_json()
    assert int(props[f"{DAV}quota-used-bytes"]) == usage["used_bytes"] == 1000
    assert int(props[f"{DAV}quota-available-bytes"]) == app.config["USER_QUOTA_BYTES"] - 1000


def test_delete_moves_to_the_trash(client, alice):
    assert dav(client, "MKCOL", "/dav/alice/Old", alice).status_code == 201
    assert dav(client, "PUT", "/dav/alice/Old/a.txt", alice, data=b"a").status_code == 201
    assert dav(client, "DELETE", "/dav/alice/Old", alice).status_code == 204
    assert dav(client, "PROPFIND", "/dav/alice/Old", {**alice, "Depth": "0"}).status_code == 404
    trash = client.get("/api/trash").get_json()
    assert [t["name"] for t in trash["items"]] == ["Old"]
    assert client.post(f"/api/trash/{trash['items'][0]['id']}/restore").status_code == 200
    assert dav(client, "GET", "/dav/alice/Old/a.txt", alice).status_code == 200


def test_move_is_one_metadata_change_and_copy_shares_the_bytes(client, alice):
    assert dav(client, "MKCOL", "/dav/alice/A", alice).status_code == 201
    assert dav(client, "MKCOL", "/dav/alice/B", alice).status_code == 201
    assert dav(client, "PUT", "/dav/alice/A/f.txt", alice, data=b"f" * 5000).status_code == 201
    folder_id = client.get("/api/folders/tree").get_json()["children"][0]["id"]
    moved = dav(client, "MOVE", "/dav/alice/A", {**alice, "Destination": "http://localhost/dav/alice/B/A2"})
    assert moved.status_code == 201
    tree = client.get("/api/folders/tree").get_json()["children"]
    assert [(f["name"], [c["name"] for c in f["children"]]) for f in tree] == [("B", ["A2"])]
    assert tree[0]["children"][0]["id"] == folder_id  # the same folder, renamed and moved
    copied = dav(client, "COPY", "/dav/alice/B/A2/f.txt", {**alice, "Destination": "http://localhost/dav/alice/f2.txt"})
    assert copied.status_code == 201
    assert client.get("/api/me/usage").get_json()["used_bytes"] == 5000  # one blob for both
    over = dav(client, "COPY", "/dav/alice/f2.txt", {**alice, "Destination": "http://localhost/dav/alice/B/A2/f.txt"})
    assert over.status_code == 204  # onto an existing file: it went to the trash
    refused = dav(client, "MOVE", "/dav/alice/f2.txt",
                  {**alice, "Destination": "http://localhost/dav/alice/B/A2/f.txt", "Overwrite": "F"})
    assert refused.status_code == 412


def test_a_rename_that_only_changes_case_keeps_the_file(client, alice):
    assert dav(client, "PUT", "/dav/alice/readme.md", alice, data=b"r").status_code == 201
    renamed = dav(client, "MOVE", "/dav/alice/readme.md", {**alice, "Destination": "http://localhost/dav/alice/README.md"})
    assert renamed.status_code == 204
    assert list(api_files(client)) == ["README.md"]
    assert client.get("/api/trash").get_json()["items"] == []


def test_a_lock_on_one_case_protects_the_other(client, alice):
    assert dav(client, "PUT", "/dav/alice/Notes.txt", alice, data=b"mine").status_code == 201
    body = ('<?xml version="1.0"?><d:lockinfo xmlns:d="DAV:"><d:lockscope><d:exclusive/></d:lockscope>'
            '<d:locktype><d:write/></d:locktype><d:owner>test</d:owner></d:lockinfo>')
    locked = dav(client, "LOCK", "/dav/alice/Notes.txt", {**alice, "Depth": "0"}, data=body)
    assert locked.status_code == 200
    token = locked.headers["Lock-Token"]
    for method in ("PUT", "DELETE", "MOVE"):
        headers = {**alice, "Destination": "http://localhost/dav/alice/elsewhere.txt"}
        body = b"theirs" if method == "PUT" else None
        assert dav(client, method, "/dav/alice/notes.txt", headers, data=body).status_code == 423, method
    assert dav(client, "DELETE", "/dav/alice/", alice).status_code in (403, 423)
    with_token = dav(client, "PUT", "/dav/alice/Notes.txt", {**alice, "If": f"({token})"}, data=b"mine, v2")
    assert with_token.status_code == 204
    assert dav(client, "UNLOCK", "/dav/alice/Notes.txt", {**alice, "Lock-Token": token}).status_code == 204
    assert dav(client, "PUT", "/dav/alice/notes.txt", alice, data=b"v3").status_code == 204


def test_a_lock_on_an_unmapped_url_makes_an_empty_file(client, alice):
    body = ('<?xml version="1.0"?><d:lockinfo xmlns:d="DAV:"><d:lockscope><d:exclusive/></d:lockscope>'
            '<d:locktype><d:write/></d:locktype></d:lockinfo>')
    assert dav(client, "LOCK", "/dav/alice/new.txt", {**alice, "Depth": "0"}, data=body).status_code in (200, 201)
    assert api_files(client)["new.txt"]["size"] == 0


def test_dead_properties_move_and_copy_with_the_item(client, alice):
    assert dav(client, "PUT", "/dav/alice/d.txt", alice, data=b"d").status_code == 201
    patch = ('<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" xmlns:z="urn:example"><d:set><d:prop>'
             '<z:colour>blue</z:colour></d:prop></d:set></d:propertyupdate>')
    assert dav(client, "PROPPATCH", "/dav/alice/d.txt", alice, data=patch).status_code == 207
    assert dav(client, "MOVE", "/dav/alice/d.txt", {**alice, "Destination": "http://localhost/dav/alice/e.txt"}).status_code == 201
    assert dav(client, "COPY", "/dav/alice/e.txt", {**alice, "Destination": "http://localhost/dav/alice/f.txt"}).status_code == 201
    for name in ("e.txt", "f.txt"):
        props = propfind(client, f"/dav/alice/{name}", alice, depth="0")[f"/dav/alice/{name}"]
        assert props["{urn:example}colour"] == "blue"


@pytest.mark.parametrize("depth", [{"Depth": "infinity"}, {}])
def test_a_listing_of_the_whole_drive_at_once_is_refused(client, alice, depth):
    response = dav(client, "PROPFIND", "/dav/alice/", {**alice, **depth})
    assert response.status_code == 403 and b"propfind-finite-depth" in response.data


def test_the_first_segment_is_refused_writes(client, alice):
    assert dav(client, "DELETE", "/dav/alice/", alice).status_code == 403
    assert dav(client, "PUT", "/dav/loose.txt", alice, data=b"x").status_code in (403, 404, 405, 409)
    assert api_files(client) == {}


# -- limits: nothing left behind ------------------------------------------------------------------------

def stored_files(app) -> int:
    return sum(len(files) for _root, _dirs, files in os.walk(app.config["UPLOAD_FOLDER"]))


def test_over_the_quota_is_507_and_leaves_nothing(app, client, alice):
    quota = app.config["USER_QUOTA_BYTES"]
    app.config["MAX_CONTENT_LENGTH"] = 2 * quota  # the quota is what refuses here
    assert dav(client, "PUT", "/dav/alice/most.bin", alice, data=os.urandom(quota - 1000)).status_code == 201
    before = stored_files(app), client.get("/api/me/usage").get_json()
    response = dav(client, "PUT", "/dav/alice/more.bin", alice, data=os.urandom(5000))
    assert response.status_code == 507
    assert (stored_files(app), client.get("/api/me/usage").get_json()) == before
    assert list(api_files(client)) == ["most.bin"]


def test_over_max_content_length_is_413_and_leaves_nothing(app, client, alice):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert dav(client, "PUT", "/dav/alice/huge.bin", alice, data=b"x" * (limit + 1)).status_code == 413

    unannounced = client.put("/dav/alice/huge2.bin", headers={**alice, "Transfer-Encoding": "chunked"},
                             input_stream=io.BytesIO(b"y" * (limit + 1)))  # refused as it streams
    assert unannounced.status_code == 413
    assert api_files(client) == {} and stored_files(app) == 0


def test_a_body_shorter_than_its_length_stores_nothing(app, client, alice):
    response = client.put("/dav/alice/cut.bin", headers=alice, input_stream=io.BytesIO(b"only part"),
                          environ_overrides={"CONTENT_LENGTH": "1000"})  # the client went away
    assert response.status_code == 400
    assert api_files(client) == {} and stored_files(app) == 0


def test_a_bad_name_is_a_clear_400(client, alice):
    response = dav(client, "PUT", "/dav/alice/" + "x" * 300, alice, data=b"x")
    assert response.status_code == 400
    assert api_files(client) == {}


# -- listings, locks and digests across restarts ------------------------------------------------------

def test_a_folder_listing_costs_the_same_queries_for_10_or_60_children(app, client, alice, monkeypatch):
    from app.services import services
    with app.app_context():
        items, blobs = services().drive.items, services().drive.blobs.blobs
    calls = []
    for repo in (items, blobs):
        for name in ("live_children", "at_name", "get", "md5s", "children"):
            if hasattr(repo, name):
                original = getattr(repo, name)
                monkeypatch.setattr(repo, name, lambda *a, _o=original, _n=name, **k: calls.append(_n) or _o(*a, **k))

    def listing_cost(folder: str, count: int) -> int:
        assert dav(client, "MKCOL", f"/dav/alice/{folder}", alice).status_code == 201
        for i in range(count):
            assert dav(client, "PUT", f"/dav/alice/{folder}/f{i}.txt", alice, data=f"{folder} {i}".encode()).status_code == 201
        calls.clear()
        listed = propfind(client, f"/dav/alice/{folder}/", alice, props=["d:getetag", "oc:checksums"])
        assert len(listed) == count + 1
        assert all(f"{OC}checksums" in v for h, v in listed.items() if h.endswith(".txt"))
        return len(calls)
    assert listing_cost("ten", 10) == listing_cost("sixty", 60) <= 4


def sqlite_app(path) -> object:
    settings = TestingConfig.load({})
    settings.update(UPLOAD_FOLDER=str(path / "uploads"), INSTANCE_PATH=str(path / "instance"),
                    EMBEDDED_DB_PATH=str(path / "data"))
    return create_app(settings)


def test_locks_survive_a_restart_and_are_seen_by_another_process(tmp_path):
    first = sqlite_app(tmp_path)
    client = first.test_client()
    AuthActions(client).signup()
    assert dav(client, "PUT", "/dav/alice/kept.txt", basic(), data=b"k").status_code == 201
    body = ('<?xml version="1.0"?><d:lockinfo xmlns:d="DAV:"><d:lockscope><d:exclusive/></d:lockscope>'
            '<d:locktype><d:write/></d:locktype></d:lockinfo>')
    token = dav(client, "LOCK", "/dav/alice/kept.txt", {**basic(), "Depth": "0"}, data=body).headers["Lock-Token"]
    close_database(first)
    second = sqlite_app(tmp_path)  # a restart, or another worker
    other = second.test_client()
    assert dav(other, "PUT", "/dav/alice/KEPT.txt", basic(), data=b"x").status_code == 423
    props = propfind(other, "/dav/alice/kept.txt", basic(), depth="0")["/dav/alice/kept.txt"]
    assert token.strip("<>") in props[f"{DAV}lockdiscovery"]
    close_database(second)


def test_fill_digests_gives_old_content_an_md5(app, client, alice):
    assert dav(client, "PUT", "/dav/alice/old.txt", alice, data=b"stored before md5s").status_code == 201
    from app.services import services
    with app.app_context():
        blobs = services().drive.blobs
        if TEST_DB == "sqlite":
            blobs.blobs._db.write("UPDATE blobs SET md5 = NULL")
        else:
            blobs.blobs._blobs.update_many({}, {"$unset": {"md5": ""}})
    props = propfind(client, "/dav/alice/old.txt", alice, depth="0", props=["oc:checksums"])["/dav/alice/old.txt"]
    assert "MD5:" not in props[f"{OC}checksums"]
    result = app.test_cli_runner().invoke(args=["fill-digests"])
    assert result.exit_code == 0 and "1 blob(s) given an MD5" in result.output, result.output
    props = propfind(client, "/dav/alice/old.txt", alice, depth="0", props=["oc:checksums"])["/dav/alice/old.txt"]
    assert f"MD5:{hashlib.md5(b'stored before md5s').hexdigest()}" in props[f"{OC}checksums"]
    assert app.test_cli_runner().invoke(args=["fill-digests"]).output.startswith("0 blob(s)")


def test_webdav_can_be_turned_off(tmp_path):
    settings = TestingConfig.load({"WEBDAV_ENABLED": "0"})
    settings.update(UPLOAD_FOLDER=str(tmp_path / "u"), INSTANCE_PATH=str(tmp_path / "i"),
                    MONGO_CLIENT_FACTORY=lambda: mongomock.MongoClient(tz_aware=True))
    app = create_app(settings)
    client = app.test_client()
    AuthActions(client).signup()
    response = dav(client, "PROPFIND", "/dav/alice/", {**basic(), "Depth": "0"})
    assert response.status_code in (404, 405)
    assert re.search(rb"error", response.data)
    close_database(app)


# -- found in review: the shared root, overwrites, spellings, bounds ---------------------------------

LOCK_ALL = ('<?xml version="1.0"?><d:lockinfo xmlns:d="DAV:"><d:lockscope><d:exclusive/></d:lockscope>'
            '<d:locktype><d:write/></d:locktype></d:lockinfo>')


def test_nobody_writes_locks_or_moves_at_the_shared_root(app, client, alice, make_client):
    AuthActions(make_client()).signup("bob", PASSWORD)
    for method in ("LOCK", "PUT", "DELETE", "MKCOL", "PROPPATCH", "MOVE", "COPY"):
        headers = {**alice, "Depth": "infinity", "Destination": "http://localhost/dav/alice/x"}
        response = dav(client, method, "/dav/", headers, data=LOCK_ALL if method == "LOCK" else None)
        assert response.status_code == 403, method
    bob = basic("bob", PASSWORD)
    assert dav(app.test_client(), "PUT", "/dav/bob/free.txt", bob, data=b"not blocked").status_code == 201
    assert dav(client, "PUT", "/dav/alice/a.txt", alice, data=b"a").status_code == 201
    for target in ("http://localhost/dav/", "/dav/", "http://localhost/dav"):
        moved = dav(client, "MOVE", "/dav/alice/a.txt", {**alice, "Destination": target})
        # 502 for a destination outside /dav/ (RFC 4918 9.9.4: "on another server"), never a 500
        assert 400 <= moved.status_code < 500 or moved.status_code == 502, (target, moved.status_code)
    assert list(api_files(client)) == ["a.txt"]


def test_an_overwrite_never_trashes_what_holds_the_source(client, alice):
    assert dav(client, "MKCOL", "/dav/alice/A", alice).status_code == 201
    assert dav(client, "MKCOL", "/dav/alice/A/B", alice).status_code == 201
    assert dav(client, "PUT", "/dav/alice/A/B/f.txt", alice, data=b"kept").status_code == 201
    for source, destination in (("/dav/alice/A/B", "http://localhost/dav/alice/A"),
                                ("/dav/alice/a/B/f.txt", "http://localhost/dav/alice/A"),
                                ("/dav/alice/A", "http://localhost/dav/alice/a/b")):
        for method in ("MOVE", "COPY"):
            response = dav(client, method, source, {**alice, "Destination": destination})
            assert response.status_code in (403, 409), (method, source, destination, response.status_code)
    assert client.get("/api/trash").get_json()["items"] == []
    assert content(client, f"/api/files/{api_files(client)['f.txt']['id']}") == b"kept"


def test_a_lock_holds_for_every_spelling_of_the_name(client, alice):
    import unicodedata
    from urllib.parse import quote
    assert dav(client, "PUT", "/dav/alice/%C3%89t%C3%A9.txt", alice, data=b"summer").status_code == 201
    assert dav(client, "LOCK", "/dav/alice/%C3%89t%C3%A9.txt", {**alice, "Depth": "0"}, data=LOCK_ALL).status_code == 200
    for spelling in ("été.txt", "ÉTÉ.TXT", unicodedata.normalize("NFD", "été.txt")):
        path = "/dav/alice/" + quote(spelling)
        assert dav(client, "PUT", path, alice, data=b"winter").status_code == 423, spelling
        assert dav(client, "DELETE", path, alice).status_code == 423, spelling
        assert dav(client, "LOCK", path, {**alice, "Depth": "0"}, data=LOCK_ALL).status_code == 423, spelling


def test_dead_properties_are_bounded(client, alice):
    assert dav(client, "PUT", "/dav/alice/p.txt", alice, data=b"p").status_code == 201
    huge = ('<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" xmlns:z="urn:z"><d:set><d:prop><z:big>'
            + "x" * 20_000 + '</z:big></d:prop></d:set></d:propertyupdate>')
    answer = dav(client, "PROPPATCH", "/dav/alice/p.txt", alice, data=huge)
    assert answer.status_code == 207 and b"507" in answer.data
    assert "{urn:z}big" not in propfind(client, "/dav/alice/p.txt", alice, depth="0")["/dav/alice/p.txt"]


def test_an_upload_still_streaming_when_the_account_is_disabled_is_refused(app, client, alice):
    services = app.extensions["drive_services"]
    me = client.get("/api/me").get_json()["id"]

    class DisablingBody(io.BytesIO):
        def read(self, size=-1):
            services.auth.users.update(me, {"disabled": True})  # an administrator, mid-upload
            return super().read(size)
    response = client.put("/dav/alice/late.bin", headers=alice, input_stream=DisablingBody(b"late bytes"),
                          environ_overrides={"CONTENT_LENGTH": "10"})
    assert response.status_code == 403
    services.auth.users.update(me, {"disabled": False})
    assert api_files(client) == {} and stored_files(app) == 0
